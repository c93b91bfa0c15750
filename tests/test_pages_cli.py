"""``watcher web`` and ``watcher run`` as processes: the pages on their port, and Ctrl-C or
SIGTERM stops them at once, an open keep-alive connection or not (uvicorn takes no signal)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers.feedserver import FeedServer
from tests.test_pages_access import free_port
from tests.web_helpers import ALERTING, rss, write_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watcher_web_serves_alone_and_stops_promptly(tmp_path: Path, sig: signal.Signals) -> None:
    shutil.copy(ROOT / "keywords.yaml", tmp_path / "keywords.yaml")
    (tmp_path / "feeds.yaml").write_text(
        "sources:\n  - id: one\n    url: https://example.org/feed\n", "utf-8"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "--config", str(tmp_path), "web", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"on http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        with httpx.Client(base_url=f"http://127.0.0.1:{found.group(1)}") as client:
            health = client.get("/healthz").json()
            assert health["status"] == "ok" and list(health["checks"]) == ["store"]
            assert "one" in client.get("/sources").text
            started = time.monotonic()
            proc.send_signal(sig)  # the client's connection is still open (keep-alive)
            code = proc.wait(10)
        assert code == 0
        assert time.monotonic() - started < 5
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _port_line(stream: object) -> int:
    for line in stream:  # type: ignore[attr-defined]
        found = re.search(r"pages, health and metrics on http://127\.0\.0\.1:(\d+)/", line)
        if found:
            return int(found.group(1))
    raise AssertionError("the process ended without serving")


@pytest.mark.slow
def test_watcher_run_serves_the_pages_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.route("/news.xml", rss([ALERTING], "n"))
        write_config(tmp_path, server, ["/news.xml"])
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "WATCHER_HTTP_PORT": str(free_port()),  # 0 would turn them off
            "WATCHER_ARCHIVE": "false",
            "WATCHER_STORY_ENCODER": "false",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(tmp_path), "run"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            port = _port_line(proc.stderr)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                deadline = time.monotonic() + 30
                while ALERTING not in client.get("/alerts").text:
                    assert time.monotonic() < deadline, "no alert on the page"
                    time.sleep(0.2)
                started = time.monotonic()
                proc.send_signal(signal.SIGINT)
                code = proc.wait(10)
            assert code == 0 and time.monotonic() - started < 5
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
