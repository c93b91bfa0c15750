"""Source leases and singleton locks between instances, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from watcher.config.feeds import SourceConfig
from watcher.ops.leader import run_while_leader
from watcher.ops.source_leases import SourceLeases
from watcher.store import Database, open_database
from watcher.store.leases import (
    DUE_GRACE_S,
    SingletonLock,
    lease_holder,
    lock_key,
    release_all,
    release_source,
    try_lease_source,
)
from watcher.store.sources import record_failure

ROOT = Path(__file__).resolve().parent.parent


def second_handle(db: Database, tmp_path: Path) -> Database:
    """Another instance's own connection/pool to the same store."""
    return open_database(db.url)


def test_one_instance_per_interval_takes_a_source(store_db: Database, tmp_path: Path) -> None:
    other = second_handle(store_db, tmp_path)
    try:
        assert try_lease_source(store_db, "rfa", "a", now=100.0, lease_s=60, url="https://x/")
        assert not try_lease_source(other, "rfa", "b", now=101.0, lease_s=60)
        assert lease_holder(other, "rfa", now=101.0) == "a"
        # Renewing one's own lease works.
        assert try_lease_source(store_db, "rfa", "a", now=102.0, lease_s=60)
        # Done: next poll due at 100 + 300. Nobody polls before (b's timer fires at 105).
        assert release_source(store_db, "rfa", "a", next_check_at=400.0)
        assert lease_holder(other, "rfa", now=105.0) is None
        assert not try_lease_source(other, "rfa", "b", now=105.0, lease_s=60)
        assert not try_lease_source(store_db, "rfa", "a", now=398.0, lease_s=60)
        # Within the grace second of being due, whoever fires first takes it.
        assert try_lease_source(other, "rfa", "b", now=399.5, lease_s=60)
        assert not try_lease_source(store_db, "rfa", "a", now=400.0, lease_s=60)
        with store_db.transaction() as tx:
            assert tx.scalar("SELECT url FROM sources WHERE id = 'rfa'") == "https://x/"
    finally:
        other.close()


def test_a_crashed_holders_lease_runs_out(store_db: Database) -> None:
    assert try_lease_source(store_db, "s", "dead", now=0.0, lease_s=60)
    assert not try_lease_source(store_db, "s", "alive", now=59.0, lease_s=60)
    assert try_lease_source(store_db, "s", "alive", now=61.0, lease_s=60)
    # The dead instance cannot release (or reschedule) what it no longer holds.
    assert not release_source(store_db, "s", "dead", next_check_at=10_000.0)
    assert lease_holder(store_db, "s", now=62.0) == "alive"
    assert try_lease_source(store_db, "t", "alive", now=62.0, lease_s=60)
    assert release_all(store_db, "alive") == 2
    assert lease_holder(store_db, "s", now=62.0) is None


def test_giving_a_lease_back_never_makes_a_source_due_sooner(store_db: Database) -> None:
    assert try_lease_source(store_db, "s", "a", now=100.0, lease_s=60)
    record_failure(store_db, "s", now=100.0, kind="timeout", detail="", next_check_at=900.0)
    assert release_source(store_db, "s", "a", next_check_at=400.0)  # the back-off stays
    assert not try_lease_source(store_db, "s", "b", now=500.0, lease_s=60)
    assert try_lease_source(store_db, "s", "b", now=900.0, lease_s=60)
    assert release_source(store_db, "s", "b", next_check_at=1200.0)
    assert not try_lease_source(store_db, "s", "a", now=1000.0, lease_s=60)


SOURCE = SourceConfig(id="feed", url="http://127.0.0.1:9/feed.xml", interval=300)


# A poll the scheduler abandons (stopping while it waits on the server) may have sent its
# request: the source's turn was taken, so another instance must not poll it again at once.
@pytest.mark.parametrize(
    ("backoff", "due"),
    [
        (None, 1000.0 + SOURCE.interval),  # one interval after the lease was taken
        (5000.0, 5000.0),  # a back-off the poll recorded before it was stopped stays
    ],
)
async def test_an_abandoned_poll_leaves_its_source_to_the_next_turn(
    store_db: Database, backoff: float | None, due: float
) -> None:
    clock = [1000.0]
    stopping = SourceLeases(store_db, "stopping", clock=lambda: clock[0])
    other = SourceLeases(store_db, "other", clock=lambda: clock[0])
    sent = asyncio.Event()

    async def poll() -> None:
        if backoff is not None:
            await asyncio.to_thread(
                record_failure,
                store_db,
                SOURCE.id,
                now=1000.0,
                kind="x",
                detail="",
                next_check_at=backoff,
            )
        sent.set()
        await asyncio.Event().wait()  # the server never answers

    assert await stopping.take(SOURCE)
    held = asyncio.create_task(stopping.hold(SOURCE, poll()))
    await sent.wait()
    held.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held
    clock[0] = 1000.5  # the other instance's timer fires a moment later
    assert lease_holder(store_db, SOURCE.id, clock[0]) is None
    assert not await other.take(SOURCE)
    clock[0] = due - DUE_GRACE_S - 0.1
    assert not await other.take(SOURCE)
    clock[0] = due - DUE_GRACE_S
    assert await other.take(SOURCE)


@pytest.mark.parametrize("instances", [2, 4])
def test_racing_instances_each_source_leased_exactly_once(
    store_db: Database, instances: int
) -> None:
    sources = [f"src-{i}" for i in range(40)]
    handles = [open_database(store_db.url) for _ in range(instances)]
    won: dict[str, list[str]] = {s: [] for s in sources}
    barrier = threading.Barrier(instances)
    lock = threading.Lock()

    def instance(n: int) -> None:
        barrier.wait()
        for s in sources:
            if try_lease_source(handles[n], s, f"i{n}", now=1000.0, lease_s=60):
                with lock:
                    won[s].append(f"i{n}")

    threads = [threading.Thread(target=instance, args=(n,)) for n in range(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for h in handles:
        h.close()
    assert {s: len(w) for s, w in won.items()} == dict.fromkeys(sources, 1)


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("telegram-updates") == lock_key("telegram-updates")
    assert lock_key("telegram-updates") != lock_key("digests")
    assert -(2**63) <= lock_key("x") < 2**63


def test_singleton_lock_is_exclusive_and_released(store_db: Database) -> None:
    if store_db.url == ":memory:":
        pytest.skip("in-memory stores are single-process")
    a = SingletonLock(store_db, "telegram-updates")
    other = open_database(store_db.url)
    b = SingletonLock(other, "telegram-updates")
    c = SingletonLock(other, "something-else")
    try:
        assert a.try_acquire()
        assert a.try_acquire()  # already ours
        assert not b.try_acquire()
        assert c.try_acquire()  # other names are independent
        assert a.still_held()
        assert not b.still_held()
        a.release()
        assert not a.held
        assert b.try_acquire()
        assert not a.try_acquire()
    finally:
        for lock in (a, b, c):
            lock.release()
        other.close()


@pytest.mark.postgres
def test_singleton_lock_is_lost_when_its_session_is_killed(pg_url: str) -> None:
    db = open_database(pg_url)
    try:
        lock = SingletonLock(db, "telegram-updates")
        assert lock.try_acquire() and lock.still_held()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'watcher lock telegram-updates'"
                " AND pid <> pg_backend_pid()"
            )
        assert not lock.still_held()
        assert not lock.held
        assert lock.try_acquire()  # and it can be taken again
        lock.release()
    finally:
        db.close()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from watcher.store import open_database
    from watcher.store.leases import SingletonLock
    lock = SingletonLock(open_database(sys.argv[1]), "telegram-updates")
    while not lock.try_acquire():
        time.sleep(0.05)
    print("held", flush=True)
    time.sleep(600)
    """
)


def test_when_the_holder_process_is_killed_another_takes_over(
    store_db: Database, tmp_path: Path
) -> None:
    if store_db.url == ":memory:":
        pytest.skip("in-memory stores are single-process")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_db.url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        mine = SingletonLock(store_db, "telegram-updates")
        assert not mine.try_acquire()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while not mine.try_acquire():
            assert time.monotonic() < deadline, "the dead holder's lock was never freed"
            time.sleep(0.05)
        mine.release()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_run_while_leader_runs_the_body_in_one_instance_and_fails_over(
    store_db: Database,
) -> None:
    if store_db.url == ":memory:":
        pytest.skip("in-memory stores are single-process")
    handles = [store_db, open_database(store_db.url), open_database(store_db.url)]
    locks = [SingletonLock(h, "telegram-updates") for h in handles]
    active: list[int] = []
    history: list[int] = []
    overlap = False

    def body_of(n: int) -> Callable[[asyncio.Event], object]:
        async def body(inner: asyncio.Event) -> None:
            nonlocal overlap
            overlap = overlap or bool(active)
            active.append(n)
            history.append(n)
            try:
                await inner.wait()
            finally:
                active.remove(n)

        return body

    stops = [asyncio.Event() for _ in handles]
    tasks = [
        asyncio.create_task(
            run_while_leader(lock, body_of(n), stops[n], retry_s=0.1, check_s=0.05)  # type: ignore[arg-type]
        )
        for n, lock in enumerate(locks)
    ]

    async def wait_for(cond: Callable[[], bool]) -> None:
        for _ in range(200):
            if cond():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("timed out")

    try:
        await wait_for(lambda: len(active) == 1)
        first = active[0]
        await asyncio.sleep(0.3)  # standbys keep retrying, in vain
        assert active == [first]
        stops[first].set()  # the leader shuts down: another takes over
        await wait_for(lambda: len(active) == 1 and active[0] != first)
        assert not overlap
        if store_db.dialect == "postgresql":  # the leader's session dies under it
            # (until the holder notices, within check_s, two bodies may overlap: Telegram
            # answers the second getUpdates with 409 Conflict, nothing is lost)
            terms = len(history)
            with psycopg.connect(store_db.url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                    " application_name = 'watcher lock telegram-updates'"
                )
            await wait_for(lambda: len(active) == 1 and len(history) > terms)
    finally:
        for s in stops:
            s.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        for h in handles[1:]:
            h.close()
    assert not active
    assert all(not lock.held for lock in locks)
