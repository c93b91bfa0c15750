"""feeds.yaml: the sources to watch, validated with positions (``file:line:col: message``).

Each source is validated by its kind's model (``watcher.sources``), chosen by ``type:``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    field_validator,
)

from watcher.durations import parse_duration
from watcher.errors import ConfigError, Problem
from watcher.sources import kinds
from watcher.sources.base import SourceConfig
from watcher.yamlconf import load_yaml, position, problems_from, validate

__all__ = [
    "DEFAULT_RETENTION_S",
    "Defaults",
    "FeedsConfig",
    "SourceConfig",
    "load_feeds",
    "parse_feeds",
]

DEFAULT_RETENTION_S = 30 * 86400.0  # items are pruned this long after they were first seen
MIN_RETENTION_S = 86400.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


def _type_of(value: Any) -> str:
    """The kind a source in feeds.yaml names (``feed`` when it names none)."""
    kind = value.get("type", "feed") if isinstance(value, Mapping) else getattr(value, "type", "")
    return kind if isinstance(kind, str) else repr(kind)


def _source_union() -> Any:
    """Every kind's model, chosen by ``type:`` (a pydantic discriminated union)."""
    members = tuple(Annotated[k.config, Tag(k.name)] for k in kinds().values())
    return Annotated[Union[members], Discriminator(_type_of)]  # noqa: UP007


if TYPE_CHECKING:
    AnySource = SourceConfig
else:
    AnySource = _source_union()


class FeedsConfig(_Model):
    defaults: Defaults = Field(default_factory=Defaults)
    sources: tuple[AnySource, ...] = ()
    # How long seen items are kept (alerts keep their own copy and are never pruned). An item
    # pruned while its feed still lists it is stored again as new, silently: it cannot alert
    # twice (the alert's dedupe key stays), but keep this well above any feed's memory.
    retention: float = DEFAULT_RETENTION_S
    _warnings: tuple[Problem, ...] = PrivateAttr(default=())

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
    def warnings(self) -> tuple[Problem, ...]:
        """What loads but deserves a word (an empty file), as ``file:line`` problems."""
        return self._warnings

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


def _problems(model: type[BaseModel], node: Any, name: str) -> list[Problem]:
    """Where ``node`` (a part of feeds.yaml) fails ``model``; positions are the file's own."""
    try:
        model.model_validate(node if node is not None else {})
    except ValidationError as exc:
        problems = problems_from(exc, node, name, model)
        # a problem of the whole part (no field of it) is pointed at the part itself
        lc = getattr(node, "lc", None)
        line, col = (lc.line + 1, lc.col + 1) if lc is not None else (0, 0)
        return [Problem(p.file, line, col, p.message) if p.line <= 0 else p for p in problems]
    return []


def _source_problems(data: Any, name: str) -> list[Problem]:
    """Each source checked by its own kind's model, so a problem points into that source."""
    sources = data.get("sources")
    if not isinstance(sources, list):
        return []  # FeedsConfig says what is wrong with it
    known = kinds()
    problems: list[Problem] = []
    for i, src in enumerate(sources):
        if not isinstance(src, Mapping):
            continue
        kind = known.get(_type_of(src))
        if kind is not None:
            problems += _problems(kind.config, src, name)
            continue
        line, col = position(data, ["sources", i, "type"])
        hint = difflib.get_close_matches(_type_of(src), list(known), n=1, cutoff=0.6)
        problems.append(
            Problem(
                name,
                line,
                col,
                f"unknown type {_type_of(src)!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; expected one of: {', '.join(known)}",
            )
        )
    return problems


def _duplicate_ids(config: FeedsConfig, data: Any, name: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, src in enumerate(config.sources):
        if src.id in seen:
            line, col = position(data, ["sources", i, "id"])
            problems.append(Problem(name, line, col, f"duplicate source id {src.id!r}"))
        seen.add(src.id)
    return problems


def _empty(config: FeedsConfig, data: Any, name: str) -> list[Problem]:
    """Accepted (a run with only the Telegram bot is legitimate) but said: nothing is polled."""
    if config.sources:
        return []
    line, col = position(data, ["sources"], at_key=True) if "sources" in data else (1, 1)
    return [
        Problem(
            name,
            line,
            col,
            "warning: no sources, nothing will be polled"
            " (list them under 'sources:', see docs/feeds.md)",
        )
    ]


def parse_feeds(text: str, name: str = "feeds.yaml") -> FeedsConfig:
    data = load_yaml(name, text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(Problem(name, 1, 1, "expected a mapping with 'sources:'"))
    # defaults first, so that their own problems point at them, not at every source using them
    problems = _problems(Defaults, data.get("defaults"), name)
    if problems:
        raise ConfigError(problems)
    merged = _apply_defaults(data)
    problems = _source_problems(merged, name)
    if problems:
        merged["sources"] = []  # told already: the rest of the file is checked without them
    try:
        config = validate(FeedsConfig, merged, name)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from exc
    problems += _duplicate_ids(config, data, name)
    if problems:
        raise ConfigError(problems)
    config._warnings = tuple(_empty(config, data, name))
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
