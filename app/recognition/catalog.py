"""The grocery catalog: ~500 common items with names in fifteen languages, and a tolerant matcher.

The data lives in `data/catalog.tsv` (one item per row: key, category, storage days,
one column of names per language (en de fr es it nl pt pl cs tr ru uk bg sr th; any
other column but `aliases` is read as a language too) separated by '|', first one
displayed, then receipt-style aliases). Serbian is written in Cyrillic; its Latin
spellings are derived as the names of 'sr-latn'. `load_catalog()` reads and indexes it once per process.

Matching folds case and accents and ignores spacing (OCR often drops spaces), then
tries, in order: an exact name, a name contained in the text ('BIO BANANEN' ->
'bananen'), the text as a prefix of a name (receipts truncate: 'VOLLM' -> 'vollmilch')
and a character-trigram shortlist ranked by difflib similarity. Cyrillic and Thai
names match the same way (`app.recognition.text` keeps those letters). The derived Serbian
Latin names are short and plentiful, so they match inside longer text or as its prefix only
on Serbian jobs ('odeca' must not find clothing in 'PAO DE CACHO').
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from importlib import resources
from pathlib import Path

from app.recognition.text import compact

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "cs", "tr", "ru", "uk", "bg", "sr", "th")
SR_LATIN = "sr-latn"  # names derived from the Serbian column, not a column of their own
_NOT_LANGUAGES = frozenset({"key", "category", "storage_days", "aliases"})
# Serbian Cyrillic letters and their Latin spelling (љ њ џ are two Latin letters each).
_SR_PAIRS = ("а a б b в v г g д d ђ đ е e ж ž з z и i ј j к k л l љ lj м m н n њ nj о o п p р r с s т t ћ ć "
             "у u ф f х h ц c ч č џ dž ш š").split()
_SR_LOWER = dict(zip(_SR_PAIRS[::2], _SR_PAIRS[1::2], strict=True))
_SR_LATIN = str.maketrans(_SR_LOWER | {cyr.upper(): lat.capitalize() for cyr, lat in _SR_LOWER.items()})
# Latin letters OCR reads for Cyrillic ones on a Cyrillic receipt ('CYMA', 'TOHUK'), folded (lower case):
# the shapes both scripts share, and Tesseract's 'u' for и and 'n' for п.
_CYRILLIC_LOOKALIKES = str.maketrans("abcehkmoptxyun", "авсенкмортхуип")
CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "bg", "sr", "mk", "be"})
# Thai vowel and tone marks written above or below a consonant, and the nikhahit of sara am.
_THAI_MARKS = str.maketrans("", "", "".join(map(chr, [0x0E31, *range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F)])))
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
        """The item's first name in `lang` ('uk', 'de-AT', 'pt_BR', 'en-IN'), English when the language is unknown.

        Serbian is Cyrillic unless the tag asks for Latin script ('sr-Latn', 'sr-Latn-RS').
        """
        names = self.names.get(language_key(lang)) or self.names["en"]
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


def thai_skeleton(text: str) -> str:
    """Compact Thai text without the marks above and below its letters, and sara am as sara aa: the
    marks OCR confuses or drops ('ซูป' for ซุป, 'น้า' for น้ำ, 'ถั่วล้นเตา' for ถั่วลันเตา)."""
    return compact(text).replace("\u0e33", "\u0e32").translate(_THAI_MARKS)


class Catalog:
    """Items plus the indexes the matcher needs; build it with `load_catalog()`.

    `fold` turns names and queries into the matched form (`compact`); `languages` limits the names
    indexed (None: all, and aliases).
    """

    def __init__(self, items: list[CatalogItem], *, fold: Callable[[str], str] = compact,
                 languages: frozenset[str] | None = None) -> None:
        self.items = items
        self._fold = fold
        self._names: list[_Name] = []
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._grams: dict[str, list[int]] = defaultdict(list)
        self._thai: Catalog | None = None
        for index, item in enumerate(items):
            for lang, names in [*item.names.items(), ("", item.aliases)]:
                if languages is None or lang in languages:
                    for name in names:
                        self._add(_Name(fold(name), index, lang))

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
        """The best catalog item for `text` scoring at least MATCH_THRESHOLD, else None; on a Cyrillic
        job, text in Latin letters that matches nothing is tried again as the Cyrillic it looks like."""
        query = self._fold(text)
        lang = base_language(lang)
        found = self._match(query, lang)
        if found is None and lang in CYRILLIC_LANGUAGES and query.isascii():
            found = self._match(query.translate(_CYRILLIC_LOOKALIKES), lang)
        if found is None and any("\u0e01" <= c <= "\u0e2e" for c in query):
            found = self._thai_names()._match(thai_skeleton(text), lang)
        return found

    def _thai_names(self) -> Catalog:
        """The Thai names as skeletons (`thai_skeleton`), indexed on first use."""
        if self._thai is None:
            self._thai = Catalog(self.items, fold=thai_skeleton, languages=frozenset({"th"}))
        return self._thai

    def _match(self, query: str, lang: str) -> Match | None:
        if len(query) < 2:
            return None
        exact = self._exact.get(query)
        if exact:
            return Match(self.items[self._prefer(exact, lang).item], 1.0)
        best: tuple[float, int] | None = None
        for position in self._shortlist(query):
            name = self._names[position]
            loose = name.lang != SR_LATIN or lang == "sr"
            score = _score(query, name.text, loose=loose) + (0.005 if base_language(name.lang) == lang else 0.0)
            if best is None or score > best[0]:
                best = (score, position)
        if best is None or best[0] < MATCH_THRESHOLD:
            return None
        return Match(self.items[self._names[best[1]].item], min(best[0], 1.0))

    def _prefer(self, positions: list[int], lang: str) -> _Name:
        """The name in the job's language, else the first one that was written rather than derived."""
        names = [self._names[p] for p in positions]
        same = (n for n in names if base_language(n.lang) == lang)
        return next(same, next((n for n in names if n.lang != SR_LATIN), names[0]))

    def _shortlist(self, query: str) -> list[int]:
        counts: Counter[int] = Counter()
        for gram in _trigrams(query):
            counts.update(self._grams.get(gram, ()))
        return [position for position, _ in counts.most_common(_SHORTLIST)]


def _score(query: str, name: str, *, loose: bool = True) -> float:
    """Similarity of a compact query and a compact catalog name, in 0..1.2 (0..1 unless `loose`)."""
    score = SequenceMatcher(None, query, name, autojunk=False).ratio()
    if not loose:
        return score
    if len(name) >= _MIN_CONTAINED and name in query:
        score = max(score, 0.8 + 0.2 * len(name) / len(query))
    if len(query) >= _MIN_CONTAINED + 1 and name.startswith(query):
        score = max(score, 0.76 + 0.2 * len(query) / len(name))
    return score


def base_language(lang: str) -> str:
    """The language subtag of a tag, lower-case: 'sr-Latn' -> 'sr', 'pt_BR' -> 'pt', 'EN' -> 'en'."""
    return lang.replace("_", "-").split("-", 1)[0].lower()


def language_key(lang: str) -> str:
    """The key of `CatalogItem.names` for a language tag: its base language, or 'sr-latn' for Serbian in Latin."""
    base = base_language(lang)
    return SR_LATIN if base == "sr" and "latn" in lang.lower() else base


def serbian_latin(text: str) -> str:
    """Serbian Cyrillic spelled in Latin letters: 'Шљиве' -> 'Šljive'."""
    return text.translate(_SR_LATIN)


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (cell or "").split("|") if part.strip())


def _names(row: dict[str, str | None], languages: list[str]) -> dict[str, tuple[str, ...]]:
    names = {lang: _split(row.get(lang)) for lang in languages}
    if names.get("sr"):
        names[SR_LATIN] = tuple(dict.fromkeys(serbian_latin(name) for name in names["sr"]))
    return names


def _read_rows(text: str) -> list[CatalogItem]:
    reader = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")),
                            delimiter="\t", quoting=csv.QUOTE_NONE)
    languages = [column for column in reader.fieldnames or () if column not in _NOT_LANGUAGES]
    return [
        CatalogItem(
            key=row["key"],
            category=row["category"],
            storage_days=int(row["storage_days"]),
            names=_names(row, languages),
            aliases=_split(row.get("aliases")),
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
