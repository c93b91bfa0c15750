"""Email digest recipients and digests.

A digest is recorded (recipient, local date, Message-ID, the alert ids it covers) BEFORE it is
sent and marked ``delivered`` after. A crash or an SMTP failure in between leaves it ``pending``;
the retry sends the same alerts under the same Message-ID, so nobody gets a day twice and no day
is missed. ``UNIQUE (recipient, digest_date)`` keeps two instances from making two digests.

A new digest covers every alert with an id above the highest id any earlier digest of that
recipient covered (so "since the last digest", not a fixed 24 hours), filtered by topics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.models import Alert
from watcher.store.alerts import ALERT_COLUMNS, alert_from_row
from watcher.store.db import Database, Row

PENDING = "pending"
DELIVERED = "delivered"
EMPTY = "empty"  # a day with nothing new and no "nothing new" note: recorded, never sent


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    topics: tuple[str, ...]  # empty: every topic
    send_at: str  # "HH:MM", local time
    tz: str  # IANA time zone name
    active: bool
    lang: str = "en"  # the language of its digests (en, ko, ru)

    def wants(self, alert: Alert) -> bool:
        return not self.topics or any(t in self.topics for t in alert.topics)


@dataclass(frozen=True, slots=True)
class Digest:
    id: int
    recipient: str
    digest_date: str  # the recipient's local date, YYYY-MM-DD
    message_id: str
    alert_ids: tuple[int, ...]
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    delivered_at: float | None

    @property
    def target(self) -> str:  # what the notifier contract paces by
        return self.recipient


_RECIPIENT_COLUMNS = "email, topics, send_at, tz, active, lang"
_DIGEST_COLUMNS = (
    "id, recipient, digest_date, message_id, alert_ids, status, attempts, next_attempt_at,"
    " last_error, created_at, delivered_at"
)


def _recipient(row: Row) -> Recipient:
    return Recipient(
        email=row[0],
        topics=tuple(json.loads(row[1])),
        send_at=row[2],
        tz=row[3],
        active=bool(row[4]),
        lang=str(row[5]),
    )


def _digest(row: Row) -> Digest:
    return Digest(
        id=int(row[0]),
        recipient=row[1],
        digest_date=row[2],
        message_id=row[3],
        alert_ids=tuple(int(i) for i in json.loads(row[4])),
        status=row[5],
        attempts=int(row[6]),
        next_attempt_at=float(row[7]),
        last_error=row[8],
        created_at=float(row[9]),
        delivered_at=float(row[10]) if row[10] is not None else None,
    )


def subscribe(
    db: Database,
    email: str,
    topics: Sequence[str],
    send_at: str,
    tz: str,
    now: float,
    lang: str = "en",
) -> Recipient:
    """Add or update a recipient (re-activating one who unsubscribed)."""
    with db.transaction() as tx:
        row = tx.fetchone(
            "INSERT INTO digest_recipients (email, topics, send_at, tz, lang, active, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)"
            " ON CONFLICT (email) DO UPDATE SET topics = excluded.topics,"
            " send_at = excluded.send_at, tz = excluded.tz, lang = excluded.lang, active = 1,"
            " updated_at = excluded.updated_at RETURNING " + _RECIPIENT_COLUMNS,
            (email, json.dumps(list(topics)), send_at, tz, lang, now, now),
        )
    assert row is not None
    return _recipient(row)


def unsubscribe(db: Database, email: str, now: float) -> bool:
    """Deactivate a recipient; False when there is no active one with that address."""
    with db.transaction() as tx:
        n = tx.execute(
            "UPDATE digest_recipients SET active = 0, updated_at = ?"
            " WHERE email = ? AND active = 1",
            (now, email),
        )
    return n > 0


def recipients(db: Database, *, active_only: bool = True) -> list[Recipient]:
    where = " WHERE active = 1" if active_only else ""
    with db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT {_RECIPIENT_COLUMNS} FROM digest_recipients{where} ORDER BY email"
        )
    return [_recipient(r) for r in rows]


def get_recipient(db: Database, email: str) -> Recipient | None:
    with db.transaction() as tx:
        row = tx.fetchone(
            f"SELECT {_RECIPIENT_COLUMNS} FROM digest_recipients WHERE email = ?", (email,)
        )
    return None if row is None else _recipient(row)


def new_alerts_for(db: Database, recipient: Recipient, limit: int = 1000) -> list[Alert]:
    """Alerts no earlier digest of ``recipient`` covered, filtered by its topics, oldest first."""
    with db.transaction() as tx:
        covered = tx.scalar(
            "SELECT COALESCE(MAX(max_alert_id), 0) FROM digests WHERE recipient = ?",
            (recipient.email,),
        )
        since = tx.scalar(
            "SELECT created_at FROM digest_recipients WHERE email = ?", (recipient.email,)
        )
        # A first digest starts a day before the subscription, not at the dawn of time.
        floor = float(since) - 86400.0 if covered == 0 and since is not None else -1.0
        rows = tx.fetchall(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id > ? AND created_at > ?"
            " ORDER BY id LIMIT ?",
            (int(covered or 0), floor, limit * 4),
        )
    alerts = [alert_from_row(r) for r in rows]
    return [a for a in alerts if recipient.wants(a)][:limit]


def has_digest(db: Database, email: str, digest_date: str) -> bool:
    with db.transaction() as tx:
        n = tx.scalar(
            "SELECT COUNT(*) FROM digests WHERE recipient = ? AND digest_date = ?",
            (email, digest_date),
        )
    return int(n) > 0


def record_digest(
    db: Database,
    *,
    recipient: str,
    digest_date: str,
    message_id: str,
    alert_ids: Sequence[int],
    now: float,
    status: str = PENDING,
) -> Digest | None:
    """Record a digest before sending it; None when this recipient has one for that date."""
    with db.transaction() as tx:
        covered = tx.scalar(
            "SELECT COALESCE(MAX(max_alert_id), 0) FROM digests WHERE recipient = ?", (recipient,)
        )
        high = max([int(covered or 0), *alert_ids])
        row = tx.fetchone(
            "INSERT INTO digests (recipient, digest_date, message_id, alert_ids, max_alert_id,"
            " status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING " + _DIGEST_COLUMNS,
            (
                recipient,
                digest_date,
                message_id,
                json.dumps(list(alert_ids)),
                high,
                status,
                now,
                now,
            ),
        )
    return None if row is None else _digest(row)


def due_digests(db: Database, now: float) -> list[Digest]:
    """Pending digests whose next attempt is due, oldest first."""
    with db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE status = ? AND next_attempt_at <= ?"
            " ORDER BY id",
            (PENDING, now),
        )
    return [_digest(r) for r in rows]


def claim(db: Database, digest_id: int, now: float, hold: float) -> bool:
    """Push a due digest's next attempt ``hold`` seconds ahead; True when this caller won it."""
    with db.transaction() as tx:
        n = tx.execute(
            "UPDATE digests SET next_attempt_at = ? WHERE id = ? AND status = ?"
            " AND next_attempt_at <= ?",
            (now + hold, digest_id, PENDING, now),
        )
    return n > 0


def mark_delivered(db: Database, digest_id: int, now: float) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE digests SET status = ?, attempts = attempts + 1, delivered_at = ?,"
            " last_error = NULL WHERE id = ?",
            (DELIVERED, now, digest_id),
        )


def mark_failed(db: Database, digest_id: int, error: str, next_attempt_at: float) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE digests SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE id = ?",
            (error[:500], next_attempt_at, digest_id),
        )


def digests_for(db: Database, email: str | None = None) -> list[Digest]:
    where, params = (" WHERE recipient = ?", (email,)) if email else ("", ())
    with db.transaction() as tx:
        rows = tx.fetchall(f"SELECT {_DIGEST_COLUMNS} FROM digests{where} ORDER BY id", params)
    return [_digest(r) for r in rows]
