"""The notifier contract: the "add a notifier" example of docs/architecture.md, run as it is
written, and the base's shared behaviour (pacing, outcomes, metrics, summaries)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.telegram_helpers import Clock, record_alert
from watcher.notify.base import Context, Notifier, Retry, Sent
from watcher.notify.kinds import build_notifiers, load_settings, notifier_kinds, variables
from watcher.notify.pacing import Limits, Pacer
from watcher.ops.metrics import Metrics
from watcher.runtime import Runtime
from watcher.store import outbox
from watcher.store.db import Database

ROOT = Path(__file__).resolve().parent.parent


def example_source() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    section = text[text.index("### Add a notifier") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.fixture
def example(tmp_path: Path) -> Iterator[ModuleType]:
    """The documented module, imported as a module of its own (then forgotten again)."""
    path = tmp_path / "jsonl_notifier.py"
    path.write_text(example_source(), "utf-8")
    spec = importlib.util.spec_from_file_location("jsonl_notifier", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["jsonl_notifier"] = module
    spec.loader.exec_module(module)
    notifier_kinds.cache_clear()
    try:
        yield module
    finally:
        Notifier.kinds.pop("jsonl", None)
        sys.modules.pop("jsonl_notifier", None)
        notifier_kinds.cache_clear()


async def test_the_documented_notifier_is_found_by_kind_and_delivers(
    example: ModuleType, store_db: Database, tmp_path: Path
) -> None:
    assert notifier_kinds()["jsonl"] is example.JsonLinesNotifier
    assert "WATCHER_JSONL_PATH" in {v.name for v in variables()}
    out = tmp_path / "alerts.jsonl"
    settings = load_settings({"WATCHER_JSONL_PATH": str(out)})
    runtime = Runtime(settings=settings, db=store_db, metrics=Metrics())
    [jsonl] = build_notifiers(Context(runtime))  # a per-alert channel: no console
    record_alert(store_db, jsonl, "doc-1")

    assert (await jsonl.run_once(Clock().now)).sent == 1
    [line] = out.read_text().splitlines()
    assert json.loads(line)["title"] == "China sends North Korean defectors back"
    metrics = runtime.metrics.registry.get_sample_value(
        "watcher_deliveries_total", {"channel": "jsonl", "outcome": "sent"}
    )
    assert metrics == 1.0


def test_app_pipeline_and_cli_name_no_notifier() -> None:
    modules = {cls.__module__ for cls in notifier_kinds().values()}
    classes = {cls.__name__ for cls in notifier_kinds().values()}
    for path in ("watcher/app.py", "watcher/pipeline.py", "watcher/cli/run.py"):
        code = (ROOT / path).read_text("utf-8")
        named = {m for m in modules if m in code} | {c for c in classes if c in code}
        assert not named, f"{path} names {named}"
        assert "isinstance(n" not in code


class Flaky(Notifier[Any, Any]):
    """A notifier whose outcomes the test scripts, over an in-memory queue."""

    def __init__(self, outcomes: list[Any], pacer: Pacer | None = None) -> None:
        super().__init__(None, None, pacer=pacer, metrics=Metrics())  # type: ignore[arg-type]
        self.outcomes = outcomes
        self.rows: list[Any] = []
        self.marks: list[tuple[str, int, object]] = []
        self.sent_at: list[float] = []

    async def claim(self, now: float) -> list[Any]:
        rows, self.rows = self.rows, []
        return rows

    async def load(self, rows: Any) -> dict[int, str]:
        return {r.id: "message" for r in rows}

    async def send(self, row: Any, alert: Any) -> Any:
        self.sent_at.append(asyncio.get_running_loop().time())
        return self.outcomes.pop(0)

    async def mark_sent(self, row: Any, ref: str) -> None:
        self.marks.append(("sent", row.id, ref))

    async def mark_retry(self, row: Any, error: str, at: float) -> None:
        self.marks.append(("retry", row.id, at))

    async def mark_dead(self, row: Any, reason: str) -> None:
        self.marks.append(("dead", row.id, reason))

    async def defer(self, row: Any, at: float) -> None:
        self.marks.append(("defer", row.id, at))


Flaky.kind = "flaky"  # set after the class: a test double is not registered as a kind


class Row:
    def __init__(self, id: int, target: str, attempts: int = 0) -> None:
        self.id, self.target, self.attempts = id, target, attempts


async def test_a_flood_wait_pauses_and_resends_in_place() -> None:
    flaky = Flaky([Retry("429", after=0.3, pause_all=True), Sent("ok")])
    flaky.rows = [Row(1, "a")]
    done = await flaky.deliver_due(now=100.0)
    assert (done.sent, done.retry) == (1, 0) and flaky.marks == [("sent", 1, "ok")]
    assert flaky.sent_at[1] - flaky.sent_at[0] >= 0.29


async def test_a_retry_uses_the_back_off_with_the_services_wait_as_floor() -> None:
    flaky = Flaky([Retry("503", after=90.0), Retry("503")])
    flaky.rows = [Row(1, "a", attempts=0), Row(2, "b", attempts=3)]
    await flaky.deliver_due(now=100.0)
    at = {row: when for _, row, when in flaky.marks}
    assert at[1] == 190.0  # the service's 90 s beat the first back-off step
    assert 100.0 + 4.0 <= at[2] <= 100.0 + 8.0  # 1 s doubling, 4th attempt, equal jitter


async def test_a_busy_target_goes_back_to_the_outbox_spaced_and_others_go_on() -> None:
    pacer = Pacer(Limits(interval_s=10.0))
    flaky = Flaky([Sent(), Sent()], pacer=pacer)
    flaky.rows = [Row(1, "slow"), Row(2, "slow"), Row(3, "slow"), Row(4, "fast")]
    done = await flaky.deliver_due(now=100.0)
    assert (done.sent, done.deferred) == (2, 2)
    deferred = [when for kind, _, when in flaky.marks if kind == "defer"]
    assert deferred[0] == pytest.approx(110.0, abs=0.5)  # when "slow" is free again ...
    assert deferred[1] == pytest.approx(120.0, abs=0.5)  # ... and the next slot after it


async def test_the_cap_sends_one_summary_per_target(store_db: Database) -> None:
    from watcher.notify.console import ConsoleNotifier
    from watcher.notify.fanout import fan_out
    from watcher.store.alerts import get_alerts

    class Quiet:
        kind = "none"

        def targets(self, tx: object, alert: object) -> tuple[str, ...]:
            return ()

    ids = [record_alert(store_db, Quiet(), f"c{n}").id for n in range(14)]  # type: ignore[arg-type]
    console = ConsoleNotifier(store_db)
    alerts = list(get_alerts(store_db, ids).values())
    with store_db.transaction() as tx:
        added = fan_out(tx, alerts, [console], 1.0, cap=10)
    assert added == 11
    rows = outbox.claim(store_db, "console", "t", Clock().now, limit=50)
    summaries = [r for r in rows if r.action.startswith("more:")]
    assert len(summaries) == 1 and len(summaries[0].action[5:].split(",")) == 4


@pytest.mark.parametrize(
    ("spacing", "dues"),
    [
        (0.0, [1.0, 1.0, 1.0, 1.0]),  # no pacing (the console): all due at once
        (3.0, [1.0, 4.0, 7.0, 10.0]),  # a channel at 20 a minute: a row every 3 s
    ],
)
def test_a_polls_rows_are_due_at_the_targets_pace(
    store_db: Database, spacing: float, dues: list[float]
) -> None:
    """Of one poll (three alerts and, past a cap of 3, one more), each target's rows are due
    one after another at its pace; an alert of a later poll is due when it is made, so it goes
    out before the rest of the flood instead of behind all of it."""
    from watcher.notify.fanout import fan_out
    from watcher.store.alerts import get_alerts

    class Paced:
        kind = "paced"

        def targets(self, tx: object, alert: object) -> tuple[str, ...]:
            return ("@chan",)

        def spacing(self, target: str) -> float:
            return spacing

    class Quiet:
        kind = "none"

        def targets(self, tx: object, alert: object) -> tuple[str, ...]:
            return ()

    ids = [record_alert(store_db, Quiet(), f"p{n}").id for n in range(5)]  # type: ignore[arg-type]
    alerts = get_alerts(store_db, ids)
    paced = Paced()
    with store_db.transaction() as tx:
        fan_out(tx, [alerts[i] for i in ids[:4]], [paced], 1.0, cap=3)  # type: ignore[list-item]
        fan_out(tx, [alerts[ids[4]]], [paced], 2.0, cap=3)  # type: ignore[list-item]
        rows = tx.fetchall(
            "SELECT alert_id, next_attempt_at FROM outbox WHERE channel = 'paced' ORDER BY id"
        )
    assert [due for _, due in rows[:4]] == dues
    assert (rows[4][0], rows[4][1]) == (ids[4], 2.0)  # ahead of the flood's rows due later
