"""Tallies of scored outcomes per (set, engine), the benchmark page, and the machine and commit it ran on."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.real_run import Outcome
from bench.real_scoring import ImageScore, f1
from bench.real_sets import Truth

FIELDS = ("total", "date", "merchant", "currency")
KEEP_START, KEEP_END = "<!-- before-after:start -->", "<!-- before-after:end -->"
REPO = Path(__file__).resolve().parent.parent
DESCRIPTIONS = {
    "sroie": "scanned Malaysian receipts; truth: SROIE keys",
    "wildreceipt": "photos of US/EU receipts; truth: labelled boxes",
    "de-receipts": "German shop scans; truth: the file name",
}


@dataclass(slots=True)
class Tally:
    """Everything the page shows for one set read by one engine."""

    set_name: str
    engine: str
    receipts: int = 0
    errors: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    scored: Counter[str] = field(default_factory=Counter)
    found: int = 0
    expected: int | None = None
    price_hits: int | None = None
    name_hits: int | None = None
    named_found: int | None = None
    named_expected: int | None = None
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome, result: ImageScore) -> None:
        """Count one scored image."""
        self.receipts += 1
        self.errors += outcome.error is not None
        for name, right in result.fields.items():
            if right is not None:
                self.scored[name] += 1
                self.hits[name] += right
        self.found += result.found
        self.expected = _plus(self.expected, result.expected)
        self.price_hits = _plus(self.price_hits, result.price_hits)
        self.name_hits = _plus(self.name_hits, result.name_hits)
        self.named_found = _plus(self.named_found, result.named_found)
        self.named_expected = _plus(self.named_expected, result.named_expected)
        if outcome.cpu is not None and outcome.wall is not None:
            self.cpu.append(outcome.cpu)
            self.wall.append(outcome.wall)
        miss = describe_miss(outcome, result)
        if miss:
            self.misses.append(miss)


def _plus(total: int | None, value: int | None) -> int | None:
    return total if value is None else (total or 0) + value


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def describe_miss(outcome: Outcome, result: ImageScore) -> str:
    """One line naming every wrong field of an image, truth against prediction ('' when all right)."""
    truth, got = outcome.sample.truth, outcome.prediction
    shown = {
        "total": (_money(truth.total), _money(got.total)),
        "date": ("|".join(sorted(d.isoformat() for d in truth.dates)), got.purchased_at),
        "merchant": ("|".join(truth.merchants), got.merchant),
        "currency": ("|".join(sorted(truth.currencies)), got.currency),
    }
    parts = [f"{name} want {shown[name][0]} got {shown[name][1]}" for name, right in result.fields.items()
             if right is False]
    if truth.items is not None and (result.name_hits != len(truth.items) or result.found != len(truth.items)):
        want = sorted(f"{t.name}={t.price:.2f}" for t in truth.items)
        have = sorted(f"{name}={_money(price)}" for name, price in got.items)
        parts.append(f"items {result.name_hits}/{len(truth.items)} named+priced, want {want} got {have}")
    if outcome.error:
        parts.append(f"error {outcome.error}")
    return f"{outcome.sample.stem}: " + "; ".join(parts) if parts else ""


def tally(scored: Iterable[tuple[Outcome, ImageScore]]) -> list[Tally]:
    """One Tally per (set, engine), in the order first seen."""
    tallies: dict[tuple[str, str], Tally] = {}
    for outcome, result in scored:
        key = (outcome.sample.set_name, outcome.engine)
        tallies.setdefault(key, Tally(*key)).add(outcome, result)
    return list(tallies.values())


def _share(t: Tally, name: str) -> str:
    if not t.scored[name]:
        return "n/a"
    value = f"{t.hits[name] / t.scored[name]:.2f}"
    return value if t.scored[name] == t.receipts else f"{value} (of {t.scored[name]})"


def seconds(values: Sequence[float], q: int) -> str:
    """The q-th percentile (nearest rank) of per-image seconds, or n/a."""
    if not values:
        return "n/a"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]:.2f}"


def table_row(t: Tally) -> str:
    """One markdown row: accuracies, item F1s and counts, CPU and wall seconds per image."""
    price = "n/a" if t.price_hits is None else f"{f1(t.price_hits, t.found, t.expected or 0):.3f}"
    named = "n/a" if t.name_hits is None else f"{f1(t.name_hits, t.found, t.expected or 0):.3f}"
    labelled = ("n/a" if t.name_hits is None or t.named_found is None
                else f"{f1(t.name_hits, t.named_found, t.named_expected or 0):.3f}")
    counts = f"{t.found}/{t.expected}" if t.expected is not None else f"{t.found}/n/a"
    cells = [t.engine, str(t.receipts), *(_share(t, name) for name in FIELDS), price, named, labelled, counts,
             seconds(t.cpu, 50), seconds(t.cpu, 90), seconds(t.wall, 50)]
    return "| " + " | ".join(cells) + " |" + (f" {t.errors} errors" if t.errors else "")


HEADER = ("| engine | receipts | total | date | merchant | currency | item F1 (price) | item F1 (name+price) "
          "| item F1 (name+price, named items) | items found/expected | CPU s/img median | CPU s/img p90 "
          "| wall s/img median |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def real_tables(tallies: Sequence[Tally]) -> list[str]:
    """A table per set, one row per engine."""
    lines: list[str] = []
    for set_name in dict.fromkeys(t.set_name for t in tallies):
        lines += ["", f"### {set_name} ({DESCRIPTIONS.get(set_name, '')})", "", HEADER]
        lines += [table_row(t) for t in tallies if t.set_name == set_name]
    return lines + cpu_table(tallies) if any(t.cpu for t in tallies) else lines


def cpu_table(tallies: Sequence[Tally]) -> list[str]:
    """CPU and wall seconds per image over every real image of each engine (the issue's speed target)."""
    rows = []
    for engine in dict.fromkeys(t.engine for t in tallies):
        cpu = [c for t in tallies if t.engine == engine for c in t.cpu]
        wall = [w for t in tallies if t.engine == engine for w in t.wall]
        rows.append(f"| {engine} | {len(cpu)} | {seconds(cpu, 50)} | {seconds(cpu, 90)} | {seconds(wall, 50)} "
                    f"| {seconds(wall, 90)} |")
    return ["", "### All real sets: seconds per image", "",
            "| engine | images timed | CPU median | CPU p90 | wall median | wall p90 |", "|---|---|---|---|---|---|",
            *rows]


def git_commit() -> str:
    """The short commit hash, with '+dirty' when the working tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False).stdout

    head = git("rev-parse", "--short", "HEAD").strip()
    if not head:
        return "unknown (not a git checkout)"
    return head + ("+dirty" if git("status", "--porcelain").strip() else "")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """CPU, cores, Python and onnxruntime versions, and the load average now."""
    import onnxruntime

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"onnxruntime {onnxruntime.__version__}; load average {load} at the end of the run "
            "(other processes share the box, which inflates wall time and, less, CPU time)")


DEFAULT_KEPT = f"""{KEEP_START}
## Before / after

Hand-written; `python -m bench.accuracy` keeps this section as it is and regenerates the rest.

{KEEP_END}"""


def assemble_page(previous: str | None, generated: Sequence[str]) -> str:
    """The page: the hand-written section kept from `previous` (between the markers), then `generated`."""
    kept = DEFAULT_KEPT
    if previous and KEEP_START in previous and KEEP_END in previous:
        start = previous.index(KEEP_START)
        kept = previous[start:previous.index(KEEP_END, start) + len(KEEP_END)]
    return "\n".join(["# Recognition benchmark (local recognizer)", "", kept, "", *generated, ""])


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value, key=str)
    if isinstance(value, date | Path):
        return str(value)
    raise TypeError(type(value).__name__)


def result_record(outcome: Outcome, result: ImageScore) -> dict[str, Any]:
    """Everything known about one image's run, for --json."""
    truth: Truth = outcome.sample.truth
    return {"set": outcome.sample.set_name, "stem": outcome.sample.stem, "engine": outcome.engine,
            "truth": asdict(truth), "prediction": asdict(outcome.prediction), "score": asdict(result),
            "cpu_s": outcome.cpu, "wall_s": outcome.wall, "error": outcome.error}


def write_json(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """Every per-image record as one JSON list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(records), default=_plain, ensure_ascii=False, indent=1))
