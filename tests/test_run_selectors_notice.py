"""A page source whose selectors stop matching (the site was redesigned) is an error the
operators hear about at once, not after 24 hours of failures; and once per failure streak,
across a restart too (whether they were told is kept in the store), then once on recovery."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from rich.console import Console

from tests.servers import FeedServer
from watcher.app import build_app
from watcher.fetch import Fetcher
from watcher.settings import Settings

DATA = Path(__file__).parent / "data"
WEB = DATA / "web"
Notices = list[tuple[str, str]]


async def until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)
    assert check(), what


@asynccontextmanager
async def running(config: Path, notices: Notices) -> AsyncIterator[None]:
    """``watcher run``'s services in this process; operator notices collected."""
    async with Fetcher() as fetcher:
        app = build_app(Settings(config_dir=config), fetcher, Console(file=io.StringIO()))

        async def listen(kind: str, text: str) -> None:
            notices.append((kind, text))

        app.runtime.listeners.append(listen)
        stop = app.runtime.stop
        tasks = [asyncio.create_task(s.run(stop)) for s in app.services]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            app.runtime.db.close()


def serve(srv: FeedServer, page: str) -> None:
    srv.route("/news/", (WEB / page).read_bytes(), content_type="text/html")


@pytest.mark.slow
async def test_broken_selectors_are_told_at_once_then_recovery_once(tmp_path: Path) -> None:
    async with FeedServer() as srv:
        serve(srv, "listing-en-redesigned.html")
        shutil.copy(DATA / "run" / "keywords.yaml", tmp_path / "keywords.yaml")
        (tmp_path / "feeds.yaml").write_text(
            "sources:\n  - id: alliance\n    name: Alliance news\n    type: page\n"
            f"    url: {srv.url('/news/')}\n    interval: 5s\n    language: en\n"
            '    selectors: {item: "ul.news li", link: "a.headline", date: "span.date"}\n'
        )
        notices: Notices = []

        def count(kind: str) -> int:
            return [k for k, _ in notices].count(kind)

        async with running(tmp_path, notices):
            await until(lambda: srv.hits("/news/") >= 1, "polled")
            await until(lambda: count("source_failing") == 1, "told at once")
            (failing,) = [t for k, t in notices if k == "source_failing"]
            assert "Alliance news" in failing and "ul.news li" in failing
        async with running(tmp_path, notices):  # a restart, still broken: not told again
            hits = srv.hits("/news/")
            await until(lambda: srv.hits("/news/") >= hits + 1, "polled after the restart")
            await asyncio.sleep(0.5)
            assert count("source_failing") == 1, notices
            serve(srv, "listing-en.html")
            await until(lambda: count("source_recovered") == 1, "recovery told")
            hits = srv.hits("/news/")
            await until(lambda: srv.hits("/news/") >= hits + 1, "polled again")
            await asyncio.sleep(0.5)
        assert count("source_recovered") == 1 and count("source_failing") == 1, notices
