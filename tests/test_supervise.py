"""``watcher run``'s supervisor: a part that fails or ends early comes back; a ConfigError
stops everything; stop ends them all. Services here are small test doubles of the Service
protocol (the real ones are run by test_run_resilience.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from watcher.app import supervise
from watcher.errors import ConfigError, Problem


@dataclass
class Flaky:
    """Fails (or returns) on its first ``bad`` runs, then runs until stop."""

    how: str  # "raise", "return" or "config"
    bad: int = 2
    name: str = "flaky"
    runs: int = 0
    ran_to_stop: bool = False
    log: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        self.runs += 1
        if self.runs <= self.bad:
            if self.how == "raise":
                raise ConnectionError("Bot API unreachable")
            if self.how == "config":
                raise ConfigError([Problem("x.yaml", 1, 1, "bad")])
            return
        await stop.wait()
        self.ran_to_stop = True


@pytest.mark.parametrize("how", ["raise", "return"])
async def test_a_failing_or_ended_part_is_restarted(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("watcher.app.RESTART_FIRST_S", 0.05)
    stop = asyncio.Event()
    failed: list[BaseException] = []
    service = Flaky(how)
    task = asyncio.create_task(supervise(service, stop, failed))
    async with asyncio.timeout(5):
        while service.runs < 3:
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert service.runs == 3 and service.ran_to_stop and failed == []


async def test_a_config_error_stops_everything() -> None:
    stop = asyncio.Event()
    failed: list[BaseException] = []
    service = Flaky("config", bad=1)
    await asyncio.wait_for(supervise(service, stop, failed), 5)
    assert stop.is_set() and service.runs == 1
    assert len(failed) == 1 and isinstance(failed[0], ConfigError)
