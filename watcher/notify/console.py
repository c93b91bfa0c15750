"""Alerts printed to the terminal (rich): the fallback when no other channel is configured.

Like every notifier it goes through the outbox: rows are claimed, printed, marked sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from watcher.models import Alert
from watcher.notify.base import Notifier
from watcher.store import outbox
from watcher.store.alerts import get_alerts
from watcher.store.db import Database, Tx

CHANNEL = "console"
TARGET = "-"
# Printing is local and quick: rows claimed by an instance killed mid-batch come back soon.
CLAIM_LEASE_S = 10.0


class ConsoleSettings(BaseModel):
    enabled: bool = True


def format_alert(alert: Alert) -> str:
    """Rich markup of one alert: topic, score, title, link and matched terms."""
    terms = sorted({m.text for m in alert.matches})
    lines = [
        f"[bold red]ALERT[/] [bold]{escape(', '.join(alert.topics))}[/] "
        f"score {alert.score:.1f} - {escape(alert.source_name)}",
        f"  [bold]{escape(alert.title)}[/]",
        f"  [link={alert.url}]{escape(alert.url)}[/link]" if alert.url else "  (no link)",
    ]
    if terms:
        lines.append("  matched: " + escape(", ".join(terms)))
    if alert.model_note:
        lines.append("  [yellow]possible match[/] (relevance model): " + escape(alert.model_note))
    return "\n".join(lines)


class ConsoleNotifier(Notifier):
    kind = CHANNEL
    poll_interval = 2.0
    settings_model = ConsoleSettings

    def __init__(self, db: Database, owner: str, console: Console | None = None) -> None:
        super().__init__()
        self.db = db
        self.owner = owner
        self.console = console or Console(highlight=False, soft_wrap=True)

    def targets(self, tx: Tx, alert: Alert) -> Sequence[str]:
        return (TARGET,)

    def deliver_due(self) -> int:
        """Print every due console row once; return how many were printed."""
        done = 0
        while True:
            rows = outbox.claim(
                self.db, CHANNEL, self.owner, time.time(), limit=100, lease_s=CLAIM_LEASE_S
            )
            if not rows:
                return done
            found = get_alerts(self.db, [r.alert_id for r in rows])
            for row in rows:
                alert = found.get(row.alert_id)
                if alert is None:
                    outbox.mark_dead(self.db, row.id, "alert gone", time.time())
                    self.count_delivery("dead")
                    continue
                self.console.print(format_alert(alert))
                self.console.file.flush()
                outbox.mark_sent(self.db, row.id, "printed", time.time())
                self.count_delivery("sent")
                done += 1

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.deliver_due)
            await self.wait_for_work(stop)
        await asyncio.to_thread(self.deliver_due)
