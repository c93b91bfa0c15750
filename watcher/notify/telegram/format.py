"""Telegram message formatting (pure): HTML parse mode, everything escaped, at most 4096 chars.

An alert reads, top to bottom: the title as a link; the source and the time (in the reader's
time zone); the topic titles in the reader's language; for a possible match of the relevance
model, a line saying so and why; the one snippet that best shows why it alerted, matched words
in bold; the score and matched terms for admins and chats that asked (/details); and last, who
else reported the story. Every label comes from ``watcher.notify.i18n``.

The message is built from blocks; blocks that do not fit are dropped whole and text is cut on a
word boundary before its markup is added, so tags are always balanced and entities never
split. Feed text is cleaned first (``watcher.notify.text``); only http(s) links become an href.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watcher.display import cut, display_text, one_line, safe_link
from watcher.models import Alert
from watcher.notify.base import Summary
from watcher.notify.i18n import DEFAULT, say
from watcher.notify.text import (
    MAX_MODEL_NOTE,
    best_snippet,
    bold_segments,
    bold_terms,
    possible_topics,
)
from watcher.stories.policy import additions_line, also_reported_line

MAX_LENGTH = 4096
MAX_ALSO_REPORTED = 600  # characters of the "also reported by" line at most
MAX_DETAILS = 800  # of the score, matched terms and model note (admins)
_TOPIC_ADDED = re.compile(r"^topic ([a-z][a-z0-9_]*) (\(.*\))$")  # watcher.stories.policy


@dataclass(frozen=True)
class Reader:
    """Who reads a message: language, time zone ("" = UTC), whether they see the score and
    matched terms, and the topic titles in their language (id -> title)."""

    lang: str = DEFAULT
    tz: str = ""
    details: bool = False
    titles: Mapping[str, str] = field(default_factory=dict)

    def topic(self, topic: str) -> str:
        return one_line(self.titles.get(topic) or topic.replace("_", " "), 200)


def _e(text: str) -> str:
    return escape(text, quote=False)  # text, not attributes: quotes need no escape


def linked(url: str, html: str) -> str:
    """``html`` as a link to ``url`` when that is an http(s) link, else as it is."""
    link = safe_link(url)
    return f'<a href="{escape(link, quote=True)}">{html}</a>' if link else html


def localized(moment: datetime, tz: str) -> tuple[datetime, str]:
    """``moment`` in the zone ``tz`` ("" or unknown: UTC), and what to call that zone."""
    try:
        zone = ZoneInfo(tz) if tz else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone, tz = UTC, ""
    local = moment.astimezone(zone)
    name = local.tzname() or "UTC"
    if name[0] in "+-":  # a zone without an abbreviation ("+10"): its name says more
        name = tz
    return local, name


def local_time(moment: datetime, tz: str) -> str:
    """ "2026-11-22 18:30 KST": ``moment`` in the zone ``tz``, named."""
    local, name = localized(moment, tz)
    return f"{local:%Y-%m-%d %H:%M} {name}"


def snippet_html(alert: Alert) -> str:
    """The best snippet, escaped, with every matched word in bold ("" when there is none)."""
    segments = bold_segments(best_snippet(alert), bold_terms(alert))
    return "".join(f"<b>{_e(s.text)}</b>" if s.bold else _e(s.text) for s in segments)


def _italic_line(make: Callable[[int], str], room: int) -> str:
    """``<i>line</i>`` of at most ``room`` characters; ``make(budget)`` gives the plain line."""
    budget = room - len("<i></i>")
    while budget > 0:
        line = make(budget)
        if not line:
            return ""
        html = f"<i>{_e(line)}</i>"
        if len(html) <= room:
            return html
        budget -= len(html) - room  # escaping made it longer: cut more
    return ""


def also_reported_html(names: tuple[str, ...], room: int, lang: str = DEFAULT) -> str:
    """ "<i>also reported by: A, B and 3 more</i>" in at most ``room`` characters, or ""."""
    words = (say(lang, "also_reported"), say(lang, "and_more"), say(lang, "outlets"))
    return _italic_line(lambda budget: also_reported_line(names, budget, words), room)


def story_html(alert: Alert, room: int, reader: Reader | None = None) -> str:
    """The story block of a message: who else reported it, what they added (or "")."""
    reader = reader or Reader()
    names = tuple(one_line(n, 200) for n in alert.also_reported_by)
    line = also_reported_html(names, room, reader.lang) if names else ""
    if not alert.story_additions:
        return line
    additions = tuple(_addition(one_line(a, 200), reader) for a in alert.story_additions)
    left = room - len(line) - 1 if line else room
    head = say(reader.lang, "later_add")
    added = _italic_line(lambda budget: additions_line(additions, budget, head), left)
    return f"{line}\n{added}" if line and added else line or added


def _addition(text: str, reader: Reader) -> str:
    """A later report's addition, its topic (when it is one) by title."""
    found = _TOPIC_ADDED.match(text)
    if found is None or found.group(1) not in reader.titles:
        return text
    return f"{reader.titles[found.group(1)]} {found.group(2)}"


def possible_html(alert: Alert, reader: Reader, room: int) -> str:
    """ "❔ Possible match: why", for an alert the relevance model sent (else "")."""
    if not alert.model_note:
        return ""
    topics = ", ".join(reader.topic(t) for t in possible_topics(alert))
    why = say(reader.lang, "possible_why", topics=topics)
    head = f"❔ <b>{_e(say(reader.lang, 'possible_match'))}</b>: "
    return head + _e(one_line(why, max(1, (room - len(head)) // 2)))


def details_html(alert: Alert, reader: Reader, room: int) -> str:
    """The score, the matched terms and the model's note, for those who asked (or "")."""
    if not reader.details:
        return ""
    terms = sorted({one_line(m.text, 80) for m in alert.matches if m.kind != "exclusion"})
    line = say(reader.lang, "details", score=f"{alert.score:.1f}", terms=", ".join(terms) or "-")
    if alert.model_note:
        line += "\n" + say(reader.lang, "model", note=one_line(alert.model_note, MAX_MODEL_NOTE))
    return _italic_line(lambda budget: cut(line, budget), room)


def format_alert(alert: Alert, reader: Reader | None = None, *, limit: int = MAX_LENGTH) -> str:
    """The HTML text of ``alert``'s message for ``reader``; never longer than ``limit``.

    With ``alert.also_reported_by`` (a story's other outlets) the message ends with "also
    reported by: ..." and, when they added topics or figures, "later reports add: ..."; the
    snippet and details make room for them, so they are always the last block.
    """
    reader = reader or Reader()
    tail = story_html(alert, min(MAX_ALSO_REPORTED, limit // 4), reader)
    if tail:
        return _format(alert, reader, limit - len(tail) - 2) + "\n\n" + tail
    return _format(alert, reader, limit)


def _format(alert: Alert, reader: Reader, limit: int) -> str:
    title = one_line(alert.title, 300) or say(reader.lang, "untitled")
    header = f"<b>{linked(alert.url, _e(title))}</b>"
    if len(header) > limit // 2:  # a huge URL: the title without the link
        header = f"<b>{_e(cut(title, max(1, (limit - 7) // 6)))}</b>"
    source = display_text(alert.source_name or alert.source_id, 200)
    topics = ", ".join(reader.topic(t) for t in alert.topics)
    meta = f"{_e(cut(source, 100))} · {_e(local_time(alert.published, reader.tz))}"
    meta += f"\n{_e(say(reader.lang, 'topics'))}: {_e(cut(topics, 400))}"
    blocks = [
        ("", header),
        ("\n", meta),
        ("\n", possible_html(alert, reader, limit // 3)),
        ("\n\n", snippet_html(alert)),
        ("\n\n", details_html(alert, reader, min(MAX_DETAILS, limit // 4))),
    ]
    out = ""
    for sep, block in blocks:
        candidate = out + sep + block if out else block
        if block and len(candidate) <= limit:
            out = candidate
    return out


def format_summary(
    summary: Summary, reader: Reader | None = None, *, limit: int = MAX_LENGTH
) -> str:
    """One message for a poll's alerts beyond the cap: a heading, then one linked title a
    line (lines that do not fit are dropped whole, and counted in the last line)."""
    lang = (reader or Reader()).lang
    source = one_line(summary.source_name, 100)
    out = f"<b>{_e(say(lang, 'summary_heading', n=len(summary.alerts), source=source))}</b>"
    for shown, alert in enumerate(summary.alerts):
        title = one_line(alert.title, 200) or say(lang, "untitled")
        line = "• " + linked(alert.url, _e(title))
        more = "\n" + _e(say(lang, "n_more", n=len(summary.alerts) - shown))
        if len(out) + len(line) + 1 > limit - len(more):
            return out + more
        out += "\n" + line
    return out


def format_recent(alerts: Sequence[Alert], reader: Reader, *, limit: int = MAX_LENGTH) -> str:
    """/recent: a heading, then one line per story (``alerts`` has one alert a story, with its
    other outlets): time, topic title, linked title and "+N reports" when others reported it.
    Lines that do not fit are left out."""
    lang = reader.lang
    now = alerts[0].published if alerts else datetime.now(UTC)
    out = f"<b>{_e(say(lang, 'recent_heading', zone=localized(now, reader.tz)[1]))}</b>"
    for alert in alerts:
        local, _ = localized(alert.published, reader.tz)
        title = one_line(alert.title, 150) or say(lang, "untitled")
        topic = cut(reader.topic(alert.topics[0]), 40) if alert.topics else ""
        parts = [f"{local:%m-%d %H:%M}", _e(topic), linked(alert.url, _e(title))]
        others = len(alert.also_reported_by)
        if others:
            parts.append(_e(say(lang, "reports_one" if others == 1 else "reports", n=others)))
        line = " · ".join(p for p in parts if p)
        if len(out) + 1 + len(line) <= limit:
            out += "\n" + line
    return out
