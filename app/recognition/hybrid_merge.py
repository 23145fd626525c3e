"""How the hybrid engine merges PP-OCR's reading of a page with Tesseract's, box by box.

PP-OCR reads digits better than Tesseract but renders Cyrillic and Thai letters as Latin look-alikes,
digits or CJK signs; Tesseract reads those letters but garbles more digits and reads the tax-class
letters and signs of Latin print in its own script. `combine` keeps from each what it reads best.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from app.recognition.layout import OcrBox
from app.recognition.text import compact

DOUBTFUL_WORD = 0.5  # Tesseract's confidence under which a word over PP-OCR's tax mark is noise
SURE_WORD = 0.85  # Tesseract's confidence in a word of letters that outweighs PP-OCR's digits there
AGREEMENT = 0.75  # similarity at which PP-OCR's reading confirms Tesseract's Latin second reading
# An amount, date, time or code as PP-OCR reads it: '12,50', '-3.99', '$4.50', '25/12/2018', '13:05'.
NUMBER = re.compile(r"[$€£₹₺₴฿]?[-+]?\d(?:[\d.,:/'-]*\d)?%?")
# A number, or a multiplication sign standing alone ('2 x 1.50', '0.5 kg x 3.98') or after a count
# opening the box ('3X' of '3 x นาน', whose name PP-OCR cannot read).
NUMBER_OR_TIMES = re.compile(rf"{NUMBER.pattern}|(?<!\S)[xX\u00d7](?!\S)|(?<=^\d)[xX\u00d7]|(?<=^\d\s)[xX\u00d7]")
Place = tuple[float, float, float, float]  # a box's bounds: left, top, right, bottom


def _along(box: OcrBox, start: float, end: float) -> OcrBox:
    """The part of a box between two fractions of its width (its text spread evenly over it)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = box.points

    def at(t: float, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))

    top, bottom = ((x0, y0), (x1, y1)), ((x3, y3), (x2, y2))
    points = (at(start, *top), at(end, *top), at(end, *bottom), at(start, *bottom))
    return OcrBox(points, box.text, box.score)


_AMOUNT_SHAPE = re.compile(r"\d+[.,]\d{2}")


def _glued_to_letters(text: str, start: int, end: int) -> bool:
    """True when a number touches a letter on either side ('5PVOWb', 'K0K0C', '400r'): a reader
    that knows no Cyrillic or Thai takes some of their letters for digits; a multiplication
    'x' before or after ('2x', 'x1.50') does not count."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    # A letter or CJK sign before an amount is a misread currency sign ('B1920.56', '串1202.20').
    amount = _AMOUNT_SHAPE.fullmatch(text[start:end]) is not None
    return (before.isalpha() and before not in "xX×" and not amount and ord(before) < 0x2E80) or (
        after.isalpha() and after not in "xX×")


def numeric_parts(box: OcrBox, *, standalone: bool = False) -> list[OcrBox]:
    """The amounts, dates and other numbers in a box, each as a box of its own (with `standalone`,
    only those no letter touches, and the multiplication signs between them)."""
    length = max(len(box.text), 1)
    parts = []
    for match in (NUMBER_OR_TIMES if standalone else NUMBER).finditer(box.text):
        opening_times = match.start() <= 2 and match.group() in "xX\u00d7"  # '2xaãaÑn': 2 x <Thai name>
        if standalone and not opening_times and _glued_to_letters(box.text, match.start(), match.end()):
            continue
        part = _along(box, match.start() / length, match.end() / length)
        parts.append(OcrBox(part.points, match.group().strip(), box.score))
    return parts


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _bounds(box: OcrBox) -> Place:
    xs, ys = [p[0] for p in box.points], [p[1] for p in box.points]
    return min(xs), min(ys), max(xs), max(ys)


def _covered(word: OcrBox, by: Sequence[Place]) -> bool:
    """True when a third of the word lies in one of the numbers, or half of a number's width
    lies over the word (PP-OCR's boxes are taller than Tesseract's)."""
    x0, y0, x1, y1 = _bounds(word)
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    for a0, b0, a1, b1 in by:
        across = max(0.0, min(x1, a1) - max(x0, a0))
        down = max(0.0, min(y1, b1) - max(y0, b0))
        if across * down > 0.3 * area or (across > 0.5 * (a1 - a0) and down > 0.5 * min(y1 - y0, b1 - b0)):
            return True
    return False


def _share_inside(word: OcrBox, places: Sequence[Place]) -> float:
    """The largest share of the word's area that lies in one of the places."""
    x0, y0, x1, y1 = _bounds(word)
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    return max((max(0.0, min(x1, a1) - max(x0, a0)) * max(0.0, min(y1, b1) - max(y0, b0)) / area
                for a0, b0, a1, b1 in places), default=0.0)


# Letters Tesseract reads for a digit inside a number ('12,5O', '3' as the Cyrillic З); no unit is
# written with them.
_DIGIT_LOOKALIKES = set("OoIl|\u041e\u043e\u0417\u0437")
# Units printed after a pack size's digits, in the scripts Tesseract reads here.
_UNIT_END = re.compile(r"(?:кг|мл|гр|г|л|kg|ml|g|l|กก|กรัม|มล|ลิตร)\.?$", re.IGNORECASE)


def _pieces(word: OcrBox, taken: Sequence[Place]) -> list[OcrBox]:
    """What to keep of a word whose digits PP-OCR read too: its numbers PP-OCR did not read, and its
    letters ('x' of '2x', 'g' of '400g') outside PP-OCR's numbers (there they are garbled digits: 'Л8' for '18'),
    the unit at its end always ('0.БЛ' for '0.5Л': PP-OCR has the digits)."""
    length = max(len(word.text), 1)
    bounds = [0, *(i for m in NUMBER.finditer(word.text) for i in m.span()), len(word.text)]
    pieces = [n for n in numeric_parts(word) if not _covered(n, taken)]
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        piece = word.text[start:end].strip()
        unit = _UNIT_END.search(piece) if end == len(word.text) and start > 0 else None
        if unit and unit.start() <= 2:
            start, piece = end - len(unit.group()), unit.group()
        if not any(c.isalpha() for c in piece) or set(piece) <= _DIGIT_LOOKALIKES:
            continue
        part = OcrBox(_along(word, start / length, end / length).points, piece, word.score)
        if unit or not _covered(part, taken):
            pieces.append(part)
    return pieces


_TIMES = ("x", "X", "\u0445", "\u0425", "\u00d7")
# Tesseract's Thai model reads a multiplication sign as '%' ('6%0.33', '% ', '%«'; a percentage follows
# its number), its Cyrillic ones a tax-class star as 'ж'.
_PERCENT_FOR_TIMES = re.compile(r"(?<=\d)%(?=\d)|^[^\w%]*%[^\w%]*$")
_STAR_LOOKALIKES = ("\u0436", "\u0416")


def _as_signs(word: OcrBox) -> OcrBox:
    """A word with Tesseract's look-alikes of 'x' and '*' replaced by those signs."""
    text = "*" if word.text in _STAR_LOOKALIKES else _PERCENT_FOR_TIMES.sub("x", word.text)
    return word if text == word.text else OcrBox(word.points, text, word.score)
def _redundant(word: OcrBox, numbers: Sequence[Place], signs: Sequence[Place], marks: Sequence[Place]) -> bool:
    """A multiplication sign where PP-OCR read one, a mark without letters or digits over PP-OCR's
    numbers or signs, a lone digit look-alike over a number, or a short word where PP-OCR read a
    tax mark (Tesseract's own script reads 'B' or '*' as '8', 'ж' or 'ฉิ')."""
    text = word.text
    if (len(text) <= 3 or word.score < DOUBTFUL_WORD) and _covered(word, marks):
        return True
    if text in _TIMES:
        return _covered(word, signs)
    if set(text) <= _DIGIT_LOOKALIKES | set(_TIMES):  # 'З' or 'Зх' where PP-OCR read '3 x'
        return _covered(word, [*numbers, *signs])
    if len(text) == 1 and not text.isdigit() and _covered(word, signs):  # 'ะ' beside PP-OCR's 'x'
        return True
    return not any(c.isalnum() for c in text) and _covered(word, [*numbers, *signs])


# A tax-class mark PP-OCR read after an amount at the end of its box ('12.50 A', '48.47*'), or a
# star in a box of its own.
_TAX_MARK = re.compile(r"(?:^|(?<=\s))[-+]?\d+[.,]\d\d\s?([A-Z*])$|^(\*)$")


def tax_marks(box: OcrBox) -> list[OcrBox]:
    """The tax-class letter or star closing a box of PP-OCR after its amount, as a box of its own."""
    match = _TAX_MARK.search(box.text)
    if match is None:
        return []
    length = max(len(box.text), 1)
    group = 1 if match.group(1) else 2
    part = _along(box, match.start(group) / length, 1.0)
    return [OcrBox(part.points, match.group(group), box.score)]


# A pack size as PP-OCR's Latin letters render a Cyrillic one ('400Γ', '250r', '1∏', '30OT', '6x0.33Π'
# for 400Г, 250Г, 1Л, 300Г, 6x0.33Л); Tesseract garbles the letter or a digit ('4007', '250°', 'Д00Г').
_LATIN_PACK = re.compile(r"(?<![\w.,])(\d+[xX×])?(\d[\dOo]*(?:[.,][\dOo]+)?)([ΓrFT]|[JΠ∏N])(?!\w)")
# A pack size Tesseract read well: digits and a Cyrillic unit.
_CYRILLIC_PACK = re.compile(r"(?:\d+[xх×])?\d+(?:[.,]\d+)?(?:кг|мл|гр|г|л)", re.IGNORECASE)


def _pack_sizes(boxes: Sequence[OcrBox]) -> list[tuple[str, Place]]:
    """PP-OCR's pack sizes written with a Latin look-alike unit, in Cyrillic, with their place."""
    packs = []
    for box in boxes:
        length = max(len(box.text), 1)
        for match in _LATIN_PACK.finditer(box.text):
            count, digits, unit = match.groups()
            letter = "\u0413" if unit in "ΓrFT" else "\u041b"
            part = _along(box, match.start() / length, match.end() / length)
            packs.append(((count or "") + digits.replace("O", "0").replace("o", "0") + letter, _bounds(part)))
    return packs


def _mend_pack(word: OcrBox, packs: Sequence[tuple[str, Place]]) -> OcrBox:
    """A pack size Tesseract garbled ('4007', 'Д00Г') where PP-OCR read '400Γ' becomes '400Г'."""
    text = word.text
    if " " in text or not _has_digit(text) or (_CYRILLIC_PACK.fullmatch(text) and word.score >= DOUBTFUL_WORD):
        return word
    for pack, place in packs:
        if abs(len(text) - len(pack)) <= 1 and _covered(word, [place]):
            return OcrBox(word.points, pack, word.score)
    return word


def _widened(box: OcrBox) -> Place:
    """A box's bounds widened by its width on either side."""
    x0, y0, x1, y1 = _bounds(box)
    return x0 - (x1 - x0), y0, x1 + (x1 - x0), y1


def _merge(numeric: Sequence[OcrBox], marks: Sequence[OcrBox], words: Sequence[OcrBox]) -> list[OcrBox]:
    """PP-OCR's numbers and tax marks, Tesseract's words without digits, and of those with digits
    either the word (where PP-OCR found no number) or its letters and the numbers PP-OCR did not
    read (where it found one); signs and marks where PP-OCR read one are left out."""
    taken = [_bounds(b) for b in numeric]
    # A sign's place within PP-OCR's box is a guess (the box's text spread evenly): widen it.
    signs = [_widened(b) for b in numeric if not _has_digit(b.text)]
    placed = [_widened(m) for m in marks]
    merged = [*numeric, *marks]
    for word in words:
        if _has_digit(word.text) and _covered(word, taken):
            pieces = _pieces(word, taken)
        elif word.score < SURE_WORD and _share_inside(word, taken) >= 0.5:
            continue  # an unsure word of letters over PP-OCR's number is that number garbled ('ТОЛЗА' for 70.13 A)
        else:
            pieces = [word]
        for piece in pieces:
            if _redundant(piece, taken, signs, placed):
                continue
            merged.append(piece)
    return merged


def _inside_letters(number: OcrBox, words: Sequence[OcrBox]) -> bool:
    """True when a number's centre lies in a word Tesseract read confidently as letters only, or as
    a pack size: PP-OCR reads some Thai and Cyrillic letters as digits ('676' for นาน, '15' for 1Л)."""
    x, y = number.centre
    for word in words:
        x0, y0, x1, y1 = _bounds(word)
        if word.score >= SURE_WORD and x0 <= x <= x1 and y0 <= y <= y1 and (
                _CYRILLIC_PACK.fullmatch(word.text)
                or (not _has_digit(word.text) and letter_count(word.text) >= 2)):
            return True
    return False


def combine(boxes: Sequence[OcrBox], words: Sequence[OcrBox], lang: str) -> list[OcrBox]:
    """PP-OCR's boxes and Tesseract's words of one page as one reading (see HybridEngine)."""
    numeric = [part for b in boxes for part in numeric_parts(b, standalone=True)
               if not (_has_digit(part.text) and _inside_letters(part, words))]
    marks = [mark for b in boxes for mark in tax_marks(b)]
    packs = _pack_sizes(boxes) if base_lang(lang) != "th" else []  # the look-alikes are Cyrillic
    return _merge(numeric, marks, [_mend_pack(_as_signs(w), packs) for w in words])


def letter_count(text: str) -> int:
    return sum(c.isalpha() for c in text)


# A token PP-OCR made of letters it does not know: signs beyond the Latin alphabets ('∏', 'Γ', '「'),
# a digit between letters ('CO4EBVLA' for СОЧЕВИЦЯ), a capital after a small letter ('acTpoHoM').
FOREIGN_TOKEN = re.compile(r"[^\x00-\u024f]|[^\W\d_]\d+[^\W\d_]|[a-z][A-Z]")


def _similar_inside(part: str, whole: str) -> float:
    """How well `part` matches its best window of `whole`, 0..1."""
    if not part or not whole:
        return 0.0
    if part in whole:
        return 1.0
    width = len(part)
    windows = (whole[i : i + width] for i in range(max(1, len(whole) - width + 1)))
    return max(SequenceMatcher(None, part, window, autojunk=False).ratio() for window in windows)


class LatinWitness:
    """PP-OCR's reading of a page, asked about Tesseract's Latin second reading of a word: only a word
    where PP-OCR read Latin-looking text is read again, and the reading is kept where PP-OCR read the
    same (a brand name on a Cyrillic or Thai receipt, not Tesseract's English model guessing at letters
    it does not know: 'aua' for ลิ้นจี่, where PP-OCR read nothing)."""

    def __init__(self, boxes: Sequence[OcrBox]) -> None:
        self._boxes = boxes

    def _over(self, word: OcrBox) -> list[OcrBox]:
        place = [_bounds(word)]
        return [box for box in self._boxes if _covered(box, place)]

    def saw_latin(self, word: OcrBox) -> bool:
        """Whether a PP-OCR box over the word holds a word of three letters that looks Latin."""
        tokens = (t for box in self._over(word) for t in box.text.split())
        return any(letter_count(t) >= 3 and not FOREIGN_TOKEN.search(t) for t in tokens)

    def agrees(self, word: OcrBox, reading: str) -> bool:
        """Whether PP-OCR read `reading` (folded, or nearly) over the word."""
        wanted = compact(reading)
        return any(_similar_inside(wanted, compact(box.text)) >= AGREEMENT for box in self._over(word))


def base_lang(lang: str) -> str:
    """'en-IN' -> 'en', 'pt_BR' -> 'pt'."""
    return lang.replace("_", "-").split("-")[0].lower()
