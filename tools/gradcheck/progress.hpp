// A one-line progress indicator on stderr, shown only when stderr is a terminal.
#pragma once

#include <cstddef>
#include <string>

namespace xtape::tool {

/// "[ 12/180] SoftmaxCrossEntropyLoss (3, 4) seed=0", rewritten in place; the
/// line is erased when the indicator goes away. Silent when stderr is not a
/// terminal, so that logs and pipes see only the report.
class Progress {
public:
    explicit Progress(std::size_t total);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    /// Announces the next step.
    void step(const std::string& label);

private:
    std::size_t total_;
    std::size_t done_ = 0;
    bool enabled_;
};

}  // namespace xtape::tool
