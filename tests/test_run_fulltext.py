"""`watcher run --once` with ``fulltext: true``: the article's text is fetched before scoring.

A headline alone does not alert; the article behind it does. Links in feeds are untrusted, so a
loopback article is only fetched when the source sets ``allow_private: true``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.servers.feedserver import FeedServer
from watcher.cli import main

DATA = Path(__file__).parent / "data" / "run"
HEADLINE = "Court hearing in Vladivostok"
ARTICLE = (
    "<html><body><nav>Home | World</nav><article><h1>Court hearing in Vladivostok</h1>"
    + "<p>A Russian court ordered the deportation of a North Korean worker who fled his"
    " construction site; advocates fear he will be forcibly repatriated to North Korea,"
    " where defectors face prison camps.</p>"
    * 3
    + "</article><footer>(c) news</footer></body></html>"
)

CASES = [
    # (source options, alerts expected, article fetched)
    pytest.param("    fulltext: true\n    allow_private: true\n", 1, 1, id="fulltext-on"),
    pytest.param("    fulltext: true\n", 0, 0, id="loopback-link-refused"),
    pytest.param("", 0, 0, id="fulltext-off"),
]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.mark.parametrize(("options", "alerts", "fetched"), CASES)
def test_full_text_decides_the_alert(
    tmp_path: Path,
    server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    options: str,
    alerts: int,
    fetched: int,
) -> None:
    when = format_datetime(datetime.now(UTC))
    server.route(
        "/feed.xml",
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>1</guid><title>{HEADLINE}</title><link>{server.url('/a/1')}</link>"
        f"<pubDate>{when}</pubDate><description>{HEADLINE}.</description></item>"
        "</channel></rss>",
    )
    server.route("/a/1", ARTICLE, content_type="text/html; charset=utf-8")
    shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
    (tmp_path / "feeds.yaml").write_text(
        f"sources:\n  - id: court\n    url: {server.url('/feed.xml')}\n    language: en\n" + options
    )
    assert main(["--config", str(tmp_path), "run", "--once"]) == 0
    out = capsys.readouterr().out
    assert out.count("ALERT") == alerts
    assert server.hits("/a/1") == fetched
    # a second run fetches nothing again (cached by canonical URL, item already seen)
    assert main(["--config", str(tmp_path), "run", "--once"]) == 0
    assert capsys.readouterr().out.count("ALERT") == 0
    assert server.hits("/a/1") == fetched
