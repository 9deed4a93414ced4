// The two ways xtape-gradcheck refuses to go on, and the exit statuses they map to.
#pragma once

#include <stdexcept>

namespace xtape::tool {

/// Exit status when every check passed, when some failed, for a usage error,
/// and for data the loss rejects or a file the tool cannot read or write.
inline constexpr int exit_passed = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_data = 3;

/// A command line the tool cannot act on: an unknown loss, option or input, a
/// malformed value. main() prints the message and the usage help, exits 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Data the loss rejects, or a file that cannot be read or written. main()
/// prints the one-line message, which names the loss or the file, and exits 3.
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace xtape::tool
