#!/usr/bin/env python3
"""Runs an example trainer alone and under mpirun; both must tell the same story.

usage: compare_trainers.py RANKS MPIRUN [MPIRUN_ARG]... -- TRAINER [ARG]...
Exits 0 when both runs exit 0, print the same number of lines (only rank 0
prints), each one 'result: NAME=VALUE' line with values within 0.01, and final
epoch losses within 1e-3 relative (every rank's share of the loss counted).
"""
import re
import subprocess
import sys

ranks = sys.argv[1]
split = sys.argv.index("--")
mpirun, trainer = sys.argv[2:split], sys.argv[split + 1:]


def run(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {result.returncode}: {result.stderr}")
    return result.stdout


def read(output, pattern, what):
    found = re.findall(pattern, output, re.MULTILINE)
    if len(found) != 1:
        sys.exit(f"expected one {what} line, found {len(found)} in:\n{output}")
    return float(found[0])


alone = run(trainer)
distributed = run(mpirun + ["-n", ranks] + trainer)
problems = []
if len(alone.splitlines()) != len(distributed.splitlines()):
    problems.append(f"{len(distributed.splitlines())} lines under mpirun, {len(alone.splitlines())} alone")
results = [read(out, r"^result: \w+=(\S+)$", "result") for out in (alone, distributed)]
losses = [read(out, r"^loss: first=\S+ last=(\S+)$", "loss") for out in (alone, distributed)]
print(f"alone: result {results[0]} last loss {losses[0]}; {ranks} ranks: result {results[1]} last loss {losses[1]}")
if abs(results[0] - results[1]) > 0.01:
    problems.append("results differ by more than 0.01")
if abs(losses[0] - losses[1]) > 1e-3 * abs(losses[0]):
    problems.append("last epoch losses differ by more than 1e-3 relative")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
