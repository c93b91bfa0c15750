"""The bot in the reader's language and time zone, against the fake Bot API: Telegram's
language_code followed, /lang, /tz, /details, the menu per language, /recent as a compact list,
and alerts formatted for each chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import Clock, record_alert, running_bot, until
from watcher.notify.telegram import TelegramSettings, parse_channel
from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.notify.telegram.notifier import TelegramNotifier, shared_lang
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


async def say(tg: FakeTelegram, chat: int, text: str, **kw: object) -> str:
    """Write ``text`` to the bot from ``chat`` and return its answer."""
    before = len(tg.messages(chat))
    tg.send_user_message(chat, text, **kw)  # type: ignore[arg-type]
    await until(lambda: len(tg.messages(chat)) > before, 5)
    return str(tg.messages(chat)[-1]["text"])


def sub(db: Database, chat: int) -> subscribers.Subscriber:
    found = subscribers.get(db, chat)
    assert found is not None
    return found


async def test_the_bot_follows_telegrams_language_until_lang_chooses(
    bot: TelegramBot, tg: FakeTelegram, db: Database
) -> None:
    assert "구독했습니다" in await say(tg, 42, "/start", language_code="ko")
    assert sub(db, 42).lang == "ko" and not sub(db, 42).lang_chosen
    assert "Оповещений пока нет" in await say(tg, 42, "/recent", language_code="ru-RU")
    assert sub(db, 42).lang == "ru"  # the chat's alerts follow
    assert "Оповещений" in await say(tg, 42, "/recent")  # no language_code: as stored
    assert "No alerts yet" in await say(tg, 42, "/recent", language_code="pt-br")

    assert await say(tg, 42, "/lang ko", language_code="en") == "언어: 한국어."
    assert sub(db, 42).lang == "ko" and sub(db, 42).lang_chosen
    assert "아직 알림이 없습니다" in await say(tg, 42, "/recent", language_code="ru")
    assert "/lang en" in await say(tg, 42, "/lang de")  # usage, in Korean
    assert sub(db, 42).lang == "ko"


async def test_lang_before_start_is_kept_by_start(
    bot: TelegramBot, tg: FakeTelegram, db: Database
) -> None:
    assert await say(tg, 43, "/lang ru") == "Язык: русский."
    assert not sub(db, 43).active  # remembered, not subscribed
    assert "Подписка оформлена" in await say(tg, 43, "/start", language_code="en")
    assert sub(db, 43).active and sub(db, 43).lang == "ru"


async def test_menu_in_each_language(bot: TelegramBot, tg: FakeTelegram) -> None:
    menus = {lang: tg.commands_in(lang) for lang in ("", "ko", "ru")}
    assert [c["command"] for c in menus[""]] == [c["command"] for c in menus["ko"]]
    assert {"lang", "tz", "details"} <= {c["command"] for c in menus[""]}
    described = {lang: {c["command"]: c["description"] for c in m} for lang, m in menus.items()}
    assert described["ko"]["recent"] == "최근 알림"
    assert described["ru"]["start"] == "Получать оповещения в этом чате"


@pytest.mark.parametrize(
    ("typed", "answer", "stored"),
    [
        ("/tz Asia/Seoul", "Times are now shown in Asia/Seoul.", "Asia/Seoul"),
        ("/tz europe/moscow", "Times are now shown in Europe/Moscow.", "Europe/Moscow"),
        ("/tz UTC", "Times are now shown in UTC.", ""),
        ("/tz Seoul", "“Seoul” is not a time zone I know. Did you mean Asia/Seoul?", "Asia/Tokyo"),
        ("/tz <b>x</b>", "“&lt;b&gt;x&lt;/b&gt;” is not a time zone I know.", "Asia/Tokyo"),
        ("/tz", "Times are now in Asia/Tokyo.", "Asia/Tokyo"),
    ],
)
async def test_tz(
    bot: TelegramBot, tg: FakeTelegram, db: Database, typed: str, answer: str, stored: str
) -> None:
    await say(tg, 44, "/start")
    await say(tg, 44, "/tz Asia/Tokyo")
    assert answer in await say(tg, 44, typed)
    assert sub(db, 44).tz == stored


async def test_group_settings_are_for_its_administrators(
    bot: TelegramBot, tg: FakeTelegram, db: Database
) -> None:
    group = -1005
    tg.make_group_admin(group, 7)
    reply = await say(tg, group, "/lang ko", chat_type="group", user_id=8)
    assert "only its administrators" in reply and subscribers.get(db, group) is None
    assert await say(tg, group, "/lang ko", chat_type="group", user_id=7) == "언어: 한국어."
    await say(tg, group, "/details on", chat_type="group", user_id=8)
    assert not sub(db, group).details
    other = -1006  # a group follows the language of whoever sent /start, not every member
    assert "구독했습니다" in await say(tg, other, "/start", chat_type="group", language_code="ko")
    reply = await say(tg, other, "/help", chat_type="group", user_id=8, language_code="ru")
    assert "Я присылаю" in reply and sub(db, other).lang == "ko"


async def test_alerts_read_in_each_chats_language_zone_and_details(
    bot: TelegramBot, tg: FakeTelegram, db: Database, rules: Rules
) -> None:
    await say(tg, 50, "/start", language_code="ko")
    await say(tg, 50, "/tz Asia/Seoul")
    await say(tg, 51, "/start", language_code="en")
    assert "now show the score" in await say(tg, 51, "/details on")
    await say(tg, 52, "/start", language_code="ru")
    await say(tg, ADMIN, "/start")
    settings = TelegramSettings(token=TOKEN, api_url=tg.base_url, admins=(ADMIN,))
    notifier = TelegramNotifier(db, settings, clock=Clock(), titles=rules.titles_in)
    record_alert(db, notifier, "a1")
    async with notifier.session():
        await notifier.deliver_due(now=Clock().now + 1)
    ko, details, ru, admin = (tg.messages(c)[-1]["text"] for c in (50, 51, 52, ADMIN))
    assert "주제: 북한 주민 강제북송" in ko and "2026-11-22 18:30 KST" in ko
    assert "Topics: Forced return of North Koreans" in details and "score 7.5" in details
    assert "Темы: Принудительное возвращение северокорейцев" in ru and "балл" not in ru
    assert "score 7.5 · matched: repatriated" in admin  # admins always see the details
    assert "repatriation" not in ko + ru  # titles, never ids
    assert "/details off" in await say(tg, 51, "/details")  # usage
    await say(tg, 51, "/details off")
    assert not sub(db, 51).details


async def test_an_admin_sees_details_until_turning_them_off(
    bot: TelegramBot, tg: FakeTelegram, db: Database, rules: Rules
) -> None:
    await say(tg, ADMIN, "/start")
    settings = TelegramSettings(token=TOKEN, api_url=tg.base_url, admins=(ADMIN,))
    notifier = TelegramNotifier(db, settings, clock=Clock(), titles=rules.titles_in)
    texts = []
    for n, command in enumerate(("", "/details off", "/details on")):
        if command:
            await say(tg, ADMIN, command)
        record_alert(db, notifier, f"d{n}", title=f"Report {n}")
        async with notifier.session():
            await notifier.deliver_due(now=Clock().now + 1)
        texts.append(tg.messages(ADMIN)[-1]["text"])
    assert ["score 7.5" in t for t in texts] == [True, False, True]
    assert sub(db, ADMIN).details is True


async def test_recent_is_one_compact_message(
    bot: TelegramBot, tg: FakeTelegram, db: Database
) -> None:
    await say(tg, 60, "/start")
    notifier = TelegramNotifier(db, TelegramSettings(token=TOKEN, api_url=tg.base_url))
    for n in range(14):
        record_alert(db, notifier, f"r{n}", title=f"Report {n}")
    reply = await say(tg, 60, "/recent")
    await asyncio.sleep(0.2)  # and nothing more
    assert len(tg.messages(60)) == 2
    heading, *lines = reply.split("\n")
    assert heading == "<b>Latest alerts (times in UTC):</b>" and len(lines) == 10
    assert lines[0] == (
        '11-22 09:30 · Forced return of North Koreans · <a href="https://example.org/r13">'
        "Report 13</a>"
    )


def test_reading_choices_are_stored_on_both_dialects(store_db: Database) -> None:
    chosen = subscribers.set_reading(store_db, 7, "private", 1.0, lang="ko", lang_chosen=True)
    assert (chosen.active, chosen.lang, chosen.lang_chosen, chosen.tz) == (False, "ko", True, "")
    subscribers.subscribe(store_db, 7, "private", "Seven", 2.0)
    subscribers.set_reading(store_db, 7, "private", 3.0, tz="Asia/Seoul", details=True)
    kept = sub(store_db, 7)
    assert (kept.active, kept.lang, kept.tz, kept.details) == (True, "ko", "Asia/Seoul", True)
    subscribers.set_reading(store_db, 7, "private", 4.0, details=False)
    assert sub(store_db, 7).details is False and sub(store_db, 7).lang == "ko"
    assert subscribers.set_reading(store_db, 8, "private", 5.0).details is None  # not chosen


def test_a_channels_keyboards_read_its_configured_language(store_db: Database) -> None:
    channels = [parse_channel("@News:ko"), parse_channel("-100777:ru:Europe/Moscow")]
    assert shared_lang(store_db, -100555, "news", channels) == "ko"  # by its @name, any case
    assert shared_lang(store_db, -100777, None, channels) == "ru"  # by its id
    assert shared_lang(store_db, -100999, "other", channels) == "en"
    subscribers.set_reading(store_db, -100999, "group", 1.0, lang="ru")
    assert shared_lang(store_db, -100999, "other", channels) == "ru"  # a group: as stored
