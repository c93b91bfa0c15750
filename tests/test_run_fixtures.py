"""Every fixture feed through a whole poll (real Fetcher, parse, rules, store) on SQLite and
PostgreSQL: none may crash a run; and feeds in EUC-KR and windows-1251 served with wrong or
missing charsets store the right text."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import FeedServer
from tests.test_parse_fixtures import FEEDS, FIXTURES, fixture_headers
from watcher.config.feeds import SourceConfig
from watcher.fetch import Fetcher, FetchSettings
from watcher.pipeline import Pipeline, PollOutcome
from watcher.rules import Rules, load_rules
from watcher.store.db import Database

RUN = Path(__file__).parent / "data" / "run"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(RUN / "keywords.yaml")


async def poll_each(
    db: Database, rules: Rules, srv: FeedServer, paths: dict[str, str]
) -> dict[str, PollOutcome]:
    async with Fetcher(FetchSettings(concurrency=16, per_host=16)) as fetcher:
        pipeline = Pipeline(db=db, fetcher=fetcher, scorer=lambda: rules, notifiers=lambda: [])
        sources = [
            SourceConfig(id=f"s{n}", url=srv.url(path), language="en", interval=60)
            for n, path in enumerate(paths.values())
        ]
        outcomes = await asyncio.gather(*(pipeline.poll(s) for s in sources))
    return dict(zip(paths, outcomes, strict=True))


@pytest.mark.slow
async def test_every_fixture_feed_through_a_poll(store_db: Database, rules: Rules) -> None:
    async with FeedServer() as srv:
        paths: dict[str, str] = {}
        for n, file in enumerate(FIXTURES):
            headers = fixture_headers(file.read_bytes())
            ctype = headers.pop("Content-type", "") or headers.pop("Content-Type", "")
            extra = tuple((k, v) for k, v in headers.items() if k.lower() != "content-type")
            srv.serve_file(
                f"/{n}",
                file,
                content_type=ctype or "application/xml",
                headers=extra,
                gzip=n % 3 == 0,
            )
            paths[str(file.relative_to(FEEDS))] = f"/{n}"
        first = await poll_each(store_db, rules, srv, paths)
        again = await poll_each(store_db, rules, srv, paths)
    for rel, o in first.items():
        # a feed gives items or a clear parse error; never an unexpected exception (a crash)
        assert o.ok or o.error_kind in ("parse error", "nothing usable"), (rel, o.error)
        if o.ok:
            assert o.new_items <= o.items, rel
    assert sum(1 for rel, o in first.items() if o.ok and rel.startswith("real/")) >= 43
    for rel, o in again.items():  # the second poll: 304 (ETag) and nothing new
        assert o.status in ("not_modified", "error"), (rel, o.status)
        assert o.new_items == 0, rel
    with store_db.transaction() as tx:
        stored = int(tx.scalar("SELECT COUNT(*) FROM items"))
    assert stored == sum(o.new_items for o in first.values()) > 1000


def rss(encoding: str, declare: bool, *titles: str) -> bytes:
    decl = f'<?xml version="1.0" encoding="{encoding}"?>' if declare else "<?xml version='1.0'?>"
    items = "".join(
        f"<item><guid>{n}</guid><title>{t}</title><link>https://news.example.org/{n}</link>"
        f"<description>{t}.</description></item>"
        for n, t in enumerate(titles)
    )
    text = f"{decl}<rss version='2.0'><channel><title>{titles[0]}</title>{items}</channel></rss>"
    return text.encode(encoding)


KO = ("북한 외교관 탈북, 한국 입국", "통일부, 탈북민 정착 지원 확대")
RU = ("КНДР и Россия подписали договор о правовой помощи", "Северокорейские рабочие в Приморье")


@dataclass(frozen=True)
class Charset:
    name: str
    body: bytes
    content_type: str
    titles: tuple[str, ...]


# Not here: a document declared windows-1251 served as koi8-r. Both are single-byte code pages
# that decode any bytes, so nothing proves the header wrong and RFC 3023 lets it win
# (watcher.parse.feed.trust_document_encoding); the titles then come out case-swapped.
CHARSETS = [
    Charset("euc-kr declared, no HTTP charset", rss("euc-kr", True, *KO), "text/xml", KO),
    Charset(
        "euc-kr declared, HTTP says iso-8859-1",
        rss("euc-kr", True, *KO),
        "text/xml; charset=iso-8859-1",
        KO,
    ),
    Charset(
        "euc-kr declared, HTTP says utf-8",
        rss("euc-kr", True, *KO),
        "application/rss+xml; charset=utf-8",
        KO,
    ),
    Charset(
        "euc-kr undeclared, HTTP says euc-kr",
        rss("euc-kr", False, *KO),
        "application/xml; charset=EUC-KR",
        KO,
    ),
    Charset(
        "windows-1251 declared, HTTP says utf-8",
        rss("windows-1251", True, *RU),
        "application/rss+xml; charset=utf-8",
        RU,
    ),
    Charset(
        "windows-1251 undeclared, HTTP says windows-1251",
        rss("windows-1251", False, *RU),
        "text/xml; charset=windows-1251",
        RU,
    ),
    Charset("utf-8 declared, HTTP says windows-1251", rss("utf-8", True, *RU), "text/xml", RU),
]


async def test_wrong_and_missing_charsets_store_the_right_text(
    store_db: Database, rules: Rules
) -> None:
    async with FeedServer() as srv:
        paths = {}
        for n, case in enumerate(CHARSETS):
            srv.route(f"/{n}", case.body, content_type=case.content_type)
            paths[case.name] = f"/{n}"
        outcomes = await poll_each(store_db, rules, srv, paths)
    for n, case in enumerate(CHARSETS):
        o = outcomes[case.name]
        assert o.ok and o.new_items == len(case.titles), (case.name, o.error)
        with store_db.transaction() as tx:
            rows = tx.fetchall(
                "SELECT title FROM items WHERE source_id = ? ORDER BY guid", (f"s{n}",)
            )
        assert tuple(r[0] for r in rows) == case.titles, case.name
