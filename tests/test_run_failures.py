"""Polls against misbehaving servers, end to end: the real Fetcher and Pipeline against a real
HTTP server on 127.0.0.1, the store on disk, `watcher sources` reading it.

The table of server behaviours and what a poll must record is tests/data/run/server_behaviours.yaml.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.servers.feedserver import MB, FeedServer
from watcher.cli import main
from watcher.config.feeds import SourceConfig
from watcher.fetch import Fetcher, FetchSettings
from watcher.pipeline import BACKOFF_BASE_S, Pipeline, PollOutcome
from watcher.rules import load_rules
from watcher.store import sources as sources_store
from watcher.store.db import Database, open_database

DATA = Path(__file__).parent / "data" / "run"
CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (DATA / "server_behaviours.yaml").read_text(encoding="utf-8")
)
SETTINGS = FetchSettings(
    connect_timeout=2.0, read_timeout=2.0, deadline=3.0, max_body_bytes=256 * 1024
)
INTERVAL = 600.0


def rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><guid>{i}</guid><title>{t}</title><link>https://news.example.org/{i}</link></item>"
        for i, t in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://news.example.org/</link>{items}</channel></rss>"
    ).encode()


def serve(srv: FeedServer, path: str, route: dict[str, Any]) -> None:
    options = dict(route)
    special = options.pop("special", "")
    body: bytes = rss("A quiet item") if options.pop("rss", False) else b""
    if "body" in options:
        body = str(options.pop("body")).encode("latin-1")
    if "headers" in options:
        options["headers"] = tuple(tuple(h) for h in options["headers"])
    if special == "redirect_loop":
        srv.redirect_loop(path, path + "-back")
    elif special == "gzip_bomb":
        srv.gzip_bomb(path, 64 * MB)
    elif special == "oversized":  # 2 MiB, sent as 32 x 64 KiB without holding it in memory
        srv.route(path, b"<" * 65536, repeat=32, **options)
    else:
        srv.route(path, body, **options)


@dataclass
class Setup:
    srv: FeedServer
    cfg: Path
    db: Database
    sources: list[SourceConfig]


@pytest.fixture
def setup(tmp_path: Path) -> Any:
    # the good sources on another host: 2 requests at most per host, so sources sharing a
    # host with slow ones queue behind them by design; other hosts must not
    with FeedServer() as srv, FeedServer() as other:
        sources = []
        for case in CASES:
            serve(srv, f"/{case['name']}", case["route"])
            sources.append(source(case["name"], srv))
        for n in range(3):
            other.route(f"/good{n}", rss(f"Good news {n}"))
            sources.append(source(f"good{n}", other))
        (tmp_path / "keywords.yaml").write_text((DATA / "keywords.yaml").read_text())
        lines = ["sources:"]
        for s in sources:
            lines += [f"  - id: {s.id}", f"    url: {s.url}", "    interval: 10m"]
        (tmp_path / "feeds.yaml").write_text("\n".join(lines) + "\n")
        db = open_database(tmp_path / "state" / "watcher.db")
        try:
            yield Setup(srv, tmp_path, db, sources)
        finally:
            db.close()


def source(name: str, srv: FeedServer) -> SourceConfig:
    return SourceConfig(id=name, url=srv.url(f"/{name}"), language="en", interval=INTERVAL)


async def poll_all(s: Setup, seed: int) -> tuple[dict[str, PollOutcome], list[str]]:
    rules = load_rules(s.cfg / "keywords.yaml")
    finished: list[str] = []
    async with Fetcher(SETTINGS) as fetcher:
        pipeline = Pipeline(
            db=s.db,
            fetcher=fetcher,
            scorer=lambda: rules,
            notifiers=lambda: [],
            rng=random.Random(seed),
        )

        async def poll(src: SourceConfig) -> PollOutcome:
            outcome = await pipeline.poll(src)
            finished.append(src.id)
            return outcome

        outcomes = await asyncio.gather(*(poll(src) for src in s.sources))
    return {o.source_id: o for o in outcomes}, finished


@pytest.mark.slow
async def test_misbehaving_servers_are_recorded_backed_off_and_delay_no_one(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    s = setup
    outcomes, finished = await poll_all(s, seed=1)
    # the good sources are done before the slow ones give up (a slow source delays no one)
    assert finished.index("good2") < finished.index("silent_server")
    assert finished.index("good2") < finished.index("trickle_body")
    first_delays: dict[str, float] = {}
    for case in CASES:
        name = case["name"]
        o = outcomes[name]
        assert not o.ok and o.error_kind == case["kind"], (name, o.error_kind, o.error)
        assert case.get("detail", "") in o.error, (name, o.error)
        st = sources_store.get_state(s.db, name)
        assert st is not None and st.consecutive_failures == 1, name
        assert st.last_error_kind == case["kind"] and st.last_success_at is None, name
        assert st.next_check_at is not None
        delay = st.next_check_at - st.last_checked_at  # type: ignore[operator]
        first_delays[name] = delay
        floor = max(case.get("retry_after", 0), min(INTERVAL, BACKOFF_BASE_S))
        assert floor - 5 <= delay <= max(floor, 2 * BACKOFF_BASE_S) + 5, (name, delay)
    for n in range(3):
        good = outcomes[f"good{n}"]
        assert good.ok and good.new_items == 1
    # a second failure in a row: twice the base delay, jittered, Retry-After still a floor
    outcomes, _ = await poll_all(s, seed=2)
    second: list[float] = []
    for case in CASES:
        st = sources_store.get_state(s.db, case["name"])
        assert st is not None and st.consecutive_failures == 2, case["name"]
        assert st.next_check_at is not None and st.last_checked_at is not None
        delay = st.next_check_at - st.last_checked_at
        if "retry_after" in case:
            assert delay >= case["retry_after"] - 1, case["name"]
        else:
            assert BACKOFF_BASE_S - 1 <= delay <= 2 * BACKOFF_BASE_S + 1, (case["name"], delay)
            second.append(round(delay, 3))
    assert len(set(second)) > len(second) // 2  # jitter spreads sources that failed together
    # `watcher sources` shows the health columns from the same store
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["--config", str(s.cfg), "sources"]) == 0
    out = capsys.readouterr().out
    for column in ("last success", "last error", "fails", "items", "next poll"):
        assert column in out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "HTTP 429 rate limited" in lines["rate_limited_with_retry_after"]
    assert "│ 2 " in lines["gone"].replace("  ", " ") or " 2 " in lines["gone"]
    assert "never" in lines["gone"] and "in 2." in lines["unavailable_with_retry_after"]
    assert "ago" in lines["good0"] and " 1 " in lines["good0"]
