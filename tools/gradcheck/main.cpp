// xtape-gradcheck: the program; the command line itself is in command_line.cpp.
#include "command_line.hpp"

int main(int argc, char** argv) {
    return xtape::tool::run_command_line({argv + 1, argv + argc});
}
