"""fastfeedparser and feedparser give the same items on every fixture feed that takes the fast
path; the few legitimate differences are listed, with reasons, in parser_differences.yaml."""

from __future__ import annotations

import html.entities
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.test_parse_fixtures import FEEDS, FIXTURES, fixture_headers
from watcher.errors import FetchError
from watcher.parse import ParsedFeed, parse_feed
from watcher.parse.feed import _unwrap_gzip, fast_path_bytes, trust_document_encoding

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


def fast_reading(path: Path) -> ParsedFeed | None:
    """The fast parser's reading of ``path`` whenever its bytes may go to it (also when
    parse_feed then prefers feedparser), or None when they never do."""
    body = _unwrap_gzip(path.read_bytes())
    headers = fixture_headers(body)
    lower = trust_document_encoding(body, {k.lower(): v for k, v in headers.items()})
    fast_body = fast_path_bytes(body, lower)
    if fast_body is None:
        return None
    try:
        return parse_feed(fast_body, headers=lower, source_id="s", parser="fast")
    except FetchError:
        return None


ELIGIBLE = [p for p in FIXTURES if fast_reading(p) is not None]


@pytest.mark.parametrize("path", ELIGIBLE, ids=lambda p: str(p.relative_to(FEEDS)))
def test_no_fixture_loses_text_in_the_fast_parser(path: Path) -> None:
    """Every fixture the fast parser may read: what it reads agrees with feedparser (or is a
    documented difference), or parse_feed does not use it (it found fewer items)."""
    rel = str(path.relative_to(FEEDS))
    fast = fast_reading(path)
    assert fast is not None
    body = path.read_bytes()
    try:
        ref = parse_feed(body, headers=fixture_headers(body), source_id="s", parser="feedparser")
    except FetchError:
        return  # feedparser reads nothing: nothing to lose (documented where fast is used)
    if len(fast.items) < len(ref.items):
        used = parse_feed(body, headers=fixture_headers(body), source_id="s")
        assert used.parser == "feedparser", f"{rel}: fast parser found fewer items and was used"
        return
    found = {
        name
        for a, b in zip(fast.items, ref.items, strict=False)
        for name in FIELDS
        if getattr(a, name) != getattr(b, name)
    } | ({"count"} if len(fast.items) != len(ref.items) else set())
    expected = set(KNOWN[rel]["fields"]) if rel in KNOWN else set()
    assert found <= expected, f"{rel}: differ in {sorted(found)}, documented {sorted(expected)}"


def _feed_of_titles(titles: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>http://example.org/{i}</link></item>"
        for i, t in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://example.org/</link>{items}</channel></rss>"
    ).encode()


ENTITY_NAMES = sorted(n for n in html.entities.html5 if n.endswith(";"))
NUMERIC = "&#0; &#1; &#9; &#31; &#127; &#128; &#146; &#x92; &#129; &#159; &#160; &#8217;"
NUMERIC += " &#x2019; &#xFFFD; &#x1F600; &#0000146;"


def test_both_parsers_read_every_html_entity_alike() -> None:
    """&nbsp;, &rsquo; and every other HTML name (undefined in XML) read as feedparser reads
    them: the fast parser used to keep only the text before the first one ("North")."""
    refs = [f"&{name}" for name in ENTITY_NAMES] + NUMERIC.split() + ["&foo;", "&AMP;", "&Amp;"]
    titles = [f"North{ref}Korea" for ref in refs]
    body = _feed_of_titles(titles)
    fast = parse_feed(body, headers={}, source_id="s")
    ref = parse_feed(body, headers={}, source_id="s", parser="feedparser")
    assert fast.parser == "fast"
    assert [i.title for i in fast.items] == [i.title for i in ref.items]
    assert fast.items[ENTITY_NAMES.index("nbsp;")].title == "North Korea"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("North&nbsp;Korea&rsquo;s defector deported", "North Korea’s defector deported"),
        ("<![CDATA[North&nbsp;Korea]]>", "North Korea"),  # CDATA: text, decoded as HTML later
        ("North&#xD800;Korea", "North\ufffdKorea"),  # feedparser fails on the whole feed
        ("North&#x110000;Korea", "North\ufffdKorea"),
        ("North&#99999999999;Korea", "North\ufffdKorea"),
    ],
)
def test_fast_parser_keeps_text_after_odd_references(title: str, expected: str) -> None:
    parsed = parse_feed(_feed_of_titles([title]), headers={}, source_id="s")
    assert parsed.parser == "fast"
    assert parsed.items[0].title == expected


def test_entities_a_doctype_declares_go_to_feedparser() -> None:
    body = _feed_of_titles(["North&who;Korea"]).replace(
        b"<rss", b'<!DOCTYPE rss [<!ENTITY who "-the-">]><rss', 1
    )
    parsed = parse_feed(body, headers={}, source_id="s")
    assert parsed.parser == "feedparser"
    assert parsed.items[0].title == "North-the-Korea"
