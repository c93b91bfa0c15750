"""The one place where fetch failures become ``FetchError`` with a stable ``FetchErrorKind``.

Everything the fetcher can run into (httpx exceptions, OS errors, HTTP statuses, limits) is
turned into a ``FetchError`` here, so ``watcher sources`` shows the same words for the same
trouble whatever library raised it.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx

from watcher.errors import FetchError, FetchErrorKind

# Longest Retry-After we believe (a day): beyond that a server is confused, not precise.
MAX_RETRY_AFTER = 86_400.0

_DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
    "name resolution",
    "[errno -2]",
    "[errno -3]",
    "[errno -5]",
    "[errno 8]",
    "[errno 11001]",
)
_TLS_MARKERS = ("ssl", "certificate", "tls", "handshake")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    Returns None when absent or unreadable; never negative; at most a day.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def classify_status(
    status: int, headers: Mapping[str, str], url: str, now: datetime | None = None
) -> FetchError | None:
    """The error for an HTTP status that is not a success (None for 2xx and 304).

    ``headers`` must have lower-case names. 3xx reaching here (a redirect without Location,
    or 300 Multiple Choices) counts as a client error.
    """
    if 200 <= status < 300 or status == 304:
        return None
    retry_after = parse_retry_after(headers.get("retry-after"), now)
    kind: FetchErrorKind
    if status == 404:
        kind = FetchErrorKind.NOT_FOUND
    elif status == 410:
        kind = FetchErrorKind.GONE
    elif status in (401, 403, 451):
        kind = FetchErrorKind.FORBIDDEN
    elif status == 429:
        kind = FetchErrorKind.RATE_LIMITED
    elif status >= 500:
        kind = FetchErrorKind.SERVER_ERROR
    else:
        kind = FetchErrorKind.CLIENT_ERROR
    notes = []
    if kind in (FetchErrorKind.CLIENT_ERROR, FetchErrorKind.SERVER_ERROR) or status in (401, 451):
        notes.append(f"HTTP {status}")
    if retry_after is not None:
        notes.append(f"retry after {retry_after:.0f}s")
    detail = ", ".join(notes)
    return FetchError(kind, detail, url=url, status=status, retry_after=retry_after)


def classify_exception(exc: BaseException, url: str) -> FetchError:
    """The ``FetchError`` for an exception raised while fetching ``url``."""
    if isinstance(exc, FetchError):
        return exc
    text = _describe(exc)
    low = text.lower()
    if isinstance(exc, httpx.TimeoutException | TimeoutError | socket.timeout):
        timeouts: dict[type[BaseException], str] = {
            httpx.ConnectTimeout: "connect timeout",
            httpx.ReadTimeout: "read timeout",
            httpx.WriteTimeout: "write timeout",
            httpx.PoolTimeout: "waited too long for a connection slot",
        }
        what = timeouts.get(type(exc), "timed out")
        return FetchError(FetchErrorKind.TIMEOUT, what, url=url)
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchError(FetchErrorKind.TOO_MANY_REDIRECTS, text, url=url)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError) or _chain_has(exc, ssl.SSLError):
        return FetchError(FetchErrorKind.TLS, text, url=url)
    if isinstance(exc, socket.gaierror) or _chain_has(exc, socket.gaierror):
        return FetchError(FetchErrorKind.DNS, text, url=url)
    if isinstance(exc, httpx.ConnectError):
        if any(m in low for m in _DNS_MARKERS):
            return FetchError(FetchErrorKind.DNS, text, url=url)
        if any(m in low for m in _TLS_MARKERS):
            return FetchError(FetchErrorKind.TLS, text, url=url)
        return FetchError(FetchErrorKind.CONNECT, text, url=url)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return FetchError(FetchErrorKind.CONNECT, f"connection broken: {text}", url=url)
    if isinstance(exc, httpx.DecodingError):
        return FetchError(FetchErrorKind.PARSE_ERROR, f"bad content encoding: {text}", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | ValueError):
        return FetchError(FetchErrorKind.CLIENT_ERROR, f"bad URL: {text}", url=url)
    if isinstance(exc, ConnectionError | OSError | httpx.TransportError):
        return FetchError(FetchErrorKind.CONNECT, text, url=url)
    return FetchError(FetchErrorKind.OTHER, text, url=url)


def too_large(url: str, limit: int, what: str = "body") -> FetchError:
    return FetchError(FetchErrorKind.TOO_LARGE, f"{what} over {limit:,} bytes", url=url)


def too_many_redirects(url: str, limit: int, why: str = "") -> FetchError:
    detail = why or f"more than {limit} redirects"
    return FetchError(FetchErrorKind.TOO_MANY_REDIRECTS, detail, url=url)


def deadline_exceeded(url: str, seconds: float) -> FetchError:
    return FetchError(FetchErrorKind.TIMEOUT, f"total deadline of {seconds:g}s exceeded", url=url)


def markup_too_complex(what: str, deepest: int, url: str = "") -> FetchError:
    detail = (
        f"{what} nests or re-opens elements at least {deepest:,} deep; parsing it would take"
        " far longer than its size warrants"
    )
    return FetchError(FetchErrorKind.MARKUP, detail, url=url)


def blocked_address(url: str, why: str) -> FetchError:
    return FetchError(FetchErrorKind.BLOCKED_ADDRESS, why, url=url)


def _chain_has(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if not text:
        cause = exc.__cause__ or exc.__context__
        text = str(cause).strip() if cause is not None else ""
    return text or exc.__class__.__name__
