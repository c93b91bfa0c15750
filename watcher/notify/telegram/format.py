"""Telegram message formatting (pure): HTML parse mode, everything escaped, at most 4096 chars.

The message is built from blocks (header, details, one block per matched snippet). Blocks that
do not fit are dropped whole and a snippet is cut on a word boundary before its markup is
added, so tags are always balanced and entities never split.
"""

from __future__ import annotations

from html import escape

from watcher.models import Alert, Match

MAX_LENGTH = 4096
MAX_SNIPPETS = 5


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


def format_alert(alert: Alert, *, limit: int = MAX_LENGTH) -> str:
    """The HTML text of ``alert``'s message; never longer than ``limit`` characters."""
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
