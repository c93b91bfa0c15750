"""Every fixture feed (real and feedparser's corpus) parses or fails with a clear FetchError.

Expectations on specific real feeds (encodings, languages, dates, links) are a table:
``tests/data/feeds/expectations.yaml``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from watcher.errors import FetchError, FetchErrorKind
from watcher.models import Item
from watcher.parse import ParsedFeed, parse_feed

FEEDS = Path(__file__).parent / "data" / "feeds"
FIXTURES = sorted(
    p for p in FEEDS.rglob("*") if p.is_file() and p.suffix not in (".txt", ".md", ".yaml")
)
EXPECTATIONS: list[dict[str, Any]] = YAML(typ="safe").load(
    (FEEDS / "expectations.yaml").read_text(encoding="utf-8")
)


def fixture_headers(body: bytes) -> dict[str, str]:
    """The ``Header:`` lines of a feedparser test case (its HTTP response headers)."""
    text = body[:4000].replace(b"\x00", b"").decode("latin-1")
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("Header:"):
            name, _, value = line[len("Header:") :].strip().partition(":")
            headers[name.strip()] = value.strip()
    return headers


def parse_fixture(path: Path, **kwargs: Any) -> ParsedFeed:
    body = path.read_bytes()
    return parse_feed(body, headers=fixture_headers(body), source_id=path.stem, **kwargs)


def test_fixture_corpus_is_complete() -> None:
    """The whole shared corpus was copied (../shared/fixtures/feeds: 44 real, 372 feedparser)."""
    assert len([p for p in FIXTURES if "real" in p.parts]) >= 44
    assert len([p for p in FIXTURES if "feedparser" in p.parts]) >= 372


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(FEEDS)))
def test_every_fixture_parses_or_fails_clearly(path: Path) -> None:
    try:
        parsed = parse_fixture(path)
    except FetchError as exc:
        assert exc.kind in (FetchErrorKind.PARSE_ERROR, FetchErrorKind.EMPTY)
        assert exc.detail  # says why
        return
    for item in parsed.items:
        assert isinstance(item, Item)
        assert item.guid and item.source_id == path.stem
        assert item.title or item.url or item.summary
        assert item.published is None or item.published.tzinfo is UTC
        assert "<" not in item.title or "&lt;" in path.read_text("latin-1")
        assert "  " not in item.title + item.summary + item.content
    if not parsed.items:  # only a well-formed feed may have no entries without an error
        assert not parsed.bozo


def _expectation_ids(case: dict[str, Any]) -> str:
    return f"{case['file']}:{case.get('why', '')[:30]}"


@pytest.mark.parametrize("case", EXPECTATIONS, ids=_expectation_ids)
def test_fixture_expectations(case: dict[str, Any]) -> None:
    path = FEEDS / case["file"]
    headers = case.get("headers") or fixture_headers(path.read_bytes())
    kwargs: dict[str, Any] = {"language": case.get("language", "")}
    if "error" in case:
        with pytest.raises(FetchError) as info:
            parse_feed(path.read_bytes(), headers=headers, source_id="s", **kwargs)
        assert info.value.kind.name == case["error"]
        return
    parsed = parse_feed(path.read_bytes(), headers=headers, source_id="s", **kwargs)
    if "count" in case:
        assert len(parsed.items) == case["count"]
    if "parser" in case:
        assert parsed.parser == case["parser"]
    if "bozo" in case:
        assert parsed.bozo is case["bozo"]
    if "feed_title" in case:
        assert parsed.title == case["feed_title"]
    for want in case.get("items", []):
        item = parsed.items[want.pop("index", 0)]
        for name, value in want.items():
            got = getattr(item, name)
            if name == "published":
                value = None if value is None else datetime.fromisoformat(value)
            elif name == "authors":
                value = tuple(value)
            elif name in ("summary", "content") and isinstance(value, str):
                assert value in got, (name, got[:200])
                continue
            assert got == value, (name, got)
