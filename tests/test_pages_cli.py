"""``watcher web`` as a process: it serves the pages alone (no polling, health checks the store
only) and Ctrl-C or SIGTERM stops it at once, an open keep-alive connection or not."""

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
