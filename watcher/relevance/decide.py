"""The decision: the rules first, the relevance model as a second opinion.

The rules stay the explained decision. The model is asked only about items for which some
topic's required entities are there (most news never mentions North Korea and costs nothing
more), and may change two things, each marked on the topic (``TopicScore.decision``):

- ``possible``: the rules did not alert the topic, nothing vetoed it, its entities are there,
  and the model gives it at least ``promote``: a possible match, sent as such;
- ``held``: the rules alerted the topic but the model gives it less than ``hold``: held back
  as noise (recorded, not sent).

``Relevance`` wraps the rules and the model (either may change on a reload; it is rebuilt).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from watcher.models import Item, ScoreResult, TopicScore
from watcher.relevance.model import Neighbour, RelevanceModel
from watcher.rules import Rules

POSSIBLE = "possible"
HELD = "held"
MODEL_ONLY_AT = 0.5  # the model alone says yes from this probability


def gated(t: TopicScore) -> bool:
    """The topic could alert: its entities are there and nothing vetoed it (the score, and
    the entities' distance to the terms, are what the model may judge otherwise)."""
    return not t.missing and t.vetoed_by is None


def decide(
    result: ScoreResult, probs: Mapping[str, float], promote: float, hold: float
) -> ScoreResult:
    """``result`` (the rules') with the model's probabilities applied."""
    topics: list[TopicScore] = []
    for t in result.topics:
        p = probs.get(t.topic)
        if p is None or not gated(t):
            topics.append(t)
        elif t.alerted and p < hold:
            topics.append(replace(t, alerted=False, decision=HELD, model=p))
        elif not t.alerted and p >= promote:
            topics.append(replace(t, alerted=True, decision=POSSIBLE, model=p))
        else:
            topics.append(replace(t, model=p))
    return ScoreResult(tuple(topics))


def model_only(result: ScoreResult, probs: Mapping[str, float]) -> frozenset[str]:
    """The topics the model alone would alert (among those whose entities are there)."""
    return frozenset(
        t.topic for t in result.topics if gated(t) and probs.get(t.topic, 0.0) >= MODEL_ONLY_AT
    )


@dataclass(frozen=True)
class Relevance:
    """What ``watcher run`` scores items with: the rules, and the model when there is one.

    ``note`` says why there is no model (shown at start and on reload)."""

    rules: Rules
    model: RelevanceModel | None = None
    note: str = ""

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return self.rules.topic_ids

    def score(self, item: Item, *, explain: bool = True) -> ScoreResult:
        """The rules' result, with the model's opinion applied where it may change it."""
        result = self.rules.score(item, explain=explain)
        probs = self.probabilities(item, result)
        if not probs:
            return result
        assert self.model is not None
        return decide(result, probs, self.model.promote, self.model.hold)

    def probabilities(
        self, item: Item, result: ScoreResult, memo: dict[Item, dict[str, float]] | None = None
    ) -> dict[str, float]:
        """The model's probabilities for the topics it may judge ({} when it is not asked).

        ``memo`` keeps the model's answers for items judged again under other rules (the
        model's answer does not depend on them)."""
        model = self.model
        if model is None or not any(gated(t) and t.topic in model.topics for t in result.topics):
            return {}
        probs = memo.get(item) if memo is not None else None
        if probs is None:
            probs = model.predict(item)
            if memo is not None:
                memo[item] = probs
        return {t.topic: probs[t.topic] for t in result.topics if t.topic in probs}

    def nearest(self, item: Item, k: int = 3) -> list[Neighbour]:
        return self.model.nearest(item, k) if self.model is not None else []

    def note_for(self, item: Item, result: ScoreResult) -> str:
        """One line explaining the model's decisions on ``result`` ("" when it made none)."""
        changed = [t for t in result.topics if t.decision]
        if not changed:
            return ""
        parts = [
            f"{'possible match' if t.decision == POSSIBLE else 'held back'}: {t.topic}"
            f" (model {t.model:.2f})"
            for t in changed
            if t.model is not None
        ]
        like = "; ".join(n.describe() for n in self.nearest(item))
        return ", ".join(parts) + (f"; like {like}" if like else "")
