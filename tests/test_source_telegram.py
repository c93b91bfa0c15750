"""The telegram source kind (watcher/sources/telegram.py), tested as docs/architecture.md's
"add a source kind" example says a kind is: found by ``kinds()``, its feeds.yaml model, its
parser on a real saved preview page, and a poll on 127.0.0.1 that behaves like a feed's."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.servers import FeedServer
from watcher.cli import main
from watcher.config.feeds import parse_feeds
from watcher.errors import ConfigError
from watcher.fetch import Fetcher
from watcher.pipeline import Pipeline
from watcher.rules import load_rules
from watcher.sources import kinds
from watcher.sources.telegram import KIND, TelegramSource, parse_preview
from watcher.store import Database
from watcher.store.sources import get_state

ROOT = DATA.parent.parent
PAGE = DATA / "sources" / "telegram" / "clashreport.html"
NOW = datetime(2026, 8, 24, 8, 0, tzinfo=UTC).timestamp()  # the page's posts are of that morning
KEYWORDS = """version: 1
topics:
  - id: logistics
    title: Strikes on logistics hubs
    threshold: 2
    terms:
      Ozon: 2
"""
# (post id, title begins, in its text, not in its text)
POSTS = [
    (93429, "U.S. Treasury Secretary Scott Bessent says", "Source: FT", "views"),
    (93430, "Ukrainian drones targeted three Ozon", "Wildberries", "VIEW IN TELEGRAM"),
    (93433, "Britain will support Ukraine’s long-range", "SCALP", "Andy Burnham"),  # a reply
    (93434, "WATCH: US strategic bombers flew so low", "America's 250th", "0:46"),
    (93436, "Former Colombian President Petro:", "Gaza genocide", "Clash Report"),
    (93437, "Former NBA player Enes Kanter", '"identifies as a woman"', "&quot;"),
]


def test_the_architecture_example_is_this_change() -> None:
    """docs/architecture.md's "add a source kind" lists the files of this kind: they exist,
    and the kind is one new module (no other module of watcher/ names it)."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = doc.split("### Worked example: add a source kind", 1)[1]
    listed = re.findall(r"^    ([\w/.-]+\.\w+)", section, flags=re.M)
    assert {"watcher/sources/telegram.py", "tests/test_source_telegram.py"} <= set(listed)
    assert all((ROOT / path).exists() for path in listed), listed
    naming = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "watcher").rglob("*.py")
        if re.search(
            r"TelegramSource|TelegramKind|sources\.telegram|parse_preview", p.read_text("utf-8")
        )
    ]
    assert naming == ["watcher/sources/telegram.py"], naming


def test_the_feeds_md_example_loads() -> None:
    doc = (ROOT / "docs" / "feeds.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if "telegram" in b]
    (source,) = parse_feeds("sources:\n" + example, "docs/feeds.md").sources
    assert isinstance(source, TelegramSource) and source.url == "https://t.me/s/sudpress53"


def test_the_kind_is_found_by_its_module() -> None:
    assert kinds()["telegram"] is KIND and KIND.config is TelegramSource


def test_each_post_with_text_is_an_item_linking_to_the_post() -> None:
    parsed = parse_preview(PAGE.read_bytes(), {}, "clash", "en", "ClashReport")
    assert not parsed.bozo and parsed.skipped == 0
    assert [i.url for i in parsed.items] == [f"https://t.me/ClashReport/{p[0]}" for p in POSTS]
    assert parsed.items[0].published == datetime(2026, 8, 24, 3, 46, 52, tzinfo=UTC)
    for item, (_, title, present, absent) in zip(parsed.items, POSTS, strict=True):
        assert item.title.startswith(title) and item.guid == item.url
        assert present in item.summary and absent not in item.summary, item.summary
    # an album's caption sits in two nested text <div>s: it is read once
    assert parsed.items[1].summary.count("Ukrainian drones") == 1


@pytest.mark.parametrize(
    ("fields", "url"),
    [
        ("channel: ClashReport", "https://t.me/s/ClashReport"),
        ("channel: '@ClashReport'", "https://t.me/s/ClashReport"),
        ("channel: https://t.me/s/ClashReport", "https://t.me/s/ClashReport"),
        ("url: https://t.me/ClashReport", "https://t.me/s/ClashReport"),
        ("url: t.me/s/ClashReport", "https://t.me/s/ClashReport"),
        ("url: http://127.0.0.1:8080/s/ClashReport", "http://127.0.0.1:8080/s/ClashReport"),
    ],
)
def test_a_channel_is_named_or_linked(fields: str, url: str) -> None:
    (source,) = parse_feeds(f"sources:\n  - id: c\n    type: telegram\n    {fields}\n").sources
    assert isinstance(source, TelegramSource)
    assert (source.channel, source.url) == ("ClashReport", url)


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ("", ":2:", "needs 'channel: NAME'"),
        ("    channel: ab\n", ":4:", "5-32 letters"),
        ("    channel: Memorial\n    url: https://t.me/other\n", ":2:", "different channels"),
    ],
)
def test_a_bad_channel_says_where(fields: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_feeds(f"sources:\n  - id: c\n    type: telegram\n{fields}", "feeds.yaml")
    shown = "\n".join(str(p) for p in info.value.problems)
    assert f"feeds.yaml{where}" in shown and message in shown, shown


async def test_a_channel_polls_like_a_feed(memdb: Database, tmp_path: Path) -> None:
    """Items and an alert, then a conditional GET (304), then a failure with back-off, then a
    page that is no channel's preview: each as for a feed."""
    (tmp_path / "keywords.yaml").write_text(KEYWORDS, encoding="utf-8")
    rules = load_rules(tmp_path / "keywords.yaml")
    async with FeedServer() as srv, Fetcher() as fetcher:
        srv.serve_file("/s/ClashReport", PAGE, content_type="text/html; charset=utf-8")
        source = TelegramSource(id="clash", url=srv.url("/s/ClashReport"))
        pipeline = Pipeline(
            db=memdb, fetcher=fetcher, scorer=lambda: rules, notifiers=lambda: [],
            clock=lambda: NOW,
        )  # fmt: skip
        first = await pipeline.poll(source)
        assert first.ok and (first.items, first.new_items) == (6, 6)
        assert [a.url for a in first.alerts] == ["https://t.me/ClashReport/93430"]
        again = await pipeline.poll(source)
        assert again.ok and again.status == "not_modified"
        asked = srv.requests[-1].headers
        assert asked.get("if-none-match") and "text/html" in asked.get("accept", "")
        srv.route("/s/ClashReport", b"busy", status=503, content_type="text/plain")
        failed = await pipeline.poll(source)
        assert not failed.ok and failed.failures == 1 and failed.next_check_at > NOW + 30
        srv.route("/s/ClashReport", b"<html><body><div class='tgme_page'>Join</div></body>",
                  content_type="text/html")  # fmt: skip
        not_a_channel = await pipeline.poll(source)
    assert not_a_channel.error_kind == "nothing usable"
    assert "not the web preview of a public channel" in not_a_channel.error
    state = get_state(memdb, "clash")
    assert state is not None and state.consecutive_failures == 2


def test_sources_test_and_opml_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keywords.yaml").write_text(KEYWORDS, encoding="utf-8")
    with FeedServer() as srv:
        srv.serve_file("/s/ClashReport", PAGE, content_type="text/html; charset=utf-8")
        (tmp_path / "feeds.yaml").write_text(
            f"sources:\n  - id: clash\n    type: telegram\n    url: {srv.url('/s/ClashReport')}\n",
            encoding="utf-8",
        )
        assert main(["--config", str(tmp_path), "sources", "test", "clash"]) == 0
    out = capsys.readouterr().out
    assert "clash (telegram" in out and ": 6 items" in out
    assert "https://t.me/ClashReport/93430" in out and "ALERT logistics" in out
    assert main(["--config", str(tmp_path), "feeds", "export"]) == 0
    out = capsys.readouterr().out
    assert '<outline type="link"' in out and f'url="{srv.url("/s/ClashReport")}"' in out
