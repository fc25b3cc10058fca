// Tests of train/parallel.hpp and of TrainingRun's data-parallel path without MPI: the batch-splitting helpers,
// and two "ranks" in one process (two threads joined by an in-memory DataParallel) that must take the steps of
// one process with the same global batch, including an uneven last batch; batch-norm replicas stay in sync;
// a divergence stops both ranks at the same step.

#include <catch2/catch.hpp>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "loop.hpp"
#include "parallel.hpp"
#include "train_test_util.hpp"

using namespace strata;
using namespace strata::train;
using Catch::Contains;

namespace {

/// What the in-process ranks share: a reusable barrier and one slot of doubles per rank.
struct Bus {
    explicit Bus(int n) : ranks(n), slots(static_cast<std::size_t>(n)) {}
    void wait() {
        std::unique_lock<std::mutex> lock(m);
        const long gen = generation;
        if (++arrived == ranks) {
            arrived = 0;
            ++generation;
            cv.notify_all();
        } else {
            cv.wait(lock, [&] { return generation != gen; });
        }
    }
    int ranks;
    std::vector<std::vector<double>> slots;
    std::mutex m;
    std::condition_variable cv;
    int arrived = 0;
    long generation = 0;
};

/// DataParallel over a Bus (threads in one process); counts its calls.
class ThreadParallel final : public DataParallel {
public:
    ThreadParallel(Bus& bus, int rank) : bus_(&bus), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return bus_->ranks; }
    /// Not collective here: the in-process ranks build identical models from the same seed, and constructing
    /// them one after the other keeps strata::manual_seed (a global) free of data races.
    void attach(nn::Module<float>&, const std::vector<Parameter<float>*>& params) override { params_ = params; }
    void average_gradients() override {
        std::vector<double> all;
        for (Parameter<float>* p : params_) {
            const Tensor<float>& g = p->grad();
            all.insert(all.end(), g.data(), g.data() + g.numel());
        }
        reduce(all.data(), static_cast<index_t>(all.size()), false);
        std::size_t k = 0;
        for (Parameter<float>* p : params_)
            for (index_t i = 0; i < p->grad().numel(); ++i) p->grad()[i] = static_cast<float>(all[k++] / size());
        ++averages;
    }
    void sum(double* v, index_t n) override { reduce(v, n, false); }
    void max(double* v, index_t n) override { reduce(v, n, true); }
    void broadcast(float* v, index_t n) override {
        if (rank_ == 0) bus_->slots[0].assign(v, v + n);
        bus_->wait();
        for (index_t i = 0; i < n; ++i) v[i] = static_cast<float>(bus_->slots[0][static_cast<std::size_t>(i)]);
        bus_->wait();
        ++broadcasts;
    }
    void barrier() override {
        bus_->wait();
        ++barriers;
    }
    double averaging_seconds() const override { return 0.0; }
    long averaging_calls() const override { return averages; }

    long averages = 0, broadcasts = 0, barriers = 0;

private:
    void reduce(double* v, index_t n, bool take_max) {
        bus_->slots[static_cast<std::size_t>(rank_)].assign(v, v + n);
        bus_->wait();
        for (index_t i = 0; i < n; ++i) {
            double acc = bus_->slots[0][static_cast<std::size_t>(i)];
            for (int r = 1; r < size(); ++r) {
                const double x = bus_->slots[static_cast<std::size_t>(r)][static_cast<std::size_t>(i)];
                acc = take_max ? std::max(acc, x) : acc + x;
            }
            v[i] = acc;
        }
        bus_->wait();
    }

    Bus* bus_;
    int rank_;
    std::vector<Parameter<float>*> params_;
};

TrainConfig parallel_config() {
    TrainConfig c;
    c.data_dir = "(synthetic)";
    c.model = "resnet8";
    c.norm = "none";
    c.epochs = 2;
    c.batch_size = 16;
    c.eval_batch_size = 8;
    c.lr = 0.05;
    c.schedule = "none";
    c.augment = true;
    c.crop_pad = 1;
    c.translate = 1;
    c.seed = 7;
    return c;
}

std::vector<float> flat_parameters(TrainingRun& run) {
    std::vector<float> out;
    for (Parameter<float>* p : run.model().parameters())
        out.insert(out.end(), p->value.data(), p->value.data() + p->value.numel());
    return out;
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        scale = std::max(scale, std::abs(static_cast<double>(a[i])));
        diff = std::max(diff, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    }
    return diff / scale;
}

/// Two in-process ranks over the same data; returns their outcomes.
struct TwoRanks {
    Bus bus{2};
    ThreadParallel p0{bus, 0}, p1{bus, 1};
    std::unique_ptr<TrainingRun> r0, r1;
    RunOutcome o0 = RunOutcome::completed, o1 = RunOutcome::completed;

    TwoRanks(const TrainConfig& c, const data::Dataset& train, const data::Dataset& test)
        : r0(std::make_unique<TrainingRun>(c, train, test, &p0)),
          r1(std::make_unique<TrainingRun>(c, train, test, &p1)) {}
    void run() {
        std::thread t([&] { o1 = r1->run(); });
        o0 = r0->run();
        t.join();
    }
};

}  // namespace

TEST_CASE("local_rows splits a global batch into contiguous near-equal slices", "[train][parallel]") {
    for (index_t n : {0, 1, 7, 16, 45}) {
        for (int ranks : {1, 2, 3, 4}) {
            index_t next = 0;
            for (int r = 0; r < ranks; ++r) {
                const auto rows = local_rows(n, ranks, r);
                CHECK(rows.first == next);
                CHECK(rows.second - rows.first >= n / ranks);
                CHECK(rows.second - rows.first <= n / ranks + 1);
                next = rows.second;
            }
            CHECK(next == n);
        }
    }
    CHECK_THROWS_WITH(local_rows(8, 2, 2), Contains("rank 2 of 2 ranks"));
    CHECK_THROWS_AS(local_rows(8, 0, 0), ArgumentError);
}

TEST_CASE("gradient_weight makes the average of the ranks' means the global mean", "[train][parallel]") {
    CHECK(gradient_weight(8, 16, 2) == 1.0);
    CHECK(gradient_weight(6, 13, 2) == Approx(12.0 / 13));
    CHECK(gradient_weight(7, 13, 2) == Approx(14.0 / 13));
    // sum_r w_r * mean_r / R = sum_r n_r * mean_r / n, the global mean, for any split
    const double m0 = 0.3, m1 = -1.7;
    CHECK((gradient_weight(6, 13, 2) * m0 + gradient_weight(7, 13, 2) * m1) / 2 == Approx((6 * m0 + 7 * m1) / 13));
    CHECK_THROWS_WITH(gradient_weight(9, 8, 2), Contains("9 of 8 samples"));
    CHECK_THROWS_AS(gradient_weight(0, 0, 1), ArgumentError);
}

TEST_CASE("drop_small_last_batch drops a last batch that leaves a rank fewer than two samples", "[train][parallel]") {
    CHECK(drop_small_last_batch(33, 16, 1));  // one sample left: the single-process rule
    CHECK_FALSE(drop_small_last_batch(34, 16, 1));
    CHECK_FALSE(drop_small_last_batch(32, 16, 2));
    CHECK(drop_small_last_batch(35, 16, 2));  // 3 samples over 2 ranks: one rank would get 1
    CHECK_FALSE(drop_small_last_batch(36, 16, 2));
    CHECK(drop_small_last_batch(39, 16, 4));
    CHECK_FALSE(drop_small_last_batch(40, 16, 4));
}

TEST_CASE("slice_batch copies rows of a batch", "[train][parallel]") {
    data::Batch b;
    b.images = Tensor<float>(Shape{4, 1, 2, 2});
    for (index_t i = 0; i < 16; ++i) b.images[i] = static_cast<float>(i);
    b.labels = {3, 1, 4, 1};
    b.indices = {10, 11, 12, 13};
    b.epoch = 2;
    b.index = 5;
    data::Batch s;
    slice_batch(b, 1, 3, s);
    CHECK(s.images.shape() == Shape{2, 1, 2, 2});
    CHECK(s.images[0] == 4.0f);
    CHECK(s.images[7] == 11.0f);
    CHECK(s.labels == std::vector<index_t>{1, 4});
    CHECK(s.indices == std::vector<index_t>{11, 12});
    CHECK(s.epoch == 2);
    CHECK(s.index == 5);
    slice_batch(b, 2, 2, s);
    CHECK(s.size() == 0);
    CHECK_THROWS_WITH(slice_batch(b, 3, 5, s), Contains("rows [3, 5) outside a batch of 4"));
}

TEST_CASE("mpi_launch_detected reads the launchers' environment variables", "[train][parallel]") {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) ::unsetenv(name);
    CHECK_FALSE(mpi_launch_detected());
    ::setenv("PMI_SIZE", "2", 1);
    CHECK(mpi_launch_detected());
    ::unsetenv("PMI_SIZE");
    ::setenv("OMPI_COMM_WORLD_SIZE", "", 1);  // empty: not a launch
    CHECK_FALSE(mpi_launch_detected());
    ::unsetenv("OMPI_COMM_WORLD_SIZE");
}

TEST_CASE("2 in-process ranks x batch 8 take the steps of 1 process x batch 16", "[train][parallel]") {
    // 45 samples, batch 16: the last batch has 13 (6 + 7 over the ranks: weighted gradients).
    const data::Dataset train = test::blocks_dataset(45, 1), test = test::blocks_dataset(21, 2);
    test::TrainTempDir dir;
    TrainConfig c = parallel_config();
    TrainingRun one(c, train, test);
    REQUIRE(one.run() == RunOutcome::completed);

    c.checkpoint = dir.file("two.ck");
    TwoRanks two(c, train, test);
    two.run();
    REQUIRE(two.o0 == RunOutcome::completed);
    REQUIRE(two.o1 == RunOutcome::completed);
    CHECK(two.p0.averages == 6);  // one per step: 3 steps x 2 epochs
    CHECK(two.p1.barriers == 2);  // one per checkpoint save
    CHECK(flat_parameters(*two.r0) == flat_parameters(*two.r1));  // the replicas are identical
    CHECK(max_rel_diff(flat_parameters(one), flat_parameters(*two.r0)) < 1e-5);
    REQUIRE(two.r0->history().size() == 2);
    for (std::size_t e = 0; e < 2; ++e) {
        const EpochMetrics &a = one.history()[e], &b = two.r0->history()[e], &b1 = two.r1->history()[e];
        CHECK(b.loss == Approx(a.loss).epsilon(1e-5));
        CHECK(b.train_acc == a.train_acc);
        CHECK(b.test_loss == Approx(a.test_loss).epsilon(1e-5));  // sharded evaluation, summed
        CHECK(b.test_acc == a.test_acc);
        CHECK(b1.test_acc == b.test_acc);
        CHECK(b.step == a.step);
    }
    CHECK(dir.listing() == std::vector<std::string>{"two.ck"});  // rank 0 wrote it

    // The control: a single process with another batch size ends elsewhere.
    TrainConfig other = parallel_config();
    other.batch_size = 8;
    TrainingRun eight(other, train, test);
    REQUIRE(eight.run() == RunOutcome::completed);
    CHECK(max_rel_diff(flat_parameters(eight), flat_parameters(*two.r0)) > 1e-3);
}

TEST_CASE("batch-norm replicas keep identical parameters; evaluation uses rank 0's statistics", "[train][parallel]") {
    const data::Dataset train = test::blocks_dataset(48, 1), test = test::blocks_dataset(20, 2);
    TrainConfig c = parallel_config();
    c.norm = "batch";
    c.epochs = 1;
    TwoRanks two(c, train, test);
    two.run();
    REQUIRE(two.o0 == RunOutcome::completed);
    REQUIRE(two.o1 == RunOutcome::completed);
    CHECK(flat_parameters(*two.r0) == flat_parameters(*two.r1));
    // per-rank running statistics (each rank normalised its own half of every batch)...
    const auto b0 = two.r0->model().named_buffers(), b1 = two.r1->model().named_buffers();
    REQUIRE(!b0.empty());
    CHECK(b0[0].buffer->data()[0] != b1[0].buffer->data()[0]);
    // ...but one evaluation, with rank 0's
    CHECK(two.r0->history().back().test_loss == two.r1->history().back().test_loss);
}

TEST_CASE("data-parallel ranks stop together on divergence and on a bad batch size", "[train][parallel]") {
    const data::Dataset train = test::blocks_dataset(64, 1), test = test::blocks_dataset(16, 2);
    TrainConfig c = parallel_config();
    c.lr = 1e30;
    TwoRanks two(c, train, test);
    two.run();
    CHECK(two.o0 == RunOutcome::diverged);
    CHECK(two.o1 == RunOutcome::diverged);
    CHECK(two.r0->divergence().step == two.r1->divergence().step);
    CHECK_THAT(two.r0->divergence().what, Contains("the training loss is"));

    Bus bus(2);
    ThreadParallel alone(bus, 0);
    c.batch_size = 15;
    CHECK_THROWS_WITH(TrainingRun(c, train, test, &alone),
                      Contains("--batch-size 15 is not divisible by the 2 ranks"));
}
