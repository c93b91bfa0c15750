"""/healthz and /metrics served by the real web service (uvicorn) on 127.0.0.1, on both store
dialects."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from watcher.config.live import LiveConfig
from watcher.errors import ConfigError
from watcher.ops.http import Health
from watcher.ops.metrics import Metrics
from watcher.ops.probe import probe
from watcher.pages.app import Web
from watcher.pages.service import WebService, web_service
from watcher.runtime import Runtime
from watcher.settings import Settings
from watcher.store import Database, open_database
from watcher.store import outbox as ob
from watcher.store.alerts import insert_alert

ROOT = Path(__file__).resolve().parent.parent


def config() -> LiveConfig:
    return LiveConfig.load(ROOT / "feeds.yaml", ROOT / "keywords.yaml", "off")


def web_app_service(
    health: Health, metrics: Metrics, *, port: int, instance_id: str = ""
) -> WebService:
    web = Web(Settings(), health.db, config(), health, metrics, instance_id)
    return WebService(web, port=port)


@asynccontextmanager
async def serving(
    db: Database, metrics: Metrics, scheduler_running: Callable[[], bool] | None
) -> AsyncIterator[str]:
    service = web_app_service(Health(db, scheduler_running), metrics, port=0, instance_id="t:1")
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.wait_for(service.ready.wait(), 5)
    try:
        yield f"http://127.0.0.1:{service.bound_port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _alert(db: Database, key: str) -> int:
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=key,
            item_id=None,
            source_id="s1",
            source_name="S1",
            title=key,
            url="",
            summary="",
            language="en",
            published=datetime(2026, 1, 1, tzinfo=UTC),
            topics=["repatriation"],
            score=3.0,
            matches=[],
            now=1000.0,
        )
        assert alert is not None
        ob.enqueue(tx, alert.id, "telegram", ["1", "2"], 1000.0)
        ob.enqueue(tx, alert.id, "console", ["-"], 1000.0)
        return alert.id


async def test_healthz_ok_when_scheduler_runs_and_store_answers(store_db: Database) -> None:
    async with serving(store_db, Metrics(), lambda: True) as base, httpx.AsyncClient() as c:
        r = await c.get(base + "/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["instance"] == "t:1"
    assert body["checks"]["scheduler"] == {"ok": True, "detail": "running"}
    assert body["checks"]["store"]["ok"] is True
    assert store_db.dialect in body["checks"]["store"]["detail"]
    assert "reason" not in body


@pytest.mark.parametrize(
    ("scheduler_running", "why"),
    [
        (lambda: False, "scheduler: not running"),
        (None, "scheduler: no scheduler registered"),
    ],
)
async def test_healthz_503_says_the_scheduler_is_not_running(
    store_db: Database, scheduler_running: Callable[[], bool] | None, why: str
) -> None:
    async with serving(store_db, Metrics(), scheduler_running) as base, httpx.AsyncClient() as c:
        r = await c.get(base + "/healthz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["status"] == "failing"
    assert body["reason"] == why
    assert body["checks"]["store"]["ok"] is True


async def test_healthz_503_when_the_store_does_not_answer(pg_url: str) -> None:
    for db in (open_database(":memory:"), open_database(pg_url)):
        async with serving(db, Metrics(), lambda: True) as base, httpx.AsyncClient() as c:
            assert (await c.get(base + "/healthz")).status_code == 200
            db.close()  # the store goes away under the running service
            r = await c.get(base + "/healthz")
            m = await c.get(base + "/metrics")
        assert r.status_code == 503, db.dialect
        body = r.json()
        assert body["checks"]["store"]["ok"] is False
        assert body["reason"].startswith("store: "), body
        assert body["checks"]["scheduler"]["ok"] is True
        # /metrics still answers, saying the store is down.
        assert m.status_code == 200
        assert samples(m.text)[("watcher_store_up", ())] == 0.0


async def test_healthz_503_when_the_store_is_locked_longer_than_the_probe_waits(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "w.db")
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the store
    try:
        ok, results = await Health(db, lambda: True, store_timeout_s=0.3).check()
    finally:
        other.rollback()
        other.close()
    assert not ok
    assert [r.detail for r in results if r.name == "store"] == ["no answer within 0.3 s (sqlite)"]
    ok, _ = await Health(db, lambda: True).check()  # the lock is gone: healthy again
    assert ok
    db.close()


async def test_metrics_counts_and_reads_the_queue_from_the_store(store_db: Database) -> None:
    metrics = Metrics("host:42")
    metrics.fetch("ok")
    metrics.fetch("ok")
    metrics.fetch("HTTP 404 not found")
    metrics.new_items(3)
    metrics.new_items(0)
    metrics.alert(["repatriation", "labour"])
    metrics.alert(["repatriation"])
    metrics.delivery("telegram", "sent")
    metrics.delivery("telegram", "retry")
    metrics.source_failure("rfa-ko", "timeout")
    metrics.observe_cycle(0.3)
    alert_id = _alert(store_db, "a")
    with store_db.transaction() as tx:
        tx.execute("INSERT INTO sources (id, consecutive_failures) VALUES ('bad', 2), ('ok', 0)")

    async with serving(store_db, metrics, lambda: True) as base, httpx.AsyncClient() as c:
        r = await c.get(base + "/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"] == Metrics.content_type
        assert r.headers["content-type"].startswith("text/plain; version=")
        got = samples(r.text)
        # Everything for this alert is sent: the queue gauge goes to 0, not stale.
        for row in ob.claim(store_db, "telegram", "me", now=2000.0) + ob.claim(
            store_db, "console", "me", now=2000.0
        ):
            ob.mark_sent(store_db, row.id, "ref", now=2000.0)
        after = samples((await c.get(base + "/metrics")).text)
        head = await c.head(base + "/metrics")

    assert got[("watcher_fetches_total", (("outcome", "ok"),))] == 2
    assert got[("watcher_fetches_total", (("outcome", "HTTP 404 not found"),))] == 1
    assert got[("watcher_items_total", ())] == 3
    assert got[("watcher_alerts_total", (("topic", "repatriation"),))] == 2
    assert got[("watcher_alerts_total", (("topic", "labour"),))] == 1
    assert got[("watcher_deliveries_total", (("channel", "telegram"), ("outcome", "sent")))] == 1
    assert got[("watcher_deliveries_total", (("channel", "telegram"), ("outcome", "retry")))] == 1
    assert got[("watcher_source_failures_total", (("kind", "timeout"), ("source", "rfa-ko")))] == 1
    assert got[("watcher_cycle_duration_seconds_count", ())] == 1
    assert got[("watcher_cycle_duration_seconds_bucket", (("le", "0.5"),))] == 1
    assert got[("watcher_cycle_duration_seconds_bucket", (("le", "0.25"),))] == 0
    assert got[("watcher_outbox_pending", (("channel", "telegram"),))] == 2
    assert got[("watcher_outbox_pending", (("channel", "console"),))] == 1
    assert got[("watcher_sources_failing", ())] == 1
    assert got[("watcher_store_up", ())] == 1
    assert got[("watcher_instance_info", (("instance", "host:42"),))] == 1
    assert after[("watcher_outbox_pending", (("channel", "telegram"),))] == 0
    assert after[("watcher_outbox_pending", (("channel", "console"),))] == 0
    assert alert_id
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0


def test_metrics_registries_are_not_shared() -> None:
    a, b = Metrics(), Metrics()
    a.fetch("ok")
    assert b'outcome="ok"' not in b.render()
    assert b'watcher_fetches_total{outcome="ok"} 1.0' in a.render()


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.readline(), 5)  # the status line
    writer.close()
    return data


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"404"),
        (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", b"405"),
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n", b"400"),
        (b"GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", b"200"),
    ],
)
async def test_bad_requests_get_clear_statuses(
    memdb: Database, request_bytes: bytes, status: bytes
) -> None:
    service = web_app_service(Health(memdb, lambda: True), Metrics(), port=0)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await service.ready.wait()
    assert service.bound_port
    try:
        answer = await _raw(service.bound_port, request_bytes)
    finally:
        stop.set()
        await task
    assert answer.split(b" ", 2)[1] == status, answer[:200]


async def test_http_service_is_off_unless_a_port_is_set(memdb: Database) -> None:
    off = Runtime(Settings(), memdb)
    assert web_service(off, config(), lambda: True) is None
    on = Runtime(Settings(http_port=9), memdb, instance_id="box:7")
    service = web_service(on, config(), lambda: True)
    assert service is not None
    assert (service.host, service.port, service.web.instance_id) == ("127.0.0.1", 9, "box:7")
    assert b'watcher_instance_info{instance="box:7"} 1.0' in on.metrics.render()


async def test_probe_exit_codes_follow_healthz(memdb: Database) -> None:
    running = True
    async with serving(memdb, Metrics(), lambda: running) as base:
        port = base.rsplit(":", 1)[1]
        code, text = await asyncio.to_thread(probe, {"WATCHER_HTTP_PORT": port})
        assert code == 0 and json.loads(text)["status"] == "ok"
        # 0.0.0.0 (as in a container) is probed on loopback
        env = {"WATCHER_HTTP_PORT": port, "WATCHER_HTTP_HOST": "0.0.0.0"}
        code, _ = await asyncio.to_thread(probe, env)
        assert code == 0
        running = False
        code, text = await asyncio.to_thread(probe, {"WATCHER_HTTP_PORT": port})
        assert code == 1 and "scheduler: not running" in text
    code, text = await asyncio.to_thread(probe, {})
    assert code == 1 and "WATCHER_HTTP_PORT is not set" in text
    code, text = await asyncio.to_thread(probe, {"WATCHER_HTTP_PORT": port})  # server gone
    assert code == 1 and "unhealthy" in text


async def test_a_taken_port_is_a_clear_configuration_error(memdb: Database) -> None:
    async with serving(memdb, Metrics(), lambda: True) as base:
        port = int(base.rsplit(":", 1)[1])
        clash = web_app_service(Health(memdb, lambda: True), Metrics(), port=port)
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            await clash.run(asyncio.Event())
