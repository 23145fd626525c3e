"""Real receipt sets with their truth: loaders and the rules that turn labels into expected answers.

Pure functions over the files of the shared data folder (see its README):
- `sroie`: `images/NNN.jpg` with `keys/NNN.json` (company, date, total); MYR, day-first dates.
- `wildreceipt`: `images/NNN.jpg` with `labels/NNN.json` (classed text boxes, spaces removed).
- `de-receipts`: scans named `X-shop_DDMMYYYY[_items]_totalcents.jpg`; EUR.

Truth rules that needed a decision (also printed on the benchmark page):
- wildreceipt total: every label-23 box that reads as an amount; the most frequent value,
  ties going to the lowest box on the page (the amount finally due, after tips).
- wildreceipt items: one per printed row (rows of the page turned upright: many photos are
  tilted) that holds a label-15 price (the rightmost price of the row: a unit price may precede
  it); its name is the row's label-11 texts, or else the
  label-11 texts of the row just above when that row has no price of its own (name line above
  a quantity line); a price with no name anywhere is expected for price matching only. When
  that leaves a price unnamed or a name unpriced, the page has as many named rows as priced
  rows, and every price stands the same height (within 0.4 line) less than a line off its name
  in order, names and prices pair in order (the price boxes were drawn shifted against the names).
- wildreceipt currency: only from symbols or ISO codes printed in the total/price boxes; a bare
  `$` accepts any dollar currency. Otherwise the receipt has no currency truth.
- wildreceipt dates: numeric dates whose day-month order is ambiguous accept either reading.
- merchant: sroie and wildreceipt compare compacted alphanumerics with a similarity ratio of at
  least 0.9 (one OCR slip in a long name, or the annotators' own typos, still count; a different
  shop never reaches it); wildreceipt accepts its label-1 boxes joined or any one of them.
  de-receipts: the file name's shop slug must appear in the compacted merchant (`ALIASES`
  lists the printed names of the slugs that are not the shop's printed name).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from app.recognition.text import compact

SETS = ("sroie", "wildreceipt", "de-receipts")
LANGS = {"sroie": "en", "wildreceipt": "en", "de-receipts": "de"}
ALIASES = {"tanke": ("tankstelle", "westfalen"), "apotheke": ("apotheke", "delphin")}
DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD"})
_SYMBOLS = (("AU$", "AUD"), ("A$", "AUD"), ("CA$", "CAD"), ("C$", "CAD"), ("US$", "USD"), ("NZ$", "NZD"),
            ("S$", "SGD"), ("HK$", "HKD"), ("€", "EUR"), ("£", "GBP"))
_CODES = frozenset({"EUR", "GBP", "USD", "AUD", "CAD", "AED", "CHF", "MYR", "SGD", "INR", "HKD", "NZD"})
# wildreceipt label classes (class_list.txt, counted from 0)
STORE, DATE, ITEM_NAME, QUANTITY, ITEM_PRICE, TOTAL = 1, 7, 11, 13, 15, 23
_SAME_SHIFT = 0.4  # text lines by which prices paired in order may differ in their height over their names

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
           "oct": 10, "nov": 11, "dec": 12, "mai": 5, "okt": 10, "dez": 12, "mrz": 3, "mär": 3,  # de
           "janv": 1, "fev": 2, "fév": 2, "avr": 4, "juin": 6, "juil": 7, "aout": 8, "août": 8, "déc": 12,  # fr
           "ene": 1, "abr": 4, "ago": 8, "dic": 12}  # es
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_YEAR = r"(\d{4}|\d{2}(?!\d))"
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-]" + _YEAR)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[./-](\d{1,2})[./-](\d{1,2})(?!\d)")
_DAY_MONTH = re.compile(rf"(?<!\d)(\d{{1,2}})\s*[-./]?\s*({_MON})[a-z]*\.?\s*[-./,'\u00b4\u2019]?\s*" + _YEAR)
_MONTH_DAY = re.compile(rf"({_MON})[a-z]*\.?\s*[-./]?\s*(\d{{1,2}})\s*[-./,'\u00b4\u2019]?\s*" + _YEAR)
_AMOUNT = re.compile(r"-?\d{1,3}(?:([.,' ])\d{3})*(?:[.,]\d{1,2})?|-?\d+(?:[.,]\d{1,2})?")
_AMOUNT_EDGES = re.compile(r"^[^\d.,-]{0,4}|[^\d]{0,4}$")
_CODE_BEFORE = re.compile(r"(?<![A-Z])([A-Z]{3})(?=\s*\d)")
_CODE_AFTER = re.compile(r"(?<=\d)\s*([A-Z]{3})(?![A-Z])")


@dataclass(frozen=True, slots=True)
class TruthItem:
    """One expected line item: its name (None when the receipt shows none) and line price."""

    name: str | None
    price: float
    quantity: float | None = None


@dataclass(frozen=True, slots=True)
class Truth:
    """What a receipt says; an empty field means this set has no truth for it (scored n/a)."""

    total: float | None = None
    dates: frozenset[date] = frozenset()
    merchants: tuple[str, ...] = ()  # compacted acceptable names
    merchant_rule: str = "similar"  # "similar" (ratio >= MERCHANT_RATIO) or "contains"
    currencies: frozenset[str] = frozenset()
    items: tuple[TruthItem, ...] | None = None
    item_count: int | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """One receipt image of a set with its truth."""

    set_name: str
    stem: str
    path: Path
    lang: str
    truth: Truth



def parse_amount(text: str) -> float | None:
    """An amount printed alone in `text` ('RM 57.40', '$1,007.50', '109,98', 'AED105.'), else None.

    A currency mark of up to four characters may precede or follow it. The last '.' or ','
    is the decimal mark when one or two digits follow it; otherwise separators group thousands.
    """
    core = _AMOUNT_EDGES.sub("", text.strip().replace(" ", ""))
    core = "0" + core if core[:1] in (".", ",") else core
    if not _AMOUNT.fullmatch(core):
        return None
    last = max(core.rfind("."), core.rfind(","))
    if last >= 0 and 1 <= len(core) - last - 1 <= 2:
        return float(re.sub(r"[.,']", "", core[:last]) + "." + core[last + 1:])
    return float(re.sub(r"[.,']", "", core))


def _valid(year: int, month: int, day: int) -> date | None:
    year = year + (2000 if year < 50 else 1900) if year < 100 else year
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_dates(text: str, *, day_first: bool | None) -> frozenset[date]:
    """Every calendar date `text` can mean: '25/12/2018', '2014-07-22', "Jul19'14", '21NOV\u00b415', ...

    Numeric day/month order follows `day_first`; with None an ambiguous date yields both readings.
    """
    low = text.lower().replace("0ct", "oct")
    found: set[date | None] = set()
    for m in _ISO_DATE.finditer(low):
        found.add(_valid(int(m[1]), int(m[2]), int(m[3])))
    for m in _NUMERIC_DATE.finditer(low):
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        orders = [(b, a)] if day_first else [(a, b)] if day_first is False else [(b, a), (a, b)]
        found.update(_valid(year, month, day) for month, day in orders)
    named = {_valid(int(m[3]), _MONTHS[m[2]], int(m[1])) for m in _DAY_MONTH.finditer(low)}
    if not named:  # '05 MAR 2018' must not also read as March 20, 2018
        named = {_valid(int(m[3]), _MONTHS[m[1]], int(m[2])) for m in _MONTH_DAY.finditer(low)}
    found |= named
    return frozenset(d for d in found if d is not None)


def currencies_in(texts: Iterable[str]) -> frozenset[str]:
    """The currency a list of amounts is printed in, from symbols or ISO codes; empty if none."""
    for text in texts:
        upper = text.upper()
        for symbol, code in _SYMBOLS:
            if symbol in upper:
                return frozenset({code})
        codes = set(_CODE_BEFORE.findall(upper) + _CODE_AFTER.findall(upper)) & _CODES
        if codes:
            return frozenset(codes)
        if "$" in upper:
            return DOLLARS
    return frozenset()


# --- sroie ---------------------------------------------------------------------------------------

def sroie_truth(keys: dict[str, str]) -> Truth:
    """Truth from a SROIE key file: company, day-first date, total; currency MYR."""
    company = compact(keys.get("company", ""))
    return Truth(total=parse_amount(keys.get("total", "")), dates=parse_dates(keys.get("date", ""), day_first=True),
                 merchants=(company,) if company else (), currencies=frozenset({"MYR"}))


def load_sroie(root: Path) -> list[Sample]:
    """The SROIE receipts that have an image."""
    return [Sample("sroie", image.stem, image, LANGS["sroie"],
                   sroie_truth(json.loads((root / "keys" / f"{image.stem}.json").read_text())))
            for image in sorted((root / "images").glob("*.jpg"))]


# --- wildreceipt ---------------------------------------------------------------------------------

def page_angle(boxes: Sequence[tuple[float, float, float, float]]) -> float:
    """The page angle at which each box (centre x, y, width, height) best lines up with a box to its left."""
    left = [[j for j, (ox, _, ow, _) in enumerate(boxes) if ox + ow / 2 < x - w / 2] for x, _, w, _ in boxes]

    def cost(angle: float) -> float:
        sin, cos = math.sin(angle), math.cos(angle)
        ys = [-x * sin + y * cos for x, y, _, _ in boxes]
        gaps = [min(min(abs(ys[j] - ys[i]) for j in left[i]) / h, 1.0)
                for i, (_, _, _, h) in enumerate(boxes) if left[i]]
        return sum(gaps) / max(len(gaps), 1) + 0.02 * abs(math.degrees(angle))
    return min((math.radians(d / 4) for d in range(-32, 33)), key=cost)


def _centre(box: dict[str, Any]) -> tuple[float, float, float, float]:
    xs, ys = box["box"][0::2], box["box"][1::2]
    return sum(xs) / len(xs), sum(ys) / len(ys), max(xs) - min(xs), (max(ys) - min(ys)) or 1.0


def _extent(box: dict[str, Any], angle: float = 0.0) -> tuple[float, float]:
    """The box's top and bottom on the page turned upright by `angle`."""
    sin, cos = math.sin(angle), math.cos(angle)
    ys = [-x * sin + y * cos for x, y in zip(box["box"][0::2], box["box"][1::2], strict=True)]
    return min(ys), max(ys)


def same_row(a: dict[str, Any], b: dict[str, Any], angle: float = 0.0) -> bool:
    """Whether two labelled boxes share a printed row: vertical overlap of half the smaller height, upright."""
    (a0, a1), (b0, b1) = _extent(a, angle), _extent(b, angle)
    smaller = min(a1 - a0, b1 - b0)
    return smaller > 0 and min(a1, b1) - max(a0, b0) >= 0.5 * smaller


def _rows(boxes: Sequence[dict[str, Any]], angle: float) -> list[list[dict[str, Any]]]:
    """Boxes grouped into rows (top to bottom of the upright page) by overlap with the row's first box."""
    rows: list[list[dict[str, Any]]] = []
    for box in sorted(boxes, key=lambda b: sum(_extent(b, angle))):
        row = next((r for r in rows[-3:] if same_row(r[0], box, angle)), None)
        if row is None:
            rows.append([box])
        else:
            row.append(box)
    return rows


def _joined(boxes: Iterable[dict[str, Any]], label: int) -> str:
    return "".join(b["text"] for b in sorted(boxes, key=lambda b: min(b["box"][0::2])) if b["label"] == label)


def _row_items(rows: Sequence[Sequence[dict[str, Any]]]) -> list[tuple[int, float, str]]:
    """(row index, price, name) per row holding a readable price, named by the rows (module docstring)."""
    items = []
    for index, row in enumerate(rows):
        price = _row_price(row)
        if price is None:
            continue
        name = _joined(row, ITEM_NAME)
        above = rows[index - 1] if index else []
        if not name and not any(b["label"] == ITEM_PRICE for b in above):
            name = _joined(above, ITEM_NAME)
        items.append((index, price, name))
    return items


def _row_price(row: Sequence[dict[str, Any]]) -> float | None:
    prices = [b for b in row if b["label"] == ITEM_PRICE]
    return parse_amount(max(prices, key=lambda b: max(b["box"][0::2]))["text"]) if prices else None


def _in_order(rows: Sequence[Sequence[dict[str, Any]]], angle: float) -> list[str] | None:
    """The names of the priced rows paired in order, when the rows pairing left a price unnamed or a name
    unpriced, the page has as many named rows as priced rows, and every price stands the same height
    (within 0.4 text line) and less than a text line above or below the name it gets: the labelled boxes
    of one column shifted against the other's by part of a line. None otherwise."""
    priced = [row for row in rows if _row_price(row) is not None]
    named = [row for row in rows if _joined(row, ITEM_NAME)]
    if not priced or len(priced) != len(named) or all(_joined(row, ITEM_NAME) for row in priced):
        return None

    def middle(boxes: Iterable[dict[str, Any]]) -> float:
        spans = [_extent(b, angle) for b in boxes]
        return sum(a + b for a, b in spans) / (2 * len(spans))

    names = [[b for b in row if b["label"] == ITEM_NAME] for row in named]
    prices = [[b for b in row if b["label"] == ITEM_PRICE] for row in priced]
    shifts = [middle(p) - middle(n) for p, n in zip(prices, names, strict=True)]
    line = sorted(b - a for row in names for a, b in (_extent(x, angle) for x in row))[len(names) // 2]
    if max(shifts) - min(shifts) > _SAME_SHIFT * line or max(abs(shift) for shift in shifts) > line:
        return None
    return [_joined(row, ITEM_NAME) for row in named]


def wild_items(boxes: Sequence[dict[str, Any]]) -> tuple[TruthItem, ...]:
    """Expected items: one per row holding a readable label-15 price (see the module docstring)."""
    angle = page_angle([_centre(b) for b in boxes])  # photos are tilted: rows are read on the upright page
    rows = _rows([b for b in boxes if b["label"] in (ITEM_NAME, QUANTITY, ITEM_PRICE)], angle)
    found = _row_items(rows)
    ordered = _in_order(rows, angle)
    if ordered is not None:
        found = [(index, price, name) for (index, price, _), name in zip(found, ordered, strict=True)]
    items = []
    for index, price, name in found:
        quantity = parse_amount(re.sub(r"[^\d.,].*$", "", _joined(rows[index], QUANTITY).lstrip("(")))
        items.append(TruthItem(name or None, price, quantity))
    return tuple(items)


def wild_total(boxes: Sequence[dict[str, Any]]) -> float | None:
    """The most frequent amount among the label-23 boxes; ties go to the lowest box."""
    amounts = [parse_amount(b["text"]) for b in sorted(boxes, key=lambda b: sum(_extent(b))) if b["label"] == TOTAL]
    counts = Counter(a for a in amounts if a is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in reversed(amounts) if a is not None and counts[a] == best)


def wild_truth(labels: dict[str, Any]) -> Truth:
    """Truth from a WildReceipt label file."""
    boxes = labels["annotations"]
    stores = [compact(b["text"]) for b in boxes if b["label"] == STORE]
    joined = "".join(stores)
    date_texts = [b["text"] for b in boxes if b["label"] == DATE]
    dates = frozenset().union(*(parse_dates(t, day_first=None) for t in [*date_texts, " ".join(date_texts)]))
    amounts = [b["text"] for b in boxes if b["label"] == TOTAL] + [b["text"] for b in boxes if b["label"] == ITEM_PRICE]
    return Truth(total=wild_total(boxes), dates=dates,
                 merchants=tuple(dict.fromkeys(s for s in (joined, *stores) if len(s) >= 4)),
                 currencies=currencies_in(amounts), items=wild_items(boxes))


def load_wildreceipt(root: Path) -> list[Sample]:
    """The WildReceipt photos that have a label file."""
    return [Sample("wildreceipt", label.stem, root / "images" / f"{label.stem}.jpg", LANGS["wildreceipt"],
                   wild_truth(json.loads(label.read_text())))
            for label in sorted((root / "labels").glob("*.json")) if (root / "images" / f"{label.stem}.jpg").exists()]


# --- de-receipts ---------------------------------------------------------------------------------

def de_truth(stem: str) -> Truth:
    """Truth from a name like 'A-lidl_07042020_06_01569' or 'C-saturn_08092017_112900'."""
    shop, day, *rest = stem.split("-", 1)[-1].split("_")
    return Truth(total=int(rest[-1]) / 100, dates=frozenset({date(int(day[4:]), int(day[2:4]), int(day[:2]))}),
                 merchants=ALIASES.get(shop, (shop,)), merchant_rule="contains", currencies=frozenset({"EUR"}),
                 item_count=int(rest[0]) if len(rest) == 2 else None)


def load_de_receipts(root: Path) -> list[Sample]:
    """The German scans; truth from their file names."""
    return [Sample("de-receipts", image.stem, image, LANGS["de-receipts"], de_truth(image.stem))
            for image in sorted(root.glob("*.jpg"))]


LOADERS = {"sroie": load_sroie, "wildreceipt": load_wildreceipt, "de-receipts": load_de_receipts}


def load_set(name: str, data: Path, limit: int | None = None) -> list[Sample]:
    """The first `limit` samples (all when None) of the named set under the data folder."""
    return LOADERS[name](data / name)[:limit]
