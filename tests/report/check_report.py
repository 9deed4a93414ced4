#!/usr/bin/env python3
"""Opens xtape-gradcheck's HTML report in headless Chromium and checks what a reviewer sees.

usage: check_report.py XTAPE_GRADCHECK CHROMIUM
Writes the report of the default check and of a check that fails, loads each in
Chromium (--dump-dom: the DOM after the page's script ran) and checks: a section
per loss with a Taylor plot and a central-difference plot that hold data, a
status per loss that says what the check said, the script ran, no console message
(Chromium logs script errors as CONSOLE lines), and nothing outside the file.
Exits 0 when every check passes.
"""
import html.parser
import os
import re
import subprocess
import sys
import tempfile

failures = []


def expect(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


class Dom(html.parser.HTMLParser):
    """The parts of the page the checks read: loss sections, their plots, status rows, references."""

    def __init__(self):
        super().__init__()
        self.stack = []  # open elements as (tag, attributes)
        self.sections = {}  # loss -> {"status": ..., "plots": {class: number of data paths}}
        self.status_rows = {}  # loss -> text of the row's cells
        self.body = {}
        self.references = []  # every src and href, and every <link>
        self.row_loss = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.stack.append((tag, attributes))
        classes = attributes.get("class", "").split()
        if tag == "body":
            self.body = attributes
        if tag == "section" and "loss" in classes:
            self.sections[attributes["data-loss"]] = {"status": attributes.get("data-status"), "plots": {}}
        section = self.enclosing("section")
        plot = self.enclosing("svg", outermost=True)
        if tag == "svg" and plot is attributes and section is not None:
            self.sections[section["data-loss"]]["plots"][attributes.get("class")] = 0
        if tag == "path" and "series" in classes and section is not None and plot is not None:
            self.sections[section["data-loss"]]["plots"][plot.get("class")] += 1
        if tag == "tr" and self.enclosing_table_class() == "status" and "data-loss" in attributes:
            self.row_loss = attributes["data-loss"]
            self.status_rows[self.row_loss] = []
        for name in ("src", "href"):
            if name in attributes:
                self.references.append(attributes[name])
        if tag == "link":
            self.references.append(str(attributes))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break
        if tag == "tr":
            self.row_loss = None

    def handle_data(self, data):
        if self.row_loss is not None and data.strip():
            self.status_rows[self.row_loss].append(data.strip())

    def enclosing(self, tag, outermost=False):
        found = [a for t, a in self.stack if t == tag]
        if not found:
            return None
        return found[0] if outermost else found[-1]

    def enclosing_table_class(self):
        table = self.enclosing("table")
        return table.get("class") if table else None


def chromium_dom(chromium, page, profile):
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + page],
        capture_output=True, text=True, timeout=90)
    expect(result.returncode == 0, f"chromium exits 0 on {page}: {result.stderr[-2000:]!r}")
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    expect(not console, f"no console message (a script error) on {page}: {console}")
    dom = Dom()
    dom.feed(result.stdout)
    return dom


def loss_names(tool):
    out = subprocess.run([tool, "list"], capture_output=True, text=True, check=True).stdout
    return re.findall(r"^(\w+)(?: \(alias [^)]*\))?: ", out, re.M)


def main(tool, chromium):
    if not chromium or not os.path.exists(chromium):
        print("FAIL: Chromium is not installed (tools/bootstrap installs Debian's chromium)")
        return 1
    names = loss_names(tool)
    with tempfile.TemporaryDirectory() as d:
        # The default check: every loss passes, every loss has its plots.
        page = os.path.join(d, "report.html")
        status = subprocess.run([tool, "check", "--report", page], capture_output=True, text=True).returncode
        expect(status == 0, f"the default check with --report exits 0, not {status}")
        source = open(page).read()
        expect(not re.search(r"(?:src|href)\s*=\s*[\"'](?!#)", source) and "<link" not in source and "@import" not in source,
               "the page refers to nothing outside itself")
        dom = chromium_dom(chromium, page, os.path.join(d, "profile"))
        expect(dom.body.get("data-script") == "ran", f"the page's script ran: body {dom.body}")
        expect(sorted(dom.sections) == sorted(names), f"a section per loss: {sorted(dom.sections)}")
        for name, section in dom.sections.items():
            plots = section["plots"]
            expect(plots.get("taylor-plot", 0) >= 2, f"{name}: a Taylor plot with R0 and R1: {plots}")
            expect(plots.get("step-plot", 0) >= 1, f"{name}: a plot of the central difference's error: {plots}")
            expect(section["status"] == "passed", f"{name}: passed")
        expect(sorted(dom.status_rows) == sorted(names), f"a status row per loss: {sorted(dom.status_rows)}")
        expect(all(cells[-1] == "ok" for cells in dom.status_rows.values()), f"every status ok: {dom.status_rows}")

        # A check that fails says so in the status of that loss. (At order 1: L1's Hessian-vector
        # products are 0 exactly near the sampled points and can pass even without tolerance.)
        failing = os.path.join(d, "failing.html")
        status = subprocess.run([tool, "check", "L1Loss", "HuberLoss", "--order", "1", "--atol", "0", "--rtol", "0",
                                 "--report", failing],
                                capture_output=True, text=True).returncode
        expect(status == 1, f"a failing check with --report exits 1, not {status}")
        dom = chromium_dom(chromium, failing, os.path.join(d, "profile2"))
        expect(sorted(dom.sections) == ["HuberLoss", "L1Loss"], f"the two losses: {sorted(dom.sections)}")
        for name, cells in dom.status_rows.items():
            expect(cells[-1] == "FAILED" and re.fullmatch(r"0 of \d+ passed", cells[1]) is not None,
                   f"{name}'s status says its gradient checks failed: {cells}")
    print(f"report: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
