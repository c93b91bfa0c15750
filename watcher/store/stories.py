"""Stories and their reports in the store (tables of migrations 0004 and 0007).

The pure grouping lives in ``watcher.stories``; this module records its decisions and reads
back what ``/recent``, the digest and a restarted index need.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.models import Report, from_epoch
from watcher.store.db import Database, Row, Tx


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
    entities: Sequence[str] = (),
) -> int:
    """Attach a report to its story (and widen the story's topics and best score)."""
    row = tx.fetchone(
        "INSERT INTO story_reports (story_id, item_id, alert_id, source_id, source_name, url,"
        " title, summary, language, topics, score, published_at, created_at, entities)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
            json.dumps(sorted(set(entities))),
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


_REPORT_COLUMNS = (
    "story_id, id, item_id, title, summary, url, language, published_at, topics, source_name,"
    " entities"
)


def _report_row(row: Row) -> tuple[int, int, Report]:
    published = from_epoch(row[7])
    assert published is not None
    key = f"item:{row[2]}" if row[2] is not None else f"report:{row[1]}"
    report = Report(
        key=key,
        title=row[3],
        summary=row[4],
        url=row[5],
        language=row[6],
        published=published,
        topics=frozenset(json.loads(row[8])),
        entities=frozenset(json.loads(row[10])),
        source=row[9],
    )
    return int(row[0]), int(row[1]), report


def recent_reports(tx: Tx, now: datetime, window: timedelta) -> list[tuple[int, Report]]:
    """(story id, report) of every report within the window, oldest first: what a restarted
    process feeds back into a ``StoryIndex`` (``index.add(report, story_id=...)``)."""
    rows = tx.fetchall(
        f"SELECT {_REPORT_COLUMNS} FROM story_reports WHERE published_at >= ?"
        " ORDER BY published_at, id",
        ((now - window).timestamp(),),
    )
    return [(story_id, report) for story_id, _, report in map(_report_row, rows)]


def reports_after(tx: Tx, after_id: int, since: datetime) -> list[tuple[int, int, Report]]:
    """(story id, report id, report) of reports recorded after ``after_id`` and published
    since ``since``, in id order: what other instances placed since this one last looked."""
    rows = tx.fetchall(
        f"SELECT {_REPORT_COLUMNS} FROM story_reports WHERE id > ? AND published_at >= ?"
        " ORDER BY id",
        (after_id, since.timestamp()),
    )
    return [_report_row(r) for r in rows]


def lock_placement(tx: Tx, now: float) -> None:
    """Hold the store's placement lock until ``tx`` ends (migration 0007): instances sharing
    a PostgreSQL store place reports one at a time, each after the others' have committed,
    so two reports of one story placed at the same moment make one story, not two."""
    tx.execute(
        "INSERT INTO story_placement (id, placed_at) VALUES (1, ?)"
        " ON CONFLICT (id) DO UPDATE SET placed_at = excluded.placed_at",
        (now,),
    )


def story_of_url(tx: Tx, url: str, since: datetime) -> int | None:
    """The story of the latest report with this canonical URL published since ``since``."""
    row = tx.fetchone(
        "SELECT story_id FROM story_reports WHERE url = ? AND published_at >= ?"
        " ORDER BY id DESC LIMIT 1",
        (url, since.timestamp()),
    )
    return None if row is None else int(row[0])


def last_report_id(tx: Tx) -> int:
    return int(tx.scalar("SELECT COALESCE(MAX(id), 0) FROM story_reports") or 0)


def set_report_alert(tx: Tx, report_id: int, alert_id: int) -> None:
    """Record that a report alerted (the first of its story, or one that alerted again)."""
    tx.execute("UPDATE story_reports SET alert_id = ? WHERE id = ?", (alert_id, report_id))


def edit_targets(tx: Tx, alert_id: int, channels: Collection[str]) -> list[tuple[str, str]]:
    """(channel, target) of each message of ``alert_id`` that is, or will be, sent on a
    channel that can edit messages: where "also reported by" edits go."""
    if not channels:
        return []
    marks = ", ".join("?" for _ in channels)
    rows = tx.fetchall(
        "SELECT channel, target FROM outbox WHERE alert_id = ? AND action = 'send'"
        f" AND status <> 'dead' AND channel IN ({marks}) ORDER BY id",
        (alert_id, *sorted(channels)),
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def send_state(db: Database, alert_id: int, channel: str, target: str) -> tuple[str, str | None]:
    """(status, sent_ref) of the message an edit applies to; ("", None) when there is none."""
    with db.transaction() as tx:
        row = tx.fetchone(
            "SELECT status, sent_ref FROM outbox WHERE alert_id = ? AND channel = ?"
            " AND target = ? AND action = 'send'",
            (alert_id, channel, target),
        )
    if row is None:
        return "", None
    return str(row[0]), None if row[1] is None else str(row[1])


@dataclass(frozen=True, slots=True)
class Reporter:
    """One report of a story, as the lines under its alert name it."""

    source_id: str
    name: str
    item_id: int | None
    topics: tuple[str, ...]
    title: str


def reporters(db: Database, story_ids: Sequence[int]) -> dict[int, list[Reporter]]:
    """Each story's reports, in order of first report."""
    with db.transaction() as tx:
        return _reporters(tx, story_ids)


def _reporters(tx: Tx, story_ids: Sequence[int]) -> dict[int, list[Reporter]]:
    out: dict[int, list[Reporter]] = {}
    ids = sorted(set(story_ids))
    for at in range(0, len(ids), 500):
        chunk = ids[at : at + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = tx.fetchall(
            "SELECT story_id, source_id, source_name, item_id, topics, title FROM story_reports"
            f" WHERE story_id IN ({marks}) ORDER BY id",
            chunk,
        )
        for story_id, source_id, name, item_id, topics, title in rows:
            out.setdefault(int(story_id), []).append(
                Reporter(
                    str(source_id),
                    str(name or source_id),
                    None if item_id is None else int(item_id),
                    tuple(json.loads(topics)),
                    str(title),
                )
            )
    return out
