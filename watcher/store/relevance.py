"""The relevance model's decisions: a possible match sent, a rule hit held back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from watcher.store.db import Database, Tx


@dataclass(frozen=True, slots=True)
class ModelDecision:
    item_id: int
    alert_id: int | None
    decision: str  # "possible" or "held"
    topics: tuple[str, ...]
    model_scores: dict[str, float]
    note: str
    model_id: str
    created_at: float


def record_decision(
    tx: Tx,
    *,
    item_id: int,
    alert_id: int | None,
    decision: str,
    topics: Sequence[str],
    model_scores: Mapping[str, float],
    note: str,
    model_id: str,
    now: float,
) -> None:
    tx.execute(
        "INSERT INTO model_decisions (item_id, alert_id, decision, topics, model_scores, note,"
        " model_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item_id,
            alert_id,
            decision,
            json.dumps(list(topics)),
            json.dumps({k: round(v, 4) for k, v in model_scores.items()}, sort_keys=True),
            note,
            model_id,
            now,
        ),
    )


def decisions(db: Database, *, since: float = -1.0, limit: int = 100) -> list[ModelDecision]:
    """The newest decisions first."""
    with db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT item_id, alert_id, decision, topics, model_scores, note, model_id, created_at"
            " FROM model_decisions WHERE created_at > ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (since, limit),
        )
    return [
        ModelDecision(
            item_id=int(r[0]),
            alert_id=int(r[1]) if r[1] is not None else None,
            decision=r[2],
            topics=tuple(json.loads(r[3])),
            model_scores={str(k): float(v) for k, v in json.loads(r[4]).items()},
            note=r[5],
            model_id=r[6],
            created_at=float(r[7]),
        )
        for r in rows
    ]
