"""The fetcher against a real HTTP server on 127.0.0.1: conditional GET and every bound."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import os
import socket
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import FeedServer, Route
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher, FetchSettings

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>http://example.org/</link>
<item><title>One</title><link>http://example.org/1</link><guid>g1</guid></item>
</channel></rss>"""
LIMIT = 200_000


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    settings = FetchSettings(
        deadline=2.0, read_timeout=1.0, connect_timeout=1.0, max_body_bytes=LIMIT
    )
    async with Fetcher(settings) as f:
        yield f


async def fetch_error(fetcher: Fetcher, url: str, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(url, **kwargs)
    return info.value


# ---- conditional GET --------------------------------------------------------------------
async def test_conditional_get_by_etag(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/f.xml", RSS, etag='"v1"')
    first = await fetcher.fetch(server.url("/f.xml"))
    assert (first.status, first.body, first.etag, first.not_modified) == (200, RSS, '"v1"', False)
    assert first.final_url == first.url == server.url("/f.xml")
    again = await fetcher.fetch(server.url("/f.xml"), etag=first.etag)
    assert again.not_modified and again.status == 304 and again.body == b""
    assert again.etag == '"v1"' and again.body_hash == ""
    assert server.requests[-1].headers["if-none-match"] == '"v1"'
    sent = server.requests[-1].headers
    assert "watcher" in sent["user-agent"] and "gzip" in sent["accept-encoding"]


async def test_connections_are_reused(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/f.xml", RSS, etag='"v1"')
    server.redirect("/moved", "/f.xml", 301)
    server.route("/gone", b"gone" * 100, status=410)
    await fetcher.fetch(server.url("/f.xml"))
    for _ in range(3):
        assert (await fetcher.fetch(server.url("/f.xml"), etag='"v1"')).not_modified
        await fetcher.fetch(server.url("/moved"))
        await fetch_error(fetcher, server.url("/gone"))
    assert server.connections == 1  # 304s, redirects and error pages drained, kept alive


async def test_dripping_error_page_still_reports_the_status(server: FeedServer) -> None:
    server.route("/err", b"x" * 200, status=500, drip=0.05, chunk=1)
    async with Fetcher(FetchSettings(deadline=5.0)) as f:
        err = await fetch_error(f, server.url("/err"))
    assert err.kind is FetchErrorKind.SERVER_ERROR


async def test_conditional_get_by_last_modified(server: FeedServer, fetcher: Fetcher) -> None:
    stamp = email.utils.formatdate(time.time() - 3600, usegmt=True)
    server.route("/f.xml", RSS, last_modified=stamp)
    first = await fetcher.fetch(server.url("/f.xml"))
    assert first.last_modified == stamp and first.etag is None
    again = await fetcher.fetch(server.url("/f.xml"), last_modified=first.last_modified)
    assert again.not_modified and again.last_modified == stamp
    assert server.requests[-1].headers["if-modified-since"] == stamp
    assert "if-none-match" not in server.requests[-1].headers


async def test_changed_body_is_fetched_and_hashed(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/f.xml", RSS, etag='"v1"')
    first = await fetcher.fetch(server.url("/f.xml"))
    server.route("/f.xml", RSS.replace(b"One", b"Two"), etag='"v2"')
    changed = await fetcher.fetch(server.url("/f.xml"), etag=first.etag)
    assert not changed.not_modified and b"Two" in changed.body and changed.etag == '"v2"'
    assert changed.body_hash != first.body_hash
    server.route("/f.xml", RSS)  # same bytes, no validators: same hash
    same = await fetcher.fetch(server.url("/f.xml"))
    assert same.body_hash == first.body_hash


async def test_served_file_changes_are_seen(
    server: FeedServer, fetcher: Fetcher, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(RSS)
    server.serve_file("/file.xml", feed)
    first = await fetcher.fetch(server.url("/file.xml"))
    assert first.body == RSS and first.etag and first.last_modified
    assert (await fetcher.fetch(server.url("/file.xml"), etag=first.etag)).not_modified
    feed.write_bytes(RSS + b"\n<!-- changed -->")
    os.utime(feed, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    changed = await fetcher.fetch(server.url("/file.xml"), etag=first.etag)
    assert not changed.not_modified and changed.etag != first.etag


# ---- content encodings and size bounds ----------------------------------------------------
async def test_gzip_and_deflate_bodies_are_decoded(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/gz", RSS, gzip=True)
    server.route("/deflate", zlib.compress(RSS), headers=(("Content-Encoding", "deflate"),))
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = raw_deflate.compress(RSS) + raw_deflate.flush()
    server.route("/rawdeflate", raw, headers=(("Content-Encoding", "deflate"),))
    for path in ("/gz", "/deflate", "/rawdeflate"):
        assert (await fetcher.fetch(server.url(path))).body == RSS, path


async def test_gzip_bomb_stops_at_the_limit(server: FeedServer, fetcher: Fetcher) -> None:
    server.gzip_bomb("/bomb", 64 * 1024 * 1024)  # 64 MB of zeros, ~64 KB on the wire
    err = await fetch_error(fetcher, server.url("/bomb"))
    assert err.kind is FetchErrorKind.TOO_LARGE and "decompressed" in err.detail


async def test_bad_gzip_is_a_parse_error(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/badgz", b"this is not gzip", headers=(("Content-Encoding", "gzip"),))
    err = await fetch_error(fetcher, server.url("/badgz"))
    assert err.kind is FetchErrorKind.PARSE_ERROR


async def test_oversized_bodies(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/declared", b"x" * 1000, repeat=LIMIT // 1000 + 1)
    server.route("/chunked", b"x" * 1000, repeat=LIMIT // 1000 + 1, chunked=True)
    server.route("/exact", b"x" * 1000, repeat=LIMIT // 1000, chunked=True)
    for path in ("/declared", "/chunked"):
        err = await fetch_error(fetcher, server.url(path))
        assert err.kind is FetchErrorKind.TOO_LARGE, path
    assert len((await fetcher.fetch(server.url("/exact"))).body) == LIMIT
    gz = gzip.compress(b"y" * (LIMIT + 1))
    server.route("/gzbig", gz, headers=(("Content-Encoding", "gzip"),))
    assert (await fetch_error(fetcher, server.url("/gzbig"))).kind is FetchErrorKind.TOO_LARGE


# ---- time bounds --------------------------------------------------------------------------
async def test_slow_drip_body_hits_the_total_deadline(server: FeedServer) -> None:
    server.route("/slow", b"x" * 100, drip=0.05, chunk=1)  # 5 s in all, never silent 1 s
    async with Fetcher(FetchSettings(deadline=0.5, read_timeout=1.0)) as f:
        started = time.monotonic()
        err = await fetch_error(f, server.url("/slow"))
        assert time.monotonic() - started < 3.0
    assert err.kind is FetchErrorKind.TIMEOUT and "deadline" in err.detail


async def test_silent_server_hits_the_read_timeout(server: FeedServer) -> None:
    server.route("/silent", RSS, delay=2.0)
    async with Fetcher(FetchSettings(deadline=5.0, read_timeout=0.3)) as f:
        err = await fetch_error(f, server.url("/silent"))
    assert err.kind is FetchErrorKind.TIMEOUT and "read" in err.detail


async def test_slow_host_does_not_delay_other_hosts() -> None:
    """Sources queued behind a slow host (2 at a time per host) hold none of the K slots."""
    async with FeedServer() as slow, FeedServer() as quick:
        slow.route("/f", RSS, delay=0.5)
        quick.route("/f", RSS)
        done: list[str] = []
        async with Fetcher(FetchSettings(concurrency=4, per_host=2)) as f:

            async def get(name: str, srv: FeedServer) -> None:
                await f.fetch(srv.url("/f"))
                done.append(name)

            await asyncio.gather(
                *(get("slow", slow) for _ in range(6)), *(get("quick", quick) for _ in range(4))
            )
        assert done[:4] == ["quick"] * 4
        assert slow.max_in_flight == 2


async def test_time_queued_for_a_host_is_not_counted_in_the_deadline(server: FeedServer) -> None:
    server.route("/f", RSS, delay=0.3)
    async with Fetcher(FetchSettings(per_host=1, deadline=0.6)) as f:
        results = await asyncio.gather(*(f.fetch(server.url("/f")) for _ in range(4)))
    assert all(r.body == RSS for r in results)  # the last waited ~0.9 s in the queue


async def test_body_gate_waits_before_the_body_outside_the_deadline(server: FeedServer) -> None:
    """``before_body`` runs once a body is coming (not for a 304, a redirect or an error
    page), and a caller holding the fetch there past the deadline does not time it out."""
    server.route("/f.xml", RSS, etag='"v1"')
    server.redirect("/moved", "/f.xml", 301)
    server.route("/gone", b"gone", status=410)
    gated: list[float] = []

    async def gate() -> None:
        gated.append(time.monotonic())
        await asyncio.sleep(0.8)

    async with Fetcher(FetchSettings(deadline=0.5)) as f:
        result = await f.fetch(server.url("/moved"), before_body=gate)
        assert result.body == RSS and len(gated) == 1
        assert (await f.fetch(server.url("/f.xml"), etag='"v1"', before_body=gate)).not_modified
        err = await fetch_error(f, server.url("/gone"), before_body=gate)
        assert err.kind is FetchErrorKind.GONE and len(gated) == 1
        server.route("/slow", b"x" * 100, drip=0.05, chunk=1)  # the body alone takes 5 s
        err = await fetch_error(f, server.url("/slow"), before_body=gate)
        assert err.kind is FetchErrorKind.TIMEOUT and len(gated) == 2


# ---- redirects ----------------------------------------------------------------------------
async def test_redirects_are_followed_and_bounded(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/final", RSS)
    server.redirect("/r1", "/r2", 301)
    server.redirect("/r2", server.url("/final"), 307)
    result = await fetcher.fetch(server.url("/r1"))
    assert result.body == RSS and result.final_url == server.url("/final")
    assert result.redirects == (server.url("/r2"), server.url("/final"))
    for i in range(7):  # a chain longer than max_redirects (5)
        server.redirect(f"/c{i}", f"/c{i + 1}")
    server.route("/c7", RSS)
    err = await fetch_error(fetcher, server.url("/c0"))
    assert err.kind is FetchErrorKind.TOO_MANY_REDIRECTS


async def test_redirect_loop(server: FeedServer, fetcher: Fetcher) -> None:
    server.redirect_loop("/a", "/b")
    err = await fetch_error(fetcher, server.url("/a"))
    assert err.kind is FetchErrorKind.TOO_MANY_REDIRECTS and "loop" in err.detail
    assert server.hits("/a") == 1 and server.hits("/b") == 1


# ---- HTTP statuses (a table) --------------------------------------------------------------
HTTP_DATE = "<an HTTP date 300 s from now>"
STATUS_CASES = [
    (404, (), FetchErrorKind.NOT_FOUND, None),
    (410, (), FetchErrorKind.GONE, None),
    (403, (), FetchErrorKind.FORBIDDEN, None),
    (401, (), FetchErrorKind.FORBIDDEN, None),
    (400, (), FetchErrorKind.CLIENT_ERROR, None),
    (429, (("Retry-After", "120"),), FetchErrorKind.RATE_LIMITED, 120.0),
    (429, (("Retry-After", HTTP_DATE),), FetchErrorKind.RATE_LIMITED, 300.0),
    (429, (("Retry-After", "soon"),), FetchErrorKind.RATE_LIMITED, None),
    (500, (), FetchErrorKind.SERVER_ERROR, None),
    (503, (("Retry-After", "30"),), FetchErrorKind.SERVER_ERROR, 30.0),
]


@pytest.mark.parametrize(("status", "headers", "kind", "retry_after"), STATUS_CASES)
async def test_http_statuses(
    server: FeedServer,
    fetcher: Fetcher,
    status: int,
    headers: tuple[tuple[str, str], ...],
    kind: FetchErrorKind,
    retry_after: float | None,
) -> None:
    when = email.utils.formatdate(time.time() + 300, usegmt=True)
    headers = tuple((k, when if v == HTTP_DATE else v) for k, v in headers)
    server.route("/s", b"error page", status=status, headers=headers)
    err = await fetch_error(fetcher, server.url("/s"))
    assert err.kind is kind and err.status == status and err.url == server.url("/s")
    if retry_after is None:
        assert err.retry_after is None
    else:
        assert err.retry_after == pytest.approx(retry_after, abs=3)


async def test_a_failing_source_recovers(server: FeedServer, fetcher: Fetcher) -> None:
    server.sequence(
        "/flaky",
        Route(status=503, headers=(("Retry-After", "5"),)),
        Route(drop="headers"),
        Route(body=RSS),
    )
    kinds = []
    for _ in range(2):
        kinds.append((await fetch_error(fetcher, server.url("/flaky"))).kind)
    assert kinds == [FetchErrorKind.SERVER_ERROR, FetchErrorKind.CONNECT]
    for _ in range(2):  # the last answer repeats
        assert (await fetcher.fetch(server.url("/flaky"))).body == RSS


# ---- broken connections -------------------------------------------------------------------
async def test_dropped_connections(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/drop-head", RSS, drop="headers")
    server.route("/drop-body", RSS * 50, drop="body", chunk=1000)
    for path in ("/drop-head", "/drop-body"):
        err = await fetch_error(fetcher, server.url(path))
        assert err.kind is FetchErrorKind.CONNECT, path


async def test_connection_refused(fetcher: Fetcher) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    err = await fetch_error(fetcher, f"http://127.0.0.1:{port}/feed")
    assert err.kind is FetchErrorKind.CONNECT


async def test_tls_to_a_plain_http_server(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/f", RSS)
    err = await fetch_error(fetcher, server.url("/f").replace("http://", "https://"))
    assert err.kind is FetchErrorKind.TLS


async def test_unusable_urls(fetcher: Fetcher) -> None:
    for url in ("ftp://example.org/feed", "not a url", "file:///etc/passwd"):
        err = await fetch_error(fetcher, url)
        assert err.kind is FetchErrorKind.CLIENT_ERROR, url


# ---- address guard hook -------------------------------------------------------------------
async def test_default_guard_blocks_loopback_only_when_asked(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.route("/f", RSS)
    assert (await fetcher.fetch(server.url("/f"))).body == RSS  # feeds.yaml sources: anywhere
    err = await fetch_error(fetcher, server.url("/f"), allow_private=False)
    assert err.kind is FetchErrorKind.BLOCKED_ADDRESS and "127.0.0.1" in err.detail
    assert server.hits("/f") == 1  # refused before connecting


async def test_custom_guard_sees_every_hop() -> None:
    seen: list[tuple[str, list[str]]] = []

    async def guard(host: str, addresses: list[str]) -> None:
        seen.append((host, addresses))
        if len(seen) > 1:
            raise FetchError(FetchErrorKind.BLOCKED_ADDRESS, f"{host} refused on redirect")

    async with FeedServer() as srv, Fetcher(guard=guard) as f:
        srv.route("/final", RSS)
        srv.redirect("/start", srv.url("/final"))
        err = await fetch_error(f, srv.url("/start"), allow_private=False)
        assert err.kind is FetchErrorKind.BLOCKED_ADDRESS and err.url == srv.url("/final")
        assert seen == [("127.0.0.1", ["127.0.0.1"])] * 2
        assert srv.hits("/final") == 0


async def test_guarded_fetch_connects_to_the_checked_address() -> None:
    checked: list[tuple[str, list[str]]] = []

    def allow_loopback(host: str, addresses: list[str]) -> None:
        checked.append((host, addresses))

    async with FeedServer() as srv, Fetcher(guard=allow_loopback) as f:
        srv.route("/f", RSS)
        url = f"http://localhost:{srv.port}/f"
        result = await f.fetch(url, allow_private=False)
        assert result.body == RSS and result.final_url == url
        assert srv.requests[-1].headers["host"] == f"localhost:{srv.port}"
        assert checked[0][0] == "localhost" and "127.0.0.1" in checked[0][1]


# ---- concurrency --------------------------------------------------------------------------
async def test_at_most_two_requests_per_host(server: FeedServer) -> None:
    server.route("/f", RSS, delay=0.1)
    async with Fetcher(FetchSettings(concurrency=16, per_host=2)) as f:
        await asyncio.gather(*(f.fetch(server.url("/f")) for _ in range(8)))
    assert server.max_in_flight == 2
    assert f._hosts == {}  # idle host slots are dropped


async def test_at_most_k_requests_in_all(server: FeedServer) -> None:
    server.route("/f", RSS, delay=0.1)
    async with Fetcher(FetchSettings(concurrency=3, per_host=10)) as f:
        await asyncio.gather(*(f.fetch(server.url("/f")) for _ in range(12)))
    assert server.max_in_flight == 3 and server.hits("/f") == 12


# ---- the feed server as a separate process (benchmarks) --------------------------------------
async def test_feed_server_runs_as_a_process(tmp_path: Path, fetcher: Fetcher) -> None:
    import subprocess
    import sys

    (tmp_path / "a.xml").write_bytes(RSS)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.feedserver", "--dir", str(tmp_path), "--watch-stdin"],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        base = (await asyncio.to_thread(proc.stdout.readline)).decode().strip()
        assert base.startswith("http://127.0.0.1:")
        first = await fetcher.fetch(base + "/a.xml")
        assert first.body == RSS and first.etag
        assert (await fetcher.fetch(base + "/a.xml", etag=first.etag)).not_modified
        assert (await fetch_error(fetcher, base + "/missing.xml")).kind is FetchErrorKind.NOT_FOUND
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # --watch-stdin: the server stops when its stdin closes
        assert await asyncio.to_thread(proc.wait, 10) == 0
