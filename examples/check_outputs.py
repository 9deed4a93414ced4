#!/usr/bin/env python3
"""Checks what an example trainer writes besides its lines.

usage: check_outputs.py plot EXAMPLE [ARG]...
    Runs EXAMPLE ARG... --log L --plot P and checks that P parses as SVG with
    one path per curve (training loss and validation metric for each stage of
    the log), each through as many points as the stage had epochs, and that L
    holds one JSON record per epoch with the loss, the validation metric, the
    learning rate and the seconds.

usage: check_outputs.py resume EPOCH EXAMPLE [ARG]...
    Runs EXAMPLE ARG... through, then again stopped after EPOCH (--save,
    --stop-after) and resumed (--resume): the records of every epoch (all but
    the seconds) and the result line must be the same both ways.

usage: check_outputs.py result NAME>=VALUE EXAMPLE [ARG]...
       check_outputs.py result NAME<=VALUE EXAMPLE [ARG]...
    Runs EXAMPLE ARG... (which must exit 0: its training loss went down) and
    checks that its line "result: NAME=X" meets the target: X >= VALUE, or X <= VALUE.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree


def run(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def records(path):
    with open(path) as log:
        return [json.loads(line) for line in log]


def check_plot(command, work):
    log, plot = os.path.join(work, "log.jsonl"), os.path.join(work, "curves.svg")
    run(command + ["--log", log, "--plot", plot])
    entries = records(log)
    epochs_by_stage = {}
    for entry in entries:
        metrics = [key for key in entry if key.startswith("val_")]
        for key in ["epoch", "train_loss", "learning_rate", "seconds"]:
            if key not in entry:
                sys.exit(f"log record {entry} has no {key}")
        if len(metrics) != 1:
            sys.exit(f"log record {entry} has not one validation metric")
        stage = entry.get("stage", "")
        epochs_by_stage[stage] = epochs_by_stage.get(stage, 0) + 1
    svg = ElementTree.parse(plot).getroot()
    paths = svg.findall("{http://www.w3.org/2000/svg}path")
    want = 2 * len(epochs_by_stage)
    if len(paths) != want:
        sys.exit(f"{plot} holds {len(paths)} paths, want {want} (two curves for each of {list(epochs_by_stage)})")
    points = sorted(path.get("d").count(",") for path in paths)
    want_points = sorted(list(epochs_by_stage.values()) * 2)
    if points != want_points:
        sys.exit(f"{plot}: the paths have {points} points, want {want_points}")
    print(f"plot: {len(paths)} paths over {want_points} epochs; log: {len(entries)} records")


def without_seconds(entries):
    return [{key: value for key, value in entry.items() if key != "seconds"} for entry in entries]


def result_line(output):
    return [line for line in output.splitlines() if line.startswith("result: ")]


def check_resume(stop_after, command, work):
    whole, parts, checkpoint = (os.path.join(work, name) for name in ["whole.jsonl", "parts.jsonl", "checkpoint"])
    straight = run(command + ["--log", whole])
    stopped = run(command + ["--log", parts, "--save", checkpoint, "--stop-after", stop_after])
    if "result: " in stopped:
        sys.exit("the run stopped early printed a result")
    resumed = run(command + ["--log", parts, "--resume", checkpoint, "--save", checkpoint])
    if without_seconds(records(whole)) != without_seconds(records(parts)):
        sys.exit(f"the resumed run's records differ:\n{records(whole)}\n{records(parts)}")
    if result_line(straight) != result_line(resumed) or not result_line(straight):
        sys.exit(f"results differ: {result_line(straight)} and {result_line(resumed)}")
    print(f"resumed after epoch {stop_after}: {len(records(whole))} records and {result_line(resumed)[0]} as straight")


def check_result(target, command):
    match = re.fullmatch(r"(\w+)(>=|<=)([-+.\deE]+)", target)
    if not match:
        sys.exit(f"target {target!r} is not NAME>=VALUE or NAME<=VALUE")
    name, comparison, bound = match.group(1), match.group(2), float(match.group(3))
    lines = result_line(run(command))
    if len(lines) != 1:
        sys.exit(f"{' '.join(command)} printed {len(lines)} result lines, want one")
    printed_name, _, value = lines[0].removeprefix("result: ").partition("=")
    if printed_name != name:
        sys.exit(f"{lines[0]} names {printed_name}, want {name}")
    met = float(value) >= bound if comparison == ">=" else float(value) <= bound
    if not met:
        sys.exit(f"{lines[0]} misses the target {target}")
    print(f"{lines[0]} meets the target {target}")


def main():
    with tempfile.TemporaryDirectory() as work:
        if sys.argv[1] == "plot":
            check_plot(sys.argv[2:], work)
        elif sys.argv[1] == "result":
            check_result(sys.argv[2], sys.argv[3:])
        else:
            check_resume(sys.argv[2], sys.argv[3:], work)


if __name__ == "__main__":
    main()
