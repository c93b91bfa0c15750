"""Telegram delivery: message formatting, flood limits, the outbox notifier and the bot."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ChannelTarget:
    """A channel from settings: ``@name`` (every topic) or ``@name:t1+t2``."""

    chat: str
    topics: tuple[str, ...] = ()

    def wants(self, topics: tuple[str, ...]) -> bool:
        return not self.topics or any(t in self.topics for t in topics)


def parse_channel(spec: str) -> ChannelTarget:
    """Parse one WATCHER_TELEGRAM_CHANNELS entry."""
    text = spec.strip()
    chat, _, topic_part = text.partition(":")
    chat = chat.strip()
    if not ((len(chat) > 1 and chat.startswith("@")) or chat.lstrip("-").isdigit()):
        raise ConfigError(f"telegram channel {spec!r}: expected '@name' or '@name:topic1+topic2'")
    topics = tuple(t.strip() for t in topic_part.split("+") if t.strip()) if topic_part else ()
    return ChannelTarget(chat, topics)
