// The .npy reader and writer: round trips, NumPy's byte layout, and every kind of corrupt file.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "xtape/io/npy.hpp"
#include "xtape/shape.hpp"

using namespace xtape;

namespace {

// A version 1.0 file with this header text (padded as NumPy pads) and these data bytes.
std::string npy_file(const std::string& header, const std::string& data, char major = 1) {
    std::string text = header;
    const std::size_t length_bytes = major == 1 ? 2 : 4;
    while ((8 + length_bytes + text.size() + 1) % 64 != 0) text += ' ';
    text += '\n';
    std::string out = "\x93NUMPY";
    out += major;
    out += '\0';
    for (std::size_t i = 0; i < length_bytes; ++i) out += static_cast<char>((text.size() >> (8 * i)) & 0xff);
    return out + text + data;
}

std::string little_endian_int64(std::int64_t v) {
    std::string out;
    for (int i = 0; i < 8; ++i) out += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
    return out;
}

// A temporary directory removed at the end of the test.
struct TemporaryDirectory {
    std::filesystem::path path;
    TemporaryDirectory() {
        path = std::filesystem::temp_directory_path() / ("xtape-npy-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(path);
    }
    ~TemporaryDirectory() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE_TEMPLATE("arrays of every rank survive a round trip through a file", T, float, double) {
    TemporaryDirectory dir;
    const T inf = std::numeric_limits<T>::infinity();
    const std::vector<xt::xarray<T>> arrays = {
        xt::xarray<T>(T(2.5)),                          // 0-d
        xt::xarray<T>::from_shape({0}),                 // empty
        xt::xarray<T>{T(-0.0), inf, -inf, T(1e-30)},    // (4,)
        xt::xarray<T>{{1, 2, 3}, {4, 5, T(6.125)}},     // (2, 3)
        xt::arange<T>(24).reshape({2, 3, 4}),           // (2, 3, 4)
    };
    for (const auto& a : arrays) {
        write_npy(dir.path / "a.npy", a);
        const NpyArray<T> back = read_npy<T>(dir.path / "a.npy");
        CHECK(back.dtype == npy_dtype_of<T>());
        CHECK(back.array.shape() == a.shape());
        CHECK(back.array == a);
    }
    // The sign of zero and NaN survive (xarray's == would hide both).
    write_npy(dir.path / "b.npy", xt::xarray<T>{T(-0.0), std::numeric_limits<T>::quiet_NaN()});
    const auto back = read_npy<T>(dir.path / "b.npy").array;
    CHECK(std::signbit(back(0)));
    CHECK(std::isnan(back(1)));
}

TEST_CASE("the writer lays out the bytes exactly as NumPy's format 1.0 does") {
    const std::string bytes = to_npy_bytes(xt::xarray<double>{{1, 2, 3}, {4, 5, 6}});
    CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
    const std::size_t header_length = static_cast<unsigned char>(bytes[8]) + 256u * static_cast<unsigned char>(bytes[9]);
    CHECK((10 + header_length) % 64 == 0);
    const std::string header = bytes.substr(10, header_length);
    CHECK(header.rfind("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 0) == 0);
    CHECK(header.back() == '\n');
    CHECK(bytes.size() == 10 + header_length + 6 * 8);
    // 1.0 is 0x3FF0000000000000, stored little-endian.
    CHECK(bytes.substr(10 + header_length, 8) == std::string("\0\0\0\0\0\0\xf0\x3f", 8));
    CHECK(to_npy_bytes(xt::xarray<float>{1, 2, 3}).find("'shape': (3,)") != std::string::npos);
    CHECK(to_npy_bytes(xt::xarray<float>(1.0f)).find("'shape': ()") != std::string::npos);
}

TEST_CASE_TEMPLATE("integer and other float files are converted to T", T, float, double) {
    const auto ints = parse_npy<T>(npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                            little_endian_int64(-7) + little_endian_int64(0) + little_endian_int64(42)),
                                   "ints.npy");
    CHECK(ints.dtype == NpyDtype::Int64);
    CHECK(ints.array == xt::xarray<T>{-7, 0, 42});

    for (NpyDtype dtype : {NpyDtype::Float32, NpyDtype::Float64, NpyDtype::Int32, NpyDtype::Int64}) {
        const std::string dtype_name = to_string(dtype);
        CAPTURE(dtype_name);
        const xt::xarray<double> values{{-3, 0, 5}, {1, 2, 1048576}};  // exact in every dtype
        const auto back = parse_npy<T>(to_npy_bytes(values, dtype), "x.npy");
        CHECK(back.dtype == dtype);
        CHECK(back.array == xt::xarray<T>(xt::cast<T>(values)));
    }
    // Keys in another order, double quotes, a version 2.0 header and no trailing comma are all NumPy-valid.
    const auto v2 = parse_npy<T>(npy_file("{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<i4\"}",
                                          std::string("\x05\0\0\0\xff\xff\xff\xff", 8), 2),
                                 "v2.npy");
    CHECK(v2.array == xt::xarray<T>{{5, -1}});
}

TEST_CASE_TEMPLATE("Fortran-order files are read as NumPy reads them", T, float, double) {
    // np.save(path, a.T) for a = np.arange(6).reshape(3, 2) stores a.T, of shape (2, 3), column by
    // column: the bytes of 0 1 2 3 4 5, which are a's, with fortran_order True.
    std::string column_major;
    for (std::int64_t v = 0; v < 6; ++v) column_major += little_endian_int64(v);
    const auto transposed = parse_npy<T>(
        npy_file("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }", column_major), "t.npy");
    CHECK(transposed.array.shape() == Shape{2, 3});
    CHECK(transposed.array == xt::xarray<T>{{0, 2, 4}, {1, 3, 5}});

    // Three axes: element (i, j, k) of a (2, 3, 4) array sits at i + 2 j + 6 k.
    std::string bytes;
    for (std::int64_t at = 0; at < 24; ++at) {
        const std::int64_t i = at % 2, j = at / 2 % 3, k = at / 6;
        bytes += little_endian_int64(100 * i + 10 * j + k);
    }
    const auto cube = parse_npy<T>(npy_file("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3, 4), }", bytes),
                                   "cube.npy");
    REQUIRE(cube.array.shape() == Shape{2, 3, 4});
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            for (std::size_t k = 0; k < 4; ++k) CHECK(cube.array(i, j, k) == T(100 * i + 10 * j + k));
        }
    }
    // 0-d, 1-d and empty arrays are the same in either order.
    const auto scalar = parse_npy<T>(npy_file("{'descr': '<i8', 'fortran_order': True, 'shape': (), }",
                                              little_endian_int64(7)), "s.npy");
    CHECK(scalar.array == xt::xarray<T>(T(7)));
    const auto row = parse_npy<T>(npy_file("{'descr': '<i8', 'fortran_order': True, 'shape': (2,), }",
                                           little_endian_int64(1) + little_endian_int64(2)), "r.npy");
    CHECK(row.array == xt::xarray<T>{1, 2});
    const auto empty = parse_npy<T>(npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (0, 3), }", ""), "e.npy");
    CHECK(empty.array.shape() == Shape{0, 3});
}

TEST_CASE("what the reader does not take is called unsupported, not malformed") {
    const std::string data(16, '\0');
    for (const std::string descr : {">f8", "<u2", "|O", "<c16"}) {
        CAPTURE(descr);
        const std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': (2,), }}", descr);
        try {
            parse_npy<double>(npy_file(header, data), "x.npy");
            FAIL("no exception");
        } catch (const NpyError& e) {
            const std::string message = e.what();
            CHECK_MESSAGE(message.find("unsupported") != std::string::npos, message);
            CHECK_MESSAGE(message.find("malformed") == std::string::npos, message);
        }
    }
    CHECK_THROWS_WITH_AS(parse_npy<double>(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data, 4),
                                           "x.npy"),
                         doctest::Contains("unsupported .npy format version 4"), NpyError);
}

TEST_CASE("writing an integer dtype takes only whole numbers in range") {
    CHECK_THROWS_AS(to_npy_bytes(xt::xarray<double>{1.5}, NpyDtype::Int64), NpyError);
    CHECK_THROWS_AS(to_npy_bytes(xt::xarray<double>{3e9}, NpyDtype::Int32), NpyError);
    CHECK_THROWS_AS(to_npy_bytes(xt::xarray<double>{std::nan("")}, NpyDtype::Int32), NpyError);
    CHECK_NOTHROW(to_npy_bytes(xt::xarray<double>{-2147483648.0}, NpyDtype::Int32));
}

TEST_CASE("every class of corrupt file throws NpyError naming the file and the fault") {
    const std::string good_header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
    const std::string data(16, '\0');
    std::string many_axes = "(";
    for (int i = 0; i < 65; ++i) many_axes += "1, ";
    many_axes += ")";
    struct Case {
        const char* what;
        std::string bytes;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"empty", "", "not a .npy file"},
        {"wrong magic", "\x93NUMPZ\x01\x00" + npy_file(good_header, data).substr(8), "not a .npy file"},
        {"a text file", "descr,shape\n1,2\n", "not a .npy file"},
        {"unknown version", npy_file(good_header, data, 9), "version 9"},
        {"truncated header length", std::string("\x93NUMPY\x02\x00\x10", 9), "truncated"},
        {"truncated header", npy_file(good_header, data).substr(0, 40), "truncated"},
        {"truncated data", npy_file(good_header, data.substr(0, 15)), "does not match"},
        {"extra data", npy_file(good_header, data + "x"), "does not match"},
        {"unknown dtype", npy_file("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", data), "unsupported dtype"},
        {"object dtype", npy_file("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", data), "unsupported dtype"},
        {"big-endian", npy_file("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", data), "big-endian"},
        {"product overflows", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, "
                                       "4611686018427387904, 4), }", data), "does not match"},
        {"absurd dimension", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
                                      data), "absurdly large"},
        {"shape larger than the data", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }",
                                                data), "does not match"},
        {"negative dimension", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", data),
         "non-negative integer"},
        {"too many axes", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': " + many_axes + ", }", data),
         "more than 64 axes"},
        {"missing key", npy_file("{'descr': '<f8', 'shape': (2,), }", data), "lacks"},
        {"duplicate key", npy_file("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", data),
         "twice"},
        {"unknown key", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", data), "unknown"},
        {"unterminated string", npy_file("{'descr: <f8, fortran_order: False, shape: (2,)}", data), "unterminated"},
        {"not a dictionary", npy_file("[1, 2, 3]", data), "expected '{'"},
        {"garbage after the dictionary", npy_file(good_header + " rm -rf", data), "unexpected bytes"},
        {"bad boolean", npy_file("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}", data), "True or False"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        try {
            parse_npy<double>(c.bytes, "data/x.npy");
            FAIL("no exception");
        } catch (const NpyError& e) {
            const std::string message = e.what();
            CHECK(message.rfind("data/x.npy: ", 0) == 0);
            CHECK_MESSAGE(message.find(c.message) != std::string::npos, message);
        }
    }
}

TEST_CASE("every prefix and many random mutations of a valid file parse or throw NpyError") {
    const std::string valid = to_npy_bytes(xt::xarray<double>{{1, 2, 3}, {4, 5, 6}});
    for (std::size_t n = 0; n < valid.size(); ++n) {
        CHECK_THROWS_AS(parse_npy<float>(std::string_view(valid).substr(0, n), "prefix.npy"), NpyError);
    }
    std::mt19937 rng(12345);
    int parsed = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        std::string bytes = valid;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            // Mutate the header region most of the time: that is where the parser lives.
            const std::size_t at = rng() % (rng() % 4 == 0 ? bytes.size() : 80);
            bytes[at] = static_cast<char>(rng() % 3 == 0 ? "0123456789(),' "[rng() % 15] : static_cast<char>(rng()));
        }
        try {
            const auto result = parse_npy<double>(bytes, "mutant.npy");
            CHECK(result.array.size() * 8 <= bytes.size());
            ++parsed;
        } catch (const NpyError&) {
        }
    }
    CHECK(parsed > 0);  // some mutations only touch data bytes or padding
}

TEST_CASE("a missing file or a directory throws NpyError naming the path") {
    TemporaryDirectory dir;
    CHECK_THROWS_WITH_AS(read_npy<double>(dir.path / "missing.npy"), doctest::Contains("missing.npy"), NpyError);
    CHECK_THROWS_WITH_AS(read_npy<double>(dir.path), doctest::Contains("directory"), NpyError);
    CHECK_THROWS_AS(write_npy(dir.path / "no" / "such" / "dir.npy", xt::xarray<double>{1}), NpyError);
}
