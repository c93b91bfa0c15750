"""Hot reload while `watcher run` runs (its services in this process, a real feed server):
edits to keywords.yaml and feeds.yaml are picked up, an invalid edit keeps the last good
configuration and raises the config_invalid notice, and a new source is polled at once."""

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

DATA = Path(__file__).parent / "data" / "run"
FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><guid>1</guid><title>Weather in Seoul is sunny</title>"
    b"<link>https://news.example.org/1</link></item></channel></rss>"
)


def feeds_yaml(srv: FeedServer, *names: str, extra: str = "") -> str:
    lines = ["sources:"]
    for name in names:
        lines += [f"  - id: {name}", f"    url: {srv.url('/' + name)}", "    interval: 1h"]
    return "\n".join(lines) + "\n" + extra


async def until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)
    assert check(), what


@pytest.mark.slow
async def test_edits_are_picked_up_and_invalid_ones_keep_the_last_good(tmp_path: Path) -> None:
    async with FeedServer() as srv:
        for name in ("a", "b"):
            srv.route(f"/{name}", FEED)
        shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
        (tmp_path / "feeds.yaml").write_text(feeds_yaml(srv, "a"))
        async with Fetcher() as fetcher:
            app = build_app(Settings(config_dir=tmp_path), fetcher, Console(file=io.StringIO()))
            runtime = app.runtime
            notices: list[tuple[str, str]] = []

            async def listen(kind: str, text: str) -> None:
                notices.append((kind, text))

            runtime.listeners.append(listen)
            tasks = [asyncio.create_task(s.run(runtime.stop)) for s in app.services]
            try:

                def kinds() -> list[str]:
                    return [k for k, _ in notices]

                def current() -> str:
                    return app.config.topic_titles()["repatriation"]

                await until(lambda: srv.hits("/a") == 1, "source a polled at start")
                # a valid keywords.yaml edit: the rules in force change
                keywords = tmp_path / "keywords.yaml"
                text = keywords.read_text(encoding="utf-8")
                keywords.write_text(
                    text.replace(
                        "title: Forced return of North Koreans", "title: Refoulement (edited)"
                    ),
                    encoding="utf-8",
                )
                await until(lambda: "config_reloaded" in kinds(), "keywords reloaded")
                assert current() == "Refoulement (edited)"
                # an invalid keywords.yaml: kept the last good rules, said why (file:line)
                keywords.write_text(text + "\n  - id: [broken\n", encoding="utf-8")
                await until(lambda: "config_invalid" in kinds(), "invalid keywords noticed")
                invalid = next(t for k, t in notices if k == "config_invalid")
                assert "keywords.yaml:" in invalid and "kept the last good config" in invalid
                assert current() == "Refoulement (edited)"
                keywords.write_text(text, encoding="utf-8")  # fixed again
                await until(lambda: kinds().count("config_reloaded") == 2, "keywords fixed")
                assert current() == "Forced return of North Koreans"
                # feeds.yaml: a new source is polled at once; an invalid edit is refused
                feeds = tmp_path / "feeds.yaml"
                feeds.write_text(feeds_yaml(srv, "a", "b"))
                await until(lambda: srv.hits("/b") == 1, "new source b polled")
                assert [s.id for s in app.config.feeds().sources] == [
                    "a",
                    "b",
                ]
                feeds.write_text(feeds_yaml(srv, "a", "b", extra="  - id: c\n    url: ftp://x\n"))
                await until(lambda: kinds().count("config_invalid") == 2, "invalid feeds noticed")
                invalid = [t for k, t in notices if k == "config_invalid"][1]
                assert "feeds.yaml:" in invalid and "http://" in invalid
                assert len(app.config.feeds().sources) == 2
                assert srv.hits("/a") == 1  # hourly: not polled again by the reloads
            finally:
                runtime.stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                runtime.db.close()
    for t in tasks:
        assert t.exception() is None, t.get_name()
