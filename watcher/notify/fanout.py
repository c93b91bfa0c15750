"""Fan-out: the outbox rows of one poll's alerts, written in the poll's transaction.

One source must not flood anyone: of one poll's alerts, each target gets its best ``cap`` (by
score) as messages of their own, and the rest in ONE summary message ("and N more from
SOURCE: ...", an outbox row whose action lists the alerts). Every alert stays in the store
and in the email digest either way. A target with just one alert over the cap gets that
alert itself: a summary of one says less in the same one message.

A poll's rows for one target are due one after another at that target's pace (its
``spacing``), not all at once: an alert of a later poll, from another source, is due before
the rest of a flood and goes out within a message or two, not behind all of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from watcher.models import Alert
from watcher.notify.base import Targets, summary_action
from watcher.settings import DEFAULT_ALERTS_PER_POLL
from watcher.store import outbox
from watcher.store.db import Tx


def fan_out(
    tx: Tx,
    alerts: Sequence[Alert],
    notifiers: Sequence[Targets],
    now: float,
    cap: int = DEFAULT_ALERTS_PER_POLL,
) -> int:
    """Enqueue the rows for ``alerts`` (one poll of one source); return how many were added."""
    ranked = sorted(alerts, key=lambda a: (-a.score, a.id))
    added = 0
    for notifier in notifiers:
        sent: dict[str, int] = {}
        over: dict[str, list[Alert]] = {}
        for alert in ranked:
            for target in notifier.targets(tx, alert):
                k = sent.get(target, 0)
                if k < cap:
                    sent[target] = k + 1
                    due = now + k * notifier.spacing(target) if k else now
                    added += outbox.enqueue(tx, alert.id, notifier.kind, [target], now, due=due)
                else:
                    over.setdefault(target, []).append(alert)
        for target, rest in over.items():
            due = now + cap * notifier.spacing(target)
            action = "send" if len(rest) == 1 else summary_action([a.id for a in rest])
            added += outbox.enqueue(tx, rest[0].id, notifier.kind, [target], now, action, due)
    return added
