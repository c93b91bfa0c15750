"""feeds.yaml validation (file:line messages), defaults, durations, OPML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.cli import main
from watcher.config.feeds import load_feeds, parse_feeds
from watcher.config.opml import read_opml, write_opml
from watcher.durations import parse_duration
from watcher.errors import ConfigError

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("sources:\n  - id: a\n    url: http://x/\n    interval: 2s\n", ":4:", "at least 5s"),
        ("sources:\n  - id: a\n    url: ftp://x/\n", ":3:", "http://"),
        ("sources:\n  - id: a\n    url: http://x/\n    intervl: 5m\n", ":4:", "did you mean"),
        (
            "sources:\n  - id: a\n    url: http://x/\n  - id: a\n    url: http://y/\n",
            ":4:",
            "duplicate",
        ),
        ("sources:\n  - id: p\n    url: http://x/\n    type: page\n", ":2:", "selectors"),
        (
            "sources:\n  - id: p\n    url: http://x/\n    type: page\n"
            "    selectors:\n      item: li\n      link: 'ul >> li'\n",
            ":7:",
            "invalid CSS selector",
        ),
        ("sources:\n  - id: p\n    url: http://x/\n    type: pgae\n", ":4:", "did you mean 'page'"),
        ("defaults:\n  interval: soon\nsources: []\n", ":2:", "not a duration"),
    ],
)
def test_invalid_feeds_say_where(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_feeds(text, "feeds.yaml")
    shown = "\n".join(str(p) for p in info.value.problems)
    assert f"feeds.yaml{where}" in shown and message in shown


def test_defaults_apply_and_source_overrides() -> None:
    cfg = parse_feeds(
        "defaults:\n  interval: 90s\n  language: ru\n  backfill: 2h\nsources:\n"
        "  - id: a\n    url: http://x/\n  - id: b\n    url: http://y/\n    interval: 1h\n"
        "    enabled: false\n"
    )
    a, b = cfg.sources
    assert (a.interval, a.language, a.backfill, a.type) == (90.0, "ru", 7200.0, "feed")
    assert b.interval == 3600.0 and [s.id for s in cfg.enabled_sources] == ["a"]
    assert (a.fulltext, a.allow_private) == (False, False)


@pytest.mark.parametrize(
    ("text", "bare", "seconds"),
    [
        ("3", "h", 10800.0),
        ("3", "s", 3.0),
        (3, "h", 10800.0),
        ("30M", "h", 1800.0),
        ("1.5d", "s", 129600.0),
    ],
)
def test_a_bare_number_is_in_the_unit_the_caller_names(
    text: object, bare: str, seconds: float
) -> None:
    assert parse_duration(text, bare=bare) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["soon", "1 week", "", "-3h", "3x"])
def test_an_unreadable_duration_says_what_to_write(bad: str) -> None:
    with pytest.raises(ValueError, match=r"use e\.g\. 90s"):
        parse_duration(bad)


def test_durations() -> None:
    assert [parse_duration(v) for v in ("90s", "10m", "1h", "2d", 30)] == [
        90,
        600,
        3600,
        172800,
        30,
    ]


def test_shipped_feeds_yaml_is_valid() -> None:
    cfg = load_feeds(ROOT / "feeds.yaml")
    langs = {s.language for s in cfg.sources}
    assert {"en", "ko", "ru"} <= langs and len(cfg.sources) >= 30
    assert any("news.google.com" in s.url and "hl=ko" in s.url for s in cfg.sources)


def test_opml_round_trip_and_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_feeds(ROOT / "feeds.yaml")
    opml = write_opml(cfg.sources)
    back = read_opml(opml)
    assert [f.url for f in back] == [s.url for s in cfg.sources]
    (tmp_path / "feeds.yaml").write_text('sources:\n  - id: one\n    url: "http://a.example/f"\n')
    (tmp_path / "in.opml").write_text(
        '<opml version="2.0"><body><outline text="Group">'
        '<outline text="A" xmlUrl="http://a.example/f"/>'
        '<outline text="B &amp; C" xmlUrl="http://b.example/rss" language="ko"/>'
        "</outline></body></opml>"
    )
    assert main(["--config", str(tmp_path), "feeds", "import", str(tmp_path / "in.opml")]) == 0
    loaded = load_feeds(tmp_path / "feeds.yaml")
    assert [(s.id, s.url, s.language) for s in loaded.sources] == [
        ("one", "http://a.example/f", ""),
        ("b-c", "http://b.example/rss", "ko"),
    ]


def test_bad_opml_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "feeds.yaml").write_text("sources: []\n")
    (tmp_path / "bad.opml").write_text("<opml><body><outline</body>")
    assert main(["--config", str(tmp_path), "feeds", "import", str(tmp_path / "bad.opml")]) == 2
    assert "bad.opml:1:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "where"), [("", ":1:1:"), ("retention: 30d\nsources: []\n", ":2:1:")]
)
def test_check_says_when_there_is_no_source(
    text: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "feeds.yaml").write_text(text)
    (tmp_path / "keywords.yaml").write_text((ROOT / "keywords.yaml").read_text())
    assert main(["--config", str(tmp_path), "check"]) == 0
    assert f"feeds.yaml{where} warning: no sources" in capsys.readouterr().out


def test_check_refuses_a_bad_selector_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "feeds.yaml").write_text(
        "sources:\n  - id: ngo\n    url: http://x/\n    type: page\n"
        "    selectors: {item: 'ul.news li', date: 'span..date'}\n"
    )
    (tmp_path / "keywords.yaml").write_text((ROOT / "keywords.yaml").read_text())
    assert main(["--config", str(tmp_path), "check"]) == 2
    err = capsys.readouterr().err
    assert "feeds.yaml:5:" in err and "invalid CSS selector 'span..date'" in err


def test_opml_exports_a_page_as_a_link_not_a_feed() -> None:
    cfg = parse_feeds(
        "sources:\n  - id: f\n    url: http://a.example/rss\n"
        "  - id: p\n    name: NGO news\n    url: http://b.example/news/\n    type: page\n"
        "    selectors: {item: li}\n"
    )
    opml = write_opml(cfg.sources)
    assert '<outline type="rss" text="f" title="f" xmlUrl="http://a.example/rss"/>' in opml
    assert (
        '<outline type="link" text="NGO news" title="NGO news" url="http://b.example/news/"/>'
        in opml
    )
    assert [f.url for f in read_opml(opml)] == ["http://a.example/rss"]  # feed readers' view
