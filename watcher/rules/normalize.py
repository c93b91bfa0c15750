"""Text normalisation for matching, with a map back to the original text.

``normalize(text)`` returns a ``Normalized``: the text after Unicode NFKC, case folding,
``ё`` → ``е``, hyphens/dashes and quotes turned into spaces, HTML tags and runs of white space
collapsed into one space, and invisible characters (soft hyphen, zero-width space...) removed.
``Normalized.span(i, j)`` gives the range of the ORIGINAL text that normalised characters
``[i, j)`` came from, so a match found in the normalised text can point at exactly what the
reader sees.

Most news text is already NFKC and folds one character to one character; that case costs a
``casefold``, a ``translate`` and one regex scan, all in C. Anything else (``ß``, ``…``,
full-width punctuation, combining accents) is normalised cluster by cluster, exactly, but each
distinct character only once and the text in one ``translate``: only clusters of several
characters or that grow or shrink are handled one at a time.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterator
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
_TO_SPACE_RE = re.compile("[" + re.escape(_TO_SPACE) + "]")  # _TABLE in one C scan

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
_LOOKS_BEFORE_SCAN = 256  # candidates looked at one by one before a scan of the rest in C
_TAG_START = re.compile(r"<[a-zA-Z!/]")
# White space other than a plain space (what ``\s`` matches; all below U+3001) and invisible
# characters: when there are none and no "<", ``_COLLAPSE`` can only match runs of spaces, which
# ``_SPACES`` finds many times faster.
_ODD_SPACE = re.compile(
    "["
    + re.escape("".join(chr(i) for i in range(0x3001) if chr(i).isspace() and i != 32))
    + _INVISIBLE
    + "]"
)
_SPACES = re.compile(r"(?P<sp> {2,})")

WORD_RE = re.compile(r"\w+")


def is_word_char(ch: str) -> bool:
    """Letters, digits and combining marks join words; anything else is a boundary."""
    # every combining mark (category M) is at U+0300 or above
    return (
        ch.isalnum() or ch == "_" or (ch >= "\u0300" and unicodedata.category(ch).startswith("M"))
    )


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
    """Normalised text and, unless it is the identity, where each character came from.

    Two steps map back: the collapse of white space and tags (``segments``: where each run of
    copied characters or each collapsed space starts; None when nothing collapsed), then the
    character pass (``starts``/``ends``; None when every character mapped to one). Both are
    kept compact and read only for the few characters a match points at."""

    text: str
    original: str
    starts: list[int] | None  # original start of each character-pass character (None: identity)
    ends: list[int] | None  # original end of each character-pass character
    # per segment of ``text``: where it starts in ``text``, where in the character-pass text,
    # and -1 for copied characters or the end there of what one space replaced
    segments: tuple[list[int], list[int], list[int]] | None = None

    def _pass_range(self, i: int) -> tuple[int, int]:
        """The character-pass range normalised character ``i`` came from."""
        if self.segments is None:
            return i, i + 1
        seg_n, seg_a, seg_b = self.segments
        k = bisect.bisect_right(seg_n, i) - 1
        if seg_b[k] < 0:
            x = seg_a[k] + i - seg_n[k]
            return x, x + 1
        return seg_a[k], seg_b[k]

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The original range that normalised characters ``[i, j)`` (j > i) came from."""
        a = self._pass_range(i)[0]
        b = self._pass_range(j - 1)[1]
        if self.starts is None or self.ends is None:
            return a, b
        return self.starts[a], self.ends[b - 1]


def _char_pass(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """NFKC + casefold + translate; identity maps when every character maps to one."""
    if unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text):
            folded = _TO_SPACE_RE.sub(" ", folded)
            return (folded.replace("ё", "е") if "ё" in folded else folded), None, None
    return _cluster_pass(text)


def _piece(cluster: str) -> str:
    """What one cluster (a base character and what combines with it) normalises to."""
    piece = unicodedata.normalize("NFKC", cluster).casefold()
    return unicodedata.normalize("NFKC", piece).translate(_TABLE)


def _pieces(chars: list[str]) -> list[str]:
    """``_piece`` of each character, in three C calls: a newline between them keeps them apart
    (it never composes, reorders or folds, and no character normalises to one)."""
    joined = _piece("\n".join(chars))
    out = joined.split("\n")
    if len(out) != len(chars):  # cannot happen; stay exact anyway
        return [_piece(c) for c in chars]
    return out


def _is_mark(ch: str) -> bool:
    """Joins the cluster of the character before it: a combining mark, a Hangul medial or
    final jamo."""
    return bool(unicodedata.combining(ch)) or "\u1160" <= ch <= "\u11ff"


def _fold(text: str) -> str:
    """What the fast path does to NFKC text: case folding and ``_TABLE``, all in C."""
    folded = _TO_SPACE_RE.sub(" ", text.casefold())
    return folded.replace("ё", "е") if "ё" in folded else folded


def _cluster_pass(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """Normalise cluster by cluster, exactly as ``_piece`` on each cluster would, but in C
    except for the few characters that need it: every distinct character is normalised once;
    runs of characters whose piece is what ``_fold`` gives them, one for one, are folded in
    one call each; the others (``…``, ``ß``, full-width commas...) are put in one by one."""
    distinct = sorted(set(text) - {"\n"})
    if not distinct:  # only newlines, which normalise to themselves
        return text, None, None
    marks = [ch for ch in distinct if ch >= "\u0300" and _is_mark(ch)]
    pieces = _pieces(distinct)
    if marks:
        return _cluster_pass_marks(text, distinct, pieces, marks)
    folds = _fold("\n".join(distinct)).split("\n")
    breaks: dict[str, str] = {}  # characters that are not simply folded one for one
    for ch, piece, folded in zip(distinct, pieces, folds, strict=True):
        if piece != folded or len(piece) != 1:
            breaks[ch] = piece
    if not breaks:
        return _fold(text), None, None
    positions: list[int] = []
    for ch in breaks:
        i = text.find(ch)
        while i != -1:
            positions.append(i)
            i = text.find(ch, i + 1)
    positions.sort()
    maps = any(len(piece) != 1 for piece in breaks.values())
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for i in positions:
        if i > pos:
            out.append(_fold(text[pos:i]))
            if maps:
                starts.extend(range(pos, i))
                ends.extend(range(pos + 1, i + 1))
        piece = breaks[text[i]]
        out.append(piece)
        if maps:
            starts.extend([i] * len(piece))
            ends.extend([i + 1] * len(piece))
        pos = i + 1
    if pos < len(text):
        out.append(_fold(text[pos:]))
        if maps:
            starts.extend(range(pos, len(text)))
            ends.extend(range(pos + 1, len(text) + 1))
    if not maps:
        return "".join(out), None, None
    return "".join(out), starts, ends


def _cluster_pass_marks(
    text: str, distinct: list[str], pieces: list[str], marks: list[str]
) -> tuple[str, list[int] | None, list[int] | None]:
    """``_cluster_pass`` of a text with combining marks (clusters of several characters)."""
    table: dict[int, str] = {}
    odd: list[str] = []  # characters whose piece is not one character
    for ch, piece in zip(distinct, pieces, strict=True):
        if piece != ch:
            table[ord(ch)] = piece
        if len(piece) != 1:
            odd.append(ch)
    alternatives: list[str] = []
    if marks:
        alternatives.append("(?s:.)[" + "".join(re.escape(c) for c in marks) + "]+")
    if odd:
        alternatives.append("[" + "".join(re.escape(c) for c in odd) + "]")
    special = re.compile("|".join(alternatives))
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in special.finditer(text):
        i, j = m.start(), m.end()
        if i > pos:  # one character to one: translated as a run
            out.append(text[pos:i].translate(table))
            starts.extend(range(pos, i))
            ends.extend(range(pos + 1, i + 1))
        piece = _piece(m.group()) if j - i > 1 else table.get(ord(text[i]), text[i])
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        pos = j
    if pos < len(text):
        out.append(text[pos:].translate(table))
        starts.extend(range(pos, len(text)))
        ends.extend(range(pos + 1, len(text) + 1))
    return "".join(out), starts, ends


def _cluster_pass_reference(text: str) -> tuple[str, list[int], list[int]]:
    """The plain per-character loop ``_cluster_pass`` must agree with (kept for the tests)."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    n = len(text)
    i = 0
    while i < n:
        j = i + 1
        while j < n and _is_mark(text[j]):
            j += 1
        piece = _piece(text[i:j])
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return "".join(out), starts, ends


def _collapse_runs(s: str) -> Iterator[tuple[int, int, bool]]:
    """``_COLLAPSE.finditer(s)`` as (start, end, becomes a space), but tried only where a match
    can start: at or just before (over white space) the next "<", double space, other white
    space or invisible character, found by C searches. The regex scanning every position was
    ~80 ns a character: long texts with a stray "<" cost half a millisecond."""
    n = len(s)
    pos = 0
    lt = sp = odd = -2  # next "<", "  ", odd space at or after pos; -1: none; -2: not looked
    for _ in range(_LOOKS_BEFORE_SCAN):
        if pos >= n:
            return
        if -1 != lt < pos:  # a tag starts "<" + letter, "/" or "!": a lone "<" never matches
            t = _TAG_START.search(s, pos)
            lt = -1 if t is None else t.start()
        if -1 != sp < pos:
            sp = s.find("  ", pos)
        if -1 != odd < pos:
            m = _ODD_SPACE.search(s, pos)
            odd = -1 if m is None else m.start()
        found = [x for x in (lt, sp, odd) if x >= 0]
        if not found:
            return
        c = min(found)
        x = c
        while x > pos and s[x - 1].isspace():  # a match may start on white space before it
            x -= 1
        for y in range(x, c + 1):
            m = _COLLAPSE.match(s, y)
            if m is not None:
                yield m.start(), m.end(), m.group("sp") is not None
                pos = m.end()
                break
        else:
            pos = c + 1
    # Candidates this dense (markup-like text, "&lt;" by the thousand): scanning for the rest
    # in C is quicker than looking at each one from Python.
    for m in _COLLAPSE.finditer(s, pos):
        yield m.start(), m.end(), m.group("sp") is not None


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching (see the module docstring)."""
    if not text:
        return Normalized(text, text, None, None)
    s1, st1, en1 = _char_pass(text)
    if "<" in s1 or _ODD_SPACE.search(s1):
        runs = _collapse_runs(s1)
    elif "  " in s1:
        runs = ((m.start(), m.end(), True) for m in _SPACES.finditer(s1))
    else:
        return Normalized(s1, text, st1, en1)
    pieces: list[str] = []
    seg_n: list[int] = []
    seg_a: list[int] = []
    seg_b: list[int] = []
    n = 0  # length of the output so far
    pos = 0
    for a, b, space in runs:
        if a > pos:
            pieces.append(s1[pos:a])
            seg_n.append(n)
            seg_a.append(pos)
            seg_b.append(-1)
            n += a - pos
        if space:
            pieces.append(" ")
            seg_n.append(n)
            seg_a.append(a)
            seg_b.append(b)
            n += 1
        pos = b
    if pos < len(s1):
        pieces.append(s1[pos:])
        seg_n.append(n)
        seg_a.append(pos)
        seg_b.append(-1)
    return Normalized("".join(pieces), text, st1, en1, (seg_n, seg_a, seg_b))


def normalize_pattern(pattern: str) -> str:
    """A pattern as the automaton sees it: normalised like text, trimmed."""
    return normalize(pattern).text.strip()
