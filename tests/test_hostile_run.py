"""The real `watcher run` with Telegram on the fake Bot API, hostile sources among normal ones.

First a normal item alone: how long it takes to reach a private subscriber (the baseline, in
this run). Then every `run: true` row of tests/data/hostile/cases.yaml as its own source, a
source with 60 matching items (more than the per-poll cap, and a channel paced at 20 a minute),
and a link with rich markup in it, all at once with a second normal item: that item must reach
the subscriber within a poll interval and the capped flood, and the process must keep running
without a traceback.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest

from tests.servers.fake_telegram import FakeTelegram
from tests.servers.feedserver import FeedServer
from tests.test_hostile import CASES, feed_body, page_body
from tests.test_run_once import DATA
from tests.test_telegram_run import count, start, stop, wait_for

TOKEN = "123:TEST"
USER = 42
FIRST = "China forcibly repatriates North Korean defectors arrested in Shenyang"
SECOND = "Russia deports North Korean workers who fled a construction site in Vladivostok"
FLOOD = 60


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    now = format_datetime(datetime.now(UTC))
    body = "".join(
        f"<item><guid>{guid}</guid><title>{escape(title)}</title>"
        f"<link>{escape(link)}</link><pubDate>{now}</pubDate>"
        f"<description>{escape(title)}.</description></item>"
        for guid, title, link in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{body}</channel></rss>'.encode()


def _flood() -> bytes:
    return _rss(
        [
            (f"f{n}", f"China deports North Korean defectors, group {n}", f"https://f.example/{n}")
            for n in range(FLOOD)
        ]
    )


def _sources(feeds: FeedServer, hostile: list[dict[str, object]]) -> str:
    lines = ["defaults:\n  interval: 5s\n  language: en\nsources:\n"]
    for sid in ("normal", "flood", "markup"):
        lines.append(f"  - id: {sid}\n    url: {feeds.url(f'/{sid}')}\n")
    for case in hostile:
        name = case["name"]
        lines.append(f"  - id: {name}\n    url: {feeds.url(f'/{name}')}\n")
        if case["input"] == "page":
            lines.append("    type: page\n    selectors: {item: li, link: a}\n")
    return "".join(lines)


def _latency(tg: FakeTelegram, needle: str, since: float) -> float:
    wait_for(lambda: count(tg, USER, needle) == 1, f"the alert {needle!r}", timeout=60)
    return time.monotonic() - since


@pytest.mark.slow
def test_hostile_sources_do_not_delay_a_subscribers_alert(tmp_path: Path) -> None:
    hostile = [c for c in CASES if c.get("run")]
    with FakeTelegram(TOKEN) as tg, FeedServer() as feeds:
        (tmp_path / "keywords.yaml").write_text((DATA / "keywords.yaml").read_text())
        (tmp_path / "feeds.yaml").write_text(_sources(feeds, hostile))
        (tmp_path / ".env").write_text(
            f"WATCHER_TELEGRAM_TOKEN={TOKEN}\nWATCHER_TELEGRAM_API_URL={tg.base_url}\n"
            "WATCHER_TELEGRAM_CHANNELS=@alerts\n"
        )
        empty = _rss([])
        for sid in ("normal", "flood", "markup", *(c["name"] for c in hostile)):
            feeds.route(f"/{sid}", empty)
        proc = start(tmp_path, tmp_path / "run.log")
        try:
            wait_for(lambda: bool(tg.calls_of("getUpdates")), "polling for updates")
            tg.send_user_message(USER, "/start")
            wait_for(lambda: count(tg, USER, "Subscribed") == 1, "the /start reply")

            began = time.monotonic()
            feeds.route("/normal", _rss([("n1", FIRST, "https://n.example/1")]))
            alone = _latency(tg, "Shenyang", began)

            for case in hostile:
                body = page_body(case) if case["input"] == "page" else feed_body(case)
                ctype = "text/html; charset=utf-8" if case["input"] == "page" else None
                kw = {"content_type": ctype} if ctype else {}
                feeds.route(f"/{case['name']}", body, **kw)
            feeds.route("/flood", _flood())
            link = "https://m.example/[bold]x[/bold]?a=[link=javascript:alert(1)]"
            feeds.route("/markup", _rss([("m1", "North Korean defector [red]arrested", link)]))
            began = time.monotonic()
            feeds.route(
                "/normal",
                _rss([("n2", SECOND, "https://n.example/2"), ("n1", FIRST, "https://n.example/1")]),
            )
            among = _latency(tg, "Vladivostok", began)
            print(f"\nalert latency: {alone:.1f} s alone, {among:.1f} s among hostile sources")
            # at most: the normal source's next poll (5 s), then the flood's capped 10 alerts
            # ahead of it in the same chat at Telegram's one message a second, and slack for a
            # loaded machine; an unbounded parse (+37 s a nested-div feed) or an uncapped flood
            # (+137 s) fails it
            assert among < alone + 20.0
            assert proc.poll() is None, "watcher run stopped"
            # the per-poll cap: the flood source's alerts beyond it are one summary message
            wait_for(lambda: count(tg, USER, "group ") >= 1, "the flood's first alerts")
            assert count(tg, USER, "group ") <= 11
        finally:
            stop(proc)
    log = (tmp_path / "run.log").read_text()
    assert "Traceback" not in log, log[-3000:]
