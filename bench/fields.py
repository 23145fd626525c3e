"""Header-field accuracy (total, date, merchant, currency) on real receipts, without running OCR.

Sources, each read through the same path as OCR output (boxes -> `layout.to_lines` -> `parse_header`):
- `sroie-text`: the human line transcriptions in `sroie/boxes/*.csv`, reported per half (sorted
  file names, first and second half) so that rules fitted to one half show on the other;
- `<set>-ocr`: cached OCR boxes of the default engine (`<cache>/<set>/<image stem>.json`,
  `{"boxes": [[corners, text, score], ...]}`) for `sroie`, `de-receipts` and `wildreceipt`, when the
  cache exists (its own, looser merchant rule: `bench.accuracy --replay-ocr` is the measure).

Truth: sroie `keys/*.json`; de-receipts the file name `shop_DDMMYYYY_items_totalcents`; wildreceipt
`labels/*.json` (label 1 store, 7 date, 23 total). A merchant counts when its folded letters and
digits match the truth's closely (similarity >= 0.8, or the truth's shop name is contained in it; for
wildreceipt, the store-name boxes joined or any one of them); a date when the day matches (time
ignored; an ambiguous truth like 03/04/2015 accepts both readings); a total within half a cent (a
truth printed without cents, '48,000', also accepts 48000).

    python -m bench.fields [--data ../shared/datasets] [--cache ../ocr-cache/auto] [--text-only] [--misses]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from pathlib import Path

from app.recognition.base import ReceiptHeader
from app.recognition.layout import OcrBox, to_lines
from app.recognition.receipt_header import parse_header
from app.recognition.receipt_parser import TextLine
from app.recognition.text import clean_ocr, compact, parse_number

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("FOODAI_DATASETS", ROOT.parent / "shared" / "datasets"))
DEFAULT_CACHE = Path(os.environ.get("FOODAI_OCR_CACHE", ROOT.parent / "ocr-cache" / "auto"))
FIELDS = ("total", "date", "merchant", "currency", "address")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


@dataclass(slots=True)
class Truth:
    """What a receipt says; None where the source gives no truth for a field."""

    total: float | None = None
    dates: frozenset[str] = frozenset()
    merchant: str | None = None
    currency: str | None = None
    other_totals: frozenset[float] = frozenset()  # readings of a total printed without cents ('48,000')
    other_merchants: tuple[str, ...] = ()  # wildreceipt: each store-name box on its own
    address: str | None = None


@dataclass(slots=True)
class Sample:
    """One receipt: its id, its lines (with geometry) and its truth."""

    name: str
    lines: list[TextLine]
    truth: Truth


@dataclass(slots=True)
class Score:
    """Hits and counts per field for one set."""

    name: str
    hits: Counter[str] = field(default_factory=Counter)
    counted: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def row(self) -> str:
        """One markdown table row."""
        cells = [f"{self.hits[f] / self.counted[f]:.3f}" if self.counted[f] else "-" for f in FIELDS]
        return f"| {self.name} | {max(self.counted.values(), default=0)} | " + " | ".join(cells) + " |"


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def truth_dates(text: str) -> frozenset[str]:
    """Every ISO day a printed truth date may mean (day-first and month-first when ambiguous)."""
    found: set[str] = set()
    lowered = text.lower()
    for a, b, c in re.findall(r"(\d{1,4})[./\- ]+(\d{1,2}|[a-z]{3,9})[./\-, ]+(\d{2,4})", lowered):
        month = _MONTHS.index(b[:3]) + 1 if b[:3] in _MONTHS else None
        options = [(_year(c), month, int(a))] if month else [(_year(c), int(b), int(a)), (_year(c), int(a), int(b))]
        if len(a) == 4 and not month:
            options = [(int(a), int(b), int(c))]
        found.update(_iso(*option) for option in options if _iso(*option))
    for m, d, y in re.findall(r"([a-z]{3})[a-z]*\.? (\d{1,2}),? (\d{4})", lowered):
        if m in _MONTHS and (iso := _iso(int(y), _MONTHS.index(m) + 1, int(d))):
            found.add(iso)
    if re.fullmatch(r"\d{8}", text) and (iso := _iso(int(text[:4]), int(text[4:6]), int(text[6:]))):
        found.add(iso)
    return frozenset(found)


def _iso(year: int, month: int, day: int) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return ""


def _box_from_flat(values: list[float]) -> tuple[tuple[float, float], ...]:
    return tuple((values[i], values[i + 1]) for i in range(0, 8, 2))


def lines_from_boxes(boxes: list[tuple[tuple[tuple[float, float], ...], str, float]]) -> list[TextLine]:
    """OCR-like boxes -> cleaned TextLines, as `receipt_parser.parse_receipt` prepares them."""
    ocr = [OcrBox(points, text, score) for points, text, score in boxes]  # type: ignore[arg-type]
    lines = to_lines(ocr)
    return [TextLine(clean_ocr(li.text), li.confidence, li.box) for li in lines if li.text.strip()]


def _read_csv(path: Path) -> list[tuple[tuple[tuple[float, float], ...], str, float]]:
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    boxes = []
    for row in csv.reader(text.splitlines()):
        if len(row) < 9:
            continue
        try:
            values = [float(v) for v in row[:8]]
        except ValueError:
            continue
        boxes.append((_box_from_flat(values), ",".join(row[8:]), 1.0))
    return boxes


def sroie_truth(path: Path) -> Truth:
    """Truth from a sroie key file (total: the amount paid, after rounding)."""
    keys = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    total_text = re.sub(r"[^\d.,-]", "", keys.get("total", ""))
    total = parse_number(total_text.lstrip("-")) if total_text else None
    return Truth(total, truth_dates(keys.get("date", "")), keys.get("company") or None, "MYR",
                 address=keys.get("address") or None)


def sroie_text(data: Path) -> Iterator[Sample]:
    """The human transcriptions, one sample per key file that has a box file."""
    for csv_path in sorted((data / "sroie" / "boxes").glob("*.csv")):
        key = data / "sroie" / "keys" / f"{csv_path.stem}.json"
        if key.exists():
            yield Sample(csv_path.stem, lines_from_boxes(_read_csv(csv_path)), sroie_truth(key))


def _cached_lines(path: Path) -> list[TextLine]:
    boxes = json.loads(path.read_text(encoding="utf-8"))["boxes"]
    return lines_from_boxes([(tuple(tuple(p) for p in corners), text, score) for corners, text, score in boxes])


def de_truth(stem: str) -> Truth:
    """Truth from a de-receipts file name: `X-shop_DDMMYYYY_items_totalcents` (items optional)."""
    parts = stem.split("-", 1)[1].split("_")
    day = parts[1]
    return Truth(int(parts[-1]) / 100, frozenset({_iso(int(day[4:]), int(day[2:4]), int(day[:2]))}),
                 parts[0], "EUR")


def wild_truth(path: Path) -> Truth:
    """Truth from a wildreceipt label file: label 23 total, 1 store name, 7 date."""
    notes = json.loads(path.read_text(encoding="utf-8"))["annotations"]
    by_label: dict[int, list[str]] = {}
    for note in notes:
        by_label.setdefault(note["label"], []).append(note["text"])
    totals = {parse_number(re.sub(r"[^\d.,]", "", t)) for t in by_label.get(23, [])} - {None}
    whole = {float(re.sub(r"\D", "", t)) for t in by_label.get(23, []) if re.search(r"\d", t)
             and not re.search(r"[.,]\d\d$", t.strip())}
    dates = frozenset().union(*(truth_dates(t) for t in by_label.get(7, [])))
    store = "".join(by_label.get(1, [])) or None
    total = max(totals) if len(totals) == 1 else None
    return Truth(total, dates, store, None, frozenset(whole) if total is not None else frozenset(),
                 tuple(by_label.get(1, [])))


def cached(data: Path, cache: Path, name: str) -> Iterator[Sample]:
    """Samples of one cached OCR set, with truth from the dataset."""
    for path in sorted((cache / name).glob("*.json")):
        if name == "sroie":
            key = data / "sroie" / "keys" / f"{path.stem}.json"
            truth = sroie_truth(key) if key.exists() else None
        elif name == "de-receipts":
            truth = de_truth(path.stem)
        else:
            label = data / "wildreceipt" / "labels" / f"{path.stem}.json"
            truth = wild_truth(label) if label.exists() else None
        if truth is not None:
            yield Sample(path.stem, _cached_lines(path), truth)


def merchant_hit(got: str | None, truth: str) -> bool:
    """Folded letters and digits equal, nearly equal, or containing a short shop key."""
    if not got:
        return False
    a, b = compact(got), compact(truth)
    return bool(a) and (a == b or SequenceMatcher(None, a, b).ratio() >= 0.8 or (len(b) <= 12 and b in a))


def score(name: str, samples: Iterator[Sample], *, text_only: bool) -> Score:
    """Run `parse_header` over every sample and count the fields it got right."""
    result = Score(name)
    for sample in samples:
        lines = [line.text for line in sample.lines] if text_only else sample.lines
        header = parse_header(lines)
        _count(result, sample, header)
    return result


def _count(result: Score, sample: Sample, header: ReceiptHeader) -> None:
    truth = sample.truth
    checks = {
        "total": (truth.total, header.total is not None and truth.total is not None
                  and any(abs(header.total - t) < 0.005 for t in {truth.total, *truth.other_totals})),
        "date": (truth.dates or None, (header.purchased_at or "")[:10] in truth.dates),
        "merchant": (truth.merchant, any(merchant_hit(header.merchant, name)
                                         for name in (truth.merchant or "", *truth.other_merchants))),
        "currency": (truth.currency, header.currency == truth.currency),
        "address": (truth.address, merchant_hit(header.address, truth.address or "")),
    }
    wrong = []
    for name, (expected, hit) in checks.items():
        if expected is None:
            continue
        result.counted[name] += 1
        result.hits[name] += hit
        if not hit:
            wrong.append(f"{name}: {getattr(header, _ATTR[name])!r} != {expected!r}")
    if wrong:
        result.misses.append(f"{result.name}/{sample.name}: " + "; ".join(wrong))


_ATTR = {"total": "total", "date": "purchased_at", "merchant": "merchant", "currency": "currency",
         "address": "address"}


def run(data: Path, cache: Path, *, text_only: bool) -> list[Score]:
    """Every available source, scored."""
    scores: list[Score] = []
    if (data / "sroie" / "boxes").is_dir():
        samples = list(sroie_text(data))
        half = len(samples) // 2
        scores.append(score("sroie-text A", iter(samples[:half]), text_only=text_only))
        scores.append(score("sroie-text B", iter(samples[half:]), text_only=text_only))
    for name in ("sroie", "de-receipts", "wildreceipt"):
        if (cache / name).is_dir():
            scores.append(score(f"{name}-ocr", cached(data, cache, name), text_only=text_only))
    return scores


def main() -> None:
    """Command line entry point: print a markdown table (and the misses with --misses)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--text-only", action="store_true", help="pass plain strings, no geometry")
    parser.add_argument("--misses", action="store_true", help="list every receipt with a wrong field")
    parser.add_argument("--only", default=None, help="only sources whose name starts with this")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no data folder at {args.data}: set FOODAI_DATASETS or --data; nothing measured")
        return
    scores = run(args.data, args.cache, text_only=args.text_only)
    scores = [s for s in scores if args.only is None or s.name.startswith(args.only)]
    print("| source | receipts | " + " | ".join(FIELDS) + " |")
    print("|---|---|" + "---|" * len(FIELDS))
    for result in scores:
        print(result.row())
    if args.misses:
        for result in scores:
            print(*result.misses, sep="\n")


if __name__ == "__main__":
    main()
