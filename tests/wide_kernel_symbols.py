#!/usr/bin/env python3
"""Checks that the kernels compiled for a wide instruction set export nothing
but their own instruction set's code.

Usage: wide_kernel_symbols.py XSIMD_ARCH=LIBRARY...

kernels/math_for_arch.cpp is compiled with -mavx2 or -mavx512*. Any inline
function or template it instantiates that is not specific to that instruction
set (std::copy_n, say) is a weak symbol that the linker may keep for every
caller in the library, and then the SSE2 path would run AVX-512 code on a CPU
without it. So every external code symbol of those objects must name the
xsimd architecture (e.g. 'xsimd::avx512bw'). Data symbols (the tables of an
inline function's static locals, such as xsimd's argument reduction for sin)
are the same bytes whatever the instruction set, and are not code to run.
"""
import subprocess
import sys

# nm's letters for code: text, weak text, and GNU indirect functions.
CODE = {"T", "W", "i"}


def foreign_symbols(arch, library):
    listing = subprocess.run(["nm", "-C", "--defined-only", "--extern-only", library],
                             check=True, capture_output=True, text=True).stdout
    for line in listing.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) != 3:
            continue  # an archive member's header, or a blank line
        kind, name = parts[1], parts[2]
        if kind in CODE and arch not in name:
            yield name


def main():
    failures = 0
    for pair in sys.argv[1:]:
        arch, library = pair.split("=", 1)
        for name in foreign_symbols(arch, library):
            print(f"{library}: {name} is not specific to {arch}")
            failures += 1
    print(f"{failures} symbols outside their instruction set")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
