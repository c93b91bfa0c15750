"""The items ``tests/test_rules_identity.py`` scores, and how a result is written down.

``python -m tests.score_golden`` rewrites ``tests/data/rules/golden/score.jsonl.gz`` (gzip) from the
current ``Rules.score``: run it only when a change to scoring is MEANT to change results (the
file was made before the scorer was sped up, so that any difference is caught).

Items: every labelled corpus item (dev, extra, real_news, and the real and KCNA items of
watcher/relevance/corpora), the seed articles, every entry of
the real feeds in tests/data/feeds/real/, and each corpus item again with its text disturbed
(soft hyphens, HTML tags, full-width letters, combining accents, ligatures, curly quotes,
runs of white space) so that the normaliser's slow paths and offset maps are exercised on
items that really match.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.test_parse_fixtures import fixture_headers
from watcher.errors import FetchError
from watcher.models import Item, Match, ScoreResult
from watcher.parse import parse_feed
from watcher.rules.corpus import item_from_input, read_corpus

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "rules" / "golden" / "score.jsonl.gz"
CORPORA = ROOT / "watcher" / "relevance" / "corpora"  # the real corpora the model ships with

_NOISE = (
    "\u00ad",
    "<b>",
    "</b>",
    "<br/>",
    "  ",
    "\n",
    "\u200b",
    "\u0301",
    "ﬁ",
    "’",
    "—",
    "Ⅻ",
    "ß",
    "ё",
    "Ё",
    "İ",
    "ＤＰＲＫ",
    "\t",
)


def _disturb(text: str, rng: random.Random) -> str:
    if not text:
        return text
    out: list[str] = []
    for ch in text:
        out.append(ch)
        if rng.random() < 0.03:
            out.append(rng.choice(_NOISE))
        elif ch.isalpha() and rng.random() < 0.01:
            out[-1] = chr(ord(ch) + 0xFEE0) if "a" <= ch <= "z" else ch.upper()
    return "".join(out)


def real_feed_items() -> list[tuple[str, Item]]:
    out: list[tuple[str, Item]] = []
    for path in sorted((DATA / "feeds" / "real").iterdir()):
        body = path.read_bytes()
        try:
            parsed = parse_feed(body, headers=fixture_headers(body), source_id=path.name)
        except FetchError:
            continue
        out += [(f"{path.name}#{i}", item) for i, item in enumerate(parsed.items)]
    return out


def golden_items() -> list[tuple[str, Item]]:
    """(id, item) for every item the golden file covers, in its order."""
    out: list[tuple[str, Item]] = []
    corpora = sorted(
        [*(DATA / "rules").glob("*.jsonl"), *(CORPORA / n for n in ("real.jsonl", "kcna.jsonl"))],
        key=lambda p: p.name,
    )
    for corpus in corpora:
        for labelled in read_corpus(corpus):
            out.append((f"{corpus.name}:{labelled.id}", labelled.item))
    for seed in sorted((DATA / "rules" / "seeds").glob("*.txt")):
        out.append((f"seed:{seed.name}", item_from_input(seed.read_text("utf-8"), seed.name)))
    out += [(f"feed:{k}", item) for k, item in real_feed_items()]
    rng = random.Random(2026)
    disturbed = [
        (
            f"disturbed:{k}",
            replace(
                item,
                title=_disturb(item.title, rng),
                summary=_disturb(item.summary, rng),
                content=_disturb(item.content, rng),
            ),
        )
        for k, item in out
        if not k.startswith("feed:")
    ]
    return out + disturbed


def _match(m: Match | None) -> list[Any] | None:
    if m is None:
        return None
    return [m.term, m.text, m.field, m.start, m.end, m.weight, m.snippet, m.kind, m.entity]


def record(key: str, result: ScoreResult) -> dict[str, Any]:
    """One line of the golden file: everything ``score(explain=True)`` said about the item."""
    return {
        "id": key,
        "alerted": list(result.alerted_ids),
        "topics": [
            {
                "topic": t.topic,
                "score": t.score,
                "alerted": t.alerted,
                "vetoed_by": _match(t.vetoed_by),
                "missing": list(t.missing),
                "too_far": t.too_far,
                "matches": [_match(m) for m in t.matches],
            }
            for t in result.topics
        ],
    }


def read_golden() -> list[dict[str, Any]]:
    text = gzip.decompress(GOLDEN.read_bytes()).decode("utf-8")
    return [json.loads(line) for line in text.splitlines()]


def main() -> None:
    from watcher.rules import load_rules

    rules = load_rules(ROOT / "keywords.yaml")
    lines = [
        json.dumps(record(k, rules.score(item)), ensure_ascii=False, sort_keys=True)
        for k, item in golden_items()
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    GOLDEN.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{len(lines)} items -> {GOLDEN}")


if __name__ == "__main__":
    main()
