/// @file
/// libFuzzer harness for strata::io::read_npz (in memory), which runs read_zip (end record, central and local
/// headers, stored and deflated members, CRC-32) and then the .npy parser on every member. Each input is read
/// twice: as an npz archive, and as the bytes of one .npy member that the harness wraps in a valid stored zip
/// (write_zip), so that mutated .npy headers are not all stopped by the member's CRC-32. An accepted archive must
/// survive a round trip: npz_bytes, read_npz again and npz_bytes once more give the same bytes (abort otherwise).
/// Any strata::Error is an accepted outcome; anything else is a finding.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "strata/io/npz.hpp"

namespace {

void parse(const std::uint8_t* data, std::size_t size) {
    try {
        const strata::io::Checkpoint ck = strata::io::read_npz(data, size, "<fuzz>");
        const std::vector<std::uint8_t> once = strata::io::npz_bytes(ck);
        const std::vector<std::uint8_t> twice =
            strata::io::npz_bytes(strata::io::read_npz(once.data(), once.size(), "<fuzz round trip>"));
        if (once != twice) std::abort();
    } catch (const strata::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse(data, size);
    const std::vector<std::uint8_t> zip =
        strata::io::write_zip({strata::io::ZipEntry{"x.npy", std::vector<std::uint8_t>(data, data + size)}});
    parse(zip.data(), zip.size());
    return 0;
}
