"""Alert text for people, shared by every formatter: titles, the one snippet, summary lines,
possible-match marks. Untrusted text and links are made safe by ``watcher.display`` first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from watcher.display import one_line, safe_link

if TYPE_CHECKING:
    from watcher.models import Alert

MAX_TITLE = 300  # characters of a title in any message
MAX_SUMMARY_LINE = 200  # of one alert's line in a summary message
MAX_MODEL_NOTE = 600  # of the relevance model's note on a possible match
MAX_SNIPPET = 300  # of the one snippet an alert shows
# the relevance model's note names the topics it promoted ("possible match: workers (model
# 0.95); like ...", watcher.relevance.decide): readers get those topics' titles, not the note
_POSSIBLE = re.compile(r"possible match: ([a-z][a-z0-9_]*)")
POSSIBLE_MATCH = "Possible match"  # the mark of an alert the relevance model sent


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    bold: bool


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


def alert_title(alert: Alert, limit: int = MAX_TITLE) -> str:
    return one_line(alert.title, limit) or "(untitled)"


def best_snippet(alert: Alert) -> str:
    """The snippet that best shows why ``alert`` alerted: the one whose matches weigh most,
    among those that say more than the title (shown already); else the start of the summary
    when it says more; else ""."""
    title = _bare(alert.title)
    weights: dict[str, float] = {}
    for m in alert.matches:
        if m.kind != "exclusion" and m.field != "title" and _bare(m.snippet) not in title:
            weights[m.snippet] = weights.get(m.snippet, 0.0) + m.weight
    if weights:
        best = max(weights, key=lambda s: weights[s])  # the first of equals
        return one_line(best, MAX_SNIPPET)
    summary = one_line(alert.summary, MAX_SNIPPET)
    return "" if _bare(summary) in title else summary


def _bare(text: str) -> str:
    """``text`` to compare: one line, case-folded, without the ellipses of a cut."""
    return one_line(text, 10_000).strip("… .").casefold()


def bold_terms(alert: Alert) -> list[str]:
    """The matched words a snippet shows in bold: what the topics' terms matched; the
    entities (the country, the places) only when no term did, else every line is bold."""
    terms = [one_line(m.text, 200) for m in alert.matches if m.kind not in ("exclusion", "entity")]
    return terms or [one_line(m.text, 200) for m in alert.matches if m.kind == "entity"]


def possible_topics(alert: Alert) -> list[str]:
    """The topics the relevance model sent ``alert`` as a possible match on (its topics when
    the note does not say)."""
    return list(dict.fromkeys(_POSSIBLE.findall(alert.model_note))) or list(alert.topics)


def model_line(note: str, limit: int = MAX_MODEL_NOTE) -> str:
    """The mark of an alert the relevance model sent as a possible match, with its note."""
    return f"{POSSIBLE_MATCH} (relevance model): {one_line(note, limit)}"


def summary_heading(count: int, source: str) -> str:
    """The first line of a summary message: "and N more from SOURCE:"."""
    noun = "alert" if count == 1 else "alerts"
    return f"and {count} more {noun} from {one_line(source, 100)}:"


def summary_line(alert: Alert) -> str:
    """One alert of a summary, plain: its title and, when it is an http(s) link, its URL."""
    link = safe_link(alert.url)
    title = alert_title(alert, MAX_SUMMARY_LINE)
    return f"- {title}" + (f" {link}" if link else "")


def plain_alert(alert: Alert) -> tuple[str, str]:
    """Title and body of one alert as plain text (the console, Apprise): source and time,
    topics and score, the link (http(s) only), the matched terms, the relevance model's note
    on a possible match, the story's other outlets."""
    when = alert.published.strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"{one_line(alert.source_name or alert.source_id, 200)} · {when}",
        f"Topics: {', '.join(alert.topics)} · score {alert.score:.1f}",
        safe_link(alert.url) or "(no link)",
    ]
    terms = sorted({one_line(m.text, 80) for m in alert.matches if m.kind != "exclusion"})
    if terms:
        lines.append("Matched: " + ", ".join(terms))
    if alert.model_note:
        lines.append(model_line(alert.model_note))
    if alert.also_reported_by:
        lines.append("Also reported by: " + one_line(", ".join(alert.also_reported_by), 600))
    return alert_title(alert), "\n".join(lines)


def plain_summary(alerts: Sequence[Alert], source: str, limit: int = 4000) -> tuple[str, str]:
    """Title and body of a summary message, one line an alert, at most ``limit`` characters."""
    lines: list[str] = []
    size = 0
    for shown, alert in enumerate(alerts):
        line = summary_line(alert)
        if size + len(line) + 1 > limit - 40:
            lines.append(f"… {len(alerts) - shown} more")
            break
        lines.append(line)
        size += len(line) + 1
    return summary_heading(len(alerts), source), "\n".join(lines)
