"""The lines under a story's alert: who else reported it, and what their reports added.

``with_reporters`` reads a story's reports from the store and applies the story policy
(``policy.additions``); ``/recent``, the digest and the maintainer pages show alerts through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from watcher.models import Alert
from watcher.store import stories as store
from watcher.store.db import Database
from watcher.stories.policy import additions


def with_reporters(db: Database, alerts: Sequence[Alert]) -> list[Alert]:
    """``alerts``, each in a story carrying ``also_reported_by``: the story's other outlets
    (not the alert's own), in order of first report, and ``story_additions``: what the
    story's other reports added (``policy.additions``). Alerts outside any story are
    unchanged."""
    story_ids = [a.story_id for a in alerts if a.story_id is not None]
    if not story_ids:
        return list(alerts)
    found = store.reporters(db, story_ids)
    out: list[Alert] = []
    for alert in alerts:
        if alert.story_id is None:
            out.append(alert)
            continue
        out.append(_with_story(alert, found.get(alert.story_id, [])))
    return out


def _with_story(alert: Alert, reporters: Sequence[store.Reporter]) -> Alert:
    own = alert.source_name or alert.source_id
    names: dict[str, None] = {}
    for r in reporters:
        if r.source_id != alert.source_id and r.name != own:
            names.setdefault(r.name, None)
    others = [(r.name, r.topics, r.title) for r in reporters if r.item_id != alert.item_id]
    added = additions(alert.topics, f"{alert.title}. {alert.summary}", others)
    return replace(alert, also_reported_by=tuple(names), story_additions=added)


def one_per_story(db: Database, alerts: Sequence[Alert]) -> list[Alert]:
    """``alerts`` with one entry per story (the first of each, in the given order) carrying
    all its other outlets (``with_reporters``): what ``/recent`` and the digest show."""
    seen: set[int] = set()
    kept: list[Alert] = []
    for alert in alerts:
        if alert.story_id is not None:
            if alert.story_id in seen:
                continue
            seen.add(alert.story_id)
        kept.append(alert)
    return with_reporters(db, kept)
