// xtape-gradcheck's whole command line as a function, for main() and for the fuzzer.
#pragma once

#include <string>
#include <vector>

namespace xtape::tool {

/// Parses `arguments` (argv without the program name; `check` is the default
/// subcommand), runs the subcommand and returns the exit status (tool_errors.hpp).
/// Every error ends as a message on stderr and a status, never as an exception.
int run_command_line(const std::vector<std::string>& arguments);

}  // namespace xtape::tool
