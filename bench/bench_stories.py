"""Benchmark: story grouping stays near-linear in the number of items.

Generates N reports (stories of 1-6 reworded reports over a random vocabulary, a few common
words everywhere, one report a minute so the 72-hour window holds ~4,300 reports) and adds them
to one StoryIndex. Prints the time per item at 10,000 and 100,000 items and their ratio (1.0 is
perfectly linear; the 10,000 run is the baseline measured in the same run).

``--vectors`` gives every report a sentence vector (random unit vectors from a hash of the
text: the cost of the index's use of vectors, without the model's own cost, which
bench_story_hook.py and docs/stories.md give).

    python bench/bench_stories.py [--items 100000] [--seed 1] [--vectors]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from watcher.stories import Report, StoryIndex

COMMON = [
    "north",
    "korean",
    "workers",
    "police",
    "china",
    "russia",
    "defectors",
    "border",
    "said",
    "officials",
]


def generate(n: int, seed: int) -> list[Report]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choices(letters, k=rng.randint(5, 10))) for _ in range(20_000)]
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    out: list[Report] = []
    story_words: list[list[str]] = []
    while len(out) < n:
        if not story_words or rng.random() < 0.3:
            story_words.append(rng.sample(vocab, 14))
            story_words = story_words[-50:]
        words = rng.choice(story_words[-10:])
        chosen = rng.sample(words, 9) + rng.sample(COMMON, 4)
        rng.shuffle(chosen)
        i = len(out)
        out.append(
            Report(
                key=str(i),
                title=" ".join(chosen[:6]),
                summary=" ".join(chosen[6:]) + f" {rng.randint(1, 500)}",
                url=f"https://example.org/{i}",
                language=rng.choice(("en", "ko", "ru")),
                published=t0 + timedelta(minutes=i),
            )
        )
    return out


def fake_encoder(texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
    out = np.empty((len(texts), 512), dtype=np.float32)
    for n, text in enumerate(texts):
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        vec = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
        out[n] = vec / np.linalg.norm(vec)
    return out


def run(reports: list[Report], vectors: bool = False) -> tuple[float, int]:
    index = StoryIndex(encoder=fake_encoder if vectors else None)
    start = time.perf_counter()
    joined = 0
    for report in reports:
        joined += index.add(report).joined
    return time.perf_counter() - start, joined


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vectors", action="store_true")
    args = parser.parse_args(argv)
    reports = generate(args.items, args.seed)
    small = min(10_000, args.items)
    base_s, base_joined = run(reports[:small], args.vectors)
    full_s, full_joined = run(reports, args.vectors)
    base_per = base_s / small * 1e6
    full_per = full_s / len(reports) * 1e6
    print(f"{small:>7} items: {base_s:7.2f} s, {base_per:7.1f} µs/item, {base_joined} joined")
    print(
        f"{len(reports):>7} items: {full_s:7.2f} s, {full_per:7.1f} µs/item, {full_joined} joined"
    )
    print(f"time per item, {len(reports)} vs {small}: {full_per / base_per:.2f}x (1.0 = linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
