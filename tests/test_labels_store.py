"""Votes and near misses in the store (migration 0010), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.models import Item
from watcher.store.alerts import insert_alert
from watcher.store.db import Database
from watcher.store.items import insert_item, prune_items
from watcher.store.labels import (
    BELOW_THRESHOLD,
    MODEL_HELD,
    MODEL_POSSIBLE,
    VERDICTS,
    Tally,
    all_votes,
    item_tallies,
    near_misses,
    record_near_miss,
    record_vote,
    voted_items,
    votes_on,
)
from watcher.store.relevance import record_decision

T0 = 1_800_000_000.0


def _item(
    db: Database, guid: str, *, now: float = T0, scores: dict[str, float] | None = None
) -> int:
    item = Item(
        source_id="dailynk",
        guid=guid,
        url=f"https://example.org/{guid}",
        title=f"Title {guid}",
        summary=f"Summary {guid}",
        published=datetime(2026, 11, 1, tzinfo=UTC),
        language="en",
    )
    with db.transaction() as tx:
        item_id = insert_item(tx, item, now=now, scores=scores or {})
    assert item_id is not None
    return item_id


def _alert(db: Database, item_id: int, topics: tuple[str, ...] = ("repatriation",)) -> int:
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=f"k{item_id}",
            item_id=item_id,
            source_id="dailynk",
            source_name="Daily NK",
            title="t",
            url=f"https://example.org/a{item_id}",
            summary="",
            language="en",
            published=datetime(2026, 11, 1, tzinfo=UTC),
            topics=topics,
            score=5.0,
            matches=[],
            now=T0,
        )
    assert alert is not None
    return alert.id


def test_a_vote_is_recorded_and_a_new_one_replaces_it(store_db: Database) -> None:
    item = _item(store_db, "a")
    alert = _alert(store_db, item)
    first = record_vote(
        store_db,
        voter="tg:42",
        role="user",
        channel="telegram",
        item_id=item,
        alert_id=alert,
        verdict="relevant",
        now=T0,
    )
    assert (first.voter, first.verdict, first.alert_id, first.topic) == (
        "tg:42",
        "relevant",
        alert,
        None,
    )
    second = record_vote(
        store_db,
        voter="tg:42",
        role="admin",
        channel="telegram",
        item_id=item,
        alert_id=alert,
        verdict="wrong_topic",
        topic="forced_labor",
        now=T0 + 60,
    )
    assert second.id == first.id
    assert (second.verdict, second.topic, second.role) == ("wrong_topic", "forced_labor", "admin")
    assert (second.created_at, second.updated_at) == (T0, T0 + 60)
    assert votes_on(store_db, [item]) == {item: [second]}
    other = record_vote(
        store_db,
        voter="web:alice",
        role="admin",
        channel="web",
        item_id=item,
        verdict="not_relevant",
        now=T0 + 120,
    )
    assert [v.voter for v in votes_on(store_db, [item, 999])[item]] == ["tg:42", "web:alice"]
    assert all_votes(store_db) == [second, other]
    assert all_votes(store_db, since=T0 + 60) == [other]


BAD_VOTES = [
    ({"verdict": "maybe"}, "verdict must be one of"),
    ({"verdict": "wrong_topic"}, "names the right topic"),
    ({"verdict": "should_alert", "topic": ""}, "names the right topic"),
    ({"role": "owner"}, "role must be one of"),
    ({"channel": "email"}, "channel must be one of"),
    ({"voter": ""}, "voter must be"),
    ({"voter": "x" * 201}, "voter must be"),
    ({"voter": "web:a\x00b"}, "voter must be"),
    ({"verdict": "wrong_topic", "topic": "Robert'); DROP TABLE votes;--"}, "topic must be"),
    ({"topic": "x" * 65}, "topic must be"),
    ({"item_id": 10_000}, "is not stored"),
]


@pytest.mark.parametrize(("change", "message"), BAD_VOTES)
def test_invalid_votes_are_refused_with_the_reason(
    store_db: Database, change: dict[str, object], message: str
) -> None:
    item = _item(store_db, "a")
    vote: dict[str, object] = {
        "voter": "tg:1",
        "role": "user",
        "channel": "telegram",
        "item_id": item,
        "verdict": "relevant",
        "now": T0,
    }
    vote.update(change)
    with pytest.raises(ValueError, match=message):
        record_vote(store_db, **vote)  # type: ignore[arg-type]
    assert all_votes(store_db) == []


def test_tallies_count_verdicts_and_labels(store_db: Database) -> None:
    a, b, c = _item(store_db, "a"), _item(store_db, "b"), _item(store_db, "c")
    votes = [
        ("tg:1", "admin", a, "relevant", None),
        ("tg:2", "user", a, "relevant", None),
        ("tg:3", "user", a, "not_relevant", None),
        ("web:x", "admin", a, "wrong_topic", "forced_labor"),
        ("tg:1", "admin", b, "should_alert", "repatriation"),
        ("tg:2", "user", b, "right_to_skip", None),
    ]
    for voter, role, item, verdict, topic in votes:
        channel = "web" if voter.startswith("web:") else "telegram"
        record_vote(
            store_db,
            voter=voter,
            role=role,
            channel=channel,
            item_id=item,
            verdict=verdict,
            topic=topic,
            now=T0,
        )
    tallies = item_tallies(store_db, [a, b, c])
    assert tallies == {a: Tally(2, 1, 1, 2), b: Tally(1, 1, 0, 1)}
    assert tallies[a].total == 4


def test_an_alert_removed_keeps_the_vote_and_a_removed_item_drops_it(store_db: Database) -> None:
    item = _item(store_db, "a")
    alert = _alert(store_db, item)
    record_vote(
        store_db,
        voter="tg:1",
        role="user",
        channel="telegram",
        item_id=item,
        alert_id=alert,
        verdict="relevant",
        now=T0,
    )
    with store_db.transaction() as tx:
        tx.execute("DELETE FROM alerts WHERE id = ?", (alert,))
    assert votes_on(store_db, [item])[item][0].alert_id is None
    with store_db.transaction() as tx:
        tx.execute("DELETE FROM items WHERE id = ?", (item,))
    assert all_votes(store_db) == []


def test_the_pruner_keeps_voted_items(store_db: Database) -> None:
    voted, quiet = _item(store_db, "voted"), _item(store_db, "quiet")
    record_vote(
        store_db,
        voter="tg:1",
        role="admin",
        channel="telegram",
        item_id=voted,
        verdict="not_relevant",
        now=T0,
    )
    assert prune_items(store_db, T0 + 1) == 1
    with store_db.transaction() as tx:
        left = [r[0] for r in tx.fetchall("SELECT id FROM items")]
    assert left == [voted] and quiet != voted


def test_near_misses_list_both_kinds_newest_first_and_hide_labelled_items(
    store_db: Database,
) -> None:
    below = _item(store_db, "below", scores={"repatriation": 2.5, "forced_labor": 0.0})
    possible = _item(store_db, "possible", scores={"forced_labor": 3.0})
    held = _item(store_db, "held", scores={"soldiers_pows": 6.0})
    alert = _alert(store_db, possible, ("forced_labor",))
    with store_db.transaction() as tx:
        record_near_miss(
            tx,
            item_id=below,
            scores={"repatriation": 2.5},
            thresholds={"repatriation": 4.0},
            now=T0,
        )
        record_decision(
            tx,
            item_id=possible,
            alert_id=alert,
            decision="possible",
            topics=["forced_labor"],
            model_scores={"forced_labor": 0.81},
            note="possible match: forced_labor (model 0.81)",
            model_id="m1",
            now=T0 + 10,
        )
        record_decision(
            tx,
            item_id=held,
            alert_id=None,
            decision="held",
            topics=["soldiers_pows"],
            model_scores={"soldiers_pows": 0.03},
            note="held back: soldiers_pows (model 0.03)",
            model_id="m1",
            now=T0 + 20,
        )
    listed = near_misses(store_db)
    assert [(n.item_id, n.reason) for n in listed] == [
        (held, MODEL_HELD),
        (possible, MODEL_POSSIBLE),
        (below, BELOW_THRESHOLD),
    ]
    h, p, b = listed
    assert (b.topics, b.scores, b.thresholds, b.title) == (
        ("repatriation",),
        {"repatriation": 2.5},
        {"repatriation": 4.0},
        "Title below",
    )
    assert (p.scores, p.model_scores, p.alert_id) == (
        {"forced_labor": 3.0},
        {"forced_labor": 0.81},
        alert,
    )
    assert p.model_note.startswith("possible match")
    assert (h.url, h.source_id, h.alert_id) == ("https://example.org/held", "dailynk", None)
    first = near_misses(store_db, limit=1)[0]
    after = (first.created_at, first.item_id)
    assert [n.item_id for n in near_misses(store_db, limit=1, after=after)] == [possible]
    record_vote(
        store_db,
        voter="tg:9",
        role="user",
        channel="telegram",
        item_id=held,
        verdict="right_to_skip",
        now=T0,
    )
    assert len(near_misses(store_db)) == 3  # a user's signal does not settle it
    record_vote(
        store_db,
        voter="tg:1",
        role="admin",
        channel="telegram",
        item_id=held,
        verdict="right_to_skip",
        now=T0,
    )
    assert [n.item_id for n in near_misses(store_db)] == [possible, below]
    assert len(near_misses(store_db, include_labelled=True)) == 3


def test_voted_items_carry_their_alert_topics_and_story(store_db: Database) -> None:
    a, b = _item(store_db, "a"), _item(store_db, "b")
    alert = _alert(store_db, a, ("repatriation", "forced_labor"))
    for item, alert_id in ((a, alert), (b, None)):
        record_vote(
            store_db,
            voter="tg:1",
            role="admin",
            channel="telegram",
            item_id=item,
            alert_id=alert_id,
            verdict="relevant" if alert_id else "should_alert",
            topic=None if alert_id else "soldiers_pows",
            now=T0,
        )
    got = voted_items(store_db)
    assert [(v.item_id, v.alert_topics, len(v.votes)) for v in got] == [
        (a, ("repatriation", "forced_labor"), 1),
        (b, (), 1),
    ]
    assert (got[0].title, got[0].summary, got[0].language) == ("Title a", "Summary a", "en")
    assert got[0].published_at == datetime(2026, 11, 1, tzinfo=UTC).timestamp()


def test_near_misses_page_on_after_a_cursor(store_db: Database) -> None:
    items = [_item(store_db, f"n{i}") for i in range(5)]
    with store_db.transaction() as tx:
        for i, item in enumerate(items):  # two polls: the same time within a poll
            record_near_miss(
                tx, item_id=item, scores={"repatriation": 3.0}, thresholds={}, now=T0 + i // 3
            )
    first = near_misses(store_db, limit=2)
    assert [n.item_id for n in first] == [items[4], items[3]]
    record_vote(
        store_db,
        voter="tg:1",
        role="admin",
        channel="telegram",
        item_id=items[2],
        verdict="right_to_skip",
        now=T0,
    )
    last = first[-1]
    rest = near_misses(store_db, after=(last.created_at, last.item_id))
    assert [n.item_id for n in rest] == [items[1], items[0]]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    voter=st.text(max_size=220),
    verdict=st.sampled_from([*VERDICTS, "", "RELEVANT", "relevant "]),
    topic=st.one_of(
        st.none(), st.text(max_size=70), st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
    ),
)
def test_any_vote_is_stored_as_given_or_refused_with_a_reason(
    memdb: Database, voter: str, verdict: str, topic: str | None
) -> None:
    with memdb.transaction() as tx:
        item = tx.scalar("SELECT MIN(id) FROM items")
    if item is None:
        item = _item(memdb, "h")
    try:
        vote = record_vote(
            memdb,
            voter=voter,
            role="user",
            channel="web",
            item_id=item,
            verdict=verdict,
            topic=topic,
            now=T0,
        )
    except ValueError:
        return
    assert (vote.voter, vote.verdict, vote.topic) == (voter, verdict, topic)
    assert vote in votes_on(memdb, [item])[item]


def test_an_item_set_aside_twice_at_once_is_one_entry_and_paging_skips_none(
    store_db: Database,
) -> None:
    """The model can hold one topic of an item back and offer another as possible in one
    poll: one entry, and pages of 3 (the Telegram /review page) go through every item."""
    items = [_item(store_db, f"twice-{n}", scores={"forced_labor": 1.0}) for n in range(4)]
    alerts = {item: _alert(store_db, item, ("forced_labor",)) for item in items}
    with store_db.transaction() as tx:
        for item in items:
            for decision, topic in (("possible", "forced_labor"), ("held", "soldiers_pows")):
                record_decision(
                    tx,
                    item_id=item,
                    alert_id=alerts[item] if decision == "possible" else None,
                    decision=decision,
                    topics=[topic],
                    model_scores={topic: 0.5},
                    note="possible match: forced_labor; held back: soldiers_pows",
                    model_id="m1",
                    now=T0,
                )
    seen: list[int] = []
    after = None
    while page := near_misses(store_db, limit=3, after=after):
        seen += [n.item_id for n in page]
        after = (page[-1].created_at, page[-1].item_id)
    assert seen == sorted(items, reverse=True)
    entry = near_misses(store_db, limit=1)[0]
    assert set(entry.topics) == {"forced_labor", "soldiers_pows"}
    # it was sent as a possible match: that is what it is to review, with its alert
    assert (entry.reason, entry.alert_id) == (MODEL_POSSIBLE, alerts[entry.item_id])
    assert entry.model_note == "possible match: forced_labor; held back: soldiers_pows"
