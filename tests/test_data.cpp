// The data helpers: seeded random numbers, row selection, minibatches, CSV, split, standardisation.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include <unistd.h>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xtensor.hpp>

#include "xtape/train.hpp"

using namespace xtape;

namespace {
// A file in a fresh temporary directory that is removed when the test ends.
struct TempFile {
    std::filesystem::path directory;
    std::filesystem::path path;
    TempFile(const std::string& name, const std::string& contents)
        : directory(std::filesystem::temp_directory_path() / fmt::format("xtape-test-data-{}", ::getpid())),
          path(directory / name) {
        std::filesystem::create_directories(directory);
        std::ofstream(path) << contents;
    }
    ~TempFile() { std::filesystem::remove_all(directory); }
};

bool is_permutation_of_range(std::vector<std::size_t> v, std::size_t n) {
    std::sort(v.begin(), v.end());
    std::vector<std::size_t> range(n);
    std::iota(range.begin(), range.end(), std::size_t{0});
    return v == range;
}
}  // namespace

TEST_CASE("seeded random numbers repeat for a seed and stay in range") {
    Rng a(42), b(42), c(43);
    std::vector<double> da, db, dc;
    for (int i = 0; i < 5; ++i) {
        da.push_back(uniform01(a));
        db.push_back(uniform01(b));
        dc.push_back(uniform01(c));
    }
    CHECK(da == db);
    CHECK(da != dc);

    Rng rng(7);
    double sum = 0, sum_sq = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        const double u = uniform01(rng);
        CHECK((u >= 0 && u < 1));
        const std::size_t k = uniform_index(rng, 3);
        CHECK(k < 3);
        const double z = standard_normal(rng);
        sum += z;
        sum_sq += z * z;
    }
    // Mean 0 and variance 1, within ~4 standard errors.
    CHECK(std::abs(sum / n) < 0.03);
    CHECK(std::abs(sum_sq / n - 1) < 0.04);
    CHECK_THROWS_AS(uniform_index(rng, 0), ValueError);
}

TEST_CASE("permutation holds every index once and depends on the seed") {
    Rng a(1), b(2);
    const auto p = permutation(50, a);
    const auto q = permutation(50, b);
    CHECK(is_permutation_of_range(p, 50));
    CHECK(is_permutation_of_range(q, 50));
    CHECK(p != q);
    CHECK(permutation(0, a).empty());
}

TEST_CASE_TEMPLATE("take_rows selects rows in the given order", T, float, double) {
    const xt::xarray<T> a = {{0, 1}, {10, 11}, {20, 21}};
    const std::vector<std::size_t> rows = {2, 0, 2};
    const xt::xarray<T> expected = {{20, 21}, {0, 1}, {20, 21}};
    CHECK(take_rows(a, rows) == expected);
    const xt::xarray<T> v = {5, 6, 7};
    CHECK(take_rows(v, rows) == xt::xarray<T>{7, 5, 7});
    const std::vector<std::size_t> bad = {0, 3};
    CHECK_THROWS_WITH_AS(take_rows(a, bad), doctest::Contains("row index 3 at position 1"), ValueError);
}

TEST_CASE("shuffled batches cover every index once, in batches of the asked size") {
    Rng rng(3);
    const auto epoch1 = shuffled_batches(10, 3, rng);
    REQUIRE(epoch1.size() == 4);
    CHECK(epoch1[0].size() == 3);
    CHECK(epoch1[3].size() == 1);
    std::vector<std::size_t> all;
    for (const auto& batch : epoch1) all.insert(all.end(), batch.begin(), batch.end());
    CHECK(is_permutation_of_range(all, 10));

    // The next epoch is shuffled anew; the same seed gives the same epochs.
    const auto epoch2 = shuffled_batches(10, 3, rng);
    CHECK(epoch1 != epoch2);
    Rng again(3);
    CHECK(shuffled_batches(10, 3, again) == epoch1);
    CHECK_THROWS_AS(shuffled_batches(10, 0, rng), ValueError);
}

TEST_CASE_TEMPLATE("load_csv reads a table, skips a header and names the file in errors", T, float, double) {
    {
        TempFile file("table.csv", "3,2,a,b\n1.5,2,3\n4,5,-6.25\n");
        const xt::xarray<T> table = load_csv<T>(file.path.string(), ',', 1);
        const xt::xarray<T> expected = {{1.5, 2, 3}, {4, 5, -6.25}};
        CHECK(table == expected);
    }
    {
        TempFile file("spaces.txt", "1 2\n3 4\n");
        CHECK(load_csv<T>(file.path.string(), ' ') == xt::xarray<T>{{1, 2}, {3, 4}});
    }
    {
        TempFile file("ragged.csv", "1,2\n3\n");
        CHECK_THROWS_WITH_AS(load_csv<T>(file.path.string()), doctest::Contains("ragged.csv"), ValueError);
    }
    {
        TempFile file("words.csv", "1,x\n");
        CHECK_THROWS_WITH_AS(load_csv<T>(file.path.string()), doctest::Contains("words.csv"), ValueError);
    }
    {
        TempFile file("empty.csv", "");
        CHECK_THROWS_WITH_AS(load_csv<T>(file.path.string()), doctest::Contains("no rows"), ValueError);
    }
    CHECK_THROWS_WITH_AS(load_csv<T>("/nonexistent/xtape.csv"), doctest::Contains("cannot open"), ValueError);
}

TEST_CASE_TEMPLATE("train_test_split keeps rows together, has fixed sizes and follows the seed", T, float, double) {
    const std::size_t n = 10;
    // Row i of x is (i, -i) and y is i, so the pairing can be checked.
    xt::xarray<T> x = xt::empty<T>({n, std::size_t{2}});
    xt::xarray<T> y = xt::empty<T>({n});
    for (std::size_t i = 0; i < n; ++i) {
        x(i, 0) = static_cast<T>(i);
        x(i, 1) = -static_cast<T>(i);
        y(i) = static_cast<T>(i);
    }
    const auto split = train_test_split(x, y, 0.3, 5);
    CHECK(split.train_x.shape() == Shape{7, 2});
    CHECK(split.test_x.shape() == Shape{3, 2});
    CHECK(split.train_y.shape() == Shape{7});
    CHECK(split.test_y.shape() == Shape{3});
    std::vector<std::size_t> seen;
    auto collect = [&](const xt::xarray<T>& px, const xt::xarray<T>& py) {
        for (std::size_t i = 0; i < py.size(); ++i) {
            CHECK(px(i, 0) == py(i));
            CHECK(px(i, 1) == -py(i));
            seen.push_back(static_cast<std::size_t>(py(i)));
        }
    };
    collect(split.train_x, split.train_y);
    collect(split.test_x, split.test_y);
    CHECK(is_permutation_of_range(seen, n));

    const auto same = train_test_split(x, y, 0.3, 5);
    CHECK(same.test_y == split.test_y);
    const auto other = train_test_split(x, y, 0.3, 6);
    CHECK(other.train_y != split.train_y);

    CHECK_THROWS_AS(train_test_split(x, xt::xarray<T>(xt::zeros<T>({n - 1})), 0.3, 5), ShapeError);
    CHECK_THROWS_AS(train_test_split(x, y, 0.0, 5), ValueError);
    CHECK_THROWS_AS(train_test_split(x, y, 1.0, 5), ValueError);
    CHECK_THROWS_WITH_AS(train_test_split(x, y, 0.01, 5), doctest::Contains("empty"), ValueError);
}

TEST_CASE_TEMPLATE("a standardizer centres and scales with the training statistics", T, float, double) {
    // Column 0: mean 2, population std 1; column 1 constant.
    const xt::xarray<T> train = {{1, 5}, {3, 5}, {1, 5}, {3, 5}};
    const auto standardizer = Standardizer<T>::fit(train);
    CHECK(standardizer.mean() == xt::xarray<T>{2, 5});
    CHECK(standardizer.scale() == xt::xarray<T>{1, 1});
    const xt::xarray<T> z = standardizer.transform(train);
    CHECK(z == xt::xarray<T>{{-1, 0}, {1, 0}, {-1, 0}, {1, 0}});
    // Test data uses the training numbers, not its own.
    const xt::xarray<T> test = {{6, 7}};
    CHECK(standardizer.transform(test) == xt::xarray<T>{{4, 2}});

    CHECK_THROWS_AS(Standardizer<T>::fit(xt::xarray<T>{1, 2, 3}), ShapeError);
    CHECK_THROWS_WITH_AS(standardizer.transform(xt::xarray<T>{{1, 2, 3}}), doctest::Contains("2 columns"),
                         ShapeError);
}
