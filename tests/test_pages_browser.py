"""The pages in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright,
against ``watcher run`` polling loopback feeds into a temp SQLite store.

Screenshots at desktop (1280x800) and phone (390x844) width go to the test's temp folder, and
also to ``$WATCHER_SCREENSHOTS`` when that is set (to look at them). Without a chromium the
tests skip and say so; Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.feedserver import FeedServer
from tests.test_pages_access import TOKEN, run_settings
from tests.web_helpers import ALERTING, QUIET, WatcherRun, rss, seed_alerts, wait_for, write_config
from watcher.store.alerts import alerts_before
from watcher.store.db import open_database
from watcher.store.labels import record_vote

pytestmark = pytest.mark.slow

# a title with a 160-character "word": it must wrap at phone width, not widen the page
LONG = "North Korean workers in Russia face forced labour, defectors say " + "x" * 160
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    if executable is None:
        pytest.skip("no chromium found (Debian: apt-get install chromium); browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    wanted = os.environ.get("WATCHER_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        for shot in folder.glob("*.png"):
            shutil.copy(shot, Path(wanted) / shot.name)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WatcherRun]:
    """``watcher run`` on loopback: one feed alerting, one failing, 30 days of past alerts."""
    folder = tmp_path_factory.mktemp("site")
    with FeedServer() as server:
        server.route("/news.xml", rss([ALERTING, QUIET, LONG], "n"))
        server.route("/gone.xml", b"gone", status=404)
        write_config(folder, server, ["/news.xml", "/gone.xml"])
        settings = run_settings(folder)
        now = time.time()
        (folder / "state").mkdir()
        db = open_database(settings.db_target)  # the past, before watcher run starts
        seed_alerts(db, "news", [0, 3, 1, 0, 5, 2, 0, 0, 4, 1] + [2, 0, 3, 4, 1] * 4, now)
        db.close()
        with WatcherRun(settings) as run:
            wait_for(lambda: _pipeline_alert(run) is not None, "the feed's alert in the store")
            alert = _pipeline_alert(run)
            assert alert is not None
            for voter, verdict in (("1", "relevant"), ("2", "relevant"), ("3", "not_relevant")):
                record_vote(run.db, voter=voter, role="user" if voter != "1" else "admin",
                            channel="telegram", item_id=alert.item_id, verdict=verdict,
                            alert_id=alert.id, now=now)  # fmt: skip
            yield run


def _pipeline_alert(run: WatcherRun) -> Any:
    found = [a for a in alerts_before(run.db, None, 100) if a.title == ALERTING]
    return found[0] if found else None


def _shoot(page: Any, shots: Path, name: str, *, full_page: bool = True) -> None:
    """Screenshots at each width; nothing may stick out sideways (no horizontal scrolling)."""
    for label, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=full_page)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= size["width"], f"{name} is {wide} px wide at {label} width"


def test_the_alerts_page_lists_an_alert_from_the_pipeline(
    browser: Any, site: WatcherRun, shots: Path
) -> None:
    page = browser.new_page()
    page.goto(site.base + "/alerts")
    alert = page.locator("li.alert", has_text=ALERTING)
    assert alert.count() == 1
    assert QUIET not in page.content()
    assert page.locator("li.alert", has_text=LONG).count() == 1
    assert "Votes: 2 relevant · 1 not relevant · 0 wrong topic (1 by admins)" in alert.inner_text()
    summary = alert.locator("details.sent summary")
    assert summary.inner_text() == "Sent: 1 sent"
    summary.click()  # <details> opens without any script of ours
    assert alert.locator("details.sent li").inner_text().startswith("console: sent 20")
    assert page.locator("li.alert").count() == 50  # a page; the rest behind "Older alerts"
    _shoot(page, shots, "alerts", full_page=False)  # the first screen of 50
    page.click("text=Older alerts")
    assert "before=" in page.url and page.locator("li.alert").count() > 0
    page.close()


def test_the_sources_page_draws_alerts_per_day(browser: Any, site: WatcherRun, shots: Path) -> None:
    page = browser.new_page()
    page.goto(site.base + "/sources")
    news = page.locator("tr", has_text="news.xml").first
    assert news.locator(".health").inner_text() == "ok"
    bars = news.locator("svg.bars rect")
    assert bars.count() == 30
    titles = [bars.nth(i).locator("title").text_content() or "" for i in (25, 29)]
    assert titles[1].endswith(": 2")  # today: the feed's own alerts
    assert titles[0].endswith(": 5")  # four days ago: five seeded
    box = news.locator("svg.bars").bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 20
    gone = page.locator("tr", has_text="gone.xml").first
    assert gone.locator(".health").inner_text() == "failing"
    assert "never worked" in gone.inner_text() and "HTTP 404" in gone.inner_text()
    _shoot(page, shots, "sources")
    page.close()


def test_login_is_required_when_bound_off_loopback(
    browser: Any, tmp_path: Path, shots: Path
) -> None:
    with FeedServer() as server:
        server.route("/news.xml", rss([ALERTING], "n"))
        write_config(tmp_path, server, ["/news.xml"])
        with WatcherRun(run_settings(tmp_path, host="0.0.0.0", token=TOKEN)) as run:
            page = browser.new_page()
            page.goto(run.base + "/sources")
            assert page.url.startswith(run.base + "/login?next=")
            _shoot(page, shots, "login")
            page.fill("input[name=name]", "alice")
            page.fill("input[name=token]", "not the token")
            page.click("button[type=submit]")
            assert "Wrong token." in page.content()
            page.fill("input[name=name]", "alice")
            page.fill("input[name=token]", TOKEN)
            page.click("button[type=submit]")
            assert page.url == run.base + "/sources"
            assert page.locator(".who span").inner_text() == "alice"
            page.click("text=sign out")
            assert page.url == run.base + "/login"
            page.goto(run.base + "/alerts")
            assert page.url.startswith(run.base + "/login?next=")
            page.close()


def test_a_post_without_the_csrf_token_is_refused(browser: Any, site: WatcherRun) -> None:
    page = browser.new_page()
    page.goto(site.base + "/alerts")
    # the session cookie goes along, the token does not: refused
    assert page.request.post(site.base + "/logout").status == 403
    page.eval_on_selector("form.who input[name=csrf]", "e => e.value = 'forged'")
    with page.expect_navigation():  # the submit's answer replaces the page
        page.eval_on_selector("form.who", "f => f.submit()")
    assert page.locator("body").inner_text().startswith("refused: the form's CSRF token")
    page.close()
    # and without a browser
    with httpx.Client(base_url=site.base) as c:
        assert c.post("/logout", data={"csrf": ""}).status_code == 403
