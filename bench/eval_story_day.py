"""One day of real news through ``watcher run --once``: alerts per development, developments
swallowed (tests/story_day.py has the harness).

The shared real reports (tests/data/stories/real.jsonl, 148 reports of 135 developments in
English, Korean and Russian, copied from ../shared/corpus with their development ids) get
random times in the last 24 hours and random feeds among ``--feeds``; the day is replayed in
``--waves`` runs of ``watcher run --once`` with the project's keywords.yaml and the default
settings (the sentence encoder on). Several seeds, because the order of publication decides
which report of a development comes first. ``--labelled`` runs the invented labelled set.
``--stories off`` is the baseline: every report the rules accept alerts.

    python bench/eval_story_day.py [--seeds 1 2 3] [--feeds 4] [--waves 6] [--labelled]
        [--stories on|off]

Targets (issue 13): at most 1.05 alerts per development, no development swallowed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.story_day import DayResult, labelled_reports, real_reports, run_day


def show(seed: int, result: DayResult, seconds: float) -> None:
    print(
        f"seed {seed}: {result.reports} reports the rules let through, of"
        f" {len(result.developments)} developments; {result.alert_count} alerts ="
        f" {result.per_development:.3f} per development; swallowed"
        f" {len(result.swallowed)} {result.swallowed}; repeated {result.repeated}"
        f" ({seconds:.0f} s, {result.waves} runs)"
    )
    for members in result.mixed:
        print("    one story, several developments:", " ".join(members))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--feeds", type=int, default=4)
    ap.add_argument("--waves", type=int, default=6)
    ap.add_argument("--labelled", action="store_true", help="the invented labelled set")
    ap.add_argument("--stories", choices=("on", "off"), default="on")
    args = ap.parse_args(argv)
    os.environ["WATCHER_STORIES"] = "true" if args.stories == "on" else "false"
    logging.disable(logging.WARNING)  # the runs' own logs
    reports = labelled_reports() if args.labelled else real_reports()
    totals = DayResult()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = run_day(Path(tmp), reports, feeds=args.feeds, waves=args.waves, seed=seed)
            show(seed, result, time.perf_counter() - start)
        totals.developments |= {f"{seed}/{d}" for d in result.developments}
        totals.alerts.update({f"{seed}/{d}": n for d, n in result.alerts.items()})
    print(
        f"all seeds: {totals.per_development:.3f} alerts per development,"
        f" {len(totals.swallowed)} of {len(totals.developments)} developments swallowed"
        " (targets: <= 1.05, 0)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
