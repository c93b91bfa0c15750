"""The item page, the review page and the rules playground over real HTTP, against ``watcher
run`` polling a loopback feed (no browser: tests/test_pages_browser.py drives one)."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.servers.feedserver import FeedServer
from tests.web_helpers import ALERTING, WatcherRun, csrf_of, rss, wait_for, write_config
from watcher.archive import ArchiveSettings
from watcher.pages import WebSettings
from watcher.pages.playground import shipped_corpora
from watcher.pages.stored import user_labelled
from watcher.rules import load_rules
from watcher.settings import Settings, StorySettings
from watcher.store.labels import votes_on

NEAR_MISS = "North Korean defector speaks in Seoul"  # repatriation 2 of 4: a near miss
POSSIBLE = "North Korean workers seen in Russia"  # soldiers_pows: the model's possible match
QUIET = "Weather in Seoul is sunny"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WatcherRun]:
    folder = tmp_path_factory.mktemp("pages")
    with FeedServer() as server:
        server.route("/news.xml", rss([ALERTING, NEAR_MISS, POSSIBLE, QUIET], "n"))
        write_config(folder, server, ["/news.xml"])
        settings = Settings(
            config_dir=folder,
            http_host="127.0.0.1",
            http_port=_free_port(),
            instance_id="pages:1",
            sections=(WebSettings(), ArchiveSettings(enabled=False), StorySettings(encoder=False)),
        )
        with WatcherRun(settings) as running:
            wait_for(lambda: len(_ids(running)) == 4, "the feed's four items stored")
            yield running


@pytest.fixture
def web(run: WatcherRun) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=run.base, headers={"accept": "text/html"}, timeout=60) as c:
        yield c


def _ids(run: WatcherRun) -> dict[str, int]:
    with run.db.transaction() as tx:
        return {str(t): int(i) for i, t in tx.fetchall("SELECT id, title FROM items")}


def _topics(run: WatcherRun) -> tuple[str, ...]:
    return load_rules(run.settings.config_dir / "keywords.yaml").topic_ids


def _csrf(c: httpx.Client) -> str:
    return csrf_of(c.get("/playground").text)


def _label(c: httpx.Client, item: int, label: str, **more: str) -> httpx.Response:
    data = {"csrf": _csrf(c), "item_id": str(item), "label": label, "back": "/review", **more}
    return c.post("/labels", data=data)


def test_the_review_page_lists_near_misses_and_the_models_decisions(
    run: WatcherRun, web: httpx.Client
) -> None:
    ids = _ids(run)
    page = web.get("/review").text
    assert f'href="/items/{ids[NEAR_MISS]}"' in page and f'href="/items/{ids[POSSIBLE]}"' in page
    assert ALERTING not in page and QUIET not in page
    near = page[page.index(f'id="item-{ids[NEAR_MISS]}"') :]
    assert "below the threshold" in near.split("</li>")[0]
    assert 'value="should_alert:repatriation"' in near.split("</li>")[0]
    possible = page[page.index(f'id="item-{ids[POSSIBLE]}"') :].split("</li>")[0]
    assert "possible match" in possible and 'value="relevant"' in possible
    assert 'name="alert_id"' in possible


def test_labels_are_admin_votes_of_the_signed_in_user(
    run: WatcherRun, web: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="watcher.pages")
    ids = _ids(run)
    item = ids[NEAR_MISS]
    done = _label(web, item, "should_alert:repatriation")
    assert done.status_code == 303 and done.headers["location"] == f"/review#item-{item}"
    [vote] = votes_on(run.db, [item])[item]
    assert (vote.voter, vote.role, vote.channel) == ("web:local", "admin", "web")
    assert (vote.verdict, vote.topic, vote.alert_id) == ("should_alert", "repatriation", None)
    assert f"/items/{item}" not in web.get("/review").text  # labelled: left the queue
    everything = web.get("/review?all=1").text
    row = everything[everything.index(f'id="item-{item}"') :].split("</li>")[0]
    assert "your label: should alert (Forced return" in row

    _label(web, item, "right_to_skip")  # a new label replaces the old
    [vote] = votes_on(run.db, [item])[item]
    assert (vote.verdict, vote.topic) == ("right_to_skip", None)

    sent = ids[POSSIBLE]
    with run.db.transaction() as tx:
        alert_id = int(tx.scalar("SELECT id FROM alerts WHERE item_id = ?", (sent,)))
    _label(web, sent, "wrong_topic", topic="forced_labor", alert_id=str(alert_id))
    [vote] = votes_on(run.db, [sent])[sent]
    assert (vote.verdict, vote.topic, vote.alert_id) == ("wrong_topic", "forced_labor", alert_id)
    writes = [r.getMessage() for r in caplog.records if r.name == "watcher.pages.writes"]
    assert f"write by local: POST /labels -> 303: label item {item}: should_alert repatriation" in (
        writes
    )


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"item_id": "x", "label": "relevant"}, 400, "no item id"),
        ({"item_id": "²", "label": "relevant"}, 400, "no item id"),
        ({"item_id": "999999", "label": "relevant"}, 400, "item 999999 is not stored"),
        ({"label": "should_alert:weather"}, 400, "Unknown topic"),
        ({"label": "wrong_topic", "topic": "<b>x</b>"}, 400, "Unknown topic"),
        ({"label": "maybe"}, 400, "verdict must be one of"),
        ({"label": "should_alert"}, 400, "names the right topic"),
    ],
)
def test_a_bad_label_is_refused_and_says_why(
    run: WatcherRun, web: httpx.Client, form: dict[str, str], status: int, says: str
) -> None:
    data = {"csrf": _csrf(web), "item_id": str(_ids(run)[QUIET]), **form}
    answer = web.post("/labels", data=data)
    assert answer.status_code == status and says in answer.text
    assert "<b>x</b>" not in answer.text


@pytest.mark.parametrize(
    "after", ["x", "1:2:3", "nan:1", "1e400:5", "5:-1", "9" * 70, "1.5:", "1:²", "١:٢"]
)
def test_a_hostile_page_place_is_the_first_page(web: httpx.Client, after: str) -> None:
    answer = web.get("/review", params={"after": after})
    assert answer.status_code == 200 and "Near misses" in answer.text


def test_a_label_without_the_csrf_token_is_refused(run: WatcherRun, web: httpx.Client) -> None:
    item = _ids(run)[QUIET]
    answer = web.post("/labels", data={"item_id": str(item), "label": "relevant"})
    assert answer.status_code == 403
    assert item not in votes_on(run.db, [item])


def test_the_item_page_explains_with_highlights_and_arithmetic(
    run: WatcherRun, web: httpx.Client
) -> None:
    item = _ids(run)[ALERTING]
    page = web.get(f"/items/{item}").text
    marks = re.findall(r'<mark class="([^"]+)" title="([^"]+)"[^>]*>([^<]+)</mark>', page)
    terms = {text for cls, _, text in marks if "k-term" in cls}
    assert {"repatriates", "defectors"} <= terms
    assert any("repatriation: " in title for _, title, text in marks if text == "repatriates")
    assert "ALERT" in page and "× 2 (title) =" in page
    assert "✓ North Korea" in page and "relevance model" in page
    assert "Nearest labelled items" in page
    assert re.search(r'href="/alerts#alert-\d+">alert #\d+', page)
    assert 'value="relevant"' in page  # it was sent: judged as an alert
    assert f'href="/items/{item}">why</a>' in web.get("/alerts").text  # linked from its alert
    assert web.get("/items/999999").status_code == 404
    assert web.get("/items/abc").status_code == 404


def test_the_playground_explains_text_and_stored_urls_and_guards_others(
    run: WatcherRun, web: httpx.Client
) -> None:
    csrf = _csrf(web)
    text = web.post("/playground/explain", data={"csrf": csrf, "text": ALERTING}).text
    assert "alerts: <b>repatriation</b>" in text and "<mark" in text
    stored = "https://news.example.org/n/0"
    page = web.post("/playground/explain", data={"csrf": csrf, "url": stored}).text
    assert f'href="/items/{_ids(run)[ALERTING]}"' in page and "as stored" in page
    with FeedServer() as other:
        body = b"<html><body><p>North Korean</p></body></html>"
        other.route("/a", body, content_type="text/html")
        refused = web.post("/playground/explain", data={"csrf": csrf, "url": other.url("/a")})
        assert refused.status_code == 400 and "loopback address" in refused.text
        assert other.hits("/a") == 0
    empty = web.post("/playground/explain", data={"csrf": csrf, "text": " "})
    assert empty.status_code == 400 and "the input is empty" in empty.text


def test_the_playground_shows_what_a_rule_edit_changes(run: WatcherRun, web: httpx.Client) -> None:
    ids = _ids(run)
    _label(web, ids[NEAR_MISS], "should_alert:repatriation")
    keywords = (run.settings.config_dir / "keywords.yaml").read_text()
    lower = keywords.replace("threshold: 4", "threshold: 2", 1)  # repatriation's
    csrf = _csrf(web)
    page = web.post("/playground/rules", data={"csrf": csrf, "keywords": lower, "recent": "10"})
    assert page.status_code == 200
    labelled_n = len(shipped_corpora()) + len(
        user_labelled(run.db, _topics(run))
    )  # the store is shared
    summary = re.search(r'class="summary">(.*?)</p>', page.text, re.S)
    assert summary and f"Judged {labelled_n:,} labelled and 4 stored items" in " ".join(
        summary[1].split()
    )
    labelled = page.text[page.text.index("Labelled items that change") :]
    # the maintainer's label: now alerted, as they said it should
    row = labelled[labelled.index(f'href="/items/{ids[NEAR_MISS]}"') :].split("</tr>")[0]
    assert "labels " in row and "better" in row and "repatriation: 2 / 2" in row
    stored = page.text[page.text.index("Stored items that change") :]
    assert f'href="/items/{ids[NEAR_MISS]}"' in stored

    upload = web.post(
        "/playground/rules",
        data={"csrf": csrf, "recent": "0"},
        files={"upload": ("keywords.yaml", lower.encode(), "text/yaml")},
    )
    assert f"Judged {labelled_n:,} labelled and 0 stored items" in " ".join(upload.text.split())

    odd = web.post("/playground/rules", data={"csrf": csrf, "keywords": lower, "recent": "²"})
    assert "labelled and 4 stored items" in " ".join(odd.text.split())  # the default, 500

    bad = web.post("/playground/rules", data={"csrf": csrf, "keywords": "topics:\n  - id: X\n"})
    assert bad.status_code == 400 and "keywords.yaml (edited):2:" in bad.text
    huge = web.post("/playground/rules", data={"csrf": csrf, "keywords": "#" * 300_000})
    assert huge.status_code == 400 and "at most 256 KiB" in huge.text
