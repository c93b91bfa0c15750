"""Parsing and scoring in worker processes: the poll pipeline's CPU work on more cores.

    workers = Workers(2)                    # watcher run: WATCHER_WORKERS (0 = threads only)
    pipeline = Pipeline(..., workers=workers)
    ...
    workers.close()

Parsing a feed and scoring its new items are pure CPU work under the GIL; with threads alone a
busy cycle runs on one core. A ``Workers`` pool runs ``parse_feed`` and ``Rules.score`` in
processes. Each pool is made for one ``Rules`` object (sent once to each worker, pickled, when
the worker starts): when the rules in force change (a hot reload), the next call starts a new
pool and the old one finishes what it has. Results are the same as in-process: the worker
holds an exact copy of the compiled rules.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor

from watcher.errors import FetchError, FetchErrorKind
from watcher.models import Item, ScoreResult
from watcher.rules import Rules

# The rules of this worker process (set once by its initializer; workers hold no other state).
_worker_rules: list[Rules] = []


def _start_worker(blob: bytes) -> None:
    _worker_rules[:] = [pickle.loads(blob)]


def _score_in_worker(items: Sequence[Item]) -> list[ScoreResult]:
    rules = _worker_rules[0]
    return [rules.score(it, explain=False) for it in items]


class Workers:
    """A process pool for parsing and scoring, remade when the rules change."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("Workers needs at least one process")
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._rules: Rules | None = None
        # spawn, not fork: the parent has threads (SQLite, to_thread) and open sockets
        self._context = multiprocessing.get_context("spawn")

    def executor(self, rules: Rules) -> Executor:
        """The pool whose workers hold ``rules`` (a new one after a reload)."""
        broken = self._pool is not None and getattr(self._pool, "_broken", False)
        if self._pool is None or self._rules is not rules or broken:
            old = self._pool
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=self._context,
                initializer=_start_worker,
                initargs=(pickle.dumps(rules),),
            )
            self._rules = rules
            if old is not None:
                old.shutdown(wait=False)  # what it has queued still runs
        return self._pool

    async def score(self, rules: Rules, items: Sequence[Item]) -> list[ScoreResult]:
        """``rules.score(item, explain=False)`` for each item, in a worker."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor(rules), _score_in_worker, list(items))
        except BrokenExecutor as exc:  # a worker died: start afresh next time
            self._pool = None
            raise FetchError(FetchErrorKind.OTHER, f"scoring process died: {exc}") from exc

    def cpu_seconds(self) -> float:
        """CPU time used so far by the live workers (Linux /proc), for benchmarks."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            try:
                with open(f"/proc/{proc.pid}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        return total

    def peak_rss_kb(self) -> list[int]:
        """The peak resident memory of each live worker (VmHWM, Linux), for benchmarks."""
        out = []
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            try:
                with open(f"/proc/{proc.pid}/status", encoding="ascii") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            out.append(int(line.split()[1]))
            except OSError:
                continue
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
