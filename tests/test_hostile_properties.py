"""Property tests with hostile input (issue 11): the feed parsers, the HTML-to-text step, the
normaliser, the scorer and the two configuration loaders, given nesting, entities, huge
fields, control and bidi characters, YAML tags, anchors and aliases. No exception escapes
but the documented ones (FetchError, ConfigError with places), the time stays bounded (the
hypothesis deadlines, generous on a loaded machine) and the results are sane.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from html import escape
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from watcher.config.feeds import parse_feeds
from watcher.errors import ConfigError, FetchError, FetchErrorKind
from watcher.models import FIELDS, Item
from watcher.parse import html_to_text, parse_feed
from watcher.parse.text import _BLOCK, _DROP_TAGS, collapse_whitespace
from watcher.rules import load_rules
from watcher.rules.normalize import normalize
from watcher.rules.spec import parse_spec

ROOT = Path(__file__).parent.parent
RULES = load_rules(ROOT / "keywords.yaml")
TERMS = sorted({p.raw.rstrip("*") for p in RULES._c.patterns})
HOSTILE = settings(
    deadline=timedelta(seconds=5),
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Characters that have hurt: C0/C1 controls, bidi overrides and isolates, zero-width ones,
# a lone surrogate's neighbours, NUL, replacement character, combining marks, CJK.
ODD = "\x00\x01\x08\x0b\x1b\x7f\x85\x9f\u202e\u2066\u2069\u200e\u200b\ufeff\ufffd\u0301\ufffe북한"
ENTITIES = ["&nbsp;", "&rsquo;", "&amp;", "&lt;", "&#0;", "&#146;", "&#xD800;", "&#x110000;",
            "&foo;", "&AMP;", "&", "&#", "&#x;", "&nbsp"]  # fmt: skip
TAGS = ["<div>", "</div>", "<p>", "</p>", "<b a=1>", "</b>", "<i>", "<a href='x'>", "</a>",
        "<br>", "<li>", "<table>", "<td>", "<tr>", "</table>", "<svg>", "</svg>", "<object>",
        "<select>", "<option>", "<template>", "<script>", "</script>", "<style>", "<title>",
        "</title>", "<textarea>", "<!--", "-->", "<![CDATA[", "]]>", "<", ">", "<div a='>'>",
        "<x-y>", "</q>", "<math>", "<foreignObject>", "<font color=red>", "<noscript>"]  # fmt: skip


def chunks(*pieces: list[str]) -> st.SearchStrategy[str]:
    """Text made of hostile pieces, plain words and odd characters, sometimes repeated."""
    piece = st.one_of(
        st.sampled_from([p for group in pieces for p in group]),
        st.text(alphabet=ODD + "abc <>&;'\"=/", max_size=8),
        st.sampled_from(TERMS),
    )
    repeated = st.tuples(piece, st.integers(1, 3000)).map(lambda t: t[0] * t[1])
    return st.lists(st.one_of(piece, repeated), max_size=30).map("".join)


def nested(depth: int, tag: str, inner: str) -> str:
    return f"<{tag}>" * depth + inner + f"</{tag}>" * depth


markup = st.one_of(
    chunks(TAGS, ENTITIES),
    st.builds(
        nested,
        st.integers(1, 60_000),
        st.sampled_from(["div", "b", "p", "li", "span", "pre", "table", "object", "svg"]),
        chunks(TAGS, ENTITIES),
    ),
)


# -- HTML to text ------------------------------------------------------------------------------
# The inputs that hurt before the fixes (issue 11), always tried first.
NESTED = nested(100_000, "div", "North Korean defectors deported")
REOPENED = "<div>" + '<b a="1"><i a="2"><u a="3">' * 300 + "</div>" + "<div>x</div>" * 20_000
STUFFED = "police court prosecutor arrested defector " * 2400
TAGGED = 'version: 1\ntopics: !!python/object/apply:os.system ["echo hi"]\n'
BOMB = (
    "".join(
        f"{k}: &{k} [{', '.join(['*' + p] * 10) if p else ', '.join(['x'] * 10)}]\n"
        for p, k in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
    )
    + "topics: *g\n"
)


@HOSTILE
@given(markup)
@example(NESTED)
@example(REOPENED)
def test_html_to_text_is_bounded_and_sane(html: str) -> None:
    try:
        text = html_to_text(html, "the field")
    except FetchError as exc:  # markup that would take the parser minutes: said, not parsed
        assert exc.kind is FetchErrorKind.MARKUP and "the field" in exc.detail
        return
    assert isinstance(text, str)
    assert len(text) <= len(html) + html.count("<")  # a block tag may become a space
    assert text == collapse_whitespace(text)  # no control or invisible characters, one line
    assert "\x00" not in text
    if not any(c in html for c in "\x00\ufffd&"):  # no replacement character made up
        assert "\ufffd" not in text


def _lexbor_text(html: str) -> str:
    """What html_to_text gave before it flattened markup (lexbor on the whole fragment)."""
    tree = LexborHTMLParser(_BLOCK.sub(" <", html))
    tree.strip_tags(_DROP_TAGS)
    return collapse_whitespace((tree.text(separator="") if tree.root is not None else "") or "")


ORDINARY = ["<div>", "</div>", "<p>", "</p>", "<b>", "</b>", "<i class='x'>", "</i>", "<br>",
            "<a href='https://x/?a=1&amp;b=2' title='a > b'>", "</a>", "<ul>", "<li>", "</li>",
            "</ul>", "<span>", "</span>", "<em>", "</em>", "<img src=x alt='y'>", "<h2>",
            "</h2>", "<script>var a = '<div>' + 1 < 2;</script>", "<style>p{}</style>",
            "<!-- note -->", "<table><tr><td>", "</td><td>", "</td></tr></table>",
            "<blockquote>", "</blockquote>", "<strong>", "</strong>"]  # fmt: skip


@HOSTILE
@given(st.lists(st.one_of(st.sampled_from(ORDINARY), st.text("abc ,.&;\u00a0북", max_size=6)),
                min_size=1, max_size=60).map("".join).filter(lambda h: len(h) >= 1500 or
                "<script" in h or "<style" in h or "<!--" in h))  # fmt: skip
def test_flattened_markup_reads_as_lexbor_read_it(html: str) -> None:
    """Ordinary markup (the parser's path): the same text as lexbor on the whole fragment."""
    assert html_to_text(html) == _lexbor_text(html)


# -- feed parsers ------------------------------------------------------------------------------
def feed(title: str, summary: str, raw: bool, atom: bool) -> bytes:
    s = summary if raw else escape(summary, quote=False)
    if atom:
        body = (
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>1</id>'
            f"<title>{title}</title><link href='https://x.example/1'/>"
            f"<summary type='html'>{s}</summary></entry></feed>"
        )
    else:
        body = (
            '<rss version="2.0"><channel><title>t</title><item><guid>1</guid>'
            f"<title>{title}</title><link>https://x.example/1</link>"
            f"<description>{s}</description></item></channel></rss>"
        )
    return ('<?xml version="1.0" encoding="utf-8"?>' + body).encode("utf-8", "surrogatepass")


@HOSTILE
@given(chunks(ENTITIES, ["<b>", "]]>", "<![CDATA[", "&"]), markup, st.booleans(), st.booleans())
def test_feed_parsers_raise_only_fetch_errors(title: str, summary: str, raw: bool, atom: bool):
    body = feed(title, summary, raw, atom)
    try:
        parsed = parse_feed(body, headers={}, source_id="s")
    except FetchError as exc:
        assert exc.detail or exc.kind is not FetchErrorKind.OTHER
        return
    for item in parsed.items:
        for name in ("title", "summary", "content", "guid", "url"):
            value = getattr(item, name)
            assert isinstance(value, str) and "\x00" not in value, name
        assert len(item.title) <= len(body)


REFERENCES = ["&nbsp;", "&rsquo;", "&eacute;", "&lang;", "&AMP;", "&foo;", "&#146;", "&#8217;",
              "&#x2014;", "&#1;", "&amp;", "&lt;b&gt;"]  # fmt: skip


@HOSTILE
@given(
    st.lists(
        st.one_of(
            st.sampled_from(REFERENCES), st.sampled_from(TERMS), st.text("ab ,.", max_size=5)
        ),
        min_size=1,
        max_size=20,
    ).map("".join)
)
@example("North&nbsp;Korea&rsquo;s defector deported")
def test_fast_parser_reads_titles_as_feedparser(title: str) -> None:
    """Nothing after an entity is lost ("North&nbsp;Korea" was "North")."""
    body = feed(title, "", raw=True, atom=False)
    ours = parse_feed(body, headers={}, source_id="s")
    ref = parse_feed(body, headers={}, source_id="s", parser="feedparser")
    assert [i.title for i in ours.items] == [i.title for i in ref.items]


# -- normaliser and scorer ---------------------------------------------------------------------
@HOSTILE
@given(st.one_of(st.text(max_size=3000), chunks(TAGS, ENTITIES)))
def test_normaliser_maps_back_inside_the_text(text: str) -> None:
    n = normalize(text)
    assert n.original == text
    for i in range(0, len(n.text), max(1, len(n.text) // 20)):
        a, b = n.span(i, i + 1)
        assert 0 <= a <= b <= len(text)


@HOSTILE
@given(chunks(TAGS, ENTITIES, [" deported ", " North Korea ", " China ", " 북한 "]))
@example(STUFFED)
def test_scorer_is_bounded_and_sane(text: str) -> None:
    item = Item(source_id="s", guid="g", url="", title=text[:300], summary=text, content=text)
    result = RULES.score(item)
    for topic in result.topics:
        assert math.isfinite(topic.score)
        for m in topic.matches:
            field = item.field_text(m.field) if m.field in FIELDS else ""
            assert 0 <= m.start <= m.end <= len(field), m


# -- configuration loaders ---------------------------------------------------------------------
SCALARS = ["x", "deport*", "'quoted'", '"a\\x01b"', "!!python/object/apply:os.system [x]",
           "!!str 5", "!foo bar", "&a x", "*a", "&b [*a, *a, *a, *a, *a, *a, *a, *a]",
           "*b", "[*b, *b, *b, *b, *b, *b, *b, *b]", "{a: 1", "[1, 2", "\u202eevil",
           "\u2066x\u2069", ":", "-", "? x", "|", ">", "%YAML 1.2", "---", "...", "null",
           "1e999", ".nan", "0x1F", "<<: *a", "{[a]: 1}"]  # fmt: skip
KEYS = ["version", "topics", "entities", "fields", "id", "title", "threshold", "terms", "veto",
        "near", "aliases", "sources", "url", "interval", "defaults", "selectors"]  # fmt: skip


@st.composite
def hostile_yaml(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 25))):
        indent = "  " * draw(st.integers(0, 4))
        key = draw(st.sampled_from(KEYS))
        value = draw(st.one_of(st.sampled_from(SCALARS), st.text(ODD + "ab: -[]{}&*!'\"#",
                                                                 max_size=12)))  # fmt: skip
        lines.append(f"{indent}{key}: {value}")
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):  # deep nesting or a huge scalar
        depth = draw(st.integers(10, 3000))
        text += draw(st.sampled_from(["topics: ", "sources: "])) + "[" * depth + "]" * depth + "\n"
    if draw(st.integers(0, 5)) == 0:
        text += "title: " + "x" * draw(st.integers(1000, 300_000)) + "\n"
    return text


_PLACE = re.compile(r"^(keywords|feeds)\.yaml(:\d+:\d+)?: ")


@HOSTILE
@given(hostile_yaml())
@example(TAGGED)
@example(BOMB)
def test_config_loaders_raise_only_config_errors_with_places(text: str) -> None:
    for load, name in ((parse_spec, "keywords.yaml"), (parse_feeds, "feeds.yaml")):
        try:
            load(text, name)  # type: ignore[operator]
        except ConfigError as exc:
            for problem in exc.problems:
                assert problem.file == name
                assert _PLACE.match(str(problem)), str(problem)
                if problem.message.startswith("YAML"):
                    assert problem.line >= 1, str(problem)  # a syntax problem has its place
