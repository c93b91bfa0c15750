"""Telegram message formatting (pure): HTML parse mode, everything escaped, at most 4096 chars.

The message is built from blocks (header, details, one block per matched snippet). Blocks that
do not fit are dropped whole and a snippet is cut on a word boundary before its markup is
added, so tags are always balanced and entities never split. Feed text is cleaned first
(``watcher.notify.text``) and only http(s) links become an ``href``.
"""

from __future__ import annotations

from html import escape

from watcher.models import Alert, Match
from watcher.notify.base import Summary
from watcher.notify.text import (
    alert_title,
    cut,
    display_text,
    one_line,
    safe_link,
    summary_heading,
)
from watcher.stories.policy import additions_line, also_reported_line

MAX_LENGTH = 4096
MAX_SNIPPETS = 5
MAX_ALSO_REPORTED = 600  # characters of the "also reported by" line at most


def _e(text: str) -> str:
    return escape(text, quote=True)


def linked(url: str, html: str) -> str:
    """``html`` as a link to ``url`` when that is an http(s) link, else as it is."""
    link = safe_link(url)
    return f'<a href="{_e(link)}">{html}</a>' if link else html


def snippet_html(match: Match) -> str:
    """The match's snippet, escaped, with the matched text in bold."""
    snippet = display_text(match.snippet, 400)
    text = display_text(match.text, 200)
    at = snippet.find(text) if text else -1
    if at < 0:
        return _e(snippet) + f" (<b>{_e(text)}</b>)" if text else _e(snippet)
    end = at + len(text)
    return _e(snippet[:at]) + "<b>" + _e(snippet[at:end]) + "</b>" + _e(snippet[end:])


def also_reported_html(names: tuple[str, ...], room: int) -> str:
    """ "<i>also reported by: A, B and 3 more</i>" in at most ``room`` characters, or ""."""
    budget = room - len("<i></i>")
    while budget > 0:
        line = also_reported_line(names, budget)
        if not line:
            return ""
        html = f"<i>{_e(line)}</i>"
        if len(html) <= room:
            return html
        budget -= len(html) - room  # escaping made it longer: cut more
    return ""


def possible_match_html(note: str, room: int) -> str:
    """ "<i>Possible match</i> (relevance model): why", in at most ``room`` characters."""
    head = "<i>Possible match</i> (relevance model): "
    return head + _e(one_line(note, max(1, (room - len(head)) // 2)))


def format_alert(alert: Alert, *, limit: int = MAX_LENGTH) -> str:
    """The HTML text of ``alert``'s message; never longer than ``limit`` characters.

    With ``alert.also_reported_by`` (a story's other outlets) the message ends with
    "also reported by: ..." and, when they added topics or figures, "later reports add: ...";
    snippets make room for them, so they are always the last block.
    """
    tail = story_html(alert, min(MAX_ALSO_REPORTED, limit // 4))
    if tail:
        return _format(alert, limit - len(tail) - 2) + "\n\n" + tail
    return _format(alert, limit)


def story_html(alert: Alert, room: int) -> str:
    """The story block of a message: who else reported it, what they added (or "")."""
    names = tuple(one_line(n, 200) for n in alert.also_reported_by)
    line = also_reported_html(names, room) if names else ""
    if not alert.story_additions:
        return line
    additions = tuple(one_line(a, 200) for a in alert.story_additions)
    left = room - len(line) - 1 if line else room
    budget = left - len("<i></i>")
    while budget > 0:
        added = additions_line(additions, budget)
        html = f"<i>{_e(added)}</i>" if added else ""
        if len(html) <= left:
            return f"{line}\n{html}" if line and html else line or html
        budget -= len(html) - left
    return line


def _format(alert: Alert, limit: int) -> str:
    title = alert_title(alert)
    header = f"<b>{linked(alert.url, _e(title))}</b>"
    when = alert.published.strftime("%Y-%m-%d %H:%M UTC")
    source = display_text(alert.source_name or alert.source_id, 200)
    details = (
        f"{_e(source)} · {when}\nTopics: {_e(', '.join(alert.topics))} · score {alert.score:.1f}"
    )
    if len(header) > limit // 2:  # a huge URL: the title without the link
        header = f"<b>{_e(cut(title, max(1, (limit - 7) // 6)))}</b>"
    blocks = [header, details]
    if alert.model_note:  # sent by the relevance model: say so before any snippet
        blocks.append(possible_match_html(alert.model_note, limit // 3))
    seen: set[str] = set()
    for match in alert.matches:
        if match.kind == "exclusion" or match.snippet in seen or len(seen) >= MAX_SNIPPETS:
            continue
        seen.add(match.snippet)
        blocks.append("… " + snippet_html(match) + " …")
    out = ""
    for block in blocks:
        candidate = block if not out else out + "\n\n" + block
        if len(candidate) <= limit:
            out = candidate
    return out


def format_summary(summary: Summary, *, limit: int = MAX_LENGTH) -> str:
    """One message for a poll's alerts beyond the cap: a heading, then one linked title a
    line (lines that do not fit are dropped whole, and counted in the last line)."""
    out = f"<b>{_e(summary_heading(len(summary.alerts), summary.source_name))}</b>"
    for shown, alert in enumerate(summary.alerts):
        line = "• " + linked(alert.url, _e(alert_title(alert, 200)))
        rest = len(summary.alerts) - shown
        if len(out) + len(line) + 1 > limit - (len(f"\n… {rest} more") + 1):
            return out + f"\n… {rest} more"
        out += "\n" + line
    return out
