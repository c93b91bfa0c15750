"""The async HTTP fetcher: conditional GET, every resource bounded, failures classified.

    async with Fetcher(FetchSettings(concurrency=32)) as fetcher:
        result = await fetcher.fetch(url, etag=state.etag, last_modified=state.last_modified)
        if result.not_modified: ...                     # 304: nothing to parse

Bounds: connect/read timeouts, a total deadline per fetch (a slow drip body cannot hold a
slot for ever), the body read as a stream up to ``max_body_bytes`` both on the wire and
once decompressed (gzip bombs stop at the limit), redirects followed one by one up to
``max_redirects`` (loops are caught at once), ``concurrency`` requests at once in all and
``per_host`` per host. Every failure is a ``FetchError`` (see ``classify.py``).

Address guard hook (for untrusted links): ``fetch(..., allow_private=False)`` resolves
the host of the URL and of every redirect target and calls the guard with ``(host, [ip, ...])``
before connecting; the guard raises ``FetchError(BLOCKED_ADDRESS)`` to refuse. The connection
then goes to the address that was checked (no second lookup: no DNS rebinding), with the
name kept for ``Host`` and TLS. The default guard refuses loopback, private, link-local,
multicast and reserved addresses. Sources from
``feeds.yaml`` use the default ``allow_private=True`` and may be anywhere, loopback included.

Capture mode (``fetch(..., capture=True)``, for the archive): the final answer is returned
whatever its status (a 404 page is evidence too), and a body over ``max_body_bytes`` is cut
there (``truncated``) instead of refused; ``raw_headers`` keep the names, order and repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import socket
import ssl
import time
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import certifi
import httpx

from watcher import __version__
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import classify

USER_AGENT = f"watcher/{__version__} (news monitoring bot for human-rights advocates; RSS reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json;q=0.9,"
    " application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.5, */*;q=0.1"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_POOLS = 256  # per-host connection pools kept open

# A guard sees the host name and the addresses it resolved to, and raises to refuse.
AddressGuard = Callable[[str, list[str]], Awaitable[None] | None]
# Awaited once a 2xx response's headers are in, before its body is read (see ``fetch``).
BodyGate = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FetchSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # longest silence while reading
    deadline: float = 60.0  # total time for one fetch, redirects and body included
    max_body_bytes: int = 10 * 1024 * 1024  # on the wire and after decompression
    max_redirects: int = 5
    concurrency: int = 32  # requests at once, all hosts
    per_host: int = 2  # requests at once to one host
    user_agent: str = USER_AGENT
    verify_tls: bool = True
    http2: bool = False


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int  # 200 (or another 2xx), or 304
    body: bytes  # decompressed; b"" when not modified
    headers: Mapping[str, str]  # the final response's headers, names lower-case
    etag: str | None  # to send next time (kept from the request on a 304 without one)
    last_modified: str | None
    not_modified: bool
    body_hash: str  # sha256 hex of body ("" when not modified)
    elapsed: float  # seconds, whole fetch
    redirects: tuple[str, ...] = field(default=())  # the URLs redirected through
    raw_headers: tuple[tuple[str, str], ...] = field(default=())  # as sent: case, order, repeats
    http_version: str = "HTTP/1.1"
    reason: str = ""  # the status line's reason phrase
    truncated: bool = False  # capture mode: the body was cut at max_body_bytes


def _lower_headers(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers.multi_items():
        k = k.lower()
        out[k] = f"{out[k]}, {v}" if k in out else v
    return out


def _result(
    url: str,
    final: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
    started: float,
    seen: list[str],
    response: httpx.Response | None = None,
    truncated: bool = False,
    *,
    conditional: Mapping[str, str] | None = None,
) -> FetchResult:
    """A fetch's result: with the ``response``'s raw headers, version and reason when it has
    a body; a 304 keeps the request's validators (``conditional``) when its own headers do not
    repeat them."""
    raw = response.headers.raw if response is not None else []
    not_modified = status == 304
    etag, last_modified = headers.get("etag"), headers.get("last-modified")
    if not_modified and conditional:
        etag = etag or conditional.get("If-None-Match")
        last_modified = last_modified or conditional.get("If-Modified-Since")
    return FetchResult(
        url=url,
        final_url=final,
        status=status,
        body=body,
        headers=headers,
        etag=etag,
        last_modified=last_modified,
        not_modified=not_modified,
        body_hash="" if not_modified else hashlib.sha256(body).hexdigest(),
        elapsed=time.monotonic() - started,
        redirects=tuple(seen[1:]),
        raw_headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw),
        http_version=response.http_version if response is not None else "HTTP/1.1",
        reason=response.reason_phrase if response is not None else "",
        truncated=truncated,
    )


def default_guard(host: str, addresses: list[str]) -> None:
    """Refuse hosts resolving to loopback, private, link-local, multicast or reserved IPs."""
    for a in addresses:
        ip = ipaddress.ip_address(a.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise classify.blocked_address("", f"{host} resolves to non-public address {ip}")


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos}, key=lambda a: (":" in a, a))  # IPv4 first


async def _drain(response: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read a small unwanted body (304, redirect, error page) so the connection is reused;
    a bigger one is left unread (the connection then closes)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return
    size = 0
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(1.0):  # a dripping error page does not hide the error
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > limit:
                    return


class _Decoder:
    """Content-Encoding decoding with the output bounded (gzip bombs stop at the limit)."""

    def __init__(self, encoding: str, limit: int, url: str, cut: bool = False) -> None:
        self.limit = limit
        self.url = url
        self.size = 0
        self.cut = cut  # keep the first ``limit`` bytes instead of raising
        self.truncated = False
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise FetchError(
                FetchErrorKind.PARSE_ERROR, f"stacked content encodings {encoding!r}", url=url
            )
        self.coding = codings[0] if codings else ""
        if self.coding in ("gzip", "x-gzip"):
            self.z: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.coding == "deflate":
            self.z = zlib.decompressobj()
            self._deflate_first = True
        elif self.coding == "":
            self.z = None
        else:
            raise FetchError(
                FetchErrorKind.PARSE_ERROR, f"unsupported content encoding {encoding!r}", url=url
            )
        self.parts: list[bytes] = []

    def feed(self, data: bytes) -> None:
        if self.z is None:
            self._add(data)
            return
        try:
            if self.coding == "deflate" and self._deflate_first:
                self._deflate_first = False
                # Some servers send raw deflate without the zlib header.
                if data and (data[0] & 0x0F) != 8:
                    self.z = zlib.decompressobj(-zlib.MAX_WBITS)
            chunk = self.z.decompress(data, self.limit - self.size + 1)
            self._add(chunk)
            while self.z.unconsumed_tail:
                chunk = self.z.decompress(self.z.unconsumed_tail, self.limit - self.size + 1)
                if not chunk:
                    break
                self._add(chunk)
        except zlib.error as exc:
            raise FetchError(
                FetchErrorKind.PARSE_ERROR, f"bad {self.coding} data: {exc}", url=self.url
            ) from exc

    def finish(self) -> bytes:
        if self.z is not None:
            try:
                self._add(self.z.flush())
            except zlib.error as exc:
                raise FetchError(
                    FetchErrorKind.PARSE_ERROR, f"bad {self.coding} data: {exc}", url=self.url
                ) from exc
        return b"".join(self.parts)

    def _add(self, chunk: bytes) -> None:
        if not chunk or self.truncated:
            return
        self.size += len(chunk)
        if self.size > self.limit and self.cut:
            chunk = chunk[: len(chunk) - (self.size - self.limit)]
            self.size = self.limit
            self.truncated = True
        elif self.size > self.limit:
            what = "decompressed body" if self.z is not None else "body"
            raise classify.too_large(self.url, self.limit, what)
        self.parts.append(chunk)


class Fetcher:
    """One shared ``httpx.AsyncClient`` with the bounds above. Use as an async context manager."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        guard: AddressGuard | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        self.guard: AddressGuard = guard or default_guard
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._all = asyncio.Semaphore(self.settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._host_users: dict[str, int] = {}
        self._pools: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._closing: set[asyncio.Future[None]] = set()
        self._ssl: ssl.SSLContext | None = None

    async def __aenter__(self) -> Fetcher:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        if self._client is not None:
            return
        s = self.settings
        if s.verify_tls:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        else:
            self._ssl = ssl.create_default_context()
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        self._client = self._new_client(s.concurrency)

    def _new_client(self, connections: int) -> httpx.AsyncClient:
        s = self.settings
        return httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=None
            ),
            limits=httpx.Limits(
                max_connections=connections,
                max_keepalive_connections=connections,
                keepalive_expiry=30.0,
            ),
            headers={
                "User-Agent": s.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            follow_redirects=False,
            verify=self._ssl if self._ssl is not None else s.verify_tls,
            http2=s.http2,
            transport=self._transport,
            trust_env=False,
        )

    def _pool(self, key: str) -> httpx.AsyncClient:
        """The connection pool of one scheme+host+port (at most ``per_host`` connections).

        httpcore walks every connection of a pool, probing each idle socket, whenever a
        request starts or ends: one pool for all hosts made that cost grow with ``concurrency``
        (5 ms of CPU per request at 64 connections). Pools of recently used hosts are kept
        (keep-alive between polls); the least recently used idle one is closed beyond
        ``MAX_POOLS``.
        """
        pool = self._pools.get(key)
        if pool is not None:
            self._pools.move_to_end(key)
            return pool
        pool = self._pools[key] = self._new_client(self.settings.per_host)
        if len(self._pools) > MAX_POOLS:
            for old in list(self._pools)[: len(self._pools) - MAX_POOLS]:
                if old not in self._host_users:  # no request in flight or queued
                    task = asyncio.ensure_future(self._pools.pop(old).aclose())
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
        return pool

    async def aclose(self) -> None:
        pools = [*self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        allow_private: bool = True,
        before_body: BodyGate | None = None,
        capture: bool = False,
    ) -> FetchResult:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given), with
        ``headers`` (an ``Accept`` of the source's kind, say) added to the client's.

        Returns a 2xx or 304 ``FetchResult``; raises ``FetchError`` for everything else.
        ``before_body`` is awaited when a body is about to be read (not for a 304, a redirect
        or an error): a caller that cannot take more bodies yet waits there, with the response
        unread (the time waited does not count against the deadline). ``capture``: see the
        module docstring.
        """
        if self._client is None:
            await self.open()
        started = time.monotonic()
        try:
            extra = dict(headers or {})
            if etag:
                extra["If-None-Match"] = etag
            if last_modified:
                extra["If-Modified-Since"] = last_modified
            return await self._fetch(url, extra, allow_private, started, before_body, capture)
        except TimeoutError as exc:
            raise classify.deadline_exceeded(url, self.settings.deadline) from exc
        except FetchError:
            raise
        except Exception as exc:
            raise classify.classify_exception(exc, url) from exc

    async def _fetch(
        self,
        url: str,
        conditional: dict[str, str],
        allow_private: bool,
        started: float,
        before_body: BodyGate | None = None,
        capture: bool = False,
    ) -> FetchResult:
        loop = asyncio.get_running_loop()
        deadline_at: float | None = None  # starts with the first request, not in the queue
        current = url
        seen = [url]
        while True:
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchError(
                    FetchErrorKind.CLIENT_ERROR, f"not an http(s) URL: {current!r}", url=url
                )
            key = f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"
            # The host's slot first, then one of the K: sources queued behind a slow host
            # hold no global slot, so they never delay other hosts.
            async with self._host_slot(key), self._all:
                if deadline_at is None:
                    deadline_at = loop.time() + self.settings.deadline
                async with asyncio.timeout_at(deadline_at) as timeout:
                    request = await self._request(current, conditional, allow_private)
                    response = await self._pool(key).send(request, stream=True)
                    try:
                        status = response.status_code
                        headers = _lower_headers(response.headers)
                        if status in REDIRECT_STATUSES and "location" in headers:
                            current = self._redirect(url, current, headers["location"], seen)
                            await _drain(response)
                            continue
                        error = classify.classify_status(status, headers, current)
                        if error is not None and not capture:
                            await _drain(response)
                            raise error
                        if status == 304:
                            await _drain(response)
                            return _result(url, current, 304, b"", headers, started, seen,
                                           conditional=conditional)  # fmt: skip
                        if before_body is not None:  # waiting on the caller is not fetching
                            waited = loop.time()
                            timeout.reschedule(None)
                            await before_body()
                            timeout.reschedule(deadline_at + loop.time() - waited)
                        body, cut = await self._read_body(response, headers, current, capture)
                    finally:
                        await response.aclose()
            return _result(url, current, status, body, headers, started, seen, response, cut)

    async def _request(
        self, url: str, headers: dict[str, str], allow_private: bool
    ) -> httpx.Request:
        assert self._client is not None
        if allow_private:
            return self._client.build_request("GET", url, headers=headers)
        parts = urlsplit(url)
        assert parts.hostname is not None
        address = await self._check_address(url, parts.hostname, parts.port, parts.scheme)
        return self._pinned_request(url, address, headers)

    def _redirect(self, url: str, current: str, location: str, seen: list[str]) -> str:
        """The next URL of a redirect from ``current`` (appended to ``seen``); a loop or one
        redirect too many is ``TOO_MANY_REDIRECTS``."""
        target = urljoin(current, location.strip())
        limit = self.settings.max_redirects
        if target in seen:
            raise classify.too_many_redirects(url, limit, f"redirect loop back to {target}")
        if len(seen) > limit:
            raise classify.too_many_redirects(url, limit)
        seen.append(target)
        return target

    async def _read_body(
        self, response: httpx.Response, headers: Mapping[str, str], url: str, cut: bool = False
    ) -> tuple[bytes, bool]:
        """The decoded body, and whether it was cut at the limit (only when ``cut``)."""
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit and not cut:
            raise classify.too_large(url, limit, f"declared body ({int(declared):,} bytes)")
        decoder = _Decoder(headers.get("content-encoding", ""), limit, url, cut)
        wire = 0
        async for chunk in response.aiter_raw():
            wire += len(chunk)
            if wire > limit and not cut:
                raise classify.too_large(url, limit)
            decoder.feed(chunk)
            if decoder.truncated or wire > 2 * limit:  # cut: stop reading, the rest is dropped
                return decoder.finish(), True
        return decoder.finish(), decoder.truncated

    async def _check_address(self, url: str, host: str, port: int | None, scheme: str) -> str:
        """Resolve ``host``, let the guard judge every address; the address to connect to."""
        try:
            addresses = await resolve(host, port or (443 if scheme == "https" else 80))
        except OSError as exc:
            raise classify.classify_exception(exc, url) from exc
        if not addresses:
            raise FetchError(FetchErrorKind.DNS, f"{host} has no address", url=url)
        try:
            outcome = self.guard(host, addresses)
            if outcome is not None:
                await outcome
        except FetchError as exc:
            exc.url = exc.url or url
            raise
        return addresses[0]

    def _pinned_request(self, url: str, address: str, headers: dict[str, str]) -> httpx.Request:
        """A request to ``url`` that connects to the checked ``address`` itself.

        The name is not resolved again, so it cannot resolve elsewhere between the guard's
        check and the connection (DNS rebinding); ``Host`` and TLS SNI/certificate checks
        still use the name.
        """
        assert self._client is not None
        parsed = httpx.URL(url)
        ip = f"[{address}]" if ":" in address else address
        host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
        return self._client.build_request(
            "GET",
            parsed.copy_with(host=ip),
            headers={**headers, "Host": host_header},
            extensions={"sni_hostname": parsed.host},
        )

    def _host_slot(self, key: str) -> _HostSlot:
        return _HostSlot(self, key)


class _HostSlot:
    """``per_host`` requests at once per scheme+host+port; idle semaphores are dropped."""

    def __init__(self, fetcher: Fetcher, key: str) -> None:
        self.fetcher = fetcher
        self.key = key

    async def __aenter__(self) -> None:
        f = self.fetcher
        sem = f._hosts.get(self.key)
        if sem is None:
            sem = f._hosts[self.key] = asyncio.Semaphore(f.settings.per_host)
        f._host_users[self.key] = f._host_users.get(self.key, 0) + 1
        try:
            await sem.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.fetcher._hosts[self.key].release()
        self._leave()

    def _leave(self) -> None:
        f = self.fetcher
        n = f._host_users[self.key] - 1
        if n <= 0:
            del f._host_users[self.key]
            del f._hosts[self.key]
        else:
            f._host_users[self.key] = n
