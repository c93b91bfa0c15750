"""The real PTB Application against the fake Bot API: commands, topic toggles, admin refusal."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import Clock, record_alert, running_bot
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.bot import BotHooks, TelegramBot, mute_seconds
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.rules.score import Rules, load_rules
from watcher.store import subscribers
from watcher.store.db import Database, open_database

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:TEST"
ADMIN = 900


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(ROOT / "keywords.yaml")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "w.db")
    yield database
    database.close()


@pytest.fixture
async def bot(tg: FakeTelegram, db: Database, rules: Rules) -> AsyncIterator[TelegramBot]:
    settings = TelegramSettings(token=TOKEN, api_url=tg.base_url, admins=(ADMIN,))
    async with running_bot(db, settings, BotHooks(rules=lambda: rules)) as service:
        yield service


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def texts(tg: FakeTelegram, chat: int) -> list[str]:
    return [m["text"] for m in tg.messages(chat)]


async def test_start_subscribes_and_stop_unsubscribes(
    bot: TelegramBot, tg: FakeTelegram, db: Database
) -> None:
    assert [c["command"] for c in tg.commands][:2] == ["start", "stop"]  # setMyCommands
    tg.send_user_message(42, "/start")
    await until(lambda: len(tg.messages(42)) == 1)
    sub = subscribers.get(db, 42)
    assert sub is not None and sub.active
    tg.send_user_message(42, "/stop")
    await until(lambda: len(tg.messages(42)) == 2)
    sub = subscribers.get(db, 42)
    assert sub is not None and not sub.active


async def test_topics_keyboard_toggles_and_filters_alerts(
    bot: TelegramBot, tg: FakeTelegram, db: Database, rules: Rules
) -> None:
    tg.send_user_message(42, "/start")
    await until(lambda: len(tg.messages(42)) == 1)
    tg.send_user_message(42, "/topics")
    await until(lambda: len(tg.messages(42)) == 2)
    keyboard = tg.messages(42)[1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == [f"t:{t}" for t in rules.topic_ids]
    assert all(row[0]["text"].startswith("✅") for row in keyboard)

    first = rules.topic_ids[0]
    tg.press_button(42, tg.messages(42)[1]["message_id"], f"t:{first}")
    await until(lambda: len(tg.calls_of("editMessageReplyMarkup")) == 1)
    sub = subscribers.get(db, 42)
    assert sub is not None and first not in sub.topics and len(sub.topics) > 0
    edited = tg.messages(42)[-1]["reply_markup"]["inline_keyboard"]
    assert edited[0][0]["text"].startswith("▫️")
    assert len(tg.calls_of("answerCallbackQuery")) == 1

    clock = Clock()
    notifier = TelegramNotifier(db, TelegramSettings(token=TOKEN, api_url=tg.base_url), clock=clock)
    skipped = record_alert(db, notifier, "x1", topics=(first,))
    wanted = record_alert(db, notifier, "x2", topics=(rules.topic_ids[1],))
    with db.transaction() as tx:
        rows = tx.fetchall("SELECT alert_id, target FROM outbox WHERE channel = 'telegram'")
    assert [(int(r[0]), str(r[1])) for r in rows] == [(wanted.id, "42")]
    assert skipped.id != wanted.id

    tg.press_button(42, tg.messages(42)[1]["message_id"], f"t:{first}")  # back on: all topics
    await until(lambda: len(tg.calls_of("editMessageReplyMarkup")) == 2)
    sub = subscribers.get(db, 42)
    assert sub is not None and sub.topics == ()


async def test_mute_and_unmute(bot: TelegramBot, tg: FakeTelegram, db: Database) -> None:
    tg.send_user_message(42, "/start")
    await until(lambda: len(tg.messages(42)) == 1)
    tg.send_user_message(42, "/mute 8h")
    await until(lambda: len(tg.messages(42)) == 2)
    sub = subscribers.get(db, 42)
    assert sub is not None and sub.muted_until is not None
    assert not sub.wants(("repatriation",), sub.muted_until - 60)
    assert "Muted until" in texts(tg, 42)[-1]
    tg.send_user_message(42, "/unmute")
    await until(lambda: len(tg.messages(42)) == 3)
    sub = subscribers.get(db, 42)
    assert sub is not None and sub.muted_until is None


@pytest.mark.parametrize("command", ["/status", "/explain defectors repatriated", "/reload"])
async def test_admin_commands_refused_politely_for_others(
    bot: TelegramBot, tg: FakeTelegram, command: str
) -> None:
    tg.send_user_message(43, command)
    await until(lambda: len(tg.messages(43)) == 1)
    assert texts(tg, 43) == ["Sorry, only the bot's administrators can use this command."]


async def test_admin_status_and_explain(bot: TelegramBot, tg: FakeTelegram) -> None:
    tg.send_user_message(ADMIN, "/status")
    await until(lambda: len(tg.messages(ADMIN)) == 1)
    assert "Subscribers: 0" in texts(tg, ADMIN)[0]
    tg.send_user_message(
        ADMIN, "/explain China forcibly repatriated North Korean defectors arrested in Shenyang"
    )
    await until(lambda: len(tg.messages(ADMIN)) == 2)
    assert "<b>" in texts(tg, ADMIN)[1] and len(texts(tg, ADMIN)[1]) <= 4096


async def test_admins_get_operator_notices(bot: TelegramBot, tg: FakeTelegram) -> None:
    await bot.on_notice("source_failing", "yonhap: HTTP 503 <5 times>")
    assert texts(tg, ADMIN) == ["<b>⚠️ Source failing</b>\nyonhap: HTTP 503 &lt;5 times&gt;"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("", 8 * 3600.0),
        ("8h", 8 * 3600.0),
        ("30m", 1800.0),
        ("2d", 172800.0),
        ("3", 10800.0),
        ("soon", None),
        ("0h", None),
        ("9999d", None),
    ],
)
def test_mute_seconds(text: str, seconds: float | None) -> None:
    assert mute_seconds(text) == seconds


async def test_found_by_kind_built_with_its_bot_and_forwards_notices(
    tg: FakeTelegram, db: Database, rules: Rules
) -> None:
    """``watcher run`` builds Telegram without naming it: the token turns it on, the bot comes
    as one more service sharing the notifier's pacer (one token, one set of limits)."""
    from watcher.notify.base import Context
    from watcher.notify.kinds import build_notifiers
    from watcher.runtime import Runtime
    from watcher.settings import Settings

    tg_settings = TelegramSettings(token=TOKEN, api_url=tg.base_url, admins=(ADMIN,))
    runtime = Runtime(settings=Settings(sections=(tg_settings,)), db=db)
    ctx = Context(runtime, rules=lambda: rules)
    [notifier] = build_notifiers(ctx)  # no console: a channel is configured
    [service] = ctx.services
    assert isinstance(notifier, TelegramNotifier) and isinstance(service, TelegramBot)
    assert service.pacer is notifier.pacer and notifier.metrics is runtime.metrics
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.wait_for(service.ready.wait(), 10)
    await runtime.notice("config_invalid", "keywords.yaml:3:1: bad")
    stop.set()
    await asyncio.wait_for(task, 10)
    assert texts(tg, ADMIN) == ["<b>❌ Configuration invalid</b>\nkeywords.yaml:3:1: bad"]


async def test_a_flood_from_one_chat_does_not_delay_another(
    bot: TelegramBot, tg: FakeTelegram, db: Database
) -> None:
    """1,000 /start from one chat: a few answers at 1 a second, the rest dropped unprocessed;
    another user's /help is answered at once."""
    for _ in range(1000):
        tg.send_user_message(42, "/start")
    tg.send_user_message(77, "/help")
    started = asyncio.get_running_loop().time()
    await until(lambda: len(tg.messages(77)) == 1, timeout=10)
    assert asyncio.get_running_loop().time() - started < 5.0
    await asyncio.sleep(1.5)
    to_flooder = [c.at for c in tg.calls_of("sendMessage") if c.params["chat_id"] == "42"]
    assert 1 <= len(to_flooder) <= 6  # the chat's slots within the reply horizon, no more
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(to_flooder))
    assert bot.dropped >= 990


async def test_a_429_on_a_reply_is_one_log_line_and_slows_the_bot(
    bot: TelegramBot, tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    tg.fail("sendMessage", 429, retry_after=1)
    tg.send_user_message(42, "/help")
    await until(lambda: len(tg.calls_of("sendMessage")) == 1)
    await asyncio.sleep(0.3)
    assert "No error handlers are registered" not in caplog.text
    assert "Traceback" not in caplog.text and "slow down" in caplog.text
    assert bot.pacer.paused_until > 0


@pytest.mark.parametrize("command", ["/stop", "/mute 8h", "/topics"])
async def test_in_a_group_only_its_admins_change_the_subscription(
    bot: TelegramBot, tg: FakeTelegram, db: Database, command: str
) -> None:
    group, member, admin = -100123, 501, 502
    tg.make_group_admin(group, admin)
    tg.send_user_message(group, "/start", chat_type="supergroup", user_id=admin)
    await until(lambda: len(tg.messages(group)) == 1)
    await asyncio.sleep(1.0)  # the group's next reply slot
    tg.send_user_message(group, command, chat_type="supergroup", user_id=member)
    await until(lambda: len(tg.messages(group)) == 2)
    assert texts(tg, group)[-1] == "Sorry, in a group only its administrators can use this command."
    sub = subscribers.get(db, group)
    assert sub is not None and sub.active and sub.muted_until is None
    await asyncio.sleep(3.1)  # a group gets 20 messages a minute: the next slot
    tg.send_user_message(group, command, chat_type="supergroup", user_id=admin)
    await until(lambda: len(tg.messages(group)) == 3, timeout=10)
    assert "only its administrators" not in texts(tg, group)[-1]
