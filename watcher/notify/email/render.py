"""Digest rendering: pure functions from alerts to subject, HTML and plain text (no I/O).

Alerts are grouped by topic (each alert once, under the first of its topics the recipient
follows), groups ordered by their best score, alerts in a group by score then recency. The
caller gives one alert per story (``one_per_story``). Each entry shows the source, the time in
the recipient's zone, who else reported it, the one snippet that best shows why it alerted
(matched terms in bold; the summary's start when every match is in the title) and the link.
Headings, labels and topic titles are in the recipient's language (``watcher.notify.i18n``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from watcher.display import one_line, safe_link
from watcher.models import Alert
from watcher.notify.i18n import DEFAULT, say
from watcher.notify.text import (
    Segment,
    alert_title,
    best_snippet,
    bold_segments,
    bold_terms,
    possible_topics,
)


@dataclass(frozen=True, slots=True)
class Entry:
    title: str
    url: str
    domain: str  # shown as the link text in HTML: a full URL wraps badly on a phone
    source: str
    when: str
    score: float
    snippet: tuple[Segment, ...]  # () when there is nothing to add to the title
    also_reported_by: tuple[str, ...]
    archived: str = ""  # link to the archived copy on the maintainer pages ("" = none)
    possible: str = ""  # a possible match sent by the relevance model: why, in plain words


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


def _snippet(alert: Alert) -> tuple[Segment, ...]:
    text = best_snippet(alert)
    return bold_segments(text, bold_terms(alert)) if text else ()


def _domain(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _when(moment: datetime, zone: ZoneInfo, lang: str) -> str:
    return moment.astimezone(zone).strftime(say(lang, "digest_when"))


def group_alerts(
    alerts: Sequence[Alert],
    *,
    topics: Sequence[str] = (),
    topic_titles: Mapping[str, str] | None = None,
    tz: str = "UTC",
    archived: Mapping[int, str] | None = None,
    lang: str = DEFAULT,
) -> tuple[Group, ...]:
    zone = ZoneInfo(tz)
    titles = topic_titles or {}

    def title(topic: str) -> str:
        return one_line(titles.get(topic) or topic.replace("_", " "), 200)

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
                when=_when(a.published, zone, lang),
                score=a.score,
                snippet=_snippet(a),
                also_reported_by=tuple(one_line(n, 200) for n in a.also_reported_by),
                archived=safe_link((archived or {}).get(a.id, "")),
                possible=say(
                    lang, "possible_why", topics=", ".join(title(t) for t in possible_topics(a))
                )
                if a.model_note
                else "",
            )
            for a in items
        )
        group = Group(topic=topic, title=title(topic), entries=entries)
        groups.append((items[0].score, topic, group))
    groups.sort(key=lambda g: (-g[0], g[1]))
    return tuple(g[2] for g in groups)


def subject_for(day: date, count: int, lang: str = DEFAULT) -> str:
    key = {0: "digest_subject_none", 1: "digest_subject_one"}.get(count, "digest_subject")
    return say(lang, key, day=day.isoformat(), n=count)


def render_digest(
    alerts: Sequence[Alert],
    *,
    day: date,
    topics: Sequence[str] = (),
    topic_titles: Mapping[str, str] | None = None,
    tz: str = "UTC",
    unsubscribe: str = "",
    archived: Mapping[int, str] | None = None,
    lang: str = DEFAULT,
) -> RenderedDigest:
    """Subject, HTML and plain text of one recipient's digest for ``day`` in ``lang``;
    ``archived``: alert id -> link to its archived copy."""
    groups = group_alerts(
        alerts, topics=topics, topic_titles=topic_titles, tz=tz, archived=archived, lang=lang
    )
    env = _environment()
    count = len(alerts)
    chosen = [(topic_titles or {}).get(t, t) for t in topics]
    summary = say(lang, "digest_count_one" if count == 1 else "digest_count", n=count)
    context = {
        "lang": lang,
        "t": lambda key, **values: say(lang, key, **values),
        "day": day.strftime(say(lang, "digest_day")),
        "groups": groups,
        "count": count,
        "summary": summary + (say(lang, "digest_on", topics=", ".join(chosen)) if chosen else ""),
        "tz": tz,
        "unsubscribe": unsubscribe,
        "unsubscribe_html": _unsubscribe_html(lang, unsubscribe),
    }
    return RenderedDigest(
        subject=subject_for(day, count, lang),
        html=env.get_template("digest.html.j2").render(context),
        text=env.get_template("digest.txt.j2").render(context),
        count=len(alerts),
    )


def _unsubscribe_html(lang: str, link: str) -> Markup:
    """ "To stop these emails, <a>unsubscribe</a>." with the text escaped ("" without a link)."""
    if not link:
        return Markup("")
    anchor = Markup('<a href="{}" style="color:#6b7280;">{}</a>').format(
        link, say(lang, "digest_unsubscribe_link")
    )
    return Markup(escape(say(lang, "digest_unsubscribe"))).format(link=anchor)
