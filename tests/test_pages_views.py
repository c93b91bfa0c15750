"""What the pages compute, without a server: the chart, source health, the store queries behind
the alerts and sources pages (on both dialects)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.config.live import LiveConfig
from watcher.ops.http import Health
from watcher.ops.metrics import Metrics
from watcher.pages.alerts import load_page
from watcher.pages.app import Web
from watcher.pages.chart import bars_svg
from watcher.pages.sources import failing_since, health, source_rows
from watcher.settings import Settings
from watcher.sources.base import SourceConfig
from watcher.store import Database, subscribers
from watcher.store import outbox as ob
from watcher.store.alerts import alerts_before, alerts_per_day, count_alerts, insert_alert
from watcher.store.sources import SourceState

DAY = 86400.0
NOW = 20_000 * DAY + 3600  # 1 a.m. UTC on day 20000


def test_bars_scale_to_the_largest_and_say_their_day() -> None:
    svg = str(bars_svg([0, 2, 4], ["d1", "d2", "d3"], "alerts <per> day", height=32))
    heights = [int(h) for h in re.findall(r'height="(\d+)"><title>', svg)]
    assert heights == [1, 15, 30]  # an empty day is a 1-pixel mark; the top is height - 2
    assert re.findall(r"<title>([^<]*)</title>", svg) == ["d1: 0", "d2: 2", "d3: 4"]
    assert 'aria-label="alerts &lt;per&gt; day: 6 in 3 days"' in svg
    assert 'class="bar none"' in svg


@given(st.lists(st.integers(0, 10_000), max_size=40), st.text(max_size=50))
def test_bars_never_overflow_and_escape_their_labels(values: list[int], title: str) -> None:
    labels = [f"<d{i}>" for i in range(len(values))]
    svg = str(bars_svg(values, labels, title, height=32))
    assert all(1 <= int(h) <= 30 for h in re.findall(r'height="(\d+)"><title>', svg))
    assert "<d" not in svg.replace("<defs", "")  # every label escaped
    assert svg.count("<rect") == len(values)


def _state(**kw: object) -> SourceState:
    return SourceState(id="s", **kw)  # type: ignore[arg-type]


FEED = SourceConfig(id="s", url="https://example.org/feed")


@pytest.mark.parametrize(
    ("config", "state", "expected", "since"),
    [
        (FEED, None, "never polled", ""),
        (FEED, _state(last_checked_at=NOW, last_success_at=NOW), "ok", ""),
        (
            FEED,
            _state(last_checked_at=NOW, last_success_at=NOW - 3 * DAY, consecutive_failures=4),
            "failing",
            "since 3.0d ago",
        ),
        (FEED, _state(last_checked_at=NOW, consecutive_failures=1), "failing", "never worked"),
        (FEED.model_copy(update={"enabled": False}), _state(), "disabled", ""),
        (None, _state(last_checked_at=NOW), "removed", ""),
    ],
)
def test_source_health(
    config: SourceConfig | None, state: SourceState | None, expected: str, since: str
) -> None:
    assert health(config, state) == expected
    assert failing_since(state, NOW) == since


def _alert(db: Database, key: str, source: str, at: float) -> int:
    with db.transaction() as tx:
        alert = insert_alert(
            tx, dedupe_key=key, item_id=None, source_id=source, source_name=source, title=key,
            url="", summary="", language="en", published=datetime.fromtimestamp(at, UTC),
            topics=["repatriation"], score=5.0, matches=[], now=at,
        )  # fmt: skip
        assert alert is not None
        ob.enqueue(tx, alert.id, "telegram", ["42"], at)
        return alert.id


def test_alerts_per_day_and_pages_on_both_dialects(store_db: Database) -> None:
    # just before and just after midnight: the day is the floor on both dialects
    # (PostgreSQL's CAST rounds a double, 19999.9 would become day 20000)
    times = {"a": NOW - 2 * 3600, "b": NOW - 3000, "c": NOW - 40 * DAY, "d": NOW}
    ids = {k: _alert(store_db, k, "rfa" if k != "d" else "nk", t) for k, t in times.items()}
    assert alerts_per_day(store_db, NOW - 30 * DAY) == {
        "rfa": {19_999: 1, 20_000: 1},
        "nk": {20_000: 1},
    }
    assert [a.title for a in alerts_before(store_db, None, 2)] == ["d", "c"]
    assert [a.title for a in alerts_before(store_db, ids["c"], 10)] == ["b", "a"]
    assert [a.title for a in alerts_before(store_db, None, 10, "nk")] == ["d"]
    assert count_alerts(store_db) == 4 and count_alerts(store_db, "rfa") == 3
    sent = ob.deliveries(store_db, [ids["a"], ids["d"]])
    assert [(d.channel, d.target, d.status) for d in sent[ids["a"]]] == [
        ("telegram", "42", "pending")
    ]


def test_source_rows_keep_feeds_yaml_order_then_sources_it_no_longer_has() -> None:
    sources = [
        SourceConfig(id="b", url="https://b.org/"),
        SourceConfig(id="a", url="https://a.org/"),
    ]
    states = {"gone": _state(last_checked_at=NOW), "a": _state(last_checked_at=NOW)}
    rows = source_rows(sources, states, {"a": 7}, {"a": {20_000: 2, 19_990: 1}}, NOW)
    assert [(r.id, r.health, r.items, r.alerts) for r in rows] == [
        ("b", "never polled", 0, 0),
        ("a", "ok", 7, 3),
        ("gone", "removed", 0, 0),
    ]


def test_an_alerts_page_names_the_chats_and_counts_the_sends(store_db: Database) -> None:
    root = Path(__file__).resolve().parent.parent
    config = LiveConfig.load(root / "feeds.yaml", root / "keywords.yaml", "off")
    web = Web(Settings(), store_db, config, Health(store_db), Metrics())
    first = _alert(store_db, "a", "rfa", NOW)  # queued to chat 42
    subscribers.subscribe(store_db, 42, "group", "Advocates NK", NOW)
    with store_db.transaction() as tx:
        ob.enqueue(tx, first, "telegram", ["43"], NOW)
        ob.enqueue(tx, first, "telegram", ["42"], NOW, action="edit")
    ob.mark_dead(
        store_db, ob.claim(store_db, "telegram", "me", NOW + 1, limit=1)[0].id, "gone", NOW
    )
    page = load_page(web, None, "")
    [row] = page.rows
    assert row.topics == (config.topic_titles()["repatriation"],)
    assert row.chats == {"42": "Advocates NK"}
    assert row.delivery_summary == "1 dead, 1 pending"  # the edit is not a send
    assert (page.total, page.older) == (1, None)
