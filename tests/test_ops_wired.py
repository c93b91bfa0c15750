"""`watcher run` as built by ``build_app``: /metrics counts a real poll cycle, and instances on
one store share the sources (each polled by one of them), on SQLite and PostgreSQL.

Feeds are served on loopback; the app runs its real services (scheduler, console notifier,
health/metrics server) in this event loop; /metrics and /healthz are read over HTTP.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from tests.servers.feedserver import FeedServer
from watcher.app import App, build_app
from watcher.errors import FetchErrorKind
from watcher.fetch import Fetcher
from watcher.notify.console import ConsoleNotifier
from watcher.pages.service import WebService
from watcher.settings import Settings, StorySettings
from watcher.store import Database
from watcher.store.alerts import get_alerts
from watcher.store.leases import DUE_GRACE_S

DATA = Path(__file__).parent / "data" / "run"
ALERTING = (
    "China forcibly repatriates North Korean defectors arrested in Shenyang",
    "North Korean workers in Russia face forced labour, defectors say",
)
QUIET = "Weather in Seoul is sunny"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def rss(titles: list[str], prefix: str) -> bytes:
    now = format_datetime(datetime.now(UTC))
    items = "".join(
        f"<item><guid>{prefix}-{n}</guid><title>{t}</title>"
        f"<link>https://news.example.org/{prefix}/{n}</link><pubDate>{now}</pubDate>"
        f"<description>{t}.</description></item>"
        for n, t in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://news.example.org/</link>{items}</channel></rss>"
    ).encode()


def write_config(folder: Path, server: FeedServer, paths: list[str], interval: str = "1h") -> None:
    shutil.copy(DATA / "keywords.yaml", folder / "keywords.yaml")
    lines = ["sources:"]
    for p in paths:
        lines += [f"  - id: {p.strip('/').removesuffix('.xml')}", f"    url: {server.url(p)}"]
        lines += ["    language: en", f"    interval: {interval}"]
    (folder / "feeds.yaml").write_text("\n".join(lines) + "\n", "utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def eventually(check: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():  # type: ignore[misc]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[App]:
    """``build_app`` and its services, as ``watcher run`` runs them, until the block ends."""
    async with Fetcher() as fetcher:
        app = build_app(settings, fetcher, Console(file=io.StringIO()))
        for n in app.notifiers:  # console alerts into a buffer, not the test's stdout
            if isinstance(n, ConsoleNotifier):
                n.console = Console(file=io.StringIO(), soft_wrap=True)
        stop = app.runtime.stop
        tasks = [asyncio.create_task(s.run(stop), name=s.name) for s in app.services]
        try:
            yield app
        finally:
            stop.set()
            results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
            app.runtime.db.close()
            assert not [r for r in results if isinstance(r, BaseException)], results


async def test_metrics_count_a_real_poll_cycle(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.route("/news.xml", rss([ALERTING[0], QUIET, ALERTING[1]], "n"))
        server.route("/gone.xml", b"gone", status=404)
        write_config(tmp_path, server, ["/news.xml", "/gone.xml"])
        settings = Settings(config_dir=tmp_path, http_port=free_port(), instance_id="wired:1")
        async with running(settings) as app, httpx.AsyncClient() as client:
            http = next(s for s in app.services if isinstance(s, WebService))
            await asyncio.wait_for(http.ready.wait(), 10)
            base = f"http://127.0.0.1:{http.bound_port}"
            before = samples((await client.get(base + "/metrics")).text)
            found: Samples = {}

            async def cycle_done() -> bool:
                nonlocal found
                found = samples((await client.get(base + "/metrics")).text)
                sent = value(found, "watcher_deliveries_total", channel="console", outcome="sent")
                polls = value(found, "watcher_cycle_duration_seconds_count")
                return polls >= 2 and sent >= 2

            await eventually(cycle_done, "both sources polled and the alerts printed")
            health = await client.get(base + "/healthz")
            db = app.runtime.db
            with db.transaction() as tx:
                ids = [int(r[0]) for r in tx.fetchall("SELECT id FROM alerts")]
                items = tx.scalar("SELECT COUNT(*) FROM items")
                rows = tx.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
            alerts = list(get_alerts(db, ids).values())

    # Nothing counted before the first poll; then exactly what the store recorded.
    assert value(before, "watcher_fetches_total", outcome="ok") == 0
    assert value(found, "watcher_fetches_total", outcome="ok") == 1
    missing = FetchErrorKind.NOT_FOUND.value
    assert value(found, "watcher_fetches_total", outcome=missing) == 1
    assert value(found, "watcher_source_failures_total", source="gone", kind=missing) == 1
    assert value(found, "watcher_items_total") == items == 3
    assert len(alerts) == 2 and rows == 2
    assert value(found, "watcher_deliveries_total", channel="console", outcome="sent") == 2
    recorded = Counter(topic for alert in alerts for topic in alert.topics)
    counted = {
        labels[0][1]: v
        for (name, labels), v in found.items()
        if name == "watcher_alerts_total" and v
    }
    assert counted == recorded
    assert value(found, "watcher_cycle_duration_seconds_count") == 2
    assert value(found, "watcher_outbox_pending", channel="console") == 0
    assert value(found, "watcher_sources_failing") == 1
    assert value(found, "watcher_instance_info", instance="wired:1") == 1
    assert health.status_code == 200, health.text
    checks = health.json()["checks"]
    assert checks["scheduler"] == {"ok": True, "detail": "running"}
    assert checks["store"]["ok"] is True


async def test_no_http_server_unless_a_port_is_set(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.route("/news.xml", rss([QUIET], "q"))
        write_config(tmp_path, server, ["/news.xml"])
        async with running(Settings(config_dir=tmp_path)) as app:
            assert not [s for s in app.services if isinstance(s, WebService)]


@pytest.mark.slow
async def test_instances_on_one_store_poll_each_source_once(
    store_db: Database, tmp_path: Path
) -> None:
    """Three apps start together on one store: each source is fetched by one of them.

    The feeds answer slowly (0.5 s), so polls overlap: without the source leases every app
    fetches every source at start-up.
    """
    paths = [f"/s{n}.xml" for n in range(6)]
    with FeedServer() as server:
        for n, p in enumerate(paths):
            server.route(p, rss([ALERTING[n % 2]], f"s{n}"), delay=0.5)
        write_config(tmp_path, server, paths)
        apps = [
            # the six sources carry two stories: grouping off, so each source's item alerts
            running(
                Settings(
                    config_dir=tmp_path,
                    db=store_db.url,
                    instance_id=f"i{n}",
                    sections=(StorySettings(enabled=False),),
                )
            )
            for n in range(3)
        ]
        async with apps[0], apps[1], apps[2]:

            async def all_polled() -> bool:
                with store_db.transaction() as tx:
                    n = tx.scalar("SELECT COUNT(*) FROM sources WHERE last_checked_at IS NOT NULL")
                    sent = tx.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
                return int(n) == len(paths) and int(sent) == len(paths)

            await eventually(all_polled, "every source polled and its alert printed")
            await asyncio.sleep(1.5)  # every app's start-up turn for every source is over
        hits = {p: server.hits(p) for p in paths}
    assert hits == {p: 1 for p in paths}
    with store_db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM alerts") == len(paths)
        assert tx.scalar("SELECT COUNT(*) FROM outbox") == len(paths)
        # Each app gave its leases back when it stopped.
        assert tx.scalar("SELECT COUNT(*) FROM sources WHERE lease_owner IS NOT NULL") == 0


@pytest.mark.slow
async def test_a_stopping_instance_abandons_a_poll_waiting_on_the_network(
    store_db: Database, tmp_path: Path
) -> None:
    """SIGTERM mid-poll, the server silent: the instance stops at once instead of waiting for
    the read timeout, records nothing for the poll (no failure, no success) and frees the
    source. The server had the request, so that was the source's turn: an instance running
    meanwhile (here: started at once) polls it at its next turn, one interval later, not at
    once."""
    with FeedServer() as server:
        server.route("/slow.xml", rss([ALERTING[0]], "slow"), delay=15)
        write_config(tmp_path, server, ["/slow.xml"], interval="5s")

        def settings(name: str) -> Settings:
            return Settings(config_dir=tmp_path, db=store_db.url, instance_id=name)

        def row() -> tuple[object, ...]:
            with store_db.transaction() as tx:
                found = tx.fetchone(
                    "SELECT last_checked_at, consecutive_failures, lease_owner FROM sources"
                )
            return tuple(found or ())

        loop = asyncio.get_running_loop()
        async with running(settings("first")):

            async def fetching() -> bool:
                return server.in_flight >= 1

            await eventually(fetching, "the first instance to be fetching")
            stopping = loop.time()
        assert loop.time() - stopping < 5, "stopped without waiting for the slow server"
        assert row() == (None, 0, None)  # nothing recorded, the source free
        server.route("/slow.xml", rss([ALERTING[0]], "slow"))
        async with running(settings("second")):

            async def recorded() -> bool:
                return row()[0] is not None

            await eventually(recorded, "the second instance's poll to be recorded")
        times = [r.at for r in server.requests if r.path == "/slow.xml"]
    assert len(times) == 2, times
    # Due one interval after the first took the lease, less the grace; the first request came
    # a moment after the lease (at once it would come within half a second).
    assert times[1] - times[0] > 5 - DUE_GRACE_S - 1, f"fetched again too soon: {times}"
