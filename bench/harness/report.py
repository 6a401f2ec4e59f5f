"""Figures, ratios, verdicts, the printed report and the `bench/RESULTS.md` section of a run."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_HEAD = """# Benchmark results

Written by `python -m bench <workload>` (see bench/README.md): each workload's latest run replaces
its own section below. Every figure here was produced by a script; nothing is copied by hand.
The machines are 2 shared cores: absolute figures drift ±15–30 % between runs, so read the ratios
(ours vs a peer, measured side by side in the same run) first.
"""


def is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not (isinstance(x, float) and math.isnan(x))


def fmt(x: Any, digits: int = 0) -> str:
    if not is_num(x):
        return "-" if x is None or isinstance(x, float) else str(x)
    return f"{x:,.{digits}f}"


def med(values) -> float | None:
    vals = [v for v in values if is_num(v)]
    return statistics.median(vals) if vals else None


def ratio(a: Any, b: Any) -> float | None:
    return a / b if is_num(a) and is_num(b) and b else None


def paired(ours: list[Any], peer: list[Any]) -> float | None:
    """Median over rounds of ours/peer within a round: the two ran back to back, so the machine's
    drift between rounds cancels out."""
    return med([ratio(a, b) for a, b in zip(ours, peer)])


@dataclass
class Verdict:
    label: str
    ok: bool | None       # None: not judged (missing figure)
    detail: str = ""

    @property
    def word(self) -> str:
        return "n/a" if self.ok is None else "PASS" if self.ok else "MISS"

    def line(self) -> str:
        return f"{self.label}: **{self.word}**" + (f" ({self.detail})" if self.detail else "")


def at_most(label: str, value: float | None, limit: float, unit: str = "", note: str = "") -> Verdict:
    ok = None if not is_num(value) else value <= limit
    return Verdict(label, ok, f"{fmt(value, 3 if abs(limit) < 1 else 2)}{unit} vs <= {limit:g}{unit}"
                   + (f"; {note}" if note else ""))


def at_least(label: str, value: float | None, limit: float, unit: str = "", note: str = "") -> Verdict:
    ok = None if not is_num(value) else value >= limit
    return Verdict(label, ok, f"{fmt(value, 2)}{unit} vs >= {limit:g}{unit}" + (f"; {note}" if note else ""))


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append(list(cells))

    def markdown(self) -> str:
        def cell(x: Any) -> str:
            return str(x).replace("|", "\\|") if x is not None else "-"
        out = [f"**{self.caption}**", "", "| " + " | ".join(self.headers) + " |",
               "|" + "|".join("---" for _ in self.headers) + "|"]
        out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(out)


@dataclass
class Report:
    """What a workload hands back: tables, notes, verdicts, raw data for the JSON file."""
    title: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)   # any: exit code 1

    def table(self, caption: str, headers: list[str]) -> Table:
        t = Table(caption, headers)
        self.tables.append(t)
        return t

    def body(self) -> str:
        parts = [t.markdown() for t in self.tables if t.rows]
        if self.verdicts:
            parts.append("**Targets**\n\n" + "\n".join(f"- {v.line()}" for v in self.verdicts))
        if self.notes:
            parts.append("\n".join(f"- {n}" for n in self.notes))
        if self.errors:
            parts.append("**Errors**\n\n" + "\n".join(f"- {e}" for e in self.errors))
        return "\n\n".join(parts)


# --------------------------------------------------------------------------- run metadata


def git(root: Path, *argv: str) -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True, timeout=10,
                              check=False).stdout.strip()
    return ""


def commit_of(root: Path) -> str:
    """`git rev-parse --short HEAD`, plus "+dirty" when the tree has changes (bench/RESULTS.md
    itself aside)."""
    head = git(root, "rev-parse", "--short", "HEAD")
    if not head:
        return f"{root} (not a git checkout)"
    dirty = git(root, "status", "--porcelain", "--", ".", ":(exclude)bench/RESULTS.md", ":(exclude).venv")
    return head + ("+dirty" if dirty else "")


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def machine() -> str:
    return f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}"


def versions(*packages: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in packages:
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{name} {version(name)}")
    return ", ".join(out)


def command_line(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, "-m", "bench", *argv])


def section(key: str, report: Report, meta: dict[str, str]) -> str:
    head = [f"## {key}: {report.title}", ""]
    head += [f"- {name}: {value}" for name, value in meta.items() if value]
    return "\n".join(head) + "\n\n" + report.body() + "\n"


def write_results(path: Path, key: str, text: str, order: list[str]) -> None:
    """Replace (or add) the section `key` of the results file; sections stay in `order`."""
    old = path.read_text() if path.exists() else RESULTS_HEAD
    sections = dict(re.findall(r"<!-- bench:(.+?) -->\n(.*?)<!-- /bench:\1 -->\n", old, flags=re.DOTALL))
    head = old.split("<!-- bench:", 1)[0].rstrip() + "\n"
    sections[key] = text

    def rank(k: str) -> tuple[int, str]:
        base = k.split(" ", 1)[0]
        return (order.index(base) if base in order else len(order), k)

    body = "".join(f"\n<!-- bench:{k} -->\n{sections[k]}<!-- /bench:{k} -->\n" for k in sorted(sections, key=rank))
    path.write_text(head + body)


def busy_processes(seconds: float = 1.0, exclude: set[int] = frozenset(), top: int = 4) -> str:
    """The processes (not ours) that used the most CPU over `seconds`: what else ran on the machine."""
    def sample() -> dict[int, tuple[str, float]]:
        out = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_bytes()
                name = stat[stat.index(b"(") + 1: stat.rindex(b")")].decode(errors="replace")
                fields = stat[stat.rindex(b")") + 2:].split()
                out[int(entry)] = (name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        return out
    a = sample()
    time.sleep(seconds)
    b = sample()
    used = sorted(((b[p][1] - a[p][1], b[p][0], p) for p in b if p in a and p not in exclude), reverse=True)
    busy = [f"{name} (pid {pid}) {cpu / seconds * 100:.0f}%" for cpu, name, pid in used[:top] if cpu / seconds >= 0.05]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"load average {load}; other busy processes over {seconds:g} s: " + (", ".join(busy) or "none above 5% of a core")


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z")


def merge_brokers(reports: dict[str, Report], failed: dict[str, str], labels: dict[str, str]) -> Report:
    """One report of a `--broker both` run: a headline table (the workload's `data["headline"]`,
    one column per broker), then each pass's tables, verdicts and notes, each labelled with the
    broker that produced it."""
    first = next(iter(reports.values()))
    out = Report(first.title + " (" + " and ".join(labels[b] for b in reports) + ", one pass each)")
    brokers = list(reports)
    heads = {b: dict(r.data.get("headline", [])) for b, r in reports.items()}
    order: list[str] = []
    for b in brokers:
        order += [k for k, _ in reports[b].data.get("headline", []) if k not in order]
    if order:
        t = out.table("Headline figures, one column per broker (each pass's own tables below; every figure "
                      "of a column comes from that broker's pass)", ["figure", *[labels[b] for b in brokers]])
        for k in order:
            t.add(k, *[heads[b].get(k, "-") for b in brokers])
    for b, r in reports.items():
        for table in r.tables:
            table.caption = f"[{labels[b]}] {table.caption}"
            out.tables.append(table)
        out.verdicts += [Verdict(f"[{b}] {v.label}", v.ok, v.detail) for v in r.verdicts]
        out.notes += [f"[{b}] {n}" for n in r.notes]
        out.errors += [f"[{b}] {e}" for e in r.errors]
        out.data[b] = r.data
    for b, e in failed.items():
        out.errors.append(f"[{b}] the pass failed: {e}")
    out.notes.append("`--broker both`: the passes ran one after the other in this invocation (" +
                     ", then ".join(labels[b] for b in [*reports, *failed]) + "), each starting its own servers "
                     "(peers included) and stopping them at its end; absolute figures drift between passes (shared "
                     "cores): compare the brokers on each pass's ratio to its peer or floor first")
    return out
