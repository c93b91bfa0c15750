"""Daily email digests: settings, render (pure), MIME message, SMTP sender and the notifier."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from watcher.notify.base import NotifierSettings
from watcher.settings import HhMm, TimeZone


class SmtpSettings(NotifierSettings):
    model_config = SettingsConfigDict(env_prefix="WATCHER_SMTP_")
    group: ClassVar[str] = "email digests (docs/email.md)"

    host: str = Field("", description="SMTP server; setting it turns email digests on.")
    port: int = Field(0, ge=0, le=65535, description="0 = 25, 587 or 465 by WATCHER_SMTP_TLS.")
    user: str = Field("", description="SMTP login, when the server wants one.")
    password: str = Field("", repr=False, description="SMTP password.")
    from_addr: str = Field(
        "watcher@localhost",
        validation_alias="WATCHER_SMTP_FROM",
        description="From: address; its domain names the Message-IDs.",
    )
    tls: Literal["none", "starttls", "ssl"] = Field(
        "starttls", description="none, starttls or ssl."
    )
    digest_at: HhMm = Field(
        "08:00",
        validation_alias="WATCHER_DIGEST_AT",
        description="Default local time of the daily digest (each recipient may choose).",
    )
    digest_tz: TimeZone = Field(
        "UTC",
        validation_alias="WATCHER_DIGEST_TZ",
        description="Default time zone of the daily digest (an IANA name).",
    )
    digest_empty: bool = Field(
        False,
        validation_alias="WATCHER_DIGEST_EMPTY",
        description='Send a short "nothing new" note on days without alerts (true/false).',
    )

    @property
    def enabled(self) -> bool:
        return bool(self.host)
