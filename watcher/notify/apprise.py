"""Alerts to Signal, Matrix, Slack, Discord, ntfy, Mattermost and more, through Apprise.

``WATCHER_APPRISE_URLS`` lists Apprise URLs (https://github.com/caronc/apprise/wiki), comma
separated, each optionally followed by ``:topic1+topic2`` like the Telegram channels. Each URL
is one target: its outbox rows are named by a hash of the URL (the URL holds the service's
token, so it is never written to the store), paced at one message every
``WATCHER_APPRISE_INTERVAL`` seconds per URL, and retried with the one back-off when the
service does not take the message. Messages are plain text: the title, then source, topics,
the link (http(s) only) and the matched terms.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from watcher.models import Alert
from watcher.notify.base import (
    Configured,
    Gone,
    NotifierSettings,
    OutboxNotifier,
    Outcome,
    Retry,
    Sent,
    Summary,
    with_topics,
)
from watcher.notify.pacing import Limits, Pacer
from watcher.notify.text import plain_alert, plain_summary
from watcher.settings import CsvTuple, split_csv
from watcher.store.db import Database, Tx
from watcher.store.outbox import OutboxRow

if TYPE_CHECKING:
    from watcher.ops.metrics import Metrics


def target_id(url: str) -> str:
    """The outbox target of one Apprise URL: stable, and without the URL's secrets."""
    return "apprise:" + hashlib.sha256(url.encode()).hexdigest()[:16]


class AppriseSettings(NotifierSettings):
    model_config = SettingsConfigDict(env_prefix="WATCHER_APPRISE_")
    group: ClassVar[str] = "Apprise: Signal, Matrix, Slack, ntfy ... (docs/apprise.md)"

    urls: CsvTuple = Field(
        (),
        repr=False,
        description='Comma-separated Apprise URLs, each optionally ":topic1+topic2".',
    )
    interval: float = Field(1.0, ge=0, description="Seconds between two messages to one URL.")

    _csv = split_csv("urls")

    @field_validator("urls")
    @classmethod
    def _known_to_apprise(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import apprise

        for n, spec in enumerate(value, 1):
            url = with_topics(spec).address
            if not apprise.Apprise().add(url):
                scheme = url.partition("://")[0] if "://" in url else "?"
                raise ValueError(f"URL {n} ({scheme}://...) is not one Apprise can send to")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.urls)

    def configured(self) -> tuple[str, tuple[Configured, ...]]:
        return self.variable("urls"), tuple(with_topics(u) for u in self.urls)

    def secret_values(self) -> list[str]:
        """The URLs and every part of them that may be a token or a password."""
        values = [c.address for c in self.configured()[1]]
        for url in list(values):
            values += [p for p in url.replace("@", "/").replace(":", "/").split("/") if len(p) > 7]
        return values


class AppriseNotifier(OutboxNotifier):
    kind = "apprise"
    settings_model = AppriseSettings
    concurrency = 4
    settings: AppriseSettings

    def __init__(
        self,
        db: Database,
        settings: AppriseSettings,
        *,
        owner: str = "",
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        pacer = Pacer(Limits(interval_s=settings.interval))
        super().__init__(db, settings, owner=owner, clock=clock, metrics=metrics, pacer=pacer)
        self.services = {target_id(c.address): c for c in settings.configured()[1]}

    def describe(self) -> str:
        schemes = [c.describe(c.address.partition("://")[0]) for c in self.services.values()]
        return f"Apprise ({', '.join(schemes)})"

    def targets(self, tx: Tx, alert: Alert) -> Sequence[str]:
        return [t for t, service in self.services.items() if service.wants(alert.topics)]

    async def send(self, row: OutboxRow, alert: Alert | Summary) -> Outcome:
        import apprise

        service = self.services.get(row.target)
        if service is None:
            return Gone("this URL is no longer in WATCHER_APPRISE_URLS")
        if isinstance(alert, Summary):
            title, body = plain_summary(alert.alerts, alert.source_name)
        else:
            title, body = plain_alert(alert)
        sender = apprise.Apprise()
        sender.add(service.address)
        if await sender.async_notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT):
            return Sent()
        return Retry("the service did not take the message (apprise logs why)")
