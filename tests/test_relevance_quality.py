"""The shipped rules and model meet the targets on the real corpora: the rules alone, and the
rules with the model cross-validated (every item scored by a model that never saw it nor the
other reports of its story). Figures of these runs are in docs/relevance.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.relevance.evaluate import false_alerts, figures, judge
from watcher.relevance.files import SHIPPED_CORPORA
from watcher.relevance.train import HOLD, PROMOTE, cross_validate, read_corpora
from watcher.rules import load_rules
from watcher.rules.corpus import metrics, read_corpus, score_all

ROOT = Path(__file__).resolve().parent.parent
RULES = load_rules(ROOT / "keywords.yaml")
REAL, KCNA = SHIPPED_CORPORA[3], SHIPPED_CORPORA[4]


def test_rules_alone_on_real_news() -> None:
    m = metrics(list(score_all(RULES, read_corpus(REAL, RULES.topic_ids))), RULES.topic_ids)
    assert m["overall"]["precision"] >= 0.95 and m["overall"]["recall"] >= 0.95, m["overall"]
    for topic, tm in m["topics"].items():
        assert tm["f1"] >= 0.85, (topic, tm)


def test_rules_alone_on_state_media() -> None:
    items = read_corpus(KCNA, RULES.topic_ids)
    alerted = [o.id for o in score_all(RULES, items) if o.alerted]
    assert len(alerted) <= 0.003 * len(items), alerted


@pytest.mark.slow
def test_rules_and_model_cross_validated() -> None:
    topics = RULES.topic_ids
    corpora = read_corpora(SHIPPED_CORPORA, topics)
    probs, _ = cross_validate(corpora, topics)
    i = 0
    judged: dict[str, list] = {}  # type: ignore[type-arg]
    for corpus in corpora:
        for li in corpus.items:
            result = RULES.score(li.item)
            judged.setdefault(corpus.name, []).append(judge(li, result, probs[i], PROMOTE, HOLD))
            i += 1
    real = figures(judged["real.jsonl"], topics)["combined"]
    assert real["overall"]["precision"] >= 0.95 and real["overall"]["recall"] >= 0.95, real
    for topic, tm in real["topics"].items():
        assert tm["f1"] >= 0.85, (topic, tm)
    kcna = judged["kcna.jsonl"]
    assert false_alerts(kcna)["combined"] <= 0.003 * len(kcna)
    for name in ("dev.jsonl", "extra.jsonl"):
        m = figures(judged[name], topics)["combined"]
        assert m["overall"]["precision"] >= 0.90 and m["overall"]["recall"] >= 0.95, (name, m)
    assert false_alerts(judged["real_news.jsonl"])["combined"] <= 2
