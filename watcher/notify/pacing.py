"""Per-target pacing: when the next message to a target may go, for every notifier.

A ``Pacer`` books send times ahead (``reserve``): all targets together at most ``per_s`` a
second, paced evenly a little under it; one target at most one message every ``interval_s``;
a "grouped" target (a Telegram group or channel) at most ``window_n`` per ``window_s``. The
delivery base asks it before every send: a row whose own target cannot take it within a short
horizon goes back to the outbox for when it can, so a slow target (a channel at 20 a minute)
never holds back the rows of other targets. Pure bookkeeping: time is passed in, nothing sleeps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

FORGET_AFTER = 50_000  # targets remembered before the idle ones are forgotten


@dataclass(frozen=True, slots=True)
class Limits:
    per_s: float = 0.0  # all targets together; 0: no limit
    interval_s: float = 0.0  # between two messages to one target
    window_n: int = 0  # at most this many to one grouped target ...
    window_s: float = 60.0  # ... in any window of this many seconds
    # paced evenly a little under ``per_s``, so requests bunched up on the way never reach the
    # server as a burst above the limit
    pacing: float = 0.97


def never_grouped(target: str) -> bool:
    return False


class Pacer:
    """Booked send times of one notifier (or one bot token shared by two parts)."""

    def __init__(self, limits: Limits, grouped: Callable[[str], bool] = never_grouped) -> None:
        self.limits = limits
        self.grouped = grouped
        self.paused_until = 0.0  # a flood wait: nothing goes out before this
        self._global: deque[float] = deque()
        self._last: dict[str, float] = {}
        self._windows: dict[str, deque[float]] = {}

    def ready_at(self, target: str, now: float) -> float:
        """The earliest time ``target``'s own limits allow its next message."""
        at = max(now, self.paused_until)
        last = self._last.get(target)
        if last is not None:
            at = max(at, last + self.limits.interval_s)
        n = self.limits.window_n
        if n and self.grouped(target):
            window = self._windows.get(target)
            if window is not None:
                while window and window[0] <= now - self.limits.window_s:
                    window.popleft()
                if len(window) >= n:
                    at = max(at, window[-n] + self.limits.window_s)
        return at

    def spacing(self, target: str) -> float:
        """Seconds between messages to ``target`` when it is kept busy."""
        gap = self.limits.interval_s
        if self.limits.window_n and self.grouped(target):
            gap = max(gap, self.limits.window_s / self.limits.window_n)
        return gap

    def _global_ready(self, now: float) -> float:
        per_s = self.limits.per_s
        if not per_s:
            return now
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        at = now
        if self._global:
            at = max(at, self._global[-1] + 1.0 / (per_s * self.limits.pacing))
            if len(self._global) >= int(per_s):
                at = max(at, self._global[-int(per_s)] + 1.0)
        return at

    def reserve(self, target: str, now: float, horizon: float) -> float | None:
        """Book ``target``'s next slot: the time its own limits let a message go (``>= now``);
        None, booking nothing, when that is more than ``horizon`` seconds away. The limit of
        all targets together is kept at send time (``global_wait``, ``record_global``), so
        sends that wake late together never reach the service as a burst."""
        at = self.ready_at(target, now)
        if at - now > horizon:
            return None
        self._last[target] = at
        if self.limits.window_n and self.grouped(target):
            self._windows.setdefault(target, deque()).append(at)
        if len(self._last) > FORGET_AFTER:
            self._forget(now)
        return at

    def global_wait(self, now: float) -> float:
        """Seconds before the next message to any target may go."""
        return max(0.0, self._global_ready(now) - now, self.paused_until - now)

    def record_global(self, now: float) -> None:
        """A message is going out now."""
        if self.limits.per_s:
            self._global.append(now)

    def pause(self, until: float) -> None:
        """Nothing goes out before ``until`` (the service asked us to slow down)."""
        self.paused_until = max(self.paused_until, until)

    def _forget(self, now: float) -> None:
        keep = max(self.limits.interval_s, self.limits.window_s)
        self._last = {t: at for t, at in self._last.items() if at > now - keep}
        self._windows = {t: w for t, w in self._windows.items() if w and w[-1] > now - keep}
