"""Tesseract 5 through tesserocr: word boxes with confidences, in the job's language plus English.

Language data comes from Debian's `tesseract-ocr-<lang>` packages (`scripts/install-ocr.sh`),
found through TESSDATA_PREFIX or the usual Debian folders. A Tesseract API object loads its
language models once (about 0.3 s and 20-40 MB a language), and is not thread-safe, so each thread
keeps one per language set and reuses it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from app.recognition.layout import OcrBox
from app.recognition.preprocess import flatten_light, scale_for_text

# The job's language -> Tesseract's traineddata names, the job's own script first.
TESS_LANGS = {
    "en": ("eng",), "de": ("deu", "eng"), "fr": ("fra", "eng"), "es": ("spa", "eng"), "it": ("ita", "eng"),
    "nl": ("nld", "eng"), "pt": ("por", "eng"), "pl": ("pol", "eng"), "cs": ("ces", "eng"),
    "tr": ("tur", "eng"), "bg": ("bul", "eng"), "uk": ("ukr", "eng"), "ru": ("rus", "eng"),
    "sr": ("srp", "srp_latn", "eng"), "th": ("tha", "eng"),
}
# Scripts other than Latin that Tesseract reads here, and their languages' traineddata.
SCRIPTS = {"cyrillic": ("rus", "ukr", "bul", "srp"), "thai": ("tha",)}
SCRIPT_SAMPLE = 6  # text boxes read in each candidate script to tell which one a page is written in
SCRIPT_MARGIN = 0.15  # how much more confident a script's reading must be than the Latin one
SCRIPT_SURE = 0.7  # and how confident at least (Thai's model reads Latin print at 0.4-0.67, its own at 0.9)
# Languages whose page is read with their own script's model alone: with English beside it, Tesseract
# reads many capitalised words in the English model as Latin look-alikes ('CYMA' for СУМА, 'NOB' for ПДВ).
# A word read so with low confidence is read again with the rest of the list (the Latin models).
OWN_SCRIPT_FIRST = frozenset({"bg", "uk", "ru", "sr", "th"})
SECOND_READ_BELOW = 0.8  # word confidence under which a second reading may replace the first
SECOND_READ_LETTERS = 3  # shorter words (units, 'x') are read again into Latin look-alikes ('Kr' for кг)
SECOND_READ_MARGIN = 0.1  # the second reading wins only when this much more confident
# Debian names the packages after the traineddata files: tesseract-ocr-<name>, '_' as '-'.
REQUIRED = ("eng", "deu", "fra", "spa", "ita", "nld", "por", "pol", "ces", "tur", "bul", "ukr", "rus", "srp",
            "tha", "osd")
TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                 "/usr/share/tessdata", "/usr/local/share/tessdata")
# Tesseract reads best when capital letters are about 30 px tall.
TARGET_TEXT_HEIGHT = 30.0
PSM_SINGLE_LINE = 7
PAGE_SEG_MODE = 4  # PSM.SINGLE_COLUMN (11, sparse text, read more digits but took up to 6 s on large scans)


def tessdata_dir() -> Path | None:
    """The folder holding *.traineddata: TESSDATA_PREFIX (the folder or its parent), else Debian's."""
    candidates = []
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        candidates += [Path(prefix), Path(prefix) / "tessdata"]
    candidates += [Path(p) for p in TESSDATA_DIRS]
    for folder in candidates:
        if (folder / "eng.traineddata").is_file():
            return folder
    return None


def installed_languages() -> frozenset[str]:
    """Traineddata names present in the tessdata folder (empty when there is none)."""
    folder = tessdata_dir()
    if folder is None:
        return frozenset()
    return frozenset(p.name.removesuffix(".traineddata") for p in folder.glob("*.traineddata"))


@cache
def missing_tesseract() -> str | None:
    """What is missing for the Tesseract engine, as an install hint; None when all is there."""
    try:
        import tesserocr  # noqa: F401  # optional: this checks whether it is installed
    except ImportError:
        return "the tesserocr package is not installed (pip install tesserocr)"
    have = installed_languages()
    if not have:
        return "no Tesseract language data found (apt-get install tesseract-ocr-eng, or set TESSDATA_PREFIX)"
    missing = [name for name in REQUIRED if name not in have]
    if missing:
        packages = " ".join(f"tesseract-ocr-{name.replace('_', '-')}" for name in missing)
        return f"Tesseract language data missing: apt-get install {packages}"
    return None


def languages_for(lang: str, have: frozenset[str]) -> str:
    """Tesseract's '+'-joined language string for a job language, limited to installed data."""
    base = lang.replace("_", "-").split("-")[0].lower()
    wanted = [name for name in TESS_LANGS.get(base, ("eng",)) if name in have]
    return "+".join(wanted or ["eng"])


def reading_plan(lang: str, have: frozenset[str]) -> tuple[str, str | None]:
    """The languages the page is read with, and those its doubtful words are read again with (or None):
    for Cyrillic and Thai the job's own script alone, then the Latin ones; for others all at once.

    A script name of `SCRIPTS` ('cyrillic', 'thai') stands for a page in that script whose language
    the job did not say: all of the script's languages, then English."""
    if lang in SCRIPTS:
        wanted = [name for name in SCRIPTS[lang] if name in have]
        return "+".join(wanted or ["eng"]), "eng" if wanted else None
    languages = languages_for(lang, have)
    first, _, rest = languages.partition("+")
    if lang.replace("_", "-").split("-")[0].lower() in OWN_SCRIPT_FIRST and rest:
        return first, rest
    return languages, None


class Witness(Protocol):
    """Another reader of the page, asked about a doubtful word's second reading."""

    def saw_latin(self, word: OcrBox) -> bool:
        """Whether it read Latin-script text where the word is (else the word is not read again)."""
        ...

    def agrees(self, word: OcrBox, reading: str) -> bool:
        """Whether it read `reading` there too."""
        ...


class TesseractEngine:
    """Tesseract word boxes; the image's light is flattened (shadows, faded print: measured better on
    the wildreceipt photos) and it is scaled so that its text is about 30 px tall."""

    name = "tesseract"

    def __init__(self, *, page_seg_mode: int = PAGE_SEG_MODE, text_height: float = TARGET_TEXT_HEIGHT,
                 flatten: bool = True) -> None:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # before libtesseract starts its OpenMP pool
        self._flatten = flatten
        self._psm = page_seg_mode
        self._text_height = text_height
        self._local = threading.local()
        self._folder = tessdata_dir()
        self._have = installed_languages()

    def _api(self, languages: str, psm: int | None = None) -> Any:
        apis: dict[tuple[str, int], Any] | None = getattr(self._local, "apis", None)
        if apis is None:
            apis = self._local.apis = {}
        key = (languages, self._psm if psm is None else psm)
        if key not in apis:
            from tesserocr import OEM, PyTessBaseAPI  # optional: see missing_tesseract

            apis[key] = PyTessBaseAPI(path=f"{self._folder}/", lang=languages, psm=key[1], oem=OEM.LSTM_ONLY)
        return apis[key]

    def read(self, image: Image.Image, lang: str, witness: Witness | None = None) -> list[OcrBox]:
        """Word boxes in the image's coordinates, with Tesseract's confidence as a 0..1 score.

        A doubtful word read again in a Latin script (`reading_plan`) takes that reading when it is
        more confident and the `witness` (PP-OCR, in the hybrid engine) agrees."""
        if self._flatten:  # Tesseract's global threshold fails on shadows and faded print
            image = flatten_light(image)
        scale = scale_for_text(image, self._text_height)
        work = image if scale == 1.0 else image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        first, second = reading_plan(lang, self._have)
        gray = work.convert("L")
        api = self._api(first)
        api.SetImage(gray)
        api.Recognize()
        words = _words(api, scale)
        if second is not None:
            words = self._read_again(gray, words, scale, second, witness)
        return words

    def script_of(self, image: Image.Image, boxes: Sequence[OcrBox]) -> str | None:
        """The script of `SCRIPTS` the text in these boxes of the image is written in, or None for
        Latin: each script's model and English read the same few boxes; the script whose reading is
        confident, and clearly more so than English's, wins."""
        if not boxes or not self._have:
            return None
        gray = image.convert("L")
        latin = self._mean_confidence(gray, boxes, "eng")
        scores = {script: self._mean_confidence(gray, boxes, "+".join(names[:1]))
                  for script, names in SCRIPTS.items() if names[0] in self._have}
        best = max(scores, key=lambda script: scores[script], default=None)
        if best is None or scores[best] < SCRIPT_SURE or scores[best] < latin + SCRIPT_MARGIN:
            return None
        return best

    def _mean_confidence(self, gray: Image.Image, boxes: Sequence[OcrBox], languages: str) -> float:
        api = self._api(languages, PSM_SINGLE_LINE)
        api.SetImage(gray)
        total = 0.0
        for box in boxes:
            xs, ys = [p[0] for p in box.points], [p[1] for p in box.points]
            left, top = max(0, round(min(xs))), max(0, round(min(ys)))
            api.SetRectangle(left, top, round(max(xs)) - left, round(max(ys)) - top)
            api.Recognize()
            total += max(0.0, api.MeanTextConf()) / 100
        return total / len(boxes)

    def _read_again(self, gray: Image.Image, words: list[OcrBox], scale: float, languages: str,
                    witness: Witness | None) -> list[OcrBox]:
        """Doubtful words with letters read again, each alone, with `languages`; the more confident
        reading is kept (a Latin brand name on a Cyrillic receipt)."""
        doubtful = [i for i, w in enumerate(words)
                    if w.score < SECOND_READ_BELOW and sum(c.isalpha() for c in w.text) >= SECOND_READ_LETTERS
                    and (witness is None or witness.saw_latin(w))]
        if not doubtful:
            return words
        api = self._api(languages, PSM_SINGLE_LINE)
        api.SetImage(gray)
        result = list(words)
        for index in doubtful:
            word = words[index]
            (x0, y0), (x1, y1) = word.points[0], word.points[2]
            pad = 0.15 * (y1 - y0)
            left, top = max(0, round((x0 - pad) * scale)), max(0, round((y0 - pad) * scale))
            api.SetRectangle(left, top, round((x1 + pad) * scale) - left, round((y1 + pad) * scale) - top)
            text = " ".join((api.GetUTF8Text() or "").split())
            score = max(0.0, api.MeanTextConf()) / 100
            if (text and score > word.score + SECOND_READ_MARGIN and not _cyrillic_look_alike(word.text, text)
                    and (witness is None or witness.agrees(word, text))):
                result[index] = OcrBox(word.points, text, score)
        return result


# Latin letters drawn like Cyrillic ones: a word made of them reads as either script ('CYMA', СУМА).
_CYRILLIC_TWINS = frozenset("ABCEHKMOPTXYaceopxy")


def _cyrillic_look_alike(first: str, second: str) -> bool:
    """True when a Cyrillic first reading has a second one in Latin letters of the same shapes: the
    page's own script is kept (a total word must not turn into its Latin twin, 'CYMA')."""
    cyrillic = any("\u0400" <= c <= "\u04ff" for c in first)
    return cyrillic and all(c in _CYRILLIC_TWINS for c in second if c.isalpha())


def _is_thai(char: str) -> bool:
    return "\u0e00" <= char <= "\u0e7f"


def _joins(previous: OcrBox, box: OcrBox) -> bool:
    """Thai is written without spaces between words: Tesseract's 'words' there are syllables; a full
    stop after Thai letters is their abbreviation's ('กก.'), not a word of its own."""
    if not (_is_thai(previous.text[-1]) and (_is_thai(box.text[0]) or box.text == ".")):
        return False
    gap = box.points[0][0] - previous.points[1][0]
    return gap < 0.6 * max(previous.height, box.height)


def _merge(previous: OcrBox, box: OcrBox) -> OcrBox:
    (x0, y0), (x1, y1) = previous.points[0], box.points[2]
    top, bottom = min(y0, box.points[0][1]), max(previous.points[2][1], y1)
    points = ((x0, top), (x1, top), (x1, bottom), (x0, bottom))
    return OcrBox(points, previous.text + box.text, min(previous.score, box.score))


def _words(api: Any, scale: float) -> list[OcrBox]:
    from tesserocr import RIL, iterate_level  # optional: see missing_tesseract

    boxes: list[OcrBox] = []
    iterator = api.GetIterator()
    if iterator is None:
        return []
    for word in iterate_level(iterator, RIL.WORD):
        try:
            text = word.GetUTF8Text(RIL.WORD)
        except RuntimeError:  # an empty page has one word without text
            continue
        box = word.BoundingBox(RIL.WORD)
        if not text or not text.strip() or box is None:
            continue
        x0, y0, x1, y1 = (v / scale for v in box)
        found = OcrBox(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), text.strip(),
                       max(0.0, word.Confidence(RIL.WORD)) / 100)
        if boxes and not word.IsAtBeginningOf(RIL.TEXTLINE) and _joins(boxes[-1], found):
            boxes[-1] = _merge(boxes[-1], found)
        else:
            boxes.append(found)
    return boxes
