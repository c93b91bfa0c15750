"""The one exception tree of watcher (modelled on httpx's ``_exceptions.py``).

    WatcherError
    ├── ConfigError          a configuration file or setting is invalid (carries every Problem)
    ├── FetchError           a source could not be fetched or parsed; ``kind`` is stable
    ├── StoreError           the state store failed or is of an unknown kind
    └── DeliveryError        a channel cannot deliver (a rejected token, SMTP refusing)

How one delivery went is not an exception: a notifier's ``send`` returns ``Sent``, ``Retry`` or
``Gone`` (``watcher.notify.base``).

Code that talks to the outside world raises these and nothing else; the CLI turns them into
messages and exit codes, never tracebacks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class WatcherError(Exception):
    """Base class of every error watcher raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a configuration file, with where it is (1-based line and column)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class ConfigError(WatcherError):
    """A configuration file or setting is invalid. ``problems`` lists all that was found."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("<config>", 0, 0, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FetchErrorKind(enum.StrEnum):
    """Stable, human-readable kinds of fetch failure (shown in ``watcher sources``)."""

    TIMEOUT = "timeout"
    CONNECT = "connection failed"
    DNS = "DNS lookup failed"
    TLS = "TLS error"
    NOT_FOUND = "HTTP 404 not found"
    GONE = "HTTP 410 gone"
    FORBIDDEN = "HTTP 403 forbidden"
    RATE_LIMITED = "HTTP 429 rate limited"
    CLIENT_ERROR = "HTTP client error"
    SERVER_ERROR = "HTTP server error"
    TOO_MANY_REDIRECTS = "too many redirects"
    TOO_LARGE = "response too large"
    BLOCKED_ADDRESS = "address not allowed"
    ROBOTS = "disallowed by robots.txt"
    PARSE_ERROR = "parse error"
    MARKUP = "HTML too complex"  # nesting or re-opening that would take minutes to parse
    EMPTY = "nothing usable"
    SELECTORS = "selectors matched nothing"
    OTHER = "error"


class FetchError(WatcherError):
    """A source or article could not be fetched or parsed."""

    def __init__(
        self,
        kind: FetchErrorKind,
        detail: str = "",
        *,
        url: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.kind = kind
        self.detail = detail
        self.url = url
        self.status = status
        self.retry_after = retry_after
        text = kind.value if not detail else f"{kind.value}: {detail}"
        super().__init__(text)


class StoreError(WatcherError):
    """The state store failed, or its URL names no known kind of store."""


class DeliveryError(WatcherError):
    """A channel cannot deliver: its service refuses us or cannot be reached."""
