// Fuzz target: xtape-gradcheck's option parsing and `eval` path on arbitrary
// command lines and .npy files.
//
// Input format: the first line is the command line, words separated by spaces;
// the rest is split at each "\n--\n" into up to four files 0.npy ... 3.npy that
// the command line may name (--in pred=0.npy). Everything happens in a private
// temporary directory: words lose '/' and "..", so no path leaves it.
// `check` runs the whole gradient grid (seconds per input), so any subcommand
// other than eval, list or help becomes an `eval`.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "command_line.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view file_separator = "\n--\n";
constexpr std::size_t max_files = 4;

// A word that cannot name a path outside the working directory.
std::string confined(std::string word) {
    for (char& c : word) {
        if (c == '/') c = '_';
    }
    for (std::size_t at = word.find(".."); at != std::string::npos; at = word.find("..")) word.replace(at, 2, "__");
    return word;
}

std::vector<std::string> words_of(std::string_view line) {
    std::vector<std::string> words;
    std::istringstream in{std::string(line)};
    for (std::string word; in >> word;) words.push_back(confined(word));
    const bool allowed = !words.empty() && (words[0] == "eval" || words[0] == "list" || words[0] == "-h" ||
                                            words[0] == "--help");
    if (!allowed) words.insert(words.begin(), "eval");
    return words;
}

// Every input runs in a fresh, empty directory under this one.
fs::path sandbox_root() {
    static const fs::path root = [] {
        std::string pattern = (fs::temp_directory_path() / "xtape-fuzz-cli-XXXXXX").string();
        if (!mkdtemp(pattern.data())) std::abort();
        return fs::path(pattern);
    }();
    return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t line_end = std::min(input.find('\n'), input.size());
    const std::vector<std::string> words = words_of(input.substr(0, line_end));

    const fs::path work = sandbox_root() / "run";
    fs::remove_all(work);
    fs::create_directories(work);
    std::string_view rest = input.substr(std::min(line_end + 1, input.size()));
    for (std::size_t k = 0; k < max_files && !rest.empty(); ++k) {
        const std::size_t end = std::min(rest.find(file_separator), rest.size());
        std::ofstream(work / (std::to_string(k) + ".npy"), std::ios::binary)
            .write(rest.data(), static_cast<std::streamsize>(end));
        rest = rest.substr(std::min(end + file_separator.size(), rest.size()));
    }

    const fs::path previous = fs::current_path();
    fs::current_path(work);
    // The tool's messages are not the point; its exit status must be one it documents.
    std::ostringstream discarded_out, discarded_err;
    auto* out = std::cout.rdbuf(discarded_out.rdbuf());
    auto* err = std::cerr.rdbuf(discarded_err.rdbuf());
    const int status = xtape::tool::run_command_line(words);
    std::cout.rdbuf(out);
    std::cerr.rdbuf(err);
    fs::current_path(previous);
    if (status < 0 || status > 3) __builtin_trap();
    return 0;
}
