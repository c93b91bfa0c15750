"""How long to wait before trying again: the one back-off policy of the project.

Sources, deliveries (Telegram, email, other notifiers) and restarted services all wait
this way, so the behaviour under failure is the same everywhere and tested once.
"""

from __future__ import annotations

import random


def backoff_delay(
    failures: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after ``failures`` consecutive failures (``failures >= 1``).

    Exponential (``base * 2**(failures-1)``), capped at ``cap``, with "equal jitter": the
    result lies in ``[d/2, d]`` so sources that failed together spread out yet none retries
    at once. A server's ``Retry-After`` is honoured as a floor (even above ``cap``: the
    server said so). ``failures <= 0`` gives 0 (no back-off).
    """
    if failures <= 0:
        delay = 0.0
    else:
        exp = min(failures - 1, 62)
        full = min(cap, base * (2.0**exp))
        r = (rng or random.Random()).random()
        delay = full / 2 + r * full / 2
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return max(delay, 0.0)
