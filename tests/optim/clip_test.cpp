#include <catch2/catch.hpp>

#include <limits>

#include "strata/optim/clip.hpp"
#include "support/fixture.hpp"

using namespace strata;
using namespace strata::optim;
using strata::test::Fixture;
using strata::test::max_rel_diff;

namespace {
/// The three gradients g0, g1, g2 of optim_clip.txt as parameters (values zero).
template <class T>
struct ClipCase {
    explicit ClipCase(const Fixture& fx) {
        for (int i = 0; i < 3; ++i) {
            Tensor<T> g = fx.get<T>("g" + std::to_string(i));
            params[i] = Parameter<T>(Tensor<T>(g.shape()));
            params[i].grad() = std::move(g);
        }
    }
    std::vector<Parameter<T>*> pointers() { return {&params[0], &params[1], &params[2]}; }
    Parameter<T> params[3];
};
}  // namespace

TEST_CASE("clip_grad_norm matches torch.nn.utils.clip_grad_norm_", "[optim][clip]") {
    const Fixture fx("optim_clip.txt");
    const std::pair<const char*, double> cases[] = {{"norm2", 2.0},
                                                    {"norm1", 1.0},
                                                    {"norm3_5", 3.5},
                                                    {"norminf", std::numeric_limits<double>::infinity()},
                                                    {"noclip", 2.0}};
    for (const auto& c : cases) {
        const std::string label = c.first;
        INFO(label);
        ClipCase<double> d(fx);
        const double total = clip_grad_norm(d.pointers(), label == "noclip" ? 100.0 : 1.5, c.second);
        CHECK(total == Approx(fx.scalar(label + "_total")).epsilon(1e-13));
        for (int i = 0; i < 3; ++i)
            CHECK(max_rel_diff(d.params[i].grad(), fx.get(label + "_g" + std::to_string(i))) < 1e-13);

        ClipCase<float> f(fx);
        const double total_f = clip_grad_norm(f.pointers(), label == "noclip" ? 100.0 : 1.5, c.second);
        CHECK(total_f == Approx(fx.scalar(label + "_total")).epsilon(1e-6));
        for (int i = 0; i < 3; ++i)
            CHECK(max_rel_diff(f.params[i].grad(), fx.get(label + "_g" + std::to_string(i))) < 1e-5);
    }
}

TEST_CASE("clip_grad_value matches torch.nn.utils.clip_grad_value_", "[optim][clip]") {
    const Fixture fx("optim_clip.txt");
    ClipCase<double> d(fx);
    clip_grad_value(d.pointers(), 0.7);
    for (int i = 0; i < 3; ++i)
        CHECK(test::max_abs_diff(d.params[i].grad(), fx.get("value_g" + std::to_string(i))) == 0.0);
}

TEST_CASE("Clipping ignores frozen parameters and rejects bad arguments", "[optim][clip]") {
    Parameter<double> a(Tensor<double>(Shape{2})), frozen(Tensor<double>(Shape{2}));
    a.grad() = Tensor<double>(Shape{2}, {3.0, 4.0});
    frozen.grad() = Tensor<double>(Shape{2}, {100.0, -100.0});
    frozen.requires_grad = false;
    CHECK(clip_grad_norm<double>({&a, &frozen}, 1.0) == Approx(5.0));
    CHECK(a.grad()[0] == Approx(3.0 / (5.0 + 1e-6)));
    CHECK(frozen.grad()[0] == 100.0);
    clip_grad_value<double>({&a, &frozen}, 0.1);
    CHECK(frozen.grad()[1] == -100.0);
    CHECK(clip_grad_norm<double>({&frozen}, 1.0) == 0.0);

    CHECK_THROWS_AS(clip_grad_norm<double>({&a}, -1.0), ArgumentError);
    CHECK_THROWS_WITH(clip_grad_norm<double>({&a}, -1.0), Catch::Contains("max_norm must be non-negative, got -1"));
    CHECK_THROWS_WITH(clip_grad_norm<double>({&a}, 1.0, 0.0),
                      Catch::Contains("norm_type must be positive or infinity, got 0"));
    CHECK_THROWS_WITH(clip_grad_norm<double>({&a, nullptr}, 1.0), Catch::Contains("parameter 1 is null"));
    CHECK_THROWS_WITH(clip_grad_value<double>({&a}, -0.5),
                      Catch::Contains("clip_value must be non-negative, got -0.5"));
}
