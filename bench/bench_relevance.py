"""What the relevance model costs: loading it, scoring with it (only items whose required
entities are there ask it), finding neighbours, and training.

Per item, the rules alone are the baseline measured in the same run. Training is timed on
1,000 items (a fixed slice of the shipped corpora, the issue's target: < 60 s on 2 cores) and
on all of them, in this process (no parallel jobs).

    python bench/bench_relevance.py [--repeat 3] [--no-train]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from watcher.models import Item
from watcher.relevance import Relevance, load_model
from watcher.relevance.decide import gated
from watcher.relevance.files import SHIPPED_CORPORA, SHIPPED_MODEL
from watcher.relevance.train import Corpus, fit, read_corpora
from watcher.rules import Rules, load_rules

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def per_item(rules: Rules, relevance: Relevance, items: list[Item], repeat: int) -> str:
    asked = sum(1 for it in items if any(gated(t) for t in rules.score(it, explain=False).topics))
    t0 = time.perf_counter()
    for _ in range(repeat):
        for it in items:
            rules.score(it, explain=False)
    rules_s = (time.perf_counter() - t0) / repeat
    t0 = time.perf_counter()
    for _ in range(repeat):
        for it in items:
            relevance.score(it, explain=False)
    both_s = (time.perf_counter() - t0) / repeat
    extra = both_s - rules_s
    per_asked = extra / asked * 1e3 if asked else 0.0
    return (
        f"{len(items):5d} items, model asked for {asked:4d}:"
        f" rules {rules_s / len(items) * 1e3:6.3f} ms/item,"
        f" rules+model {both_s / len(items) * 1e3:6.3f} ms/item"
        f" ({both_s / rules_s:4.2f}x); the model {per_asked:5.2f} ms per item asked"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-train", action="store_true")
    args = ap.parse_args()
    rules = load_rules(ROOT / "keywords.yaml")
    before = rss_mb()
    t0 = time.perf_counter()
    model = load_model(SHIPPED_MODEL)
    print(
        f"load {SHIPPED_MODEL.name} ({SHIPPED_MODEL.stat().st_size / 1e6:.1f} MB):"
        f" {(time.perf_counter() - t0) * 1e3:.0f} ms, RSS +{rss_mb() - before:.1f} MB"
        f" ({len(model.vocabulary)} n-grams, {len(model.examples)} labelled items)"
    )
    relevance = Relevance(rules, model)
    corpora = read_corpora(SHIPPED_CORPORA, rules.topic_ids)
    for c in corpora:
        items = [li.item for li in c.items]
        print(f"{c.name:16s} {per_item(rules, relevance, items, args.repeat)}")
    sample = [li.item for li in corpora[3].items]
    t0 = time.perf_counter()
    for it in sample:
        model.nearest(it, 3)
    print(f"nearest labelled items: {(time.perf_counter() - t0) / len(sample) * 1e3:.2f} ms/item")
    if args.no_train:
        return
    flat = [li for c in corpora for li in c.items]
    for n in (1000, len(flat)):
        subset = [Corpus("subset", "", flat[:n])] if n < len(flat) else corpora
        t0, c0 = time.perf_counter(), time.process_time()
        fit(subset, rules.topic_ids)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"train on {n} items: wall {wall:.1f} s, cpu {cpu:.1f} s (target < 60 s)")


if __name__ == "__main__":
    main()
