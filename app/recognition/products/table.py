"""The image model's classes as products: coarse kind, catalog key, name, and the words their packs print.

`data/products.tsv` is the one place that ties a model label ('Arla-Standard-Milk') to the
catalog ('milk'). `text_hits` scores how many of a product's printed words the package's
OCR text contains; words are folded (case, accents) and compared without spaces, and a
word of five letters or more also matches an OCR token that differs by one or two
characters ('XPPLE' -> 'apple'), since OCR misreads single letters on curved packs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from importlib import resources

from app.recognition.text import compact

_FUZZY_MIN_LEN = 5
_FUZZY_RATIO = 0.8


@dataclass(frozen=True, slots=True)
class Product:
    """One class of the image model."""

    label: str
    coarse: str
    catalog_key: str
    name: str
    words: tuple[str, ...]  # compact forms


def parse_products(text: str) -> dict[str, Product]:
    """Products by label from TSV text in the format of `data/products.tsv`."""
    reader = csv.DictReader((line for line in text.splitlines() if line and not line.startswith("#")),
                            delimiter="\t", quoting=csv.QUOTE_NONE)
    products = {}
    for row in reader:
        words = tuple(compact(word) for word in (row.get("words") or "").split("|") if compact(word))
        products[row["label"]] = Product(row["label"], row["coarse"], row["catalog_key"], row["name"], words)
    return products


@lru_cache(maxsize=1)
def load_products() -> dict[str, Product]:
    """The packaged product table, read once per process."""
    text = resources.files("app.recognition.products").joinpath("data/products.tsv").read_text("utf-8")
    return parse_products(text)


@dataclass(frozen=True, slots=True)
class PrintedText:
    """A photo's OCR text prepared for word lookups: all of it run together, and its tokens."""

    joined: str
    tokens: tuple[str, ...]

    @classmethod
    def of(cls, texts: Iterable[str]) -> PrintedText:
        """From the texts of the OCR boxes."""
        pieces = [compact(text) for text in texts]
        tokens = tuple(piece for text in texts for word in text.split() if (piece := compact(word)))
        return cls("".join(pieces), tokens)

    def contains(self, word: str) -> bool:
        """Whether the word is printed, exactly (spaces ignored) or, for long words, nearly."""
        if word in self.joined:
            return True
        if len(word) < _FUZZY_MIN_LEN:
            return False
        return any(abs(len(token) - len(word)) <= 2
                   and SequenceMatcher(None, token, word, autojunk=False).ratio() >= _FUZZY_RATIO
                   for token in self.tokens)


def text_hits(printed: PrintedText, labels: Sequence[str], products: dict[str, Product]) -> list[int]:
    """For each label, how many of its product's words the printed text contains."""
    if not printed.joined:
        return [0] * len(labels)
    seen: dict[str, bool] = {}
    hits = []
    for label in labels:
        product = products.get(label)
        words = product.words if product else ()
        hits.append(sum(seen.setdefault(word, printed.contains(word)) for word in words))
    return hits
