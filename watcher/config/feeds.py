"""feeds.yaml: the sources to watch, validated with positions (``file:line:col: message``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from watcher.durations import parse_duration
from watcher.errors import ConfigError, Problem
from watcher.yamlconf import load_yaml, position, validate

MIN_INTERVAL_S = 5.0
DEFAULT_RETENTION_S = 30 * 86400.0  # items are pruned this long after they were first seen
MIN_RETENTION_S = 86400.0
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selectors(_Model):
    """CSS selectors for ``type: page`` sources."""

    item: str
    link: str
    title: str | None = None
    date: str | None = None


class Defaults(_Model):
    interval: float = 600.0
    language: str = ""
    enabled: bool = True
    backfill: float = 86400.0
    fulltext: bool = False
    allow_private: bool = False
    tags: tuple[str, ...] = ()
    archive_watch: float | None = None  # how long the archive re-checks articles; 0 = never

    @field_validator("interval", "backfill", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)

    @field_validator("archive_watch", mode="before")
    @classmethod
    def _watch(cls, v: Any) -> float | None:
        return None if v is None else parse_duration(v)


class SourceConfig(_Model):
    id: str
    name: str = ""
    url: str
    language: str = ""
    type: Literal["feed", "page"] = "feed"
    interval: float = 600.0
    enabled: bool = True
    tags: tuple[str, ...] = ()
    backfill: float = 86400.0
    fulltext: bool = False
    allow_private: bool = False
    selectors: Selectors | None = None
    # how long the archive re-checks this source's articles (docs/archive.md); 0 = never,
    # None = the WATCHER_ARCHIVE_WATCH schedule as it is
    archive_watch: float | None = None

    @field_validator("interval", "backfill", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)

    @field_validator("archive_watch", mode="before")
    @classmethod
    def _watch(cls, v: Any) -> float | None:
        return None if v is None else parse_duration(v)

    @field_validator("interval")
    @classmethod
    def _min_interval(cls, v: float) -> float:
        if v < MIN_INTERVAL_S:
            raise ValueError(f"interval must be at least {MIN_INTERVAL_S:g}s")
        return v

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

    @model_validator(mode="after")
    def _page_needs_selectors(self) -> SourceConfig:
        if self.type == "page" and self.selectors is None:
            raise ValueError("a source of type page needs selectors: item and link")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.id


class FeedsConfig(_Model):
    defaults: Defaults = Field(default_factory=Defaults)
    sources: tuple[SourceConfig, ...] = ()
    # How long seen items are kept (alerts keep their own copy and are never pruned). An item
    # pruned while its feed still lists it is stored again as new, silently: it cannot alert
    # twice (the alert's dedupe key stays), but keep this well above any feed's memory.
    retention: float = DEFAULT_RETENTION_S

    @field_validator("retention", mode="before")
    @classmethod
    def _retention_duration(cls, v: Any) -> float:
        return parse_duration(v)

    @field_validator("retention")
    @classmethod
    def _min_retention(cls, v: float) -> float:
        if v < MIN_RETENTION_S:
            raise ValueError("retention must be at least 1d")
        return v

    @property
    def enabled_sources(self) -> tuple[SourceConfig, ...]:
        return tuple(s for s in self.sources if s.enabled)

    def get(self, source_id: str) -> SourceConfig | None:
        for s in self.sources:
            if s.id == source_id:
                return s
        return None


def _apply_defaults(data: Any) -> Any:
    """Fill each source's missing keys from ``defaults:`` (in place; positions are kept)."""
    if not isinstance(data, dict):
        return data
    defaults = data.get("defaults")
    sources = data.get("sources")
    if isinstance(defaults, dict) and isinstance(sources, list):
        for src in sources:
            if isinstance(src, dict):
                for key, value in defaults.items():
                    if key not in src:
                        src[key] = value
    return data


def _check_defaults(data: Any, name: str) -> None:
    """Problems in ``defaults:`` itself, pointed at there (not at every source using them)."""
    try:
        Defaults.model_validate(data.get("defaults") or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ["defaults", *[p for p in err["loc"] if isinstance(p, int | str)]]
            line, col = position(data, loc)
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(Problem(name, line, col, f"{'.'.join(map(str, loc))}: {msg}"))
        raise ConfigError(problems) from exc


def parse_feeds(text: str, name: str = "feeds.yaml") -> FeedsConfig:
    data = load_yaml(name, text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(Problem(name, 1, 1, "expected a mapping with 'sources:'"))
    # validate defaults first so their own errors point at them, then the merged sources
    _check_defaults(data, name)
    merged = _apply_defaults(data)
    config = validate(FeedsConfig, merged, name)
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, src in enumerate(config.sources):
        if src.id in seen:
            line, col = position(data, ["sources", i, "id"])
            problems.append(Problem(name, line, col, f"duplicate source id {src.id!r}"))
        seen.add(src.id)
    if problems:
        raise ConfigError(problems)
    return config


def load_feeds(path: Path | str) -> FeedsConfig:
    """Read and validate feeds.yaml; raise ``ConfigError`` with every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(Problem(str(p), 0, 0, "file not found")) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(Problem(str(p), 0, 0, f"cannot read: {exc}")) from exc
    return parse_feeds(text, str(p))
