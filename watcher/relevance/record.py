"""Writing down what the relevance model decided (the pipeline calls these inside the poll's
transaction): the note that goes with a possible match, one ``model_decisions`` row per
kind of decision on an item, and which topics of a quiet item were near misses."""

from __future__ import annotations

from typing import Any

from watcher.models import Item, ScoreResult, TopicScore
from watcher.relevance.decide import HELD, POSSIBLE, Relevance, gated
from watcher.store.db import Tx
from watcher.store.relevance import record_decision

# A topic that did not alert is a near miss from this share of its threshold (its entities
# there, nothing vetoing it): half keeps the state media's daily mentions of North Korea and
# Russia out of the review list (on the KCNA corpus 20 of 590 items, against 94 from any score).
NEAR_MISS_SHARE = 0.5


def opinion_note(scorer: Any, item: Item, result: ScoreResult) -> str:
    """Why the model changed ``result`` (its scores and the nearest labelled items), or ""."""
    if not isinstance(scorer, Relevance) or not any(t.decision for t in result.topics):
        return ""
    return scorer.note_for(item, result)


def possible(result: ScoreResult) -> bool:
    return any(t.decision == POSSIBLE for t in result.topics)


def held_only(result: ScoreResult) -> bool:
    """The rules alerted, and the model held back every such topic."""
    return not result.alerted and any(t.decision == HELD for t in result.topics)


def near_miss(result: ScoreResult) -> tuple[TopicScore, ...]:
    """The topics of an item that does not alert which came close (none when it alerts)."""
    if result.alerted:
        return ()
    return tuple(
        t
        for t in result.topics
        if gated(t) and not t.decision and t.score > 0 and t.score >= t.threshold * NEAR_MISS_SHARE
    )


def record_opinion(
    tx: Tx,
    scorer: Any,
    *,
    item_id: int,
    alert_id: int | None,
    result: ScoreResult,
    note: str,
    now: float,
) -> None:
    """One row per kind of decision the model made on the item (none when it made none)."""
    model = scorer.model if isinstance(scorer, Relevance) else None
    for kind in (POSSIBLE, HELD):
        topics = [t for t in result.topics if t.decision == kind]
        if not topics:
            continue
        record_decision(
            tx,
            item_id=item_id,
            alert_id=alert_id if kind == POSSIBLE else None,
            decision=kind,
            topics=[t.topic for t in topics],
            model_scores={t.topic: t.model for t in result.topics if t.model is not None},
            note=note,
            model_id=model.id if model is not None else "",
            now=now,
        )
