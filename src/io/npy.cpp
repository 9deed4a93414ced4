// Reading and writing NumPy .npy files: a small, bounded parser that trusts no byte.
#include "xtape/io/npy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <xtensor/xmanipulation.hpp>

#include "xtape/shape.hpp"

namespace xtape {

namespace {

constexpr std::string_view magic = "\x93NUMPY";
// NumPy itself never writes more axes than this (NPY_MAXDIMS is 32, 64 in NumPy 2).
constexpr std::size_t max_rank = 64;

std::size_t item_size(NpyDtype dtype) {
    return dtype == NpyDtype::Float32 || dtype == NpyDtype::Int32 ? 4 : 8;
}

const char* descr_of(NpyDtype dtype) {
    switch (dtype) {
        case NpyDtype::Float32: return "<f4";
        case NpyDtype::Float64: return "<f8";
        case NpyDtype::Int32: return "<i4";
        case NpyDtype::Int64: return "<i8";
    }
    return "";
}

// Little-endian loads and stores by shifts: correct on any host byte order.
template <class U>
U load_little_endian(const char* p) {
    U value = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) {
        value |= static_cast<U>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    return value;
}

template <class U>
void store_little_endian(std::string& out, U value) {
    for (std::size_t i = 0; i < sizeof(U); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

struct Header {
    NpyDtype dtype = NpyDtype::Float64;
    Shape shape;
    // The data holds the array column-major (the first index varies fastest), as np.save writes a.T.
    bool fortran_order = false;
};

// Parses the header, a Python dict literal such as
// {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
// Every read is bounds-checked; every failure names the source and the offset.
class HeaderParser {
public:
    HeaderParser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

    Header parse() {
        Header header;
        bool has_descr = false, has_order = false, has_shape = false;
        expect('{', "'{' opening the header dictionary");
        skip_space();
        while (!consume('}')) {
            const std::string key = parse_string();
            expect(':', "':' after a key");
            if (key == "descr") {
                header.dtype = parse_dtype(parse_string());
                mark(has_descr, key);
            } else if (key == "fortran_order") {
                header.fortran_order = parse_bool();
                mark(has_order, key);
            } else if (key == "shape") {
                header.shape = parse_shape();
                mark(has_shape, key);
            } else {
                fail(fmt::format("unknown header key '{}'", key));
            }
            skip_space();
            if (!consume(',')) {
                expect('}', "',' or '}' after a value");
                break;
            }
            skip_space();
        }
        if (!has_descr || !has_order || !has_shape) {
            fail("the header lacks one of 'descr', 'fortran_order', 'shape'");
        }
        skip_space();
        if (pos_ != text_.size()) fail(fmt::format("unexpected bytes after the header dictionary at byte {}", pos_));
        return header;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw NpyError(fmt::format("{}: malformed .npy header: {}", source_, what));
    }

    void mark(bool& seen, const std::string& key) const {
        if (seen) fail(fmt::format("key '{}' appears twice", key));
        seen = true;
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
    }

    bool consume(char c) {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    void expect(char c, const char* what) {
        if (!consume(c)) fail(fmt::format("expected {} at byte {}", what, pos_));
    }

    // A quoted string without escapes ('...' or "..."), as NumPy writes keys and dtypes.
    std::string parse_string() {
        skip_space();
        if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
            fail(fmt::format("expected a quoted string at byte {}", pos_));
        }
        const char quote = text_[pos_++];
        const std::size_t end = text_.find(quote, pos_);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string s(text_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return s;
    }

    bool parse_bool() {
        skip_space();
        for (auto [word, value] : {std::pair{std::string_view("True"), true}, {std::string_view("False"), false}}) {
            if (text_.substr(pos_, word.size()) == word) {
                pos_ += word.size();
                return value;
            }
        }
        fail(fmt::format("expected True or False at byte {}", pos_));
    }

    NpyDtype parse_dtype(const std::string& descr) const {
        for (NpyDtype d : {NpyDtype::Float32, NpyDtype::Float64, NpyDtype::Int32, NpyDtype::Int64}) {
            if (descr == descr_of(d)) return d;
        }
        if (!descr.empty() && descr[0] == '>') {
            throw NpyError(fmt::format("{}: unsupported dtype '{}': big-endian (readable: float32, float64, int32, "
                                       "int64, little-endian)", source_, descr));
        }
        throw NpyError(fmt::format("{}: unsupported dtype '{}' (readable: float32, float64, int32, int64, "
                                   "little-endian)", source_, descr));
    }

    // A tuple of non-negative integers: (), (3,), (2, 3) with an optional trailing comma.
    Shape parse_shape() {
        expect('(', "'(' opening the shape");
        Shape shape;
        while (!consume(')')) {
            if (shape.size() == max_rank) fail(fmt::format("the shape has more than {} axes", max_rank));
            shape.push_back(parse_dimension());
            if (!consume(',')) {
                expect(')', "',' or ')' in the shape");
                break;
            }
        }
        return shape;
    }

    std::size_t parse_dimension() {
        skip_space();
        const std::size_t start = pos_;
        std::uint64_t value = 0;
        // No dimension can exceed the data's byte count, so anything past 2^62 is absurd.
        constexpr std::uint64_t limit = std::uint64_t(1) << 62;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            value = value * 10 + static_cast<std::uint64_t>(text_[pos_] - '0');
            if (value > limit) fail(fmt::format("dimension at byte {} is absurdly large", start));
            ++pos_;
        }
        if (pos_ == start) fail(fmt::format("expected a non-negative integer in the shape at byte {}", start));
        return static_cast<std::size_t>(value);
    }

    std::string_view text_;
    std::string_view source_;
    std::size_t pos_ = 0;
};

template <class T>
T element_at(const char* p, NpyDtype dtype) {
    switch (dtype) {
        case NpyDtype::Float32: return static_cast<T>(std::bit_cast<float>(load_little_endian<std::uint32_t>(p)));
        case NpyDtype::Float64: return static_cast<T>(std::bit_cast<double>(load_little_endian<std::uint64_t>(p)));
        case NpyDtype::Int32: return static_cast<T>(static_cast<std::int32_t>(load_little_endian<std::uint32_t>(p)));
        case NpyDtype::Int64: return static_cast<T>(static_cast<std::int64_t>(load_little_endian<std::uint64_t>(p)));
    }
    return T(0);
}

// Appends one element in `dtype`; integer dtypes take only whole numbers in range.
template <class T>
void append_element(std::string& out, T value, NpyDtype dtype, std::size_t index) {
    const auto check_integer = [&](double lo, double hi) {
        const double v = static_cast<double>(value);
        if (!(std::trunc(v) == v && v >= lo && v < hi)) {
            throw NpyError(fmt::format("write_npy: element {} ({}) is not a whole number that fits in {}", index,
                                       v, to_string(dtype)));
        }
    };
    switch (dtype) {
        case NpyDtype::Float32:
            store_little_endian(out, std::bit_cast<std::uint32_t>(static_cast<float>(value)));
            break;
        case NpyDtype::Float64:
            store_little_endian(out, std::bit_cast<std::uint64_t>(static_cast<double>(value)));
            break;
        case NpyDtype::Int32:
            check_integer(-2147483648.0, 2147483648.0);
            store_little_endian(out, static_cast<std::uint32_t>(static_cast<std::int32_t>(value)));
            break;
        case NpyDtype::Int64:
            check_integer(-9223372036854775808.0, 9223372036854775808.0);
            store_little_endian(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(value)));
            break;
    }
}

}  // namespace

const char* to_string(NpyDtype dtype) {
    switch (dtype) {
        case NpyDtype::Float32: return "float32";
        case NpyDtype::Float64: return "float64";
        case NpyDtype::Int32: return "int32";
        case NpyDtype::Int64: return "int64";
    }
    return "unknown";
}

template <class T>
NpyArray<T> parse_npy(std::string_view bytes, std::string_view source) {
    if (bytes.size() < magic.size() + 2 || bytes.substr(0, magic.size()) != magic) {
        throw NpyError(fmt::format("{}: not a .npy file (it does not start with \\x93NUMPY)", source));
    }
    const int major = static_cast<unsigned char>(bytes[6]);
    if (major < 1 || major > 3) {
        throw NpyError(fmt::format("{}: unsupported .npy format version {}", source, major));
    }
    // Version 1 stores the header length in 2 bytes, versions 2 and 3 in 4.
    const std::size_t length_bytes = major == 1 ? 2 : 4;
    const std::size_t prefix = 8 + length_bytes;
    if (bytes.size() < prefix) throw NpyError(fmt::format("{}: truncated .npy header", source));
    const std::size_t header_length = major == 1 ? load_little_endian<std::uint16_t>(bytes.data() + 8)
                                                 : load_little_endian<std::uint32_t>(bytes.data() + 8);
    if (header_length > bytes.size() - prefix) {
        throw NpyError(fmt::format("{}: truncated .npy header: it declares {} bytes, {} follow", source,
                                   header_length, bytes.size() - prefix));
    }
    const Header header = HeaderParser(bytes.substr(prefix, header_length), source).parse();

    const std::string_view data = bytes.substr(prefix + header_length);
    const std::size_t size = item_size(header.dtype);
    const auto mismatch = [&] {
        return NpyError(fmt::format("{}: shape {} of {} does not match the {} data bytes in the file", source,
                                    to_string(header.shape), to_string(header.dtype), data.size()));
    };
    // Count elements with an overflow guard: the count may never exceed what the data holds.
    const std::size_t capacity = data.size() / size;
    const bool empty = std::find(header.shape.begin(), header.shape.end(), 0) != header.shape.end();
    std::size_t count = empty ? 0 : 1;
    for (std::size_t d : header.shape) {
        if (empty) break;
        if (count > capacity / d) throw mismatch();
        count *= d;
    }
    if (count * size != data.size()) throw mismatch();
    // Column-major data read row-major is the array with its axes reversed: transposed back, it is the array.
    Shape stored = header.shape;
    if (header.fortran_order) std::reverse(stored.begin(), stored.end());
    NpyArray<T> result{xt::xarray<T>::from_shape(stored), header.dtype};
    for (std::size_t i = 0; i < count; ++i) result.array.flat(i) = element_at<T>(data.data() + i * size, header.dtype);
    if (header.fortran_order) result.array = xt::transpose(result.array);
    return result;
}

template <class T>
NpyArray<T> read_npy(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw NpyError(fmt::format("{}: is a directory, not a .npy file", path.string()));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw NpyError(fmt::format("{}: cannot open for reading", path.string()));
    std::string bytes;
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) bytes.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (in.bad()) throw NpyError(fmt::format("{}: read error", path.string()));
    return parse_npy<T>(bytes, path.string());
}

template <class T>
std::string to_npy_bytes(const xt::xarray<T>& array, NpyDtype dtype) {
    std::string shape = "(";
    for (std::size_t d : array.shape()) shape += fmt::format("{}, ", d);
    if (array.dimension() > 1) shape.resize(shape.size() - 2);  // (2, 3) but (3,) and ()
    if (array.dimension() == 1) shape.pop_back();
    shape += ")";
    std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr_of(dtype), shape);
    // NumPy pads with spaces and a final newline so that the data starts on a 64-byte boundary.
    const std::size_t prefix = magic.size() + 4;
    header.append(63 - (prefix + header.size()) % 64, ' ');
    header.push_back('\n');

    std::string out(magic);
    out.push_back('\x01');
    out.push_back('\x00');
    store_little_endian(out, static_cast<std::uint16_t>(header.size()));
    out += header;
    out.reserve(out.size() + array.size() * item_size(dtype));
    for (std::size_t i = 0; i < array.size(); ++i) append_element(out, array.flat(i), dtype, i);
    return out;
}

template <class T>
void write_npy(const std::filesystem::path& path, const xt::xarray<T>& array, NpyDtype dtype) {
    const std::string bytes = to_npy_bytes(array, dtype);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw NpyError(fmt::format("{}: cannot open for writing", path.string()));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw NpyError(fmt::format("{}: write error", path.string()));
}

#define XTAPE_INSTANTIATE(T)                                                                 \
    template NpyArray<T> parse_npy<T>(std::string_view, std::string_view);                   \
    template NpyArray<T> read_npy<T>(const std::filesystem::path&);                          \
    template std::string to_npy_bytes<T>(const xt::xarray<T>&, NpyDtype);                    \
    template void write_npy<T>(const std::filesystem::path&, const xt::xarray<T>&, NpyDtype);

XTAPE_INSTANTIATE(float)
XTAPE_INSTANTIATE(double)

}  // namespace xtape
