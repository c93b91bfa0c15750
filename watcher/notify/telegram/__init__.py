"""Telegram delivery: its settings, message formatting, the outbox notifier and the bot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator
from pydantic_settings import SettingsConfigDict

from watcher.models import LANGUAGES
from watcher.notify.base import TOPIC_IDS, Configured, NotifierSettings
from watcher.notify.i18n import DEFAULT
from watcher.settings import CsvInts, CsvTuple, known_zone, split_csv

CHANNEL_FORM = "'@name' or a chat id, then optionally ':topic1+topic2', ':en|ko|ru', ':Area/City'"


@dataclass(frozen=True, slots=True)
class Channel(Configured):
    """A configured channel: its topics, and the language and time zone its alerts are in."""

    lang: str = DEFAULT
    tz: str = ""  # IANA zone of the times in its alerts; "" = UTC

    def describe(self, shown: str | None = None) -> str:
        extra = [self.lang] if self.lang != DEFAULT else []
        return ":".join([Configured.describe(self, shown), *extra, *([self.tz] if self.tz else [])])


def parse_channel(spec: str) -> Channel:
    """One WATCHER_TELEGRAM_CHANNELS entry: ``@name`` or a chat id, then optionally
    ``:topic1+topic2``, ``:ko`` (en, ko or ru) and ``:Area/City``, in that order, e.g.
    ``@alerts:repatriation:ko:Asia/Seoul`` or ``@alerts:ru``; a language code is read as the
    language, a part with ``/`` (or ``UTC``) as the time zone."""
    chat, *rest = [part.strip() for part in spec.strip().split(":")]
    if not ((len(chat) > 1 and chat.startswith("@")) or chat.lstrip("-").isdigit()):
        raise ValueError(f"telegram channel {spec!r}: expected {CHANNEL_FORM}")
    tz = lang = ""
    if rest and ("/" in rest[-1] or rest[-1].upper() == "UTC"):
        zone = known_zone(rest.pop())
        if zone is None:
            raise ValueError(
                f"telegram channel {spec!r}: unknown time zone; use an Area/City name such as"
                " Asia/Seoul or Europe/Moscow"
            )
        tz = "" if zone == "UTC" else zone
    if rest and rest[-1].lower() in LANGUAGES:
        lang = rest.pop().lower()
    if len(rest) > 1 or (rest and rest[0] and not TOPIC_IDS.match(rest[0])):
        raise ValueError(f"telegram channel {spec!r}: expected {CHANNEL_FORM}")
    topics = tuple(rest[0].split("+")) if rest and rest[0] else ()
    return Channel(chat, topics, lang or DEFAULT, tz)


def check_api_url(value: str) -> str:
    """python-telegram-bot appends the token to this: it must be http(s) and end in /bot."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http(s) URL such as https://api.telegram.org/bot")
    if not parts.path.endswith("/bot"):
        raise ValueError(
            "must end with /bot (the token is appended to it), e.g. http://127.0.0.1:8081/bot"
        )
    return value


class TelegramSettings(NotifierSettings):
    model_config = SettingsConfigDict(env_prefix="WATCHER_TELEGRAM_")
    group: ClassVar[str] = "Telegram (docs/telegram.md)"

    token: str = Field(
        "", repr=False, description="The bot's token from @BotFather; setting it turns Telegram on."
    )
    api_url: Annotated[str, AfterValidator(check_api_url)] = Field(
        "https://api.telegram.org/bot",
        description="Bot API base URL, ending in /bot (a local Bot API server, a test server).",
    )
    admins: CsvInts = Field(
        (), description="Comma-separated chat ids of the operators (notices, /status ...)."
    )
    channels: CsvTuple = Field(
        (),
        description='Comma-separated channels that get every alert: "@name", "@name:t1+t2";'
        ' a language and time zone may follow: "@name:ko:Asia/Seoul".',
    )
    webhook_url: str = Field(
        "", description="Receive updates by webhook at this public https URL, not long polling."
    )
    webhook_listen: str = Field(
        "127.0.0.1", description="Address the webhook receiver listens on (behind a TLS proxy)."
    )
    webhook_port: int = Field(
        8443, ge=0, le=65535, description="Port the webhook receiver listens on."
    )
    webhook_secret: str = Field(
        "",
        repr=False,
        pattern=r"^[A-Za-z0-9_-]{0,256}$",
        description="Secret Telegram sends with each update (A-Z a-z 0-9 _ -); empty: from the"
        " token.",
    )

    _csv = split_csv("admins", "channels")

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for spec in value:
            parse_channel(spec)
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def configured(self) -> tuple[str, tuple[Configured, ...]]:
        return self.variable("channels"), tuple(parse_channel(c) for c in self.channels)

    def secret_values(self) -> list[str]:
        from watcher.notify.telegram.webhook import webhook_secret

        values = super().secret_values()
        if self.token:  # the webhook secret derived from it is a secret too
            values.append(webhook_secret(self.token, self.webhook_secret))
        return values
