"""A real HTTP/1.1 server on 127.0.0.1 that serves feeds the way the internet does, badly too.

It runs its own asyncio loop in a background thread, so the same object works from plain
tests, from async tests (it never shares their event loop) and from benchmarks; run it as a
process with ``python -m tests.servers.feedserver --dir FEEDS`` (it prints its base URL).

    with FeedServer() as srv:                        # or: async with FeedServer() as srv:
        srv.route("/feed.xml", body, etag='"v1"')    # 304 when If-None-Match matches
        srv.serve_file("/nyt.xml", DATA / "nyt.xml", last_modified="...")
        srv.redirect_loop("/a", "/b")
        srv.gzip_bomb("/bomb.xml", 200 * MB)
        srv.route("/slow.xml", body, drip=0.2, chunk=10)   # a slow drip body
        srv.route("/drop.xml", drop="headers")             # connection closed, no answer
        srv.sequence("/flaky.xml", Route(status=503), Route(body=feed))   # fails, then works
        url = srv.url("/feed.xml"); srv.hits("/feed.xml"); srv.requests[-1].headers

Every route is a frozen ``Route``; ``route()`` replaces the one at a path (thread-safe enough:
one dict assignment). Unknown paths answer 404. The port is always ephemeral (port 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import gzip
import hashlib
import signal
import sys
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Literal

MB = 1024 * 1024

REASONS = {
    200: "OK",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Route:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers
    etag: str | None = None  # answer 304 when If-None-Match matches
    last_modified: str | None = None  # answer 304 when If-Modified-Since is not older
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between body chunks (a slow body)
    chunk: int = 64 * 1024  # body chunk size
    repeat: int = 1  # the body is sent this many times (big bodies without the memory)
    gzip: bool = False  # gzip the body when the client accepts it
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    drop: Literal["", "headers", "body"] = ""  # close before the status line / mid-body
    file: Path | None = None  # read the body from this file at each request (mtime-cached)


@dataclass(frozen=True, slots=True)
class Request:
    """One request as received (header names lower-case)."""

    method: str
    path: str
    headers: Mapping[str, str]
    at: float


@dataclass
class _FileCache:
    mtime_ns: int = -1
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""


@dataclass
class FeedServer:
    """An HTTP server on 127.0.0.1:<ephemeral> in its own thread. See the module docstring."""

    host: str = "127.0.0.1"
    port: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    record: bool = True  # keep every Request (turn off for benchmarks)
    connections: int = 0  # TCP connections accepted since start
    in_flight: int = 0  # requests being answered now
    max_in_flight: int = 0  # the most answered at once since start (or reset_counts)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None
    _dirs: list[tuple[str, Path]] = field(default_factory=list)
    _sequences: dict[str, list[Route]] = field(default_factory=dict)
    _files: dict[Path, _FileCache] = field(default_factory=dict)
    _gzip_cache: dict[bytes, bytes] = field(default_factory=dict)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> FeedServer:
        if self._thread is not None:
            return self
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, self.host, self.port, backlog=2048)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # report to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="feedserver", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.close()
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._server is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._server.wait_closed(), 2)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FeedServer:
        return self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    # ---- configuration -----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, body: bytes | str = b"", **options: object) -> Route:
        """Answer ``path`` with ``body`` and the given ``Route`` options; returns the route."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        r = replace(Route(body=data), **options)  # type: ignore[arg-type]
        self._sequences.pop(path, None)
        self.routes[path] = r
        return r

    def update(self, path: str, **options: object) -> Route:
        """Change some options of an existing route."""
        r = replace(self.routes[path], **options)  # type: ignore[arg-type]
        self.routes[path] = r
        return r

    def sequence(self, path: str, *routes: Route) -> None:
        """Answer ``path`` with each route in turn, one per request; the last one repeats.

        ``srv.sequence("/f", Route(status=500), Route(status=500), Route(body=feed))``
        """
        if not routes:
            raise ValueError("sequence() needs at least one Route")
        self.routes.pop(path, None)
        self._sequences[path] = list(routes)

    def serve_file(self, path: str, file: Path | str, **options: object) -> Route:
        """Serve a file, read at each request when it changed; ETag and Last-Modified from it."""
        options.setdefault("content_type", _guess_type(Path(file)))
        return self.route(path, b"", file=Path(file), **options)

    def serve_dir(self, prefix: str, directory: Path | str) -> None:
        """Serve every file under ``directory`` at ``prefix + name`` (read at each request)."""
        self._dirs.append((prefix.rstrip("/") + "/", Path(directory)))

    def redirect(self, path: str, to: str, status: int = 302) -> Route:
        return self.route(path, b"", status=status, headers=(("Location", to),))

    def redirect_loop(self, a: str, b: str) -> None:
        self.redirect(a, b)
        self.redirect(b, a)

    def gzip_bomb(self, path: str, size: int = 200 * MB, **options: object) -> Route:
        """A body that is small on the wire and ``size`` zero bytes once gunzipped."""
        options.setdefault("headers", (("Content-Encoding", "gzip"),))
        return self.route(path, gzip_zeros(size), **options)

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path.split("?")[0] == path)

    def clear(self) -> None:
        """Forget the requests seen and the in-flight high-water mark."""
        self.requests.clear()
        self.max_in_flight = self.in_flight

    # ---- serving -----------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            first = True
            while True:
                try:
                    lead = await reader.readexactly(1)
                    if first and lead == b"\x16":  # a TLS ClientHello: answer in plain HTTP
                        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        await writer.drain()
                        return
                    first = False
                    head = lead + await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    return
                method, target, version = parts
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                if self.record:
                    self.requests.append(Request(method, target, headers, time.time()))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    keep = await self._respond(writer, method, target, headers)
                finally:
                    self.in_flight -= 1
                if not keep or version == "HTTP/1.0" or headers.get("connection") == "close":
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    def _lookup(self, path: str) -> Route | None:
        seq = self._sequences.get(path)
        if seq is not None:
            return seq.pop(0) if len(seq) > 1 else seq[0]
        route = self.routes.get(path)
        if route is None:
            for prefix, directory in self._dirs:
                if path.startswith(prefix):
                    name = path[len(prefix) :]
                    file = (directory / name).resolve()
                    if ".." not in name and file.is_file():
                        return Route(file=file, content_type=_guess_type(file))
            return None
        return route

    def _file_body(self, route: Route) -> tuple[bytes, str, str]:
        assert route.file is not None
        st = route.file.stat()
        cache = self._files.setdefault(route.file, _FileCache())
        if cache.mtime_ns != st.st_mtime_ns:
            cache.body = route.file.read_bytes()
            cache.mtime_ns = st.st_mtime_ns
            cache.etag = '"' + hashlib.sha1(cache.body).hexdigest()[:16] + '"'
            cache.last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        return cache.body, cache.etag, cache.last_modified

    async def _respond(
        self, writer: asyncio.StreamWriter, method: str, target: str, req: dict[str, str]
    ) -> bool:
        path = target.split("?", 1)[0]
        route = self._lookup(path)
        if route is None:
            route = Route(body=b"not found\n", status=404, content_type="text/plain")
        body, etag, last_modified = route.body, route.etag, route.last_modified
        if route.file is not None:
            body, file_etag, file_lm = self._file_body(route)
            etag = etag or file_etag
            last_modified = last_modified or file_lm
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.drop == "headers":
            writer.transport.abort()
            return False
        status = route.status
        out: list[tuple[str, str]] = [("Content-Type", route.content_type)]
        if etag:
            out.append(("ETag", etag))
        if last_modified:
            out.append(("Last-Modified", last_modified))
        if status == 200 and _not_modified(req, etag, last_modified):
            status, body = 304, b""
        out.extend(route.headers)
        repeat = route.repeat if status != 304 else 1
        if (
            route.gzip
            and status == 200
            and "gzip" in req.get("accept-encoding", "")
            and repeat == 1
        ):
            body = self._gzipped(body)
            out.append(("Content-Encoding", "gzip"))
        if method == "HEAD" or status in (204, 304):
            body, repeat = b"", 1
        if route.chunked:
            out.append(("Transfer-Encoding", "chunked"))
        else:
            out.append(("Content-Length", str(len(body) * repeat)))
        head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in out) + "\r\n"
        writer.write(head.encode("latin-1"))
        sent = 0
        total = len(body) * repeat
        for piece in _pieces(body, repeat, route.chunk):
            if route.drop == "body" and sent >= total // 2:
                await writer.drain()
                writer.transport.abort()
                return False
            if route.chunked:
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                writer.write(piece)
            sent += len(piece)
            await writer.drain()
            if route.drip:
                await asyncio.sleep(route.drip)
        if route.drop == "body":
            writer.transport.abort()
            return False
        if route.chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    def _gzipped(self, body: bytes) -> bytes:
        key = hashlib.sha1(body).digest()
        out = self._gzip_cache.get(key)
        if out is None:
            out = gzip.compress(body, 6, mtime=0)
            self._gzip_cache[key] = out
        return out


def _pieces(body: bytes, repeat: int, size: int) -> Iterator[bytes]:
    size = max(1, size)
    for _ in range(repeat):
        for i in range(0, len(body), size):
            yield body[i : i + size]


def _not_modified(req: Mapping[str, str], etag: str | None, last_modified: str | None) -> bool:
    inm = req.get("if-none-match")
    if inm is not None and etag:
        tags = [t.strip() for t in inm.split(",")]
        return etag in tags or "*" in tags or f"W/{etag}" in tags
    ims = req.get("if-modified-since")
    if ims and last_modified:
        try:
            since = email.utils.parsedate_to_datetime(ims)
            modified = email.utils.parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
        return modified <= since
    return False


_BOMBS: dict[int, bytes] = {}


def gzip_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes, built in 1 MB steps (about 1 KB on the wire per MB)."""
    if size in _BOMBS:
        return _BOMBS[size]
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MB)
    parts = []
    left = size
    while left > 0:
        n = min(left, MB)
        parts.append(comp.compress(block[:n]))
        left -= n
    parts.append(comp.flush())
    out = b"".join(parts)
    _BOMBS[size] = out
    return out


def _guess_type(file: Path) -> str:
    name = file.name.lower()
    if name.endswith(".atom"):
        return "application/atom+xml"
    if name.endswith(".gz"):
        return "application/gzip"
    if name.endswith((".xml", ".rss", ".rdf")):
        return "application/xml"
    return "application/octet-stream"


def main(argv: list[str] | None = None) -> int:
    """Serve a folder of feeds until SIGTERM/SIGINT or stdin closes; print the base URL."""
    ap = argparse.ArgumentParser(prog="python -m tests.servers.feedserver")
    ap.add_argument("--dir", type=Path, action="append", default=[], help="folder to serve at /")
    ap.add_argument("--prefix", default="/", help="URL prefix of the folders")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--watch-stdin", action="store_true", help="stop when stdin closes")
    args = ap.parse_args(argv)
    srv = FeedServer(port=args.port, record=False)
    for d in args.dir:
        srv.serve_dir(args.prefix, d)
    srv.start()
    print(srv.base_url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.watch_stdin:
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
