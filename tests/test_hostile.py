"""Hostile feeds and careless settings (issue 11): the table tests/data/hostile/cases.yaml, one
test per row, and a run-level pass where the hostile sources poll among normal ones.

A row names its ``input``; ``RUNNERS`` maps each input kind to the function that feeds the row
to the code under test and checks what it must do. A new kind of hostile input is a new
runner here and rows in the table.
"""

from __future__ import annotations

import asyncio
import email.utils
import io
import os
import stat
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from ruamel.yaml import YAML

from tests.servers import FeedServer
from watcher.app import build_app
from watcher.cli import main
from watcher.cli.db import backup_sqlite
from watcher.config.feeds import parse_feeds
from watcher.errors import ConfigError, FetchError
from watcher.fetch import Fetcher
from watcher.models import Item
from watcher.parse import html_to_text, parse_feed
from watcher.parse.page import PageSelectors, parse_page
from watcher.pipeline import Pipeline, PollOutcome
from watcher.rules import Rules, load_rules
from watcher.scheduler import RELOAD_CHECK_S
from watcher.settings import Settings
from watcher.sources.base import SourceConfig
from watcher.sources.page import PageSource
from watcher.store.db import open_database
from watcher.web.fulltext import extract_text

DATA = Path(__file__).parent / "data"
CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (DATA / "hostile" / "cases.yaml").read_text(encoding="utf-8")
)
KEYWORDS = Path(__file__).parent.parent / "keywords.yaml"
RUN_KEYWORDS = DATA / "run" / "keywords.yaml"
PG = "postgresql://{user}127.0.0.1:5432{rest}"


def text_of(spec: Any) -> str:
    """A row's text: a string, or parts (strings and [string, count]; "{n}" counts up)."""
    if isinstance(spec, str):
        return spec
    out: list[str] = []
    for part in spec:
        if isinstance(part, list):
            s, count = str(part[0]), int(part[1])
            out.append("".join(s.replace("{n}", str(i)) for i in range(count)) if "{n}" in s
                       else s * count)  # fmt: skip
        else:
            out.append(str(part))
    return "".join(out)


def rss(*items: tuple[str, str], link: str = "https://news.example.org/") -> bytes:
    """A feed of (title as XML, description as XML) items, published now."""
    now = email.utils.formatdate(usegmt=True)
    body = "".join(
        f"<item><guid>{i}</guid><title>{title}</title><link>{link}{i}</link>"
        f"<pubDate>{now}</pubDate><description>{summary}</description></item>"
        for i, (title, summary) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>{link}</link>{body}</channel></rss>"
    ).encode()


def feed_body(case: dict[str, Any]) -> bytes:
    if "body" in case:
        return text_of(case["body"]).encode()
    summary = escape(text_of(case.get("summary", "")), quote=False)
    return rss((text_of(case.get("title", "")), summary))


def page_body(case: dict[str, Any]) -> bytes:
    return text_of(case["html"]).encode()


# -- runners: one per input kind ---------------------------------------------------------------
def run_html(case: dict[str, Any], tmp_path: Path) -> None:
    html = text_of(case["html"])
    if "error" in case:
        with pytest.raises(FetchError) as exc:
            html_to_text(html, "the row's HTML")
        assert exc.value.kind.value == case["error"], exc.value
        assert "the row's HTML" in exc.value.detail
        return
    text = html_to_text(html)
    if "text" in case:
        assert text == case["text"]
    assert case.get("text_contains", "") in text


def run_feed(case: dict[str, Any], tmp_path: Path) -> None:
    body = feed_body(case)
    if "error" in case:
        with pytest.raises(FetchError) as exc:
            parse_feed(body, headers={}, source_id="hostile")
        assert exc.value.kind.value == case["error"], exc.value
        return
    parsed = parse_feed(body, headers={}, source_id="hostile")
    item = parsed.items[0]
    assert case.get("parser", parsed.parser) == parsed.parser
    assert case.get("title_is", item.title) == item.title
    assert case.get("summary_contains", "") in item.summary + item.content
    assert case.get("entries", len(parsed.items)) == len(parsed.items)


def run_page(case: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(FetchError) as exc:
        parse_page(
            page_body(case),
            source_id="hostile",
            base_url="https://news.example.org/",
            selectors={"item": "li", "link": "a"},
        )
    assert exc.value.kind.value == case["error"], exc.value
    assert exc.value.url == "https://news.example.org/"


def run_article(case: dict[str, Any], tmp_path: Path) -> None:
    text = extract_text(page_body(case), {}, "https://news.example.org/a")
    assert case["text_contains"] in text


def run_score(case: dict[str, Any], tmp_path: Path) -> None:
    text = text_of(case["text"])
    item = Item(source_id="s", guid="g", url="", title="t", summary=text, content=text)
    assert bool(load_rules(KEYWORDS).score(item).alerted) == case["alerts"]


def _assert_problems(problems: list[str], case: dict[str, Any], name: str) -> None:
    assert len(problems) == len(case["problems"]), problems
    for want in case["problems"]:
        where, _, words = want.partition(": ")
        assert [p for p in problems if p.startswith(f"{name}:{where}: ") and words in p], (
            want,
            problems,
        )


def run_keywords(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "keywords.yaml"
    path.write_text(text_of(case["yaml"]), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        Rules.from_path(path)
    _assert_problems([str(p) for p in exc.value.problems], case, str(path))
    assert main(["rules", "check", "--keywords", str(path)]) == 2  # said, not a traceback


def run_feeds(case: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_feeds(text_of(case["yaml"]), "feeds.yaml")
    _assert_problems([str(p) for p in exc.value.problems], case, "feeds.yaml")


def run_postgres(case: dict[str, Any], tmp_path: Path) -> None:
    user, _, rest = str(case["url"]).partition("@")
    url = PG.format(user=f"{user}@", rest=rest)
    started = time.monotonic()
    try:
        with pytest.raises(ConfigError) as exc:
            open_database(url)
    except OSError:
        pytest.skip("PostgreSQL is not reachable")
    assert time.monotonic() - started < 5.0  # at once, not after 10 s of retries
    said = str(exc.value)
    for words in case["problem"]:
        assert words in said, said


def run_files(case: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "state"
    if case["folder"] == "existing":
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)  # whatever the umask: the user chose 0755
    old = os.umask(0o022)  # the usual umask, which made everything readable by all
    try:
        db = open_database(folder / "watcher.db")
        with db.transaction() as tx:
            tx.execute("CREATE TABLE t (x INTEGER)")
        backup_sqlite(folder / "watcher.db", tmp_path / "backups" / "copy.db")
    finally:
        os.umask(old)
    assert mode(folder) == (0o755 if case["folder"] == "existing" else 0o700)
    for name in ("watcher.db", "watcher.db-wal", "watcher.db-shm"):
        assert mode(folder / name) == 0o600, name
    assert mode(tmp_path / "backups") == 0o700
    assert mode(tmp_path / "backups" / "copy.db") == 0o600
    db.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


RUNNERS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "html": run_html,
    "feed": run_feed,
    "page": run_page,
    "article": run_article,
    "score": run_score,
    "keywords": run_keywords,
    "feeds": run_feeds,
    "postgres": run_postgres,
    "files": run_files,
}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_case(case: dict[str, Any], tmp_path: Path) -> None:
    assert case["input"] in RUNNERS, f"no runner for input {case['input']!r}"
    started = time.perf_counter()
    RUNNERS[case["input"]](case, tmp_path)
    elapsed = time.perf_counter() - started
    assert elapsed < case.get("max_seconds", 10.0), f"{elapsed:.1f} s"


def test_every_row_is_well_formed() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))
    for c in CASES:
        assert c["input"] in RUNNERS and isinstance(c.get("issue"), int), c["name"]


# -- run level: hostile sources among normal ones ----------------------------------------------
NORMAL = [f"China deports North Korean defectors back to Pyongyang, report {n}" for n in range(3)]


def _source(srv: FeedServer, name: str, kind: str = "feed") -> SourceConfig:
    if kind == "page":
        selectors = PageSelectors(item="li", link="a")
        return PageSource(id=name, url=srv.url(f"/{name}"), language="en", selectors=selectors)
    return SourceConfig(id=name, url=srv.url(f"/{name}"), language="en")


async def _poll(
    db_path: Path, sources: list[SourceConfig]
) -> tuple[dict[str, PollOutcome], dict[str, float]]:
    """Poll every source at once, as `watcher run --once` does; when each poll ended."""
    db = open_database(db_path)
    rules = load_rules(RUN_KEYWORDS)
    started = time.perf_counter()
    ended: dict[str, float] = {}
    try:
        async with Fetcher() as fetcher:
            pipeline = Pipeline(db=db, fetcher=fetcher, scorer=lambda: rules, notifiers=list)

            async def poll(src: SourceConfig) -> PollOutcome:
                outcome = await pipeline.poll(src)
                ended[src.id] = time.perf_counter() - started
                return outcome

            outcomes = await asyncio.gather(*(poll(s) for s in sources))
        with db.transaction() as tx:
            alerted = {r[0] for r in tx.fetchall("SELECT source_id FROM alerts")}
    finally:
        db.close()
    for n in range(len(NORMAL)):
        assert f"normal{n}" in alerted, f"normal{n}: its alert was not recorded"
    return {o.source_id: o for o in outcomes}, ended


@pytest.mark.slow
async def test_hostile_sources_delay_no_one(tmp_path: Path) -> None:
    """The normal sources' alerts are recorded, and their polls end about as soon as they do
    without the hostile sources (before: two nested-div feeds delayed an alert by 39 s)."""
    hostile = [c for c in CASES if c.get("run")]
    async with FeedServer() as srv:
        for n, title in enumerate(NORMAL):
            srv.route(f"/normal{n}", rss((title, ""), link=f"https://news{n}.example.org/"))
        normal = [_source(srv, f"normal{n}") for n in range(len(NORMAL))]
        for case in hostile:
            body = page_body(case) if case["input"] == "page" else feed_body(case)
            ctype = "text/html; charset=utf-8" if case["input"] == "page" else None
            srv.route(f"/{case['name']}", body, **({"content_type": ctype} if ctype else {}))
        bad = [_source(srv, c["name"], c["input"]) for c in hostile]
        _, alone = await _poll(tmp_path / "alone.db", normal)
        outcomes, mixed = await _poll(tmp_path / "mixed.db", [*bad, *normal])
    for case in hostile:
        o = outcomes[case["name"]]
        if "error" in case:
            assert not o.ok and o.error_kind == case["error"], (case["name"], o.error)
        else:
            assert o.ok, (case["name"], o.error)
    baseline = max(alone.values())
    with_hostile = max(mixed[s.id] for s in normal)
    print(f"\nnormal polls ended after {baseline:.2f} s alone, {with_hostile:.2f} s among "
          f"{len(hostile)} hostile sources (all polls: {max(mixed.values()):.2f} s)")  # fmt: skip
    assert with_hostile < baseline + 10.0  # before the fixes: +37 s for each nested-div feed


# -- hot reload: an invalid file is one notice, not a crash or a traceback every 2 s -----------
@pytest.mark.slow
async def test_hot_reload_of_hostile_keywords_is_one_notice_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 600,000-character term (it crashed `watcher run` with SIGSEGV when the rules were
    replaced) and a YAML tag (a TypeError traceback every 2 s) each give one config_invalid
    notice with file:line:col; the last good rules stay; nothing is logged again."""
    rows = {c["name"]: c for c in CASES}
    async with FeedServer() as srv:
        srv.route("/a", rss(("Weather in Seoul", "")))
        keywords = tmp_path / "keywords.yaml"
        good = RUN_KEYWORDS.read_text(encoding="utf-8")
        keywords.write_text(good, encoding="utf-8")
        (tmp_path / "feeds.yaml").write_text(
            f"sources:\n  - id: a\n    url: {srv.url('/a')}\n    interval: 1h\n"
        )
        async with Fetcher() as fetcher:
            app = build_app(Settings(config_dir=tmp_path), fetcher, Console(file=io.StringIO()))
            runtime = app.runtime
            notices: list[tuple[str, str]] = []

            async def listen(kind: str, text: str) -> None:
                notices.append((kind, text))

            runtime.listeners.append(listen)
            tasks = [asyncio.create_task(s.run(runtime.stop)) for s in app.services]
            try:
                for name in ("term_of_600k_characters", "python_tag_on_topics"):
                    before = len(notices)
                    keywords.write_text(text_of(rows[name]["yaml"]), encoding="utf-8")
                    async with asyncio.timeout(20):
                        while len(notices) == before:
                            await asyncio.sleep(0.05)
                    await asyncio.sleep(3 * RELOAD_CHECK_S)  # three more looks: nothing new
                    assert len(notices) == before + 1, notices[before:]
                    kind, text = notices[-1]
                    assert kind == "config_invalid", notices[-1]
                    assert rows[name]["problems"][0].partition(": ")[0] in text, text
                    rules = app.config.rules()
                    assert "repatriation" in rules.topic_ids  # the last good rules
            finally:
                runtime.stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                runtime.db.close()
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
