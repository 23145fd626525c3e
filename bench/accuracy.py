"""Accuracy and CPU cost of the local recognizer + enricher on real receipt photos, per set and engine.

Real sets (`bench.real_sets`) come from a data folder: `--data DIR`, else $FOODAI_DATASETS, else
`../shared/datasets` beside the repository; without one they are skipped with a message. The
generated receipts (`bench.corpus`, a clean and a degraded set) stay as a regression section.
Every image goes through `LocalRecognizer.recognize` and `Enricher.enrich`; several OCR engines
(`--engine`, repeatable) are measured side by side in one run. The page
docs/recognition-benchmark.md is regenerated, keeping its hand-written before/after section.

    python -m bench.accuracy --jobs 2                       # everything, default engines; writes the page
    python -m bench.accuracy --sets sroie --limit 5 --verbose
    python -m bench.accuracy --engine rapidocr --engine tesseract --json /tmp/results.json
    python -m bench.accuracy --replay-ocr /work/ocr-cache/rapidocr --verbose   # parsing only, from cached OCR
    python -m bench.accuracy --dump-ocr /tmp/ocr                # also write <dir>/<engine>/<set>/<stem>.json

The page is written after a complete run (all sets, no --limit, no replay) or when --out is given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.domain import JobType, ResultItem
from app.recognition.base import JobImage, ReceiptHeader
from app.recognition.enrich import Enricher
from app.recognition.local import DET_MIN_SIDE, REC_MIN_WIDTH, LocalRecognizer
from app.recognition.text import compact
from bench import real_report, real_run
from bench.corpus import SCRIPTS, Receipt, generate
from bench.real_scoring import score
from bench.real_sets import SETS, Sample, load_set

Key = tuple[str | None, float, str, float | None]
HEADER_FIELDS = ("merchant", "purchased_at", "currency", "total")
ALL_SETS = (*SETS, "synthetic")
PAGE = real_report.REPO / "docs" / "recognition-benchmark.md"
RULES = real_report.REPO / "bench" / "real_sets.py"


# --- synthetic regression sets ------------------------------------------------------------------

@dataclass(slots=True)
class SetResult:
    """Counts and timings for one generated set read by one engine."""

    name: str
    engine: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    header_hits: Counter[str] = field(default_factory=Counter)
    images: int = 0
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def f1(self) -> float:
        """Item F1: an item counts when catalog key, quantity, unit and price all match."""
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else 0.0


def item_key(item: ResultItem) -> Key:
    """What must match between a recognized item and the truth."""
    return (item.catalog_key, round(item.quantity, 3), item.unit,
            None if item.price is None else round(item.price, 2))


def truth_keys(receipt: Receipt) -> Counter[Key]:
    """The expected items as a multiset."""
    return Counter((t.key, round(t.quantity, 3), t.unit, round(t.price, 2)) for t in receipt.items)


def header_hits(header: ReceiptHeader | None, receipt: Receipt) -> set[str]:
    """Header fields read correctly (merchant ignoring case and spacing, date ignoring time)."""
    if header is None:
        return set()
    checks = {
        "merchant": bool(header.merchant) and compact(header.merchant or "") == compact(receipt.merchant),
        "purchased_at": bool(header.purchased_at) and (header.purchased_at or "")[:10] == receipt.purchased_at,
        "currency": header.currency == receipt.currency,
        "total": header.total is not None and abs(header.total - receipt.total) < 0.005,
    }
    return {name for name, right in checks.items() if right}


@dataclass(frozen=True, slots=True)
class SyntheticSet:
    """A generated set: its name, first seed, whether degraded, and the script (None: the original locales)."""

    name: str
    first: int
    degraded: bool = False
    script: str | None = None


def synthetic_plan(scripts: list[str]) -> list[SyntheticSet]:
    """Clean and degraded receipts of the original locales, plus a clean and a degraded set per script.

    The Latin script's sets start at other seeds: its locales begin with the original nine, so the
    seeds of `clean` and `degraded` would mostly draw the very same receipts again."""
    return [SyntheticSet("clean", 1), SyntheticSet("degraded", 1001, degraded=True),
            *(SyntheticSet(f"{kind} {script}", first + (2000 if script == "latin" else 0),
                           degraded=kind == "degraded", script=script)
              for script in scripts for kind, first in (("clean", 1), ("degraded", 1001)))]


async def run_synthetic(spec: SyntheticSet, count: int, *, engine: str, recognizer: LocalRecognizer,
                        enricher: Enricher, lang: str | None = None) -> SetResult:
    """Recognize and score every generated receipt of one set, one at a time (so CPU is attributable);
    `lang` replaces each receipt's own language as the job's (a client that does not say it)."""
    result = SetResult(spec.name if lang is None else f"{spec.name} as {lang}", engine)
    warm, mime, receipt = generate(0, script=spec.script)  # an engine may load a model per language
    await recognizer.recognize(JobImage(0, warm, mime), job_type=JobType.RECEIPT, lang=lang or receipt.lang)
    for seed in range(spec.first, spec.first + count):
        data, mime, receipt = generate(seed, degraded=spec.degraded, script=spec.script)
        cpu, wall = real_run.cpu_seconds(), time.perf_counter()
        recognition = await recognizer.recognize(JobImage(0, data, mime), job_type=JobType.RECEIPT,
                                                 lang=lang or receipt.lang)
        items = enricher.enrich([(0, raw) for raw in recognition.items], lang=lang or receipt.lang)
        result.cpu.append(real_run.cpu_seconds() - cpu)
        result.wall.append(time.perf_counter() - wall)
        got, want = Counter(item_key(i) for i in items), truth_keys(receipt)
        hits = sum((got & want).values())
        result.tp += hits
        result.fp += got.total() - hits
        result.fn += want.total() - hits
        result.images += 1
        result.header_hits.update(header_hits(recognition.header, receipt))
        if got != want:
            missing, extra = sorted(want - got, key=str), sorted(got - want, key=str)
            result.misses.append(f"seed {seed}: missing {missing} extra {extra}")
    return result


async def synthetic_sets(engines: list[str], args: argparse.Namespace) -> list[SetResult]:
    """The generated sets (`synthetic_plan`), read by each engine."""
    results, enricher = [], Enricher()
    for engine in engines:
        recognizer = real_run.make_recognizer(engine, det_min_side=args.det_min_side, rec_min_width=args.rec_min_width)
        try:
            for spec in synthetic_plan(args.scripts):
                results.append(await run_synthetic(spec, args.count, engine=engine, recognizer=recognizer,
                                                   enricher=enricher, lang=args.lang))
        finally:
            await recognizer.aclose()
    return results


def synthetic_table(results: list[SetResult]) -> list[str]:
    """The regression section of the page."""
    sec = real_report.seconds
    rows = [f"| {r.name} | {r.engine} | {r.images} | {r.tp + r.fn} | **{r.f1:.3f}** | "
            + " | ".join(f"{r.header_hits[f] / r.images:.2f}" for f in HEADER_FIELDS)
            + f" | {sec(r.cpu, 50)} | {sec(r.cpu, 90)} | {sec(r.wall, 50)} |"
            for r in results]
    return ["", "## Generated receipts (regression set)", "",
            "| set | engine | receipts | items | item F1 | merchant | date | currency | total "
            "| CPU s/img median | CPU s/img p90 | wall s/img median |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|", *rows, "",
            "`bench/corpus.py`, seeded: `clean` and `degraded` draw from the original nine Latin locales, four",
            "item layouts, DejaVu fonts; the degraded set adds fading, noise, blur, up to 3 degrees of rotation and",
            "JPEG at quality 60; `clean <script>` and `degraded <script>` draw from all of that script's locales (the",
            "nine, cs, tr, en-IN; bg, ru, sr, uk; th). An item counts when catalog",
            "key, quantity, unit and price all equal the truth. Images are read one at a time in one process."]


# --- real sets ----------------------------------------------------------------------------------

def resolve_data(arg: Path | None) -> tuple[Path | None, str]:
    """The data folder and where it came from, or None and why the real sets are skipped."""
    if arg is not None:
        path, source = arg, "--data"
    elif os.environ.get("FOODAI_DATASETS"):
        path, source = Path(os.environ["FOODAI_DATASETS"]), "FOODAI_DATASETS"
    else:
        path, source = real_report.REPO.parent / "shared" / "datasets", "the default beside the repository"
    if not path.is_dir():
        return None, f"real sets skipped: no data folder at {path} ({source}); pass --data DIR or set FOODAI_DATASETS"
    return path, f"data folder {path} ({source})"


def load_samples(data: Path, sets: list[str], limit: int | None) -> list[Sample]:
    """The samples of every requested real set present in the data folder."""
    samples: list[Sample] = []
    for name in sets:
        if not (data / name).is_dir():
            print(f"{name}: skipped, {data / name} is absent", file=sys.stderr)
            continue
        samples += load_set(name, data, limit)
    return samples


def run_real(samples: list[Sample], engines: list[str], args: argparse.Namespace) -> list[real_run.Outcome]:
    """Live recognition of every sample by every engine, or a replay of cached OCR; progress on stderr."""
    if args.replay_ocr is not None:
        return list(real_run.replay(samples, args.replay_ocr, f"replay:{args.replay_ocr.name}"))
    jobs = [real_run.Job(sample, engine) for sample in samples for engine in engines]
    options = {"det_min_side": args.det_min_side, "rec_min_width": args.rec_min_width}
    outcomes = []
    for done, outcome in enumerate(real_run.run_jobs(jobs, engines, options=options, dump=args.dump_ocr,
                                                     workers=args.jobs), 1):
        outcomes.append(outcome)
        print(f"[{done}/{len(jobs)}] {outcome.sample.set_name}/{outcome.sample.stem} {outcome.engine} "
              f"cpu {outcome.cpu or 0:.2f}s {outcome.error or ''}", file=sys.stderr, flush=True)
    return outcomes


def real_section(tallies: list[real_report.Tally], data_note: str, replayed: bool) -> list[str]:
    """The real-receipt section of the page: tables, then how they are scored."""
    cpu_note = ("CPU columns are n/a: this run replayed cached OCR boxes (parsing and enrichment only)." if replayed
                else "CPU: process CPU of OCR + parsing + enrichment per image, models loaded and warmed up first, "
                     "measured inside the worker process that read it (each worker reads one image at a time).")
    return ["", "## Real receipts", "", f"From the {data_note}.", *real_report.real_tables(tallies), "",
            "Accuracy columns are the share of receipts with that field right, over the receipts that have truth",
            "for it (`(of N)` when not all do; n/a when none): total within half a cent; date the same calendar day",
            "(time ignored); merchant by the rules below; currency as an ISO code. Item F1 (price): the predicted",
            "items' prices against the expected prices as multisets, in cents. Item F1 (name+price): equal price",
            "and compacted alphanumeric names (annotators removed spaces) with a difflib ratio of at least 0.8,",
            "matched one to one. Items are the recognizer's raw items (one per printed line, as the truth is):",
            "the enricher merges identical lines, which the truth does not. " + cpu_note, "",
            "Truth rules (from `bench/real_sets.py`):", "", *_rules()]


def _rules() -> list[str]:
    doc = RULES.read_text().split('"""')[1]
    rules = doc.split("Truth rules that needed a decision (also printed on the benchmark page):", 1)[-1]
    return [line.rstrip() for line in rules.strip().splitlines()]


# --- command line -------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default: $FOODAI_DATASETS, "
                        "else ../shared/datasets)")
    parser.add_argument("--sets", default=",".join(ALL_SETS), help=f"comma-separated, from {','.join(ALL_SETS)}")
    parser.add_argument("--engine", action="append", default=None, help="OCR engine (repeatable); default: "
                        "the recognizer's default plus today's rapidocr")
    parser.add_argument("--limit", type=int, default=None, help="first N images per real set")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for live runs of the real sets")
    parser.add_argument("--count", type=int, default=30, help="generated receipts per synthetic set")
    parser.add_argument("--scripts", default=",".join(SCRIPTS),
                        help="scripts with a clean and a degraded synthetic set of their own, from all their "
                             "locales ('latin' adds cs, tr and en-IN to the original nine; '' for none)")
    parser.add_argument("--lang", default=None, help="job language for every generated receipt (default: each "
                        "receipt's own; 'en' is the API's default, as for a client that does not say)")
    parser.add_argument("--out", type=Path, default=None, help=f"page to write (default {PAGE} after a full run)")
    parser.add_argument("--json", type=Path, default=None, help="write every per-image result here")
    parser.add_argument("--replay-ocr", type=Path, default=None, help="cached OCR boxes: DIR/<set>/<stem>.json")
    parser.add_argument("--dump-ocr", type=Path, default=None, help="write OCR boxes to DIR/<engine>/<set>/")
    parser.add_argument("--det-min-side", type=int, default=DET_MIN_SIDE)
    parser.add_argument("--rec-min-width", type=int, default=REC_MIN_WIDTH)
    parser.add_argument("--verbose", action="store_true", help="list every receipt with a wrong field")
    args = parser.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    args.scripts = [s.strip() for s in args.scripts.split(",") if s.strip()]
    unknown = set(args.sets) - set(ALL_SETS) | set(args.scripts) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown sets or scripts {sorted(unknown)}")
    return args


def choose_engines(requested: list[str] | None) -> list[str]:
    """The engines to run: the requested ones this build can make, else the defaults."""
    engines = list(dict.fromkeys(requested or real_run.default_engines()))
    for engine in engines:
        if not real_run.usable_engine(engine):
            print(f"engine {engine}: skipped, this build's LocalRecognizer has no `ocr` keyword", file=sys.stderr)
    return [e for e in engines if real_run.usable_engine(e)]


def main() -> None:
    """Command line entry point."""
    args = parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    engines = choose_engines(args.engine)
    data, data_note = resolve_data(args.data)
    print(data_note, file=sys.stderr)
    tallies, records = [], []
    real = [s for s in args.sets if s != "synthetic"]
    if data is not None and real:
        outcomes = run_real(load_samples(data, real, args.limit), engines, args)
        scored = [(outcome, score(outcome.sample.truth, outcome.prediction)) for outcome in outcomes]
        tallies = real_report.tally(scored)
        records = [real_report.result_record(o, r) for o, r in scored]
    synthetic: list[SetResult] = []
    if "synthetic" in args.sets and args.replay_ocr is None:
        synthetic = asyncio.run(synthetic_sets(engines, args))
    command = "python -m bench.accuracy " + " ".join(sys.argv[1:])
    generated = [f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command.strip()}` at commit "
                 f"{real_report.git_commit()}.", "", f"Machine: {real_report.machine()}."]
    if tallies:
        generated += real_section(tallies, data_note, args.replay_ocr is not None)
    if synthetic:
        generated += synthetic_table(synthetic)
    out = args.out or (PAGE if args.limit is None and args.replay_ocr is None and args.sets == list(ALL_SETS)
                       and data is not None else None)
    page = real_report.assemble_page(out.read_text() if out and out.exists() else None, generated)
    print(page)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page)
    if args.json is not None:
        real_report.write_json(args.json, records)
    if args.verbose:
        for t in tallies:
            print(f"## {t.set_name} / {t.engine}: {len(t.misses)} receipts with a miss", *t.misses, sep="\n")
        for r in synthetic:
            print(f"## {r.name} / {r.engine}", *r.misses, sep="\n")


if __name__ == "__main__":
    main()
