"""Pairwise precision and recall of story grouping, within and across languages, with and
without the sentence encoder, on:

- the invented labelled set (tests/data/stories/labelled.jsonl: 164 reports of 40 stories,
  dated over six weeks), as dated and re-dated into one day;
- the real reports (tests/data/stories/real.jsonl and real-stories.jsonl: 148 reports of 135
  developments), re-dated into one day (their real dates span 2003-2026), all of them and
  those the rules (keywords.yaml) let through, which are the ones the pipeline groups.

The thresholds of StoryConfig were chosen on the invented set in one day; the real set's
figures are therefore held out (docs/stories.md).

    python bench/eval_stories.py [--errors]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from watcher.models import Item
from watcher.rules import load_rules
from watcher.stories import load_encoder
from watcher.stories.encoder import Encoder
from watcher.stories.evaluate import (
    Evaluation,
    Labelled,
    PairScores,
    evaluate,
    load_labelled,
    load_real,
    one_day,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "stories"
DAY = datetime(2025, 6, 1, tzinfo=UTC)


def _line(name: str, s: PairScores) -> str:
    return (
        f"    {name:<8} precision {s.precision:6.3f}  recall {s.recall:6.3f}"
        f"  (tp {s.true_pos}, fp {s.false_pos}, fn {s.false_neg})"
    )


def _print(title: str, result: Evaluation, seconds: float, show_errors: bool) -> None:
    print(f"  {title} ({seconds:.2f} s)")
    for lang, scores in result.within.items():
        print(_line(lang, scores))
    pooled = PairScores(
        sum(s.true_pos for s in result.within.values()),
        sum(s.false_pos for s in result.within.values()),
        sum(s.false_neg for s in result.within.values()),
    )
    print(_line("within", pooled))
    print(_line("across", result.across))
    if show_errors:
        for kind, a, b in result.errors:
            print(f"      {kind} {a} {b}")


def accepted(items: list[Labelled]) -> list[Labelled]:
    """The items the project's rules let through (with their topics and entities)."""
    from dataclasses import replace

    rules = load_rules(ROOT / "keywords.yaml")
    out = []
    for item in items:
        r = item.report
        scored = rules.score(
            Item(source_id="eval", guid=r.key, url=r.url, title=r.title, summary=r.summary,
                 language=r.language, published=r.published),
            explain=True,
        )  # fmt: skip
        if scored.alerted:
            entities = frozenset(
                m.entity for t in scored.alerted for m in t.matches if m.kind == "entity"
            )
            report = replace(r, topics=frozenset(scored.alerted_ids), entities=entities)
            out.append(Labelled(report, item.story))
    return out


def main(argv: list[str]) -> int:
    show_errors = "--errors" in argv
    labelled = load_labelled(DATA / "labelled.jsonl")
    real = one_day(load_real(DATA / "real.jsonl", DATA / "real-stories.jsonl"), DAY)
    sets = {
        "invented labelled set, as dated": labelled,
        "invented labelled set, in one day": one_day(labelled, DAY),
        "real reports in one day": real,
        "real reports in one day, those the rules let through": accepted(real),
    }
    encoder = load_encoder()
    modes: list[tuple[str, Encoder | None]] = [("without the encoder", None)]
    modes.append(("with the encoder", encoder) if encoder else ("encoder unavailable", None))
    for name, items in sets.items():
        print(f"{name}: {len(items)} reports, {len({i.story for i in items})} developments")
        for title, enc in modes:
            start = time.perf_counter()
            result = evaluate(items, encoder=enc)
            _print(title, result, time.perf_counter() - start, show_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
