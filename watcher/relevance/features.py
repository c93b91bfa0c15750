"""What the relevance model reads of an item, and the character n-grams it counts.

One function turns an item into n-grams, for training (scikit-learn's ``TfidfVectorizer`` is
given it as its analyzer) and at run time alike, so the two can never disagree. Character
n-grams inside words work for English, Korean and Russian alike (particles and endings
attach to the same stems) and need no tokenizer or word list per language.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from watcher.models import Item

NGRAMS = (2, 5)  # n-gram lengths, inside words padded with one space on each side
MAX_CONTENT = 1000  # characters of the body: the lead says what the item is about
MAX_TEXT = 4000  # characters in all: a hostile 1 MB title costs no more than a real item


def model_text(item: Item) -> str:
    """Title, summary and the start of the body, as the model reads them."""
    parts = (item.title, item.summary, item.content[:MAX_CONTENT])
    return "\n".join(p for p in parts if p)[:MAX_TEXT]


def char_ngrams(text: str, lo: int = NGRAMS[0], hi: int = NGRAMS[1]) -> list[str]:
    """Every n-gram of ``lo`` to ``hi`` characters of each word of NFKC, case-folded ``text``,
    the word padded with a space on each side (" север", "север", "евер ")."""
    out: list[str] = []
    for word in unicodedata.normalize("NFKC", text).casefold().split():
        w = f" {word} "
        size = len(w)
        for n in range(lo, min(hi, size) + 1):
            out.extend(w[i : i + n] for i in range(size - n + 1))
    return out


def ngram_counts(item: Item) -> Counter[str]:
    return Counter(char_ngrams(model_text(item)))
