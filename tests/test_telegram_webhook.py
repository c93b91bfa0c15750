"""Webhook mode: the bot registers its URL with setWebhook and answers updates POSTed to it,
only with Telegram's secret token and only on the webhook's path; it never calls getUpdates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.servers.fake_telegram import FakeTelegram
from tests.telegram_helpers import until
from watcher.notify.telegram import TelegramSettings
from watcher.notify.telegram.bot import BotHooks, TelegramBot
from watcher.notify.telegram.webhook import SECRET_HEADER, webhook_secret
from watcher.rules.score import load_rules
from watcher.store import subscribers
from watcher.store.db import open_database

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:TEST"
HOOK = "https://bot.example.org/tg/hook"


async def test_webhook_mode(tg: FakeTelegram, tmp_path: Path) -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    settings = TelegramSettings(token=TOKEN, api_url=tg.base_url, webhook_url=HOOK, webhook_port=0)
    db = open_database(tmp_path / "w.db")
    bot = TelegramBot(db, settings, BotHooks(rules=lambda: rules), poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    try:
        await asyncio.wait_for(bot.ready.wait(), 10)
        assert tg.webhook is not None and tg.webhook["url"] == HOOK
        secret = webhook_secret(TOKEN)
        assert tg.webhook["secret_token"] == secret
        assert bot.webhook is not None
        local = f"http://127.0.0.1:{bot.webhook.port}"
        good = {SECRET_HEADER: secret}
        async with httpx.AsyncClient() as client:
            start = {"update_id": 1, **tg.user_message(42, "/start")}
            assert (
                await client.post(f"{local}/tg/hook", json=start, headers=good)
            ).status_code == 200
            await until(lambda: len(tg.messages(42)) == 1)
            sub = subscribers.get(db, 42)
            assert sub is not None and sub.active

            other = {"update_id": 2, **tg.user_message(43, "/start")}
            refusals = [
                (await client.post(f"{local}/tg/hook", json=other, headers={SECRET_HEADER: "x"})),
                (await client.post(f"{local}/tg/hook", json=other)),
                (await client.post(f"{local}/elsewhere", json=other, headers=good)),
                (await client.get(f"{local}/tg/hook", headers=good)),
                (await client.post(f"{local}/tg/hook", content=b"{not json", headers=good)),
                # a non-ASCII secret (compare_digest raised TypeError on str) and a JSON
                # object that is no update: refused, not an unhandled error
                (
                    await client.post(
                        f"{local}/tg/hook",
                        json=other,
                        headers={SECRET_HEADER: "s\u00e9cret".encode()},
                    )
                ),
                (await client.post(f"{local}/tg/hook", json={"message": 7}, headers=good)),
            ]
            assert [r.status_code for r in refusals] == [403, 403, 404, 404, 400, 403, 400]
        await asyncio.sleep(0.5)
        assert tg.messages(43) == [] and subscribers.get(db, 43) is None
        assert bot.webhook.received == 1 and bot.webhook.refused == 7
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        db.close()
    assert tg.calls_of("getUpdates") == []
