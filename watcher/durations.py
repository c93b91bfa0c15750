"""Durations as people write them (``90s``, ``10m``, ``8h``, ``2d``): the one parser, and
the one way to say how long ago (``ago``).

A bare number has no unit; each caller says which unit it means (seconds in ``feeds.yaml``,
hours in the bot's ``/mute 3``) instead of each place reading numbers its own way.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Unit = Literal["s", "m", "h", "d"]
UNIT_S: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_duration(value: Any, *, bare: Unit = "s") -> float:
    """``90s``, ``10m``, ``1h``, ``2d`` or a number (in ``bare`` units) -> seconds.

    Raises ``ValueError`` with an example of what to write.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return float(value) * UNIT_S[bare]
    m = _DURATION.match(str(value))
    if m is None:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 10m, 1h, 2d)")
    return float(m.group(1)) * UNIT_S[(m.group(2) or bare).lower()]


def ago(ts: float | None, now: float) -> str:
    """How long before ``now`` (``5m ago``, ``3.2h ago``; ``in 40s`` when later); ``never``."""
    if ts is None:
        return "never"
    d = now - ts
    future = d < 0
    d = abs(d)
    if d < 90:
        text = f"{d:.0f}s"
    elif d < 5400:
        text = f"{d / 60:.0f}m"
    elif d < 172800:
        text = f"{d / 3600:.1f}h"
    else:
        text = f"{d / 86400:.1f}d"
    return f"in {text}" if future else f"{text} ago"
