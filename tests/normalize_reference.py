"""The normaliser as it was before it was sped up (commit 2204531), verbatim but for this
line: tests/test_rules_normalize_fast.py checks the shipped one gives exactly the same.

Text normalisation for matching, with a map back to the original text.

``normalize(text)`` returns a ``Normalized``: the text after Unicode NFKC, case folding,
``ё`` → ``е``, hyphens/dashes and quotes turned into spaces, HTML tags and runs of white space
collapsed into one space, and invisible characters (soft hyphen, zero-width space...) removed.
``Normalized.span(i, j)`` gives the range of the ORIGINAL text that normalised characters
``[i, j)`` came from, so a match found in the normalised text can point at exactly what the
reader sees.

Most news text is already NFKC and folds one character to one character; that case costs a
``casefold``, a ``translate`` and one regex scan, all in C. Anything else takes a slower
per-character path that is still exact.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters turned into a plain space (one for one): hyphens, dashes, quotes, apostrophes,
# slashes between words are kept (they rarely join words in names).
_TO_SPACE = (
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"  # hyphens, dashes, minus
    "\"'`\u00ab\u00bb\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2039\u203a"  # quotes
    "\u300c\u300d\u300e\u300f\u00b4"  # CJK corner brackets, acute accent used as apostrophe
    "_"
)
_TABLE = {ord(c): " " for c in _TO_SPACE}
_TABLE[ord("ё")] = "е"

# What the second pass collapses or removes: runs of white space and HTML tags (become one
# space), a lone non-space white space character (becomes a space), invisible characters.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"
# Only real HTML tag names, so that "<deported>" in plain text stays a word.
_TAG = (
    r"</?(?:a|abbr|b|big|blockquote|br|cite|code|dd|del|div|dl|dt|em|figcaption|figure|font|"
    r"h[1-6]|hr|i|img|ins|li|mark|ol|p|pre|q|s|small|span|strike|strong|sub|sup|table|tbody|"
    r"td|th|thead|tr|u|ul|wbr)(?:\s[^<>]{0,300})?/?>|<!--.{0,300}?-->"
)
_COLLAPSE = re.compile(
    r"(?=[\s<"
    + _INVISIBLE
    + r"])(?P<sp>(?:\s*(?:"
    + _TAG
    + r"))+\s*|\s{2,}|[^\S ])|(?P<del>["
    + _INVISIBLE
    + r"]+)"
)
_COLLAPSE_FIRST = re.compile(r"\s\s|[^\S ]|<[a-z!/]|[" + _INVISIBLE + "]")

WORD_RE = re.compile(r"\w+")


def is_word_char(ch: str) -> bool:
    """Letters, digits and combining marks join words; anything else is a boundary."""
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")


def is_hangul(ch: str) -> bool:
    """Hangul and CJK ideographs (北 in Korean headlines): matched inside words."""
    o = ord(ch)
    return (
        0xAC00 <= o <= 0xD7A3
        or 0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x1100 <= o <= 0x11FF
        or 0x3130 <= o <= 0x318F
        or 0xA960 <= o <= 0xA97F
        or 0xD7B0 <= o <= 0xD7FF
    )


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text and, unless it is the identity, where each character came from."""

    text: str
    original: str
    starts: list[int] | None  # original start of each normalised character (None: identity)
    ends: list[int] | None  # original end of each normalised character

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The original range that normalised characters ``[i, j)`` (j > i) came from."""
        if self.starts is None or self.ends is None:
            return i, j
        return self.starts[i], self.ends[j - 1]


def _char_pass(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """NFKC + casefold + translate; identity maps when every character maps to one."""
    if unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text):
            return folded.translate(_TABLE), None, None
    # Slow path: normalise cluster by cluster (a base character and what combines with it).
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    n = len(text)
    i = 0
    while i < n:
        j = i + 1
        while j < n and (
            unicodedata.combining(text[j]) or 0x1160 <= ord(text[j]) <= 0x11FF
        ):  # combining marks and Hangul medial/final jamo belong to the cluster
            j += 1
        piece = unicodedata.normalize("NFKC", text[i:j]).casefold()
        piece = unicodedata.normalize("NFKC", piece).translate(_TABLE)
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return "".join(out), starts, ends


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching (see the module docstring)."""
    s1, st1, en1 = _char_pass(text)
    if not _COLLAPSE_FIRST.search(s1):
        return Normalized(s1, text, st1, en1)
    if st1 is None or en1 is None:
        st1 = list(range(len(s1)))
        en1 = list(range(1, len(s1) + 1))
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _COLLAPSE.finditer(s1):
        a, b = m.start(), m.end()
        if a > pos:
            pieces.append(s1[pos:a])
            starts.extend(st1[pos:a])
            ends.extend(en1[pos:a])
        if m.group("sp") is not None:
            pieces.append(" ")
            starts.append(st1[a])
            ends.append(en1[b - 1])
        pos = b
    if pos < len(s1):
        pieces.append(s1[pos:])
        starts.extend(st1[pos:])
        ends.extend(en1[pos:])
    return Normalized("".join(pieces), text, starts, ends)


def normalize_pattern(pattern: str) -> str:
    """A pattern as the automaton sees it: normalised like text, trimmed."""
    return normalize(pattern).text.strip()
