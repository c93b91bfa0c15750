"""The shipped keywords.yaml meets the quality targets on the labelled copies in tests/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.rules import load_rules
from watcher.rules.corpus import item_from_input, metrics, read_corpus, score_all

DATA = Path(__file__).parent / "data" / "rules"
RULES = load_rules(Path(__file__).resolve().parent.parent / "keywords.yaml")


def test_shipped_topics() -> None:
    assert RULES.topic_ids == (
        "repatriation",
        "judicial_cooperation",
        "forced_labor",
        "soldiers_pows",
    )


@pytest.mark.parametrize("corpus", ["dev.jsonl", "extra.jsonl"])
def test_precision_recall_and_topic_f1(corpus: str) -> None:
    outcomes = list(score_all(RULES, read_corpus(DATA / corpus, RULES.topic_ids)))
    m = metrics(outcomes, RULES.topic_ids)
    assert m["overall"]["precision"] >= 0.90, m["overall"]
    assert m["overall"]["recall"] >= 0.95, m["overall"]
    for topic, tm in m["topics"].items():
        assert tm["f1"] >= 0.85, (topic, tm)


@pytest.mark.parametrize("seed", sorted((DATA / "seeds").glob("*.txt")), ids=lambda p: p.name)
def test_every_seed_alerts(seed: Path) -> None:
    item = item_from_input(seed.read_text(encoding="utf-8"), seed.name)
    assert RULES.score(item).alerted_ids


def test_unrelated_real_news_almost_never_alerts() -> None:
    """Real feeds (BBC, NYT, Reuters, Guardian, CNN, HuffPost, Russian, German, Portuguese),
    including stories on North Korean missiles, sanctions and summits."""
    items = read_corpus(DATA / "real_news.jsonl", RULES.topic_ids)
    assert len(items) > 400
    alerted = [o.id for o in score_all(RULES, items) if o.alerted]
    assert len(alerted) <= 2, alerted
