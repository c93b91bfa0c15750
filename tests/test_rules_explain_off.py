"""``Rules.score(item, explain=False)`` (what a poll uses) gives the same verdicts as the full
explanation on every labelled corpus item: scores, alerts, vetoes and missing entities, and all
the matches of alerting topics; only non-alerting topics leave their matches out."""

from __future__ import annotations

from pathlib import Path

from watcher.rules import load_rules
from watcher.rules.corpus import read_corpus

ROOT = Path(__file__).parent.parent
CORPORA = sorted((ROOT / "tests" / "data" / "rules").glob("*.jsonl"))


def test_explain_off_gives_the_same_verdicts() -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    items = [labelled for corpus in CORPORA for labelled in read_corpus(corpus)]
    assert len(items) > 100
    alerted = 0
    for labelled in items:
        full = rules.score(labelled.item)
        quick = rules.score(labelled.item, explain=False)
        assert len(full.topics) == len(quick.topics)
        for f, q in zip(full.topics, quick.topics, strict=True):
            if f.alerted:
                alerted += 1
                assert q == f
            else:
                assert q.matches == ()
                assert (q.topic, q.score, q.alerted, q.vetoed_by, q.missing) == (
                    f.topic,
                    f.score,
                    f.alerted,
                    f.vetoed_by,
                    f.missing,
                )
    assert alerted > 0
