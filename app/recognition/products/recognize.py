"""Products in a photo: barcodes first, then the image model with the package's printed text, then text alone.

Order of trust, per photo:
1. A retail barcode whose code we know (bundled table of codes read on the grocery photos,
   or `lookup`: the cache of codes learnt from users and Open Food Facts) names the product outright.
2. Several objects on a plain surface (`regions.propose`): each box is classified and
   becomes an item with its box.
3. Otherwise the whole photo is one product: the image model's class probabilities are
   combined with the words its package prints (OCR), `log p + TEXT_WEIGHT * hits`.
4. When the image model is unsure (below TEXT_FALLBACK) and the OCR text names catalog
   items other than its guess, those items (the pre-existing text path) are the answer:
   packs the model was never trained on are still named by their print.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from app.recognition.base import ImageRecognition, RawItem
from app.recognition.catalog import Catalog, load_catalog
from app.recognition.layout import OcrBox
from app.recognition.products.barcode import Barcode, bundled_table, read_barcodes
from app.recognition.products.model import Box, Prediction, ProductModel
from app.recognition.products.regions import propose
from app.recognition.products.table import PrintedText, Product, load_products, text_hits

TEXT_WEIGHT = 0.75  # log-odds added per printed word of the product found in the OCR text
MIN_PRODUCT_PROB = 0.15  # below this the image model names nothing on its own
TEXT_FALLBACK = 0.3  # below this image confidence, catalog items named in the text win (unknown packs)
MIN_REGION_PROB = 0.2  # a region of a pile counts as a product from this probability (its box already says "an object")
BARCODE_CONFIDENCE = 0.99
NOTE_NO_PRODUCT = "no known product recognized in this image"

Lookup = Callable[[str], str | None]  # barcode -> catalog key or product name, None if unknown



class Classifier(Protocol):
    """What recognition needs of the image model (ProductModel, or a stand-in in tests)."""

    def classify(self, image: Image.Image) -> Prediction: ...

    def classify_crops(self, image: Image.Image, boxes: list[Box]) -> list[Prediction]: ...


_default_model: ProductModel | None = None


def default_model() -> ProductModel:
    """The packaged model, one per process (its ONNX session loads on first use)."""
    global _default_model
    if _default_model is None:
        _default_model = ProductModel()
    return _default_model


@dataclass(frozen=True, slots=True)
class Choice:
    """A product picked for (part of) the photo, with how sure we are."""

    product: Product
    confidence: float


def _whole(image: Image.Image) -> list[tuple[float, float]]:
    return [(0.0, 0.0), (float(image.width), 0.0), (float(image.width), float(image.height)),
            (0.0, float(image.height))]


def _corners(box: Box) -> list[tuple[float, float]]:
    left, top, right, bottom = (round(v, 1) for v in box)
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def _item(product_name: str, key: str | None, catalog: Catalog, confidence: float,
          box: list[tuple[float, float]]) -> RawItem:
    entry = catalog.get(key) if key else None
    return RawItem(raw_text=product_name, confidence=round(confidence, 4),
                   name_hint=entry.names["en"][0] if entry else None,
                   category_hint=entry.category if entry else None, box=box)


def choose(prediction: Prediction, printed: PrintedText, products: dict[str, Product]) -> Choice | None:
    """The likeliest product given the image probabilities and the printed words; None if unknown."""
    hits = text_hits(printed, prediction.labels, products)
    scores = [math.log(max(float(p), 1e-9)) + TEXT_WEIGHT * h for p, h in zip(prediction.probs, hits, strict=True)]
    best = max(range(len(scores)), key=scores.__getitem__)
    product = products.get(prediction.labels[best])
    if product is None:
        return None
    coarse_prob = sum(float(p) for label, p in zip(prediction.labels, prediction.probs, strict=True)
                      if label in products and products[label].coarse == product.coarse)
    confidence = max(float(prediction.probs[best]), min(0.95, 0.5 + 0.15 * hits[best]) if hits[best] else 0.0)
    if confidence < MIN_PRODUCT_PROB and coarse_prob < 2 * MIN_PRODUCT_PROB:
        return None
    return Choice(product, confidence)


def _resolve_code(code: str, catalog: Catalog, lookup: Lookup | None) -> tuple[str, str | None] | None:
    """(product name, catalog key) a code stands for: the bundled table, then `lookup`; None if unknown."""
    bundled = bundled_table().get(code)
    product = load_products().get(bundled.label) if bundled else None
    if bundled is not None and product is not None:
        return product.name, bundled.catalog_key
    known = bundled.catalog_key if bundled else (lookup(code) if lookup else None)
    if known is None:
        return None
    entry = catalog.get(known)
    if entry is not None:
        return entry.names["en"][0], entry.key
    match = catalog.match(known)
    return known, match.item.key if match else None


def _barcode_items(codes: Sequence[Barcode], catalog: Catalog, lookup: Lookup | None) -> list[RawItem]:
    items = []
    for code in codes:
        resolved = _resolve_code(code.code, catalog, lookup)
        if resolved is not None:
            items.append(_item(resolved[0], resolved[1], catalog, BARCODE_CONFIDENCE, code.box))
    return items


def _text_items(boxes: Sequence[OcrBox], catalog: Catalog, lang: str) -> dict[str, RawItem]:
    found: dict[str, RawItem] = {}
    for box in boxes:
        match = catalog.match(box.text, lang=lang)
        if match is not None and match.item.key not in found:
            confidence = round(box.score * min(match.score, 1.0), 4)
            found[match.item.key] = _item(box.text, match.item.key, catalog, confidence, list(box.points))
    return found


def _prefer_text(choice: Choice | None, from_text: dict[str, RawItem]) -> bool:
    """Whether the catalog items named in the text beat the image model's choice."""
    if not from_text:
        return False
    if choice is None:
        return True
    return choice.confidence < TEXT_FALLBACK and choice.product.catalog_key not in from_text


def _pile_items(image: Image.Image, model: Classifier, catalog: Catalog) -> list[RawItem]:
    regions = propose(image)
    if len(regions) < 2:
        return []
    products = load_products()
    items = []
    for box, prediction in zip(regions, model.classify_crops(image, regions), strict=True):
        choice = choose(prediction, PrintedText.of([]), products)
        if choice is not None and choice.confidence >= MIN_REGION_PROB:
            items.append(_item(choice.product.name, choice.product.catalog_key, catalog, choice.confidence,
                               _corners(box)))
    return items if len(items) >= 2 else []


def recognize_products(image: Image.Image, boxes: Sequence[OcrBox], *, lang: str,
                       model: Classifier | None = None, catalog: Catalog | None = None,
                       lookup: Lookup | None = None) -> ImageRecognition:
    """What products an upright RGB photo shows, using its OCR boxes too; see the module docstring.

    `lookup` resolves barcodes missing from the bundled table (it may block briefly: call this
    from a worker thread). Each item carries its box; a whole-photo product has the photo's outline.
    """
    model = model or default_model()
    catalog = catalog or load_catalog()
    from_codes = _barcode_items(read_barcodes(image), catalog, lookup)
    if from_codes:
        return ImageRecognition(items=from_codes)
    pile = _pile_items(image, model, catalog)
    if pile:
        return ImageRecognition(items=pile)
    choice = choose(model.classify(image), PrintedText.of(b.text for b in boxes), load_products())
    from_text = _text_items(boxes, catalog, lang)
    if _prefer_text(choice, from_text):
        return ImageRecognition(items=list(from_text.values()))
    if choice is None:
        return ImageRecognition(note=NOTE_NO_PRODUCT)
    product = choice.product
    return ImageRecognition(items=[_item(product.name, product.catalog_key, catalog, choice.confidence,
                                         _whole(image))])
