/// @file
/// libFuzzer harness for strata::io::Checkpoint::from_bytes (in memory). Each input is parsed twice: as is, and
/// with its last 4 bytes replaced by the CRC-32 of the rest, so that mutated inputs also get past the trailing
/// checksum (checked last) and reach the accepting path. An accepted checkpoint must survive a round trip:
/// to_bytes, from_bytes again and to_bytes once more give the same bytes (abort otherwise).
/// Any strata::Error is an accepted outcome; anything else is a finding.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "strata/io/checkpoint.hpp"

namespace {

void parse(const std::uint8_t* data, std::size_t size) {
    try {
        const strata::io::Checkpoint ck = strata::io::Checkpoint::from_bytes(data, size, "<fuzz>");
        const std::vector<std::uint8_t> once = ck.to_bytes();
        const std::vector<std::uint8_t> twice =
            strata::io::Checkpoint::from_bytes(once, "<fuzz round trip>").to_bytes();
        if (once != twice) std::abort();
    } catch (const strata::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse(data, size);
    if (size >= 4) {
        std::vector<std::uint8_t> fixed(data, data + size);
        const std::uint32_t crc = strata::io::crc32(fixed.data(), size - 4);
        for (std::size_t i = 0; i < 4; ++i) fixed[size - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
        if (fixed != std::vector<std::uint8_t>(data, data + size)) parse(fixed.data(), fixed.size());
    }
    return 0;
}
