#!/usr/bin/env python3
"""Runs xtape-gradcheck as a user would and checks exit statuses, messages and files.

usage: run_cli_tests.py CASE XTAPE_GRADCHECK XTAPE_EVAL_REFERENCE
CASE is one of the functions in CASES below. Exits 0 when the case passes.
"""
import json
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile

TOOL = None
REFERENCE = None
failures = []


def expect(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    result = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=110)
    return result.returncode, result.stdout, result.stderr


def npy_bytes(header, data):
    """A version 1.0 .npy file with this header dictionary text and these data bytes."""
    text = header
    while (10 + len(text) + 1) % 64:
        text += " "
    text += "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + data


def write(path, content):
    with open(path, "wb") as f:
        f.write(content)
    return path


def float64_file(path, shape, values, fortran_order=False):
    """values in the file's own order: row-major, or column-major with fortran_order."""
    shape_text = "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")" if len(shape) != 1 else f"({shape[0]},)"
    header = f"{{'descr': '<f8', 'fortran_order': {fortran_order}, 'shape': {shape_text}, }}"
    return write(path, npy_bytes(header, struct.pack(f"<{len(values)}d", *values)))


def npy_values(path):
    """The elements of a little-endian float32/float64 .npy file in C order, as Python floats."""
    data = open(path, "rb").read()
    length = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + length].decode()
    kind = re.search(r"'descr': '<(f[48])'", header).group(1)
    body = data[10 + length:]
    return list(struct.unpack(f"<{len(body) // int(kind[1])}{'f' if kind == 'f4' else 'd'}", body))


def loss_names():
    status, out, _ = run("list")
    return re.findall(r"^(\w+)(?: \(alias [^)]*\))?: ", out, re.M)


def tables(out):
    """The gradient table's rows, the Taylor table's rows and the last line of a check's output."""
    lines = out.strip().splitlines()
    gradient, taylor = out.strip().split("\n\n")
    gradient_lines, taylor_lines = gradient.splitlines(), taylor.splitlines()
    return gradient_lines, taylor_lines[:-1], lines[-1]


def default_check():
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    status, out, err = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"default check: {seconds:.1f} s of CPU time")
    gradient, taylor, last = tables(out)
    expect(status == 0, f"the default check exits 0, not {status}; failures:\n" +
           "\n".join(l for l in gradient + taylor if "FAILED" in l))
    expect(re.fullmatch(r"[1-9]\d* passed, 0 failed", last) is not None, f"last line: {last!r}")
    header = gradient[0].split()
    expect(header[:4] == ["loss", "order", "configuration", "inputs"] and header[-1] == "status",
           f"table header: {gradient[0]!r}")
    expect(taylor[0].startswith("Taylor test") and "R1 rate (>= 1.9)" in taylor[0] and "R2" not in taylor[0],
           f"Taylor header (first order: its steps are chosen for R1): {taylor[0]!r}")
    rows, taylor_rows = gradient[1:], taylor[1:]
    expect(int(last.split()[0]) == len(rows) + len(taylor_rows), "one row per check")
    cells = [re.split(r"\s{2,}", r) for r in rows]
    for name in loss_names():
        configurations = {order: [c[2] for c in cells if c[0] == name and c[1] == order] for order in ("1", "2")}
        expect(configurations["1"] != [] and configurations["1"] == configurations["2"],
               f"{name}: the same configurations at orders 1 and 2: {configurations}")
        expect(sum(r.startswith(name + " ") for r in taylor_rows) == 1, f"{name} has one Taylor test")
    expect({c[1] for c in cells} == {"1", "2"}, "the order column holds orders 1 and 2")
    for r in taylor_rows:
        c = re.split(r"\s{2,}", r)
        expect(c[-1] == "ok" and float(c[-3]) == 1.0 and float(c[-2]) >= 1.9, f"R0 falls at rate 1, R1 at 1.9 or more: {r!r}")
    expect(err == "", f"nothing on stderr when it is not a terminal: {err!r}")
    expect(seconds < 30, f"the default check takes {seconds:.1f} s of CPU time, over 30 s")
    # With no tolerance at all, rounding alone fails every check: the check can fail, and says so.
    # (L1's gradient is constant near the sampled points: its Hessian-vector products are 0 exactly.)
    status, out, _ = run("check", "L1Loss", "--order", "1", "--atol", "0", "--rtol", "0")
    gradient, taylor, last = tables(out)
    expect(status == 1, f"failed checks exit 1, not {status}")
    expect(re.fullmatch(r"1 passed, [1-9]\d* failed", last) is not None, f"last line (the Taylor test passes): {last!r}")
    expect(len(gradient) > 1 and all(re.split(r"\s{2,}", l)[1] == "1" and "FAILED: gradient of" in l
                                     for l in gradient[1:]), "every row is of order 1 and says which gradient failed")


def second_order():
    losses = ["L2Loss", "SoftmaxCELoss", "HuberLoss", "SigmoidBCELoss", "CTCLoss", "CosineEmbeddingLoss"]
    status, out, err = run("check", *losses, "--order", "2")
    gradient, taylor, last = tables(out)
    expect(status == 0, f"--order 2 exits 0, not {status}: {err!r}; failures:\n" +
           "\n".join(l for l in gradient + taylor if "FAILED" in l))
    rows = [re.split(r"\s{2,}", r) for r in gradient[1:]]
    expect(len(rows) > len(losses) and all(r[1] == "2" and r[-1] == "ok" for r in rows),
           f"every row is a passing check of order 2: {gradient}")
    expect(last == f"{len(rows) + len(losses)} passed, 0 failed", f"last line: {last!r}")
    # --order 1 checks the same configurations, at order 1 only.
    status, out, _ = run("check", *losses, "--order", "1")
    first = tables(out)[0]
    expect(status == 0 and [r[0] + r[2] for r in rows] ==
           [c[0] + c[2] for c in (re.split(r"\s{2,}", r) for r in first[1:]) if c[1] == "1"] and
           len(first) == len(gradient), "--order 1: the same configurations at order 1")
    # The JSON document: the order of every check, H v's elements compared, no float comparison.
    status, out, _ = run("check", "HuberLoss", "--order", "2", "--json")
    document = json.loads(out)
    expect(status == 0 and document["settings"]["orders"] == [2], f"--order 2 in the settings: {document['settings']}")
    for c in document["checks"]:
        expect(c["order"] == 2 and c["status"] == "passed" and c["gradient"]["checked"] > 0 and
               c["float_vs_double"] is None, f"an order-2 check: {c}")
    # With tolerances below the central differences' error (~1e-9 here) but above the ulps by which the
    # create_graph gradient may differ from the first-order one, every Hessian-vector product fails:
    # order 2 can fail, and says which element.
    status, out, _ = run("check", "SoftmaxCELoss", "--order", "2", "--atol", "1e-13", "--rtol", "1e-12")
    gradient, _, last = tables(out)
    expect(status == 1 and re.fullmatch(r"1 passed, [1-9]\d* failed", last) is not None,
           f"failed Hessian-vector products exit 1: {status} {last!r}")
    expect(len(gradient) > 1 and all(re.search(r"FAILED: Hessian-vector product of \w+\[\d+\]: analytic", l)
                                     for l in gradient[1:]),
           f"every row names the element of H v that failed: {gradient}")


def json_output():
    status, out, _ = run("--json")
    document = json.loads(out)
    checks, taylor = document["checks"], document["taylor"]
    expect(status == 0, "--json exits 0")
    expect(document["failed"] == 0 and document["passed"] == len(checks) + len(taylor) > 0, "counts match the checks")
    for c in checks:
        expect(c["status"] == "passed" and c["gradient"]["checked"] > 0, f"check passed: {c['loss']} {c['configuration']}")
        expect(c["order"] == 2 and c["float_vs_double"] is None or c["order"] == 1 and c["float_vs_double"]["passed"],
               f"float agrees with double at order 1 (and is not compared at order 2): {c}")
        expect(c["gradient"]["max_abs_error"] <= 1e-5 + 1e-3, f"error within tolerance: {c}")
        expect(c["gradient"]["worst_tolerance_ratio"] <= 1, f"the worst element is within its tolerance: {c}")
    expect({c["loss"] for c in checks} == set(loss_names()), "every loss is in the document")
    expect(document["settings"]["orders"] == [1, 2], f"orders 1 and 2: {document['settings']}")
    at_order = {order: [(c["loss"], c["configuration"]) for c in checks if c["order"] == order] for order in (1, 2)}
    expect(at_order[1] and sorted(at_order[1]) == sorted(at_order[2]) and len(checks) == 2 * len(at_order[1]),
           "every configuration at orders 1 and 2")
    expect(sorted(t["loss"] for t in taylor) == sorted(loss_names()), "one Taylor test per loss")
    for t in taylor:
        r0, r1 = t["series"]
        expect(t["status"] == "passed" and len(t["eps"]) == len(r1["residuals"]) == 6, f"Taylor test: {t}")
        expect(all(abs(rate - 1) < 0.05 for rate in r0["rates"]) and min(r1["rates"]) >= 1.9, f"rates of {t['loss']}")
        expect(len(t["central_differences"]) > 10, "the central differences along h are in the document")
    # The JSON document holds exactly the checks that the table shows.
    status, table, _ = run("L2Loss", "SoftmaxCELoss")
    status, out, _ = run("check", "l2loss", "softmaxceloss", "--json")
    rows = tables(table)[0][1:]
    document = json.loads(out)
    expect([(c["loss"], str(c["order"]), c["configuration"]) for c in document["checks"]] ==
           [tuple(re.split(r"\s{2,}", r)[:3]) for r in rows], "the JSON and the table list the same checks")


def eval_matches_in_process():
    cases = [
        ("L2Loss", "3,4", []),
        ("SoftmaxCELoss", "2,3,4", []),
        ("SoftmaxCELoss", "3,4", ["sparse_label=false", "weight=0.5"]),
        ("SigmoidBCELoss", "3,4", []),
        ("CosineEmbeddingLoss", "3,4", ["margin=0.2"]),
        ("HuberLoss", "2,3,4", ["rho=0.5", "batch_axis=1"]),
    ]
    for loss, shape, options in cases:
        for dtype in ("float64", "float32"):
            with tempfile.TemporaryDirectory() as d:
                subprocess.run([REFERENCE, loss, dtype, shape, "7", d, *options], check=True)
                inputs = sorted(f for f in os.listdir(d) if f.startswith("in_"))
                args = ["eval", loss, "--dtype", dtype, "--out", os.path.join(d, "actual")]
                for o in options:
                    args += ["--opt", o]
                for f in inputs:
                    args += ["--in", f"{f[3:-4]}={os.path.join(d, f)}"]
                status, out, err = run(*args)
                expect(status == 0, f"eval {loss} {dtype} exits 0: {err}")
                expected = sorted(os.listdir(os.path.join(d, "expected")))
                actual = sorted(os.listdir(os.path.join(d, "actual"))) if status == 0 else []
                # One line: the files written, then the sum of the loss.
                match = re.fullmatch(r"wrote (.*); sum of the loss (\S+)\n", out)
                expect(match is not None, f"eval {loss} prints one line with the files and the sum: {out!r}")
                if match and status == 0:
                    written = match.group(1).split(", ")
                    expect(sorted(os.path.basename(w) for w in written) == actual and
                           all(os.path.isfile(w) for w in written), f"the line names the files written: {written}")
                    total = sum(npy_values(os.path.join(d, "actual", "loss.npy")))
                    expect(abs(float(match.group(2)) - total) <= 1e-12 * max(1.0, abs(total)),
                           f"the sum {match.group(2)} is the sum of loss.npy, {total}")
                expect(expected == actual, f"eval {loss} writes {expected}, not {actual}")
                for f in set(expected) & set(actual):
                    with open(os.path.join(d, "expected", f), "rb") as a, open(os.path.join(d, "actual", f), "rb") as b:
                        expect(a.read() == b.read(), f"eval {loss} {dtype} {options}: {f} is bit for bit the in-process result")


def eval_hvp():
    """eval --hvp: H v against closed forms and against central differences of eval's own gradients."""
    with tempfile.TemporaryDirectory() as d:
        def file(name, shape, values):
            return float64_file(os.path.join(d, name + ".npy"), shape, values)

        def evaluate(loss, files, directions=(), options=(), dtype="float64"):
            """{name: values} of the files eval writes, or None when it fails."""
            out = os.path.join(d, "out")
            if os.path.isdir(out):
                for f in os.listdir(out):
                    os.remove(os.path.join(out, f))
            args = ["eval", loss, "--dtype", dtype, "--out", out]
            for o in options:
                args += ["--opt", o]
            for name, path in files.items():
                args += ["--in", f"{name}={path}"]
            for name, path in directions:
                args += ["--hvp", f"{name}={path}"]
            status, stdout, err = run(*args)
            expect(status == 0, f"eval {args} exits 0: {err!r}")
            if status != 0:
                return None
            written = re.fullmatch(r"wrote (.*); sum of the loss \S+\n", stdout).group(1).split(", ")
            expect(sorted(written) == sorted(os.path.join(out, f) for f in os.listdir(out)),
                   f"the line names every file written: {written}")
            return {os.path.basename(f)[:-4]: npy_values(f) for f in written}

        def close(a, b, atol, rtol):
            return len(a) == len(b) and all(abs(x - y) <= atol + rtol * abs(y) for x, y in zip(a, b))

        # L2Loss, mean over each row of (label - pred)² / 2: for (3, 4) arrays the Hessian in (pred, label)
        # is [[I, -I], [-I, I]] / 4, times the weight.
        pred_values = [0.3 * i - 1.1 for i in range(12)]
        label_values = [0.05 * i * i - 0.7 for i in range(12)]
        v_values = [((5 * i) % 7) - 3.0 for i in range(12)]
        u_values = [0.25 * (i % 5) for i in range(12)]
        l2 = {"pred": file("pred", (3, 4), pred_values), "label": file("label", (3, 4), label_values)}
        v, u = file("v", (3, 4), v_values), file("u", (3, 4), u_values)
        got = evaluate("L2Loss", l2, [("pred", v)])
        expect(got is not None and set(got) == {"loss", "grad_pred", "grad_label", "hvp_pred", "hvp_label"},
               f"hvp_NAME.npy for every differentiable input: {got and sorted(got)}")
        if got:
            expect(got["hvp_pred"] == [x / 4 for x in v_values] and got["hvp_label"] == [-x / 4 for x in v_values],
                   f"L2: H v = (v, -v) / 4 when only pred has a direction: {got['hvp_pred']}, {got['hvp_label']}")
        got = evaluate("L2Loss", l2, [("pred", v), ("label", u)], options=["weight=3"])
        if got:
            expected = [3 * (a - b) / 4 for a, b in zip(v_values, u_values)]
            expect(close(got["hvp_pred"], expected, 1e-15, 1e-15) and
                   close(got["hvp_label"], [-e for e in expected], 1e-15, 1e-15),
                   f"L2, weight 3, both directions: H v = 3 (v - u, u - v) / 4: {got['hvp_pred']}")

        # Nonlinear losses: (grad(x + eps v) - grad(x - eps v)) / 2 eps = H v + O(eps²). With eps = 1e-5 the
        # truncation is ~1e-10 |third derivative| and rounding ~1e-16 / 1e-5 = 1e-11; a wrong product is off by
        # O(|H v|) ~ 0.1. Every differentiable input moves along its block of v at once.
        logits = [0.4 * ((3 * i) % 8) - 1.3 for i in range(12)]
        probabilities = [0.02 + 0.9 * ((i * 7) % 10) / 10 for i in range(12)]
        cases = [
            ("SoftmaxCELoss", ["sparse_label=false"], {"pred": ((3, 4), logits), "label": ((3, 4), probabilities)},
             {"pred": v_values, "label": u_values}),
            ("SigmoidBCELoss", [], {"pred": ((3, 4), logits), "label": ((3, 4), probabilities)}, {"pred": v_values}),
            ("CosineEmbeddingLoss", [], {"input1": ((3, 4), logits), "input2": ((3, 4), pred_values),
                                         "label": ((3,), [1.0, -1.0, 1.0])}, {"input2": u_values}),
        ]
        eps = 1e-5
        for loss, options, inputs, directions in cases:
            files = {name: file(loss + name, shape, values) for name, (shape, values) in inputs.items()}
            dirs = [(name, file(loss + "v_" + name, inputs[name][0], values)) for name, values in directions.items()]
            got = evaluate(loss, files, dirs, options)
            shifted = {}
            for sign in (1, -1):
                moved = dict(files)
                for name, values in directions.items():
                    moved[name] = file(f"{loss}{name}_{sign}", inputs[name][0],
                                       [x + sign * eps * y for x, y in zip(inputs[name][1], values)])
                shifted[sign] = evaluate(loss, moved, options=options)
            if not (got and shifted[1] and shifted[-1]):
                continue
            products = sorted(k for k in got if k.startswith("hvp_"))
            expect(products == sorted("hvp_" + k[5:] for k in got if k.startswith("grad_")),
                   f"{loss}: an hvp file for every differentiable input: {products}")
            for key in products:
                grad = "grad_" + key[4:]
                numeric = [(a - b) / (2 * eps) for a, b in zip(shifted[1][grad], shifted[-1][grad])]
                expect(close(got[key], numeric, 1e-8, 1e-6) and max(abs(x) for x in numeric) > 1e-3,
                       f"{loss} {options}: {key} {got[key]} is the central difference of {grad}, {numeric}")
            # float32 agrees with double to float's rounding.
            single = evaluate(loss, files, dirs, options, dtype="float32")
            for key in products:
                expect(single and close(single[key], got[key], 1e-5, 1e-4),
                       f"{loss}: float32 {key} agrees with float64: {single and single[key]} vs {got[key]}")

        # Bad directions: a shape that differs (exit 3, naming the input), an unknown input, one the loss does
        # not differentiate, one not given with --in (exit 2), a file that cannot be read (exit 3).
        short = file("short", (2, 4), [1.0] * 8)
        out = os.path.join(d, "bad")
        l2_args = ["eval", "L2Loss", "--in", f"pred={l2['pred']}", "--in", f"label={l2['label']}", "--out", out]
        status, stdout, err = run(*l2_args, "--hvp", f"label={short}")
        expect(status == 3 and err.count("\n") == 1 and "'label'" in err and "(2, 4)" in err and "(3, 4)" in err,
               f"a direction of the wrong shape exits 3 naming the input and both shapes: {status} {err!r}")
        expect(not os.path.exists(out), "nothing is written when a direction is refused")
        ctc = file("ctc_pred", (2, 5, 4), [0.1 * ((7 * i) % 11) for i in range(40)])
        ctc_label = file("ctc_label", (2, 2), [0.0, 1.0, 2.0, 2.0])
        for args, named in [
            (l2_args + ["--hvp", f"bogus={v}"], "bogus"),
            (l2_args + ["--hvp", f"pred={v}", "--hvp", f"pred={u}"], "twice"),
            (["eval", "CTCLoss", "--in", f"pred={ctc}", "--in", f"label={ctc_label}", "--hvp", f"label={ctc_label}",
              "--out", out], "does not differentiate its input 'label'"),
            (["eval", "L2Loss", "--in", f"pred={l2['pred']}", "--hvp", f"label={v}", "--out", out],
             "input 'label' is not given with --in"),
        ]:
            status, _, err = run(*args)
            expect(status == 2 and named in err and "--hvp" in err, f"{args} exits 2 naming {named!r}: {status} {err!r}")
        status, _, err = run(*l2_args, "--hvp", f"pred={os.path.join(d, 'missing.npy')}")
        expect(status == 3 and err.count("\n") == 1 and "missing.npy" in err, f"an unreadable direction: {err!r}")


def fortran_order():
    # MXNet's CTC test with label_layout='TN' saves a transposed label: np.save(path, label.T) writes
    # label's bytes with the shape reversed and fortran_order True. Read as NumPy reads it, it gives
    # the same loss as the (N, L) label in the NT layout.
    with tempfile.TemporaryDirectory() as d:
        n, t, c, l = 2, 5, 4, 2
        pred = float64_file(os.path.join(d, "pred.npy"), (n, t, c), [0.1 * ((7 * i) % 11) for i in range(n * t * c)])
        label = [0.0, 1.0, 2.0, 2.0]  # (N, L) row-major: [[0, 1], [2, 2]]
        label_nt = float64_file(os.path.join(d, "label_nt.npy"), (n, l), label)
        label_tn = float64_file(os.path.join(d, "label_tn.npy"), (l, n), label, fortran_order=True)
        results = {}
        for layout, file in (("NT", label_nt), ("TN", label_tn)):
            out = os.path.join(d, layout)
            status, _, err = run("eval", "CTCLoss", "--opt", f"label_layout={layout}", "--in", f"pred={pred}",
                                 "--in", f"label={file}", "--out", out)
            expect(status == 0, f"eval with the {layout} label exits 0: {err!r}")
            results[layout] = open(os.path.join(out, "loss.npy"), "rb").read() if status == 0 else None
        expect(results["NT"] is not None and results["NT"] == results["TN"],
               "the Fortran-order (L, N) label gives the loss of the C-order (N, L) one")


def error_paths():
    with tempfile.TemporaryDirectory() as d:
        pred = float64_file(os.path.join(d, "pred.npy"), (3, 4), [0.1 * i for i in range(12)])
        label = float64_file(os.path.join(d, "label.npy"), (3, 4), [0.2 * i for i in range(12)])
        short_label = float64_file(os.path.join(d, "short.npy"), (5,), [1.0] * 5)
        classes = float64_file(os.path.join(d, "classes.npy"), (3,), [0.0, 99.0, 1.0])
        out = os.path.join(d, "out")
        usage = [
            ["frobnicate"],
            ["check", "--bogus"],
            ["check", "NoSuchLoss"],
            ["check", "L2Loss", "--opt", "weight=abc"],
            ["check", "L2Loss", "--opt", "nonsense=1"],
            ["check", "L2Loss", "--opt", "noequals"],
            ["check", "SoftmaxCELoss", "--opt", "sparse_label=maybe"],
            ["eval", "HuberLoss", "--opt", "rho=-1", "--in", f"pred={pred}", "--in", f"label={label}", "--out", out],
            ["check", "--shape", "4,x"],
            ["check", "--shape", "0,3"],
            ["check", "--seed", "abc"],
            ["check", "--dtype", "float16"],
            ["check", "--eps", "-1"],
            ["eval", "L2Loss", "--out", out],
            ["eval", "L2Loss", "--in", f"bogus={pred}", "--out", out],
            ["eval", "L2Loss", "--in", pred, "--out", out],
            ["eval", "--in", f"pred={pred}", "--out", out],
            ["graph", "L2Loss"],
            ["graph", "NoSuchLoss", "--out", os.path.join(d, "g.dot")],
            ["list", "extra"],
            # An option value the loss rejects for the configuration is a usage error, not a failed gradient.
            ["check", "SoftmaxCELoss", "--opt", "axis=3"],
            ["taylor", "SoftmaxCELoss", "--opt", "axis=3"],
            ["check", "L2Loss", "SoftmaxCELoss", "--in", f"pred={pred}"],
            ["check", "L2Loss", "--in", f"pred={pred}", "--shape", "2,6"],
            ["taylor", "NoSuchLoss"],
            ["taylor", "--steps", "2"],
            ["taylor", "HuberLoss", "--opt", "rho=-1"],
            ["check", "L2Loss", "--order", "3"],
            ["check", "L2Loss", "--order", "2", "--dtype", "float32"],
        ]
        for args in usage:
            status, stdout, err = run(*args)
            expect(status == 2, f"{args} exits 2, not {status}")
            expect("Usage" in err or "usage" in err, f"{args} prints usage help on stderr: {err!r}")
        expect("frobnicate" in run("frobnicate")[2], "the unknown word is named")
        expect("NoSuchLoss" in run("check", "NoSuchLoss")[2], "the unknown loss is named")
        expect("nonsense" in run("check", "L2Loss", "--opt", "nonsense=1")[2], "the unknown option is named")
        expect("HuberLoss" in run("check", "HuberLoss", "--opt", "rho=-1")[2], "an option value the loss refuses")
        err = run("check", "SoftmaxCELoss", "--opt", "axis=3")[2]
        expect("SoftmaxCrossEntropyLoss: axis 3" in (err.splitlines() or [""])[0], f"the loss's own message: {err!r}")

        data = [
            (["eval", "L2Loss", "--in", f"pred={pred}", "--in", f"label={short_label}", "--out", out], "L2Loss"),
            (["eval", "L2Loss", "--in", f"pred={pred}", "--out", out], "label"),
            (["eval", "SoftmaxCELoss", "--in", f"pred={pred}", "--in", f"label={classes}", "--out", out], "99"),
            (["eval", "L2Loss", "--in", f"pred={pred}", "--in", f"label={os.path.join(d, 'missing.npy')}",
              "--out", out], "missing.npy"),
            (["eval", "L2Loss", "--in", f"pred={pred}", "--in", f"label={d}", "--out", out], d),
            (["eval", "L2Loss", "--in", f"pred={pred}", "--in", f"label={label}", "--out", pred], "pred.npy"),
            # A shape or data the loss rejects is exit 3 with its message, not a failed gradient.
            (["check", "CTCLoss", "--shape", "4,3"], "CTCLoss: pred of shape (4, 3)"),
            (["taylor", "CTCLoss", "--shape", "4,3"], "CTCLoss: pred of shape (4, 3)"),
            (["check", "SoftmaxCELoss", "--in", f"pred={pred}", "--in", f"label={classes}"], "label value 99"),
            (["check", "L2Loss", "--in", f"pred={pred}", "--in", f"label={short_label}"], "L2Loss"),
            (["taylor", "L2Loss", "--in", f"pred={pred}", "--in", f"label={short_label}"], "L2Loss"),
            (["check", "L2Loss", "--in", f"pred={os.path.join(d, 'missing.npy')}"], "missing.npy"),
        ]
        for args, named in data:
            status, stdout, err = run(*args)
            expect(status == 3, f"{args} exits 3, not {status}: {err!r}")
            expect(err.count("\n") == 1 and named in err, f"{args}: one line naming {named!r}: {err!r}")


def corrupt_npy():
    with tempfile.TemporaryDirectory() as d:
        pred = float64_file(os.path.join(d, "pred.npy"), (3, 4), [0.1 * i for i in range(12)])
        with open(pred, "rb") as f:
            valid = f.read()
        corrupt = {
            "empty": b"",
            "truncated": valid[:-5],
            "truncated-header": valid[:30],
            "wrong-magic": b"\x93NUMPZ" + valid[6:],
            "text": b"1,2,3\n4,5,6\n",
            "absurd-shape": npy_bytes("{'descr': '<f8', 'fortran_order': False, "
                                      "'shape': (4611686018427387904, 4611686018427387904), }", b"\0" * 96),
            "huge-dimension": npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (10**30,), }", b""),
            "absurd-header-length": b"\x93NUMPY\x02\x00\xff\xff\xff\x7f{'descr'",
            "big-endian": npy_bytes("{'descr': '>f8', 'fortran_order': False, 'shape': (3, 4), }", b"\0" * 96),
            "unknown-dtype": npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (3, 4), }", b"\0" * 192),
            "garbage-header": npy_bytes("\x00\x01\x02 not a dict", b"\0" * 96),
        }
        for what, content in corrupt.items():
            bad = write(os.path.join(d, f"{what}.npy"), content)
            status, _, err = run("eval", "L2Loss", "--in", f"pred={pred}", "--in", f"label={bad}",
                                 "--out", os.path.join(d, "out"))
            expect(status == 3, f"{what}: exits 3, not {status}: {err!r}")
            expect(err.count("\n") == 1 and f"{what}.npy" in err, f"{what}: one line naming the file: {err!r}")


def check_at_arrays():
    with tempfile.TemporaryDirectory() as d:
        # One sample: the loss has one element, which the checks do not project, so that the
        # Taylor test's J(x) is the loss itself, as eval computes it from the same files.
        pred = float64_file(os.path.join(d, "pred.npy"), (1, 5), [0.3, -1.2, 2.0, 0.7, -0.1])
        label = float64_file(os.path.join(d, "label.npy"), (1,), [3.0])
        status, out, err = run("check", "SoftmaxCELoss", "--in", f"pred={pred}", "--in", f"label={label}", "--json")
        expect(status == 0, f"check at the given arrays exits 0: {err!r}")
        document = json.loads(out) if status == 0 else {"checks": [], "taylor": []}
        checks, taylor = document["checks"], document["taylor"]
        expect([c["order"] for c in checks] == [1, 2] and len(taylor) == 1,
               "one configuration, the given arrays, at orders 1 and 2")
        expect(all(c["configuration"] == "(1, 5) seed=0 given=label,pred" and c["status"] == "passed" for c in checks),
               f"the check names the given arrays: {[c['configuration'] for c in checks]}")
        status, line, err = run("eval", "SoftmaxCELoss", "--in", f"pred={pred}", "--in", f"label={label}",
                                "--out", os.path.join(d, "out"))
        loss = npy_values(os.path.join(d, "out", "loss.npy")) if status == 0 else [None]
        expect(taylor and abs(taylor[0]["value"] - loss[0]) <= 1e-15 * abs(loss[0]),
               f"the Taylor test's J(x) is the loss at the given arrays: {taylor and taylor[0]['value']} vs {loss}")
        # The inputs not given are sampled: pred alone checks as well, at orders 1 and 2.
        status, out, err = run("check", "SoftmaxCELoss", "--in", f"pred={pred}")
        expect(status == 0 and out.strip().splitlines()[-1] == "3 passed, 0 failed", f"pred alone: {out!r} {err!r}")
        # --order 2 at the given arrays: H v over every element of pred.
        status, out, err = run("check", "SoftmaxCELoss", "--order", "2", "--in", f"pred={pred}", "--in", f"label={label}",
                               "--json")
        checks = json.loads(out)["checks"] if status == 0 else []
        expect(len(checks) == 1 and checks[0]["order"] == 2 and checks[0]["status"] == "passed" and
               checks[0]["configuration"] == "(1, 5) seed=0 given=label,pred" and checks[0]["gradient"]["checked"] == 5,
               f"--order 2 at the given arrays: {checks} {err!r}")
    with tempfile.TemporaryDirectory() as d:
        # Huber (rho 1) with pred - label = 1 in its first element: on the kink, where the gradient is
        # continuous (order 1 passes) but the second derivative jumps from 1 to 0, so that central
        # differences of the gradient give the mean of the two sides and H v cannot agree: the check
        # at order 2 is made at these arrays, not at sampled ones.
        args = ["check", "HuberLoss", "--json"]
        for name, values in {"pred": [1.5, 0.3], "label": [0.5, 0.0]}.items():
            args += ["--in", f"{name}={float64_file(os.path.join(d, name + '.npy'), (1, 2), values)}"]
        status, out, err = run(*args)
        checks = {c["order"]: c for c in json.loads(out)["checks"]} if status in (0, 1) else {}
        expect(status == 1 and sorted(checks) == [1, 2], f"on Huber's kink: exit 1, orders 1 and 2: {status} {err!r}")
        if sorted(checks) == [1, 2]:
            expect(checks[1]["status"] == "passed", f"order 1 passes on the kink: {checks[1]['problem']}")
            expect(checks[2]["status"] == "failed" and
                   checks[2]["problem"].startswith("Hessian-vector product of ") and
                   checks[2]["gradient"]["worst_input"] in ("pred", "label") and checks[2]["gradient"]["worst_index"] == 0,
                   f"order 2 fails at the kink's element: {checks[2]['problem']}")


def taylor_alone():
    status, out, err = run("taylor")
    blocks = out.strip().split("\n\n")
    expect(status == 0, f"taylor exits 0: {err!r}")
    expect(blocks[-1] == f"{len(loss_names())} passed, 0 failed", f"last line: {blocks[-1]!r}")
    for name, block in zip(loss_names(), blocks):
        lines = block.splitlines()
        expect(lines[0].startswith(name + " "), f"{name} first: {lines[0]!r}")
        expect(lines[2].split() == ["eps", "R0", "rate", "R1", "rate", "R2", "rate"],
               f"pyadjoint's columns: {lines[2]!r}")
        steps = [l.split() for l in lines[3:-1]]
        expect(len(steps) == 6, f"{name}: six steps")
        eps = [float(s[0]) for s in steps]
        expect(all(abs(eps[k + 1] / eps[k] - 0.5) < 1e-3 for k in range(5)), f"{name}: eps halves: {eps}")
        # Each step: eps, then each residual and its rate; the last step has no rates.
        r1 = [float(s[3] if len(s) == 7 else s[2]) for s in steps]
        r2_rates = [s[6] for s in steps if len(s) == 7 and s[6] != "-"]  # the rates above rounding
        expect(all(abs(r1[k + 1] / r1[k] - 0.25) < 0.02 for k in range(5)), f"{name}: R1 falls by 4 per step: {r1}")
        verdict = lines[-1]
        expect(verdict.startswith("passed: R1 rate >= "), f"{name}: verdict {verdict!r}")
        expect("R2 at rounding level" in verdict and r2_rates == [] or
               "R2 rate >= " in verdict and r2_rates and all(float(r) >= 2.85 for r in r2_rates),
               f"{name}: R2 falls at rate 2.85 or more (or stays at rounding): {r2_rates} {verdict!r}")
    # --order 1: R0 and R1 alone, at steps chosen for R1 (smaller than for R2).
    status, out, _ = run("taylor", "SoftmaxCELoss", "--json")
    second = json.loads(out)["taylor"][0]
    status, out, _ = run("taylor", "SoftmaxCELoss", "--order", "1", "--json")
    first = json.loads(out)["taylor"][0]
    expect([s["name"] for s in second["series"]] == ["R0", "R1", "R2"] and
           [s["name"] for s in first["series"]] == ["R0", "R1"] and first["status"] == "passed" and
           first["eps"][-1] < second["eps"][-1], f"--order 1: R0 and R1 at smaller steps: {first['eps']}")
    status, out, _ = run("taylor", "HuberLoss", "--json", "--eps0", "1e-4", "--steps", "4")
    t = json.loads(out)["taylor"][0]
    expect(status == 0 and t["eps"] == [1e-4, 5e-5, 2.5e-5, 1.25e-5], f"--eps0 and --steps: {t['eps']}")
    # Seed 14 draws triplets all inside their margin (the loss is 0 nearby): the test draws again and says which
    # seed served; at the user's own arrays it says there is nothing to compare.
    status, out, _ = run("taylor", "TripletLoss", "--seed", "14")
    expect(status == 0 and out.startswith("TripletLoss (3, 4) seed=1014 "), f"a flat sample is drawn again: {out!r}")
    with tempfile.TemporaryDirectory() as d:
        args = ["taylor", "TripletLoss"]
        for name, values in {"pred": [0.0, 0.0], "positive": [0.0, 0.0], "negative": [3.0, 3.0]}.items():
            args += ["--in", f"{name}={float64_file(os.path.join(d, name + '.npy'), (1, 2), values)}"]
        status, out, _ = run(*args)
        expect(status == 1 and "J does not change along h" in out, f"a flat point of the user's: {out!r}")
    # A user's point 2e-5 from L1's kink: the steps start below it, and the verdict says so. (At order 2,
    # R2 of this J, quadratic along h, stays at rounding below the kink, where it cannot tell: it fails.)
    with tempfile.TemporaryDirectory() as d:
        pred = [0.5, -0.2, 1.0, 0.3, 0.8, -1.1]
        files = {"pred": pred, "label": [0.5 + 2e-5, 0.4, 0.1, -0.3, 0.2, -0.6], "sample_weight": [1.0, 0.5]}
        args = ["taylor", "L1Loss", "--order", "1"]
        for name, values in files.items():
            shape = (2, 3) if len(values) == 6 else (2, 1)
            args += ["--in", f"{name}={float64_file(os.path.join(d, name + '.npy'), shape, values)}"]
        status, out, err = run(*args)
        verdict = out.strip().split("\n\n")[0].splitlines()[-1]
        expect(status == 0 and verdict.startswith("passed: R1 rate") and "kink" in verdict,
               f"near a kink: the steps start below it: {verdict!r} {err!r}")


def beyond_gluon():
    """docs/beyond-gluon.md from the command line: the spec's input and option names."""
    for args in (["SoftmaxCELoss", "--opt", "ignore_index=-100"], ["SoftmaxCELoss", "--opt", "label_smoothing=0.1"],
                 ["CTCLoss", "--opt", "blank_label=first"]):
        status, out, err = run("check", *args)
        expect(status == 0 and out.rstrip().endswith(" 0 failed"), f"check {args} passes: {status} {err!r}")
    status, _, err = run("check", "CTCLoss", "--opt", "blank_label=middle")
    expect(status == 2 and "CTCLoss" in err and "blank_label" in err, f"an unknown blank_label is exit 2: {err!r}")
    status, _, err = run("check", "SoftmaxCELoss", "--opt", "label_smoothing=1")
    expect(status == 2 and "label_smoothing must be in [0, 1)" in err, f"label_smoothing=1 is exit 2: {err!r}")
    with tempfile.TemporaryDirectory() as d:
        def file(name, shape, values):
            return float64_file(os.path.join(d, name + ".npy"), shape, values)
        out = os.path.join(d, "out")
        cases = [
            (["SDMLLoss", "--in", "x1=" + file("x1", (3, 2), [1, 0, 0, 1, 1, 1]),
              "--in", "x2=" + file("x2", (3, 2), [0.9, 0.1, 0.2, 0.8, 1, 1.2])],
             [0.0018090882180111, 0.0081633207020194, 0.0267207508769619]),
            (["GaussianNLLLoss", "--in", "pred=" + file("pred", (2, 2), [0.5, 1, 2, -1]),
              "--in", "target=" + file("target", (2, 2), [0, 1.5, 2.5, -1]),
              "--in", "var=" + file("var", (2, 2), [1, 0.5, 2, 1e-8])],
             [0.0142132048600137, -3.2493408443510820]),
            (["SoftmaxCELoss", "--opt", "ignore_index=-100", "--opt", "label_smoothing=0.1",
              "--in", "pred=" + file("logits", (3, 3), [1, 2, 0.5, 0.1, -1, 3, 0.3, 0.2, 0.1]),
              "--in", "label=" + file("classes", (3,), [1, 2, -100])],
             [0.5477021174412783, 0.3007742189604913, 0]),
        ]
        for args, expected in cases:
            status, _, err = run("eval", *args, "--out", out)
            expect(status == 0, f"eval {args} runs: {err!r}")
            if status == 0:
                got = npy_values(os.path.join(out, "loss.npy"))
                expect(len(got) == len(expected) and all(abs(g - e) <= 1e-12 * max(1, abs(e))
                                                          for g, e in zip(got, expected)),
                       f"eval {args[0]} gives the spec's numbers: {got}")


def list_and_graph():
    status, out, _ = run("list")
    names = loss_names()
    expect(status == 0 and len(names) >= 12, f"list shows every loss: {names}")
    expect("sample_weight" in out and "batch_axis=0" in out, "list shows inputs and option defaults")
    # The shape sample_weight must broadcast to, which a user otherwise learns from an error.
    blocks = dict(zip(names, re.split(r"^\w+(?: \(alias [^)]*\))?: ", out, flags=re.M)[1:]))
    for name, expected in [("SoftmaxCrossEntropyLoss", "(3, 1) for pred (3, 4); (2, 3, 1) for pred (2, 3, 4)"),
                           ("L2Loss", "(3, 4) for pred (3, 4); (2, 3, 4) for pred (2, 3, 4)"),
                           ("TripletLoss", "(3,) for pred (3, 4); (2,) for pred (2, 3, 4)"),
                           ("CosineEmbeddingLoss", "(3,) for input1 (3, 4); (2, 3) for input1 (2, 3, 4)"),
                           ("CTCLoss", "(2,) for pred (2, 5, 4)")]:
        expect(f"sample_weight must broadcast to (default options): {expected}" in blocks.get(name, ""),
               f"{name}'s sample_weight shape: {expected}")
    expect(out.count("sample_weight must broadcast to") == len(names), "every loss says its sample_weight shape")
    with tempfile.TemporaryDirectory() as d:
        dot = os.path.join(d, "softmax.dot")
        status, _, err = run("graph", "SoftmaxCELoss", "--shape", "2,5", "--out", dot)
        expect(status == 0, f"graph exits 0: {err}")
        text = open(dot).read() if status == 0 else ""
        expect(text.startswith("digraph") and text.rstrip().endswith("}"), "a DOT digraph")
        expect('label="pred\\nleaf\\n(2, 5)"' in text, "pred is a leaf of shape (2, 5), named by its role")
        expect('label="label\\nconstant\\n(2,)"' in text, "the sparse label is a constant, named")
        expect(" -> " in text, "with edges")
        # Huber runs as one fused node, drawn as the cluster of its primitives;
        # --expand records it as plain primitives, one node each.
        status, _, err = run("graph", "HuberLoss", "--out", dot)
        text = open(dot).read() if status == 0 else ""
        expect("subgraph cluster_" in text and 'label="smooth_l1"' in text, f"Huber's fused cluster: {err}")
        status, _, err = run("graph", "HuberLoss", "--expand", "--out", dot)
        text = open(dot).read() if status == 0 else ""
        expect("subgraph" not in text and 'label="smooth_l1\\n(3, 4)"' in text,
               f"Huber expanded into plain primitives: {err}")
        status, _, _ = run("graph", "SoftmaxCELoss", "--opt", "axis=7", "--out", dot)
        expect(status in (2, 3), "an axis out of range is refused")


CASES = {
    "default-check": default_check,
    "json": json_output,
    "eval": eval_matches_in_process,
    "eval-hvp": eval_hvp,
    "order-2": second_order,
    "errors": error_paths,
    "corrupt-npy": corrupt_npy,
    "fortran-npy": fortran_order,
    "list-graph": list_and_graph,
    "check-at-arrays": check_at_arrays,
    "taylor": taylor_alone,
    "beyond-gluon": beyond_gluon,
}

if __name__ == "__main__":
    case, TOOL, REFERENCE = sys.argv[1], sys.argv[2], sys.argv[3]
    CASES[case]()
    print(f"{case}: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)
