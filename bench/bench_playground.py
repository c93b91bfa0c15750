"""What the rules playground's comparison costs: an edited keywords.yaml judged against the
rules in force on the shipped labelled corpora and the last 500 stored items, with the
shipped relevance model beside both.

Baseline, same run, same items: ``watcher rules test --corpus ALL.jsonl --keywords EDITED
--against IN_FORCE --json`` (the CLI path of the same comparison, one corpus file holding
the corpora and the stored items). Also: the event loop's longest pause while the page's
comparison runs on its thread, and the largest paste the page accepts (256 KiB of terms)
parsed and compiled.

    python bench/bench_playground.py [--repeat 3] [--recent 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from watcher.cli import main as cli
from watcher.models import Item
from watcher.pages.playground import (
    MAX_YAML_BYTES,
    Playground,
    compare,
    parse_rules,
    shipped_corpora,
)
from watcher.pages.stored import recent
from watcher.relevance import Relevance, load_model
from watcher.relevance.files import SHIPPED_MODEL
from watcher.rules import load_rules
from watcher.store.db import open_database
from watcher.store.items import insert_items

ROOT = Path(__file__).resolve().parent.parent
EDIT = ("threshold: 4", "threshold: 9")  # repatriation's, the first topic


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stored_items(folder: Path, n: int) -> Path:
    """A store with ``n`` items: news of the shipped corpora, as a feed would give them."""
    db_path = folder / "watcher.db"
    db = open_database(db_path)
    pool = [li.item for li in shipped_corpora() if li.item.summary or li.item.content]
    items = []
    for i in range(n):
        it = pool[i % len(pool)]
        summary = (it.summary or it.content)[:2000]
        items.append((Item("bench", f"g{i}", f"https://n.example/{i}", it.title, summary), {}))
    with db.transaction() as tx:
        insert_items(tx, items, now=time.time())
    db.close()
    return db_path


def all_jsonl(folder: Path, stored: list[tuple[int, Item]]) -> Path:
    """The corpora and the stored items in one corpus file, for the CLI baseline."""
    path = folder / "all.jsonl"
    lines = [
        {"id": li.id, "title": li.item.title, "summary": li.item.summary,
         "content": li.item.content, "lang": li.item.language, "labels": sorted(li.labels)}
        for li in shipped_corpora()
    ] + [
        {"id": f"stored:{i}", "title": it.title, "summary": it.summary, "content": it.content,
         "labels": []}
        for i, it in stored
    ]  # fmt: skip
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    return path


def cli_baseline(corpus: Path, edited: Path, current: Path) -> tuple[float, int]:
    args = ["rules", "test", "--corpus", str(corpus), "--keywords", str(edited)]
    args += ["--against", str(current), "--model", str(SHIPPED_MODEL), "--json"]
    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        assert cli(args) == 0
    took = time.perf_counter() - t0
    return took, len(json.loads(out.getvalue())["changed"])


async def loop_pause(current: Relevance, text: str, labelled: list, stored: list) -> float:
    """The longest the event loop waited for a 10 ms timer while the page's comparison ran."""
    task = asyncio.ensure_future(Playground().diff(current, text, labelled, stored))
    worst = 0.0
    while not task.done():
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        worst = max(worst, time.perf_counter() - t0 - 0.01)
    assert (await task) is not None
    return worst


async def page_twice(current: Relevance, text: str, labelled: list, stored: list) -> list[float]:
    """The page's comparison (parse, compare, on its thread) twice: the second keeps the
    model's answers of the first."""
    playground = Playground()
    took = []
    for _ in range(2):
        t0 = time.perf_counter()
        assert (await playground.diff(current, text, labelled, stored)) is not None
        took.append(time.perf_counter() - t0)
    return took


def big_paste(keywords: str) -> str:
    """The shipped file with extra terms up to the page's size limit."""
    extra = ["  - id: pasted", "    title: Pasted", "    threshold: 4", "    terms:"]
    n = 0
    while len("\n".join([keywords, *extra]).encode()) < MAX_YAML_BYTES - 64:
        extra.append(f"      pastedterm{n:05d}word*: 1")
        n += 1
    return "\n".join([keywords, *extra]) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--recent", type=int, default=500)
    args = ap.parse_args()
    keywords_path = ROOT / "keywords.yaml"
    text = keywords_path.read_text(encoding="utf-8")
    edited_text = text.replace(*EDIT, 1)
    current = Relevance(load_rules(keywords_path), load_model(SHIPPED_MODEL))
    labelled = list(shipped_corpora())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = open_database(stored_items(folder, args.recent))
        stored = recent(db, args.recent)
        (folder / "edited.yaml").write_text(edited_text, encoding="utf-8")
        corpus = all_jsonl(folder, stored)
        print(f"{len(labelled)} labelled items (shipped corpora), {len(stored)} stored items;"
              f" edit: repatriation {EDIT[0]} -> {EDIT[1]}")  # fmt: skip
        page_s: list[float] = []
        cli_s: list[float] = []
        before = rss_mb()
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            diff = compare(current, parse_rules(edited_text), labelled, stored)
            page_s.append(time.perf_counter() - t0)
            took, cli_changed = cli_baseline(corpus, folder / "edited.yaml", keywords_path)
            cli_s.append(took)
        changed = len(diff.labelled) + len(diff.recent)
        assert changed == cli_changed, (changed, cli_changed)
        page, base = statistics.median(page_s), statistics.median(cli_s)
        print(f"playground compare: {page:6.2f} s (median of {args.repeat};"
              f" min {min(page_s):.2f}), {changed} items change")  # fmt: skip
        print(f"rules test --against (CLI, baseline): {base:6.2f} s (min {min(cli_s):.2f}),"
              f" {cli_changed} items change; playground {base / page:.2f}x faster")  # fmt: skip
        print(f"RSS after the comparisons +{rss_mb() - before:.1f} MB; peak RSS {peak_mb():.0f} MB")
        first, second = asyncio.run(page_twice(current, edited_text, labelled, stored))
        print(f"the page (parse + compare on its thread): first {first:.2f} s, next edit"
              f" {second:.2f} s (the model's answers kept), {base / second:.2f}x the CLI's"
              " speed")  # fmt: skip
        pause = asyncio.run(loop_pause(current, edited_text, labelled, stored))
        print(f"event loop's longest pause during the page's comparison: {pause * 1e3:.0f} ms")
        db.close()
    paste = big_paste(text)
    t0 = time.perf_counter()
    rules = parse_rules(paste)
    print(f"largest paste accepted ({len(paste.encode()) / 1024:.0f} KiB,"
          f" {rules.pattern_count:,} patterns): parsed and compiled in"
          f" {time.perf_counter() - t0:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
