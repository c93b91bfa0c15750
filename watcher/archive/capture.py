"""Capture and re-check one article: fetch it through the guarded fetcher, keep the exact
answer and its text in a WARC file, index it, decide what changed.

    archiver = Archiver(db, root, fetcher, settings, owner=runtime.instance_id)
    outcome = await archiver.process(capture)     # a row leased by store.archive.claim

``process`` never raises for trouble outside (a fetch failure is retried with the project's
one back-off, ``backoff_delay``); it returns what happened, for logs and tests. Blocking work
(text extraction, writing files, the store) runs in threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watcher.archive import ArchiveSettings, warc
from watcher.archive.watch import (
    changed_materially,
    gone_reason,
    reserved_host,
    should_retry,
    watch_offsets,
)
from watcher.backoff import backoff_delay
from watcher.config.feeds import FeedsConfig
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher, FetchResult
from watcher.store import archive as store
from watcher.store.archive import Capture, Snapshot
from watcher.store.db import Database
from watcher.web.fulltext import article_fetcher, extract_text
from watcher.web.guard import AddressPolicy, check_scheme
from watcher.web.robots import RobotsCache

log = logging.getLogger(__name__)

RETRY_BASE_S = 300.0
RETRY_CAP_S = 6 * 3600.0
MAX_ATTEMPTS = 8  # failures in a row before a capture is given up (or a check skipped)
LEASE_S = store.LEASE_S
_HTML_TYPES = ("html", "xml")

Notice = Callable[[str, str], Awaitable[None]]


def capture_fetcher(settings: ArchiveSettings, policy: AddressPolicy | None = None) -> Fetcher:
    """The article fetcher (address guard, deadline) with the archive's page cap."""
    return article_fetcher(
        max_body_bytes=settings.max_page_bytes,
        concurrency=settings.concurrency,
        policy=policy,
    )


@dataclass(frozen=True, slots=True)
class Next:
    """Where a row goes after a capture or check."""

    phase: str
    state: str
    due_at: float
    watch_step: int


@dataclass(frozen=True, slots=True)
class Fetched:
    page: warc.Page
    text: str


class Archiver:
    def __init__(
        self,
        db: Database,
        root: Path,
        fetcher: Fetcher,
        settings: ArchiveSettings,
        *,
        owner: str,
        feeds: Callable[[], FeedsConfig] | None = None,
        notice: Notice | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.root = root
        self.fetcher = fetcher
        self.settings = settings
        self.owner = owner
        self.feeds = feeds
        self.notice = notice
        self.clock = clock
        self.robots = RobotsCache(fetcher)

    # -- policy from feeds.yaml ----------------------------------------------------------
    def _source(self, source_id: str) -> Any:
        return None if self.feeds is None else self.feeds().get(source_id)

    def offsets(self, source_id: str) -> list[float]:
        source = self._source(source_id)
        horizon = None if source is None else source.archive_watch
        return watch_offsets(self.settings.watch, horizon)

    # -- one row ---------------------------------------------------------------------------
    async def process(self, cap: Capture) -> str:
        """Capture (phase ``capture``) or re-check (phase ``watch``) one leased row."""
        source = self._source(cap.source_id)
        allow_private = bool(source.allow_private) if source is not None else False
        if reserved_host(cap.url):
            return await self._give_up(cap, store.BLOCKED, "a reserved name (RFC 2606/6761)")
        try:
            check_scheme(cap.url)
            robots = cap.phase == store.CAPTURE and self.settings.robots
            if robots and not await self.robots.allowed(cap.url, allow_private=allow_private):
                return await self._give_up(cap, store.ROBOTS, FetchErrorKind.ROBOTS.value)
            result = await self.fetcher.fetch(cap.url, allow_private=allow_private, capture=True)
        except FetchError as exc:
            if exc.kind is FetchErrorKind.BLOCKED_ADDRESS:
                return await self._give_up(cap, store.BLOCKED, str(exc))
            return await self._failed(cap, f"{exc.kind.value}: {exc}", exc.retry_after)
        if should_retry(result.status):
            return await self._failed(cap, f"HTTP {result.status}", None)
        fetched = await asyncio.to_thread(self._page, result)
        if cap.phase == store.CAPTURE:
            return await self._first(cap, fetched)
        return await self._check(cap, fetched)

    def _page(self, result: FetchResult) -> Fetched:
        now = self.clock()
        cut = ""
        if result.truncated:
            cut = f"page cap: kept the first {self.settings.max_page_bytes:,} bytes"
            declared = result.headers.get("content-length", "")
            if declared.isdigit():
                cut += f" of {int(declared):,}"
        page = warc.Page(
            url=result.url,
            final_url=result.final_url,
            status=result.status,
            reason=result.reason,
            http_version=result.http_version,
            headers=result.raw_headers or tuple(result.headers.items()),
            body=result.body,
            fetched_at=now,
            redirects=result.redirects,
            truncated=cut,
        )
        text = ""
        kind = result.headers.get("content-type", "text/html").lower()
        if 200 <= result.status < 300 and any(t in kind for t in _HTML_TYPES):
            try:
                text = extract_text(result.body, dict(result.headers), result.final_url)
            except Exception as exc:  # an extractor crash must not lose the copy
                log.warning("archive: text of %s: extraction failed: %r", result.url, exc)
        return Fetched(page, text)

    async def _first(self, cap: Capture, fetched: Fetched) -> str:
        page = fetched.page
        gone = gone_reason(page.status, page.url, page.final_url)
        offsets = [] if gone else self.offsets(cap.source_id)
        now = self.clock()
        phase = store.WATCH if offsets else store.DONE
        due = (page.fetched_at + offsets[0]) if offsets else now
        state = store.REMOVED if gone else store.LIVE
        outcome = "removed" if gone else "first"
        snap = await asyncio.to_thread(
            self._keep, cap, fetched, outcome, Next(phase, state, due, 0)
        )
        if snap is None:
            return "lost-lease"
        if gone:
            await self._tell(cap, "removed", f"removed before it could be archived: {_title(cap)}"
                             f" ({gone}; the outlet's answer is kept)")  # fmt: skip
        return outcome

    async def _check(self, cap: Capture, fetched: Fetched) -> str:
        page = fetched.page
        latest = await asyncio.to_thread(self._latest, cap)
        gone = gone_reason(page.status, page.url, page.final_url)
        step = cap.watch_step + 1
        offsets = self.offsets(cap.source_id)
        base = cap.captured_at or cap.created_at
        nxt = [o for o in offsets[step:] if base + o > page.fetched_at]
        phase, due = (store.WATCH, base + nxt[0]) if nxt else (store.DONE, self.clock())
        when = _day(latest.fetched_at) if latest is not None else "earlier"
        if gone:
            settle = Next(
                phase=store.DONE, state=store.REMOVED, due_at=self.clock(), watch_step=step
            )
            if await asyncio.to_thread(self._keep, cap, fetched, "removed", settle) is None:
                return "lost-lease"
            await self._tell(cap, "removed", f"removed: {_title(cap)} ({gone}); archived copy"
                             f" kept (captured {when})")  # fmt: skip
            return "removed"
        same = latest is not None and latest.payload_sha256 == page.sha256
        old_text = "" if latest is None or same else await asyncio.to_thread(self._text, latest)
        if same or not changed_materially(old_text, fetched.text):
            settle = Next(phase=phase, state=cap.state, due_at=due, watch_step=step)
            await asyncio.to_thread(self._settle, cap, settle)
            return "same"
        settle = Next(phase=phase, state=store.CHANGED, due_at=due, watch_step=step)
        if await asyncio.to_thread(self._keep, cap, fetched, "changed", settle) is None:
            return "lost-lease"
        await self._tell(cap, "changed", f"changed: {_title(cap)}; both versions archived"
                         f" (first captured {when})")  # fmt: skip
        return "changed"

    # -- failures --------------------------------------------------------------------------
    async def _failed(self, cap: Capture, error: str, retry_after: float | None) -> str:
        now = self.clock()
        delay = backoff_delay(cap.attempts + 1, RETRY_BASE_S, RETRY_CAP_S, retry_after)
        attempts = await asyncio.to_thread(store.retry, self.db, cap.id, error, now, now + delay)
        log.info("archive: %s: %s (try %d)", cap.url, error, attempts)
        if attempts < MAX_ATTEMPTS:
            return "retry"
        if cap.phase == store.CAPTURE:
            await asyncio.to_thread(store.give_up, self.db, cap.id, store.FAILED, error, now)
            return "failed"
        # a check that keeps failing says nothing about the page: go on with the next one
        offsets = self.offsets(cap.source_id)
        base = cap.captured_at or cap.created_at
        nxt = [o for o in offsets if base + o > now]
        phase, due = (store.WATCH, base + nxt[0]) if nxt else (store.DONE, now)
        step = len(offsets) - len(nxt)
        settle = Next(phase=phase, state=cap.state, due_at=due, watch_step=step)
        await asyncio.to_thread(self._settle, cap, settle)
        return "skipped"

    async def _give_up(self, cap: Capture, state: str, error: str) -> str:
        if cap.phase != store.CAPTURE:  # robots or the guard changed its mind: stop watching
            state = cap.state
        await asyncio.to_thread(store.give_up, self.db, cap.id, state, error, self.clock())
        return state

    async def _tell(self, cap: Capture, kind: str, text: str) -> None:
        claimed = await asyncio.to_thread(store.claim_notice, self.db, cap.id, kind, self.clock())
        if claimed and self.notice is not None:
            await self.notice(f"article_{kind}", f"{text}\n{cap.url}")

    # -- blocking helpers (threads) -----------------------------------------------------
    def _latest(self, cap: Capture) -> Snapshot | None:
        if cap.latest_snapshot_id is None:
            return None
        with self.db.transaction() as tx:
            return store.get_snapshot(tx, cap.latest_snapshot_id)

    def _text(self, snap: Snapshot) -> str:
        if not snap.text_file:
            return ""
        record = warc.read_record(self.root, snap.text_file, snap.text_offset)
        return record.content.decode("utf-8", "replace")

    def _settle(self, cap: Capture, how: Next) -> bool:
        with self.db.transaction() as tx:
            if not store.hold(tx, cap.id, self.owner, self.clock() + LEASE_S):
                return False
            store.settle(tx, cap.id, now=self.clock(), phase=how.phase, state=how.state,
                         due_at=how.due_at, watch_step=how.watch_step)  # fmt: skip
        return True

    def _keep(self, cap: Capture, fetched: Fetched, outcome: str, how: Next) -> int | None:
        """Write the snapshot file, then index it and settle the row in one transaction;
        None when the lease was lost (another instance has the row: the file is left over)."""
        page = fetched.page
        with self.db.transaction() as tx:
            if not store.hold(tx, cap.id, self.owner, self.clock() + LEASE_S):
                return None
            original = store.find_payload(tx, page.sha256)
            used = store.stored_bytes_since(tx, page.fetched_at - 86400.0)
        page = self._day_cap(page, used, original is not None)
        if original is not None and original.payload_sha256 != page.sha256:
            original = None  # the day cap cut it: no longer the same payload
        meta = _meta(cap, page, outcome)
        text = None if original is not None else fetched.text
        orig = None if original is None else warc.Original(original.record_id, original.final_url,
                                                            original.fetched_at)  # fmt: skip
        written = warc.write_snapshot(self.root, page, text=text, meta=meta, original=orig)
        snap = _snapshot(cap, page, fetched.text, outcome, written, original)
        with self.db.transaction() as tx:
            if not store.hold(tx, cap.id, self.owner, self.clock() + LEASE_S):
                log.warning("archive: lost the lease on %s; %s left unindexed", cap.url,
                            written.warc_file)  # fmt: skip
                return None
            snap_id = store.add_snapshot(tx, snap)
            store.settle(tx, cap.id, now=self.clock(), phase=how.phase, state=how.state,
                         due_at=how.due_at, watch_step=how.watch_step, snapshot_id=snap_id,
                         payload_sha256=page.sha256)  # fmt: skip
        return snap_id

    def _day_cap(self, page: warc.Page, used: int, duplicate: bool) -> warc.Page:
        """The page cut to what is left of the day's budget (a revisit costs nothing)."""
        left = self.settings.max_day_bytes - used
        if duplicate or len(page.body) <= left:
            return page
        keep = max(0, left)
        note = (f"daily cap of {self.settings.max_day_bytes:,} bytes reached: kept {keep:,} of"
                f" {len(page.body):,} bytes (the text is kept whole)")  # fmt: skip
        cut = f"{page.truncated}; {note}" if page.truncated else note
        return _replace_body(page, page.body[:keep], cut)


def _replace_body(page: warc.Page, body: bytes, truncated: str) -> warc.Page:
    from dataclasses import replace

    return replace(page, body=body, truncated=truncated)


def _title(cap: Capture) -> str:
    return " ".join(cap.title.split()) or cap.url


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def _meta(cap: Capture, page: warc.Page, outcome: str) -> dict[str, Any]:
    return {
        "requested_url": page.url,
        "final_url": page.final_url,
        "redirects": list(page.redirects),
        "fetched_at": warc.iso(page.fetched_at),
        "status": page.status,
        "truncated": page.truncated,
        "outcome": outcome,
        "alert_id": cap.alert_id,
        "item_id": cap.item_id,
        "source_id": cap.source_id,
        "title": cap.title,
        "payload_sha256": page.sha256,
    }


def _snapshot(
    cap: Capture,
    page: warc.Page,
    text: str,
    outcome: str,
    written: warc.Written,
    original: Snapshot | None,
) -> Snapshot:
    import hashlib

    if original is not None:
        text_fields = (original.text_sha256, original.text_chars, original.text_record_id,
                       original.text_file, original.text_offset, original.text_length)  # fmt: skip
    else:
        text_fields = (hashlib.sha256(text.encode("utf-8")).hexdigest(), len(text),
                       written.text_record_id, written.warc_file, written.text_offset,
                       written.text_length)  # fmt: skip
    return Snapshot(
        id=0,
        capture_id=cap.id,
        record_id=written.record_id,
        kind="revisit" if original is not None else "response",
        outcome=outcome,
        url=page.url,
        final_url=page.final_url,
        http_status=page.status,
        fetched_at=page.fetched_at,
        payload_sha256=page.sha256,
        payload_length=len(page.body),
        truncated=page.truncated,
        refers_to="" if original is None else original.record_id,
        text_sha256=text_fields[0],
        text_chars=text_fields[1],
        text_record_id=text_fields[2],
        warc_file=written.warc_file,
        warc_offset=written.offset,
        warc_length=written.length,
        text_file=text_fields[3],
        text_offset=text_fields[4],
        text_length=text_fields[5],
        stored_bytes=written.size,
        created_at=page.fetched_at,
    )
