"""The address guard for untrusted links (watcher/web/guard.py) with the fetcher, on 127.0.0.1:
non-public addresses refused, redirects checked, and the connection made to the very address
that was checked (DNS rebinding gains nothing)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.servers import FeedServer
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher, FetchSettings
from watcher.web.guard import AddressPolicy, check_scheme, refusal_reason


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


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


async def test_the_connection_goes_to_the_checked_address(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that resolves to an allowed address when checked, then elsewhere (rebinding):
    the fetcher never asks again, it connects to what the guard saw."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "news.rebind.test":
            lookups.append(host)
            if len(lookups) > 1:  # a second answer would point somewhere else
                raise OSError("rebound to a private address")
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    seen: list[tuple[str, list[str]]] = []

    def guard(host: str, addresses: list[str]) -> None:  # "127.0.0.1 is public" here
        seen.append((host, addresses))

    server.route("/a", b"<p>article</p>", content_type="text/html")
    url = f"http://news.rebind.test:{server.port}/a"
    async with Fetcher(FetchSettings(deadline=5.0), guard=guard) as f:
        result = await f.fetch(url, allow_private=False)
    assert result.body == b"<p>article</p>"
    assert seen == [("news.rebind.test", ["127.0.0.1"])] and lookups == ["news.rebind.test"]
    assert server.requests[-1].headers["host"] == f"news.rebind.test:{server.port}"
