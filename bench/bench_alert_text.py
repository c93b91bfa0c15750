"""How long Telegram alerts are on a phone: characters and lines of the message each alerting
item of a corpus gives (the rules of the checkout's keywords.yaml, no relevance model).

    python -m bench.bench_alert_text [CORPUS.jsonl ...]   (default: tests/data/rules/*.jsonl)

Prints median and maximum characters and lines for a reader and for an admin (/details on),
and the share of messages with a doubled ellipsis ("… …").
"""

from __future__ import annotations

import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

import watcher
from watcher.models import Alert
from watcher.notify.telegram import format as telegram
from watcher.rules.corpus import read_corpus
from watcher.rules.score import Rules

ROOT = Path(watcher.__file__).resolve().parent.parent
CORPORA = ("dev.jsonl", "extra.jsonl", "real_news.jsonl")
WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def alerts(rules: Rules, paths: list[Path]) -> list[Alert]:
    """An alert as the pipeline records it, for each item the rules alert on."""
    out: list[Alert] = []
    for path in paths:
        for n, labelled in enumerate(read_corpus(path)):
            item = labelled.item
            result = rules.score(item)
            if not result.alerted_ids:
                continue
            out.append(
                Alert(
                    id=n,
                    item_id=n,
                    source_id=item.source_id,
                    source_name=item.source_id,
                    title=item.title,
                    url=item.url,
                    published=item.published or WHEN,
                    topics=result.alerted_ids,
                    score=result.best_score,
                    matches=tuple(m for t in result.alerted for m in t.matches),
                    created_at=WHEN,
                    summary=item.summary,
                    language=item.language,
                )
            )
    return out


def describe(name: str, messages: list[str]) -> str:
    chars = [len(m) for m in messages]
    lines = [m.count("\n") + 1 for m in messages]
    doubled = sum("… …" in m for m in messages)
    return (
        f"{name:>7}: {len(messages)} alerts, characters median {statistics.median(chars):.0f}"
        f" max {max(chars)}, lines median {statistics.median(lines):.0f} max {max(lines)},"
        f" doubled ellipses in {doubled}"
    )


def main(argv: list[str]) -> None:
    paths = [Path(a) for a in argv] or [ROOT / "tests/data/rules" / c for c in CORPORA]
    rules = Rules.from_path(ROOT / "keywords.yaml")
    found = alerts(rules, paths)
    reader_type = getattr(telegram, "Reader", None)
    if reader_type is None:  # a checkout whose alerts are the same for everyone
        print(describe("everyone", [telegram.format_alert(a) for a in found]))
        return
    titles = rules.titles_in("en")
    for name, details in (("reader", False), ("admin", True)):
        reader = reader_type(details=details, titles=titles)
        print(describe(name, [telegram.format_alert(a, reader) for a in found]))


if __name__ == "__main__":
    main(sys.argv[1:])
