"""The evidence archive's index (migration 0009): what to capture, what was captured, where.

``archive_captures`` has one row per URL: the work queue of the archive service (phase
``capture``, then ``watch`` for the change/deletion checks, then ``done``) and the page's state
(``pending``, ``live``, ``changed``, ``removed``, ``failed``, ``blocked``, ``robots``).
``archive_snapshots`` has one row per copy: where its WARC records are (file, offset, length)
and the SHA-256 of the payload and of the extracted text. Several instances on PostgreSQL
share the queue: rows are leased with ``FOR UPDATE SKIP LOCKED`` like the outbox's, so each
capture is done once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields

from watcher.store.db import Database, Row, Tx

LEASE_S = 300.0  # a capture takes at most the fetch deadline and a write

CAPTURE = "capture"
WATCH = "watch"
DONE = "done"

PENDING = "pending"
LIVE = "live"
CHANGED = "changed"
REMOVED = "removed"
FAILED = "failed"
BLOCKED = "blocked"
ROBOTS = "robots"

_CAPTURE_COLUMNS = (
    "id, url, alert_id, item_id, source_id, title, phase, state, attempts, due_at, last_error,"
    " last_error_at, first_snapshot_id, latest_snapshot_id, payload_sha256, captured_at,"
    " checked_at, checks, watch_step, created_at"
)


@dataclass(frozen=True, slots=True)
class Capture:
    id: int
    url: str
    alert_id: int | None
    item_id: int | None
    source_id: str
    title: str
    phase: str
    state: str
    attempts: int
    due_at: float
    last_error: str | None
    last_error_at: float | None
    first_snapshot_id: int | None
    latest_snapshot_id: int | None
    payload_sha256: str
    captured_at: float | None
    checked_at: float | None
    checks: int
    watch_step: int
    created_at: float


def _capture(row: Row) -> Capture:
    def opt_int(v: object) -> int | None:
        return None if v is None else int(v)  # type: ignore[call-overload]

    return Capture(
        id=int(row[0]),
        url=row[1],
        alert_id=opt_int(row[2]),
        item_id=opt_int(row[3]),
        source_id=row[4],
        title=row[5],
        phase=row[6],
        state=row[7],
        attempts=int(row[8]),
        due_at=float(row[9]),
        last_error=row[10],
        last_error_at=row[11],
        first_snapshot_id=opt_int(row[12]),
        latest_snapshot_id=opt_int(row[13]),
        payload_sha256=row[14],
        captured_at=row[15],
        checked_at=row[16],
        checks=int(row[17]),
        watch_step=int(row[18]),
        created_at=float(row[19]),
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One archived copy: a ``response`` record, or a ``revisit`` of an identical payload."""

    id: int
    capture_id: int
    record_id: str  # WARC-Record-ID
    kind: str  # "response" or "revisit"
    outcome: str  # "first", "changed" or "removed"
    url: str
    final_url: str
    http_status: int
    fetched_at: float
    payload_sha256: str
    payload_length: int  # bytes of payload kept (after any cut)
    truncated: str  # "" or what was cut and why
    refers_to: str  # revisit: the record id of the identical payload
    text_sha256: str
    text_chars: int
    text_record_id: str
    warc_file: str  # relative to the archive folder
    warc_offset: int
    warc_length: int
    text_file: str
    text_offset: int
    text_length: int
    stored_bytes: int  # bytes this snapshot added to the archive folder
    created_at: float


_SNAPSHOT_FIELDS = tuple(f.name for f in fields(Snapshot))
_SNAPSHOT_COLUMNS = ", ".join(_SNAPSHOT_FIELDS)


def _snapshot(row: Row) -> Snapshot:
    return Snapshot(*row)


# -- the queue ---------------------------------------------------------------------------


def enqueue_alerts(tx: Tx, after_id: int, now: float, limit: int = 500) -> int:
    """Queue a capture for alerts with an id above ``after_id`` whose URL has none yet;
    returns the highest alert id looked at (``after_id`` when there were none)."""
    rows = tx.fetchall(
        "SELECT id, url, item_id, source_id, title FROM alerts WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    for alert_id, url, item_id, source_id, title in rows:
        if url:
            _insert(tx, url, now, alert_id=alert_id, item_id=item_id, source=source_id, title=title)
    return int(rows[-1][0]) if rows else after_id


def enqueue_reports(tx: Tx, after_id: int, now: float, limit: int = 500) -> int:
    """The same for the reports of stories (every outlet of an alerted development)."""
    rows = tx.fetchall(
        "SELECT id, url, item_id, source_id, title, alert_id FROM story_reports WHERE id > ?"
        " ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    for _id, url, item_id, source_id, title, alert_id in rows:
        if url:
            _insert(tx, url, now, alert_id=alert_id, item_id=item_id, source=source_id, title=title)
    return int(rows[-1][0]) if rows else after_id


def _insert(
    tx: Tx,
    url: str,
    now: float,
    *,
    alert_id: int | None,
    item_id: int | None,
    source: str,
    title: str,
) -> None:
    tx.execute(
        "INSERT INTO archive_captures (url, alert_id, item_id, source_id, title, due_at,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (url, alert_id, item_id, source, title, now, now),
    )
    if alert_id is not None:  # an alert links a capture made first for a report or on request
        tx.execute(
            "UPDATE archive_captures SET alert_id = ? WHERE url = ? AND alert_id IS NULL",
            (alert_id, url),
        )


def enqueue_url(
    tx: Tx,
    url: str,
    now: float,
    *,
    alert_id: int | None = None,
    item_id: int | None = None,
    source_id: str = "",
    title: str = "",
) -> Capture:
    """Queue ``url`` (on request); the existing capture when it has one already."""
    _insert(tx, url, now, alert_id=alert_id, item_id=item_id, source=source_id, title=title)
    row = tx.fetchone(f"SELECT {_CAPTURE_COLUMNS} FROM archive_captures WHERE url = ?", (url,))
    assert row is not None
    return _capture(row)


def claim(
    db: Database, owner: str, now: float, limit: int = 8, lease_s: float = LEASE_S
) -> list[Capture]:
    """Lease up to ``limit`` captures or checks that are due to ``owner``, oldest first."""
    lock = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""
    with db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT {_CAPTURE_COLUMNS} FROM archive_captures"
            " WHERE phase IN (?, ?) AND due_at <= ?"
            " AND (claimed_until IS NULL OR claimed_until < ?)"
            " ORDER BY due_at, id LIMIT ?" + lock,
            (CAPTURE, WATCH, now, now, limit),
        )
        if rows:
            marks = ", ".join("?" for _ in rows)
            tx.execute(
                "UPDATE archive_captures SET claimed_by = ?, claimed_until = ?"
                f" WHERE id IN ({marks})",
                [owner, now + lease_s, *[r[0] for r in rows]],
            )
    return [_capture(r) for r in rows]


def hold(tx: Tx, capture_id: int, owner: str, until: float) -> bool:
    """Extend ``owner``'s lease before writing a result; False when another owner has it."""
    held = tx.execute(
        "UPDATE archive_captures SET claimed_until = ? WHERE id = ? AND claimed_by = ?",
        (until, capture_id, owner),
    )
    return held == 1


def next_due(db: Database) -> float | None:
    with db.transaction() as tx:
        v = tx.scalar(
            "SELECT MIN(due_at) FROM archive_captures WHERE phase IN (?, ?)", (CAPTURE, WATCH)
        )
    return None if v is None else float(v)


# -- results -----------------------------------------------------------------------------


def find_payload(tx: Tx, sha256: str) -> Snapshot | None:
    """The stored response whose payload has this hash (for a revisit instead of a copy)."""
    row = tx.fetchone(
        f"SELECT {_SNAPSHOT_COLUMNS} FROM archive_snapshots"
        " WHERE payload_sha256 = ? AND kind = 'response' ORDER BY id LIMIT 1",
        (sha256,),
    )
    return None if row is None else _snapshot(row)


def add_snapshot(tx: Tx, snap: Snapshot) -> int:
    """Record a snapshot (its ``id`` is ignored); returns the new id."""
    names = _SNAPSHOT_FIELDS[1:]
    row = tx.fetchone(
        f"INSERT INTO archive_snapshots ({', '.join(names)})"
        f" VALUES ({', '.join('?' for _ in names)}) RETURNING id",
        [getattr(snap, n) for n in names],
    )
    assert row is not None
    return int(row[0])


def settle(
    tx: Tx,
    capture_id: int,
    *,
    phase: str,
    state: str,
    due_at: float,
    now: float,
    snapshot_id: int | None = None,
    payload_sha256: str = "",
    watch_step: int | None = None,
) -> None:
    """Record the outcome of a capture or a check and release the lease."""
    tx.execute(
        "UPDATE archive_captures SET phase = ?, state = ?, due_at = ?, attempts = 0,"
        " claimed_by = NULL, claimed_until = NULL, checked_at = ?, checks = checks + 1,"
        " first_snapshot_id = COALESCE(first_snapshot_id, ?),"
        " latest_snapshot_id = COALESCE(?, latest_snapshot_id),"
        " payload_sha256 = CASE WHEN payload_sha256 = '' THEN ? ELSE payload_sha256 END,"
        " captured_at = COALESCE(captured_at, ?),"
        " watch_step = COALESCE(?, watch_step) WHERE id = ?",
        (
            phase,
            state,
            due_at,
            now,
            snapshot_id,
            snapshot_id,
            payload_sha256,
            now if snapshot_id is not None else None,
            watch_step,
            capture_id,
        ),
    )


def retry(db: Database, capture_id: int, error: str, now: float, due_at: float) -> int:
    """A failed try: count it, keep the error, come back at ``due_at``; the attempts now."""
    with db.transaction() as tx:
        tx.execute(
            "UPDATE archive_captures SET attempts = attempts + 1, last_error = ?,"
            " last_error_at = ?, due_at = ?, claimed_by = NULL, claimed_until = NULL"
            " WHERE id = ?",
            (error[:500], now, due_at, capture_id),
        )
        n = tx.scalar("SELECT attempts FROM archive_captures WHERE id = ?", (capture_id,))
    return int(n or 0)


def give_up(db: Database, capture_id: int, state: str, error: str, now: float) -> None:
    """No copy can be had (refused by the guard or robots.txt, or failing for too long)."""
    with db.transaction() as tx:
        tx.execute(
            "UPDATE archive_captures SET phase = ?, state = ?, last_error = ?, last_error_at = ?,"
            " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (DONE, state, error[:500], now, capture_id),
        )


def claim_notice(db: Database, capture_id: int, kind: str, now: float) -> bool:
    """True for the one caller (of all instances, across restarts) that should tell operators
    this page was ``removed`` or ``changed``."""
    column = {"removed": "removed_notified_at", "changed": "changed_notified_at"}[kind]
    with db.transaction() as tx:
        claimed = tx.execute(
            f"UPDATE archive_captures SET {column} = ? WHERE id = ? AND {column} IS NULL",
            (now, capture_id),
        )
    return claimed == 1


def stored_bytes_since(tx: Tx, since: float) -> int:
    """Bytes written to the archive folder since ``since`` (the daily cap's measure)."""
    v = tx.scalar(
        "SELECT COALESCE(SUM(stored_bytes), 0) FROM archive_snapshots WHERE created_at >= ?",
        (since,),
    )
    return int(v or 0)


# -- reading -----------------------------------------------------------------------------


def get_capture(tx: Tx, capture_id: int) -> Capture | None:
    row = tx.fetchone(
        f"SELECT {_CAPTURE_COLUMNS} FROM archive_captures WHERE id = ?", (capture_id,)
    )
    return None if row is None else _capture(row)


def captures_by_url(tx: Tx, urls: Sequence[str]) -> dict[str, Capture]:
    out: dict[str, Capture] = {}
    wanted = sorted({u for u in urls if u})
    for at in range(0, len(wanted), 500):
        chunk = wanted[at : at + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = tx.fetchall(
            f"SELECT {_CAPTURE_COLUMNS} FROM archive_captures WHERE url IN ({marks})", chunk
        )
        out.update((r[1], _capture(r)) for r in rows)
    return out


def snapshots_of(tx: Tx, capture_ids: Sequence[int]) -> dict[int, list[Snapshot]]:
    """Each capture's snapshots, oldest first."""
    out: dict[int, list[Snapshot]] = {}
    ids = sorted(set(capture_ids))
    for at in range(0, len(ids), 500):
        chunk = ids[at : at + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = tx.fetchall(
            f"SELECT {_SNAPSHOT_COLUMNS} FROM archive_snapshots WHERE capture_id IN ({marks})"
            " ORDER BY id",
            chunk,
        )
        for r in rows:
            out.setdefault(int(r[1]), []).append(_snapshot(r))
    return out


def get_snapshot(tx: Tx, snapshot_id: int) -> Snapshot | None:
    row = tx.fetchone(
        f"SELECT {_SNAPSHOT_COLUMNS} FROM archive_snapshots WHERE id = ?", (snapshot_id,)
    )
    return None if row is None else _snapshot(row)


def snapshot_by_record(tx: Tx, record_id: str) -> Snapshot | None:
    row = tx.fetchone(
        f"SELECT {_SNAPSHOT_COLUMNS} FROM archive_snapshots WHERE record_id = ?", (record_id,)
    )
    return None if row is None else _snapshot(row)


def all_snapshots(db: Database, batch: int = 1000) -> Iterator[Snapshot]:
    """Every snapshot in id order, read in batches (for verify)."""
    last = 0
    while True:
        with db.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT {_SNAPSHOT_COLUMNS} FROM archive_snapshots WHERE id > ?"
                " ORDER BY id LIMIT ?",
                (last, batch),
            )
        if not rows:
            return
        for r in rows:
            yield _snapshot(r)
        last = int(rows[-1][0])


@dataclass(frozen=True, slots=True)
class Health:
    """What ``watcher sources`` and ``/status`` say about the archive."""

    states: dict[str, int]  # state -> captures
    pending: int  # first captures not done yet
    retrying: int  # of those, failed at least once
    watching: int  # pages still re-checked on a schedule
    last_error: str | None
    last_error_at: float | None
    bytes_24h: int
    snapshots: int


def health(db: Database, now: float) -> Health:
    with db.transaction() as tx:
        states = {
            str(r[0]): int(r[1])
            for r in tx.fetchall("SELECT state, COUNT(*) FROM archive_captures GROUP BY state")
        }
        pending, retrying = tx.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0)"
            " FROM archive_captures WHERE phase = ?",
            (CAPTURE,),
        ) or (0, 0)
        watching = tx.scalar("SELECT COUNT(*) FROM archive_captures WHERE phase = ?", (WATCH,))
        err = tx.fetchone(
            "SELECT last_error, last_error_at FROM archive_captures"
            " WHERE last_error_at IS NOT NULL ORDER BY last_error_at DESC LIMIT 1"
        )
        used = stored_bytes_since(tx, now - 86400.0)
        snaps = tx.scalar("SELECT COUNT(*) FROM archive_snapshots")
    return Health(
        states=states,
        pending=int(pending or 0),
        retrying=int(retrying or 0),
        watching=int(watching or 0),
        last_error=None if err is None else err[0],
        last_error_at=None if err is None else err[1],
        bytes_24h=used,
        snapshots=int(snaps or 0),
    )


def request(
    db: Database, capture_id: int, owner: str, now: float, lease_s: float = LEASE_S
) -> Capture | None:
    """Lease one capture now (on request): a first capture when there is no copy yet, else a
    check; None when another process holds it."""
    with db.transaction() as tx:
        taken = tx.execute(
            "UPDATE archive_captures SET phase = CASE WHEN first_snapshot_id IS NULL THEN ?"
            " ELSE ? END, due_at = ?, attempts = 0, claimed_by = ?, claimed_until = ?"
            " WHERE id = ? AND (claimed_until IS NULL OR claimed_until < ?)",
            (CAPTURE, WATCH, now, owner, now + lease_s, capture_id, now),
        )
        return get_capture(tx, capture_id) if taken == 1 else None
