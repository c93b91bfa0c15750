"""Issue 11's findings on the notifier and settings side, one row each in
tests/data/hostile/notify_cases.yaml, run by kind (see the file's header)."""

from __future__ import annotations

import io
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from ruamel.yaml import YAML

from tests.servers.fake_telegram import FakeTelegram
from tests.servers.feedserver import FeedServer
from tests.servers.receiver import Receiver
from tests.telegram_helpers import Clock, record_alert
from tests.test_run_once import ALERTING, DATA, rss
from watcher.cli import main
from watcher.display import one_line
from watcher.models import Alert, Match
from watcher.notify.apprise import plain_alert
from watcher.notify.console import ConsoleNotifier, format_alert
from watcher.notify.email.render import render_digest
from watcher.notify.fanout import fan_out
from watcher.notify.telegram.format import format_alert as telegram_html
from watcher.notify.webhook import alert_json
from watcher.store.alerts import get_alerts
from watcher.store.db import Database

CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (Path(__file__).parent / "data" / "hostile" / "notify_cases.yaml").read_text("utf-8")
)
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HREF = re.compile(r"""href=["']([^"']*)["']""", re.I)


def by_kind(kind: str) -> list[Any]:
    return [pytest.param(c, id=f"item{c['item']}: {c['name']}") for c in CASES if c["kind"] == kind]


def hostile_alert(fields: dict[str, Any]) -> Alert:
    fields = dict(fields)
    if "title_repeat" in fields:
        text, times = fields.pop("title_repeat")
        fields["title"] = text * times
    values: dict[str, Any] = {
        "id": 1,
        "item_id": 1,
        "source_id": "src",
        "source_name": "Daily NK",
        "title": "t",
        "url": "https://example.org/a",
        "published": datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
        "topics": ("repatriation",),
        "score": 7.5,
        "matches": (Match("deport*", "deported", "summary", 0, 8, 3.0, "deported <b>x</b>"),),
        "created_at": datetime(2026, 11, 22, 9, 31, tzinfo=UTC),
        "summary": "deported",
    }
    return Alert(**(values | fields))


def rendered(alert: Alert) -> dict[str, str]:
    """Every formatter's output for ``alert`` (the console as the terminal shows it)."""
    screen = Console(file=io.StringIO(), width=120, color_system=None)
    screen.print(format_alert(alert))
    digest = render_digest([alert], day=date(2026, 11, 22))
    title, body = plain_alert(alert)
    return {
        "telegram": telegram_html(alert),
        "console": screen.file.getvalue(),  # type: ignore[attr-defined]
        "apprise": title + "\n" + body,
        "webhook": str(alert_json(alert)),
        "digest.html": digest.html,
        "digest.txt": digest.text,
    }


@pytest.mark.parametrize("case", by_kind("format"))
def test_format(case: dict[str, Any]) -> None:
    alert = hostile_alert(case["alert"])
    for name, out in rendered(alert).items():
        assert not UNSAFE.search(out), name
        assert len(out) < 20_000, (name, len(out))
        for href in HREF.findall(out):
            assert href.lower().startswith(("http://", "https://", "mailto:")), (name, href)
        assert "javascript:" not in out.lower() or name in ("webhook",), name
    console = rendered(alert)["console"]
    assert one_line(alert.title, 60)[:20] in console  # markup in it printed as itself


@pytest.mark.parametrize("case", by_kind("settings"))
def test_settings(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
    (tmp_path / "feeds.yaml").write_text("sources: []\n")
    for name, value in case["env"].items():
        monkeypatch.setenv(name, value)
    assert main(["--config", str(tmp_path), "check"]) == 2
    err = capsys.readouterr().err
    assert case["error"] in err and "Traceback" not in err
    assert not case.get("hidden") or case["hidden"] not in err


@pytest.mark.parametrize("case", by_kind("folder"))
def test_folder(case: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "config"
    if case["broken"] == "dotenv":
        shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
        config = tmp_path
        (tmp_path / ".env").mkdir()  # exists, cannot be read as a file (root reads any file)
    assert main(["--config", str(config), "check"]) == 2
    err = capsys.readouterr().err
    assert case["error"] in err and "Traceback" not in err
    if case["broken"] == "missing":
        assert "--config" in err


@pytest.mark.parametrize("case", by_kind("cap"))
async def test_cap(case: dict[str, Any], store_db: Database) -> None:
    class Quiet:
        kind = "none"

        def targets(self, tx: object, alert: object) -> tuple[str, ...]:
            return ()

    ids = [record_alert(store_db, Quiet(), f"k{n}").id for n in range(case["items"])]  # type: ignore[arg-type]
    screen = Console(file=io.StringIO(), width=200)
    console = ConsoleNotifier(store_db, console=screen)
    alerts = list(get_alerts(store_db, ids).values())
    with store_db.transaction() as tx:
        fan_out(tx, alerts, [console], Clock().now, cap=case["cap"])
    done = await console.run_once(Clock().now)
    printed = screen.file.getvalue()  # type: ignore[attr-defined]
    assert done.sent == case["cap"] + 1
    assert f"and {case['items'] - case['cap']} more alerts from Daily NK:" in printed
    assert len(get_alerts(store_db, ids)) == case["items"]  # all kept (the digest reads them)


@pytest.mark.parametrize("case", by_kind("once"))
def test_once(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with FakeTelegram("123:GOOD") as tg, FeedServer() as feeds, Receiver() as rx:
        feeds.route("/n.xml", rss([("a1", ALERTING, datetime.now(UTC))]))
        shutil.copy(DATA / "keywords.yaml", tmp_path / "keywords.yaml")
        (tmp_path / "feeds.yaml").write_text(
            f"sources:\n  - id: n\n    url: {feeds.url('/n.xml')}\n    language: en\n"
        )
        monkeypatch.setenv("WATCHER_TELEGRAM_TOKEN", case["token"])
        monkeypatch.setenv("WATCHER_TELEGRAM_API_URL", tg.base_url)
        monkeypatch.setenv("WATCHER_TELEGRAM_CHANNELS", "@alerts")
        monkeypatch.setenv("WATCHER_WEBHOOK_URLS", rx.url("/hook"))
        monkeypatch.setenv("WATCHER_WEBHOOK_SECRET", "a-webhook-secret-of-16+")
        code = main(["--config", str(tmp_path), "run", "--once"])
        captured = capsys.readouterr()
        assert code == 3
        assert case["error"] in captured.err
        assert "Traceback" not in captured.err + captured.out
        assert "REVOKED-SECRET" not in captured.err + captured.out
        assert len(rx.requests) == 1  # the other channel still delivered
