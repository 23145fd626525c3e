"""Keyword lexicons that forgive the slips OCR makes on receipt print.

`receipt_rows.Lexicon` forgives one misread letter in long Latin phrases. On real photos OCR also
drops or adds a letter ('Grand Tota?') and misreads letters that look alike in receipt fonts
('Jaian' for 'Jalan', 'T0TAI' for 'TOTAL'). `OcrLexicon` accepts, for phrases of at least its `fuzzy`
length: one letter changed (below `any_from` letters, only into a look-alike), two letters changed
into look-alikes, and for phrases of `GAPS_FROM` letters or more one letter dropped or added.
`confusable_only` keeps to one look-alike change (short words with close neighbours: 'change' and
'charge').
"""

from __future__ import annotations

from collections.abc import Iterable

from app.recognition.receipt_rows import Lexicon

# Letters OCR takes for one another in receipt fonts (folded, lower case); digits too, since words
# glued to amounts are read with them.
_LOOK_ALIKE = (
    "o0uqd", "il1tj|!", "bg68", "ce", "s5", "z2", "ae", "nm", "vy", "hk", "ao",
)
_NEAR_MEMO = 4096  # texts whose near miss each lexicon remembers
GAPS_FROM = 9  # shorter phrases less one letter hide inside other words ('totalat' in 'TOTAL ATTER')
_PAIRS = frozenset((a, b) for group in _LOOK_ALIKE for a in group for b in group if a != b)


def look_alike(a: str, b: str) -> bool:
    """True when OCR often reads letter `a` for `b` (or the other way)."""
    return (a, b) in _PAIRS


def _one_gap(longer: str, shorter: str) -> bool:
    """True when deleting one letter of `longer` gives `shorter`."""
    i = 0
    while i < len(shorter) and longer[i] == shorter[i]:
        i += 1
    return longer[i + 1 :] == shorter[i:]


class OcrLexicon(Lexicon):
    """A Lexicon whose long Latin phrases also match with one letter dropped, added or misread,
    or two look-alike letters misread."""

    def __init__(self, phrases: Iterable[str], *, fuzzy: int = 0, confusable_only: bool = False,
                 any_from: int = 0) -> None:
        super().__init__(phrases, fuzzy=fuzzy)
        self.confusable_only = confusable_only
        self.any_from = any_from  # below this length, a single change must be between look-alikes
        # phrases by the letters a window may start with (the phrase's first letter or a look-alike)
        self._near: dict[str, tuple[str, int] | None] = {}
        self._by_first: dict[str, list[str]] = {}
        for phrase in sorted(self.fuzzy, key=len, reverse=True):
            for first in {phrase[0], *(b for a, b in _PAIRS if a == phrase[0])}:
                self._by_first.setdefault(first, []).append(phrase)

    def _close(self, window: str, phrase: str) -> bool:
        if len(window) != len(phrase):
            if self.confusable_only or len(phrase) < GAPS_FROM:
                return False
            longer, shorter = (window, phrase) if len(window) > len(phrase) else (phrase, window)
            return _one_gap(longer, shorter)
        changed: list[tuple[str, str]] = []
        for x, y in zip(window, phrase, strict=True):
            if x != y:
                if len(changed) == 2:
                    return False
                changed.append((x, y))
        alike = sum(look_alike(x, y) for x, y in changed)
        if self.confusable_only:
            return len(changed) == alike == 1
        if len(changed) == 1:
            return alike == 1 or len(phrase) >= self.any_from
        return alike == 2

    def closest(self, word: str) -> str | None:
        """The phrase that `word` (squeezed) reads as, whole: exactly or with one OCR slip; else None."""
        if word in self.words or word in self.parts:
            return word
        found = self._near_miss(word)
        return found[0] if found and found[1] == 0 and abs(len(found[0]) - len(word)) <= 1 else None

    def _near_miss(self, squeezed: str) -> tuple[str, int] | None:
        """The longest phrase found close to a window of `squeezed`, and where the window starts.
        Remembered (the last few thousand texts): a receipt's rows are asked about again and again."""
        if squeezed in self._near:
            return self._near[squeezed]
        if len(self._near) >= _NEAR_MEMO:
            self._near.clear()
        found = self._near[squeezed] = self._search(squeezed)
        return found

    def _search(self, squeezed: str) -> tuple[str, int] | None:
        best: tuple[str, int] | None = None
        for start in range(len(squeezed) - 1, -1, -1):
            for phrase in self._by_first.get(squeezed[start], ()):
                if best is not None and len(phrase) <= len(best[0]):
                    break
                widths = (len(phrase),) if self.confusable_only or len(phrase) < GAPS_FROM else (
                    len(phrase), len(phrase) - 1, len(phrase) + 1)
                for width in widths:
                    window = squeezed[start : start + width]
                    if len(window) == width and self._close(window, phrase) and (
                        sum(c.isalpha() for c in window) >= width - 1
                    ):
                        best = (phrase, start)
                        break
        return best
