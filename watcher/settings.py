"""Settings from the environment and a ``.env`` file, through pydantic-settings.

Each group of ``WATCHER_*`` variables is one ``Section`` (a ``BaseSettings``) and each variable
is declared once, as a field: its name is the section's prefix plus the field's name (or the
field's ``validation_alias``), its default and description are the field's. The core settings
are ``Settings`` below, the stories' ``StorySettings`` too; the archive and every notifier
declare their own section in their own module, and ``watcher.notify.kinds.load_settings``
loads them all from one environment. ``variables()`` lists every declaration
(``deploy/.env.example`` and the README are checked against it).

Values come from the environment only inside ``Section.load``: building a section in code
(``TelegramSettings(token=...)``) uses what is given and the defaults, nothing else.
"""

from __future__ import annotations

import contextvars
import difflib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from watcher.errors import ConfigError, Problem

PREFIX = "WATCHER_"
DEFAULT_ALERTS_PER_POLL = 10

# (environment, .env file) while ``Section.load`` runs; None: values come from code only.
_SOURCES: contextvars.ContextVar[tuple[Mapping[str, str], Path | None] | None] = (
    contextvars.ContextVar("watcher_settings_sources", default=None)
)

S = TypeVar("S", bound="Section")


class _Environment(EnvSettingsSource):
    """The environment ``Section.load`` was given (``os.environ`` unless a test passes one)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty)


@dataclass(frozen=True, slots=True)
class Variable:
    """One declared setting: its variable name, default (as written in .env) and meaning."""

    name: str
    default: str
    description: str
    section: str


def csv(value: object) -> object:
    """A comma-separated variable as a tuple of its non-empty parts (lists pass through)."""
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    return value


def split_csv(*fields: str) -> Any:
    """A before-validator splitting the comma-separated ``fields`` (declare it in the model)."""

    def split(cls: type, value: object) -> object:
        return csv(value)

    return field_validator(*fields, mode="before")(classmethod(split))


# A comma-separated variable: pydantic-settings must not read it as JSON.
CsvTuple = Annotated[tuple[str, ...], NoDecode]
CsvInts = Annotated[tuple[int, ...], NoDecode]


class Section(BaseSettings):
    """One group of ``WATCHER_*`` variables (``env_prefix`` + field name, or the alias)."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        env_prefix=PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,  # VAR= in a .env file means "the default"
        populate_by_name=True,  # code names fields, the environment names variables
    )
    group: ClassVar[str] = "settings"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = _SOURCES.get()
        if sources is None:
            return (init_settings,)
        environ, dotenv = sources
        return (
            init_settings,
            _Environment(settings_cls, environ),
            DotEnvSettingsSource(settings_cls, env_file=dotenv),
        )

    @classmethod
    def load(
        cls: type[S],
        env: Mapping[str, str] | None = None,
        dotenv: Path | None = None,
        **overrides: object,
    ) -> S:
        """The section from ``env`` (default ``os.environ``) over ``dotenv``, under
        ``overrides`` (None values are ignored). Errors name the variable."""
        given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        token = _SOURCES.set((os.environ if env is None else env, readable_dotenv(dotenv)))
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ConfigError([cls._problem(err) for err in exc.errors()]) from exc
        finally:
            _SOURCES.reset(token)

    @classmethod
    def _problem(cls, err: Any) -> Problem:
        from watcher.logs import redact_url

        loc = err["loc"]
        field = str(loc[0]) if loc else ""
        by_variable = {cls.variable(f).lower(): f for f in cls.model_fields}
        field = by_variable.get(field.lower(), field)  # an alias is the variable itself
        info = cls.model_fields.get(field)
        name = cls.variable(field) if info is not None else cls.group
        message = str(err["msg"]).removeprefix("Value error, ")
        value = err.get("input")
        shown = ""  # what was given, unless it is a secret (a token, a password)
        if isinstance(value, str) and len(value) < 200 and (info is None or info.repr):
            shown = f" (got {redact_url(value)!r})"
        return Problem("environment", 0, 0, f"{name}: {message}{shown}")

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of ``field``."""
        info = cls.model_fields[field]
        alias = info.validation_alias
        if isinstance(alias, str):
            return alias
        return str(cls.model_config.get("env_prefix", "")) + field.upper()

    @classmethod
    def variables(cls) -> Iterator[Variable]:
        for name, info in cls.model_fields.items():
            yield Variable(cls.variable(name), _as_env(info), info.description or "", cls.group)

    def secret_values(self) -> list[str]:
        """Values that must never reach a log (fields declared with ``repr=False``)."""
        return [
            str(getattr(self, name))
            for name, info in type(self).model_fields.items()
            if not info.repr and getattr(self, name)
        ]


def _as_env(info: FieldInfo) -> str:
    """A field's default as a ``.env`` line would write it."""
    value = info.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def readable_dotenv(path: Path | None) -> Path | None:
    """``path`` when it is a file we can read; None when there is none. A ``.env`` that exists
    but cannot be read is a ``ConfigError`` saying so (not a PermissionError traceback)."""
    if path is None or not path.exists():
        return None
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ConfigError(
            Problem(str(path), 0, 0, f"cannot read this settings file: {exc.strerror or exc}")
        ) from exc
    return path


def check_config_dir(path: Path) -> None:
    """A ``ConfigError`` naming ``--config`` when the config folder is missing or unreadable."""
    where = f"the config folder {str(path)!r} (--config or WATCHER_CONFIG_DIR)"
    if not path.exists():
        raise ConfigError(f"{where} does not exist: create it or point --config at the folder")
    if not path.is_dir():
        raise ConfigError(f"{where} is not a folder")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ConfigError(f"{where} cannot be read by this user: check its permissions")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def time_zone(value: str) -> str:
    """An IANA zone name (as ``ZoneInfo`` reads it), else ValueError."""
    zone = known_zone(value)
    if zone is None:
        raise ValueError("not a known time zone (e.g. UTC, Asia/Seoul, Europe/London)")
    return zone


def known_zone(text: str) -> str | None:
    """The IANA zone ``text`` names, in its own spelling ("asia/seoul" -> "Asia/Seoul"), or
    None."""
    try:
        ZoneInfo(text)
        return text
    except (ZoneInfoNotFoundError, ValueError):
        pass
    folded = {z.casefold(): z for z in available_timezones()}
    return folded.get(text.strip().casefold())


def zones_like(text: str, n: int = 3) -> list[str]:
    """Up to ``n`` IANA zone names close to ``text`` (for "did you mean")."""
    names = sorted(available_timezones())
    by_city = {z.rsplit("/", 1)[-1].casefold(): z for z in names}
    close = difflib.get_close_matches(text.casefold(), list(by_city), n=n, cutoff=0.7)
    return [by_city[c] for c in close] or difflib.get_close_matches(text, names, n=n)


def hh_mm(value: str) -> str:
    if not _HH_MM.match(value):
        raise ValueError("expected a 24-hour time HH:MM, e.g. 08:00")
    return value


def store_target(value: str) -> str:
    """A SQLite file path, ``sqlite:///path`` or a ``postgresql://`` URL (as the store opens)."""
    if "://" in value and not value.startswith(("postgresql://", "postgres://", "sqlite:///")):
        raise ValueError("give a SQLite file path or a postgresql:// URL")
    return value


HhMm = Annotated[str, AfterValidator(hh_mm)]
TimeZone = Annotated[str, AfterValidator(time_zone)]


class StorySettings(Section):
    """One story, one alert (docs/stories.md)."""

    model_config = SettingsConfigDict(env_prefix="WATCHER_STORY_")
    group: ClassVar[str] = "stories: one story, one alert (docs/stories.md)"

    enabled: bool = Field(
        True,
        validation_alias="WATCHER_STORIES",
        description="Group reports of one development: later reports edit the first alert.",
    )
    window_hours: float = Field(
        72.0, gt=0, description="Hours within which reports can belong to one story."
    )
    # a later report of a story only edits its first message (other figures, places, dates
    # or stage make a new story, which alerts); these make it alert again as well:
    realert_new_topic: bool = Field(
        False, description="A later report of a story alerts again when it adds a topic."
    )
    realert_score_factor: float = Field(
        0.0, ge=0, description="... or scores this many times the story's best (0 = never)."
    )
    encoder: bool = Field(
        True, description="Group across languages with the multilingual sentence encoder."
    )


class Settings(Section):
    """The core settings: files, state, logs, health, and the notifiers' sections."""

    group: ClassVar[str] = "files, state, logs, health"

    config_dir: Path = Field(
        Path("."), description="Folder with feeds.yaml, keywords.yaml and .env (--config)."
    )
    db: Annotated[str, AfterValidator(store_target)] = Field(
        "",
        description="SQLite file path or postgresql:// URL; empty: CONFIG/state/watcher.db.",
    )
    instance_id: str = Field("", description="This instance in leases and logs; hostname:pid.")
    model: str = Field(
        "",
        description="The relevance model file, or off (rules only); empty:"
        " relevance-model.zip beside keywords.yaml, else the shipped one (docs/relevance.md).",
    )
    log_format: Literal["text", "json"] = Field("text", description="text or json.")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    http_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port of /healthz, /metrics and the maintainer pages; 0 turns them off.",
    )
    http_host: str = Field(
        "127.0.0.1",
        description="Address they listen on; not a loopback one: WATCHER_WEB_TOKEN is required.",
    )
    alerts_per_poll: int = Field(
        DEFAULT_ALERTS_PER_POLL,
        ge=1,
        description="Alerts of one source per poll sent one by one to a target; the rest in one"
        " summary message (all are kept in the store and the digest).",
    )
    # the other sections: stories, the archive, the notifiers' (watcher.notify.kinds)
    sections: Annotated[tuple[Section, ...], NoDecode] = ()

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @classmethod
    def variables(cls) -> Iterator[Variable]:
        return (v for v in super().variables() if v.name != cls.variable("sections"))

    @property
    def feeds_path(self) -> Path:
        return self.config_dir / "feeds.yaml"

    @property
    def keywords_path(self) -> Path:
        return self.config_dir / "keywords.yaml"

    @property
    def db_target(self) -> str:
        return self.db or str(self.config_dir / "state" / "watcher.db")

    @property
    def stories(self) -> StorySettings:
        return self.section(StorySettings)

    def section(self, kind: type[S]) -> S:
        """The loaded section of type ``kind`` (its defaults when it was not loaded)."""
        for section in self.sections:
            if isinstance(section, kind):
                return section
        return kind()

    def secret_values(self) -> list[str]:
        from watcher.logs import url_password

        values = [url_password(self.db_target)]  # a postgresql:// URL may carry one
        for section in self.sections:
            values += section.secret_values()
        return [v for v in values if v]
