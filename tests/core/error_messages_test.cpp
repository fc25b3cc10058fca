// Error messages of issue 9 that no other test pinned down: the exception hierarchy, the shape and argument
// errors of Shape, Tensor and Var, a shape error deep inside a model (module path and both shapes), an IDX
// header whose dimensions overflow, missing CIFAR-10 files, and the .npy / zip header errors of read_npz. Each
// test checks the exception type and the values the message names.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <type_traits>
#include <unistd.h>

#include "strata/data/cifar10.hpp"
#include "strata/io/idx.hpp"
#include "strata/io/npz.hpp"
#include "strata/nn/residual.hpp"
#include "strata/nn/sequential.hpp"

using namespace strata;
using Catch::Contains;

namespace {

using Bytes = std::vector<std::uint8_t>;

/// The bytes of a .npy member: magic, version `major`.0, a header of `dict` padded to 64 bytes, then `data`.
Bytes npy(const std::string& dict, const Bytes& data, std::uint8_t major = 1) {
    Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', major, 0};
    std::string h = dict;
    while ((10 + h.size() + 1) % 64 != 0) h += ' ';
    h += '\n';
    b.push_back(static_cast<std::uint8_t>(h.size() & 0xFF));
    b.push_back(static_cast<std::uint8_t>(h.size() >> 8));
    b.insert(b.end(), h.begin(), h.end());
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

/// read_npz of a stored zip holding one member "x.npy" with `member` as its bytes.
void read_member(const Bytes& member) {
    const Bytes zip = io::write_zip({io::ZipEntry{"x.npy", member}});
    io::read_npz(zip.data(), zip.size(), "m.npz");
}

}  // namespace

TEST_CASE("Every strata exception is a strata::Error and a std::runtime_error", "[core][errors]") {
    static_assert(std::is_base_of_v<std::runtime_error, Error>);
    static_assert(std::is_base_of_v<Error, ShapeError> && std::is_base_of_v<Error, FormatError> &&
                  std::is_base_of_v<Error, IoError> && std::is_base_of_v<Error, ArgumentError> &&
                  std::is_base_of_v<Error, LifetimeError> && std::is_base_of_v<Error, NumericError>);
    // check<E> throws exactly E with the concatenated message; catching the base catches every kind.
    CHECK_THROWS_AS(check<ShapeError>(false, "op: shapes ", Shape{2, 3}, " and ", Shape{4}), ShapeError);
    CHECK_THROWS_WITH(check<ArgumentError>(false, "op: stride must be >= 1, got ", -2),
                      "op: stride must be >= 1, got -2");
    CHECK_THROWS_AS(check<FormatError>(false, "x"), Error);
    CHECK_THROWS_AS(check<IoError>(false, "x"), std::runtime_error);
    CHECK_NOTHROW(check<ShapeError>(true, "never"));
}

TEST_CASE("Shape, Tensor and Var errors name the offending values", "[core][errors]") {
    CHECK_THROWS_AS(Shape({2, -1}), ArgumentError);
    CHECK_THROWS_WITH(Shape({2, -1}), "negative dimension -1 in shape");
    CHECK_THROWS_WITH(Shape({1, 1, 1, 1, 1, 1, 1}), "shape has more than 6 dimensions");
    const Shape s{2, 3};
    CHECK_THROWS_AS(s[2], ArgumentError);
    CHECK_THROWS_WITH(s[2], "dimension index 2 out of range for shape [2, 3]");
    CHECK_THROWS_WITH(s[-3], Contains("dimension index -3") && Contains("[2, 3]"));
    CHECK_THROWS_AS(check_shape(s, Shape{3, 2}, "linear weight"), ShapeError);
    CHECK_THROWS_WITH(check_shape(s, Shape{3, 2}, "linear weight"),
                      "linear weight: expected shape [3, 2], got [2, 3]");

    Tensor<float> t(Shape{2, 3});
    CHECK_THROWS_AS(t.matrix(4, 2), ShapeError);
    CHECK_THROWS_WITH(t.matrix(4, 2), "cannot view tensor of shape [2, 3] as a 4x2 matrix");
    CHECK_THROWS_AS(t.at(1), ShapeError);
    CHECK_THROWS_WITH(t.at(1), "index of rank 1 into tensor of shape [2, 3]");
    CHECK_THROWS_WITH(t.at(-1, 0), Contains("index -1 out of range in dimension 0"));

    Tape tape;
    Var<float> v = tape.constant(t);
    CHECK_THROWS_AS(v.item(), ShapeError);
    CHECK_THROWS_WITH(v.item(), Contains("item()") && Contains("[2, 3]") && Contains("exactly one element"));
    CHECK_THROWS_AS(v.dim(5), ArgumentError);
    CHECK_THROWS_WITH(v.dim(5), Contains("dimension index 5") && Contains("[2, 3]"));
    Var<float> w = tape.variable(t);
    CHECK_THROWS_AS(w.backward(), ShapeError);
    CHECK_THROWS_WITH(w.backward(), Contains("backward() needs a scalar") && Contains("[2, 3]"));
}

TEST_CASE("A shape error deep in a model names the module path and both shapes", "[core][errors][nn]") {
    // layer1.0 is a BasicBlock for 8 channels behind a stem that gives 16: its first conv refuses the input.
    nn::Sequential<float> net;
    auto layer1 = nn::make<nn::Sequential<float>>();
    layer1->push_back(nn::make<nn::BasicBlock<float>>(nn::BlockOptions(8, 8)));
    net.push_back("layer1", std::move(layer1));
    Tape tape;
    Tensor<float> x(Shape{2, 16, 8, 8});
    CHECK_THROWS_AS(net(tape.constant(x)), ShapeError);
    CHECK_THROWS_WITH(net(tape.constant(x)), Contains("in module 'layer1.0.conv1' (Conv2d)") &&
                                                 Contains("[2, 16, 8, 8]") && Contains("[8, 8, 3, 3]"));
}

TEST_CASE("An IDX header whose dimensions overflow 64 bits is a FormatError naming them", "[core][errors][io]") {
    const std::string path =
        (std::filesystem::temp_directory_path() / ("strata_errors_" + std::to_string(::getpid()) + ".idx")).string();
    {
        std::ofstream out(path, std::ios::binary);
        const unsigned char header[] = {0, 0, 8, 4, 255, 255, 255, 255, 255, 255, 255, 255,
                                        255, 255, 255, 255, 255, 255, 255, 255};
        out.write(reinterpret_cast<const char*>(header), sizeof header);
    }
    CHECK_THROWS_AS(io::read_idx(path), FormatError);
    CHECK_THROWS_WITH(io::read_idx(path), path + ": IDX header dimensions 4294967295 x 4294967295 x 4294967295 x "
                                                 "4294967295 overflow a 64-bit size");
    std::filesystem::remove(path);
}

TEST_CASE(".npy and zip header errors name the archive, the member and the value", "[core][errors][io]") {
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    CHECK_NOTHROW(read_member(npy(dict, Bytes(8, 0))));
    CHECK_THROWS_AS(read_member(Bytes(20, 1)), FormatError);
    CHECK_THROWS_WITH(read_member(Bytes(20, 1)), "m.npz: entry 'x.npy': not a .npy array (bad magic)");
    CHECK_THROWS_WITH(read_member(npy(dict, Bytes(8, 0), 3)),
                      "m.npz: entry 'x.npy': .npy format version 3.0 is not supported (1.0 and 2.0 are)");
    // A header length that runs past the member.
    CHECK_THROWS_WITH(read_member(Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xFF, 0x7F, '{'}),
                      "m.npz: entry 'x.npy': truncated: the .npy header of 32767 bytes runs past the member's end");
    // A shape of 3e9 elements over 8 bytes of data: refused before anything is allocated for it.
    CHECK_THROWS_WITH(read_member(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1000000000), }",
                                      Bytes(8, 0))),
                      "m.npz: entry 'x.npy': has 8 data bytes but shape [3, 1000000000] of <f4 needs more");
    CHECK_THROWS_WITH(read_member(npy(dict, Bytes(12, 0))),
                      "m.npz: entry 'x.npy': has 12 data bytes but shape [2] of <f4 needs 8");
    // The end record claims more members than its central directory can hold.
    Bytes zip = io::write_zip({io::ZipEntry{"x.npy", npy(dict, Bytes(8, 0))}});
    const std::size_t eocd = zip.size() - 22;
    zip[eocd + 8] = zip[eocd + 10] = 0x40;  // 64 members on this disk and in all
    CHECK_THROWS_AS(io::read_npz(zip.data(), zip.size(), "m.npz"), FormatError);
    CHECK_THROWS_WITH(io::read_npz(zip.data(), zip.size(), "m.npz"),
                      Contains("m.npz: 64 members cannot fit in a central directory of"));
}

TEST_CASE("Missing CIFAR-10 files are IoErrors naming the path or both candidates", "[core][errors][io]") {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("strata_errors_cifar_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string batch = (dir / "data_batch_1.bin").string();
    CHECK_THROWS_AS(data::load_cifar10_batch(batch), IoError);
    CHECK_THROWS_WITH(data::load_cifar10_batch(batch), batch + ": cannot open: No such file or directory");
    CHECK_THROWS_AS(data::load_cifar10(dir.string(), data::Split::test), IoError);
    CHECK_THROWS_WITH(data::load_cifar10(dir.string(), data::Split::test),
                      dir.string() + ": found neither " + (dir / "test_batch.bin").string() + " nor " +
                          (dir / "test_batch.bin.gz").string());
    std::filesystem::remove_all(dir);
}
