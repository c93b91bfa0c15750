"""The store's contract on both dialects: migrations, alert uniqueness, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from watcher.models import Match
from watcher.store import Database
from watcher.store import outbox as ob
from watcher.store import sources as src
from watcher.store.alerts import get_alerts, insert_alert, recent_alerts


def _alert(db: Database, key: str, now: float = 1000.0) -> int | None:
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=key,
            item_id=None,
            source_id="s1",
            source_name="Source 1",
            title="Title " + key,
            url="https://example.org/" + key,
            summary="",
            language="en",
            published=datetime(2026, 1, 1, tzinfo=UTC),
            topics=["repatriation"],
            score=3.5,
            matches=[Match("deport*", "deported", "title", 0, 8, 2.0, "deported ...")],
            now=now,
        )
        if alert is None:
            return None
        ob.enqueue(tx, alert.id, "console", ["-"], now)
        return alert.id


def test_migrations_are_idempotent(store_db: Database) -> None:
    version = store_db.schema_version()
    assert version >= 1
    assert store_db.migrate() == []
    assert store_db.schema_version() == version


def test_alert_is_recorded_once_per_key(store_db: Database) -> None:
    first = _alert(store_db, "a")
    assert first is not None
    assert _alert(store_db, "a") is None
    alerts = get_alerts(store_db, [first])
    assert alerts[first].matches[0].text == "deported"
    assert [a.id for a in recent_alerts(store_db)] == [first]


def test_outbox_claim_send_retry_dead(store_db: Database) -> None:
    a = _alert(store_db, "a")
    b = _alert(store_db, "b")
    assert a and b
    assert ob.pending_count(store_db) == 2
    rows = ob.claim(store_db, "console", "me", now=2000.0)
    assert [r.alert_id for r in rows] == [a, b]
    # A claimed row is not handed to another sender while its lease runs.
    assert ob.claim(store_db, "console", "other", now=2001.0) == []
    ob.mark_sent(store_db, rows[0].id, "42", now=2002.0)
    ob.mark_retry(store_db, rows[1].id, "HTTP 502", retry_at=2100.0)
    assert ob.claim(store_db, "console", "other", now=2050.0) == []
    again = ob.claim(store_db, "console", "other", now=2100.0)
    assert [r.alert_id for r in again] == [b] and again[0].attempts == 1
    ob.mark_dead(store_db, again[0].id, "blocked", now=2101.0)
    assert ob.pending_count(store_db) == 0
    assert ob.sent_ref(store_db, a, "console", "-") == "42"


def test_expired_lease_comes_back(store_db: Database) -> None:
    a = _alert(store_db, "a")
    assert ob.claim(store_db, "console", "crashed", now=1010.0, lease_s=30.0)
    rows = ob.claim(store_db, "console", "survivor", now=1041.0)
    assert [r.alert_id for r in rows] == [a]


def test_a_deferred_row_comes_back_when_due_without_an_attempt(store_db: Database) -> None:
    """A row whose target is busy goes back to the outbox: other rows are claimed first."""
    _alert(store_db, "a")
    _alert(store_db, "b")
    first, second = ob.claim(store_db, "console", "one", now=1010.0, lease_s=30.0)
    ob.defer(store_db, first.id, at=1050.0)
    ob.mark_retry(store_db, second.id, "HTTP 502", retry_at=1020.0)
    (due,) = ob.claim(store_db, "console", "two", now=1030.0)  # the deferred one is not due
    assert due.id == second.id
    ob.mark_sent(store_db, due.id, "6", now=1031.0)
    (back,) = ob.claim(store_db, "console", "two", now=1050.0)
    assert back.id == first.id and back.attempts == 0  # being paced is not a failed attempt
    ob.mark_sent(store_db, back.id, "7", now=1051.0)
    ob.defer(store_db, back.id, at=1060.0)  # a settled row is not revived
    assert ob.claim(store_db, "console", "two", now=1100.0) == []


def test_failing_and_recovered_notices_are_claimed_once(store_db: Database) -> None:
    """Of all instances and restarts, one tells operators a source fails, and one that it
    works again; a success alone does not forget that they were told."""
    with store_db.transaction() as tx:
        src.ensure_source(tx, "s", "http://example.org/feed")
    src.record_failure(store_db, "s", now=10.0, kind="timeout", detail="", next_check_at=20.0)
    assert src.claim_failing_notice(store_db, "s", now=11.0)
    assert not src.claim_failing_notice(store_db, "s", now=12.0)  # another instance
    assert not src.claim_recovered_notice(store_db, "s")  # still failing
    with store_db.transaction() as tx:
        src.record_success(
            tx, "s", now=30.0, next_check_at=40.0, etag=None, last_modified=None, body_hash=None
        )
    state = src.get_state(store_db, "s")
    assert state is not None and state.failing_notified_at == 11.0  # kept until claimed
    assert src.claim_recovered_notice(store_db, "s")
    assert not src.claim_recovered_notice(store_db, "s")  # told once
    assert not src.claim_failing_notice(store_db, "s", now=50.0)  # not failing now
