"""One poll of one source: fetch -> parse -> score -> record items, alerts and outbox rows.

``Pipeline.poll`` runs the stages in order, each a method: ``_fetch`` (a conditional GET of
what the source's kind asks for), ``_parse`` (the kind's parser, on the stage threads),
``_enrich`` (article text, for sources with ``fulltext: true``) and ``_store``, which runs
``_record`` in one transaction: ``_new_items`` (not seen before), ``_score_new`` (backfill
and duplicate URLs stay quiet, the rest is scored), ``_store_quiet`` (held back, repost, near
miss or plain), ``_store_alert`` (item, story, alert),
``_fan_out`` (the alerts' outbox rows) and the source's new state. A crash at any moment
keeps all of a poll's writes or none: an alert is recorded once and delivered through the
outbox. A poll cancelled while it waits on the network or a parse (``watcher run`` stopping)
writes nothing; one cancelled in its transaction finishes it first.
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
from watcher.errors import FetchError
from watcher.fetch import Fetcher, FetchResult
from watcher.models import Alert, Item, ScoreResult, TopicScore
from watcher.notify.base import Targets
from watcher.notify.fanout import fan_out
from watcher.relevance import record as opinion
from watcher.settings import DEFAULT_ALERTS_PER_POLL
from watcher.sources import Fetched, kind_of, parse_body
from watcher.store import alerts as alerts_store
from watcher.store import items as items_store
from watcher.store import labels as labels_store
from watcher.store import sources as sources_store
from watcher.store.db import Database, Tx
from watcher.stories.hook import StoryHook, StorySession
from watcher.web.fulltext import FullText

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 60.0
BACKOFF_CAP_S = 6 * 3600.0


class Scorer(Protocol):
    def score(self, item: Item, *, explain: bool = True) -> ScoreResult: ...


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
    """One slot of a poll (a semaphore's); released at the end only if held then."""

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
class _PollSlots:
    # Parse, score and store under a processing slot: a parsed feed is only alive while its
    # slot is held, so a big cycle's memory is bounded by the slots, not by how many bodies
    # the fetcher has finished (parsed feeds queued FIFO behind all the parses held them all).
    processing: _Slot
    # A body is only read once it has a body slot, so bodies fetched ahead of processing wait
    # unread on their connection instead of piling up.
    body: _Slot

    def release(self) -> None:
        self.processing.release()
        self.body.release()


@dataclass(frozen=True, slots=True)
class _Stored:
    new_items: int
    alerts: list[Alert]
    edited: bool  # a story's message was edited ("also reported by")


@dataclass(frozen=True, slots=True)
class _Recording:
    """What the steps of one poll's transaction share."""

    tx: Tx
    story: StorySession | None
    scorer: Scorer
    source: SourceConfig
    now: float


@dataclass
class Pipeline:
    """The composition of the stages; shared by all sources of one process."""

    db: Database
    fetcher: Fetcher
    scorer: Callable[[], Scorer]  # the current rules (hot reload swaps them)
    notifiers: Callable[[], Sequence[Targets]]
    on_alerts: Callable[[], None] = lambda: None
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
        slots = _PollSlots(_Slot(self._stage()), _Slot(self._bodies()))
        try:
            result = await self._fetch(source, state, slots)
            if _unchanged(result, state):
                return await self._unchanged(source, state, result, now)
            await slots.processing.acquire()
            items = await self._parse(source, result, now)
            enriched = await self._enrich(source, state, items, now, slots)
            stored = await self._store(source, state, enriched, result, now)
        except FetchError as exc:
            return await self._failed(source, state, now, exc.kind.value, exc.detail, exc)
        except Exception as exc:  # a bug or a surprise in one source must not stop the others
            log.exception("source %s: unexpected error", source.id)
            return await self._failed(source, state, now, "error", repr(exc), None)
        finally:
            slots.release()
        if stored.alerts or stored.edited:  # new alerts, or "also reported by" edits, wait
            self.on_alerts()
        return PollOutcome(
            source.id,
            True,
            "new",
            items=len(items),
            new_items=stored.new_items,
            alerts=tuple(stored.alerts),
            next_check_at=now + source.interval,
            recovered=state.failing_notified_at is not None,
        )

    # ---- stages -----------------------------------------------------------------------------
    async def _fetch(
        self, source: SourceConfig, state: sources_store.SourceState, slots: _PollSlots
    ) -> FetchResult:
        request = kind_of(source).request(source)
        return await self.fetcher.fetch(
            request.url,
            etag=state.etag,
            last_modified=state.last_modified,
            headers=request.headers,
            allow_private=True,  # sources in feeds.yaml may be on any address
            before_body=slots.body.acquire,
        )

    async def _unchanged(
        self,
        source: SourceConfig,
        state: sources_store.SourceState,
        result: FetchResult,
        now: float,
    ) -> PollOutcome:
        await asyncio.to_thread(
            self._record_unchanged, source, now, result.etag, result.last_modified
        )
        return PollOutcome(
            source.id,
            True,
            "not_modified" if result.not_modified else "unchanged",
            next_check_at=now + source.interval,
            recovered=state.failing_notified_at is not None,
        )

    async def _parse(
        self, source: SourceConfig, result: FetchResult, now: float
    ) -> tuple[Item, ...]:
        """The source's kind reads the body, on the stage threads (never on the event loop)."""
        fetched = Fetched(
            result.body, result.headers, result.final_url, datetime.fromtimestamp(now, UTC)
        )
        parse = functools.partial(parse_body, source, fetched)
        parsed = await asyncio.get_running_loop().run_in_executor(self._threads(), parse)
        return parsed.items

    async def _enrich(
        self,
        source: SourceConfig,
        state: sources_store.SourceState,
        items: tuple[Item, ...],
        now: float,
        slots: _PollSlots,
    ) -> tuple[Item, ...]:
        """Article text for the new items, before scoring (``fulltext: true`` sources)."""
        if not source.fulltext or self.fulltext is None:
            return items
        slots.release()  # article fetches hold no processing slot, nor a body slot
        enriched = await self.fulltext.enrich_new(
            self.db, source, items, first_poll=state.first_polled_at is None, now=now
        )
        await slots.processing.acquire()
        return enriched

    async def _store(
        self,
        source: SourceConfig,
        state: sources_store.SourceState,
        items: Sequence[Item],
        result: FetchResult,
        now: float,
    ) -> _Stored:
        """``_record`` on the stage threads. Cancelled meanwhile, it waits for the transaction
        to end (committed or rolled back) before giving up: nothing is left half-written."""
        edits_before = self.stories.edits if self.stories is not None else 0
        record = functools.partial(self._record, source, state, items, now, result)
        work = asyncio.get_running_loop().run_in_executor(self._threads(), record)
        try:
            new_items, alerts = await asyncio.shield(work)
        except asyncio.CancelledError:
            await asyncio.wait([work])
            raise
        edited = self.stories is not None and self.stories.edits != edits_before
        return _Stored(new_items, alerts, edited)

    def _record(
        self,
        source: SourceConfig,
        state: sources_store.SourceState,
        items: Sequence[Item],
        now: float,
        result: FetchResult,
    ) -> tuple[int, list[Alert]]:
        first_poll = state.first_polled_at is None
        alerts: list[Alert] = []
        new_count = 0
        stories = self.stories.session() if self.stories is not None else nullcontext(None)
        with stories as story, self.db.transaction() as tx:
            rec = _Recording(tx, story, self.scorer(), source, now)
            fresh = self._new_items(tx, source, items)
            seen_urls = items_store.known_urls(tx, [it.url for it in fresh])
            scored = [self._score_new(rec, it, first_poll, seen_urls) for it in fresh]
            if story is not None:  # encode the reports about to be placed in one batch
                accepted = zip(fresh, scored, strict=True)
                story.prepare([it for it, (r, _) in accepted if r and r.alerted], now)
            plain: list[tuple[Item, dict[str, float]]] = []  # new items that do not alert
            for it, (res, duplicate) in zip(fresh, scored, strict=True):
                scores = {t.topic: round(t.score, 3) for t in res.topics} if res else {}
                if res is None or not res.alerted:
                    new_count += self._store_quiet(rec, it, res, duplicate, scores, plain)
                    continue
                stored, alert = self._store_alert(rec, it, res, scores)
                new_count += stored
                if alert is not None:
                    alerts.append(alert)
            self._fan_out(tx, alerts, now)
            new_count += items_store.insert_items(tx, plain, now=now)
            sources_store.record_success(
                tx,
                source.id,
                now=now,
                next_check_at=now + source.interval,
                etag=result.etag,
                last_modified=result.last_modified,
                body_hash=result.body_hash,
                new_items=new_count,
            )
        return new_count, alerts

    # ---- the steps of _record (inside its transaction) ---------------------------------------
    @staticmethod
    def _new_items(tx: Tx, source: SourceConfig, items: Sequence[Item]) -> list[Item]:
        """The items this source has not given before (a feed listing one twice: the first)."""
        unique: dict[str, Item] = {}
        for it in items:
            unique.setdefault(it.guid, it)
        known = items_store.known_guids(tx, source.id, list(unique))
        return [it for guid, it in unique.items() if guid not in known]

    def _score_new(
        self, rec: _Recording, item: Item, first_poll: bool, seen_urls: set[str]
    ) -> tuple[ScoreResult | None, bool]:
        """How the rules score a new item (None for one that must stay quiet: its URL was
        seen already, or it is older than the backfill window on the source's first poll),
        and whether its canonical URL was seen before."""
        duplicate = _duplicate_url(item, seen_urls)
        if duplicate or (first_poll and not self._within_backfill(item, rec.source, rec.now)):
            return None, duplicate
        return rec.scorer.score(item, explain=False), duplicate

    @staticmethod
    def _within_backfill(item: Item, source: SourceConfig, now: float) -> bool:
        if item.published is None:
            return False
        return item.published.timestamp() >= now - source.backfill

    def _store_quiet(
        self,
        rec: _Recording,
        item: Item,
        result: ScoreResult | None,
        duplicate: bool,
        scores: dict[str, float],
        plain: list[tuple[Item, dict[str, float]]],
    ) -> int:
        """An item that does not alert: held back by the relevance model (stored with why), a
        repost joining its story, a near miss (stored with its close topics, for review), or
        kept for the poll's batch insert (``plain``). Returns how many items this stored now."""
        if result is not None and opinion.held_only(result):
            return self._held_back(rec, item, result, scores)
        if duplicate and rec.story is not None:
            stored = self._attach_repost(rec, rec.story, item)
            if stored is not None:
                return stored
        close = opinion.near_miss(result) if result is not None else ()
        if close:
            return self._near_miss(rec, item, close, scores)
        plain.append((item, scores))
        return 0

    @staticmethod
    def _near_miss(
        rec: _Recording, item: Item, close: Sequence[TopicScore], scores: dict[str, float]
    ) -> int:
        item_id = items_store.insert_item(rec.tx, item, now=rec.now, scores=scores)
        if item_id is None:
            return 0
        labels_store.record_near_miss(
            rec.tx,
            item_id=item_id,
            scores={t.topic: t.score for t in close},
            thresholds={t.topic: t.threshold for t in close},
            now=rec.now,
        )
        return 1

    @staticmethod
    def _store_alert(
        rec: _Recording, item: Item, result: ScoreResult, scores: dict[str, float]
    ) -> tuple[bool, Alert | None]:
        """Store an alerting item and its alert; (whether the item was new, the alert or None
        when it is not one: already alerted, or a later report of a story already told). A
        possible match of the relevance model carries the model's note (shown with it)."""
        tx, story, source, now = rec.tx, rec.story, rec.source, rec.now
        item_id = items_store.insert_item(tx, item, now=now, scores=scores)
        if item_id is None:
            return False, None
        placed = None
        if story is not None:  # a later report of a story edits its first alert instead
            placed = story.place(
                tx,
                item=item,
                item_id=item_id,
                source_id=source.id,
                source_name=source.display_name,
                result=result,
                now=now,
            )
            if not placed.alert:
                return True, None
        note = opinion.opinion_note(rec.scorer, item, result)
        alert = alerts_store.insert_alert(
            tx,
            dedupe_key=item.url or f"{item.source_id} {item.guid}",
            item_id=item_id,
            source_id=source.id,
            source_name=source.display_name,
            title=item.title,
            url=item.url,
            summary=item.summary,
            language=item.language or source.language,
            published=item.published or datetime.fromtimestamp(now, UTC),
            topics=result.alerted_ids,
            score=result.best_score,
            matches=[m for t in result.alerted for m in t.matches],
            now=now,
            story_id=placed.story_id if placed is not None else None,
            model_note=note if opinion.possible(result) else "",
        )
        if alert is None:
            return True, None
        if note:
            opinion.record_opinion(
                tx,
                rec.scorer,
                item_id=item_id,
                alert_id=alert.id,
                result=result,
                note=note,
                now=now,
            )
        if story is not None and placed is not None:
            story.alerted(tx, placed, alert.id)
        return True, alert

    @staticmethod
    def _held_back(
        rec: _Recording, item: Item, result: ScoreResult, scores: dict[str, float]
    ) -> int:
        """Store an item whose every rule hit the relevance model held back, and why."""
        item_id = items_store.insert_item(rec.tx, item, now=rec.now, scores=scores)
        if item_id is None:
            return 0
        note = opinion.opinion_note(rec.scorer, item, result)
        opinion.record_opinion(
            rec.tx,
            rec.scorer,
            item_id=item_id,
            alert_id=None,
            result=result,
            note=note,
            now=rec.now,
        )
        return 1

    @staticmethod
    def _attach_repost(rec: _Recording, story: StorySession, item: Item) -> int | None:
        """A repost (an item whose canonical URL was seen) joins that report's story, which
        gets "also reported by" it; None when the URL is in no recent story, else 1 (stored)
        or 0 (already stored)."""
        story_id = story.repost_story(rec.tx, item, rec.now)
        if story_id is None:
            return None
        item_id = items_store.insert_item(rec.tx, item, now=rec.now, scores={})
        if item_id is None:
            return 0
        story.attach_repost(
            rec.tx,
            story_id,
            item=item,
            item_id=item_id,
            source_id=rec.source.id,
            source_name=rec.source.display_name,
            now=rec.now,
        )
        return 1

    def _fan_out(self, tx: Tx, alerts: Sequence[Alert], now: float) -> None:
        """The poll's alerts into the outbox (each target's best ``alerts_per_poll``, the rest
        in one summary row: ``watcher.notify.fanout``), in the alerts' own transaction: every
        alert is stored before it is sent."""
        fan_out(tx, alerts, list(self.notifiers()), now, self.alerts_per_poll)

    # ---- state ------------------------------------------------------------------------------
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


def _unchanged(result: FetchResult, state: sources_store.SourceState) -> bool:
    """A 304, or the same body as last time: nothing to parse."""
    return result.not_modified or bool(result.body_hash and result.body_hash == state.body_hash)


def _duplicate_url(item: Item, seen_urls: set[str]) -> bool:
    """True when an item stored before, or earlier in this poll, has the same canonical URL
    (the item is stored but does not alert again); the URL is remembered for the next."""
    duplicate = bool(item.url) and item.url in seen_urls
    if item.url:
        seen_urls.add(item.url)
    return duplicate
