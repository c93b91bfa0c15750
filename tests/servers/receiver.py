"""A loopback HTTP receiver for notifier tests: records every POST, answers what it is told.

with Receiver() as rx:
    rx.answer(503, headers={"Retry-After": "7"})   # the next request only
    ... rx.url("/hook") ... rx.requests
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


@dataclass
class _Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._answers: list[_Answer] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = receiver._take(Request(self.path, headers, body, time.monotonic()))
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _take(self, request: Request) -> _Answer:
        with self._lock:
            self.requests.append(request)
            return self._answers.pop(0) if self._answers else _Answer(200)

    def answer(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """The next ``times`` requests get ``status`` (then 200 again)."""
        with self._lock:
            self._answers += [_Answer(status, headers or {}) for _ in range(times)]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
