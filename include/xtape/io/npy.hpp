// Reading and writing NumPy .npy files (format versions 1, 2 and 3).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <xtensor/xarray.hpp>

#include "xtape/errors.hpp"

namespace xtape {

/// The element types xtape reads and writes: little-endian '<f4', '<f8', '<i4', '<i8'.
enum class NpyDtype { Float32, Float64, Int32, Int64 };

/// NumPy's name of a dtype: "float32", "float64", "int32", "int64".
const char* to_string(NpyDtype dtype);

/// The dtype that holds a T without conversion (Float32 for float, Float64 for double).
template <class T>
constexpr NpyDtype npy_dtype_of() {
    return sizeof(T) == 4 ? NpyDtype::Float32 : NpyDtype::Float64;
}

/// An array read from a .npy file, converted to T, with the dtype the file stored.
template <class T>
struct NpyArray {
    /// The elements, converted to T, in the stored shape.
    xt::xarray<T> array;
    /// The dtype the file stored.
    NpyDtype dtype;
};

/// Parses the bytes of a .npy file. `source` names them in error messages (a
/// file name). Accepts format versions 1.0, 2.0 and 3.0, C and Fortran order
/// (as NumPy does: `np.save(path, a.T)` reads back as a.T), the dtypes of
/// NpyDtype; converts the elements to T (int64 values beyond 2^53, or doubles
/// beyond float's range, round as static_cast does). The result is always C order.
///
/// Throws NpyError naming `source` and the fault for anything else: a wrong
/// magic string, a truncated header or data, a malformed header dictionary, a
/// shape whose element count overflows or does not match the number of data
/// bytes exactly, and ("unsupported") a valid file it does not read: a format
/// version after 3.0, a dtype other than those of NpyDtype (big-endian ones
/// included). It allocates nothing larger than the input, whatever the bytes.
template <class T>
NpyArray<T> parse_npy(std::string_view bytes, std::string_view source);

/// Reads a .npy file: parse_npy of its contents. Throws NpyError naming the
/// file when it cannot be read.
template <class T>
NpyArray<T> read_npy(const std::filesystem::path& path);

/// The bytes of a version 1.0 .npy file holding `array` converted to `dtype`
/// (C order, little-endian, header padded to 64 bytes as NumPy does).
/// Throws NpyError when `dtype` is an integer type and an element is not a
/// whole number in its range.
template <class T>
std::string to_npy_bytes(const xt::xarray<T>& array, NpyDtype dtype = npy_dtype_of<T>());

/// Writes to_npy_bytes(array, dtype) to `path`; throws NpyError naming the file
/// when it cannot be written.
template <class T>
void write_npy(const std::filesystem::path& path, const xt::xarray<T>& array,
               NpyDtype dtype = npy_dtype_of<T>());

}  // namespace xtape
