"""The grocery catalog: ~500 common items with names in eight languages, and a tolerant matcher.

The data lives in `data/catalog.tsv` (one item per row: key, category, storage days,
names in en/de/fr/es/it/nl/pt/pl separated by '|', first one displayed, then
receipt-style aliases). `load_catalog()` reads and indexes it once per process.

Matching folds case and accents and ignores spacing (OCR often drops spaces), then
tries, in order: an exact name, a name contained in the text ('BIO BANANEN' ->
'bananen'), the text as a prefix of a name (receipts truncate: 'VOLLM' -> 'vollmilch')
and a character-trigram shortlist ranked by difflib similarity.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from importlib import resources
from pathlib import Path

from app.recognition.text import compact

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl")
MATCH_THRESHOLD = 0.74
_MIN_CONTAINED = 4  # shorter names ('gin', 'ham') match only exactly
_SHORTLIST = 40


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One grocery item: its category, shelf life and names per language."""

    key: str
    category: str
    storage_days: int
    names: dict[str, tuple[str, ...]]
    aliases: tuple[str, ...]

    def display_name(self, lang: str) -> str:
        """The item's first name in `lang` ('de', 'de-AT', 'pt_BR'), English when the language is unknown."""
        names = self.names.get(lang[:2].lower()) or self.names["en"]
        name = names[0]
        return name[:1].upper() + name[1:]


@dataclass(frozen=True, slots=True)
class Match:
    """A catalog item found for a text, with a similarity score in 0..1."""

    item: CatalogItem
    score: float


@dataclass(frozen=True, slots=True)
class _Name:
    text: str  # compact form
    item: int
    lang: str  # '' for aliases


def _trigrams(text: str) -> set[str]:
    padded = f"^{text}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class Catalog:
    """Items plus the indexes the matcher needs; build it with `load_catalog()`."""

    def __init__(self, items: list[CatalogItem]) -> None:
        self.items = items
        self._names: list[_Name] = []
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._grams: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            for lang, names in [*item.names.items(), ("", item.aliases)]:
                for name in names:
                    self._add(_Name(compact(name), index, lang))

    def _add(self, name: _Name) -> None:
        if not name.text:
            return
        position = len(self._names)
        self._names.append(name)
        self._exact[name.text].append(position)
        for gram in _trigrams(name.text):
            self._grams[gram].append(position)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: str) -> CatalogItem | None:
        """The item with this key, if any."""
        return next((item for item in self.items if item.key == key), None)

    def match(self, text: str, *, lang: str = "en") -> Match | None:
        """The best catalog item for `text` scoring at least MATCH_THRESHOLD, else None."""
        query = compact(text)
        if len(query) < 2:
            return None
        lang = lang[:2].lower()
        exact = self._exact.get(query)
        if exact:
            return Match(self.items[self._prefer(exact, lang).item], 1.0)
        best: tuple[float, int] | None = None
        for position in self._shortlist(query):
            name = self._names[position]
            score = _score(query, name.text) + (0.005 if name.lang == lang else 0.0)
            if best is None or score > best[0]:
                best = (score, position)
        if best is None or best[0] < MATCH_THRESHOLD:
            return None
        return Match(self.items[self._names[best[1]].item], min(best[0], 1.0))

    def _prefer(self, positions: list[int], lang: str) -> _Name:
        names = [self._names[p] for p in positions]
        return next((n for n in names if n.lang == lang), names[0])

    def _shortlist(self, query: str) -> list[int]:
        counts: Counter[int] = Counter()
        for gram in _trigrams(query):
            counts.update(self._grams.get(gram, ()))
        return [position for position, _ in counts.most_common(_SHORTLIST)]


def _score(query: str, name: str) -> float:
    """Similarity of a compact query and a compact catalog name, in 0..1.2."""
    score = SequenceMatcher(None, query, name, autojunk=False).ratio()
    if len(name) >= _MIN_CONTAINED and name in query:
        score = max(score, 0.8 + 0.2 * len(name) / len(query))
    if len(query) >= _MIN_CONTAINED + 1 and name.startswith(query):
        score = max(score, 0.76 + 0.2 * len(query) / len(name))
    return score


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip())


def _read_rows(text: str) -> list[CatalogItem]:
    reader = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")),
                            delimiter="\t", quoting=csv.QUOTE_NONE)
    return [
        CatalogItem(
            key=row["key"],
            category=row["category"],
            storage_days=int(row["storage_days"]),
            names={lang: _split(row[lang]) for lang in LANGUAGES},
            aliases=_split(row.get("aliases") or ""),
        )
        for row in reader
    ]


def parse_catalog(text: str) -> Catalog:
    """Build a Catalog from TSV text in the format of `data/catalog.tsv`."""
    return Catalog(_read_rows(text))


@lru_cache(maxsize=4)
def load_catalog(path: Path | None = None) -> Catalog:
    """Read and index the catalog once per process (cached per path); the packaged one by default."""
    if path is None:
        text = resources.files("app.recognition").joinpath("data/catalog.tsv").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return parse_catalog(text)
