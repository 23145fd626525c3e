"""Enrichment: raw recognized lines -> pantry items (name, quantity, unit, category, shelf life).

One module used by the API and the worker. For each raw line it:
1. cleans the text: leading article codes / SKU digits, trailing tax-class letters
   (' A', ' B', ' *'), fat percentages, and pack sizes ('500G', '1L', '1,5 L',
   '6x0.33l', '10ER') which become the quantity and unit;
2. applies the user's alias for the line, if any, before anything else;
3. matches the catalog (`app.recognition.catalog`) for a display name in the job's
   language, a category and a shelf life; unknown text keeps its cleaned name,
   category 'other' and no shelf life; never an error;
4. merges identical lines of one image into one item with summed quantity and price.

Units are canonical: pcs, g, kg, ml, l.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from app.domain import ResultItem
from app.recognition.base import RawItem
from app.recognition.catalog import Catalog, CatalogItem, load_catalog
from app.recognition.text import clean_ocr, parse_number

CATEGORIES = (
    "produce", "dairy", "meat", "fish", "bakery", "frozen",
    "pantry", "beverages", "snacks", "household", "other",
)
UNITS = ("pcs", "g", "kg", "ml", "l")

_UNIT_ALIASES = {
    "g": ("g", 1.0), "gr": ("g", 1.0), "grs": ("g", 1.0), "kg": ("kg", 1.0), "mg": ("g", 0.001),
    "ml": ("ml", 1.0), "cl": ("ml", 10.0), "dl": ("ml", 100.0), "l": ("l", 1.0), "ltr": ("l", 1.0),
    "lt": ("l", 1.0), "liter": ("l", 1.0), "litre": ("l", 1.0),
    "pcs": ("pcs", 1.0), "pc": ("pcs", 1.0), "st": ("pcs", 1.0), "stk": ("pcs", 1.0), "stck": ("pcs", 1.0),
    "szt": ("pcs", 1.0), "pz": ("pcs", 1.0), "pzs": ("pcs", 1.0), "uds": ("pcs", 1.0), "un": ("pcs", 1.0),
    "ea": ("pcs", 1.0), "x": ("pcs", 1.0), "ks": ("pcs", 1.0), "kom": ("pcs", 1.0), "adet": ("pcs", 1.0),
    # Cyrillic (ru, uk, bg, sr) and Thai receipts
    "г": ("g", 1.0), "гр": ("g", 1.0), "кг": ("kg", 1.0), "мг": ("g", 0.001), "мл": ("ml", 1.0), "л": ("l", 1.0),
    "шт": ("pcs", 1.0), "бр": ("pcs", 1.0), "ком": ("pcs", 1.0),
    "กรัม": ("g", 1.0), "กก": ("kg", 1.0), "มล": ("ml", 1.0), "ลิตร": ("l", 1.0), "ชิ้น": ("pcs", 1.0), "ฟอง": ("pcs", 1.0),
}
_NUM = r"\d+(?:[.,]\d+)?"
_NOT_LETTER = r"(?![a-z\u0430-\u045f])"  # a unit ends where no Latin or Cyrillic letter follows
# OCR reads a zero of a pack size as a letter O: '75OG', '1OOml'.
_O_FOR_ZERO = re.compile(r"(?<=\d)[0Oo]+(?=\s*(?:kg|g|ml|l)\b)", re.IGNORECASE)
_PACK = re.compile(
    rf"(?<![0-9.,])(?:(\d+)\s*[x\u00d7*\u0445]\s*)?({_NUM})\s*"
    rf"(kg|mg|grs|gr|g|ml|cl|dl|ltr|lt|liter|litre|l|кг|мг|гр|г|мл|л|กก|กรัม|มล|ลิตร){_NOT_LETTER}",
    re.IGNORECASE,
)
_COUNT = re.compile(
    r"(?<![0-9.,])(\d{1,3})\s*(?:er|st|stk|stck|szt|pcs|pz|uds|un|ks|kom|adet|шт|бр|ком|ชิ้น|ฟอง)"
    rf"{_NOT_LETTER}|(?<![a-z])x\s*(\d{{1,3}})\b",
    re.IGNORECASE,
)
_SKU = re.compile(r"^\s*(?:\d{3,}|[0-9]{1,2}[-/]\d{3,})\s+|^\s*\d{4,}(?=[^\W\d_]{2})")
_ONE_KG = re.compile(r"(?<![^\W\d_])[Il](?=\s*kg\b)", re.IGNORECASE)
_TAX_CLASS = re.compile(r"(?:\s+(?:[A-D]|[A-D]?\*|\*[A-D]?))+\s*$")
_PERCENT = re.compile(rf"{_NUM}\s*%")
# OCR confuses O/0 and l/1: '4o0G' is 400 g, 'SCH0K0LADE' is SCHOKOLADE.
_O_IN_NUMBER = re.compile(r"(?<=\d)[oO](?=[\doO]*\s*(?:k?g|m?l|[.,]|\d|$))")
_ZERO_IN_WORD = re.compile(r"(?<=[^\W\d_])0(?=[^\W\d_])")


@dataclass(frozen=True, slots=True)
class Alias:
    """A user's correction of a raw receipt line, applied before the catalog."""

    name: str
    category: str
    unit: str


@dataclass(frozen=True, slots=True)
class CleanName:
    """A receipt line's name with the pack size taken out.

    `pack_quantity`/`pack_unit` describe one unit bought ('6x0.33l' -> 1.98 l,
    '10ER' -> 10 pcs); both are None when the name does not say.
    """

    text: str
    pack_quantity: float | None = None
    pack_unit: str | None = None


def alias_key(raw_text: str) -> str:
    """The key a raw line is looked up by in a user's aliases (case and spacing folded)."""
    return " ".join(raw_text.lower().split())


def canonical_unit(unit: str | None) -> tuple[str, float] | None:
    """('kg', 1.0) for 'KG', ('ml', 10.0) for 'cl' (the factor to multiply quantities by); None if unknown."""
    if unit is None:
        return None
    return _UNIT_ALIASES.get(unit.strip().lower().rstrip("."))


def _take_pack(text: str) -> tuple[str, float | None, str | None]:
    match = _PACK.search(_O_FOR_ZERO.sub(lambda m: "0" * len(m.group()), text))
    if match:
        count, amount, unit = match.groups()
        value = parse_number(amount)
        canonical = canonical_unit(unit)
        if value is not None and canonical is not None:
            quantity = round(value * canonical[1] * (int(count) if count else 1), 6)
            return text[: match.start()] + " " + text[match.end() :], quantity, canonical[0]
    match = _COUNT.search(text)
    if match:
        count_text = match.group(1) or match.group(2)
        return text[: match.start()] + " " + text[match.end() :], float(count_text), "pcs"
    return text, None, None


def clean_name(raw_text: str) -> CleanName:
    """Strip article codes, tax-class letters, fat percentages and the pack size from a receipt line."""
    text = _TAX_CLASS.sub("", _SKU.sub("", clean_ocr(raw_text)))
    text = _ZERO_IN_WORD.sub("O", _O_IN_NUMBER.sub("0", _ONE_KG.sub("1", text)))
    text, quantity, unit = _take_pack(text)
    text = _PERCENT.sub(" ", text)
    text = " ".join(text.replace("  ", " ").split()).strip(" -.,:;*/")
    return CleanName(text or clean_ocr(raw_text), quantity, unit)


def _quantity(raw: RawItem, name: CleanName) -> tuple[float, str]:
    """How much was bought: a weight or volume from the line, else count x pack size, else count pcs."""
    unit = canonical_unit(raw.unit)
    if unit is not None and unit[0] != "pcs" and raw.quantity is not None:
        return round(raw.quantity * unit[1], 6), unit[0]
    count = raw.quantity if raw.quantity is not None else 1.0
    if name.pack_quantity is not None and name.pack_unit is not None:
        return round(count * name.pack_quantity, 6), name.pack_unit
    return count, "pcs"


class Enricher:
    """Turns raw items into pantry items; cheap to call, build it once per process."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self._catalog = catalog

    @property
    def catalog(self) -> Catalog:
        """The catalog in use, loaded on first use."""
        if self._catalog is None:
            self._catalog = load_catalog()
        return self._catalog

    def enrich(
        self,
        items: Sequence[tuple[int, RawItem]],
        *,
        lang: str,
        aliases: Mapping[str, Alias] | None = None,
    ) -> list[ResultItem]:
        """Enrich `(image_index, raw_item)` pairs; never raises on unknown words.

        Identical lines of the same image come back as one item (quantities and prices summed),
        in the order of their first appearance.
        """
        aliases = aliases or {}
        enriched = [self._one(index, raw, lang=lang, aliases=aliases) for index, raw in items]
        return merge_items(enriched)

    def _one(self, image_index: int, raw: RawItem, *, lang: str, aliases: Mapping[str, Alias]) -> ResultItem:
        name = clean_name(raw.raw_text)
        quantity, unit = _quantity(raw, name)
        item = ResultItem(
            name=name.text, raw_text=raw.raw_text, quantity=quantity, unit=unit,
            category=raw.category_hint if raw.category_hint in CATEGORIES else "other",
            confidence=raw.confidence, image_index=image_index, price=raw.price,
            unit_price=raw.unit_price, box=None if raw.box is None else tuple(raw.box),
        )
        alias = aliases.get(alias_key(raw.raw_text))
        if alias is not None:
            return _apply_alias(item, alias)
        match = self._match(raw, name, lang)
        if match is not None:
            return replace(item, name=match.display_name(lang), category=match.category,
                           storage_days=match.storage_days, catalog_key=match.key)
        return replace(item, name=raw.name_hint) if raw.name_hint else item

    def _match(self, raw: RawItem, name: CleanName, lang: str) -> CatalogItem | None:
        for text in (raw.name_hint, name.text):
            if text:
                found = self.catalog.match(text, lang=lang)
                if found is not None:
                    return found.item
        return None


def _apply_alias(item: ResultItem, alias: Alias) -> ResultItem:
    unit = item.unit if alias.unit == item.unit else alias.unit if alias.unit in UNITS else "pcs"
    return replace(item, name=alias.name, category=alias.category if alias.category in CATEGORIES else "other",
                   unit=unit)


def _merge_key(item: ResultItem) -> tuple[int, str, str, str]:
    return (item.image_index, alias_key(clean_name(item.raw_text).text), item.name, item.unit)


def merge_items(items: Sequence[ResultItem]) -> list[ResultItem]:
    """Merge items of the same image with the same cleaned text, name and unit: quantities and prices add up."""
    merged: dict[tuple[int, str, str, str], ResultItem] = {}
    for item in items:
        key = _merge_key(item)
        first = merged.get(key)
        if first is None:
            merged[key] = item
            continue
        merged[key] = replace(
            first, quantity=round(first.quantity + item.quantity, 6),
            price=None if first.price is None or item.price is None else round(first.price + item.price, 2),
            confidence=min(first.confidence, item.confidence),
            unit_price=first.unit_price if first.unit_price == item.unit_price else None,
        )
    return list(merged.values())
