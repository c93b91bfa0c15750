"""Each source's fetch state: conditional GET validators, body hash, schedule and health."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.store.db import Database, Row, Tx

STATE_COLUMNS = (
    "id, url, etag, last_modified, body_hash, next_check_at, last_checked_at, last_success_at,"
    " last_error_at, last_error_kind, last_error, consecutive_failures, first_polled_at,"
    " items_seen, failing_notified_at"
)


@dataclass(frozen=True, slots=True)
class SourceState:
    id: str
    url: str = ""
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_check_at: float | None = None
    last_checked_at: float | None = None
    last_success_at: float | None = None
    last_error_at: float | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    first_polled_at: float | None = None
    items_seen: int = 0
    failing_notified_at: float | None = None  # operators told it fails (migration 0006)


def _state(row: Row) -> SourceState:
    return SourceState(
        id=row[0],
        url=row[1] or "",
        etag=row[2],
        last_modified=row[3],
        body_hash=row[4],
        next_check_at=row[5],
        last_checked_at=row[6],
        last_success_at=row[7],
        last_error_at=row[8],
        last_error_kind=row[9],
        last_error=row[10],
        consecutive_failures=int(row[11] or 0),
        first_polled_at=row[12],
        items_seen=int(row[13] or 0),
        failing_notified_at=row[14],
    )


def ensure_source(tx: Tx, source_id: str, url: str) -> None:
    """Create the source's row; a changed URL forgets the old validators."""
    tx.execute(
        "INSERT INTO sources (id, url) VALUES (?, ?) ON CONFLICT DO NOTHING", (source_id, url)
    )
    tx.execute(
        "UPDATE sources SET url = ?, etag = NULL, last_modified = NULL, body_hash = NULL"
        " WHERE id = ? AND url <> ?",
        (url, source_id, url),
    )


def get_state(db: Database, source_id: str) -> SourceState | None:
    with db.transaction() as tx:
        row = tx.fetchone(f"SELECT {STATE_COLUMNS} FROM sources WHERE id = ?", (source_id,))
    return None if row is None else _state(row)


def all_states(db: Database) -> dict[str, SourceState]:
    with db.transaction() as tx:
        rows = tx.fetchall(f"SELECT {STATE_COLUMNS} FROM sources ORDER BY id")
    return {r[0]: _state(r) for r in rows}


def item_counts(db: Database) -> dict[str, int]:
    with db.transaction() as tx:
        rows = tx.fetchall("SELECT source_id, COUNT(*) FROM items GROUP BY source_id")
    return {r[0]: int(r[1]) for r in rows}


def record_success(
    tx: Tx,
    source_id: str,
    *,
    now: float,
    next_check_at: float,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    new_items: int = 0,
) -> None:
    tx.execute(
        "UPDATE sources SET etag = ?, last_modified = ?, body_hash = COALESCE(?, body_hash),"
        " next_check_at = ?, last_checked_at = ?, last_success_at = ?,"
        " consecutive_failures = 0, first_polled_at = COALESCE(first_polled_at, ?),"
        " items_seen = items_seen + ? WHERE id = ?",
        (etag, last_modified, body_hash, next_check_at, now, now, now, new_items, source_id),
    )


def record_failure(
    db: Database, source_id: str, *, now: float, kind: str, detail: str, next_check_at: float
) -> int:
    """Record a failed poll; return the number of failures in a row now."""
    with db.transaction() as tx:
        tx.execute(
            "UPDATE sources SET last_checked_at = ?, last_error_at = ?, last_error_kind = ?,"
            " last_error = ?, consecutive_failures = consecutive_failures + 1,"
            " next_check_at = ? WHERE id = ?",
            (now, now, kind, detail[:500], next_check_at, source_id),
        )
        n = tx.scalar("SELECT consecutive_failures FROM sources WHERE id = ?", (source_id,))
    return int(n or 0)


def claim_failing_notice(db: Database, source_id: str, now: float) -> bool:
    """True for the one caller (of all instances, across restarts) that should tell operators
    this source is failing; false once told, until a success clears it."""
    with db.transaction() as tx:
        claimed = tx.execute(
            "UPDATE sources SET failing_notified_at = ?"
            " WHERE id = ? AND failing_notified_at IS NULL AND consecutive_failures > 0",
            (now, source_id),
        )
    return claimed == 1


def claim_recovered_notice(db: Database, source_id: str) -> bool:
    """True for the one caller that should tell operators the source works again (after a
    "failing" notice); clears the mark, so the next failure streak is told anew."""
    with db.transaction() as tx:
        claimed = tx.execute(
            "UPDATE sources SET failing_notified_at = NULL"
            " WHERE id = ? AND failing_notified_at IS NOT NULL AND consecutive_failures = 0",
            (source_id,),
        )
    return claimed == 1
