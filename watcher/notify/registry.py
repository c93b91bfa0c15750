"""Notifier kinds: ``kind`` -> class, each declaring its settings model."""

from __future__ import annotations

from pydantic import BaseModel

from watcher.notify.base import Notifier
from watcher.notify.console import ConsoleNotifier, ConsoleSettings
from watcher.notify.telegram.notifier import TelegramNotifier
from watcher.settings import TelegramSettings

# kind -> (notifier class, its settings model). Other channels register here.
NOTIFIERS: dict[str, tuple[type[Notifier], type[BaseModel]]] = {
    ConsoleNotifier.kind: (ConsoleNotifier, ConsoleSettings),
    TelegramNotifier.kind: (TelegramNotifier, TelegramSettings),
}


def notifier_class(kind: str) -> type[Notifier]:
    return NOTIFIERS[kind][0]
