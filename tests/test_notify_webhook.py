"""The signed JSON webhook against a real loopback receiver: signature, schema, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.servers.receiver import Receiver
from tests.telegram_helpers import Clock, record_alert
from watcher.errors import ConfigError
from watcher.notify.fanout import fan_out
from watcher.notify.kinds import load_settings
from watcher.notify.webhook import WebhookNotifier, WebhookSettings
from watcher.rules.score import load_rules
from watcher.store import outbox
from watcher.store.alerts import get_alerts
from watcher.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "webhook.schema.json").read_text())
SECRET = "s3cret-for-the-test-receiver"


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def notifier(db: Database, urls: str, clock: Clock) -> WebhookNotifier:
    settings = WebhookSettings.load(
        {"WATCHER_WEBHOOK_URLS": urls, "WATCHER_WEBHOOK_SECRET": SECRET}
    )
    rules = load_rules(ROOT / "keywords.yaml")
    hook = WebhookNotifier(db, settings, clock=clock)
    hook.rules = lambda: rules
    return hook


def verified(request: Any) -> dict[str, Any]:
    """What a receiver does: recompute the signature, then read the JSON."""
    stamp = request.headers["x-watcher-timestamp"]
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256)
    assert hmac.compare_digest(request.headers["x-watcher-signature"], "sha256=" + mac.hexdigest())
    body: dict[str, Any] = json.loads(request.body)
    jsonschema.validate(body, SCHEMA)
    return body


async def test_a_signed_alert_with_story_and_explanation_matches_the_schema(
    store_db: Database, rx: Receiver
) -> None:
    clock = Clock()
    hook = notifier(store_db, f"{rx.url('/all')}, {rx.url('/pows')}:soldiers_pows", clock)
    alert = record_alert(store_db, hook, "w1", topics=("repatriation",))

    done = await hook.run_once()

    assert (done.sent, done.retry, done.dead) == (1, 0, 0)
    [request] = rx.requests  # the /pows receiver wants another topic
    assert request.path == "/all" and request.headers["content-type"] == "application/json"
    body = verified(request)
    assert body["type"] == "alert" and body["delivery"] == int(
        request.headers["x-watcher-delivery"]
    )
    sent = body["alert"]
    assert sent["id"] == alert.id and sent["url"] == "https://example.org/w1"
    assert sent["story"] == {"id": None, "also_reported_by": []}
    assert sent["explanation"]["matches"][0]["text"] == "repatriated"
    [topic] = sent["explanation"]["topics"]
    assert topic["id"] == "repatriation" and topic["title"] != "repatriation"


async def test_a_tampered_body_fails_the_signature(store_db: Database, rx: Receiver) -> None:
    hook = notifier(store_db, rx.url("/h"), Clock())
    record_alert(store_db, hook, "w1")
    await hook.run_once()
    [request] = rx.requests
    tampered = type(request)(request.path, request.headers, request.body + b" ", request.at)
    with pytest.raises(AssertionError):
        verified(tampered)


async def test_server_errors_are_retried_with_back_off_and_retry_after(
    store_db: Database, rx: Receiver
) -> None:
    clock = Clock()
    hook = notifier(store_db, rx.url("/h"), clock)
    record_alert(store_db, hook, "w1")
    rx.answer(503, {"Retry-After": "120"})

    assert (await hook.run_once()).retry == 1
    assert outbox.pending_count(store_db, "webhook") == 1
    clock.now += 60
    assert not await hook.run_once()  # Retry-After is a floor of the back-off
    clock.now += 61
    assert (await hook.run_once()).sent == 1
    first, second = rx.requests
    assert first.headers["x-watcher-delivery"] == second.headers["x-watcher-delivery"]


async def test_gone_ends_the_row(store_db: Database, rx: Receiver) -> None:
    hook = notifier(store_db, rx.url("/h"), Clock())
    record_alert(store_db, hook, "w1")
    rx.answer(410)
    assert (await hook.run_once()).dead == 1
    assert outbox.pending_count(store_db, "webhook") == 0


async def test_a_poll_over_the_cap_sends_one_summary(store_db: Database, rx: Receiver) -> None:
    clock = Clock()
    hook = notifier(store_db, rx.url("/h"), clock)
    ids = [record_alert(store_db, _Silent(), f"w{n}").id for n in range(5)]  # no rows yet
    alerts = list(get_alerts(store_db, ids).values())
    with store_db.transaction() as tx:
        fan_out(tx, alerts, [hook], clock.now, cap=2)
    await hook.run_once()
    bodies = [verified(r) for r in rx.requests]
    assert [b["type"] for b in bodies].count("alert") == 2
    [summary] = [b for b in bodies if b["type"] == "summary"]
    assert len(summary["alerts"]) == 3 and summary["source"]["name"] == "Daily NK"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WATCHER_WEBHOOK_URLS": "http://127.0.0.1:9/h"}, "WATCHER_WEBHOOK_SECRET: needed"),
        ({"WATCHER_WEBHOOK_URLS": "ftp://x/h", "WATCHER_WEBHOOK_SECRET": SECRET}, "URL 1 is not"),
        ({"WATCHER_WEBHOOK_URLS": "http://x/h", "WATCHER_WEBHOOK_SECRET": "short"}, "16"),
    ],
)
def test_settings_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


class _Silent:
    kind = "none"

    def targets(self, tx: object, alert: object) -> tuple[str, ...]:
        return ()
