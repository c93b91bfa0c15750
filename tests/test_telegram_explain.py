"""/explain URL|ID explains the item the store holds (its text, what happened then, the rules
and the model now); a URL not stored is fetched behind the address guard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.fake_telegram import FakeTelegram
from tests.servers.feedserver import FeedServer
from tests.telegram_helpers import Clock, running_bot, until
from watcher.models import Item
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.notify.telegram.explain import fetch_article
from watcher.relevance.files import SHIPPED_MODEL, load_relevance
from watcher.rules.score import Rules, load_rules
from watcher.store.alerts import insert_alert
from watcher.store.db import Database, open_database
from watcher.store.items import insert_item
from watcher.store.labels import record_vote
from watcher.store.relevance import record_decision

ROOT = Path(__file__).resolve().parent.parent
ADMIN = 900
TITLE = "China forcibly repatriated North Korean defectors arrested in Shenyang"
URL = "https://example.org/shenyang"
EXPLAIN_USAGE_KO = "/explain URL, /explain 알림번호, /explain item 번호 또는 텍스트로 쓰세요."


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
    settings = TelegramSettings(token="123:TEST", api_url=tg.base_url, admins=(ADMIN,))
    relevance = load_relevance(rules, SHIPPED_MODEL)
    hooks = BotHooks(rules=lambda: rules, scorer=lambda: relevance, fetch_article=fetch_article)
    async with running_bot(db, settings, hooks) as service:
        yield service


def _stored(db: Database) -> tuple[int, int]:
    """(item id, alert id) of an alerted item with a model note and a vote."""
    now = Clock().now
    with db.transaction() as tx:
        item = Item(source_id="dailynk", guid="g1", url=URL, title=TITLE, summary="Police said")
        item_id = insert_item(tx, item, now=now, scores={"repatriation": 9.5})
        assert item_id is not None
        alert = insert_alert(
            tx,
            dedupe_key=URL,
            item_id=item_id,
            source_id="dailynk",
            source_name="Daily NK",
            title=TITLE,
            url=URL,
            summary="Police said",
            language="en",
            published=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
            topics=["repatriation"],
            score=9.5,
            matches=[],
            now=now,
        )
        assert alert is not None
        record_decision(
            tx,
            item_id=item_id,
            alert_id=alert.id,
            decision="possible",
            topics=["forced_labor"],
            model_scores={"forced_labor": 0.72},
            note="possible match: forced_labor (model 0.72)",
            model_id="m",
            now=now,
        )
    record_vote(
        db,
        voter="tg:5",
        role="user",
        channel="telegram",
        item_id=item_id,
        alert_id=alert.id,
        verdict="relevant",
        now=now,
    )
    return item_id, alert.id


async def _explain(tg: FakeTelegram, arg: str, language_code: str | None = None) -> str:
    before = len(tg.messages(ADMIN))
    tg.send_user_message(ADMIN, f"/explain {arg}", language_code=language_code)
    await until(lambda: len(tg.messages(ADMIN)) == before + 1)
    text: str = tg.messages(ADMIN)[-1]["text"]
    assert len(text) <= 4096
    return text


@pytest.mark.parametrize(
    "form",
    ["{alert}", "alert {alert}", "#{alert}", "item {item}", URL, URL + "?utm_source=telegram#top"],
)
async def test_explain_tells_about_the_stored_item(
    bot: TelegramBot, tg: FakeTelegram, db: Database, form: str
) -> None:
    item_id, alert_id = _stored(db)
    reply = await _explain(tg, form.format(alert=alert_id, item=item_id))
    assert reply.startswith(f"<b>Stored item {item_id}</b> · dailynk")
    for said in (
        f"Alerted: alert {alert_id} (repatriation)",
        "Scored then: repatriation 9.5",
        "Model then: <i>possible match: forced_labor (model 0.72)</i>",
        "Votes: 1 relevant, 0 not relevant, 0 wrong topic (0 from admins)",
        "<b>Rules now</b>",
        "<b>repatriation</b>",  # the rules' explanation of the stored text
        "<b>Model now</b>",
        "archive: no capture of this URL",
    ):
        assert said in reply, said


async def test_explain_speaks_the_admins_language(
    bot: TelegramBot, tg: FakeTelegram, db: Database
) -> None:
    item_id, alert_id = _stored(db)
    assert await _explain(tg, "", "ko") == EXPLAIN_USAGE_KO
    reply = await _explain(tg, f"item {item_id}", "ru")
    assert reply.startswith(f"<b>Сохранённая запись {item_id}</b> · dailynk · впервые получена")
    for said in (
        f"Оповещение: {alert_id} (repatriation)",
        "Баллы тогда: repatriation 9.5",
        "Модель тогда: <i>possible match",
        "Голоса: по теме 1, не по теме 0, другая тема 0 (от администраторов: 0)",
        "<b>Правила сейчас</b>",
        "<b>Модель сейчас</b>",
    ):
        assert said in reply, said
    assert "Такого оповещения или записи нет" in await _explain(tg, "4242", "ru")


@pytest.mark.parametrize(
    ("arg", "said"),
    [
        ("4242", "No such alert or item is stored"),
        ("item 4242", "No such alert or item is stored"),
        (TITLE, "<b>repatriation</b>"),  # any other text: explained as it is
    ],
)
async def test_explain_what_is_not_stored(
    bot: TelegramBot, tg: FakeTelegram, db: Database, arg: str, said: str
) -> None:
    assert said in await _explain(tg, arg)


async def test_a_url_not_stored_is_fetched_behind_the_address_guard(
    bot: TelegramBot, tg: FakeTelegram
) -> None:
    with FeedServer() as server:  # on 127.0.0.1: the guard refuses it, nothing is fetched
        server.route("/a", f"<html><body><p>{TITLE}</p></body></html>")
        reply = await _explain(tg, server.url("/a"))
        assert server.hits("/a") == 0
    # robots.txt is asked first, and the guard refuses that request too
    assert reply.startswith("This URL is not stored, and fetching it gave no text: ")
    assert "Traceback" not in reply and "<b>Rules now</b>" not in reply
