"""``watcher run`` (``build_app``'s real services, the web app among them) in a thread with its
own event loop, so that sync tests (httpx, Playwright, hypothesis) and async ones can use it.

    with WatcherRun(settings) as run:              # settings.http_port: 0 = any free port
        httpx.get(run.base + "/alerts")
        run.db                                     # the store it writes

Also: a config folder with loopback feeds (``write_config``), alerts spread over past days
(``seed_alerts``), and a signed-in ``httpx.Client`` (``login``).
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType

import httpx
from rich.console import Console

from tests.servers.feedserver import FeedServer
from watcher.app import App, build_app
from watcher.fetch import Fetcher
from watcher.notify.console import ConsoleNotifier
from watcher.pages.service import WebService
from watcher.settings import Settings
from watcher.store import Database
from watcher.store import outbox as ob
from watcher.store.alerts import insert_alert

DATA = Path(__file__).parent / "data" / "run"
ALERTING = "China forcibly repatriates North Korean defectors arrested in Shenyang"
QUIET = "Weather in Seoul is sunny"


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


def write_config(folder: Path, server: FeedServer, paths: list[str]) -> None:
    """keywords.yaml of the run tests, and one English source per feed path (id: its name)."""
    shutil.copy(DATA / "keywords.yaml", folder / "keywords.yaml")
    lines = ["sources:"]
    for p in paths:
        lines += [f"  - id: {p.strip('/').removesuffix('.xml')}", f"    url: {server.url(p)}"]
        lines += ["    language: en", "    interval: 1h"]
    (folder / "feeds.yaml").write_text("\n".join(lines) + "\n", "utf-8")


def seed_alerts(db: Database, source_id: str, per_day: list[int], now: float) -> int:
    """``per_day[i]`` alerts of ``source_id`` created ``i`` days before ``now`` (around noon
    UTC, so that each stays in its day), each queued to the console and sent; how many."""
    made = 0
    today_noon = now // 86400 * 86400 + 43200
    with db.transaction() as tx:
        for days_ago in reversed(range(len(per_day))):  # oldest first, as ids grow in time
            for n in reversed(range(per_day[days_ago])):
                at = min(now, today_noon - days_ago * 86400) - n * 60
                alert = insert_alert(
                    tx,
                    dedupe_key=f"seed:{source_id}:{days_ago}:{n}",
                    item_id=None,
                    source_id=source_id,
                    source_name=source_id,
                    title=f"Seeded report {days_ago}-{n} on North Korean workers",
                    url=f"https://news.example.org/seed/{source_id}/{days_ago}/{n}",
                    summary="",
                    language="en",
                    published=datetime.fromtimestamp(at, UTC),
                    topics=["forced_labor"],
                    score=6.0,
                    matches=[],
                    now=at,
                )
                assert alert is not None
                ob.enqueue(tx, alert.id, "console", ["-"], at)
                tx.execute("UPDATE outbox SET status = 'sent', sent_at = ? WHERE alert_id = ?",
                           (at, alert.id))  # fmt: skip
                made += 1
    return made


class WatcherRun:
    """``build_app(settings)``'s services running until the block ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = ""
        self.app: App | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="watcher-run", daemon=True)

    @property
    def db(self) -> Database:
        assert self.app is not None
        return self.app.runtime.db

    def __enter__(self) -> WatcherRun:
        self._thread.start()
        if not self._ready.wait(30) or self.error is not None:
            raise RuntimeError(f"watcher run did not start: {self.error!r}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self.app is not None:
            self._loop.call_soon_threadsafe(self.app.runtime.stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "watcher run did not stop within 30 s"

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # told to the test by __enter__
            self.error = exc
            self._ready.set()

    async def _run(self) -> None:
        async with Fetcher() as fetcher:
            app = build_app(self.settings, fetcher, Console(file=io.StringIO()))
            for n in app.notifiers:  # console alerts into a buffer, not the test's output
                if isinstance(n, ConsoleNotifier):
                    n.console = Console(file=io.StringIO(), soft_wrap=True)
            self.app, self._loop = app, asyncio.get_running_loop()
            stop = app.runtime.stop
            tasks = [asyncio.create_task(s.run(stop), name=s.name) for s in app.services]
            http = next(s for s in app.services if isinstance(s, WebService))
            await asyncio.wait_for(http.ready.wait(), 10)
            self.base = f"http://127.0.0.1:{http.bound_port}"
            self._ready.set()
            await stop.wait()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
            app.runtime.db.close()


def wait_for(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: httpx.Client, token: str, name: str = "alice") -> httpx.Response:
    """Sign ``client`` in through the form (the CSRF token read from it)."""
    form = client.get("/login")
    return client.post(
        "/login",
        data={"csrf": csrf_of(form.text), "name": name, "token": token, "next": "/alerts"},
    )
