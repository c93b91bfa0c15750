"""Property tests over every formatter with hostile input (hypothesis): markup in titles and
links, control and bidi characters, huge fields. None raises; each output is bounded, cleaned,
escaped, and links only http(s)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from watcher.models import LANGUAGES, Alert, Match
from watcher.notify.base import Summary
from watcher.notify.console import format_alert as console_alert
from watcher.notify.console import format_summary as console_summary
from watcher.notify.email.render import render_digest
from watcher.notify.telegram.format import (
    MAX_LENGTH,
    Reader,
    format_alert,
    format_recent,
    format_summary,
)
from watcher.notify.text import plain_alert, plain_summary
from watcher.notify.webhook import payload
from watcher.store.outbox import OutboxRow

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "webhook.schema.json").read_text())
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE = (
    "<>&\"'[]/\\:;=`*_~#|{}()"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\x00\x07\x1b\x85\u2028\ufeff"
)
text = st.text(
    alphabet=st.one_of(st.sampled_from(HOSTILE), st.characters(codec="utf-8")), max_size=300
)
huge = st.builds(lambda s, n: s * n, text, st.integers(1, 400))
urls = st.one_of(
    st.sampled_from(
        ["javascript:alert(1)", "JaVaScRiPt:x", "data:text/html,<b>", "https://e.org/a[1]\"<>",
         "http://e.org/\u202eexe", "ftp://e.org/x", "//e.org/x", ""]
    ),
    st.builds(lambda t: "https://example.org/" + t, text),
    text,
)  # fmt: skip
ROW = OutboxRow(1, 1, "webhook", "t", "send", 0)


@st.composite
def alerts(draw: st.DrawFn) -> Alert:
    snippet = draw(st.one_of(text, huge))
    matched = draw(text)
    match = Match("t*", matched, "summary", 0, len(matched), 1.0, snippet)
    return Alert(
        id=draw(st.integers(1, 10**6)),
        item_id=1,
        source_id="src",
        source_name=draw(text),
        title=draw(st.one_of(text, huge)),
        url=draw(urls),
        published=datetime(2026, 11, 22, tzinfo=UTC),
        topics=("repatriation",),
        score=7.0,
        matches=(match,),
        created_at=datetime(2026, 11, 22, tzinfo=UTC),
        summary=draw(st.one_of(text, huge)),
        also_reported_by=tuple(draw(st.lists(text, max_size=3))),
        model_note=draw(st.one_of(st.just(""), text, huge)),
        story_additions=tuple(draw(st.lists(text, max_size=3))),
    )


class Tags(HTMLParser):
    """Counts open and close tags and collects hrefs: balanced markup, safe links."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("b", "i", "a"):
            self.depth += 1
        self.hrefs += [v or "" for k, v in attrs if k == "href"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("b", "i", "a"):
            self.depth -= 1


def check_html(html: str, limit: int | None = None) -> None:
    assert not UNSAFE.search(html)
    if limit is not None:
        assert len(html) <= limit
    tags = Tags()
    tags.feed(html)
    tags.close()
    assert tags.depth == 0
    assert all(h.lower().startswith(("http://", "https://", "mailto:")) for h in tags.hrefs)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


readers = st.builds(
    Reader,
    lang=st.sampled_from(LANGUAGES),
    tz=st.one_of(st.sampled_from(["", "Asia/Seoul", "Asia/Vladivostok", "Mars/Olympus"]), text),
    details=st.booleans(),
    titles=st.dictionaries(st.just("repatriation"), st.one_of(text, huge), max_size=1),
)


@FAST
@given(alerts(), readers)
def test_telegram_alert(alert: Alert, reader: Reader) -> None:
    check_html(format_alert(alert), MAX_LENGTH)
    check_html(format_alert(alert, reader), MAX_LENGTH)


@FAST
@given(st.lists(alerts(), min_size=2, max_size=40), readers)
def test_telegram_summary_and_recent(batch: list[Alert], reader: Reader) -> None:
    check_html(format_summary(Summary(tuple(batch)), reader), MAX_LENGTH)
    check_html(format_recent(batch, reader), MAX_LENGTH)


@FAST
@given(alerts(), st.lists(alerts(), min_size=2, max_size=10))
def test_console(alert: Alert, batch: list[Alert]) -> None:
    screen = Console(file=io.StringIO(), width=100, color_system=None)
    screen.print(console_alert(alert))
    screen.print(console_summary(Summary(tuple(batch))))
    out = screen.file.getvalue()  # type: ignore[attr-defined]
    assert not UNSAFE.search(out)
    assert len(out) < 12_000


@FAST
@given(alerts(), st.lists(alerts(), min_size=2, max_size=40))
def test_plain_text_for_apprise(alert: Alert, batch: list[Alert]) -> None:
    for title, body in (plain_alert(alert), plain_summary(batch, "src")):
        assert not UNSAFE.search(title + body)
        assert len(title) <= 300 and len(body) <= 4_000 + 1_000


@FAST
@given(alerts(), st.lists(alerts(), min_size=2, max_size=5))
def test_webhook_payload(alert: Alert, batch: list[Alert]) -> None:
    for body in (payload(ROW, alert, None), payload(ROW, Summary(tuple(batch)), None)):
        jsonschema.validate(body, SCHEMA)
        json.dumps(body, ensure_ascii=False)
        for a in [body.get("alert"), *body.get("alerts", [])]:
            if a is not None:
                shown = [a["title"], a["summary"], *a["story"]["also_reported_by"]]
                assert not UNSAFE.search("".join(shown))


@FAST
@given(st.lists(alerts(), min_size=1, max_size=5), urls, st.sampled_from(LANGUAGES))
def test_email_digest(batch: list[Alert], archived: str, lang: str) -> None:
    links = {a.id: archived for a in batch}
    digest = render_digest(batch, day=date(2026, 11, 22), archived=links, lang=lang)
    check_html(digest.html)
    assert not UNSAFE.search(digest.text)
    assert len(digest.html) < 20_000 * len(batch) and len(digest.text) < 8_000 * len(batch)
