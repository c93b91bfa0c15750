"""Apprise through the notifier contract, against a loopback receiver of its json:// URLs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.servers.receiver import Receiver
from tests.telegram_helpers import Clock, record_alert
from watcher.errors import ConfigError
from watcher.notify.apprise import AppriseNotifier, AppriseSettings
from watcher.notify.kinds import load_settings
from watcher.store import outbox
from watcher.store.db import Database


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def notifier(db: Database, urls: str, clock: Clock, interval: float = 1.0) -> AppriseNotifier:
    env = {"WATCHER_APPRISE_URLS": urls, "WATCHER_APPRISE_INTERVAL": str(interval)}
    return AppriseNotifier(db, AppriseSettings.load(env), clock=clock)


def json_url(rx: Receiver, path: str) -> str:
    return rx.url(path).replace("http://", "json://")


async def test_alerts_reach_the_service_by_topic_without_secrets_in_the_store(
    store_db: Database, rx: Receiver
) -> None:
    clock = Clock()
    urls = f"{json_url(rx, '/all?token=SECRET-xyz')}, {json_url(rx, '/pows')}:soldiers_pows"
    apprise = notifier(store_db, urls, clock)
    record_alert(store_db, apprise, "a1", topics=("repatriation",))

    done = await apprise.run_once()

    assert done.sent == 1
    [request] = rx.requests
    assert request.path.startswith("/all")
    message = json.loads(request.body)
    assert message["title"] == "China sends North Korean defectors back"
    assert "https://example.org/a1" in message["message"] and "repatriated" in message["message"]
    with store_db.transaction() as tx:
        targets = [str(r[0]) for r in tx.fetchall("SELECT target FROM outbox")]
    assert targets and not any("SECRET" in t or "127.0.0.1" in t for t in targets)


async def test_a_failing_service_is_retried_later(store_db: Database, rx: Receiver) -> None:
    clock = Clock()
    apprise = notifier(store_db, json_url(rx, "/n"), clock)
    record_alert(store_db, apprise, "a1")
    rx.answer(500)
    assert (await apprise.run_once()).retry == 1
    assert outbox.pending_count(store_db, "apprise") == 1
    clock.now += 5
    assert (await apprise.run_once()).sent == 1
    assert len(rx.requests) == 2


async def test_each_service_is_paced_and_a_slow_one_holds_back_no_other(
    store_db: Database, rx: Receiver
) -> None:
    clock = Clock()
    urls = f"{json_url(rx, '/slow')}:soldiers_pows, {json_url(rx, '/b')}:repatriation"
    apprise = notifier(store_db, urls, clock)
    apprise.pacer.limits = type(apprise.pacer.limits)(interval_s=5.0)  # one a 5 s per URL
    for n in range(3):
        record_alert(store_db, apprise, f"p{n}", topics=("soldiers_pows",))
    record_alert(store_db, apprise, "other", topics=("repatriation",))

    first = await apprise.deliver_due()

    # /slow took one; its other two went back to the outbox, and /b was not held back
    assert (first.sent, first.deferred) == (2, 2)
    assert sorted(r.path for r in rx.requests) == ["/b", "/slow"]
    assert outbox.pending_count(store_db, "apprise") == 2


def test_an_unknown_service_names_the_variable_not_the_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"WATCHER_APPRISE_URLS": "nosuch://token-SECRET/x"})
    assert "WATCHER_APPRISE_URLS: URL 1 (nosuch://...)" in str(caught.value)
    assert "SECRET" not in str(caught.value)
