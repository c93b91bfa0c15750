"""`watcher run --once` end to end: real HTTP server on loopback, real fetch/parse/rules/store."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.servers.feedserver import FeedServer
from watcher.cli import main

DATA = Path(__file__).parent / "data" / "run"
ALERTING = "China forcibly repatriates North Korean defectors arrested in Shenyang"
QUIET = "Weather in Seoul is sunny"


def rss(entries: list[tuple[str, str, datetime | None]]) -> bytes:
    parts = []
    for guid, title, when in entries:
        date = f"<pubDate>{format_datetime(when)}</pubDate>" if when else ""
        parts.append(
            f"<item><guid>{guid}</guid><title>{title}</title>"
            f"<link>https://news.example.org/{guid}</link>{date}"
            f"<description>{title}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://news.example.org/</link>{''.join(parts)}</channel></rss>"
    ).encode()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def setup_config(tmp: Path, server: FeedServer, paths: list[str]) -> Path:
    shutil.copy(DATA / "keywords.yaml", tmp / "keywords.yaml")
    lines = ["sources:"]
    for p in paths:
        sid = p.strip("/").replace("/", "-").removesuffix(".xml")
        lines += [f"  - id: {sid}", f"    url: {server.url(p)}", "    language: en"]
    (tmp / "feeds.yaml").write_text("\n".join(lines) + "\n")
    return tmp


def alert_rows(cfg: Path) -> list[tuple[str, str]]:
    con = sqlite3.connect(cfg / "state" / "watcher.db")
    try:
        return con.execute(
            "SELECT a.title, o.status FROM outbox o JOIN alerts a ON a.id = o.alert_id"
            " WHERE o.channel = 'console' ORDER BY a.id"
        ).fetchall()
    finally:
        con.close()


def run_once(cfg: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--config", str(cfg), "run", "--once"]) == 0
    return capsys.readouterr().out


def test_new_item_alerts_exactly_once_across_runs(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    server.route("/a.xml", rss([("1", QUIET, now)]))
    cfg = setup_config(tmp_path, server, ["/a.xml"])
    out = run_once(cfg, capsys)
    assert "ALERT" not in out
    server.route("/a.xml", rss([("2", ALERTING, now), ("1", QUIET, now)]))
    out = run_once(cfg, capsys)
    assert out.count("ALERT") == 1 and "Shenyang" in out
    # the same item again, edited and re-dated: no second alert
    server.route(
        "/a.xml", rss([("2", ALERTING + " (updated)", now + timedelta(hours=1)), ("1", QUIET, now)])
    )
    out = run_once(cfg, capsys)
    assert "ALERT" not in out
    assert alert_rows(cfg) == [(ALERTING, "sent")]


def test_first_poll_backfill_only_recent_items_alert(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    server.route(
        "/b.xml",
        rss(
            [
                ("new", ALERTING, now - timedelta(hours=2)),
                ("old", ALERTING.replace("Shenyang", "Dandong"), now - timedelta(days=3)),
                ("undated", ALERTING.replace("Shenyang", "Yanji"), None),
            ]
        ),
    )
    cfg = setup_config(tmp_path, server, ["/b.xml"])
    out = run_once(cfg, capsys)
    assert out.count("ALERT") == 1 and "Shenyang" in out


def test_same_url_in_two_sources_alerts_once_and_failures_do_not_block(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    body = rss([("x", ALERTING, datetime.now(UTC))])
    server.route("/one.xml", body)
    server.route("/two.xml", body)
    server.route("/broken.xml", b"oops", status=500)
    cfg = setup_config(tmp_path, server, ["/broken.xml", "/one.xml", "/two.xml"])
    assert main(["--config", str(cfg), "run", "--once"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("ALERT") == 1
    assert "broken" in captured.err and "1 failed" in captured.err


def test_invalid_feeds_yaml_exits_2_with_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
    (tmp_path / "feeds.yaml").write_text(
        "sources:\n  - id: a\n    url: http://x/\n    interval: 1s\n"
    )
    assert main(["--config", str(tmp_path), "run", "--once"]) == 2
    err = capsys.readouterr().err
    assert "feeds.yaml:4:" in err and "at least 5s" in err


def test_every_source_failing_exits_1(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pass where nothing could be polled is a failure a cron job or a supervisor must
    see (docs/operations.md); one source working is enough for 0 (the test above)."""
    server.route("/broken.xml", b"oops", status=500)
    server.route("/gone.xml", b"gone", status=404)
    cfg = setup_config(tmp_path, server, ["/broken.xml", "/gone.xml"])
    assert main(["--config", str(cfg), "run", "--once"]) == 1
    assert "2 failed" in capsys.readouterr().err


def test_no_sources_is_said_with_the_place_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
    (tmp_path / "feeds.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert main(["--config", str(tmp_path), "run", "--once"]) == 0
    err = capsys.readouterr().err
    assert "feeds.yaml:1:1: warning: no sources" in err
