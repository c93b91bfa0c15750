"""Capture and the change/deletion watch against article pages on 127.0.0.1, on SQLite and
PostgreSQL: exact copies in WARC files, hashes in the store, dedup, caps, the address guard,
retries, pages that change or vanish, notices told once across restarts."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.archive_helpers import (
    COURT,
    DAY,
    PROSECUTORS,
    T0,
    Clock,
    add_alert,
    archiver,
    capture_of,
    changed,
    enqueue_all,
    feeds,
    fetcher,
    run_due,
)
from tests.servers import FeedServer, Route
from watcher.archive import ArchiveSettings, warc
from watcher.archive.verify import verify
from watcher.archive.view import capture_state
from watcher.store import archive as store
from watcher.store.db import Database

HTML = "text/html; charset=utf-8"


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        srv.route("/", b"<html><body>Front page</body></html>", content_type=HTML)
        yield srv


def _records(root: Path, rel: str) -> list[tuple[str, dict[str, str], bytes]]:
    with open(root / rel, "rb") as fh:
        return [
            (r.rec_type, dict(r.rec_headers.headers), r.content_stream().read())
            for r in ArchiveIterator(fh, check_digests=True)
        ]


async def test_capture_keeps_the_exact_answer(
    server: FeedServer, store_db: Database, tmp_path: Path
) -> None:
    server.route("/a/1", COURT, content_type=HTML, headers=(("X-Served-By", "cache-1"),))
    server.redirect("/short/1", "/a/1", status=301)
    url = server.url("/short/1")
    alert_id = add_alert(store_db, url)
    clock = Clock(T0.timestamp() + 60)
    enqueue_all(store_db, clock.now)
    async with fetcher() as f:
        arch = archiver(store_db, tmp_path, f, clock=clock)
        assert await run_due(arch, store_db, clock.now) == ["first"]
    state = capture_state(store_db, alert_id)
    assert state is not None and state.status == "live"
    snap = state.evidence
    assert snap is not None and snap.kind == "response" and snap.http_status == 200
    assert snap.final_url == server.url("/a/1") and snap.url == url
    assert snap.payload_sha256 == hashlib.sha256(COURT).hexdigest()
    assert state.capture.payload_sha256 == snap.payload_sha256  # with the alert, in the store
    kinds = [k for k, _, _ in _records(tmp_path, snap.warc_file)]
    assert kinds == ["warcinfo", "response", "metadata", "conversion"]
    _, headers, body = _records(tmp_path, snap.warc_file)[1]
    assert body == COURT  # the exact bytes
    assert headers["WARC-Target-URI"] == server.url("/a/1")
    assert headers["WARC-Watcher-Requested-URI"] == url
    assert warc.hex_of_digest(headers["WARC-Payload-Digest"]) == snap.payload_sha256
    record = warc.read_record(tmp_path, snap.warc_file, snap.warc_offset)
    assert ("X-Served-By", "cache-1") in record.http_headers and record.digest_ok
    text = _records(tmp_path, snap.warc_file)[3][2].decode()
    assert "Jun Kyung-chul" in text and "Football results" not in text
    assert hashlib.sha256(text.encode()).hexdigest() == snap.text_sha256
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", str(tmp_path / snap.warc_file)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert verify(store_db, tmp_path).ok
    # the schedule: first re-check a day after the capture
    assert state.capture.phase == "watch" and state.capture.due_at == pytest.approx(clock.now + DAY)


async def test_same_content_is_stored_once(
    server: FeedServer, store_db: Database, tmp_path: Path
) -> None:
    server.route("/a/1", PROSECUTORS, content_type=HTML)
    server.route("/mirror/1", PROSECUTORS, content_type=HTML)
    first, second = server.url("/a/1"), server.url("/mirror/1")
    add_alert(store_db, first)
    add_alert(store_db, second)
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    async with fetcher() as f:
        await run_due(archiver(store_db, tmp_path, f, clock=clock), store_db, clock.now)
    a, b = (capture_state_of(store_db, u) for u in (first, second))
    assert a.kind == "response" and b.kind == "revisit" and b.refers_to == a.record_id
    assert b.payload_sha256 == a.payload_sha256 and b.text_sha256 == a.text_sha256
    assert b.stored_bytes < a.stored_bytes / 3  # no second copy of the body
    records = _records(tmp_path, b.warc_file)
    assert [k for k, _, _ in records] == ["warcinfo", "revisit", "metadata"]
    assert records[1][1]["WARC-Refers-To"] == a.record_id
    assert verify(store_db, tmp_path).ok


def capture_state_of(db: Database, url: str) -> store.Snapshot:
    with db.transaction() as tx:
        cap = store.captures_by_url(tx, [url])[url]
        return store.snapshots_of(tx, [cap.id])[cap.id][0]


async def test_size_caps_cut_and_say_so(
    server: FeedServer, store_db: Database, tmp_path: Path
) -> None:
    big = b"<html><body><p>" + b"word " * 60_000 + b"</p></body></html>"
    server.route("/huge", big, content_type=HTML)
    server.route("/a/1", COURT, content_type=HTML)
    add_alert(store_db, server.url("/huge"))
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    async with fetcher(max_page=100_000) as f:
        await run_due(archiver(store_db, tmp_path, f, clock=clock), store_db, clock.now)
        snap = capture_state_of(store_db, server.url("/huge"))
        assert snap.payload_length == 100_000 and "page cap" in snap.truncated
        assert f"of {len(big):,}" in snap.truncated
        record = warc.read_record(tmp_path, snap.warc_file, snap.warc_offset)
        assert record.warc_headers["WARC-Truncated"] == "length"
        assert record.content == big[:100_000]
        # the day's budget is spent: the next page is kept cut to nothing, its text whole
        tight = ArchiveSettings(robots=False, max_day_bytes=snap.stored_bytes + 10)
        add_alert(store_db, server.url("/a/1"))
        enqueue_all(store_db, clock.now)
        arch = archiver(store_db, tmp_path, f, clock=clock, settings=tight)
        await run_due(arch, store_db, clock.now)
    cut = capture_state_of(store_db, server.url("/a/1"))
    assert "daily cap" in cut.truncated and cut.payload_length <= 10
    assert cut.text_chars > 1000
    assert verify(store_db, tmp_path).ok


async def test_guard_refuses_private_addresses(
    server: FeedServer, store_db: Database, tmp_path: Path
) -> None:
    server.route("/a/1", COURT, content_type=HTML)
    server.redirect("/r", "http://10.0.0.7/internal")
    add_alert(store_db, server.url("/a/1"))
    add_alert(store_db, server.url("/r"))
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    async with fetcher(trust=False) as f:  # the real policy: loopback refused
        arch = archiver(store_db, tmp_path, f, clock=clock, config=feeds(allow_private=False))
        assert sorted(await run_due(arch, store_db, clock.now)) == ["blocked", "blocked"]
    assert server.hits("/a/1") == 0
    async with fetcher(trust=True) as f:  # loopback trusted, the redirect to 10/8 is not
        with store_db.transaction() as tx:
            cap = store.enqueue_url(tx, server.url("/r"), clock.now)
        row = store.request(store_db, cap.id, "test", clock.now)
        assert row is not None
        arch = archiver(store_db, tmp_path, f, clock=clock, config=feeds(allow_private=False))
        assert await arch.process(row) == "blocked"
    cap = capture_of(store_db, server.url("/r"))
    assert cap.state == "blocked" and "10.0.0.7" in (cap.last_error or "")
    assert cap.first_snapshot_id is None and warc.warc_files(tmp_path) == []


async def test_timeouts_are_retried_with_backoff_then_given_up(
    server: FeedServer, store_db: Database, tmp_path: Path
) -> None:
    server.route("/slow", COURT, content_type=HTML, delay=2.0)
    server.route("/busy", b"", status=503, content_type=HTML)
    add_alert(store_db, server.url("/slow"))
    add_alert(store_db, server.url("/busy"))
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    async with fetcher(deadline=0.5) as f:
        arch = archiver(store_db, tmp_path, f, clock=clock)
        assert await run_due(arch, store_db, clock.now) == ["retry", "retry"]
        slow = capture_of(store_db, server.url("/slow"))
        assert slow.attempts == 1 and "timeout" in (slow.last_error or "")
        assert 150 <= slow.due_at - clock.now <= 300  # backoff_delay(1, 300 s base): [d/2, d]
        assert await run_due(arch, store_db, clock.now) == []  # not due yet
        from watcher.archive.view import health_line

        assert "2 waiting (2 retrying)" in health_line(store_db, clock.now, 10**9)
        for _ in range(20):
            clock.now += 7 * 3600
            if not await run_due(arch, store_db, clock.now):
                break
    for path in ("/slow", "/busy"):
        cap = capture_of(store_db, server.url(path))
        assert cap.state == "failed" and cap.phase == "done" and cap.attempts == 8
    assert "2 failed" in health_line(store_db, clock.now, 10**9)


@pytest.mark.parametrize(
    ("vanish", "reason"),
    [
        (Route(status=404, body=b"<h1>Not found</h1>", content_type=HTML), "404"),
        (Route(status=410, body=b"gone", content_type=HTML), "410"),
        (Route(status=302, headers=(("Location", "/"),)), "front page"),
    ],
)
async def test_removed_page_is_archived_and_told_once(
    server: FeedServer, store_db: Database, tmp_path: Path, vanish: Route, reason: str
) -> None:
    server.route("/a/1", COURT, content_type=HTML)
    url = server.url("/a/1")
    alert_id = add_alert(store_db, url, title="Court in Vladivostok hears case")
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    told: list[tuple[str, str]] = []
    async with fetcher() as f:
        arch = archiver(store_db, tmp_path, f, clock=clock, told=told)
        assert await run_due(arch, store_db, clock.now) == ["first"]
        server.routes["/a/1"] = vanish
        clock.now += DAY + 1
        assert await run_due(arch, store_db, clock.now) == ["removed"]
        # a restart (a new archiver) after a crash before the row was settled: told again? no
        with store_db.transaction() as tx:
            tx.execute("UPDATE archive_captures SET phase = 'watch', due_at = 0")
        arch2 = archiver(store_db, tmp_path, f, clock=clock, told=told)
        assert await run_due(arch2, store_db, clock.now) == ["removed"]
    assert [k for k, _ in told] == ["article_removed"]
    assert told[0][1].startswith("removed: Court in Vladivostok hears case")
    assert reason in told[0][1] and "archived copy kept" in told[0][1]
    state = capture_state(store_db, alert_id)
    assert state is not None and state.status == "removed"
    assert state.evidence is not None and state.evidence.http_status == 200  # the article
    assert state.snapshots[-1].outcome == "removed"
    assert "removed since" in state.line()
    assert verify(store_db, tmp_path).ok


async def test_changed_page_keeps_both_versions(
    server: FeedServer, store_db: Database, tmp_path: Path
) -> None:
    server.route("/a/1", COURT, content_type=HTML)
    url = server.url("/a/1")
    add_alert(store_db, url)
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    told: list[tuple[str, str]] = []
    async with fetcher() as f:
        arch = archiver(store_db, tmp_path, f, clock=clock, told=told)
        await run_due(arch, store_db, clock.now)
        # a day later: a new ad slot, the same article: not a material change, nothing written
        server.route("/a/1", COURT.replace(b"Most read", b"Most shared"), content_type=HTML)
        clock.now += DAY + 1
        assert await run_due(arch, store_db, clock.now) == ["same"]
        assert len(warc.warc_files(tmp_path)) == 1
        # a week: the editors rewrote it
        server.route("/a/1", changed(COURT), content_type=HTML)
        clock.now = T0.timestamp() + 7 * DAY + 1
        assert await run_due(arch, store_db, clock.now) == ["changed"]
        # a month: unchanged since; then the watch ends (the schedule is 1d, 7d, 30d)
        clock.now = T0.timestamp() + 30 * DAY + 1
        assert await run_due(arch, store_db, clock.now) == ["same"]
    cap = capture_of(store_db, url)
    assert cap.state == "changed" and cap.phase == "done" and cap.checks == 4
    with store_db.transaction() as tx:
        snaps = store.snapshots_of(tx, [cap.id])[cap.id]
    assert [s.outcome for s in snaps] == ["first", "changed"]
    assert snaps[0].text_sha256 != snaps[1].text_sha256
    assert [k for k, _ in told] == ["article_changed"]


async def test_per_source_watch_horizon(
    server: FeedServer, store_db: Database, tmp_path: Path
) -> None:
    server.route("/a/1", COURT, content_type=HTML)
    add_alert(store_db, server.url("/a/1"))
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    async with fetcher() as f:
        arch = archiver(store_db, tmp_path, f, clock=clock, config=feeds(archive_watch="0"))
        await run_due(arch, store_db, clock.now)
    cap = capture_of(store_db, server.url("/a/1"))
    assert cap.state == "live" and cap.phase == "done"


async def test_each_capture_done_once_by_two_instances(
    server: FeedServer, store_db: Database, tmp_path: Path
) -> None:
    import asyncio

    paths = [f"/a/{i}" for i in range(12)]
    for i, path in enumerate(paths):
        page = COURT.replace(b"Vladivostok", f"Vladivostok {i}".encode())
        server.route(path, page, content_type=HTML, delay=0.05)
        add_alert(store_db, server.url(path))
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    async with fetcher() as f1, fetcher() as f2:
        one = archiver(store_db, tmp_path, f1, clock=clock, owner="one")
        two = archiver(store_db, tmp_path, f2, clock=clock, owner="two")

        async def drain(arch: object, owner: str) -> int:
            done = 0
            while rows := await asyncio.to_thread(store.claim, store_db, owner, clock.now, 3):
                for row in rows:
                    await arch.process(row)  # type: ignore[attr-defined]
                    done += 1
            return done

        counts = await asyncio.gather(drain(one, "one"), drain(two, "two"))
    assert sum(counts) == 12 and min(counts) > 0
    assert all(server.hits(p) == 1 for p in paths)
    assert len(warc.warc_files(tmp_path)) == 12
    assert verify(store_db, tmp_path).ok


async def test_gone_before_capture(server: FeedServer, store_db: Database, tmp_path: Path) -> None:
    server.route("/a/1", b"<h1>Not found</h1>", status=404, content_type=HTML)
    alert_id = add_alert(store_db, server.url("/a/1"), title="Deleted at once")
    clock = Clock(T0.timestamp())
    enqueue_all(store_db, clock.now)
    told: list[tuple[str, str]] = []
    async with fetcher() as f:
        arch = archiver(store_db, tmp_path, f, clock=clock, told=told)
        assert await run_due(arch, store_db, clock.now) == ["removed"]
    state = capture_state(store_db, alert_id)
    assert state is not None and state.status == "removed" and state.capture.phase == "done"
    assert "removed before it could be captured (HTTP 404" in state.line()
    assert told == [("article_removed", told[0][1])]
    assert told[0][1].startswith("removed before it could be archived: Deleted at once")
    assert verify(store_db, tmp_path).ok
