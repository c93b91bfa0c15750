"""A page source whose selectors stop matching (the site was redesigned) is an error the
operators hear about at once, not after 24 hours of failures, and its recovery once."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from tests.servers import FeedServer
from watcher.app import build_app
from watcher.fetch import Fetcher
from watcher.settings import Settings

DATA = Path(__file__).parent / "data"


async def until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)
    assert check(), what


@pytest.mark.slow
async def test_broken_selectors_are_told_at_once_and_recovery_once(tmp_path: Path) -> None:
    web = DATA / "web"
    async with FeedServer() as srv:
        srv.route(
            "/news/", (web / "listing-en-redesigned.html").read_bytes(), content_type="text/html"
        )
        shutil.copy(DATA / "run" / "keywords.yaml", tmp_path / "keywords.yaml")
        (tmp_path / "feeds.yaml").write_text(
            "sources:\n  - id: alliance\n    name: Alliance news\n    type: page\n"
            f"    url: {srv.url('/news/')}\n    interval: 5s\n    language: en\n"
            '    selectors: {item: "ul.news li", link: "a.headline", date: "span.date"}\n'
        )
        async with Fetcher() as fetcher:
            app = build_app(Settings(config_dir=tmp_path), fetcher, Console(file=io.StringIO()))
            notices: list[tuple[str, str]] = []

            async def listen(kind: str, text: str) -> None:
                notices.append((kind, text))

            app.runtime.listeners.append(listen)
            stop = app.runtime.stop
            tasks = [asyncio.create_task(s.run(stop)) for s in app.services]
            try:
                await until(lambda: srv.hits("/news/") >= 2, "polled twice while broken")
                failing = [t for k, t in notices if k == "source_failing"]
                assert len(failing) == 1, notices  # once, not once per poll
                assert "Alliance news" in failing[0] and "ul.news li" in failing[0]
                srv.route(
                    "/news/", (web / "listing-en.html").read_bytes(), content_type="text/html"
                )
                await until(lambda: any(k == "source_recovered" for k, _ in notices), "recovered")
                hits = srv.hits("/news/")
                await until(lambda: srv.hits("/news/") >= hits + 1, "polled again")
                assert [k for k, _ in notices].count("source_recovered") == 1
                assert [k for k, _ in notices].count("source_failing") == 1
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                app.runtime.db.close()
