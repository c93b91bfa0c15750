"""Listing pages served on 127.0.0.1 in three languages and legacy encodings; selectors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tests.conftest import DATA
from tests.servers import FeedServer
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher, FetchSettings
from watcher.parse.page import PageSelectors, parse_date, parse_page

WEB = DATA / "web"
NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


async def _page(
    server: FeedServer, path: str, name: str, content_type: str
) -> tuple[bytes, dict[str, str], str]:
    server.route(path, (WEB / name).read_bytes(), content_type=content_type)
    async with Fetcher(FetchSettings(deadline=5.0)) as f:
        r = await f.fetch(server.url(path))
    return r.body, dict(r.headers), r.final_url


async def test_english_listing(server: FeedServer) -> None:
    body, headers, url = await _page(
        server, "/news/", "listing-en.html", "text/html; charset=utf-8"
    )
    sel = PageSelectors(item="ul.news li", link="a.headline", date="span.date")
    page = parse_page(body, headers=headers, source_id="en", base_url=url, selectors=sel, now=NOW)
    base = server.base_url
    assert [i.url for i in page.items] == [
        f"{base}/news/2026/11/vladivostok-court",
        f"{base}/news/news/2026/11/prosecutors-visit",
        "https://other.example.org/story/77",
    ]
    assert page.items[0].title == "Court in Vladivostok hears case of a worker"
    assert page.items[0].published == datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    assert page.items[1].published == datetime(2026, 11, 18, tzinfo=UTC)
    assert page.matched == 4 and page.skipped == 1


async def test_korean_euc_kr_listing_from_meta(server: FeedServer) -> None:
    body, headers, url = await _page(server, "/bbs/", "listing-ko.html", "text/html")
    sel = {"item": "tr.row", "title": "td.subject", "date": "td.day"}
    page = parse_page(body, headers=headers, source_id="ko", base_url=url, selectors=sel, now=NOW)
    assert page.encoding == "cp949"
    assert page.items[0].title == "러시아서 탈북 노동자 체포…강제북송 우려"
    assert page.items[0].url == f"{server.base_url}/bbs/view.php?id=news&no=1021"
    assert [i.published.day for i in page.items if i.published] == [21, 19, 17]


async def test_russian_windows_1251_listing_from_header(server: FeedServer) -> None:
    body, headers, url = await _page(
        server, "/ru/", "listing-ru.html", "text/html; charset=windows-1251"
    )
    sel = PageSelectors(item="div.news-item", date="span.date")
    page = parse_page(body, headers=headers, source_id="ru", base_url=url, selectors=sel, now=NOW)
    assert page.items[0].title == "Во Владивостоке задержан северокорейский рабочий"
    assert page.items[0].published == datetime(2026, 11, 21, 10, 15, tzinfo=UTC)
    assert page.items[2].published == datetime(2026, 11, 19, tzinfo=UTC)


async def test_selectors_that_stop_matching_say_which(server: FeedServer) -> None:
    body, headers, url = await _page(
        server, "/news/", "listing-en-redesigned.html", "text/html; charset=utf-8"
    )
    with pytest.raises(FetchError) as info:
        parse_page(body, headers=headers, source_id="en", base_url=url,
                   selectors=PageSelectors(item="ul.news li"))  # fmt: skip
    assert info.value.kind is FetchErrorKind.SELECTORS
    assert "'ul.news li' matched nothing" in str(info.value)
    with pytest.raises(FetchError) as info:
        parse_page(body, headers=headers, source_id="en", base_url=url,
                   selectors=PageSelectors(item="article.card", link="a.headline"))  # fmt: skip
    assert "link selector 'a.headline'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T10:00:00Z", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("2026.11.20 09:05", datetime(2026, 11, 20, 9, 5, tzinfo=UTC)),
        ("2026년 11월 20일", datetime(2026, 11, 20, tzinfo=UTC)),
        ("20 мая 2026", datetime(2026, 5, 20, tzinfo=UTC)),
        ("Nov 20, 2026", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2027-01-01", None),  # in the future
        ("no date here", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize("css", ["ul >> li", "span..date", "a,,b", ""])
def test_a_selector_that_is_not_css_is_refused_where_it_is_written(css: str) -> None:
    with pytest.raises(ValidationError, match="selector"):
        PageSelectors(item="li", date=css) if css else PageSelectors(item=css)
