"""The archive as a service of ``watcher run``: it finds alerts in the store by itself (nothing
in the alert path waits for it), wakes when alerts are recorded, resumes after a restart, stops
at once; ``build_app`` wires it, and the digest links the archived copy."""

from __future__ import annotations

import asyncio
import io
from datetime import date
from pathlib import Path

from rich.console import Console

from tests.archive_helpers import COURT, PROSECUTORS, add_alert, feeds
from tests.servers import FeedServer
from tests.telegram_helpers import until
from watcher.archive import ArchiveSettings
from watcher.archive.service import ArchiveService
from watcher.archive.view import archived_links, capture_state
from watcher.fetch import Fetcher
from watcher.notify.email.render import render_digest
from watcher.runtime import Runtime
from watcher.settings import Settings
from watcher.store.alerts import get_alerts
from watcher.store.db import Database, open_database
from watcher.web.guard import AddressPolicy

HTML = "text/html; charset=utf-8"


def _runtime(tmp_path: Path, db: Database) -> Runtime:
    settings = Settings(config_dir=tmp_path, sections=(ArchiveSettings(robots=False),))
    return Runtime(settings=settings, db=db, instance_id="svc:1")


def _snapshots(db: Database) -> int:
    with db.transaction() as tx:
        return int(tx.scalar("SELECT COUNT(*) FROM archive_snapshots"))


async def test_service_captures_resumes_and_stops(tmp_path: Path) -> None:
    db = open_database(tmp_path / "w.db")
    cfg = feeds()
    async with FeedServer() as srv:
        srv.route("/a/1", COURT, content_type=HTML)
        srv.route("/a/2", PROSECUTORS, content_type=HTML)
        srv.route("/slow", COURT, content_type=HTML, delay=30.0)
        first = add_alert(db, srv.url("/a/1"))  # recorded while no archive runs
        runtime = _runtime(tmp_path, db)
        policy = AddressPolicy.trusting("127.0.0.1/32")
        service = ArchiveService(runtime, lambda: cfg, policy=policy, idle_s=30.0)
        task = asyncio.create_task(service.run(runtime.stop))
        await until(lambda: _snapshots(db) == 1)
        second = add_alert(db, srv.url("/a/2"))
        runtime.alerts_recorded()  # wakes it long before its idle minute
        await until(lambda: _snapshots(db) == 2, timeout=5)
        add_alert(db, srv.url("/slow"))
        runtime.alerts_recorded()
        await until(lambda: srv.hits("/slow") == 1, timeout=5)
        runtime.stop.set()  # a capture is hanging on a slow site: stopping does not wait
        await asyncio.wait_for(task, 3)
        # a restart: the first two are not fetched again
        runtime2 = _runtime(tmp_path, db)
        srv.route("/slow", COURT.replace(b"Vladivostok", b"Khabarovsk"), content_type=HTML)
        service2 = ArchiveService(runtime2, lambda: cfg, policy=policy, idle_s=30.0)
        task2 = asyncio.create_task(service2.run(runtime2.stop))
        await asyncio.sleep(0.5)  # the slow one is still leased by the stopped process
        assert _snapshots(db) == 2
        runtime2.stop.set()
        await asyncio.wait_for(task2, 3)
    assert srv.hits("/a/1") == 1 and srv.hits("/a/2") == 1
    for alert_id in (first, second):
        state = capture_state(db, alert_id)
        assert state is not None and state.status == "live"
    assert (tmp_path / "state" / "archive").is_dir()  # the default folder
    # the digest links each archived copy on the maintainer pages
    alerts = get_alerts(db, [first, second])
    links = archived_links(db, {a.id: a.url for a in alerts.values()}, "https://w.example.org")
    digest = render_digest(list(alerts.values()), day=date(2026, 11, 20), archived=links)
    assert links[first] in digest.html and "archived copy" in digest.html
    assert f"archived copy: {links[second]}" in digest.text
    db.close()


async def test_build_app_wires_the_archive(tmp_path: Path) -> None:
    from watcher.app import build_app

    shutil_copy = (Path(__file__).parent / "data" / "run" / "keywords.yaml").read_text()
    (tmp_path / "keywords.yaml").write_text(shutil_copy)
    (tmp_path / "feeds.yaml").write_text("sources: []\n")
    async with Fetcher() as fetcher:
        app = build_app(Settings(config_dir=tmp_path), fetcher, Console(file=io.StringIO()))
        off = build_app(
            Settings(config_dir=tmp_path, sections=(ArchiveSettings(enabled=False),)),
            fetcher,
            Console(file=io.StringIO()),
        )
    assert "archive" in [s.name for s in app.services]
    assert "archive" not in [s.name for s in off.services]
    app.runtime.db.close()
    off.runtime.db.close()


async def test_an_unwritable_folder_stops_with_the_setting_named(tmp_path: Path) -> None:
    from watcher.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    db = open_database(tmp_path / "w.db")
    settings = Settings(config_dir=tmp_path, sections=(ArchiveSettings(dir=blocker / "archive"),))
    runtime = Runtime(settings=settings, db=db)
    try:
        await ArchiveService(runtime).run(runtime.stop)
    except ConfigError as exc:
        text = str(exc.problems[0])
        assert "WATCHER_ARCHIVE_DIR" in text and "WATCHER_ARCHIVE=false" in text
    else:
        raise AssertionError("no ConfigError")
    finally:
        db.close()


def test_the_digest_of_watcher_run_links_the_archive_unless_it_is_off(tmp_path: Path) -> None:
    from watcher.notify.base import Context
    from watcher.notify.email import SmtpSettings
    from watcher.notify.email.notifier import DigestService
    from watcher.notify.kinds import build_notifiers

    db = open_database(tmp_path / "w.db")
    smtp = SmtpSettings(host="127.0.0.1")
    pages = "https://w.example.org"
    try:
        for enabled, expected in ((True, pages), (False, "")):
            archive = ArchiveSettings(url=pages, enabled=enabled)
            settings = Settings(config_dir=tmp_path, sections=(smtp, archive))
            built = build_notifiers(Context(Runtime(settings=settings, db=db)))
            [digests] = [n for n in built if isinstance(n, DigestService)]
            assert digests.archive_url == expected
    finally:
        db.close()
