"""Flood limits of the Bot API: 30 messages/s overall, 1/s per chat, 20/min per group/channel.

``FloodLimiter.delay(chat, is_group, now)`` says how long to wait before the next message to
``chat``; ``record`` books a sent message. Pure bookkeeping (time passed in), no sleeping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Limits:
    global_per_s: int = 30
    chat_interval_s: float = 1.0
    group_per_min: int = 20
    # messages are also paced evenly (a little under the limit), so requests that bunch up
    # on the way never reach the server as a burst of more than 30 in one second
    pacing: float = 0.97


@dataclass
class FloodLimiter:
    limits: Limits = field(default_factory=Limits)
    _global: deque[float] = field(default_factory=deque)
    _last_by_chat: dict[str, float] = field(default_factory=dict)
    _group: dict[str, deque[float]] = field(default_factory=dict)

    def delay(self, chat: str, is_group: bool, now: float) -> float:
        """Seconds to wait before a message to ``chat`` may go out (0: now)."""
        wait = self.global_delay(now)
        last = self._last_by_chat.get(chat)
        if last is not None:
            wait = max(wait, last + self.limits.chat_interval_s - now)
        if is_group:
            window = self._group.setdefault(chat, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= self.limits.group_per_min:
                wait = max(wait, window[0] + 60.0 - now)
        return max(0.0, wait)

    def global_delay(self, now: float) -> float:
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        wait = 0.0
        if self._global:
            interval = 1.0 / (self.limits.global_per_s * self.limits.pacing)
            wait = self._global[-1] + interval - now
        if len(self._global) >= self.limits.global_per_s:
            wait = max(wait, self._global[0] + 1.0 - now)
        return max(0.0, wait)

    def record(self, chat: str, is_group: bool, now: float) -> None:
        self._global.append(now)
        self._last_by_chat[chat] = now
        if is_group:
            self._group.setdefault(chat, deque()).append(now)
        if len(self._last_by_chat) > 50_000:  # forget chats idle for a while
            cutoff = now - 60.0
            self._last_by_chat = {c: t for c, t in self._last_by_chat.items() if t > cutoff}
