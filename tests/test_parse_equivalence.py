"""fastfeedparser and feedparser give the same items on every fixture feed that takes the fast
path; the few legitimate differences are listed, with reasons, in parser_differences.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.test_parse_fixtures import FEEDS, FIXTURES, fixture_headers
from watcher.errors import FetchError
from watcher.parse import ParsedFeed, parse_feed

FIELDS = ("guid", "url", "title", "summary", "content", "published", "language", "authors")
KNOWN: dict[str, dict[str, Any]] = {
    case["file"]: case
    for case in YAML(typ="safe").load(
        (FEEDS / "parser_differences.yaml").read_text(encoding="utf-8")
    )
}


def fast_path(path: Path) -> ParsedFeed | None:
    """The result of parse_feed when it uses the fast parser for ``path``, else None."""
    body = path.read_bytes()
    try:
        parsed = parse_feed(body, headers=fixture_headers(body), source_id="s")
    except FetchError:
        return None
    return parsed if parsed.parser == "fast" else None


def differences(path: Path) -> set[str]:
    """The fields in which the two parsers' items differ ("count", "feedparser_fails")."""
    fast = fast_path(path)
    assert fast is not None
    body = path.read_bytes()
    try:
        ref = parse_feed(body, headers=fixture_headers(body), source_id="s", parser="feedparser")
    except FetchError:
        return {"feedparser_fails"}
    if len(fast.items) != len(ref.items):
        return {"count"}
    return {
        name
        for a, b in zip(fast.items, ref.items, strict=True)
        for name in FIELDS
        if getattr(a, name) != getattr(b, name)
    }


FAST = [p for p in FIXTURES if fast_path(p) is not None]


def test_most_real_feeds_take_the_fast_path() -> None:
    real = [p for p in FAST if "real" in p.parts]
    assert len(real) >= 30, [p.name for p in real]
    assert len(FAST) >= 90


@pytest.mark.parametrize("path", FAST, ids=lambda p: str(p.relative_to(FEEDS)))
def test_fast_and_reference_parsers_agree(path: Path) -> None:
    rel = str(path.relative_to(FEEDS))
    found = differences(path)
    expected = set(KNOWN[rel]["fields"]) if rel in KNOWN else set()
    assert found == expected, f"{rel}: differ in {sorted(found)}, documented {sorted(expected)}"


def test_every_documented_difference_is_a_fast_path_fixture() -> None:
    fast = {str(p.relative_to(FEEDS)) for p in FAST}
    assert set(KNOWN) <= fast
