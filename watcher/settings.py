"""Settings from the environment (and an optional ``.env`` file), parsed once.

Every setting and its default is in the models below: this is the one table of defaults for
the process. Files (``feeds.yaml``, ``keywords.yaml``) are parsed by their own modules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from watcher.errors import ConfigError, Problem


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TelegramSettings(_Model):
    token: str = Field(default="", repr=False)  # WATCHER_TELEGRAM_TOKEN: turns Telegram on
    api_url: str = "https://api.telegram.org/bot"  # WATCHER_TELEGRAM_API_URL
    admins: tuple[int, ...] = ()  # WATCHER_TELEGRAM_ADMINS: comma-separated chat ids
    channels: tuple[str, ...] = ()  # WATCHER_TELEGRAM_CHANNELS: "@name" or "@name:t1+t2"
    webhook_url: str = ""  # WATCHER_TELEGRAM_WEBHOOK_URL: webhook mode instead of polling
    webhook_listen: str = "127.0.0.1"  # WATCHER_TELEGRAM_WEBHOOK_LISTEN: address to listen on
    webhook_port: int = 8443  # WATCHER_TELEGRAM_WEBHOOK_PORT: port to listen on
    webhook_secret: str = Field(  # WATCHER_TELEGRAM_WEBHOOK_SECRET ("" = from the token)
        default="", repr=False, pattern=r"^[A-Za-z0-9_-]{0,256}$"
    )

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class SmtpSettings(_Model):
    host: str = ""  # WATCHER_SMTP_HOST: turns email digests on
    port: int = 0  # WATCHER_SMTP_PORT (0: 25, 587 or 465 by tls)
    user: str = ""  # WATCHER_SMTP_USER
    password: str = Field(default="", repr=False)  # WATCHER_SMTP_PASSWORD
    from_addr: str = "watcher@localhost"  # WATCHER_SMTP_FROM
    tls: Literal["none", "starttls", "ssl"] = "starttls"  # WATCHER_SMTP_TLS
    digest_at: str = "08:00"  # WATCHER_DIGEST_AT: default local time of the daily digest
    digest_tz: str = "UTC"  # WATCHER_DIGEST_TZ: default time zone of the daily digest
    digest_empty: bool = False  # WATCHER_DIGEST_EMPTY: send a short "nothing new" note

    @property
    def enabled(self) -> bool:
        return bool(self.host)


class StorySettings(_Model):
    """One story, one alert (docs/stories.md)."""

    enabled: bool = True  # WATCHER_STORIES: group reports of one story; false = every item alerts
    window_hours: float = Field(default=72.0, gt=0)  # WATCHER_STORY_WINDOW_HOURS
    # a later report of a story only edits its first message (other figures, places, dates
    # or stage make a new story, which alerts); these make it alert again as well:
    realert_new_topic: bool = False  # WATCHER_STORY_REALERT_NEW_TOPIC: when it adds a topic
    realert_score_factor: float = Field(default=0.0, ge=0)  # WATCHER_STORY_REALERT_SCORE_FACTOR
    encoder: bool = True  # WATCHER_STORY_ENCODER: group across languages with the encoder


class ArchiveSettings(_Model):
    """The evidence archive (docs/archive.md)."""

    enabled: bool = True  # WATCHER_ARCHIVE: keep a copy of every alerted article
    dir: Path | None = None  # WATCHER_ARCHIVE_DIR: the WARC folder; None = CONFIG/state/archive
    max_page_bytes: int = Field(default=5 * 1024 * 1024, gt=0)  # WATCHER_ARCHIVE_MAX_PAGE_BYTES
    max_day_bytes: int = Field(default=500 * 1024 * 1024, gt=0)  # WATCHER_ARCHIVE_MAX_DAY_BYTES
    watch: tuple[float, ...] = (86400.0, 7 * 86400.0, 30 * 86400.0)  # WATCHER_ARCHIVE_WATCH
    robots: bool = True  # WATCHER_ARCHIVE_ROBOTS: honour robots.txt as full-text fetches do
    url: str = ""  # WATCHER_ARCHIVE_URL: where the maintainer pages serve archived copies
    concurrency: int = Field(default=4, ge=1, le=64)  # WATCHER_ARCHIVE_CONCURRENCY

    @field_validator("watch", mode="before")
    @classmethod
    def _watch(cls, v: object) -> object:
        """``1d,7d,30d`` (the one duration syntax; a bare number is seconds); ``off`` or
        empty: none."""
        from watcher.durations import parse_duration

        if isinstance(v, str):
            parts = [p.strip() for p in v.split(",") if p.strip()]
            return () if parts in ([], ["off"]) else tuple(parse_duration(p) for p in parts)
        return v


class Settings(_Model):
    config_dir: Path = Path(".")  # WATCHER_CONFIG_DIR / --config
    db: str = ""  # WATCHER_DB / --db: a file path or postgresql:// URL; "" = state/watcher.db
    log_format: Literal["text", "json"] = "text"  # WATCHER_LOG_FORMAT / --log-format
    log_level: str = "INFO"  # WATCHER_LOG_LEVEL
    http_host: str = "127.0.0.1"  # WATCHER_HTTP_HOST
    http_port: int = 0  # WATCHER_HTTP_PORT: /healthz and /metrics; 0 = off
    instance_id: str = ""  # WATCHER_INSTANCE_ID: "" = hostname:pid
    # WATCHER_MODEL: the relevance model file; "" = relevance-model.zip beside keywords.yaml,
    # else the shipped one; "off" = rules only (docs/relevance.md)
    model: str = ""
    telegram: TelegramSettings = TelegramSettings()
    smtp: SmtpSettings = SmtpSettings()
    stories: StorySettings = StorySettings()
    archive: ArchiveSettings = ArchiveSettings()

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
    def archive_dir(self) -> Path:
        return self.archive.dir or self.config_dir / "state" / "archive"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, dotenv: Path | None = None, **overrides: object
    ) -> Settings:
        """Build settings from ``env`` (default ``os.environ``) over a ``.env`` file."""
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update(read_dotenv(dotenv))
        values.update(os.environ if env is None else env)

        def get(name: str) -> str | None:
            v = values.get(name)
            return v if v not in (None, "") else None

        def csv(name: str) -> list[str]:
            return [p.strip() for p in (get(name) or "").split(",") if p.strip()]

        raw: dict[str, object] = {}
        for key, env_name in (
            ("config_dir", "WATCHER_CONFIG_DIR"),
            ("db", "WATCHER_DB"),
            ("log_format", "WATCHER_LOG_FORMAT"),
            ("log_level", "WATCHER_LOG_LEVEL"),
            ("http_host", "WATCHER_HTTP_HOST"),
            ("http_port", "WATCHER_HTTP_PORT"),
            ("instance_id", "WATCHER_INSTANCE_ID"),
            ("model", "WATCHER_MODEL"),
        ):
            if (v := get(env_name)) is not None:
                raw[key] = v
        tg: dict[str, object] = {"admins": csv("WATCHER_TELEGRAM_ADMINS")}
        tg["channels"] = csv("WATCHER_TELEGRAM_CHANNELS")
        for key, env_name in (
            ("token", "WATCHER_TELEGRAM_TOKEN"),
            ("api_url", "WATCHER_TELEGRAM_API_URL"),
            ("webhook_url", "WATCHER_TELEGRAM_WEBHOOK_URL"),
            ("webhook_listen", "WATCHER_TELEGRAM_WEBHOOK_LISTEN"),
            ("webhook_port", "WATCHER_TELEGRAM_WEBHOOK_PORT"),
            ("webhook_secret", "WATCHER_TELEGRAM_WEBHOOK_SECRET"),
        ):
            if (v := get(env_name)) is not None:
                tg[key] = v
        smtp: dict[str, object] = {}
        for key, env_name in (
            ("host", "WATCHER_SMTP_HOST"),
            ("port", "WATCHER_SMTP_PORT"),
            ("user", "WATCHER_SMTP_USER"),
            ("password", "WATCHER_SMTP_PASSWORD"),
            ("from_addr", "WATCHER_SMTP_FROM"),
            ("tls", "WATCHER_SMTP_TLS"),
            ("digest_at", "WATCHER_DIGEST_AT"),
            ("digest_tz", "WATCHER_DIGEST_TZ"),
            ("digest_empty", "WATCHER_DIGEST_EMPTY"),
        ):
            if (v := get(env_name)) is not None:
                smtp[key] = v
        raw["telegram"] = tg
        raw["smtp"] = smtp
        raw["stories"] = {
            key: v
            for key, env_name in (
                ("enabled", "WATCHER_STORIES"),
                ("window_hours", "WATCHER_STORY_WINDOW_HOURS"),
                ("realert_new_topic", "WATCHER_STORY_REALERT_NEW_TOPIC"),
                ("realert_score_factor", "WATCHER_STORY_REALERT_SCORE_FACTOR"),
                ("encoder", "WATCHER_STORY_ENCODER"),
            )
            if (v := get(env_name)) is not None
        }
        raw["archive"] = {
            key: v
            for key, env_name in (
                ("enabled", "WATCHER_ARCHIVE"),
                ("dir", "WATCHER_ARCHIVE_DIR"),
                ("max_page_bytes", "WATCHER_ARCHIVE_MAX_PAGE_BYTES"),
                ("max_day_bytes", "WATCHER_ARCHIVE_MAX_DAY_BYTES"),
                ("watch", "WATCHER_ARCHIVE_WATCH"),
                ("robots", "WATCHER_ARCHIVE_ROBOTS"),
                ("url", "WATCHER_ARCHIVE_URL"),
                ("concurrency", "WATCHER_ARCHIVE_CONCURRENCY"),
            )
            if (v := get(env_name)) is not None
        }
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = [
                Problem(
                    "environment",
                    0,
                    0,
                    f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
                )
                for err in exc.errors()
            ]
            raise ConfigError(problems) from exc


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; ``#`` comments; optional surrounding quotes."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out
