"""The delivery outbox: at-least-once delivery that survives crashes and restarts.

Rows are written in the alert's transaction (``enqueue``). A notifier ``claim``s due rows for
its channel (a lease of ``lease_s`` seconds, so a crashed sender's rows come back), sends them,
then marks each ``sent`` (with the channel's reference, e.g. Telegram's message id), ``retry``
(with a delay) or ``dead`` (the target is gone). On PostgreSQL claims use ``FOR UPDATE SKIP
LOCKED`` so several instances never send the same row at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from watcher.store.db import Database, Tx

PENDING = "pending"
SENT = "sent"
DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    alert_id: int
    channel: str
    target: str
    action: str
    attempts: int


def enqueue(
    tx: Tx,
    alert_id: int,
    channel: str,
    targets: Sequence[str],
    now: float,
    action: str = "send",
    due: float | None = None,
) -> int:
    """Add one row per target (ignoring ones that exist), due at ``due`` (default ``now``);
    return how many were new."""
    added = 0
    for target in targets:
        added += max(
            0,
            tx.execute(
                "INSERT INTO outbox (alert_id, channel, target, action, status, attempts,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (alert_id, channel, str(target), action, PENDING, now if due is None else due, now),
            ),
        )
    return added


def claim(
    db: Database,
    channel: str,
    owner: str,
    now: float,
    limit: int = 100,
    lease_s: float = 60.0,
) -> list[OutboxRow]:
    """Lease up to ``limit`` due rows of ``channel`` to ``owner``, oldest first."""
    lock = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""
    with db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT id, alert_id, channel, target, action, attempts FROM outbox"
            " WHERE channel = ? AND status = ? AND next_attempt_at <= ?"
            " AND (claimed_until IS NULL OR claimed_until < ?)"
            " ORDER BY next_attempt_at, id LIMIT ?" + lock,
            (channel, PENDING, now, now, limit),
        )
        if rows:
            marks = ", ".join("?" for _ in rows)
            tx.execute(
                f"UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN ({marks})",
                [owner, now + lease_s, *[r[0] for r in rows]],
            )
    return [OutboxRow(int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5])) for r in rows]


def defer(db: Database, row_id: int, at: float) -> None:
    """Give a claimed row back, due at ``at``, without counting an attempt: its target is
    busy (paced) and other targets' rows must not wait behind it."""
    with db.transaction() as tx:
        tx.execute(
            "UPDATE outbox SET next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL"
            " WHERE id = ? AND status = ?",
            (at, row_id, PENDING),
        )


def mark_sent(db: Database, row_id: int, ref: str, now: float) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE outbox SET status = ?, sent_ref = ?, sent_at = ?, attempts = attempts + 1,"
            " claimed_by = NULL, claimed_until = NULL, last_error = NULL WHERE id = ?",
            (SENT, ref, now, row_id),
        )


def mark_retry(db: Database, row_id: int, error: str, retry_at: float) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
            " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (error, retry_at, row_id),
        )


def mark_dead(db: Database, row_id: int, error: str, now: float) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
            " sent_at = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (DEAD, error, now, row_id),
        )


def pending_count(db: Database, channel: str | None = None) -> int:
    with db.transaction() as tx:
        if channel is None:
            n = tx.scalar("SELECT COUNT(*) FROM outbox WHERE status = ?", (PENDING,))
        else:
            n = tx.scalar(
                "SELECT COUNT(*) FROM outbox WHERE status = ? AND channel = ?", (PENDING, channel)
            )
    return int(n or 0)


def sent_ref(db: Database, alert_id: int, channel: str, target: str) -> str | None:
    """The reference recorded when ``alert_id`` was sent to ``target`` (for later edits)."""
    with db.transaction() as tx:
        ref = tx.scalar(
            "SELECT sent_ref FROM outbox WHERE alert_id = ? AND channel = ? AND target = ?"
            " AND action = 'send' AND status = ?",
            (alert_id, channel, target, SENT),
        )
    return None if ref is None else str(ref)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message of an alert as the outbox holds it (for people: the maintainer pages)."""

    channel: str
    target: str
    action: str
    status: str
    attempts: int
    last_error: str
    sent_at: float | None


def deliveries(db: Database, alert_ids: Sequence[int]) -> dict[int, list[Delivery]]:
    """alert id -> its outbox rows (sends and edits), in the order they were queued."""
    out: dict[int, list[Delivery]] = {}
    if not alert_ids:
        return out
    marks = ", ".join("?" for _ in alert_ids)
    with db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT alert_id, channel, target, action, status, attempts, last_error, sent_at"
            f" FROM outbox WHERE alert_id IN ({marks}) ORDER BY id",
            list(alert_ids),
        )
    for alert_id, channel, target, action, status, attempts, error, sent_at in rows:
        out.setdefault(int(alert_id), []).append(
            Delivery(channel, target, action, status, int(attempts), error or "", sent_at)
        )
    return out
