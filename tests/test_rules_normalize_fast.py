"""The normaliser's fast cluster pass gives exactly what the plain per-character loop gives
(text and both offset maps), on every field of the golden items and on random strings made of
the characters that make normalisation hard."""

from __future__ import annotations

import random
import unicodedata

from tests.score_golden import golden_items
from watcher.rules.normalize import _cluster_pass, _cluster_pass_reference

HARD = (
    "aAzZ \n\t-_'\"ßẞİıΣσςﬁﬀ½¼…µΩΩKÅé\u0301\u0308\u0344\u0345\u0327ёЁй\u0306"
    "가각\u1100\u1161\u11a8\u3131ᄀ한국ㄱ北\u00ad\u200b\ufeff＄ＡＤＰＲＫ，：？"
    "\u0b47\u0b3e\u0dd9\u0dcfǅǄ\u1e9e\u0130\u2126\u212b\u00a0\u3000①㈱㎏ｶﾞ"
)


def _same(text: str) -> None:
    got = _cluster_pass(text)
    want = _cluster_pass_reference(text)
    if got[1] is None:  # identity maps
        assert got[0] == want[0]
        assert want[1] == list(range(len(text))) and want[2] == list(range(1, len(text) + 1))
    else:
        assert got == want, text


def test_random_hard_strings() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        _same("".join(rng.choice(HARD) for _ in range(rng.randint(0, 30))))


def test_every_golden_field() -> None:
    fields = 0
    for _, item in golden_items():
        for text in (item.title, item.summary, item.content):
            if text and not unicodedata.is_normalized("NFKC", text):
                _same(text)
                fields += 1
    assert fields > 100
