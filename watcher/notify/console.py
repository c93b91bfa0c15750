"""Alerts printed to the terminal (rich): the fallback when no other channel is configured.

Like every notifier it goes through the outbox: rows are claimed, printed, marked sent. Feed
text is never read as rich markup: messages are built as ``rich.text.Text`` with styles, so a
``[`` in a title or a link prints as itself.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.console import Console
from rich.style import Style
from rich.text import Text

from watcher.display import safe_link
from watcher.models import Alert
from watcher.notify.base import Context, NotifierSettings, OutboxNotifier, Outcome, Sent, Summary
from watcher.notify.text import POSSIBLE_MATCH, plain_alert, plain_summary
from watcher.store.db import Database, Tx
from watcher.store.outbox import OutboxRow

if TYPE_CHECKING:
    from watcher.ops.metrics import Metrics

TARGET = "-"


class ConsoleSettings(NotifierSettings):
    """The console has no settings: it prints when no other channel is configured."""


def format_alert(alert: Alert) -> Text:
    """One alert: topics, score and source, then the title, the link, the matched terms, the
    relevance model's note on a possible match and the story's other outlets."""
    title, body = plain_alert(alert)
    source, _, rest = body.partition("\n")
    out = Text()
    out.append("ALERT ", style="bold red")
    out.append(", ".join(alert.topics), style="bold")
    out.append(f" score {alert.score:.1f} - {source.rpartition(' · ')[0]}\n  ")
    out.append(title, style="bold")
    link = safe_link(alert.url)
    for line in rest.splitlines()[1:]:  # link, matched terms, model note, other outlets
        out.append("\n  ")
        if line.startswith(POSSIBLE_MATCH):
            out.append(POSSIBLE_MATCH, style="yellow")
            line = line.removeprefix(POSSIBLE_MATCH)
        out.append(line, style=Style(link=link) if link and line == link else "")
    return out


def format_summary(summary: Summary) -> Text:
    """The alerts of one poll over the per-target cap, one line each."""
    title, body = plain_summary(summary.alerts, summary.source_name)
    out = Text()
    out.append("ALERTS ", style="bold red")
    out.append(title, style="bold")
    for line in body.splitlines():
        out.append("\n  " + line)
    return out


class ConsoleNotifier(OutboxNotifier):
    kind = "console"
    settings_model = ConsoleSettings
    fallback = True
    poll_interval = 2.0
    batch = 100
    lease_s = 10.0  # printing is quick: rows of an instance killed mid-batch come back soon
    concurrency = 1
    drain_on_stop = True

    def __init__(
        self,
        db: Database,
        settings: ConsoleSettings | None = None,
        *,
        owner: str = "",
        metrics: Metrics | None = None,
        console: Console | None = None,
    ) -> None:
        super().__init__(db, settings or ConsoleSettings(), owner=owner, metrics=metrics)
        self.console = console or Console(highlight=False, soft_wrap=True)

    @classmethod
    def build(cls, settings: NotifierSettings, ctx: Context) -> ConsoleNotifier:
        runtime = ctx.runtime
        return cls(
            runtime.db, ConsoleSettings(), owner=runtime.instance_id, metrics=runtime.metrics
        )

    def describe(self) -> str:
        return "the console"

    def targets(self, tx: Tx, alert: Alert) -> tuple[str, ...]:
        return (TARGET,)

    async def send(self, row: OutboxRow, alert: Alert | Summary) -> Outcome:
        text = format_summary(alert) if isinstance(alert, Summary) else format_alert(alert)
        await asyncio.to_thread(self._print, text)
        return Sent("printed")

    def _print(self, text: Text) -> None:
        self.console.print(text)
        self.console.file.flush()
