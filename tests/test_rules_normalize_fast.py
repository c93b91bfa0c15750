"""The sped-up normaliser gives exactly what the one before it gave (tests/normalize_reference.py):
the same text and the same original span for every character, on every field of the golden
items and on random strings made of the characters that make normalisation hard."""

from __future__ import annotations

import random
import unicodedata

import pytest

from tests import normalize_reference as reference
from tests.score_golden import golden_items
from watcher.models import Item
from watcher.rules.normalize import (
    _cluster_pass,
    _cluster_pass_reference,
    is_word_char,
    normalize,
)
from watcher.rules.score import _ItemHits, _word_end

HARD = (
    "aAzZ \n\t-_'\"ßẞİıΣσςﬁﬀ½¼…µΩΩKÅé\u0301\u0308\u0344\u0345\u0327ёЁй\u0306"
    "가각\u1100\u1161\u11a8\u3131ᄀ한국ㄱ北\u00ad\u200b\ufeff＄ＡＤＰＲＫ，：？"
    "\u0b47\u0b3e\u0dd9\u0dcfǅǄ\u1e9e\u0130\u2126\u212b\u00a0\u3000①㈱㎏ｶﾞ"
)
PIECES = (
    "<b>",
    "</b>",
    "<br/>",
    "<!-- x -->",
    "<deported>",
    "  ",
    " \n ",
    "\u2028",
    "<p class='x'>",
)


def _same(text: str) -> None:
    got = normalize(text)
    want = reference.normalize(text)
    assert got.text == want.text, text
    n = len(got.text)
    assert [got.span(i, i + 1) for i in range(n)] == [want.span(i, i + 1) for i in range(n)]
    fast = _cluster_pass(text)
    slow = _cluster_pass_reference(text)
    assert fast[0] == slow[0]
    if fast[1] is not None:
        assert fast == slow


# the same without combining marks and medial/final jamo (a different path)
UNMARKED = "".join(
    c for c in HARD if not unicodedata.combining(c) and not "\u1160" <= c <= "\u11ff"
)


@pytest.mark.parametrize("alphabet", [HARD, UNMARKED], ids=["marks", "no marks"])
def test_random_hard_strings(alphabet: str) -> None:
    rng = random.Random(11)
    for _ in range(3000):
        parts = [
            rng.choice(PIECES) if rng.random() < 0.15 else rng.choice(alphabet)
            for _ in range(rng.randint(0, 30))
        ]
        _same("".join(parts))


@pytest.mark.slow
def test_every_golden_field() -> None:
    fields = 0
    for _, item in golden_items():
        for text in (item.title, item.summary, item.content):
            if text:
                _same(text)
                fields += 1
    assert fields > 4000


def test_word_end_is_the_per_character_loop() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        s = "".join(rng.choice(HARD) for _ in range(rng.randint(0, 12)))
        for i in range(len(s) + 1):
            j = i
            while j < len(s) and is_word_char(s[j]):
                j += 1
            assert _word_end(s, i) == j, (s, i)


def test_word_gap_counts_like_the_word_index() -> None:
    rng = random.Random(3)
    for _ in range(150):
        text = "".join(
            rng.choice(PIECES) if rng.random() < 0.1 else rng.choice(UNMARKED + "  ab")
            for _ in range(rng.randint(1, 25))
        )
        norm = normalize(text)
        found = _ItemHits(Item("", "", "", text), [text], [norm])
        n = len(norm.text)
        for p in range(n):
            for q in range(n):
                assert found.word_gap(0, p, q, True) == found.word_gap(0, p, q, False)
