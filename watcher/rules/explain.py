"""Showing why an item scored as it did: plain text, Telegram HTML, and a rich terminal view.

``render_text`` and ``render_html`` are pure functions of a ``ScoreResult`` (used by the
Telegram ``/explain`` command and anywhere else); ``render_terminal`` prints the same with the
matched words highlighted in the item's text, for ``watcher rules explain``.
"""

from __future__ import annotations

import html

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from watcher.models import FIELDS, Item, Match, ScoreResult, TopicScore


def _num(x: float) -> str:
    return f"{x:g}"


def _match_line(m: Match) -> str:
    what = f"{m.term} → “{m.text}”" if m.term.lower() != m.text.lower() else f"“{m.text}”"
    if m.kind == "entity":
        return f"  entity {m.entity}: “{m.text}” in {m.field}"
    weight = f"{m.weight:+g}" if m.weight else "  ·"
    label = {"proximity": "near ", "exclusion": "minus "}.get(m.kind, "")
    return f"  {weight:>4} {label}{what} in {m.field} @{m.start}: {m.snippet}"


def topic_status(t: TopicScore) -> str:
    """The topic's verdict in a few words ("ALERT", "missing entity", ...)."""
    if t.decision == "possible":
        return f"POSSIBLE MATCH (relevance model {t.model:.2f})"
    if t.decision == "held":
        return f"held back (rules alerted, relevance model {t.model:.2f})"
    if t.alerted:
        return "ALERT"
    if t.vetoed_by is not None:
        return "vetoed"
    if t.missing:
        return "missing entity"
    if t.too_far:
        return "entity too far from the terms"
    return "below threshold"


def render_text(result: ScoreResult, item: Item | None = None, *, all_topics: bool = True) -> str:
    """A plain-text explanation: per topic, the verdict, the score and every reason."""
    lines: list[str] = []
    if item is not None and item.title:
        lines.append(f"Item: {item.title}")
    alerted = result.alerted_ids
    lines.append("Alerts: " + (", ".join(alerted) if alerted else "none"))
    for t in result.topics:
        if not all_topics and not t.alerted:
            continue
        lines.append("")
        lines.append(
            f"{t.topic} ({t.title}): {topic_status(t)}, score {_num(t.score)}"
            f" / threshold {_num(t.threshold)}"
        )
        if t.vetoed_by is not None:
            v = t.vetoed_by
            lines.append(f"  vetoed by “{v.term}” → “{v.text}” in {v.field}: {v.snippet}")
        if t.missing:
            lines.append("  missing: " + "; ".join(t.missing))
        if t.too_far:
            lines.append("  not near the terms: " + t.too_far)
        for m in t.matches:
            lines.append(_match_line(m))
        if not t.matches and t.vetoed_by is None:
            lines.append("  no matches")
    return "\n".join(lines)


def render_html(result: ScoreResult, item: Item | None = None, *, all_topics: bool = False) -> str:
    """The explanation in Telegram's HTML subset (<b>, <i>, <code>), escaped."""
    e = html.escape
    out: list[str] = []
    if item is not None and item.title:
        out.append(f"<b>{e(item.title)}</b>")
    if not all_topics and not result.alerted:
        out.append("No topic alerts.")
    for t in result.topics:
        if not all_topics and not t.alerted:
            continue
        out.append(
            f"<b>{e(t.topic)}</b> ({e(t.title)}): {e(topic_status(t))},"
            f" score {_num(t.score)} / {_num(t.threshold)}"
        )
        if t.vetoed_by is not None:
            v = t.vetoed_by
            out.append(f"  vetoed by <code>{e(v.term)}</code>: <i>{e(v.snippet)}</i>")
        if t.missing:
            out.append("  missing: " + e("; ".join(t.missing)))
        if t.too_far:
            out.append("  not near the terms: " + e(t.too_far))
        for m in t.matches:
            if m.kind == "entity":
                out.append(f"  entity <code>{e(m.entity)}</code>: “{e(m.text)}” ({e(m.field)})")
                continue
            out.append(
                f"  {m.weight:+g} <code>{e(m.term)}</code> “{e(m.text)}” ({e(m.field)}):"
                f" <i>{e(m.snippet)}</i>"
            )
    return "\n".join(out)


_STYLE = {
    "term": "bold black on yellow",
    "entity": "bold cyan",
    "proximity": "underline",
    "exclusion": "bold white on red",
}


def field_matches(result: ScoreResult, field: str) -> list[tuple[TopicScore, Match]]:
    """Every match of every topic in ``field`` (a veto's too), with its topic."""
    out = [(ts, m) for ts in result.topics for m in ts.matches if m.field == field]
    out += [
        (ts, ts.vetoed_by) for ts in result.topics if ts.vetoed_by and ts.vetoed_by.field == field
    ]
    return out


def highlighted(item: Item, result: ScoreResult, field: str, limit: int = 2000) -> Text:
    """The field's text with every match of every topic styled by its kind."""
    text = item.field_text(field)
    shown = text[:limit]
    t = Text(shown)
    spans = [m for _, m in field_matches(result, field)]
    # proximity first so the words inside it get their own style on top
    for m in sorted(spans, key=lambda m: m.kind != "proximity"):
        if m.start < len(shown):
            t.stylize(_STYLE.get(m.kind, "bold"), m.start, min(m.end, len(shown)))
    if len(text) > limit:
        t.append(f" … ({len(text) - limit} more characters)", style="dim")
    return t


def render_terminal(result: ScoreResult, item: Item, console: Console) -> None:
    """Print the item with its matches highlighted, then a table per topic."""
    parts: list[Text] = []
    for field in FIELDS:
        if item.field_text(field):
            parts.append(Text(field.upper(), style="dim"))
            parts.append(highlighted(item, result, field))
    console.print(Panel(Group(*parts), title="item", expand=True))
    for t in result.topics:
        style = "bold green" if t.alerted else "dim"
        head = Text(f"{t.topic}: {topic_status(t)}", style=style)
        head.append(f"  score {_num(t.score)} / threshold {_num(t.threshold)}", style="")
        console.print(head)
        if t.vetoed_by is not None:
            console.print(f"  vetoed by “{t.vetoed_by.term}”: {t.vetoed_by.snippet}", markup=False)
        if t.missing:
            console.print("  missing: " + "; ".join(t.missing), markup=False)
        if t.too_far:
            console.print("  not near the terms: " + t.too_far, markup=False)
        if not t.matches:
            continue
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
        for col in ("weight", "kind", "term", "matched", "field", "at"):
            table.add_column(col, overflow="fold")
        for m in t.matches:
            table.add_row(
                f"{m.weight:+g}" if m.weight else "·",
                m.kind,
                m.term,
                m.text,
                m.field,
                str(m.start),
            )
        console.print(table)
