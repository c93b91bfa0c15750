"""Listing pages served on 127.0.0.1 in three languages and legacy encodings; the guard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.conftest import DATA
from tests.servers import FeedServer
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher, FetchSettings
from watcher.parse.page import PageSelectors, parse_date, parse_page
from watcher.web.guard import AddressPolicy, check_scheme, refusal_reason

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


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.0.1", "169.254.169.254", "224.0.0.1",
     "0.0.0.0", "100.64.0.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
     "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1"],
)  # fmt: skip
def test_guard_refuses_non_public(address: str) -> None:
    assert refusal_reason(address) is not None
    with pytest.raises(FetchError) as info:
        AddressPolicy()("host.example", [address])
    assert info.value.kind is FetchErrorKind.BLOCKED_ADDRESS


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_guard_allows_public(address: str) -> None:
    assert refusal_reason(address) is None
    AddressPolicy()("host.example", [address])


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x.example/a", "javascript:x", "/rel"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(FetchError) as info:
        check_scheme(url)
    assert info.value.kind is FetchErrorKind.BLOCKED_ADDRESS


async def test_link_to_loopback_refused_unless_allow_private(server: FeedServer) -> None:
    server.route("/a", b"<p>article</p>", content_type="text/html")
    async with Fetcher(FetchSettings(deadline=5.0), guard=AddressPolicy()) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(server.url("/a"), allow_private=False)
        assert info.value.kind is FetchErrorKind.BLOCKED_ADDRESS
        assert server.hits("/a") == 0
        assert (await f.fetch(server.url("/a"), allow_private=True)).body == b"<p>article</p>"


@pytest.mark.parametrize("target", ["http://10.0.0.7/admin", "http://127.0.0.2:9/x",
                                    "http://[::ffff:192.168.1.1]/"])  # fmt: skip
async def test_redirect_into_private_network_refused(server: FeedServer, target: str) -> None:
    # 127.0.0.1/32 stands for "a public host" here: the test server must be reachable.
    policy = AddressPolicy.trusting("127.0.0.1/32")
    server.redirect("/go", target)
    async with Fetcher(FetchSettings(deadline=5.0, connect_timeout=1.0), guard=policy) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(server.url("/go"), allow_private=False)
    assert info.value.kind is FetchErrorKind.BLOCKED_ADDRESS
    assert server.hits("/go") == 1
