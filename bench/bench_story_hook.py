"""Benchmark: what story grouping adds to recording an alert (the pipeline's transaction).

Runs the real ``Pipeline._record`` (items, alerts, outbox rows, in one transaction per poll of
20 new items) over generated reports that all alert (stories of 1-6 reworded reports, one a
minute, see bench_stories.py), on a SQLite file, once without stories (the baseline, measured
in the same run) and once with the ``StoryHook``: index lookup, story rows, edit rows for later
reports. Prints the time per alerted item, the cost added per item, and how many alerts and
edit rows each run made.

    python bench/bench_story_hook.py [--items 5000] [--seed 1] [--encoder]

``--encoder`` adds a run with the multilingual sentence encoder (20 reports encoded in one
batch per poll, as the pipeline does).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_stories import generate

from watcher.config.feeds import SourceConfig
from watcher.models import Item, ScoreResult, TopicScore
from watcher.notify.console import ConsoleNotifier
from watcher.pipeline import Pipeline
from watcher.store import open_database
from watcher.stories import load_encoder
from watcher.stories.hook import StoryHook

BATCH = 20
SOURCES = 50


class AlertsAll:
    """Every item alerts on one topic (scoring is not what is measured here)."""

    def score(self, item: Item, *, explain: bool = True) -> ScoreResult:
        return ScoreResult((TopicScore("repatriation", "Repatriation", 5.0, 1.0, True),))


def run(items: list[Item], db_target: str, stories: str) -> dict[str, Any]:
    db = open_database(db_target)
    notifier = ConsoleNotifier(db, "bench")
    encoder = load_encoder() if stories == "encoder" else None
    hook = StoryHook(edit_channels=("console",), encoder=encoder) if stories else None
    pipeline = Pipeline(
        db=db,
        fetcher=None,  # type: ignore[arg-type]  # nothing is fetched: _record only
        scorer=AlertsAll,
        notifiers=lambda: [notifier],
        stories=hook,
    )
    sources = [
        SourceConfig.model_validate({"id": f"s{i}", "url": f"https://example.org/{i}.xml"})
        for i in range(SOURCES)
    ]
    states = {s.id: pipeline._prepare(s) for s in sources}
    alerts = 0
    started = time.perf_counter()
    for at in range(0, len(items), BATCH):
        source = sources[(at // BATCH) % SOURCES]
        batch = [
            Item(
                source_id=source.id,
                guid=it.guid,
                url=it.url,
                title=it.title,
                summary=it.summary,
                language=it.language,
                published=it.published,
            )
            for it in items[at : at + BATCH]
        ]
        now = batch[-1].published.timestamp() if batch[-1].published else time.time()
        state = states[source.id]
        _, recorded = pipeline._record(source, state, batch, now, None, None, f"h{at}")
        states[source.id] = pipeline._prepare(source)
        alerts += len(recorded)
    elapsed = time.perf_counter() - started
    with db.transaction() as tx:
        edits = int(tx.scalar("SELECT COUNT(*) FROM outbox WHERE action LIKE 'edit:%'") or 0)
    db.close()
    return {"seconds": elapsed, "alerts": alerts, "edits": edits}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--encoder", action="store_true")
    args = ap.parse_args(argv)
    reports = generate(args.items, args.seed)
    items = [
        Item(
            source_id="",
            guid=r.key,
            url=r.url,
            title=r.title,
            summary=r.summary,
            language=r.language,
            published=r.published,
        )
        for r in reports
    ]
    runs = ["", "stories"]
    if args.encoder:
        if load_encoder() is None:
            print("the sentence encoder could not be loaded: no encoder run", file=sys.stderr)
        else:
            runs.append("encoder")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for stories in runs:
            results[stories] = run(items, str(Path(tmp) / f"bench-{stories}.db"), stories)
    n = len(items)
    per_base = results[""]["seconds"] / n * 1e6
    print(f"{n} items, {BATCH} per poll, all accepted by the rules, SQLite file")
    print(f"  without stories:     {per_base:8.0f} µs/item  {results['']['alerts']:6d} alerts")
    for name in runs[1:]:
        res = results[name]
        per = res["seconds"] / n * 1e6
        label = "with stories:" if name == "stories" else "with the encoder:"
        print(
            f"  {label:<20} {per:8.0f} µs/item  {res['alerts']:6d} alerts"
            f"  {res['edits']:6d} edit rows  (+{per - per_base:.0f} µs/item,"
            f" {per / per_base:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
