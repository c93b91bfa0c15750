"""How the pages write times and read numbers (pure; durations: ``watcher.durations.ago``)."""

from __future__ import annotations

import time


def when(ts: float | None) -> str:
    """``2026-11-20 09:05 UTC``, or ``never``."""
    return "never" if ts is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def day(ts: float) -> str:
    """``2026-11-20`` (UTC)."""
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


MAX_DIGITS = 15  # of a number in a query string or form: ids and counts, never near 2**63


def whole_number(value: object, default: int | None = None) -> int | None:
    """``value`` as a non-negative whole number of at most ``MAX_DIGITS`` ASCII digits (``²``
    passes ``str.isdigit`` and ``int()`` refuses it; 30 digits overflow the store's integers),
    else ``default``."""
    text = value if isinstance(value, str) else ""
    ok = text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS
    return int(text) if ok else default
