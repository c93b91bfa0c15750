"""Votes under alerts and /review of near misses, with the real PTB Application against the
fake Bot API: every press is acknowledged (answerCallbackQuery) and marked on the keyboard
(editMessageReplyMarkup), never with a new message."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import Clock, running_bot, until
from watcher.models import Alert, Item
from watcher.notify.i18n import CATALOGUE, EN, KO, RU
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram import feedback as fb
from watcher.notify.telegram import votes as kb
from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.rules.score import Rules, load_rules
from watcher.store import subscribers
from watcher.store.alerts import insert_alert
from watcher.store.db import Database, open_database
from watcher.store.items import insert_item
from watcher.store.labels import Vote, all_votes, record_near_miss
from watcher.store.outbox import enqueue

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:TEST"
ADMIN = 900
USER = 42
CHANNEL = -1001234
CHANNEL_KO = -1005678  # configured to read Korean in Seoul time
GROUP = -1009


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
    settings = TelegramSettings(
        token=TOKEN,
        api_url=tg.base_url,
        admins=(ADMIN,),
        channels=(str(CHANNEL), f"{CHANNEL_KO}:ko:Asia/Seoul"),
    )
    async with running_bot(db, settings, BotHooks(rules=lambda: rules)) as service:
        yield service


@pytest.fixture
def notifier(db: Database, tg: FakeTelegram) -> TelegramNotifier:
    settings = TelegramSettings(
        token=TOKEN, api_url=tg.base_url, channels=(str(CHANNEL),), admins=(ADMIN,)
    )
    return TelegramNotifier(db, settings, clock=Clock())


def _item(db: Database, guid: str, title: str = "China sends North Korean defectors back") -> int:
    item = Item(source_id="src", guid=guid, url=f"https://example.org/{guid}", title=title)
    with db.transaction() as tx:
        item_id = insert_item(tx, item, now=Clock().now, scores={"repatriation": 7.5})
    assert item_id is not None
    return item_id


async def _sent_alert(db: Database, notifier: TelegramNotifier, key: str) -> Alert:
    """An alert of a stored item, delivered to the subscribers and the channel."""
    item_id = _item(db, key)
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=key,
            item_id=item_id,
            source_id="src",
            source_name="Daily NK",
            title="China sends North Korean defectors back",
            url=f"https://example.org/{key}",
            summary="Chinese police repatriated them",
            language="en",
            published=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
            topics=["repatriation"],
            score=7.5,
            matches=[],
            now=Clock().now,
        )
        assert alert is not None
        enqueue(tx, alert.id, notifier.kind, notifier.targets(tx, alert), Clock().now)
    await notifier.run_once()
    return alert


def _keyboard(tg: FakeTelegram, chat: int, index: int = -1) -> list[list[dict[str, Any]]]:
    markup = tg.messages(chat)[index]["reply_markup"]
    assert markup is not None
    rows: list[list[dict[str, Any]]] = markup["inline_keyboard"]
    return rows


def _buttons(tg: FakeTelegram, chat: int, index: int = -1) -> dict[str, str]:
    """Button text by callback data."""
    return {b["callback_data"]: b["text"] for row in _keyboard(tg, chat, index) for b in row}


def _votes(db: Database) -> list[tuple[str, str, str, str | None]]:
    return [(v.voter, v.role, v.verdict, v.topic) for v in all_votes(db)]


async def _press(
    tg: FakeTelegram,
    chat: int,
    data: str,
    *,
    user: int | None = None,
    chat_type: str = "private",
    edits: int = 1,
    language_code: str | None = None,
) -> None:
    """Press a button of the chat's last message; wait for the answer and ``edits`` keyboard
    edits (they follow the answer, in a task of their own)."""
    answers, edited = len(tg.answers()), len(tg.calls_of("editMessageReplyMarkup"))
    message_id = tg.messages(chat)[-1]["message_id"] if tg.messages(chat) else 1
    tg.press_button(
        chat, message_id, data, user_id=user, chat_type=chat_type, language_code=language_code
    )
    await until(lambda: len(tg.answers()) == answers + 1)
    await until(lambda: len(tg.calls_of("editMessageReplyMarkup")) == edited + edits)
    if not edits:
        await asyncio.sleep(0.1)  # no edit may follow


async def test_every_alert_has_vote_buttons_and_a_vote_is_recorded_then_changed(
    bot: TelegramBot, tg: FakeTelegram, db: Database, notifier: TelegramNotifier
) -> None:
    subscribers.subscribe(db, USER, "private", "", Clock().now)
    alert = await _sent_alert(db, notifier, "a1")
    for chat in (USER, CHANNEL):
        assert set(_buttons(tg, chat)) == {f"v:{alert.id}:r", f"v:{alert.id}:n", f"v:{alert.id}:w"}

    await _press(tg, USER, f"v:{alert.id}:r")
    assert tg.answers()[-1] == "Thanks: relevant."
    assert _votes(db) == [("tg:42", "user", "relevant", None)]
    assert _buttons(tg, USER)[f"v:{alert.id}:r"].startswith(kb.CHOSEN)

    await _press(tg, USER, f"v:{alert.id}:n")
    assert _votes(db) == [("tg:42", "user", "not_relevant", None)]  # changed, still one
    buttons = _buttons(tg, USER)
    assert buttons[f"v:{alert.id}:n"].startswith(kb.CHOSEN)
    assert not buttons[f"v:{alert.id}:r"].startswith(kb.CHOSEN)
    assert len(tg.messages(USER)) == 1  # acknowledged by editing, never a new message
    assert tg.messages(USER)[0]["markup_edits"] == 2
    assert all_votes(db)[0].alert_id == alert.id


async def test_wrong_topic_shows_the_topics_then_records_the_pick(
    bot: TelegramBot, tg: FakeTelegram, db: Database, notifier: TelegramNotifier, rules: Rules
) -> None:
    subscribers.subscribe(db, ADMIN, "private", "", Clock().now)
    alert = await _sent_alert(db, notifier, "a1")
    await _press(tg, ADMIN, f"v:{alert.id}:w")
    assert tg.answers()[-1] == EN["pick_topic"]
    listed = _buttons(tg, ADMIN)
    topics = {
        f"v:{alert.id}:w:{t}": kb.button_title(t, rules.topic_titles) for t in rules.topic_ids
    }
    assert listed == {**topics, f"v:{alert.id}:b": EN["button_back"]}
    assert all_votes(db) == []  # nothing recorded until a topic is picked

    await _press(tg, ADMIN, f"v:{alert.id}:w:forced_labor")
    title = rules.topic_titles["forced_labor"]
    assert tg.answers()[-1] == f"Thanks: it is about {title}."
    assert _votes(db) == [("tg:900", "admin", "wrong_topic", "forced_labor")]
    wrong = _buttons(tg, ADMIN)[f"v:{alert.id}:w"]
    assert wrong == f"{kb.CHOSEN}{EN['vote_wrong_topic']}: {title}"

    await _press(tg, ADMIN, f"v:{alert.id}:w")  # the list again, the pick marked
    assert _buttons(tg, ADMIN)[f"v:{alert.id}:w:forced_labor"].startswith(kb.CHOSEN)
    await _press(tg, ADMIN, f"v:{alert.id}:b")
    assert _buttons(tg, ADMIN)[f"v:{alert.id}:w"] == wrong
    assert len(tg.messages(ADMIN)) == 1


async def test_a_vote_on_an_alert_whose_message_was_edited(
    bot: TelegramBot, tg: FakeTelegram, db: Database, notifier: TelegramNotifier
) -> None:
    subscribers.subscribe(db, USER, "private", "", Clock().now)
    alert = await _sent_alert(db, notifier, "a1")
    await _press(tg, USER, f"v:{alert.id}:r")
    await _press(tg, CHANNEL, f"v:{alert.id}:n", user=501, chat_type="channel")
    with db.transaction() as tx:  # a later report edits the messages (as a story does)
        tx.execute("UPDATE alerts SET title = ? WHERE id = ?", ("Updated title", alert.id))
        enqueue(tx, alert.id, "telegram", [str(USER), str(CHANNEL)], Clock().now, action="edit:7")
    await notifier.run_once()
    for chat in (USER, CHANNEL):
        (message,) = tg.messages(chat)
        assert message["edits"] == 1 and "Updated title" in message["text"]
    # the edit sent the keyboard again, as it was: the private vote marked, the counts
    assert _buttons(tg, USER) == {
        f"v:{alert.id}:r": kb.CHOSEN + EN["vote_relevant"],
        f"v:{alert.id}:n": EN["vote_not_relevant"],
        f"v:{alert.id}:w": EN["vote_wrong_topic"],
    }
    assert _buttons(tg, CHANNEL) == {
        f"v:{alert.id}:r": f"{EN['vote_relevant']} · 1",
        f"v:{alert.id}:n": f"{EN['vote_not_relevant']} · 1",
        f"v:{alert.id}:w": EN["vote_wrong_topic"],
    }

    await _press(tg, USER, f"v:{alert.id}:n")  # a vote on the edited message
    assert sorted(_votes(db)) == [
        ("tg:42", "user", "not_relevant", None),
        ("tg:501", "user", "not_relevant", None),
    ]
    assert _buttons(tg, USER)[f"v:{alert.id}:n"].startswith(kb.CHOSEN)


async def test_in_a_channel_each_presser_has_a_vote(
    bot: TelegramBot, tg: FakeTelegram, db: Database, notifier: TelegramNotifier
) -> None:
    alert = await _sent_alert(db, notifier, "a1")
    await _press(tg, CHANNEL, f"v:{alert.id}:r", user=501, chat_type="channel")
    await _press(tg, CHANNEL, f"v:{alert.id}:n", user=ADMIN, chat_type="channel")
    await _press(tg, CHANNEL, f"v:{alert.id}:r", user=501, chat_type="channel")  # again: same
    assert sorted(_votes(db)) == [
        ("tg:501", "user", "relevant", None),
        ("tg:900", "admin", "not_relevant", None),
    ]
    # every reader sees the one keyboard: it counts the votes, nobody's choice is marked
    assert _buttons(tg, CHANNEL) == {
        f"v:{alert.id}:r": f"{EN['vote_relevant']} · 1",
        f"v:{alert.id}:n": f"{EN['vote_not_relevant']} · 1",
        f"v:{alert.id}:w": EN["vote_wrong_topic"],
    }
    assert len(tg.messages(CHANNEL)) == 1


async def test_votes_in_a_channel_busy_with_alerts_are_not_dropped(
    bot: TelegramBot, tg: FakeTelegram, db: Database, notifier: TelegramNotifier
) -> None:
    alert = await _sent_alert(db, notifier, "a1")
    now = time.monotonic()
    for _ in range(20):  # a minute's worth of alerts to the channel booked ahead
        bot.pacer.reserve(str(CHANNEL), now, float("inf"))
    await _press(tg, CHANNEL, f"v:{alert.id}:r", user=501, chat_type="channel")
    assert tg.answers() == ["Thanks: relevant."]
    assert _votes(db) == [("tg:501", "user", "relevant", None)]


async def test_a_korean_user_votes_in_korean(
    bot: TelegramBot, tg: FakeTelegram, db: Database, notifier: TelegramNotifier, rules: Rules
) -> None:
    tg.send_user_message(USER, "/start", language_code="ko")
    await until(lambda: len(tg.messages(USER)) == 1)
    alert = await _sent_alert(db, notifier, "a1")
    assert _buttons(tg, USER) == {
        f"v:{alert.id}:r": KO["vote_relevant"],
        f"v:{alert.id}:n": KO["vote_not_relevant"],
        f"v:{alert.id}:w": KO["vote_wrong_topic"],
    }
    await _press(tg, USER, f"v:{alert.id}:r", language_code="ko")
    assert tg.answers()[-1] == KO["thanks_relevant"] == "고맙습니다: 관련 있음."
    assert _buttons(tg, USER)[f"v:{alert.id}:r"] == kb.CHOSEN + KO["vote_relevant"]

    await _press(tg, USER, f"v:{alert.id}:w", language_code="ko")  # the topics, in Korean
    titles = rules.titles_in("ko")
    assert tg.answers()[-1] == KO["pick_topic"]
    assert _buttons(tg, USER) == {
        **{f"v:{alert.id}:w:{t}": kb.button_title(t, titles) for t in rules.topic_ids},
        f"v:{alert.id}:b": KO["button_back"],
    }
    await _press(tg, USER, f"v:{alert.id}:w:forced_labor", language_code="ko")
    assert tg.answers()[-1] == "고맙습니다: 해외 북한 노동자와 강제노동 주제로 기록했습니다."
    assert (
        _buttons(tg, USER)[f"v:{alert.id}:w"]
        == f"{kb.CHOSEN}🔀 주제 틀림: {titles['forced_labor']}"
    )
    assert _votes(db) == [("tg:42", "user", "wrong_topic", "forced_labor")]


async def test_a_shared_keyboard_reads_the_chats_language_the_answer_the_pressers(
    bot: TelegramBot, tg: FakeTelegram, db: Database, notifier: TelegramNotifier
) -> None:
    subscribers.subscribe(db, GROUP, "group", "Group", Clock().now)
    subscribers.set_reading(db, GROUP, "group", Clock().now, lang="ru")
    alert = await _sent_alert(db, notifier, "a1")
    assert _buttons(tg, GROUP)[f"v:{alert.id}:r"] == RU["vote_relevant"]
    # a Korean member presses: thanked in Korean, the group's keyboard stays Russian
    await _press(tg, GROUP, f"v:{alert.id}:r", user=77, chat_type="group", language_code="ko")
    assert tg.answers()[-1] == KO["thanks_relevant"]
    assert _buttons(tg, GROUP) == {
        f"v:{alert.id}:r": f"{RU['vote_relevant']} · 1",
        f"v:{alert.id}:n": RU["vote_not_relevant"],
        f"v:{alert.id}:w": RU["vote_wrong_topic"],
    }
    assert subscribers.get(db, GROUP).lang == "ru"  # type: ignore[union-attr]


async def test_a_channel_configured_in_korean_and_seoul_time(
    bot: TelegramBot, tg: FakeTelegram, db: Database, rules: Rules
) -> None:
    settings = TelegramSettings(
        token=TOKEN, api_url=tg.base_url, channels=(f"{CHANNEL_KO}:ko:Asia/Seoul",)
    )
    notifier = TelegramNotifier(db, settings, clock=Clock(), titles=rules.titles_in)
    alert = await _sent_alert(db, notifier, "a1")
    (message,) = tg.messages(CHANNEL_KO)
    assert "주제: 북한 주민 강제북송" in message["text"] and "18:30 KST" in message["text"]
    assert _buttons(tg, CHANNEL_KO)[f"v:{alert.id}:n"] == KO["vote_not_relevant"]
    await _press(
        tg, CHANNEL_KO, f"v:{alert.id}:n", user=501, chat_type="channel", language_code="en"
    )
    assert tg.answers()[-1] == EN["thanks_not_relevant"]
    assert _buttons(tg, CHANNEL_KO)[f"v:{alert.id}:n"] == f"{KO['vote_not_relevant']} · 1"


async def _near_misses(db: Database, n: int) -> list[int]:
    items = []
    with db.transaction() as tx:
        for i in range(n):
            item = Item(source_id="src", guid=f"nm{i}", url=f"https://e.org/{i}", title=f"NM {i}")
            item_id = insert_item(tx, item, now=Clock().now + i, scores={"repatriation": 3.0})
            assert item_id is not None
            record_near_miss(
                tx,
                item_id=item_id,
                scores={"repatriation": 3.0, "forced_labor": 2.5},
                thresholds={"repatriation": 4.0, "forced_labor": 4.0},
                now=Clock().now + i,
            )
            items.append(item_id)
    return items


async def test_review_lists_near_misses_a_few_at_a_time_and_records_answers(
    bot: TelegramBot, tg: FakeTelegram, db: Database, rules: Rules
) -> None:
    items = await _near_misses(db, fb.PAGE + 2)
    tg.send_user_message(ADMIN, "/review")
    await until(lambda: len(tg.messages(ADMIN)) == fb.PAGE)
    newest = items[-1]
    first = tg.messages(ADMIN)[0]
    assert "NM 4" in first["text"] and "3 of 4" in first["text"]
    assert f"/explain item {newest}" in first["text"]
    assert set(_buttons(tg, ADMIN, 0)) == {
        f"r:{newest}:s:repatriation",
        f"r:{newest}:s:forced_labor",
        f"r:{newest}:k",
    }
    more = [d for d in _buttons(tg, ADMIN) if d.startswith("r:m:")]
    assert len(more) == 1 and not any(d.startswith("r:m:") for d in _buttons(tg, ADMIN, 0))

    tg.press_button(ADMIN, first["message_id"], f"r:{newest}:s:forced_labor")
    await until(lambda: len(tg.answers()) == 1)
    assert tg.answers()[-1] == f"Saved: should have alerted ({rules.topic_titles['forced_labor']})."
    assert _votes(db) == [("tg:900", "admin", "should_alert", "forced_labor")]
    await until(lambda: _buttons(tg, ADMIN, 0)[f"r:{newest}:s:forced_labor"].startswith("✓"))

    await _press(tg, ADMIN, more[0], edits=0)
    await until(lambda: len(tg.messages(ADMIN)) == fb.PAGE + 2)
    assert [m["text"].split("\n")[1] for m in tg.messages(ADMIN)[fb.PAGE :]] == [
        '<a href="https://e.org/1">NM 1</a>',
        '<a href="https://e.org/0">NM 0</a>',
    ]
    tg.press_button(ADMIN, tg.messages(ADMIN)[-1]["message_id"], f"r:{items[0]}:k")
    await until(lambda: len(all_votes(db)) == 2)
    assert _votes(db)[-1] == ("tg:900", "admin", "right_to_skip", None)


async def test_a_russian_admin_reviews_in_russian(
    bot: TelegramBot, tg: FakeTelegram, db: Database, rules: Rules
) -> None:
    items = await _near_misses(db, fb.PAGE + 1)
    tg.send_user_message(ADMIN, "/review", language_code="ru")
    await until(lambda: len(tg.messages(ADMIN)) == fb.PAGE)
    titles = rules.titles_in("ru")
    newest, first = items[-1], tg.messages(ADMIN)[0]["text"]
    assert first.startswith("<b>Возможный пропуск</b>: ниже порога\n")
    assert f"• {titles['repatriation']}: 3 из 4" in first
    assert _buttons(tg, ADMIN, 0) == {
        f"r:{newest}:s:repatriation": "Стоило оповестить: " + titles["repatriation"],
        f"r:{newest}:s:forced_labor": RU["review_should_alert"].format(
            topic=kb.button_title("forced_labor", titles)
        ),
        f"r:{newest}:k": "Верно пропущено",
    }
    assert RU["button_more"] in _buttons(tg, ADMIN).values()
    assert not any(t in str(tg.messages(ADMIN)) for t in rules.topic_titles.values())
    await _press(tg, ADMIN, f"r:{items[-2]}:s:forced_labor", language_code="ru")
    assert tg.answers()[-1] == f"Сохранено: стоило оповестить ({titles['forced_labor']})."
    await _press(tg, ADMIN, f"r:{items[-2]}:k", language_code="ru")
    assert tg.answers()[-1] == RU["thanks_right_to_skip"]


async def test_review_is_for_admins_only_also_its_buttons(
    bot: TelegramBot, tg: FakeTelegram, db: Database
) -> None:
    (item,) = await _near_misses(db, 1)
    tg.send_user_message(USER, "/review")
    await until(lambda: len(tg.messages(USER)) == 1)
    assert tg.messages(USER)[0]["text"] == EN["admin_only"]
    for data in (f"r:{item}:k", f"r:{item}:s:repatriation", f"r:m:1800000000.0:{item}"):
        await _press(tg, USER, data, edits=0)
        assert tg.answers()[-1] == EN["review_admin_only"]
    assert all_votes(db) == [] and len(tg.messages(USER)) == 1


HOSTILE = [
    ("garbage", EN["button_unknown"]),
    ("", EN["button_unknown"]),
    ("v:999999:r", EN["alert_gone"]),
    ("v:{alert}:w:no_such_topic", EN["topic_gone"]),
    ("v:{alert}:w:#00000000", EN["topic_gone"]),
    ("v:{alert}:r:repatriation", EN["button_unknown"]),
    ("v:{alert}:x", EN["button_unknown"]),
    ("v:-1:r", EN["button_unknown"]),
    ("v:{alert}:r" + " " * 60, EN["button_unknown"]),
    ("v:" + "9" * 40 + ":r", EN["button_unknown"]),
    ("r:{item}:s", EN["button_unknown"]),
    ("r:{item}:s:no_such_topic", EN["topic_gone"]),
    ("r:999999:k", EN["item_gone"]),
    ("r:m:nan:1", EN["button_unknown"]),
    ("r:m:1e999:1", EN["button_unknown"]),
    ("v:{alert}:r\n", EN["button_unknown"]),
    ("t:", "Unknown topic."),
]


@pytest.mark.parametrize(("data", "answer"), HOSTILE)
async def test_hostile_callback_data_gets_a_polite_answer_and_changes_nothing(
    bot: TelegramBot,
    tg: FakeTelegram,
    db: Database,
    notifier: TelegramNotifier,
    caplog: pytest.LogCaptureFixture,
    data: str,
    answer: str,
) -> None:
    subscribers.subscribe(db, ADMIN, "private", "", Clock().now)
    alert = await _sent_alert(db, notifier, "a1")
    (item,) = await _near_misses(db, 1)
    with caplog.at_level(logging.WARNING):
        await _press(tg, ADMIN, data.format(alert=alert.id, item=item), edits=0)
    assert tg.answers() == [answer]
    assert all_votes(db) == []
    assert len(tg.messages(ADMIN)) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_vote_on_an_alert_whose_item_was_pruned_is_refused_politely(
    bot: TelegramBot, tg: FakeTelegram, db: Database, notifier: TelegramNotifier
) -> None:
    subscribers.subscribe(db, USER, "private", "", Clock().now)
    alert = await _sent_alert(db, notifier, "a1")
    with db.transaction() as tx:
        tx.execute("DELETE FROM items")
    await _press(tg, USER, f"v:{alert.id}:r", edits=0)
    assert tg.answers() == [EN["item_gone"]]
    assert all_votes(db) == []


# -- the callback data itself (pure) ----------------------------------------------------------


@given(st.text(max_size=80))
def test_parse_never_raises_and_keeps_to_its_shapes(data: str) -> None:
    press = kb.parse(data)
    if press is not None:
        assert len(data.encode()) <= kb.MAX_DATA
        assert press.kind in ("vote", "review", "more") and press.target >= 0


@given(st.integers(0, 10**18 - 1), st.from_regex(r"[a-z][a-z0-9_]{0,63}", fullmatch=True))
def test_every_button_fits_and_reads_back(target: int, topic: str) -> None:
    markups = [
        kb.vote_keyboard(target, "ru", "relevant", "x" * 100),
        kb.topic_keyboard(target, [topic], {topic: "A title " * 20}, lang="ko"),
        kb.review_keyboard(target, [topic], {}, more=(1_800_000_000.123456, target), lang="ru"),
    ]
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                data = str(button.callback_data)
                press = kb.parse(data)
                assert press is not None, data
                assert press.target == target
                if press.token:
                    assert kb.resolve_topic(press.token, ["other", topic]) == topic
                if press.kind == "more":
                    assert press.created_at == 1_800_000_000.123456


def test_votes_of_the_store_and_the_buttons_agree() -> None:
    from watcher.store.labels import BELOW_THRESHOLD, MODEL_HELD, MODEL_POSSIBLE, VERDICTS

    assert set(kb.VOTE_CODES.values()) | set(kb.REVIEW_CODES.values()) == set(VERDICTS)
    assert all(f"thanks_{v}" in EN for v in VERDICTS)
    assert all(f"near_miss_{r}" in EN for r in (BELOW_THRESHOLD, MODEL_POSSIBLE, MODEL_HELD))
    assert Vote.__dataclass_fields__.keys() >= {"voter", "verdict", "topic"}


@pytest.mark.parametrize("lang", sorted(CATALOGUE))
def test_button_labels_fit_a_phone(lang: str) -> None:
    """Two vote buttons share a row: each label short; a one-button row a little longer."""
    said = CATALOGUE[lang]
    assert all(len(said[f"vote_{k}"]) <= 16 for k in ("relevant", "not_relevant"))
    for key in ("vote_wrong_topic", "review_right_to_skip", "button_back", "button_more"):
        assert len(said[key]) <= 20, key
    for key in ("vote_wrong_topic_is", "review_should_alert"):
        assert len(said[key].format(topic="")) <= 22, key  # then the title, cut


def test_a_long_title_is_cut_on_its_button() -> None:
    title = "Северокорейские солдаты и военнопленные в войне России против Украины"
    (row, _back) = kb.topic_keyboard(7, ["soldiers_pows"], {"soldiers_pows": title}).inline_keyboard
    assert len(row[0].text) <= kb.MAX_TITLE and row[0].text.endswith("…")
    assert row[0].callback_data == "v:7:w:soldiers_pows"
