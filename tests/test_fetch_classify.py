"""The one classification of fetch failures, Retry-After, and the back-off schedule (pure)."""

from __future__ import annotations

import itertools
import random
import socket
import ssl
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.backoff import backoff_delay
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import classify_exception, classify_status, parse_retry_after

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("-5", 0.0),
        ("1e9", 86400.0),
        ("nan", None),
        ("Sun, 22 Nov 2026 12:05:00 GMT", 300.0),
        ("Sun, 22 Nov 2026 11:00:00 GMT", 0.0),
        ("tomorrow", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


EXCEPTIONS = [
    (httpx.ConnectTimeout("x"), FetchErrorKind.TIMEOUT),
    (httpx.ReadTimeout("x"), FetchErrorKind.TIMEOUT),
    (httpx.PoolTimeout("x"), FetchErrorKind.TIMEOUT),
    (TimeoutError(), FetchErrorKind.TIMEOUT),
    (httpx.ConnectError("[Errno -2] Name or service not known"), FetchErrorKind.DNS),
    (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), FetchErrorKind.DNS),
    (socket.gaierror(-2, "Name or service not known"), FetchErrorKind.DNS),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"), FetchErrorKind.TLS),
    (ssl.SSLError(1, "wrong version number"), FetchErrorKind.TLS),
    (httpx.ConnectError("All connection attempts failed"), FetchErrorKind.CONNECT),
    (ConnectionResetError(104, "reset"), FetchErrorKind.CONNECT),
    (httpx.RemoteProtocolError("peer closed"), FetchErrorKind.CONNECT),
    (httpx.ReadError("boom"), FetchErrorKind.CONNECT),
    (httpx.TooManyRedirects("x"), FetchErrorKind.TOO_MANY_REDIRECTS),
    (httpx.UnsupportedProtocol("ftp"), FetchErrorKind.CLIENT_ERROR),
    (httpx.DecodingError("bad"), FetchErrorKind.PARSE_ERROR),
    (RuntimeError("surprise"), FetchErrorKind.OTHER),
]


@pytest.mark.parametrize(("exc", "kind"), EXCEPTIONS, ids=lambda v: type(v).__name__)
def test_classify_exception(exc: BaseException, kind: FetchErrorKind) -> None:
    err = classify_exception(exc, "http://example.org/feed")
    assert err.kind is kind and err.url == "http://example.org/feed"
    assert str(err).startswith(kind.value)


def test_wrapped_causes_are_seen() -> None:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except OSError as inner:
            raise httpx.ConnectError("could not connect") from inner
    except httpx.ConnectError as outer:
        assert classify_exception(outer, "u").kind is FetchErrorKind.DNS


def test_fetch_errors_pass_through() -> None:
    err = FetchError(FetchErrorKind.TOO_LARGE, "big")
    assert classify_exception(err, "u") is err


def test_classify_status_successes_are_none() -> None:
    for status in (200, 203, 204, 304):
        assert classify_status(status, {}, "u") is None
    err = classify_status(503, {"retry-after": "60"}, "u")
    assert err is not None and err.retry_after == 60 and "HTTP 503" in str(err)


@given(
    failures=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0.1, max_value=600),
    cap=st.floats(min_value=1, max_value=86400),
    seed=st.integers(),
)
def test_backoff_is_bounded_and_jittered(failures: int, base: float, cap: float, seed: int) -> None:
    delay = backoff_delay(failures, base, cap, None, random.Random(seed))
    full = min(cap, base * 2 ** (failures - 1))
    assert full / 2 <= delay <= full + 1e-9


def test_backoff_grows_then_caps_and_honours_retry_after() -> None:
    rng = random.Random(1)
    means = [
        sum(backoff_delay(n, 10, 3600, None, rng) for _ in range(200)) / 200 for n in range(1, 12)
    ]
    assert all(a < b for a, b in itertools.pairwise(means[:9]))  # doubling
    assert 1800 <= means[-1] <= 3600  # capped
    assert backoff_delay(0, 10, 3600) == 0.0
    assert backoff_delay(1, 10, 3600, retry_after=7200) == 7200  # the server said so
    assert backoff_delay(5, 10, 3600, retry_after=1) >= 80  # a short Retry-After is a floor
    a = [backoff_delay(3, 10, 3600, None, random.Random(s)) for s in range(20)]
    assert len(set(a)) > 10  # jitter spreads sources out
