"""Sharing work between several ``watcher run`` processes on one database.

* **Source leases** (``try_lease_source`` / ``release_source``): before polling a source an
  instance takes its row with one conditional ``UPDATE`` on ``sources.lease_owner`` /
  ``lease_until`` / ``next_check_at``. It succeeds only when the source is due and nobody else
  holds an unexpired lease, so each source is polled by one instance per interval; on
  PostgreSQL the row lock of the ``UPDATE`` makes concurrent attempts wait and re-check, on
  SQLite the write lock serialises them. A crashed holder's lease simply runs out.
* **Singleton locks** (``SingletonLock``): "only one process does X" (polling Telegram for
  updates). On PostgreSQL a session advisory lock held on a dedicated connection: when the
  holder dies, its connection closes and the lock is free at once (TCP keepalives bound a
  silent network loss to about half a minute). On SQLite, where several processes can only
  share a store on one machine, an exclusive ``flock`` on a file next to the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from watcher.store.db import Database, Tx

log = logging.getLogger(__name__)

# Added to "now" when deciding whether a source is due: timers of different instances fire a
# little apart, and a source due in a moment should not wait a whole extra interval.
DUE_GRACE_S = 1.0


def _not_durable(db: Database, tx: Tx) -> None:
    """PostgreSQL: commit this lease change without waiting for the WAL flush.

    A lease only spares other instances a poll; if the server crashed and lost it, the worst is
    one extra poll (items and alerts are deduplicated), so its commit need not wait for the
    disk: this takes most of the lease's cost per poll away (bench/bench_leases.py).
    """
    if db.dialect == "postgresql":
        tx.execute("SET LOCAL synchronous_commit TO OFF")


# -- source leases --------------------------------------------------------------------------
def try_lease_source(
    db: Database,
    source_id: str,
    owner: str,
    now: float,
    lease_s: float,
    *,
    grace_s: float = DUE_GRACE_S,
    url: str = "",
) -> bool:
    """Take ``source_id`` for ``lease_s`` seconds if it is due and free; True when taken.

    The row is created when missing (a source new in ``feeds.yaml``). A lease ``owner``
    already holds is renewed. Due means ``next_check_at`` is unset or not later than
    ``now + grace_s``, or ``url`` is given and differs from the stored one (the source moved:
    poll it at once, as a single instance always did).
    """
    with db.transaction() as tx:
        _not_durable(db, tx)
        tx.execute(
            "INSERT INTO sources (id, url) VALUES (?, ?) ON CONFLICT DO NOTHING", (source_id, url)
        )
        changed = tx.execute(
            "UPDATE sources SET lease_owner = ?, lease_until = ?"
            " WHERE id = ?"
            " AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until < ?"
            "      OR lease_owner = ?)"
            " AND (next_check_at IS NULL OR next_check_at <= ? OR (? <> '' AND url <> ?))",
            (owner, now + lease_s, source_id, now, owner, now + grace_s, url, url),
        )
    return changed == 1


def renew_source(db: Database, source_id: str, owner: str, until: float) -> bool:
    """Extend ``owner``'s lease on ``source_id`` to ``until`` (a poll that runs long).

    False when ``owner`` no longer holds it (it ran out and another instance took it).
    """
    with db.transaction() as tx:
        _not_durable(db, tx)
        changed = tx.execute(
            "UPDATE sources SET lease_until = ? WHERE id = ? AND lease_owner = ?",
            (until, source_id, owner),
        )
    return changed == 1


def release_source(
    db: Database, source_id: str, owner: str, next_check_at: float | None = None
) -> bool:
    """Give the lease back; with ``next_check_at``, also say when the source is next due (a
    later due time already recorded, such as a back-off, stays).

    Returns False (and changes nothing) when ``owner`` no longer holds the lease - it ran out
    and another instance took the source.
    """
    with db.transaction() as tx:
        _not_durable(db, tx)
        if next_check_at is None:
            changed = tx.execute(
                "UPDATE sources SET lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ?",
                (source_id, owner),
            )
        else:
            changed = tx.execute(
                "UPDATE sources SET lease_owner = NULL, lease_until = NULL, next_check_at ="
                " CASE WHEN next_check_at > ? THEN next_check_at ELSE ? END"
                " WHERE id = ? AND lease_owner = ?",
                (next_check_at, next_check_at, source_id, owner),
            )
    return changed == 1


def release_all(db: Database, owner: str) -> int:
    """Give back every source lease of ``owner`` (on a clean shutdown); returns how many."""
    with db.transaction() as tx:
        return tx.execute(
            "UPDATE sources SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
            (owner,),
        )


def lease_holder(db: Database, source_id: str, now: float) -> str | None:
    """Who holds an unexpired lease on ``source_id`` (None: nobody)."""
    with db.transaction() as tx:
        row = tx.fetchone("SELECT lease_owner, lease_until FROM sources WHERE id = ?", (source_id,))
    if row is None or row[0] is None or row[1] is None or float(row[1]) < now:
        return None
    return str(row[0])


# -- singleton locks ------------------------------------------------------------------------
def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.blake2b(f"watcher:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SingletonLock:
    """An exclusive, process-wide lock named ``name`` among all instances on ``db``.

    ``try_acquire()`` never waits; ``still_held()`` checks that the lock is still ours (on
    PostgreSQL: the dedicated connection still answers); ``release()`` gives it back. Calls
    block briefly: run them in a thread from async code.
    """

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.key = lock_key(name)
        self._conn: Any = None  # psycopg connection (PostgreSQL) or open file (SQLite)
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        with self._mutex:
            if self._conn is not None:
                return True
            if self.db.dialect == "postgresql":
                self._conn = self._pg_try()
            else:
                self._conn = self._file_try()
            return self._conn is not None

    def still_held(self) -> bool:
        with self._mutex:
            if self._conn is None:
                return False
            if self.db.dialect != "postgresql":
                return True
            try:
                row = self._conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND pid = pg_backend_pid() AND granted"
                    " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
                    ((self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF),
                ).fetchone()
                ok = bool(row and int(row[0]) > 0)
            except Exception as exc:  # the connection is gone: so is the lock
                log.warning("lost the %s lock: %s", self.name, exc)
                ok = False
            if not ok:
                self._close()
            return ok

    def release(self) -> None:
        with self._mutex:
            if self._conn is None:
                return
            if self.db.dialect == "postgresql":
                with contextlib.suppress(Exception):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._close()

    # -- internals ------------------------------------------------------------------------
    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _pg_try(self) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(
                self.db.url,
                autocommit=True,
                connect_timeout=10,
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
                application_name=f"watcher lock {self.name}"[:63],
            )
        except psycopg.Error as exc:
            log.warning("cannot try the %s lock: %s", self.name, exc)
            return None
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as exc:
            log.warning("cannot try the %s lock: %s", self.name, exc)
            conn.close()
            return None
        if not (row and row[0]):
            conn.close()
            return None
        return conn

    def _file_try(self) -> Any:
        import fcntl

        if self.db.url == ":memory:":  # an in-memory store lives in one process: it is ours
            return open(os.devnull, "rb")
        fh = open(Path(f"{self.db.url}.{self.name}.lock"), "a+b")  # noqa: SIM115 - held open while the lock is held
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return None
        return fh
