"""Benchmark: the rule engine (one Aho-Corasick automaton) against a naive baseline.

Scores N items (the dev corpus repeated; default 100,000) with the shipped keywords.yaml, then
with 1,000 and with 10,000 extra generated terms. The baseline is one compiled regex per term,
tried one after another on every field (word boundaries, case-insensitive), measured in the same
run on a slice of the items (it is far slower) and reported as items/s.

    python bench/bench_rules.py [--items 100000] [--baseline-items 2000]

Targets: >= 20x the baseline at 1,000 extra terms; 10x the terms costs <= 1.5x the time.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
import time
from pathlib import Path

from watcher.models import Item
from watcher.rules import Rules

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "rules" / "dev.jsonl"

ALPHABETS = (
    string.ascii_lowercase,
    "абвгдежзиклмнопрстуфхцчшщыэюя",
    "가나다라마바사아자차카타파하",
)


def load_items(n: int) -> list[Item]:
    base: list[Item] = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        base.append(
            Item(
                source_id=d["source"],
                guid=d["id"],
                url=d["url"],
                title=d["title"],
                summary=d["summary"],
                content=d["content"],
            )
        )
    return [base[i % len(base)] for i in range(n)]


def generated_terms(count: int, seed: int = 7) -> list[str]:
    """Plausible-looking words in the three scripts; a quarter end in '*', some are phrases."""
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < count:
        alphabet = rng.choice(ALPHABETS)
        size = rng.randint(2, 4) if alphabet is ALPHABETS[2] else rng.randint(5, 10)
        word = "".join(rng.choice(alphabet) for _ in range(size))
        if rng.random() < 0.15:
            word += " " + "".join(rng.choice(alphabet) for _ in range(size))
        elif rng.random() < 0.25 and alphabet is not ALPHABETS[2]:
            word += "*"
        out.add(word)
    return sorted(out)


def rules_with_extra(extra: int) -> tuple[Rules, str]:
    text = (ROOT / "keywords.yaml").read_text(encoding="utf-8")
    if extra:
        lines = [
            "  - id: generated",
            "    title: Generated terms",
            "    threshold: 5",
            "    terms:",
        ]
        lines += [f"      {json.dumps(t, ensure_ascii=False)}: 1" for t in generated_terms(extra)]
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    return Rules.from_text(text, f"keywords+{extra}.yaml"), text


def all_patterns(rules: Rules) -> list[str]:
    return [p.raw for p in rules._c.patterns]


class NaiveRules:
    """One compiled regex per pattern, tried one after another on every field."""

    def __init__(self, patterns: list[str]) -> None:
        self.regexes: list[re.Pattern[str]] = []
        for p in patterns:
            words = p.split()
            parts = [re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in words]
            self.regexes.append(
                re.compile(r"(?<!\w)" + r"[\s\-]+".join(parts) + r"(?!\w)", re.IGNORECASE)
            )

    def score(self, item: Item) -> int:
        hits = 0
        for text in (item.title, item.summary, item.content):
            if not text:
                continue
            for rx in self.regexes:
                for _ in rx.finditer(text):
                    hits += 1
        return hits


def rate(fn: object, items: list[Item]) -> float:
    score = fn.score  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    for it in items:
        score(it)
    return len(items) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--baseline-items", type=int, default=2_000)
    args = ap.parse_args(argv)
    items = load_items(args.items)
    few = items[: args.baseline_items]
    print(f"items: {len(items)} (dev corpus repeated); baseline on {len(few)} of them")
    results: dict[int, tuple[int, float, float | None]] = {}
    for extra in (0, 1_000, 10_000):
        rules, _ = rules_with_extra(extra)
        patterns = all_patterns(rules)
        engine = rate(rules, items)
        naive = rate(NaiveRules(patterns), few) if extra <= 1_000 else None
        results[extra] = (len(patterns), engine, naive)
        line = f"+{extra:>6} terms ({len(patterns):>6} patterns): engine {engine:>9,.0f} items/s"
        if naive is not None:
            line += f"   naive regex {naive:>8,.0f} items/s   speed-up {engine / naive:6.1f}x"
        print(line, flush=True)
    n0, e0, b0 = results[0]
    n1, e1, b1 = results[1_000]
    n2, e2, _ = results[10_000]
    print()
    print(
        f"speed-up over the naive baseline at +1,000 terms: {e1 / (b1 or 1):.1f}x (target >= 20x)"
    )
    print(
        f"time per item, +10,000 vs +1,000 terms ({n2 / n1:.1f}x the patterns):"
        f" {e1 / e2:.2f}x (target <= 1.5x)"
    )
    print(f"time per item, +1,000 terms vs shipped ({n1 / n0:.1f}x the patterns): {e0 / e1:.2f}x")
    print(f"naive baseline, +1,000 terms vs shipped: {b0 / (b1 or 1):.2f}x the time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
