"""Case files: the archived evidence of a topic, a period or a story, for a report.

    rows = case_rows(db, CaseFilter(topic="repatriation", since=..., until=...))
    export(db, root, rows, "html", Path("case-2026-11"))

One row per report, grouped by development (story; an alert outside any story is a development
of its own): title, outlet, language, published and fetched times, URL, archive record id and
SHA-256, status (live / changed / removed, or why there is no copy), the snippet.

- ``csv`` and ``jsonl``: the rows.
- ``html``: a folder that opens offline: ``index.html`` (the developments and their reports),
  ``pages/N.html`` (each archived copy as captured, sanitized: no scripts, no remote loads),
  ``text/N.txt`` (its extracted text), ``case.csv`` and ``SHA256SUMS`` (of every file).
- ``warc``: one ``.warc.gz`` with a ``warcinfo`` record describing the case, then every
  snapshot file of the rows (and the originals their revisits point at), unchanged: the
  records keep their ids and digests, so ``warcio check`` and ``verify`` hold for the copy.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from watcher.archive import warc
from watcher.archive.view import CaptureState, capture_states, render_copy
from watcher.errors import WatcherError
from watcher.models import matches_from_json
from watcher.store.archive import Capture, Snapshot
from watcher.store.db import Database

FORMATS = ("csv", "jsonl", "html", "warc")
COLUMNS = (
    "development", "development_title", "title", "outlet", "language", "published",
    "fetched", "url", "final_url", "record_id", "sha256", "status", "truncated", "snippet",
    "topics", "alert_id", "warc_file",
)  # fmt: skip


# (capture, snapshot to show, snapshot holding its payload): one page of the folder
_Job = tuple[Capture, Snapshot, Snapshot]
WRITERS = 4  # threads writing the folder's files


@dataclass(frozen=True, slots=True)
class CaseFilter:
    topic: str = ""
    since: float | None = None  # published at or after (epoch seconds)
    until: float | None = None  # published before
    story: int | None = None


@dataclass(frozen=True, slots=True)
class CaseRow:
    development: str  # the story id, or "alert-N"
    development_title: str
    title: str
    outlet: str
    language: str
    published: float
    url: str
    topics: tuple[str, ...]
    snippet: str
    alert_id: int | None
    state: CaptureState | None = field(default=None, compare=False)

    @property
    def evidence(self) -> Snapshot | None:
        return None if self.state is None else self.state.evidence

    @property
    def status(self) -> str:
        return "not archived" if self.state is None else self.state.status

    def flat(self) -> dict[str, str | int | None]:
        snap = self.evidence
        return {
            "development": self.development,
            "development_title": self.development_title,
            "title": self.title,
            "outlet": self.outlet,
            "language": self.language,
            "published": _iso(self.published),
            "fetched": _iso(snap.fetched_at) if snap else "",
            "url": self.url,
            "final_url": snap.final_url if snap else "",
            "record_id": snap.record_id if snap else "",
            "sha256": snap.payload_sha256 if snap else "",
            "status": self.status,
            "truncated": snap.truncated if snap else "",
            "snippet": self.snippet,
            "topics": ",".join(self.topics),
            "alert_id": self.alert_id,
            "warc_file": snap.warc_file if snap else "",
        }


def _iso(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _snippet(matches_json: str, summary: str) -> str:
    for m in matches_from_json(matches_json):
        if m.kind != "exclusion" and m.snippet.strip():
            return " ".join(m.snippet.split())
    text = " ".join(summary.split())
    return text if len(text) <= 240 else text[:239].rsplit(" ", 1)[0] + "…"


def _where(f: CaseFilter, story_column: str) -> tuple[str, list[object]]:
    sql: list[str] = ["1 = 1"]
    params: list[object] = []
    if f.since is not None:
        sql.append("published_at >= ?")
        params.append(f.since)
    if f.until is not None:
        sql.append("published_at < ?")
        params.append(f.until)
    if f.story is not None:
        sql.append(f"{story_column} = ?")
        params.append(f.story)
    return " AND ".join(sql), params


def case_rows(db: Database, f: CaseFilter) -> list[CaseRow]:
    """The reports matching ``f``, grouped by development, with their capture states."""
    rows: list[CaseRow] = []
    with db.transaction() as tx:
        where, params = _where(f, "story_id")
        reports = tx.fetchall(
            "SELECT story_id, alert_id, source_id, source_name, url, title, summary, language,"
            f" topics, published_at FROM story_reports WHERE {where} ORDER BY id",
            params,
        )
        alerts = tx.fetchall(
            "SELECT id, story_id, source_id, source_name, url, title, summary, language, topics,"
            f" published_at, matches FROM alerts WHERE {where} ORDER BY id",
            params,
        )
        titles: dict[int, str] = (
            dict(tx.fetchall("SELECT id, title FROM stories")) if reports else {}
        )
    by_alert = {int(a[0]): a for a in alerts}
    in_story: set[int] = set()
    for sid, aid, src, name, url, title, summary, lang, topics, published in reports:
        alert = by_alert.get(int(aid)) if aid is not None else None
        if aid is not None:
            in_story.add(int(aid))
        snippet = _snippet(alert[10], summary) if alert else _snippet("", summary)
        rows.append(CaseRow(str(sid), titles.get(sid, ""), title, name or src, lang,
                            float(published), url, tuple(json.loads(topics)), snippet,
                            None if aid is None else int(aid)))  # fmt: skip
    for aid, sid, src, name, url, title, summary, lang, topics, published, matches in alerts:
        if int(aid) in in_story:
            continue
        dev = f"alert-{aid}" if sid is None else str(sid)
        rows.append(CaseRow(dev, title, title, name or src, lang, float(published), url,
                            tuple(json.loads(topics)), _snippet(matches, summary),
                            int(aid)))  # fmt: skip
    if f.topic:
        rows = [r for r in rows if f.topic in r.topics]
    states = capture_states(db, [r.url for r in rows])
    first: dict[str, float] = {}
    for r in rows:
        first[r.development] = min(first.get(r.development, r.published), r.published)
    rows = [_with_state(r, states.get(r.url)) for r in rows]
    rows.sort(key=lambda r: (first[r.development], r.development, r.published, r.url))
    return rows


def _with_state(row: CaseRow, state: CaptureState | None) -> CaseRow:
    from dataclasses import replace

    title = row.development_title or row.title
    return replace(row, state=state, development_title=title)


def export(db: Database, root: Path, rows: Sequence[CaseRow], fmt: str, out: Path) -> int:
    """Write the case file; returns how many rows."""
    if fmt not in FORMATS:
        raise WatcherError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        out.write_text(_csv(rows), encoding="utf-8")
    elif fmt == "jsonl":
        with out.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r.flat(), ensure_ascii=False) + "\n")
    elif fmt == "warc":
        _warc(db, root, rows, out)
    else:
        _html(db, root, rows, out)
    return len(rows)


def _csv(rows: Iterable[CaseRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    for r in rows:
        writer.writerow(r.flat())
    return buf.getvalue()


def _snapshots(db: Database, rows: Sequence[CaseRow]) -> list[Snapshot]:
    """Every snapshot of the rows, and the originals their revisits point at, once each."""
    from watcher.store import archive as store

    seen: dict[int, Snapshot] = {}
    for r in rows:
        for s in r.state.snapshots if r.state else ():
            seen[s.id] = s
    refs = {s.refers_to for s in seen.values() if s.refers_to}
    with db.transaction() as tx:
        for ref in sorted(refs):
            original = store.snapshot_by_record(tx, ref)
            if original is not None:
                seen.setdefault(original.id, original)
    return [seen[k] for k in sorted(seen)]


def _warc(db: Database, root: Path, rows: Sequence[CaseRow], out: Path) -> None:
    snaps = _snapshots(db, rows)
    part = out.with_name(out.name + warc.PART)
    with part.open("wb") as fh:
        writer = warc._Sha256Writer(fh, gzip=True, warc_version="WARC/1.1")
        info = {"software": "watcher", "description": f"case file: {len(rows)} reports,"
                f" {len(snaps)} snapshots", "created": _iso(time.time())}  # fmt: skip
        writer.write_record(writer.create_warcinfo_record(out.name, info))
        for name in sorted({s.warc_file for s in snaps} | {s.text_file for s in snaps} - {""}):
            with (root / name).open("rb") as src:  # gzip members concatenate
                while chunk := src.read(1 << 20):
                    fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, out)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("watcher.archive", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _jobs(db: Database, rows: Sequence[CaseRow]) -> list[_Job]:
    from watcher.store import archive as store

    jobs: dict[int, _Job] = {}
    with db.transaction() as tx:
        for r in rows:
            for snap in r.state.snapshots if r.state else ():
                if snap.id in jobs or r.state is None:
                    continue
                holder = snap
                if snap.kind == "revisit":
                    holder = store.snapshot_by_record(tx, snap.refers_to) or snap
                jobs[snap.id] = (r.state.capture, snap, holder)
    return list(jobs.values())


def _render_pages(root: Path, out: Path, jobs: Sequence[_Job]) -> dict[str, str]:
    """Write each job's sanitized page and text; name -> SHA-256 of what was written.

    Files are written by a few threads: creating a file waits on the file system (several
    milliseconds each on some), and 10,000-page folders are 20,000 files.
    """
    written: dict[str, str] = {}
    with ThreadPoolExecutor(WRITERS) as writers:
        pending = []
        for capture, snap, holder in jobs:
            record = warc.read_record(root, holder.warc_file, holder.warc_offset, check=False)
            html = render_copy(capture, snap, record).encode("utf-8")
            files = [(f"pages/{snap.id}.html", html)]
            if snap.text_file:
                text = warc.read_record(root, snap.text_file, snap.text_offset, check=False)
                files.append((f"text/{snap.id}.txt", text.content))
            for name, data in files:
                written[name] = hashlib.sha256(data).hexdigest()
                pending.append(writers.submit((out / name).write_bytes, data))
        for done in pending:
            done.result()
    return written


def _html(db: Database, root: Path, rows: Sequence[CaseRow], out: Path) -> None:
    (out / "pages").mkdir(parents=True, exist_ok=True)
    (out / "text").mkdir(exist_ok=True)
    written = _render_pages(root, out, _jobs(db, rows))
    groups: dict[str, list[CaseRow]] = {}
    for r in rows:
        groups.setdefault(r.development, []).append(r)
    index = (
        _environment()
        .get_template("case.html.j2")
        .render(groups=list(groups.values()), count=len(rows), created=_iso(time.time()), iso=_iso)
    )
    written["index.html"] = _put(out, "index.html", index.encode("utf-8"))
    written["case.csv"] = _put(out, "case.csv", _csv(rows).encode("utf-8"))
    sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(written.items()))
    (out / "SHA256SUMS").write_text(sums, encoding="utf-8")


def _put(out: Path, name: str, data: bytes) -> str:
    (out / name).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


__all__ = ["COLUMNS", "FORMATS", "CaseFilter", "CaseRow", "case_rows", "export"]
