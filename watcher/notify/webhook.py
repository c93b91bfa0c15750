"""Alerts as signed JSON to the operator's own HTTP endpoints (``WATCHER_WEBHOOK_URLS``).

Each URL (optionally ``:topic1+topic2``) gets one ``POST`` per alert with the JSON documented
in docs/webhook.md (schema: docs/webhook.schema.json), including the alert's story and
explanation, and three headers: ``X-Watcher-Delivery`` (the outbox row: the same on a retry,
so receivers can drop duplicates), ``X-Watcher-Timestamp`` (epoch seconds) and
``X-Watcher-Signature: sha256=HEX``, the HMAC-SHA256 of ``TIMESTAMP.BODY`` with
``WATCHER_WEBHOOK_SECRET``. 2xx is sent; 408, 425, 429, 5xx, 401/403/404 (fixable by the
operator) and network errors are retried with the one back-off (``Retry-After`` as its
floor); 410 and other 4xx end the row. The URLs are the operator's configuration, so private
and loopback addresses are allowed (unlike feed links); redirects are not followed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from watcher.display import display_text, safe_link
from watcher.models import Alert, Item
from watcher.notify.base import (
    Context,
    Gone,
    NotifierSettings,
    Outcome,
    Retry,
    Sent,
    Summary,
    UrlTargetsNotifier,
    UrlTargetsSettings,
    with_topics,
)
from watcher.store.outbox import OutboxRow

if TYPE_CHECKING:
    from watcher.rules.score import Rules

SCHEMA_VERSION = 1
RETRY_STATUSES = {401, 403, 404, 408, 425, 429}
MAX_SUMMARY = 4000  # characters of an alert's summary in the JSON


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=HEX``: HMAC-SHA256 of ``TIMESTAMP.BODY`` (what a receiver recomputes)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookSettings(UrlTargetsSettings):
    model_config = SettingsConfigDict(env_prefix="WATCHER_WEBHOOK_")
    group: ClassVar[str] = "signed JSON webhooks (docs/webhook.md)"

    secret: str = Field(
        "",
        repr=False,
        validate_default=True,
        description="Key of the X-Watcher-Signature HMAC (16+ characters); needed with URLs.",
    )
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for a receiver's answer.")

    @field_validator("urls")
    @classmethod
    def _http_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for n, spec in enumerate(value, 1):
            parts = urlsplit(with_topics(spec).address)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"URL {n} is not an http(s) URL")
        return value

    @field_validator("secret")
    @classmethod
    def _strong_enough(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("urls") and not value:
            raise ValueError("needed with WATCHER_WEBHOOK_URLS: every request is signed with it")
        if value and len(value) < 16:
            raise ValueError("use at least 16 characters (e.g. openssl rand -hex 32)")
        return value

    def secret_values(self) -> list[str]:
        return [self.secret] if self.secret else []


def _match(m: Any) -> dict[str, Any]:
    return {
        "term": display_text(m.term, 200),
        "text": display_text(m.text, 200),
        "field": m.field,
        "kind": m.kind,
        "weight": m.weight,
        "snippet": display_text(m.snippet, 400),
    }


def alert_json(alert: Alert, rules: Rules | None = None) -> dict[str, Any]:
    """One alert as the schema's ``alert`` object."""
    return {
        "id": alert.id,
        "title": display_text(alert.title, 1000),
        "url": safe_link(alert.url) or None,
        "source": {"id": alert.source_id, "name": display_text(alert.source_name, 200)},
        "published": alert.published.isoformat(),
        "recorded": alert.created_at.isoformat(),
        "language": alert.language,
        "summary": display_text(alert.summary, MAX_SUMMARY),
        "topics": list(alert.topics),
        "score": alert.score,
        "story": {
            "id": alert.story_id,
            "also_reported_by": [display_text(n, 200) for n in alert.also_reported_by],
        },
        "explanation": explanation(alert, rules),
    }


def explanation(alert: Alert, rules: Rules | None) -> dict[str, Any]:
    """The matches recorded with the alert, and the terms matched per topic: the title and
    summary scored again by the rules in force (every matched term when there are none)."""
    terms = sorted({m.text for m in alert.matches if m.kind != "exclusion"})
    by_topic: dict[str, dict[str, Any]] = {
        t: {"title": t, "score": None, "terms": terms} for t in alert.topics
    }
    if rules is not None:
        item = Item(alert.source_id, str(alert.id), alert.url, alert.title, alert.summary)
        for t in rules.score(item).topics:
            if t.topic in by_topic:
                found = sorted({m.text for m in t.matches if m.kind != "exclusion"})
                by_topic[t.topic] = {"title": t.title, "score": t.score, "terms": found}
    return {
        "matches": [_match(m) for m in alert.matches],
        "topics": [{"id": t, **v} for t, v in by_topic.items()],
    }


def payload(row: OutboxRow, alert: Alert | Summary, rules: Rules | None) -> dict[str, Any]:
    """The JSON body of one delivery (docs/webhook.schema.json)."""
    body: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "delivery": row.id,
        "sent_at": datetime.now(UTC).isoformat(),
    }
    if isinstance(alert, Summary):
        alerts = [alert_json(a, rules) for a in alert.alerts]
        return body | {"type": "summary", "source": alerts[0]["source"], "alerts": alerts}
    return body | {"type": "alert", "alert": alert_json(alert, rules)}


def outcome_of(response: httpx.Response) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Sent(str(status))
    reason = f"HTTP {status} {response.reason_phrase}".strip()
    if status in RETRY_STATUSES or status >= 500:
        after = response.headers.get("retry-after", "")
        return Retry(reason, after=float(after) if after.isdigit() else None)
    return Gone(reason)


class WebhookNotifier(UrlTargetsNotifier):
    kind = "webhook"
    settings_model = WebhookSettings
    concurrency = 8
    settings: WebhookSettings
    client: httpx.AsyncClient | None = None  # while in session()
    rules: Callable[[], Rules] | None = None  # for the explanation per topic

    @classmethod
    def build(cls, settings: NotifierSettings, ctx: Context) -> WebhookNotifier:
        notifier = super().build(settings, ctx)
        assert isinstance(notifier, WebhookNotifier)
        notifier.rules = ctx.rules
        return notifier

    def describe(self) -> str:
        return f"webhooks ({len(self.endpoints)} URLs)"

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        timeout = httpx.Timeout(self.settings.timeout)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            self.client = client
            try:
                yield
            finally:
                self.client = None

    async def send(self, row: OutboxRow, alert: Alert | Summary) -> Outcome:
        assert self.client is not None, "send() outside session()"
        endpoint = self.endpoints.get(row.target)
        if endpoint is None:
            return Gone("this URL is no longer in WATCHER_WEBHOOK_URLS")
        rules = self.rules() if self.rules is not None else None
        body = json.dumps(payload(row, alert, rules), ensure_ascii=False).encode()
        stamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "watcher-webhook",
            "X-Watcher-Delivery": str(row.id),
            "X-Watcher-Timestamp": stamp,
            "X-Watcher-Signature": signature(self.settings.secret, stamp, body),
        }
        try:
            response = await self.client.post(endpoint.address, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Retry(f"{type(exc).__name__}: {exc}")
        return outcome_of(response)
