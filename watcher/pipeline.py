"""One poll of one source: fetch -> parse -> score -> record items, alerts and outbox rows.

Everything a poll learns is written in one transaction (items, alerts, outbox rows and the
source's new state), so a crash at any moment either keeps all of it or none: an alert is
recorded exactly once and delivered through the outbox.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from watcher.backoff import backoff_delay
from watcher.config.feeds import SourceConfig
from watcher.errors import FetchError, FetchErrorKind
from watcher.fetch import Fetcher
from watcher.models import Alert, Item, ScoreResult
from watcher.notify.base import Targets
from watcher.notify.fanout import fan_out
from watcher.parse.feed import ParsedFeed, parse_feed_async
from watcher.settings import DEFAULT_ALERTS_PER_POLL
from watcher.store import alerts as alerts_store
from watcher.store import items as items_store
from watcher.store import sources as sources_store
from watcher.store.db import Database, Tx
from watcher.stories.hook import StoryHook
from watcher.web.fulltext import FullText
from watcher.web.pages import ParsedPage, parse_page_async

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 60.0
BACKOFF_CAP_S = 6 * 3600.0


class Scorer(Protocol):
    def score(self, item: Item, *, explain: bool = True) -> ScoreResult: ...


# Called after an alert was recorded, inside its transaction (story grouping hooks in here).
AlertHook = Callable[[Tx, Alert, Item], None]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    source_id: str
    ok: bool
    status: str  # "new", "not_modified", "unchanged", "error"
    items: int = 0  # entries in the feed
    new_items: int = 0
    alerts: tuple[Alert, ...] = ()
    error_kind: str = ""
    error: str = ""
    failures: int = 0  # failures in a row after this poll
    next_check_at: float = 0.0
    retry_after: float | None = None
    recovered: bool = False  # a success after operators were told the source fails


class _Slot:
    """One processing slot of a poll; released at the end only if held then."""

    def __init__(self, sem: asyncio.Semaphore) -> None:
        self.sem = sem
        self.held = False

    async def acquire(self) -> None:
        await self.sem.acquire()
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.sem.release()


@dataclass
class Pipeline:
    """The composition of the stages; shared by all sources of one process."""

    db: Database
    fetcher: Fetcher
    scorer: Callable[[], Scorer]  # the current rules (hot reload swaps them)
    notifiers: Callable[[], Sequence[Targets]]
    on_alerts: Callable[[], None] = lambda: None
    alert_hooks: list[AlertHook] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    fulltext: FullText | None = None  # article text for sources with fulltext: true
    stories: StoryHook | None = None  # one story, one alert (watcher.stories.hook); None = off
    alerts_per_poll: int = DEFAULT_ALERTS_PER_POLL  # to one target; the rest in one summary
    processing_slots: int = 8  # polls parsing/scoring/storing at once (bounds memory)
    # feed bodies in memory at once, the processing slots' included: a fetch waits before
    # reading its body while this many are read and not yet processed (fetching runs ahead)
    body_slots: int = 16
    # threads parsing and scoring/storing (the slots queue for them): each thread that
    # allocates gets its own malloc arena, which keeps its own high-water mark of parse trees
    # and items, so 6 default-executor threads cost ~30 MB more RSS than 2, for no speed (GIL)
    stage_threads: int = 2
    _stage_slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _body_slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _stage_loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _executor: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    async def poll(self, source: SourceConfig) -> PollOutcome:
        now = self.clock()
        state = await asyncio.to_thread(self._prepare, source)
        # Parse, score and store under a processing slot: a parsed feed is only alive while its
        # slot is held, so a big cycle's memory is bounded by the slots, not by how many bodies
        # the fetcher has finished (parsed feeds queued FIFO behind all the parses held them all).
        slot = _Slot(self._stage())
        # A body is only read once it has a body slot (held until the poll ends), so bodies
        # fetched ahead of processing wait unread on their connection instead of piling up.
        body_slot = _Slot(self._bodies())
        try:
            result = await self.fetcher.fetch(
                source.url,
                etag=state.etag,
                last_modified=state.last_modified,
                allow_private=True,  # sources in feeds.yaml may be on any address
                before_body=body_slot.acquire,
            )
            if result.not_modified or (result.body_hash and result.body_hash == state.body_hash):
                status = "not_modified" if result.not_modified else "unchanged"
                await asyncio.to_thread(
                    self._record_unchanged, source, now, result.etag, result.last_modified
                )
                return PollOutcome(
                    source.id,
                    True,
                    status,
                    next_check_at=now + source.interval,
                    recovered=state.failing_notified_at is not None,
                )
            await slot.acquire()
            parsed: ParsedFeed | ParsedPage
            if source.type == "page":  # a listing page + CSS selectors (watcher.web.pages)
                parsed = await parse_page_async(
                    result.body,
                    headers=result.headers,
                    source_id=source.id,
                    base_url=result.final_url,
                    selectors=source.selectors,
                    language=source.language,
                    now=datetime.fromtimestamp(now, UTC),
                    executor=self._threads(),
                )
            else:
                parsed = await parse_feed_async(
                    result.body,
                    headers=result.headers,
                    source_id=source.id,
                    language=source.language,
                    base_url=result.final_url,
                    now=datetime.fromtimestamp(now, UTC),
                    executor=self._threads(),
                )
            if not parsed.items and parsed.bozo:
                raise FetchError(FetchErrorKind.EMPTY, parsed.bozo_reason, url=source.url)
            items = parsed.items
            if source.fulltext and self.fulltext is not None:  # new items only, before scoring
                slot.release()  # article fetches do not hold a processing slot
                body_slot.release()  # nor a body slot (the feed's body is parsed already)
                items = await self.fulltext.enrich_new(
                    self.db, source, items, first_poll=state.first_polled_at is None, now=now
                )
                await slot.acquire()
            edits_before = self.stories.edits if self.stories is not None else 0
            new_items, alerts = await asyncio.get_running_loop().run_in_executor(
                self._threads(),
                functools.partial(
                    self._record,
                    source,
                    state,
                    items,
                    now,
                    result.etag,
                    result.last_modified,
                    result.body_hash,
                ),
            )
        except FetchError as exc:
            return await self._failed(source, state, now, exc.kind.value, exc.detail, exc)
        except Exception as exc:  # a bug or a surprise in one source must not stop the others
            log.exception("source %s: unexpected error", source.id)
            return await self._failed(source, state, now, "error", repr(exc), None)
        finally:
            slot.release()
            body_slot.release()
        edited = self.stories is not None and self.stories.edits != edits_before
        if alerts or edited:  # new alerts, or "also reported by" edits, wait in the outbox
            self.on_alerts()
        return PollOutcome(
            source.id,
            True,
            "new",
            items=len(parsed.items),
            new_items=new_items,
            alerts=tuple(alerts),
            next_check_at=now + source.interval,
            recovered=state.failing_notified_at is not None,
        )

    def _stage(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._stage_slots is None or self._stage_loop is not loop:
            self._stage_slots = asyncio.Semaphore(self.processing_slots)
            self._body_slots = asyncio.Semaphore(max(self.body_slots, self.processing_slots))
            self._stage_loop = loop
        return self._stage_slots

    def _threads(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.stage_threads, "watcher-stage")
            weakref.finalize(self, self._executor.shutdown, wait=False)  # idle threads exit
        return self._executor

    def _bodies(self) -> asyncio.Semaphore:
        self._stage()
        assert self._body_slots is not None
        return self._body_slots

    def _prepare(self, source: SourceConfig) -> sources_store.SourceState:
        with self.db.transaction() as tx:
            sources_store.ensure_source(tx, source.id, source.url)
        state = sources_store.get_state(self.db, source.id)
        assert state is not None
        return state

    def _record_unchanged(
        self, source: SourceConfig, now: float, etag: str | None, last_modified: str | None
    ) -> None:
        with self.db.transaction() as tx:
            sources_store.record_success(
                tx,
                source.id,
                now=now,
                next_check_at=now + source.interval,
                etag=etag,
                last_modified=last_modified,
                body_hash=None,
            )

    def _record(
        self,
        source: SourceConfig,
        state: sources_store.SourceState,
        items: Sequence[Item],
        now: float,
        etag: str | None,
        last_modified: str | None,
        body_hash: str,
    ) -> tuple[int, list[Alert]]:
        first_poll = state.first_polled_at is None
        scorer = self.scorer()
        notifiers = list(self.notifiers())
        alerts: list[Alert] = []
        new_count = 0
        stories = self.stories.session() if self.stories is not None else nullcontext(None)
        with stories as story, self.db.transaction() as tx:
            # a feed may list one entry twice: keep the first
            unique: dict[str, Item] = {}
            for it in items:
                unique.setdefault(it.guid, it)
            known = items_store.known_guids(tx, source.id, list(unique))
            fresh = [it for guid, it in unique.items() if guid not in known]
            seen_urls = items_store.known_urls(tx, [it.url for it in fresh])
            plain: list[tuple[Item, dict[str, float]]] = []  # new items that do not alert
            for it in fresh:
                duplicate_url = bool(it.url) and it.url in seen_urls
                if it.url:
                    seen_urls.add(it.url)
                quiet = duplicate_url or (first_poll and not self._within_backfill(it, source, now))
                result = None if quiet else scorer.score(it, explain=False)
                scores = {t.topic: round(t.score, 3) for t in result.topics} if result else {}
                if result is None or not result.alerted:
                    plain.append((it, scores))  # stored in one batch below
                    continue
                item_id = items_store.insert_item(tx, it, now=now, scores=scores)
                if item_id is None:
                    continue
                new_count += 1
                placed = None
                if story is not None:  # a later report of a story edits its first alert instead
                    placed = story.place(
                        tx,
                        item=it,
                        item_id=item_id,
                        source_id=source.id,
                        source_name=source.display_name,
                        result=result,
                        now=now,
                    )
                    if not placed.alert:
                        continue
                alert = alerts_store.insert_alert(
                    tx,
                    dedupe_key=it.url or f"{it.source_id} {it.guid}",
                    item_id=item_id,
                    source_id=source.id,
                    source_name=source.display_name,
                    title=it.title,
                    url=it.url,
                    summary=it.summary,
                    language=it.language or source.language,
                    published=it.published or datetime.fromtimestamp(now, UTC),
                    topics=result.alerted_ids,
                    score=result.best_score,
                    matches=[m for t in result.alerted for m in t.matches],
                    now=now,
                    story_id=placed.story_id if placed is not None else None,
                )
                if alert is None:
                    continue
                if story is not None and placed is not None:
                    story.alerted(tx, placed, alert.id)
                for hook in self.alert_hooks:
                    hook(tx, alert, it)
                alerts.append(alert)
            fan_out(tx, alerts, notifiers, now, self.alerts_per_poll)
            new_count += items_store.insert_items(tx, plain, now=now)
            sources_store.record_success(
                tx,
                source.id,
                now=now,
                next_check_at=now + source.interval,
                etag=etag,
                last_modified=last_modified,
                body_hash=body_hash,
                new_items=new_count,
            )
        return new_count, alerts

    @staticmethod
    def _within_backfill(item: Item, source: SourceConfig, now: float) -> bool:
        if item.published is None:
            return False
        return item.published.timestamp() >= now - source.backfill

    async def _failed(
        self,
        source: SourceConfig,
        state: sources_store.SourceState,
        now: float,
        kind: str,
        detail: str,
        exc: FetchError | None,
    ) -> PollOutcome:
        retry_after = exc.retry_after if exc is not None else None
        failures = state.consecutive_failures + 1
        delay = backoff_delay(
            failures,
            base=min(BACKOFF_BASE_S, source.interval),
            cap=max(BACKOFF_CAP_S, source.interval),
            retry_after=retry_after,
            rng=self.rng,
        )
        delay = max(delay, min(source.interval, BACKOFF_BASE_S))
        failures = await asyncio.to_thread(
            sources_store.record_failure,
            self.db,
            source.id,
            now=now,
            kind=kind,
            detail=detail,
            next_check_at=now + delay,
        )
        log.warning("source %s failed (%d in a row): %s %s", source.id, failures, kind, detail)
        return PollOutcome(
            source.id,
            False,
            "error",
            error_kind=kind,
            error=detail,
            failures=failures,
            next_check_at=now + delay,
            retry_after=retry_after,
        )
