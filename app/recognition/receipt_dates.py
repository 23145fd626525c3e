"""The purchase date of a receipt: every printed date is a candidate, scored by its neighbourhood.

Numeric dates (31/12/2024, 31-12-24, 2024-12-31, 31.12.2024, with or without spaces, a time
glued to the year by OCR), and dates with month names in the app's languages, Latin, Cyrillic
and Thai (Thai Buddhist-era years: 2567 = 2024). Day-first unless the receipt is month-first
(`month_first`, or a printed date whose second number exceeds 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from app.recognition import receipt_words as kw
from app.recognition.receipt_rows import Lexicon, Row, squeeze
from app.recognition.text import fold

FIRST_YEAR, LAST_YEAR = 2000, 2035
_BUDDHIST_OFFSET = 543
_NUMERIC = re.compile(
    r"(?<!\d)(?<!\d[.,])(\d{1,4})\s?([./-])\s?(\d{1,2})\s?\2\s?(\d{4}(?!:\d)|\d{2})(?=\d{1,2}[:.]\d\d|(?!\d))"
)
# A date glued to the digits before it ('1531.01.201914:59', '21:05:4905/14/2016').
_GLUED = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}(?!:\d)|\d{2})(?=\d{1,2}:\d\d|(?!\d))")
_MONTH_NAME = r"([^\W\d_][^\W\d_.]{1,11}\.?(?:[^\W\d_]{1,3}\.)?)"
_YEAR = r"(\d{4}(?!:\d)|\d{2})(?=\d{1,2}[:.]\d\d|(?!\d))"
_DAY_MONTH_YEAR = re.compile(rf"(?<!\d)(\d{{1,2}})(?:\.|st|nd|rd|th)?[\s/.-]*{_MONTH_NAME}[\s/.,-]*{_YEAR}")
_MONTH_DAY_YEAR = re.compile(rf"{_MONTH_NAME}[\s.-]*(\d{{1,2}})(?:st|nd|rd|th)?[\s,.-]+(\d{{4}})(?!\d)")
_ZERO_AS_O = re.compile(r"(?<![\w])0(?=[^\W\d_]{2})")
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])\s?[:.h]\s?([0-5]\d)(?:[:.]([0-5]\d))?(?!\d)")
_PM = re.compile(r"^\s*pm", re.IGNORECASE)
_MONTHS_BY_NUMBER = (
    "january janv gen ene jan januar janvier enero gennaio januari janeiro styczen stycznia sty leden ledna ocak "
    "январь января янв січень січня січ януари јануар",
    "february fevr feb februar fevrier fev febrero febbraio februari fevereiro luty lutego lut unor unora "
    "subat февраль февраля фев лютий лютого лют февруари фебруар",
    "march mrt mar marz maerz mrz mars marzo maart marco marzec marca brezen brezna mart март марта березень "
    "березня бер мар mac",
    "april avr abr apr avril abril aprile kwiecien kwietnia kwi duben dubna nisan апрель апреля квітень квітня "
    "кві април",
    "may mag mai mayo maggio mei maio maj maja kveten kvetna mayis май мая травень травня тра мај",
    "june juin giu jun juni juin junio giugno junho czerwiec czerwca cze cerven cervna haziran июнь июня червень "
    "червня чер юни јун",
    "july juil lug jul juli juillet julio luglio julho lipiec lipca lip cervenec cervence temmuz июль июля липень "
    "липня лип юли јул julai",
    "august ago aug aout agosto augustus sierpien sierpnia sie srpen srpna agustos август августа серпень "
    "серпня сер avgust август ogos",
    "september set sep sept septembre septiembre settembre setembro wrzesien wrzesnia wrz zari eylul сентябрь "
    "сентября сен вересень вересня вер септември septembar септембар",
    "october ott out oct okt oktober octobre octubre ottobre outubro pazdziernik pazdziernika paz rijen rijna ekim "
    "октябрь октября окт жовтень жовтня жов октомври oktobar октобар",
    "november nov novembre noviembre novembro listopad listopada listopadu lis kasim ноябрь ноября ноя "
    "листопад листопада ноември novembar новембар",
    "december dic dec dez dezember decembre diciembre dicembre dezembro grudzien grudnia gru prosinec prosince "
    "aralik декабрь декабря дек грудень грудня гру декември decembar децембар disember",
)
_THAI_MONTHS = (
    "มกราคม ม.ค.", "กุมภาพันธ์ ก.พ.", "มีนาคม มี.ค.", "เมษายน เม.ย.", "พฤษภาคม พ.ค.", "มิถุนายน มิ.ย.",
    "กรกฎาคม ก.ค.", "สิงหาคม ส.ค.", "กันยายน ก.ย.", "ตุลาคม ต.ค.", "พฤศจิกายน พ.ย.", "ธันวาคม ธ.ค.",
)


def _month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for number, names in enumerate(_MONTHS_BY_NUMBER, start=1):
        for name in names.split():
            if "-" not in name:
                table[squeeze(name)] = number
    for number, names in enumerate(_THAI_MONTHS, start=1):
        for name in names.split():
            table[squeeze(name)] = number
    return table


MONTHS = _month_table()
_THAI_MONTH = re.compile(
    r"(?<!\d)(\d{1,2})\s*(" + "|".join(re.escape(n) for ns in _THAI_MONTHS for n in ns.split()) + r")\s*(\d{4})"
)
_DATE_WORDS = Lexicon(kw.DATE_WORDS)
_NOT_PURCHASE = Lexicon(kw.NOT_PURCHASE_DATE)


@dataclass(frozen=True, slots=True)
class DateCandidate:
    """A date printed on a row, with the time printed after it when there is one."""

    day: date
    row: int
    time: str | None
    four_digit_year: bool
    ambiguous: bool  # day and month both 12 or less, read day-first


def _year(text: str) -> int:
    year = int(text)
    if year < 100:
        return year + 2000
    return year - _BUDDHIST_OFFSET if year > LAST_YEAR + _BUDDHIST_OFFSET - 100 else year


def _valid(year: int, month: int, day: int) -> date | None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def month_number(word: str) -> int | None:
    """1-12 for a month name or abbreviation in any supported language, else None."""
    key = squeeze(word)
    if key in MONTHS:
        return MONTHS[key]
    return MONTHS.get(key[:3]) if 3 <= len(key) <= 5 and key.isascii() else None


def _time_near(text: str, start: int, end: int) -> str | None:
    """The time printed just after the date, else before it on the line ('04:54 pm, 27 March 2018')."""
    match = _TIME.search(text, end, end + 16) or _TIME.search(text[:start])
    if match is None:
        return None
    hours, minutes, seconds = int(match.group(1)), match.group(2), match.group(3)
    if _PM.match(text[match.end():]) and hours < 12:
        hours += 12
    return f"{hours:02d}:{minutes}:{seconds or '00'}"


def _numeric(match: re.Match[str], month_first: bool) -> tuple[date | None, bool]:
    first, _, second, third = match.groups()
    if len(first) == 4:
        return _valid(_year(first), int(second), int(third)), False
    if len(first) == 3:
        return None, False
    a, b, year = int(first), int(second), _year(third)
    ambiguous = a <= 12 and b <= 12 and a != b
    if month_first:
        return _valid(year, a, b) or _valid(year, b, a), ambiguous
    return _valid(year, b, a) or _valid(year, a, b), ambiguous


def _glued(text: str) -> list[re.Match[str]]:
    """Dates OCR glued to the digits before them; a first number that makes no date loses its first digit."""
    found = []
    for match in _GLUED.finditer(text):
        if _numeric(match, False)[0] is None and len(match.group(1)) == 2:
            retry = _GLUED.match(text, match.start() + 1)
            match = retry if retry is not None else match
        found.append(match)
    return found


def _overlapping(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """Every match, also one starting inside another ('3 CLOSED 23 Nov 17': '3 closed 23', then '23 Nov 17')."""
    found, start = [], 0
    while (match := pattern.search(text, start)) is not None:
        found.append(match)
        start = match.start() + 1
    return found


def _named(text: str) -> list[tuple[date, int, int, bool]]:
    found = []
    folded = _ZERO_AS_O.sub("o", fold(text))
    for match in _overlapping(_DAY_MONTH_YEAR, folded):
        month = month_number(match.group(2))
        day = _valid(_year(match.group(3)), month, int(match.group(1))) if month else None
        if day:
            found.append((day, match.start(), match.end(), len(match.group(3)) == 4))
    for match in _MONTH_DAY_YEAR.finditer(folded):
        month = month_number(match.group(1))
        day = _valid(_year(match.group(3)), month, int(match.group(2))) if month else None
        if day:
            found.append((day, match.start(), match.end(), True))
    for match in _THAI_MONTH.finditer(text):
        month = month_number(match.group(2))
        day = _valid(_year(match.group(3)), month, int(match.group(1))) if month else None
        if day:
            found.append((day, match.start(), match.end(), True))
    return found


def _numeric_candidates(row: Row, matches: list[re.Match[str]], month_first: bool) -> list[DateCandidate]:
    found = []
    for match in matches:
        day, ambiguous = _numeric(match, month_first)
        if day:
            four = len(match.group(4)) == 4 or len(match.group(1)) == 4
            found.append(DateCandidate(day, row.index, _time_near(row.text, match.start(), match.end()), four,
                                       ambiguous))
    return found


def date_candidates(rows: list[Row], *, month_first: bool) -> list[DateCandidate]:
    """Every valid date printed on the rows, top to bottom."""
    found = []
    for row in rows:
        found += _numeric_candidates(row, list(_NUMERIC.finditer(row.text)), month_first) or _numeric_candidates(
            row, _glued(row.text), month_first)
        for day, start, end, four in _named(row.text):
            found.append(DateCandidate(day, row.index, _time_near(fold(row.text), start, end), four, False))
    return found


def says_month_first(rows: list[Row]) -> bool:
    """True when a printed date only makes sense month-first (second number above 12, first 12 or less);
    dates with dots do not count (no month-first country prints them; times do: '11.14.00')."""
    votes = 0
    for row in rows:
        for match in _NUMERIC.finditer(row.text):
            first, mark, second, _ = match.groups()
            if mark == ".":  # month-first dates print with slashes or dashes; '11.14.00' is a time
                continue
            if len(first) <= 2 and int(second) > 12 >= int(first) >= 1:
                votes += 1
            elif len(first) <= 2 and int(first) > 12 >= int(second) >= 1:
                votes -= 1
    return votes > 0


def _score(candidate: DateCandidate, rows: list[Row]) -> float:
    row = rows[candidate.row]
    above = rows[candidate.row - 1].text if candidate.row > 0 else ""
    score = 0.0
    if row.text in _DATE_WORDS:
        score += 3
    elif above in _DATE_WORDS and not above.strip()[-1:].isdigit():
        score += 1.5
    if row.text in _NOT_PURCHASE:
        score -= 4
    score += 1.0 if candidate.time else 0.0
    score += 0.5 if candidate.four_digit_year else 0.0
    return score - 0.5 * row.y


def find_purchase_date(rows: list[Row], *, month_first: bool = False) -> str | None:
    """The best-scored date (ISO 8601, with the printed time when there is one), else None."""
    month_first = month_first or says_month_first(rows)
    candidates = date_candidates(rows, month_first=month_first)
    if not candidates:
        return None
    best = max(candidates, key=lambda c: _score(c, rows))
    return f"{best.day.isoformat()}T{best.time}" if best.time else best.day.isoformat()
