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

from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from watcher.models import Alert
from watcher.notify.base import (
    Gone,
    Outcome,
    Retry,
    Sent,
    Summary,
    UrlTargetsNotifier,
    UrlTargetsSettings,
    with_topics,
)
from watcher.notify.pacing import Limits, Pacer
from watcher.notify.text import plain_alert, plain_summary
from watcher.store.outbox import OutboxRow


class AppriseSettings(UrlTargetsSettings):
    model_config = SettingsConfigDict(env_prefix="WATCHER_APPRISE_")
    group: ClassVar[str] = "Apprise: Signal, Matrix, Slack, ntfy ... (docs/apprise.md)"

    interval: float = Field(1.0, ge=0, description="Seconds between two messages to one URL.")

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

    def secret_values(self) -> list[str]:
        """The URLs and every part of them that may be a token or a password."""
        values = [c.address for c in self.configured()[1]]
        for url in list(values):
            values += [p for p in url.replace("@", "/").replace(":", "/").split("/") if len(p) > 7]
        return values


class AppriseNotifier(UrlTargetsNotifier):
    kind = "apprise"
    settings_model = AppriseSettings
    concurrency = 4
    settings: AppriseSettings

    def default_pacer(self) -> Pacer:
        return Pacer(Limits(interval_s=self.settings.interval))

    def describe(self) -> str:
        schemes = [c.describe(c.address.partition("://")[0]) for c in self.endpoints.values()]
        return f"Apprise ({', '.join(schemes)})"

    async def send(self, row: OutboxRow, alert: Alert | Summary) -> Outcome:
        import apprise

        service = self.endpoints.get(row.target)
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
