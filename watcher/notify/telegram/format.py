"""Telegram message formatting (pure): HTML parse mode, everything escaped, at most 4096 chars.

The message is built from blocks (header, details, one block per matched snippet). Blocks that
do not fit are dropped whole and a snippet is cut on a word boundary before its markup is
added, so tags are always balanced and entities never split.
"""

from __future__ import annotations

from html import escape

from watcher.models import Alert, Match
from watcher.stories.policy import additions_line, also_reported_line

MAX_LENGTH = 4096
MAX_SNIPPETS = 5
MAX_ALSO_REPORTED = 600  # characters of the "also reported by" line at most


def _e(text: str) -> str:
    return escape(text, quote=True)


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters on a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def snippet_html(match: Match) -> str:
    """The match's snippet, escaped, with the matched text in bold."""
    snippet = match.snippet
    at = snippet.find(match.text) if match.text else -1
    if at < 0:
        return _e(snippet) + f" (<b>{_e(match.text)}</b>)" if match.text else _e(snippet)
    end = at + len(match.text)
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
    return head + _e(_cut(note, max(1, (room - len(head)) // 2)))


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
    line = also_reported_html(alert.also_reported_by, room) if alert.also_reported_by else ""
    if not alert.story_additions:
        return line
    left = room - len(line) - 1 if line else room
    budget = left - len("<i></i>")
    while budget > 0:
        added = additions_line(alert.story_additions, budget)
        html = f"<i>{_e(added)}</i>" if added else ""
        if len(html) <= left:
            return f"{line}\n{html}" if line and html else line or html
        budget -= len(html) - left
    return line


def _format(alert: Alert, limit: int) -> str:
    title = _cut(" ".join(alert.title.split()) or "(untitled)", 300)
    if alert.url:
        header = f'<b><a href="{_e(alert.url)}">{_e(title)}</a></b>'
    else:
        header = f"<b>{_e(title)}</b>"
    when = alert.published.strftime("%Y-%m-%d %H:%M UTC")
    details = (
        f"{_e(alert.source_name or alert.source_id)} · {when}\n"
        f"Topics: {_e(', '.join(alert.topics))} · score {alert.score:.1f}"
    )
    if len(header) > limit // 2:  # a huge URL: the title without the link
        header = f"<b>{_e(_cut(title, max(1, (limit - 7) // 6)))}</b>"
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
