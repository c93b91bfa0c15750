"""Digest rendering: pure functions from alerts to subject, HTML and plain text (no I/O).

Alerts are grouped by topic (each alert once, under the first of its topics the recipient
follows), groups ordered by their best score, alerts in a group by score then recency. Each
entry shows the source, the time in the recipient's zone, the link and the snippets with the
matched terms in bold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from watcher.models import Alert
from watcher.notify.text import MAX_MODEL_NOTE, alert_title, one_line, safe_link

MAX_SNIPPETS = 2


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    bold: bool


@dataclass(frozen=True, slots=True)
class Entry:
    title: str
    url: str
    domain: str  # shown as the link text in HTML: a full URL wraps badly on a phone
    source: str
    when: str
    score: float
    snippets: tuple[tuple[Segment, ...], ...]
    also_reported_by: tuple[str, ...]
    archived: str = ""  # link to the archived copy on the maintainer pages ("" = none)
    model_note: str = ""  # a possible match sent by the relevance model, and why


@dataclass(frozen=True, slots=True)
class Group:
    topic: str
    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    html: str
    text: str
    count: int


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("watcher.notify.email", "templates"),
        autoescape=lambda name: name is None or not name.endswith(".txt.j2"),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def bold_segments(snippet: str, terms: Sequence[str]) -> tuple[Segment, ...]:
    """Split ``snippet`` into plain and bold parts, bold where any of ``terms`` occurs."""
    words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not words:
        return (Segment(snippet, False),)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out: list[Segment] = []
    pos = 0
    for m in pattern.finditer(snippet):
        if m.start() > pos:
            out.append(Segment(snippet[pos : m.start()], False))
        out.append(Segment(m.group(0), True))
        pos = m.end()
    if pos < len(snippet):
        out.append(Segment(snippet[pos:], False))
    return tuple(out)


def _snippets(alert: Alert) -> tuple[tuple[Segment, ...], ...]:
    terms = [one_line(m.text, 200) for m in alert.matches if m.kind != "exclusion"]
    seen: list[str] = []
    for m in alert.matches:
        if m.kind == "exclusion" or not m.snippet.strip() or m.field == "title":
            continue
        s = one_line(m.snippet, 400)
        if any(s in other or other in s for other in seen):
            continue
        seen.append(s)
        if len(seen) == MAX_SNIPPETS:
            break
    if not seen and alert.summary.strip():
        seen.append(one_line(alert.summary, 240))
    return tuple(bold_segments(s, terms) for s in seen)


def _domain(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d %b %H:%M %Z")


def group_alerts(
    alerts: Sequence[Alert],
    *,
    topics: Sequence[str] = (),
    topic_titles: Mapping[str, str] | None = None,
    tz: str = "UTC",
    archived: Mapping[int, str] | None = None,
) -> tuple[Group, ...]:
    zone = ZoneInfo(tz)
    titles = topic_titles or {}
    buckets: dict[str, list[Alert]] = {}
    for a in alerts:
        wanted = [t for t in a.topics if not topics or t in topics] or list(a.topics) or ["other"]
        buckets.setdefault(wanted[0], []).append(a)
    groups: list[tuple[float, str, Group]] = []
    for topic, items in buckets.items():
        items.sort(key=lambda a: (-a.score, -a.published.timestamp(), a.id))
        entries = tuple(
            Entry(
                title=alert_title(a),
                url=safe_link(a.url),
                domain=_domain(safe_link(a.url)),
                source=one_line(a.source_name or a.source_id, 200),
                when=_when(a.published, zone),
                score=a.score,
                snippets=_snippets(a),
                also_reported_by=tuple(one_line(n, 200) for n in a.also_reported_by),
                archived=safe_link((archived or {}).get(a.id, "")),
                model_note=one_line(a.model_note, MAX_MODEL_NOTE),
            )
            for a in items
        )
        group = Group(
            topic=topic, title=titles.get(topic, topic.replace("_", " ")), entries=entries
        )
        groups.append((items[0].score, topic, group))
    groups.sort(key=lambda g: (-g[0], g[1]))
    return tuple(g[2] for g in groups)


def subject_for(day: date, count: int) -> str:
    if count == 0:
        return f"Watcher digest {day.isoformat()}: nothing new"
    noun = "alert" if count == 1 else "alerts"
    return f"Watcher digest {day.isoformat()}: {count} new {noun}"


def render_digest(
    alerts: Sequence[Alert],
    *,
    day: date,
    topics: Sequence[str] = (),
    topic_titles: Mapping[str, str] | None = None,
    tz: str = "UTC",
    unsubscribe: str = "",
    archived: Mapping[int, str] | None = None,
) -> RenderedDigest:
    """Subject, HTML and plain text of one recipient's digest for ``day``; ``archived``: alert
    id -> link to its archived copy."""
    groups = group_alerts(
        alerts, topics=topics, topic_titles=topic_titles, tz=tz, archived=archived
    )
    env = _environment()
    context = {
        "day": day.strftime("%A %d %B %Y"),
        "groups": groups,
        "count": len(alerts),
        "topics": [topic_titles.get(t, t) if topic_titles else t for t in topics],
        "tz": tz,
        "unsubscribe": unsubscribe,
    }
    return RenderedDigest(
        subject=subject_for(day, len(alerts)),
        html=env.get_template("digest.html.j2").render(context),
        text=env.get_template("digest.txt.j2").render(context),
        count=len(alerts),
    )
