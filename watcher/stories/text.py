"""Text normalisation, shingling and stems for story grouping (pure, no I/O); figures, names
and the rest of what tells developments apart are in ``anchors``."""

from __future__ import annotations

import itertools
import re
import unicodedata

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words that say nothing about which development a report is about.
_STOP_WORDS = (
    "the a an of to in on and or for with by at from as is are was were be been has have had "
    "it its that this says said after over into north korean korea koreans russia russian "
    "china chinese new report reports и в на с по из за о от что как к у не это для до года "
    "году северокорейских северокорейские кндр россии китая 북한 북한이 북한의 중국 러시아 등 "
    "및 이 그 것 있다 했다 밝혔다 "
)
_STOP = frozenset(_STOP_WORDS.split())


def normalise(text: str) -> str:
    """NFKC, lower case, words joined by single spaces (punctuation dropped)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    return " ".join(_WORD.findall(text))


def words(text: str) -> list[str]:
    return [w for w in normalise(text).split() if w not in _STOP]


def shingles(text: str, size: int = 4) -> set[str]:
    """Character shingles of each content word (and of word pairs), robust to inflection.

    Korean and Russian inflect heavily; character n-grams inside words still match when
    the endings differ, and pairs of word stems keep some word order.
    """
    tokens = words(text)
    out: set[str] = set()
    for w in tokens:
        padded = f"<{w}>"
        if len(padded) <= size:
            out.add(padded)
            continue
        for i in range(len(padded) - size + 1):
            out.add(padded[i : i + size])
    stems = [w[:5] for w in tokens]
    for a, b in itertools.pairwise(stems):
        out.add(f"{a}_{b}")
    return out


_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def stems(text: str) -> frozenset[str]:
    """Crude language-agnostic stems: the first five letters of a word (English, Russian);
    for Korean, each pair of syllables (particles glue onto words, pairs still match)."""
    out: set[str] = set()
    for w in words(text):
        if len(w) < 2:
            continue
        if _HANGUL.search(w):
            syllables = "".join(_HANGUL.findall(w))
            out.update(syllables[i : i + 2] for i in range(len(syllables) - 1))
        else:
            out.add(w[:5])
    return frozenset(out)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")


def script_language(text: str, given: str = "") -> str:
    """The language a report is written in, as far as grouping cares: Korean when it has
    Hangul, Russian when Cyrillic outweighs Latin letters, else the feed's language (English
    when that says Korean or Russian): a mixed feed declaring one language must not make a
    Korean report "English" and keep it from its English twin."""
    head = text[:300]
    if _HANGUL.search(head):
        return "ko"
    if len(_CYRILLIC.findall(head)) > len(_LATIN.findall(head)):
        return "ru"
    return given if given and given not in ("ko", "ru") else "en"
