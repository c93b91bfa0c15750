"""Alerts per second through the outbox with 1, 2 and 4 instances (PostgreSQL; SQLite baseline).

Each instance is a separate process with its own connection pool, running what a notifier
does: ``outbox.claim`` a batch, "send" each row (``--send-ms`` of simulated network time, 0 =
none), ``mark_sent`` it. The store is filled first with ``--alerts`` alerts (one outbox row
each, recorded as the pipeline records them); the clock runs from the moment all instances are
released until the queue is empty. Every run also checks the outbox's promise: every row sent
exactly once (no row sent by two instances, none left).

    python bench/bench_outbox.py                      # PG at WATCHER_TEST_PG or 127.0.0.1
    python bench/bench_outbox.py --alerts 5000 --send-ms 2 --instances 1 2 4 8

Figures are printed with ratios against the 1-instance run of the same store in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from watcher.store import open_database
from watcher.store import outbox as ob
from watcher.store.alerts import insert_alert

PG_URL = os.environ.get("WATCHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def fill(url: str, alerts: int) -> float:
    """Record ``alerts`` alerts with one console outbox row each; return alerts/s recorded."""
    db = open_database(url)
    started = time.perf_counter()
    try:
        for i in range(alerts):
            with db.transaction() as tx:
                alert = insert_alert(
                    tx,
                    dedupe_key=f"https://example.org/{i}",
                    item_id=None,
                    source_id="bench",
                    source_name="Bench",
                    title=f"Alert {i}",
                    url=f"https://example.org/{i}",
                    summary="",
                    language="en",
                    published=datetime(2026, 1, 1, tzinfo=UTC),
                    topics=["repatriation"],
                    score=3.0,
                    matches=[],
                    now=1000.0,
                )
                assert alert is not None
                ob.enqueue(tx, alert.id, "console", ["-"], 1000.0)
    finally:
        db.close()
    return alerts / (time.perf_counter() - started)


def instance(url: str, name: str, send_s: float, batch: int, start: object, out: object) -> None:
    db = open_database(url, migrate=False)
    sent: list[int] = []
    start.wait()  # type: ignore[attr-defined]
    idle_rounds = 0
    try:
        while idle_rounds < 3:
            rows = ob.claim(db, "console", name, now=time.time(), limit=batch, lease_s=60)
            if not rows:
                idle_rounds += 1
                time.sleep(0.01)
                continue
            idle_rounds = 0
            for row in rows:
                if send_s:
                    time.sleep(send_s)
                ob.mark_sent(db, row.id, f"{name}:{row.id}", now=time.time())
                sent.append(row.id)
    finally:
        db.close()
    out.put((name, sent, time.perf_counter()))  # type: ignore[attr-defined]


def run(url: str, alerts: int, instances: int, send_ms: float, batch: int) -> dict[str, float]:
    fill_rate = fill(url, alerts)
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=instance, args=(url, f"i{n}", send_ms / 1000, batch, start, out))
        for n in range(instances)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every process import and connect before the clock starts
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    # Instances stop after 3 idle rounds; measure to when the last row was sent, roughly the
    # last finisher minus its idle tail (~30 ms) - the same for every run.
    elapsed = max(r[2] for r in results) - t0
    ids = [i for _, sent, _ in results for i in sent]
    db = open_database(url, migrate=False)
    try:
        pending = ob.pending_count(db)
        with db.transaction() as tx:
            sent_rows = int(tx.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent'"))
    finally:
        db.close()
    if len(ids) != alerts or len(set(ids)) != alerts or pending or sent_rows != alerts:
        raise SystemExit(
            f"exactly-once broken: {len(ids)} sends, {len(set(ids))} distinct, {pending} pending"
        )
    return {"rate": alerts / elapsed, "elapsed": elapsed, "fill": fill_rate}


def pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=3000)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--send-ms", type=float, nargs="+", default=[0.0, 2.0])
    parser.add_argument("--batch", type=int, default=50, help="rows per claim")
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()

    print(f"outbox: {args.alerts} alerts, batch {args.batch}, cpus {os.cpu_count()}")
    print(f"{'store':<10} {'send ms':>7} {'inst':>4} {'alerts/s':>10} {'x 1 inst':>8}"
          f" {'seconds':>8} {'enqueue/s':>10}")  # fmt: skip
    stores = ["postgresql"] + ([] if args.no_sqlite else ["sqlite"])
    for store in stores:
        for send_ms in args.send_ms:
            base_rate = None
            for n in args.instances:
                if store == "postgresql":
                    url, schema = pg_schema_url(args.pg)
                    try:
                        r = run(url, args.alerts, n, send_ms, args.batch)
                    finally:
                        drop_schema(args.pg, schema)
                else:
                    with tempfile.TemporaryDirectory() as tmp:
                        r = run(str(Path(tmp) / "w.db"), args.alerts, n, send_ms, args.batch)
                base_rate = base_rate or r["rate"]
                print(
                    f"{store:<10} {send_ms:>7g} {n:>4} {r['rate']:>10.0f}"
                    f" {r['rate'] / base_rate:>8.2f} {r['elapsed']:>8.2f} {r['fill']:>10.0f}",
                    flush=True,
                )
    print("every run: each row sent exactly once, none left pending")
    return 0


if __name__ == "__main__":
    sys.exit(main())
