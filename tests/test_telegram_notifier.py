"""The Telegram notifier against the fake Bot API: delivery, flood waits, retries, dead chats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import Clock, record_alert
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.store import outbox, subscribers
from watcher.store.db import Database

TOKEN = "123:TEST"


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.base_url) as b:
        yield b


def make_notifier(
    db: Database,
    tg: FakeTelegram,
    clock: Clock,
    channels: tuple[str, ...] = (),
    bot: Bot | None = None,
) -> TelegramNotifier:
    settings = TelegramSettings(token=TOKEN, api_url=tg.base_url, channels=channels)
    return TelegramNotifier(db, settings, clock=clock, bot=bot)


def statuses(db: Database) -> dict[str, str]:
    with db.transaction() as tx:
        rows = tx.fetchall("SELECT target, status FROM outbox WHERE channel = 'telegram'")
    return {str(r[0]): str(r[1]) for r in rows}


async def test_subscribers_and_channels_get_the_alert_once(
    store_db: Database, tg: FakeTelegram, bot: Bot
) -> None:
    clock = Clock()
    for chat in (101, 102, 103):
        subscribers.subscribe(store_db, chat, "private", "", clock.now)
    subscribers.set_topics(store_db, 102, ["soldiers_pows"], clock.now)
    subscribers.set_muted_until(store_db, 103, clock.now + 3600, clock.now)
    notifier = make_notifier(store_db, tg, clock, ("@all_news", "@pows:soldiers_pows"), bot=bot)
    record_alert(store_db, notifier, "a1", topics=("repatriation",))

    assert await notifier.deliver_due()
    assert not await notifier.deliver_due()  # nothing left: nothing is sent twice

    sent = tg.all_messages()
    assert sorted(sent) == ["101", "@all_news"]  # topic filter, mute, channel topics
    message = sent["101"][0]
    assert message["parse_mode"] == "HTML"
    assert message["link_preview_options"] == {"is_disabled": True}
    assert '<a href="https://example.org/a1">' in message["text"]
    assert "<b>repatriated</b>" in message["text"]
    assert statuses(store_db) == {"101": "sent", "@all_news": "sent"}


async def test_429_retry_after_is_waited_out_and_the_message_resent(
    store_db: Database, tg: FakeTelegram, bot: Bot
) -> None:
    clock = Clock()
    subscribers.subscribe(store_db, 7, "private", "", clock.now)
    notifier = make_notifier(store_db, tg, clock, bot=bot)
    record_alert(store_db, notifier, "a1")
    tg.fail("sendMessage", 429, retry_after=1)

    started = time.monotonic()
    await notifier.deliver_due()

    calls = tg.calls_of("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0
    assert time.monotonic() - started < 5
    assert len(tg.messages(7)) == 1
    assert notifier.flood_waits == 1


@pytest.mark.parametrize(("status", "drop"), [(500, False), (502, False), (503, False), (0, True)])
async def test_server_errors_and_dropped_connections_are_retried_later(
    store_db: Database, tg: FakeTelegram, bot: Bot, status: int, drop: bool
) -> None:
    clock = Clock()
    subscribers.subscribe(store_db, 7, "private", "", clock.now)
    subscribers.subscribe(store_db, 8, "private", "", clock.now)
    notifier = make_notifier(store_db, tg, clock, bot=bot)
    record_alert(store_db, notifier, "a1")
    tg.fail("sendMessage", status or 500, drop=drop)

    await notifier.deliver_due()
    assert outbox.pending_count(store_db, "telegram") == 1  # one failed, the other went out
    assert not await notifier.deliver_due()  # backing off: not due yet

    clock.now += 5.0
    assert await notifier.deliver_due()
    assert len(tg.messages(7)) == 1 and len(tg.messages(8)) == 1
    assert outbox.pending_count(store_db, "telegram") == 0
    assert subscribers.count_active(store_db) == 2


async def test_blocked_chat_is_deactivated_and_others_still_delivered(
    store_db: Database, tg: FakeTelegram, bot: Bot
) -> None:
    clock = Clock()
    for chat in (1, 2, 3):
        subscribers.subscribe(store_db, chat, "private", "", clock.now)
    tg.forbid(2)
    tg.make_missing("@gone")
    notifier = make_notifier(store_db, tg, clock, ("@gone",), bot=bot)
    record_alert(store_db, notifier, "a1")

    await notifier.deliver_due()

    assert statuses(store_db) == {"1": "sent", "2": "dead", "3": "sent", "@gone": "dead"}
    gone = subscribers.get(store_db, 2)
    assert gone is not None and not gone.active
    assert subscribers.count_active(store_db) == 2
    # the next alert is not even queued for the blocked chat
    record_alert(store_db, notifier, "a2")
    assert "2" not in [r.target for r in outbox.claim(store_db, "telegram", "t", clock.now)]


async def test_run_wakes_on_new_alerts_and_stops(store_db: Database, tg: FakeTelegram) -> None:
    clock = Clock()
    subscribers.subscribe(store_db, 9, "private", "", clock.now)
    notifier = make_notifier(store_db, tg, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(notifier.run(stop))
    await asyncio.sleep(0.2)
    record_alert(store_db, notifier, "a1")
    notifier.wake.set()
    for _ in range(100):
        if tg.messages(9):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert len(tg.messages(9)) == 1


async def test_per_chat_limit_spaces_messages_to_one_chat(
    store_db: Database, tg: FakeTelegram, bot: Bot
) -> None:
    clock = Clock()
    subscribers.subscribe(store_db, 5, "private", "", clock.now)
    subscribers.subscribe(store_db, 6, "private", "", clock.now)
    notifier = make_notifier(store_db, tg, clock, bot=bot)
    record_alert(store_db, notifier, "a1")
    record_alert(store_db, notifier, "a2")

    await notifier.deliver_due()

    to_five = [c.at for c in tg.calls_of("sendMessage") if c.params["chat_id"] == "5"]
    assert len(to_five) == 2 and to_five[1] - to_five[0] >= 0.95
    to_six = [c.at for c in tg.calls_of("sendMessage") if c.params["chat_id"] == "6"]
    assert to_six[0] - to_five[0] < 0.5  # chat 6 did not wait for chat 5


async def test_restart_sends_what_was_left_and_nothing_twice(
    store_db: Database, tg: FakeTelegram, bot: Bot
) -> None:
    clock = Clock()
    for chat in (1, 2):
        subscribers.subscribe(store_db, chat, "private", "", clock.now)
    first = make_notifier(store_db, tg, clock, bot=bot)
    record_alert(store_db, first, "a1")
    await first.deliver_due()
    # a process claims the next alert's rows and dies before sending them
    record_alert(store_db, first, "a2")
    assert len(outbox.claim(store_db, "telegram", "crashed", clock.now, lease_s=60)) == 2

    restarted = make_notifier(store_db, tg, clock, bot=bot)
    assert not await restarted.deliver_due()  # leased to the dead process for now
    clock.now += 61
    assert await restarted.deliver_due()
    assert not await restarted.deliver_due()
    for chat in (1, 2):
        assert len(tg.messages(chat)) == 2
    assert len(tg.calls_of("sendMessage")) == 4


async def test_a_busy_channel_never_holds_back_a_private_chat(
    store_db: Database, tg: FakeTelegram
) -> None:
    """60 alerts for a channel (20 a minute) are being sent when one for a private chat is
    recorded: it arrives within seconds, not after the channel's three minutes."""
    clock = Clock()
    notifier = make_notifier(store_db, tg, clock, ("@busy:soldiers_pows",))
    for n in range(60):
        record_alert(store_db, notifier, f"busy-{n}", topics=("soldiers_pows",))
    subscribers.subscribe(store_db, 7, "private", "", clock.now)
    subscribers.set_topics(store_db, 7, ["repatriation"], clock.now)
    stop = asyncio.Event()
    task = asyncio.create_task(notifier.run(stop))
    await asyncio.sleep(1.0)  # the notifier is busy with the channel's rows
    record_alert(store_db, notifier, "private-1", topics=("repatriation",))
    notifier.wake.set()
    started = time.monotonic()
    try:
        for _ in range(250):
            if tg.messages(7):
                break
            await asyncio.sleep(0.02)
        waited = time.monotonic() - started
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert tg.messages(7), "the private alert never arrived"
    assert waited < 5.0
    assert len(tg.messages("@busy")) <= 20  # the channel got what its limit allows so far
    with store_db.transaction() as tx:
        attempts = tx.scalar("SELECT MAX(attempts) FROM outbox WHERE target = '@busy'")
    assert attempts == 1 or attempts == 0  # waiting for the channel is not a failed attempt
