"""The admin's /status text: sources' health, the last cycle, the queue, recent errors.

Read from the store (so it covers every instance sharing it) and the configuration in force;
plain text (the bot escapes it). Blocking: call it in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from watcher.config.feeds import SourceConfig
from watcher.store import outbox
from watcher.store import sources as sources_store
from watcher.store.db import Database

RECENT_ERRORS = 5


def _ago(now: float, then: float | None) -> str:
    if then is None:
        return "never"
    s = max(0.0, now - then)
    if s < 120:
        return f"{s:.0f}s ago"
    if s < 7200:
        return f"{s / 60:.0f}m ago"
    if s < 2 * 86400:
        return f"{s / 3600:.0f}h ago"
    return f"{s / 86400:.0f}d ago"


def status_text(
    db: Database,
    enabled: Sequence[SourceConfig],
    now: Callable[[], float] = time.time,
    archive_max_day_bytes: int | None = None,
) -> str:
    t = now()
    states = sources_store.all_states(db)
    ok = failing = unpolled = 0
    errors = []
    for source in enabled:
        state = states.get(source.id)
        if state is None or state.last_checked_at is None:
            unpolled += 1
        elif state.consecutive_failures > 0:
            failing += 1
            errors.append((state.last_error_at or 0.0, source, state))
        else:
            ok += 1
    checked = [s.last_checked_at for s in states.values() if s.last_checked_at is not None]
    lines = [
        f"Sources: {len(enabled)} enabled: {ok} ok, {failing} failing, {unpolled} not polled yet",
        f"Last poll: {_ago(t, max(checked) if checked else None)}",
        f"Queue: {outbox.pending_count(db)} messages waiting (all channels)",
    ]
    if archive_max_day_bytes is not None:  # the evidence archive (docs/archive.md)
        from watcher.archive.view import health_line

        lines.append(health_line(db, t, archive_max_day_bytes))
    if errors:
        lines.append("Recent errors:")
        for _at, source, state in sorted(errors, key=lambda e: -e[0])[:RECENT_ERRORS]:
            lines.append(
                f"- {source.display_name} ({source.id}): {state.last_error_kind}"
                f" x{state.consecutive_failures}, last ok {_ago(t, state.last_success_at)}:"
                f" {(state.last_error or '')[:120]}"
            )
    return "\n".join(lines)
