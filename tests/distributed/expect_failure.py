#!/usr/bin/env python3
"""Runs a command that must fail on every rank without hanging.

usage: expect_failure.py EXPECTED_TEXT COMMAND [ARG]...
Exits 0 when COMMAND ends within 60 s with a non-zero status and its stderr
contains EXPECTED_TEXT. Under mpirun, its exit means every rank has ended.
"""
import subprocess
import sys

expected, command = sys.argv[1], sys.argv[2:]
try:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
except subprocess.TimeoutExpired as timeout:
    print(f"hung: no exit after {timeout.timeout} s; stderr so far: {timeout.stderr!r}")
    sys.exit(1)
problems = []
if result.returncode == 0:
    problems.append("exit status 0, expected a failure")
if expected not in result.stderr:
    problems.append(f"stderr {result.stderr!r} lacks {expected!r}")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
