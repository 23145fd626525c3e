"""Line items on real receipts: the parser scored on cached OCR boxes, without running OCR.

Sets (see ../shared/datasets/README.md):
- wildreceipt: truth items are the label-15 price boxes; an item's name is the label-11 boxes on
  the price's printed row (rows found after deskewing the label boxes). Price-matched F1 is a
  multiset match of prices; name-and-price F1 also needs the compacted names (annotators removed
  spaces) to agree with a difflib ratio of at least 0.8. Scored on each OCR engine's cache and on
  the label boxes themselves as if they were OCR (all classes: parsing errors without OCR errors),
  on the even and the odd file numbers separately so that overfitting shows. A row per source also scores
  all photos with `bench.accuracy`'s truth and matching (`bench.real_sets`: names from the rows of the upright page,
  or the row above), the numbers the targets are set in.
- de-receipts: the item count in the file name (`shop_DDMMYYYY_items_totalcents`), and whether the
  items' prices sum to the printed total.
- sroie: no item truth; the share of receipts whose items sum to the key's total, or to it once
  6% GST is added, within the 5 sen rounding (a plausibility check only: service charges, discounts
  and net prices make some miss).
- corpus: the generated receipts of `bench.corpus` (OCR run once and cached), price-matched F1.

    python -m bench.items [--cache /work/ocr-cache] [--engines rapidocr] [--corpus 30]
        [--scripts default cyrillic thai] [--verbose]
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.recognition.base import RawItem
from app.recognition.layout import OcrBox, to_lines
from app.recognition.receipt_parser import parse_receipt
from app.recognition.text import compact, parse_number
from bench import real_scoring, real_sets

DATA = Path(os.environ.get("FOODAI_DATASETS", "../shared/datasets"))
NAME, PRICE = 11, 15
Truth = list[tuple[str, float]]


@dataclass(slots=True)
class Score:
    """True/false positives and misses for prices alone and for name and price."""

    price: Counter[str] = field(default_factory=Counter)
    named: Counter[str] = field(default_factory=Counter)
    receipts: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, key: str, got: Sequence[RawItem], want: Truth) -> None:
        """Score one receipt."""
        self.receipts += 1
        got_prices = Counter(round(i.price, 3) for i in got if i.price is not None)
        want_prices = Counter(round(p, 3) for _, p in want)
        hits = sum((got_prices & want_prices).values())
        _count(self.price, hits, sum(got_prices.values()), len(want))
        named = _name_hits(got, want)
        _count(self.named, named, len(got), len(want))
        if hits < max(len(got), len(want)):
            self.misses.append(f"{key}: missing {sorted((want_prices - got_prices).elements())} "
                               f"extra {sorted((got_prices - want_prices).elements())}")

    @staticmethod
    def f1(counts: Counter[str]) -> float:
        """F1 from tp/fp/fn counts."""
        tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _count(counter: Counter[str], hits: int, got: int, want: int) -> None:
    counter.update(tp=hits, fp=got - hits, fn=want - hits)


def _name_hits(got: Sequence[RawItem], want: Truth) -> int:
    free = list(want)
    hits = 0
    for item in got:
        name = compact(item.raw_text)
        for index, (truth_name, price) in enumerate(free):
            if item.price is not None and abs(item.price - price) < 0.005 and (
                    difflib.SequenceMatcher(None, name, truth_name).ratio() >= 0.8):
                hits += 1
                del free[index]
                break
    return hits


def _quad(flat: Sequence[float]) -> tuple[tuple[float, float], ...]:
    """Label corners (any order) as top-left, top-right, bottom-right, bottom-left."""
    points = sorted(zip(flat[0::2], flat[1::2], strict=True), key=lambda p: p[1])
    top, bottom = sorted(points[:2]), sorted(points[2:])
    return (top[0], top[1], bottom[1], bottom[0])


def wild_truth(labels: dict[str, object]) -> Truth:
    """(compacted name, price) for each label-15 box; name from the label-11 boxes on its row."""
    notes = [a for a in labels["annotations"] if isinstance(a, dict) and str(a["text"]).strip()]  # type: ignore[attr-defined]
    shapes = [(_quad(a["box"]), a) for a in notes]
    centres = [(sum(p[0] for p in q) / 4, sum(p[1] for p in q) / 4, abs(q[1][0] - q[0][0]),
                abs(q[3][1] - q[0][1]) or 1.0) for q, _ in shapes]
    angle = real_sets.page_angle(centres)
    sin, cos = math.sin(angle), math.cos(angle)
    placed = [(x * cos + y * sin, -x * sin + y * cos, h, a)
              for (x, y, _, h), (_, a) in zip(centres, shapes, strict=True)]
    truth: Truth = []
    for px, py, ph, price in placed:
        if price["label"] != PRICE:
            continue
        value = _amount(str(price["text"]))
        if value is None:
            continue
        row = sorted((x, str(a["text"])) for x, y, h, a in placed
                     if a["label"] == NAME and x < px and abs(y - py) < 0.5 * max(h, ph))
        truth.append((compact("".join(t for _, t in row)), value))
    return truth


def _amount(text: str) -> float | None:
    """A price box's value: '$3.90', '.50', '2.679', '1900', '285.0O'."""
    token = re.sub(r"[^0-9.,]", "", text.replace("O", "0").replace("o", "0"))
    token = "0" + token if token[:1] in (".", ",") else token
    return parse_number(token.rstrip(".,"))


def label_boxes(labels: dict[str, object]) -> list[OcrBox]:
    """Every labelled box (all classes), as if OCR had read it."""
    return [OcrBox(_quad(a["box"]), str(a["text"]), 1.0)  # type: ignore[arg-type]
            for a in labels["annotations"] if str(a["text"]).strip()]  # type: ignore[attr-defined]


def cached_boxes(path: Path) -> list[OcrBox]:
    """Boxes from an OCR cache file (`{"boxes": [[corners, text, score], ...]}`)."""
    raw = json.loads(path.read_text())["boxes"]
    return [OcrBox(tuple((float(x), float(y)) for x, y in c), str(t), float(s)) for c, t, s in raw]  # type: ignore[arg-type]


def items_of(boxes: Sequence[OcrBox]) -> list[RawItem]:
    """What the parser makes of one receipt's boxes."""
    return parse_receipt(to_lines(boxes)).items


def _wild_receipts(source: str, cache: Path) -> Iterable[tuple[str, dict[str, object], list[OcrBox]]]:
    """(stem, labels, boxes) per wildreceipt photo, boxes from the labels or an engine's cache."""
    for path in sorted((DATA / "wildreceipt/labels").glob("*.json")):
        labels = json.loads(path.read_text())
        ocr = cache / source / "wildreceipt" / path.name
        if source == "labels":
            yield path.stem, labels, label_boxes(labels)
        elif ocr.exists():
            yield path.stem, labels, cached_boxes(ocr)


def run_wild(source: str, cache: Path, verbose: bool) -> dict[str, Score]:
    """Score wildreceipt from one source ('labels' or an engine name), per half."""
    scores = {"even": Score(), "odd": Score()}
    for stem, labels, boxes in _wild_receipts(source, cache):
        scores["even" if int(stem) % 2 == 0 else "odd"].add(stem, items_of(boxes), wild_truth(labels))
    return scores


def run_wild_as_accuracy(source: str, cache: Path) -> tuple[int, float, float]:
    """(receipts, price F1, name-and-price F1) with `bench.accuracy`'s truth and matching (`bench.real_sets`,
    `bench.real_scoring`), so that the labels' ceiling compares with the targets."""
    receipts = found = expected = prices = names = 0
    for _, labels, boxes in _wild_receipts(source, cache):
        items = [(item.raw_text, item.price) for item in items_of(boxes)]
        result = real_scoring.score(real_sets.wild_truth(labels), real_scoring.Prediction(items=items))
        receipts += 1
        found += result.found
        expected += result.expected or 0
        prices += result.price_hits or 0
        names += result.name_hits or 0
    return receipts, real_scoring.f1(prices, found, expected), real_scoring.f1(names, found, expected)


def run_de(cache: Path, engine: str) -> tuple[int, int, int]:
    """(receipts, item count right, item sum equals total) on the German scans."""
    done = count_ok = sum_ok = 0
    for image in sorted((DATA / "de-receipts").glob("*.jpg")):
        ocr = cache / engine / "de-receipts" / f"{image.stem}.json"
        parts = image.stem.split("_")
        if not ocr.exists():
            continue
        items = items_of(cached_boxes(ocr))
        done += 1
        count_ok += len(parts) == 4 and int(parts[2]) == len(items)
        sum_ok += abs(sum(i.price or 0 for i in items) - int(parts[-1]) / 100) < 0.005
    return done, count_ok, sum_ok


def run_sroie(cache: Path, engine: str) -> tuple[int, int]:
    """(receipts, items sum to the key's total) on the SROIE images."""
    done = ok = 0
    for ocr in sorted((cache / engine / "sroie").glob("*.json")):
        key = json.loads((DATA / "sroie/keys" / ocr.name).read_text())
        total = _amount(str(key.get("total", "")))
        items = items_of(cached_boxes(ocr))
        done += 1
        ok += total is not None and _explains(sum(i.price or 0 for i in items), total)
    return done, ok


def _explains(items_sum: float, total: float) -> bool:
    """The items make the total: equal, or once 6% GST is added, within the 5 sen rounding."""
    return any(abs(round(items_sum * rate, 2) - total) <= 0.025 for rate in (1.0, 1.06))


def run_corpus(count: int, cache: Path, script: str | None) -> Score:
    """Price-matched F1 on the generated corpus of one script (clean and degraded; None: the original
    Latin locales); OCR cached under `cache`/corpus and redone when the receipt drawn for a seed changes."""
    from bench.corpus import make_receipt

    score = Score()
    seeds = [(s, False) for s in range(1, count + 1)] + [(s, True) for s in range(1001, 1001 + count)]
    for seed, degraded in seeds:
        receipt = make_receipt(seed, script)
        truth = [(compact(t.text), t.price) for t in receipt.items]
        path = cache / "corpus" / (script or "default") / f"{seed}.json"
        if not path.exists() or json.loads(path.read_text()).get("truth") != [list(t) for t in truth]:
            _ocr_corpus(path, seed, degraded, script, truth)
        score.add(f"{script or 'default'} {seed}", items_of(cached_boxes(path)), truth)
    return score


def _ocr_corpus(path: Path, seed: int, degraded: bool, script: str | None, truth: Truth) -> None:
    from app.recognition.local import LocalRecognizer
    from bench.corpus import generate

    data = generate(seed, degraded=degraded, script=script)[0]
    boxes = LocalRecognizer().ocr(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"truth": [list(t) for t in truth],
                                "boxes": [[list(b.points), b.text, b.score] for b in boxes]}))


def _row(name: str, score: Score) -> str:
    return (f"| {name} | {score.receipts} | {score.price['tp'] + score.price['fn']} | "
            f"{Score.f1(score.price):.3f} | {Score.f1(score.named):.3f} |")


def report(args: argparse.Namespace) -> Iterable[str]:
    """The markdown lines of one run."""
    yield "| set | receipts | truth items | item F1 (price) | item F1 (name and price) |"
    yield "|---|---|---|---|---|"
    misses: list[str] = []
    for source in ["labels", *args.engines]:
        scores = run_wild(source, args.cache, args.verbose)
        for half, score in scores.items():
            yield _row(f"wildreceipt {half}, {source}", score)
            misses += [f"{source} {m}" for m in score.misses]
        receipts, price, named = run_wild_as_accuracy(source, args.cache)
        yield f"| wildreceipt all, {source}, scored as bench.accuracy | {receipts} | | {price:.3f} | {named:.3f} |"
    for engine in args.engines:
        done, count_ok, sum_ok = run_de(args.cache, engine)
        yield (f"| de-receipts, {engine}: item count right {count_ok}/{done}, "
               f"items sum to total {sum_ok}/{done} | | | | |")
        done, ok = run_sroie(args.cache, engine)
        yield f"| sroie, {engine}: items sum to total (or with 6% GST; rounding) {ok}/{done} | | | | |"
    for script in args.scripts if args.corpus else []:
        corpus = run_corpus(args.corpus, args.cache, None if script == "default" else script)
        yield _row(f"corpus {script} (clean + degraded), rapidocr", corpus)
        misses += [f"corpus {m}" for m in corpus.misses]
    if args.verbose:
        yield from misses


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("FOODAI_OCR_CACHE", "/work/ocr-cache")))
    parser.add_argument("--engines", nargs="*", default=["rapidocr"])
    parser.add_argument("--corpus", type=int, default=0, help="generated receipts per set (0: skip)")
    parser.add_argument("--scripts", nargs="*", default=["default"],
                        help="corpus scripts: default (the original Latin locales), latin, cyrillic, thai")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"no datasets at {DATA}: set FOODAI_DATASETS")
        return
    for line in report(args):
        print(line)


if __name__ == "__main__":
    main()
