/// @file
/// Writes the seed corpora of the fuzz harnesses into <dir>/<harness>/ (run by fuzz/run.sh when a seed
/// directory is missing; the committed seeds were made by it): tiny valid inputs of each format, built with
/// strata's own writers where it has them (Checkpoint::to_bytes, npz_bytes) and by hand otherwise.
/// Usage: make_seeds <corpus-dir>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "strata/io/checkpoint.hpp"
#include "strata/io/npz.hpp"
#include "gzip.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

void write(const std::filesystem::path& path, const Bytes& b) {
    std::filesystem::create_directories(path.parent_path());
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || (!b.empty() && std::fwrite(b.data(), 1, b.size(), f) != b.size())) std::abort();
    std::fclose(f);
}

Bytes gzip(const Bytes& in) { return strata_fuzz::gzip(in.data(), in.size(), 9); }

/// An unsigned-byte IDX file of shape `dims` with elements 0, 1, 2, ...
Bytes idx(const std::vector<std::uint32_t>& dims) {
    Bytes b{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
    std::size_t n = 1;
    for (std::uint32_t d : dims) {
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
        n *= d;
    }
    for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(i * 37));
    return b;
}

Bytes prefixed(std::uint8_t mode, const Bytes& b) {
    Bytes out{mode};
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];

    const Bytes labels = idx({5}), images = idx({2, 3, 4});
    write(dir / "idx_fuzz" / "labels_5.idx", labels);
    write(dir / "idx_fuzz" / "images_2x3x4.idx", images);
    // idx_gz_fuzz: mode byte 0 = the .gz file as-is, 1 = an IDX payload the harness gzips.
    write(dir / "idx_gz_fuzz" / "labels_5.gz.seed", prefixed(0, gzip(labels)));
    write(dir / "idx_gz_fuzz" / "images_2x3x4.gz.seed", prefixed(0, gzip(images)));
    write(dir / "idx_gz_fuzz" / "images_2x3x4.plain.seed", prefixed(1, images));

    Bytes record(1 + 3 * 32 * 32);
    record[0] = 7;
    for (std::size_t i = 1; i < record.size(); ++i) record[i] = static_cast<std::uint8_t>(i % 251);
    write(dir / "cifar10_fuzz" / "one_record.bin", record);
    write(dir / "cifar10_fuzz" / "one_record.bin.gz", gzip(record));

    strata::io::Checkpoint ck;
    const float w[6] = {0.5f, -1.f, 2.f, 3.25f, -0.f, 1e-3f};
    ck.add_array("layer.weight", w, {2, 3});
    ck.add_scalar("step", std::int64_t{42});
    ck.add_scalar("flag", true);
    ck.add_string("note", "hi");
    ck.add_doubles("lr", {0.1, 0.01});
    write(dir / "checkpoint_fuzz" / "tiny.ckpt", ck.to_bytes());

    strata::io::Checkpoint arrays;
    arrays.add_array("fc.weight", w, {2, 3});
    const double b[2] = {0.25, -4.0};
    arrays.add_array("fc.bias", b, {2});
    arrays.add_scalar("bn.num_batches_tracked", std::int64_t{3});
    write(dir / "npz_fuzz" / "stored.npz", strata::io::npz_bytes(arrays, false));
    write(dir / "npz_fuzz" / "deflated.npz", strata::io::npz_bytes(arrays, true));
    // Bare .npy members: npz_fuzz also reads each input as the one member of a zip it builds.
    for (const strata::io::CheckpointEntry& e : arrays.entries())
        write(dir / "npz_fuzz" / (e.name + ".npy"), strata::io::detail::npy_bytes(e));
    return 0;
}
