"""How the pages write times (pure functions; durations: ``watcher.durations.ago``)."""

from __future__ import annotations

import time


def when(ts: float | None) -> str:
    """``2026-11-20 09:05 UTC``, or ``never``."""
    return "never" if ts is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def day(ts: float) -> str:
    """``2026-11-20`` (UTC)."""
    return time.strftime("%Y-%m-%d", time.gmtime(ts))
