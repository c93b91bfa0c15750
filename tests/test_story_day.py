"""A slice of a day of news through ``watcher run --once`` (tests/story_day.py): no development
swallowed by another's story, and fewer alerts than without grouping.

The whole shared set is ``bench/eval_story_day.py``; here the real developments reported
more than once, a few reported once, and six invented developments reported in two or three
languages each (none of them a real development of the slice: the invented set imitates real
events, Krasnov's visit among them), over three feeds in four waves.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.story_day import DayResult, labelled_reports, real_reports, run_day


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _slice() -> list:  # type: ignore[type-arg]
    real = real_reports()
    counts = Counter(r.development for r in real)
    repeated = [r for r in real if counts[r.development] > 1]
    once = [r for r in real if counts[r.development] == 1][:20]
    chosen = {"story-01", "story-02", "story-05", "story-06", "story-14", "story-18"}
    invented = [r for r in labelled_reports() if r.development in chosen]
    return repeated + once + invented


@pytest.mark.slow
def test_a_day_of_news_alerts_each_development_and_swallows_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiet_logs: None
) -> None:
    reports = _slice()
    results: dict[str, DayResult] = {}
    for grouping in ("false", "true"):
        monkeypatch.setenv("WATCHER_STORIES", grouping)
        workdir = tmp_path / grouping
        workdir.mkdir()
        results[grouping] = run_day(workdir, reports, feeds=3, waves=4, seed=7)
    off, on = results["false"], results["true"]
    assert on.developments == off.developments and len(on.developments) >= 15
    assert off.swallowed == [] and on.swallowed == [], on.mixed
    # one alert per report without grouping; grouping saves at least a third of the repeats
    repeats_off = off.alert_count - len(off.developments)
    repeats_on = on.alert_count - len(on.developments)
    assert repeats_off >= 10 and repeats_on <= repeats_off * 2 / 3, (on.repeated, off.repeated)
