"""The source contract: what every kind of source in feeds.yaml is and does.

A kind of source (``type:`` in feeds.yaml) is one module of ``watcher.sources`` with a
module-level ``KIND`` that satisfies ``SourceKind``:

- ``config``: its pydantic model, a subclass of ``SourceConfig`` (the fields every source has)
  with its own fields and validators; feeds.yaml is validated with it, so its problems are
  reported as ``file:line:col`` by ``watcher check`` like every other;
- ``request(source)``: the HTTP request that fetches it (the pipeline adds conditional GET,
  bounds, back-off and health, the same for every kind);
- ``parse(fetched, source)``: the body to ``Item``s, pure and synchronous (it runs on the
  pipeline's stage threads); trouble is a ``FetchError`` with a kind operators can act on.

Nothing else names a kind: the pipeline, ``watcher sources test``, the OPML export and the
feeds.yaml union find them through ``watcher.sources.kinds()``. docs/architecture.md walks
through adding one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from watcher.durations import parse_duration
from watcher.models import Item

MIN_INTERVAL_S = 5.0
HTML_ACCEPT = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"}  # for web pages
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SourceConfig(BaseModel):
    """One source in feeds.yaml: the fields every kind has. On its own, a feed (``type: feed``,
    the default); other kinds subclass it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""
    url: str
    language: str = ""
    type: str = "feed"
    interval: float = 600.0
    enabled: bool = True
    tags: tuple[str, ...] = ()
    backfill: float = 86400.0
    fulltext: bool = False
    allow_private: bool = False
    # how long the archive re-checks this source's articles (docs/archive.md); 0 = never,
    # None = the WATCHER_ARCHIVE_WATCH schedule as it is
    archive_watch: float | None = None

    @field_validator("type")
    @classmethod
    def _feed(cls, v: str) -> str:
        if cls is SourceConfig and v != "feed":  # each other kind is its own subclass
            raise ValueError(f"type {v!r}: build it with that kind's model")
        return v

    @field_validator("interval", "backfill", mode="before")
    @classmethod
    def _duration(cls, v: Any, info: ValidationInfo) -> float:
        seconds = parse_duration(v)
        if info.field_name == "interval" and seconds < MIN_INTERVAL_S:
            raise ValueError(f"interval must be at least {MIN_INTERVAL_S:g}s")
        return seconds

    @field_validator("archive_watch", mode="before")
    @classmethod
    def _watch(cls, v: Any) -> float | None:
        return None if v is None else parse_duration(v)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"id {v!r}: use letters, digits, '-', '_' and '.'")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"url {v!r} must start with http:// or https://")
        return v

    @property
    def display_name(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """What to GET for a source (the fetcher adds the conditional-GET headers itself)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched body, for a kind's parser: its HTTP headers (the charset), the URL it came
    from after redirects (for relative links) and the poll's time (for dates)."""

    body: bytes
    headers: Mapping[str, str]
    base_url: str
    now: datetime


class Parsed(Protocol):
    """What a kind's ``parse`` gives: the items, and whether the body was unusable (a body
    that gives no item and is ``bozo`` fails the poll with ``bozo_reason``)."""

    @property
    def items(self) -> tuple[Item, ...]: ...

    @property
    def bozo(self) -> bool: ...

    @property
    def bozo_reason(self) -> str: ...


class SourceKind(Protocol):
    """One kind of source (see the module docstring)."""

    @property
    def name(self) -> str:
        """Its ``type:`` in feeds.yaml."""

    @property
    def config(self) -> type[SourceConfig]:
        """Its feeds.yaml model."""

    @property
    def opml_type(self) -> str:
        """``rss`` for what feed readers subscribe to, ``link`` for a web page."""

    def request(self, source: SourceConfig) -> FetchRequest:
        """The request that fetches ``source``."""

    def parse(self, fetched: Fetched, source: SourceConfig) -> Parsed:
        """The fetched body as items of ``source``."""
