#!/usr/bin/env python3
"""Runs an example that must fail cleanly: exit status 1 and one line on stderr.

usage: expect_error.py EXPECTED_TEXT COMMAND [ARG]...
Exits 0 when COMMAND exits with status 1 (not a signal, not an abort) and its
stderr is one line starting with "error: " and containing EXPECTED_TEXT.
"""
import subprocess
import sys

expected, command = sys.argv[1], sys.argv[2:]
result = subprocess.run(command, capture_output=True, text=True, timeout=60)
lines = result.stderr.splitlines()
problems = []
if result.returncode != 1:
    problems.append(f"exit status {result.returncode}, expected 1")
if len(lines) != 1 or not lines[0].startswith("error: ") or expected not in lines[0]:
    problems.append(f"stderr {result.stderr!r}, expected one line 'error: ...{expected}...'")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
