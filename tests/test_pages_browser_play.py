"""The review page, the playground and the item page in a real browser (headless Chromium
driven by Playwright; the fixtures of test_pages_browser.py), against ``watcher run``
polling a loopback feed: a label given on the page is in ``watcher labels export``; the
playground shows what a rule edit changes; the item page highlights the matched terms.
Screenshots (``play-*``) at desktop and phone width, as test_pages_browser.py says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.feedserver import FeedServer
from tests.test_pages_access import run_settings
from tests.test_pages_browser import VIEWPORTS, browser, shots  # noqa: F401 (fixtures)
from tests.web_helpers import ALERTING, QUIET, WatcherRun, rss, wait_for, write_config
from watcher.cli import main

pytestmark = pytest.mark.slow

NEAR_MISS = "North Korean defector speaks in Seoul"  # repatriation 2 of 4
POSSIBLE = "North Korean workers seen in Russia"  # the model's possible match


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WatcherRun]:
    folder = tmp_path_factory.mktemp("play")
    with FeedServer() as server:
        server.route("/news.xml", rss([ALERTING, NEAR_MISS, POSSIBLE, QUIET], "n"))
        write_config(folder, server, ["/news.xml"])
        with WatcherRun(run_settings(folder)) as run:
            wait_for(lambda: len(_ids(run)) == 4, "the feed's items stored")
            yield run


def _ids(run: WatcherRun) -> dict[str, int]:
    with run.db.transaction() as tx:
        return {str(t): int(i) for i, t in tx.fetchall("SELECT id, title FROM items")}


def _shoot(page: Any, folder: Path, name: str) -> None:
    for label, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"play-{name}-{label}.png"), full_page=True)


def test_a_label_given_on_the_review_page_is_in_labels_export(
    browser: Any,  # noqa: F811
    site: WatcherRun,
    shots: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = browser.new_page()
    page.goto(site.base + "/review")
    row = page.locator("li.miss", has_text=NEAR_MISS)
    assert "below the threshold" in row.inner_text()
    assert page.locator("li.miss", has_text=POSSIBLE).locator("button", has_text="relevant").count()
    _shoot(page, shots, "review")
    row.locator("button", has_text="Forced return").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/review#item-{_ids(site)[NEAR_MISS]}")
    assert page.locator("li.miss", has_text=NEAR_MISS).count() == 0  # labelled: done
    page.click("text=Show labelled ones too")
    assert "your label: should alert" in page.locator("li.miss", has_text=NEAR_MISS).inner_text()
    page.close()

    out = tmp_path / "labels.jsonl"
    args = ["--config", str(site.settings.config_dir), "--db", str(site.settings.db_target)]
    assert main([*args, "labels", "export", "--out", str(out)]) == 0
    assert "1 labelled items" in capsys.readouterr().out
    [line] = [json.loads(x) for x in out.read_text().splitlines()]
    assert (line["title"], line["labels"], line["labelled_by"]) == (
        NEAR_MISS,
        ["repatriation"],
        "admins",
    )


def test_the_playground_shows_the_diff_of_a_rule_edit(
    browser: Any,  # noqa: F811
    site: WatcherRun,
    shots: Path,  # noqa: F811
) -> None:
    page = browser.new_page()
    page.goto(site.base + "/playground")
    box = page.locator("textarea[name=keywords]")
    keywords = box.input_value()
    assert "repatriation" in keywords  # the rules in force, to edit
    box.fill(keywords.replace("threshold: 4", "threshold: 12", 1))  # repatriation's
    page.click("#rules button[type=submit]")
    page.wait_for_load_state()
    diff = page.locator("#diff")
    assert "would change" in diff.locator(".summary").inner_text()
    rows = diff.locator("table.changes").first.locator("tr.change")
    assert rows.count() > 3
    lost = 0
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        before, after = cells.nth(1).inner_text(), cells.nth(2).inner_text()
        lost += (
            "repatriation: " in before
            and "/ 12" in after
            and "repatriation" not in (after.splitlines()[0])
        )
    assert lost > 0  # labelled items that alerted repatriation no longer do
    _shoot(page, shots, "diff")

    page.fill("textarea[name=keywords]", "topics:\n  - id: Bad\n")
    page.click("#rules button[type=submit]")
    page.wait_for_load_state()
    assert "keywords.yaml (edited):2:" in page.locator(".problems").inner_text()
    page.close()


def test_the_item_page_highlights_the_matched_terms(
    browser: Any,  # noqa: F811
    site: WatcherRun,
    shots: Path,  # noqa: F811
) -> None:
    page = browser.new_page()
    page.goto(f"{site.base}/items/{_ids(site)[ALERTING]}")
    term = page.locator(".field-title mark.k-term", has_text="repatriates")
    assert term.count() == 1 and "repatriation" in (term.get_attribute("title") or "")
    colour = term.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    alerted = page.locator("section.topic.alerted")
    assert alerted.count() == 1 and "ALERT" in alerted.inner_text()
    assert "× 2 (title) =" in alerted.locator("table.steps").inner_text()
    _shoot(page, shots, "item")

    page.goto(site.base + "/playground")
    page.fill("textarea[name=text]", f"{NEAR_MISS}\nHe was deported from China in 2019.")
    page.click("#explain button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#result mark.k-term", has_text="deported").count() == 1
    _shoot(page, shots, "explain")
    page.close()
