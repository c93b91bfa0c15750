"""Stories and their reports in the store (tables of migration 0004).

The pure grouping lives in ``watcher.stories``; this module records its decisions and reads
back what ``/recent``, the digest and a restarted index need.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.models import from_epoch
from watcher.store.db import Tx
from watcher.stories.index import Report


@dataclass(frozen=True, slots=True)
class StoryRecord:
    id: int
    first_alert_id: int | None
    title: str
    topics: tuple[str, ...]
    best_score: float
    first_seen: datetime
    last_seen: datetime


def create_story(
    tx: Tx,
    *,
    title: str,
    topics: Sequence[str],
    score: float,
    now: float,
    first_alert_id: int | None = None,
) -> int:
    row = tx.fetchone(
        "INSERT INTO stories (first_alert_id, title, topics, best_score, first_seen_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (first_alert_id, title, json.dumps(sorted(set(topics))), score, now, now),
    )
    assert row is not None
    return int(row[0])


def set_first_alert(tx: Tx, story_id: int, alert_id: int) -> None:
    tx.execute(
        "UPDATE stories SET first_alert_id = ? WHERE id = ? AND first_alert_id IS NULL",
        (alert_id, story_id),
    )


def get_story(tx: Tx, story_id: int) -> StoryRecord | None:
    row = tx.fetchone(
        "SELECT id, first_alert_id, title, topics, best_score, first_seen_at, last_seen_at"
        " FROM stories WHERE id = ?",
        (story_id,),
    )
    if row is None:
        return None
    first, last = from_epoch(row[5]), from_epoch(row[6])
    assert first is not None and last is not None
    return StoryRecord(
        id=int(row[0]),
        first_alert_id=int(row[1]) if row[1] is not None else None,
        title=row[2],
        topics=tuple(json.loads(row[3])),
        best_score=float(row[4]),
        first_seen=first,
        last_seen=last,
    )


def add_report(
    tx: Tx,
    story_id: int,
    *,
    item_id: int | None,
    source_id: str,
    source_name: str,
    url: str,
    title: str,
    summary: str,
    language: str,
    topics: Sequence[str],
    score: float,
    published: datetime,
    now: float,
    alert_id: int | None = None,
) -> int:
    """Attach a report to its story (and widen the story's topics and best score)."""
    row = tx.fetchone(
        "INSERT INTO story_reports (story_id, item_id, alert_id, source_id, source_name, url,"
        " title, summary, language, topics, score, published_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            story_id,
            item_id,
            alert_id,
            source_id,
            source_name,
            url,
            title,
            summary,
            language,
            json.dumps(sorted(set(topics))),
            score,
            published.timestamp(),
            now,
        ),
    )
    assert row is not None
    report_id = int(row[0])
    story = get_story(tx, story_id)
    if story is not None:
        merged = sorted(set(story.topics) | set(topics))
        tx.execute(
            "UPDATE stories SET topics = ?, best_score = ?, last_seen_at = ? WHERE id = ?",
            (json.dumps(merged), max(story.best_score, score), now, story_id),
        )
    return report_id


def reported_by(tx: Tx, story_id: int, *, exclude_source_id: str = "") -> tuple[str, ...]:
    """Distinct outlets (source names, else ids) of a story, in order of first report."""
    rows = tx.fetchall(
        "SELECT source_id, source_name FROM story_reports WHERE story_id = ? ORDER BY id",
        (story_id,),
    )
    seen: dict[str, None] = {}
    for source_id, name in rows:
        if source_id == exclude_source_id:
            continue
        seen.setdefault(name or source_id, None)
    return tuple(seen)


def also_reported_by(tx: Tx, alert_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """For each alert that founded a story: the other outlets that reported it."""
    out: dict[int, tuple[str, ...]] = {}
    for alert_id in alert_ids:
        row = tx.fetchone(
            "SELECT s.id, a.source_id FROM stories s JOIN alerts a ON a.id = s.first_alert_id"
            " WHERE s.first_alert_id = ?",
            (alert_id,),
        )
        if row is not None:
            out[alert_id] = reported_by(tx, int(row[0]), exclude_source_id=row[1])
    return out


def recent_reports(tx: Tx, now: datetime, window: timedelta) -> list[tuple[int, Report]]:
    """(story id, report) of every report within the window, oldest first: what a restarted
    process feeds back into a ``StoryIndex`` (``index.add(report, story_id=...)``)."""
    rows = tx.fetchall(
        "SELECT story_id, id, item_id, title, summary, url, language, published_at, topics,"
        " source_name FROM story_reports WHERE published_at >= ? ORDER BY published_at, id",
        ((now - window).timestamp(),),
    )
    out: list[tuple[int, Report]] = []
    for row in rows:
        published = from_epoch(row[7])
        assert published is not None
        key = f"item:{row[2]}" if row[2] is not None else f"report:{row[1]}"
        out.append(
            (
                int(row[0]),
                Report(
                    key=key,
                    title=row[3],
                    summary=row[4],
                    url=row[5],
                    language=row[6],
                    published=published,
                    topics=frozenset(json.loads(row[8])),
                    source=row[9],
                ),
            )
        )
    return out
