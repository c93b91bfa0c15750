"""The change and deletion watch's decisions (pure): when to look again, what counts as gone,
what counts as a material change."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

GONE_STATUSES = {404: "HTTP 404 not found", 410: "HTTP 410 gone", 451: "HTTP 451 unavailable"}
# A server that is busy, refuses robots-looking clients or is down says nothing about the page.
RETRY_STATUSES = frozenset({401, 403, 408, 425, 429})
SHINGLE = 3  # words per shingle when comparing texts
CHANGED_BELOW = 0.9  # texts less similar than this changed materially (about a tenth)
_WORD = re.compile(r"\w+", re.UNICODE)
_FRONT = re.compile(r"^/?((index|default|home|main)(\.\w+)?|[a-z]{2}(-[a-z]{2})?|news)?/?$", re.I)


def watch_offsets(schedule: Sequence[float], horizon: float | None = None) -> list[float]:
    """Seconds after the capture at which the page is looked at again.

    The schedule's steps (say 1d, 7d, 30d) up to ``horizon``; a horizon beyond the last step
    goes on at the last step's interval (90d: 1d, 7d, 30d, 60d, 90d). ``horizon`` 0: never.
    """
    steps = sorted(s for s in schedule if s > 0)
    if horizon is None or not steps:
        return steps
    out = [s for s in steps if s <= horizon]
    if out and out[-1] == steps[-1]:
        at = steps[-1]
        while at + steps[-1] <= horizon:
            at += steps[-1]
            out.append(at)
    return out


# Names that never belong to a real outlet (RFC 2606, RFC 6761): documentation and tests.
_RESERVED = re.compile(
    r"(^|\.)(example\.(com|net|org)|example|invalid|test|localhost)\.?$", re.IGNORECASE
)


def reserved_host(url: str) -> bool:
    """True for a URL on a documentation or test name: nothing to archive, nothing to ask
    DNS about."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return bool(_RESERVED.search(host))


def is_front_page(url: str) -> bool:
    """True for a site's home page (``/``, ``/index.html``, ``/en/``, ``/news``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return not parts.query and bool(_FRONT.match(parts.path or "/"))


def gone_reason(status: int, url: str, final_url: str) -> str | None:
    """Why the page counts as removed, or None: 404/410/451, or a redirect from the article
    to the site's front page (how many outlets "delete")."""
    if status in GONE_STATUSES:
        return GONE_STATUSES[status]
    if final_url != url and is_front_page(final_url) and not is_front_page(url):
        return f"redirected to the front page {final_url}"
    return None


def should_retry(status: int) -> bool:
    """A status that says nothing about the page (try again later)."""
    if status in GONE_STATUSES:
        return False
    return status in RETRY_STATUSES or status >= 400 or 300 <= status < 400


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < SHINGLE:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def similarity(old: str, new: str) -> float:
    """Jaccard similarity of the two texts' word 3-shingles (1.0 when both are empty)."""
    a, b = _shingles(old), _shingles(new)
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def changed_materially(old: str, new: str, below: float = CHANGED_BELOW) -> bool:
    """True when about a tenth of the article's text or more changed (a paragraph added or
    removed, the story rewritten); a typo fixed or a date reworded is not material."""
    return similarity(old, new) < below
