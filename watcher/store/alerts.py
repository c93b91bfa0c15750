"""Alerts: recorded once (unique ``dedupe_key``), fanned out to the outbox in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from watcher.models import Alert, Match, from_epoch, matches_from_json, matches_to_json
from watcher.store.db import Database, Row, Tx

ALERT_COLUMNS = (
    "id, item_id, source_id, source_name, title, url, published_at, topics, score, matches,"
    " created_at, summary, language, story_id, model_note"
)

# Called inside the alert's transaction; returns (channel, [targets]) for the outbox.
TargetsFn = Callable[[Tx, Alert], Sequence[tuple[str, Sequence[str]]]]


def alert_from_row(row: Row) -> Alert:
    published = from_epoch(row[6])
    created = from_epoch(row[10])
    assert published is not None and created is not None
    return Alert(
        id=int(row[0]),
        item_id=int(row[1]) if row[1] is not None else 0,
        source_id=row[2],
        source_name=row[3],
        title=row[4],
        url=row[5],
        published=published,
        topics=tuple(json.loads(row[7])),
        score=float(row[8]),
        matches=matches_from_json(row[9]),
        created_at=created,
        summary=row[11],
        language=row[12],
        story_id=int(row[13]) if row[13] is not None else None,
        model_note=row[14],
    )


def insert_alert(
    tx: Tx,
    *,
    dedupe_key: str,
    item_id: int | None,
    source_id: str,
    source_name: str,
    title: str,
    url: str,
    summary: str,
    language: str,
    published: datetime,
    topics: Sequence[str],
    score: float,
    matches: Sequence[Match],
    now: float,
    story_id: int | None = None,
    model_note: str = "",
) -> Alert | None:
    """Record an alert; ``None`` when one with this ``dedupe_key`` exists already.

    ``model_note``: why the relevance model sent it as a possible match ("" when the rules did).
    """
    row = tx.fetchone(
        "INSERT INTO alerts (dedupe_key, item_id, source_id, source_name, title, url, summary,"
        " language, published_at, topics, score, matches, story_id, created_at, model_note)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING " + ALERT_COLUMNS,
        (
            dedupe_key,
            item_id,
            source_id,
            source_name,
            title,
            url,
            summary,
            language,
            published.timestamp(),
            json.dumps(list(topics)),
            score,
            matches_to_json(list(matches)),
            story_id,
            now,
            model_note,
        ),
    )
    if row is None:
        return None
    # the matches as given (equal to what the row holds): no JSON round trip per alert
    return replace(alert_from_row((*row[:9], "", *row[10:])), matches=tuple(matches))


def get_alerts(db: Database, ids: Sequence[int]) -> dict[int, Alert]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    with db.transaction() as tx:
        rows = tx.fetchall(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id IN ({marks})", list(ids))
    return {int(r[0]): alert_from_row(r) for r in rows}


def recent_alerts(db: Database, limit: int = 10, since: float | None = None) -> list[Alert]:
    """The newest alerts first (``since``: only those created after that epoch time)."""
    with db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE created_at > ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (since if since is not None else -1.0, limit),
        )
    return [alert_from_row(r) for r in rows]


def alerts_before(db: Database, before: int | None, limit: int, source_id: str = "") -> list[Alert]:
    """A page of alerts, newest first: ids below ``before`` (None: from the newest), of one
    source when ``source_id`` is given."""
    where = ["id < ?"]
    params: list[object] = [before if before is not None else 2**62]
    if source_id:
        where.append("source_id = ?")
        params.append(source_id)
    with db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {' AND '.join(where)}"
            " ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
    return [alert_from_row(r) for r in rows]


def count_alerts(db: Database, source_id: str = "") -> int:
    with db.transaction() as tx:
        if source_id:
            return int(tx.scalar("SELECT COUNT(*) FROM alerts WHERE source_id = ?", (source_id,)))
        return int(tx.scalar("SELECT COUNT(*) FROM alerts"))


def alerts_per_day(db: Database, since: float) -> dict[str, dict[int, int]]:
    """source id -> {day (days since the epoch, UTC): alerts created that day} since ``since``."""
    # created_at is positive: truncation is the floor on both dialects (PostgreSQL rounds)
    day = "CAST(created_at / 86400 AS INTEGER)"
    if db.dialect == "postgresql":
        day = "CAST(FLOOR(created_at / 86400) AS INTEGER)"
    with db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT source_id, {day} AS d, COUNT(*) FROM alerts WHERE created_at >= ?"
            " GROUP BY source_id, d",
            (since,),
        )
    out: dict[str, dict[int, int]] = {}
    for source_id, d, n in rows:
        out.setdefault(str(source_id), {})[int(d)] = int(n)
    return out


def alert_for_url(db: Database, url: str) -> int | None:
    """The id of the alert of this canonical URL (its dedupe key's URL), if any."""
    with db.transaction() as tx:
        found = tx.scalar("SELECT MIN(id) FROM alerts WHERE url = ?", (url,))
    return int(found) if found is not None else None
