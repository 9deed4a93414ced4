// A one-line progress indicator on stderr, shown only when stderr is a terminal.
#include "progress.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace xtape::tool {

Progress::Progress(std::size_t total) : total_(total), enabled_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
    // "\r\033[K": back to the start of the line and erase it.
    if (enabled_) fmt::print(stderr, "\r\033[K");
}

void Progress::step(const std::string& label) {
    ++done_;
    if (!enabled_) return;
    const int digits = static_cast<int>(fmt::formatted_size("{}", total_));
    // Keep the line shorter than a narrow terminal so that it never wraps.
    fmt::print(stderr, "\r\033[K[{:>{}}/{}] {:.60}", done_, digits, total_, label);
    std::fflush(stderr);
}

}  // namespace xtape::tool
