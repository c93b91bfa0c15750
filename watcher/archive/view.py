"""What people see of the archive: an alert's capture state, links, and archived copies
served sanitized. For the digest, ``/explain``, the CLI and the maintainer pages.

    state = capture_state(db, alert_id)          # None: no capture queued for it
    state.line()                                 # "archived 2026-11-20 09:05 UTC (sha256 …), live"
    page = archived_page(db, root, snapshot_id)  # sanitized HTML + headers, or None
    # a web page serves it as: Response(page.body, headers=page.headers)

Maintainer pages serve a copy at ``/archive/{snapshot_id}`` (the digest links there under
``WATCHER_ARCHIVE_URL``) and its extracted text at ``/archive/{snapshot_id}/text``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from watcher.archive import warc
from watcher.archive.sanitize import CSP, sanitize_html, text_page
from watcher.parse.charset import decode_html
from watcher.store import archive as store
from watcher.store.archive import Capture, Snapshot
from watcher.store.db import Database

PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, max-age=3600",
}


def _when(ts: float | None) -> str:
    return "never" if ts is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


@dataclass(frozen=True, slots=True)
class CaptureState:
    capture: Capture
    snapshots: tuple[Snapshot, ...]  # oldest first

    @property
    def first(self) -> Snapshot | None:
        return self.snapshots[0] if self.snapshots else None

    @property
    def evidence(self) -> Snapshot | None:
        """The copy to show: the first one with the article (a removal's 404 is not it)."""
        return next((s for s in self.snapshots if s.outcome != "removed"), self.first)

    @property
    def status(self) -> str:
        """live, changed, removed; or pending, failed, blocked, robots (no copy)."""
        return self.capture.state

    def line(self) -> str:
        """One line for people: the state, when, the hash."""
        c, snap = self.capture, self.evidence
        if snap is None:
            if c.state == store.PENDING:
                tries = f", {c.attempts} failed tries, last: {c.last_error}" if c.attempts else ""
                return f"archive: capture pending{tries}"
            return f"archive: no copy ({c.state}: {c.last_error or 'no reason recorded'})"
        if snap.outcome == "removed":  # gone before the first capture: only its answer kept
            return (f"archive: removed before it could be captured (HTTP {snap.http_status}"
                    f" on {_when(snap.fetched_at)}, the answer kept)")  # fmt: skip
        text = f"archived {_when(snap.fetched_at)} (sha256 {snap.payload_sha256[:12]}…)"
        if snap.truncated:
            text += ", cut"
        if c.state == store.REMOVED:
            gone = self.snapshots[-1]
            return f"{text}; removed since ({_when(gone.fetched_at)}), archived copy kept"
        if c.state == store.CHANGED:
            return f"{text}; changed since, {len(self.snapshots)} versions kept"
        checked = f", last checked {_when(c.checked_at)}" if c.checks > 1 else ""
        return f"{text}, live{checked}"


def capture_states(db: Database, urls: Sequence[str]) -> dict[str, CaptureState]:
    """The capture state of each URL that has a capture."""
    with db.transaction() as tx:
        captures = store.captures_by_url(tx, urls)
        snaps = store.snapshots_of(tx, [c.id for c in captures.values()])
    return {u: CaptureState(c, tuple(snaps.get(c.id, ()))) for u, c in captures.items()}


def capture_state(db: Database, alert_id: int) -> CaptureState | None:
    """The capture state of an alert's article (None: the alert has no URL or no capture)."""
    with db.transaction() as tx:
        url = tx.scalar("SELECT url FROM alerts WHERE id = ?", (alert_id,))
    return capture_states(db, [url]).get(url) if url else None


def archived_links(db: Database, alerts: Mapping[int, str], base_url: str) -> dict[int, str]:
    """Alert id -> the link to its archived copy under ``base_url`` (the maintainer pages),
    for alerts that have one; {} when no base URL is set."""
    if not base_url:
        return {}
    states = capture_states(db, list(alerts.values()))
    out: dict[int, str] = {}
    for alert_id, url in alerts.items():
        state = states.get(url)
        snap = state.evidence if state is not None else None
        if snap is not None:
            out[alert_id] = f"{base_url.rstrip('/')}/archive/{snap.id}"
    return out


@dataclass(frozen=True, slots=True)
class ServedPage:
    body: bytes
    headers: dict[str, str]  # Content-Type and the policy headers


def banner(capture: Capture, snap: Snapshot) -> str:
    """The note on top of an archived copy: what it is, from where, when, its hash."""
    cut = f" <b>Cut:</b> {escape(snap.truncated)}." if snap.truncated else ""
    return (
        '<div style="all:initial;display:block;font:14px/1.4 sans-serif;background:#fff7d6;'
        'color:#222;border-bottom:2px solid #d9a400;padding:8px 12px">'
        f"<b>Archived copy</b> of {escape(snap.final_url or snap.url)}, captured"
        f" {_when(snap.fetched_at)} (HTTP {snap.http_status}); SHA-256"
        f" <code>{snap.payload_sha256}</code>; record {escape(snap.record_id)}. Page state:"
        f" {escape(capture.state)}. Scripts and remote content removed.{cut}</div>"
    )


def payload(db: Database, root: Path, snap: Snapshot) -> warc.Record:
    """The response record holding ``snap``'s payload (a revisit's original)."""
    if snap.kind == "revisit":
        with db.transaction() as tx:
            original = store.snapshot_by_record(tx, snap.refers_to)
        if original is not None:
            snap = original
    return warc.read_record(root, snap.warc_file, snap.warc_offset)


def render_copy(capture: Capture, snap: Snapshot, record: warc.Record) -> str:
    """The sanitized page of a snapshot (its payload read from ``record``)."""
    headers = {k.lower(): v for k, v in record.http_headers}
    kind = headers.get("content-type", "text/html").lower()
    if "html" not in kind and "xml" not in kind:
        return text_page(f"(a {kind} document of {len(record.content):,} bytes)", snap.url,
                         banner(capture, snap))  # fmt: skip
    html, _ = decode_html(record.content, headers)
    return sanitize_html(html, banner(capture, snap))


def archived_page(
    db: Database, root: Path, snapshot_id: int, *, text: bool = False
) -> ServedPage | None:
    """An archived copy, sanitized, ready to serve (None: no such snapshot). ``text``: the
    extracted text instead of the page."""
    with db.transaction() as tx:
        snap = store.get_snapshot(tx, snapshot_id)
        capture = None if snap is None else store.get_capture(tx, snap.capture_id)
    if snap is None or capture is None:
        return None
    if text:
        body = ""
        if snap.text_file:
            record = warc.read_record(root, snap.text_file, snap.text_offset)
            body = record.content.decode("utf-8", "replace")
        html = text_page(body, capture.title or snap.url, banner(capture, snap))
    else:
        html = render_copy(capture, snap, payload(db, root, snap))
    return ServedPage(
        html.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8", **PAGE_HEADERS}
    )


def health_line(db: Database, now: float, max_day_bytes: int) -> str:
    """The archive's health in one line, for ``watcher sources`` and ``/status``."""
    h = store.health(db, now)
    if not h.states:
        return "Archive: nothing captured yet"
    kept = sum(h.states.get(s, 0) for s in (store.LIVE, store.CHANGED, store.REMOVED))
    parts = [f"Archive: {kept} pages kept ({h.snapshots} copies)"]
    if h.pending:
        parts.append(f"{h.pending} waiting" + (f" ({h.retrying} retrying)" if h.retrying else ""))
    for state in (store.CHANGED, store.REMOVED, store.FAILED, store.BLOCKED, store.ROBOTS):
        if h.states.get(state):
            parts.append(f"{h.states[state]} {state}")
    parts.append(f"{h.bytes_24h / 1e6:.1f} of {max_day_bytes / 1e6:.0f} MB in 24h")
    line = ", ".join(parts)
    if h.last_error and h.last_error_at is not None and (h.pending or h.states.get(store.FAILED)):
        line += f"; last error {_when(h.last_error_at)}: {h.last_error[:120]}"
    return line
