// Fuzz target: xtape::parse_npy on arbitrary bytes, as float and as double.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "xtape/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // Either an array whose element count matches the data, or an NpyError: nothing else.
    try {
        const auto parsed = xtape::parse_npy<double>(bytes, "fuzz.npy");
        if (parsed.array.size() * 4 > size) __builtin_trap();  // more elements than bytes
    } catch (const xtape::NpyError&) {
    }
    try {
        (void)xtape::parse_npy<float>(bytes, "fuzz.npy");
    } catch (const xtape::NpyError&) {
    }
    return 0;
}
