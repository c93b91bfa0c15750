"""Stories in the store (migration 0004) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watcher.store.alerts import insert_alert
from watcher.store.db import Database
from watcher.store.stories import (
    add_report,
    also_reported_by,
    create_story,
    get_story,
    recent_reports,
    reported_by,
    set_first_alert,
)
from watcher.stories import StoryIndex

T0 = datetime(2025, 3, 1, 6, tzinfo=UTC)


def _alert(db: Database, key: str, source: str) -> int:
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=key,
            item_id=1,
            source_id=source,
            source_name=source.upper(),
            title="China repatriates 60 defectors",
            url=key,
            summary="",
            language="en",
            published=T0,
            topics=["repatriation"],
            score=3.0,
            matches=[],
            now=T0.timestamp(),
        )
    assert alert is not None
    return alert.id


def test_story_reports_sources_and_restart(store_db: Database) -> None:
    alert_id = _alert(store_db, "https://a/1", "dailynk")
    now = T0.timestamp()
    with store_db.transaction() as tx:
        story_id = create_story(tx, title="t", topics=["repatriation"], score=3.0, now=now)
        set_first_alert(tx, story_id, alert_id)
        common = dict(url="", summary="s", language="en", published=T0, now=now)
        add_report(
            tx,
            story_id,
            item_id=1,
            source_id="dailynk",
            source_name="Daily NK",
            title="China repatriates 60",
            topics=["repatriation"],
            score=3.0,
            alert_id=alert_id,
            **common,
        )  # type: ignore[arg-type]
        r2 = add_report(
            tx,
            story_id,
            item_id=2,
            source_id="nknews",
            source_name="NK News",
            title="China deports 60",
            topics=["law_enforcement"],
            score=5.0,
            **common,
        )  # type: ignore[arg-type]
        add_report(
            tx,
            story_id,
            item_id=3,
            source_id="nknews",
            source_name="NK News",
            title="again",
            topics=[],
            score=1.0,
            **common,
        )  # type: ignore[arg-type]
        add_report(
            tx,
            story_id,
            item_id=4,
            source_id="yna",
            source_name="",
            title="중국 60명 북송",
            topics=[],
            score=1.0,
            **common,
        )  # type: ignore[arg-type]
    assert r2 > 0
    with store_db.transaction() as tx:
        story = get_story(tx, story_id)
        assert story is not None
        assert story.first_alert_id == alert_id
        assert story.topics == ("law_enforcement", "repatriation")
        assert story.best_score == 5.0
        assert reported_by(tx, story_id) == ("Daily NK", "NK News", "yna")
        assert also_reported_by(tx, [alert_id, 999]) == {alert_id: ("NK News", "yna")}
        rows = recent_reports(tx, T0 + timedelta(hours=1), timedelta(hours=72))
        assert [sid for sid, _ in rows] == [story_id] * 4
        assert recent_reports(tx, T0 + timedelta(hours=100), timedelta(hours=72)) == []
    index = StoryIndex()
    for sid, report in rows:
        index.add(report, story_id=sid)
    assert index.story_of("item:2") == story_id
