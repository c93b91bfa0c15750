"""Story grouping inside the pipeline: the first report of a story alerts, later ones edit it.

The pipeline opens a ``StoryHook.session()`` around each poll's transaction and, for every
item the rules accept, asks ``session.place(...)`` before the alert is recorded:

* a report that founds a story alerts as before; ``session.alerted`` links the alert;
* a later report of a story within the window is attached to it (``story_reports``) and does
  not alert, unless the ``RealertPolicy`` says so (a new topic, a far higher score) or the
  story has no alert yet; instead an outbox row ``action="edit:<report id>"`` is added for each
  message of the story's first alert on a channel that edits messages (Telegram), whose
  notifier rewrites that message with "also reported by: A, B".

An item whose canonical URL a recent report already had (an aggregator reposting the
article) is attached to that report's story the same way (``attach_repost``), without
scoring or encoding.

The in-memory ``StoryIndex`` is rebuilt from the store at start (``rebuild``, with the
matched entities stored with each report), so a restart keeps grouping as before. Before its
first placement a session takes the store's placement lock (``lock_placement``: held until
its transaction ends; on PostgreSQL it makes instances sharing the store place reports one at
a time) and then reads the reports other instances recorded (``reports_after``), so two
instances placing reports of one story at the same moment make one story and one alert.
Within a process, sessions hold one lock for the whole transaction, so polls running in
parallel threads place their reports one after the other; a session whose transaction rolls
back takes its reports out of the index again.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from watcher.models import Item, Report, ScoreResult
from watcher.settings import StorySettings
from watcher.store import outbox
from watcher.store import stories as store
from watcher.store.db import Database, Tx
from watcher.stories.encoder import Encoder, load_encoder
from watcher.stories.index import StoryConfig, StoryIndex
from watcher.stories.policy import RealertPolicy

EDIT_PREFIX = "edit:"


CATCH_UP_OVERLAP_IDS = 500


@dataclass(frozen=True, slots=True)
class Placement:
    """Where ``place`` put a report, and whether it alerts."""

    story_id: int
    report_id: int
    alert: bool  # False: attached to the story; its first message is edited instead
    reason: str  # the index's reason ("new", "url", "near-duplicate", ...)
    edits: int = 0  # edit rows enqueued


@dataclass
class StoryHook:
    """The story index of one process and what to do with its decisions."""

    config: StoryConfig = field(default_factory=StoryConfig)
    policy: RealertPolicy = field(default_factory=RealertPolicy)
    encoder: Encoder | None = None
    edit_channels: Collection[str] = ("telegram",)  # channels whose messages can be edited

    def __post_init__(self) -> None:
        self.index = StoryIndex(self.config, encoder=self.encoder)
        self._lock = threading.Lock()
        self.placed = 0
        self.attached = 0
        self.edits = 0  # edit rows enqueued, in all: the pipeline wakes notifiers on a change
        self._last_report_id = 0  # reports up to this id are in the index (or expired)

    def rebuild(self, db: Database, now: float) -> int:
        """Re-seed the index with the store's reports within the window; how many."""
        with self._lock:
            self.index = StoryIndex(self.config, encoder=self.encoder)
            with db.transaction() as tx:
                reports = store.recent_reports(
                    tx, datetime.fromtimestamp(now, UTC), self.config.window
                )
                self._last_report_id = store.last_report_id(tx)
            self.index.embed(report for _, report in reports)  # one batch
            for story_id, report in reports:
                if self.index.story_of(report.key) is None:
                    self.index.add(report, story_id=story_id)
        return len(reports)

    def _catch_up(self, tx: Tx, now: float) -> None:
        """Index the reports other instances recorded since we last looked (lock held)."""
        since = datetime.fromtimestamp(now, UTC) - self.config.window
        # Ids are not committed in order on PostgreSQL (another instance's report 101 may
        # become visible after 102): look back a little; reports already indexed are skipped.
        after = max(0, self._last_report_id - CATCH_UP_OVERLAP_IDS)
        found = store.reports_after(tx, after, since)
        self.index.embed(r for _, _, r in found if self.index.story_of(r.key) is None)
        for story_id, report_id, report in found:
            if self.index.story_of(report.key) is None:
                self.index.add(report, story_id=story_id)
            self._last_report_id = max(self._last_report_id, report_id)

    @contextmanager
    def session(self) -> Iterator[StorySession]:
        """Wrap one poll's transaction: ``with hook.session() as s, db.transaction() as tx``
        (in that order, so a failed commit is seen here and its reports are forgotten)."""
        with self._lock:
            session = StorySession(self)
            try:
                yield session
            except BaseException:
                for key in session.added:
                    self.index.remove(key)
                raise
            self.placed += session.placed
            self.attached += session.attached
            self.edits += session.edits


class StorySession:
    """The story decisions of one transaction (use through ``StoryHook.session``)."""

    def __init__(self, hook: StoryHook) -> None:
        self.hook = hook
        self.added: list[str] = []
        self.placed = 0
        self.attached = 0
        self.edits = 0
        self._caught_up = False

    def prepare(self, items: Sequence[Item], now: float) -> None:
        """Encode the items about to be placed in one batch (cheaper than one by one)."""
        self.hook.index.embed(_report(item, 0, now) for item in items)

    def _begin(self, tx: Tx, now: float) -> None:
        if not self._caught_up:
            store.lock_placement(tx, now)  # before reading: see what others committed
            self.hook._catch_up(tx, now)
            self._caught_up = True

    def place(
        self,
        tx: Tx,
        *,
        item: Item,
        item_id: int,
        source_id: str,
        source_name: str,
        result: ScoreResult,
        now: float,
    ) -> Placement:
        """Put an accepted item in its story; ``alert`` says whether it alerts."""
        hook = self.hook
        self._begin(tx, now)
        topics = result.alerted_ids
        score = result.best_score
        entities = frozenset(
            m.entity for t in result.alerted for m in t.matches if m.kind == "entity"
        )
        report = _report(item, item_id, now, topics, entities, source_name)

        def new_story() -> int:
            return store.create_story(tx, title=item.title, topics=topics, score=score, now=now)

        decision = hook.index.add(report, new_story_id=new_story)
        self.added.append(report.key)
        self.placed += 1
        story = store.get_story(tx, decision.story_id) if decision.joined else None
        if decision.joined and story is None:  # its story is gone from the store: start anew
            hook.index.remove(report.key)
            decision = hook.index.add(report, story_id=new_story())
        alert = story is None or story.first_alert_id is None
        if story is not None and not alert:
            alert = hook.policy.should_alert_again(topics, story.topics, score, story.best_score)
        report_id = self._record(tx, decision.story_id, report, item_id, source_id, score, now)
        edits = 0 if alert or story is None else self._edit(tx, story, report_id, now)
        return Placement(decision.story_id, report_id, alert, decision.reason, edits)

    def repost_story(self, tx: Tx, item: Item, now: float) -> int | None:
        """The story of a recent report with ``item``'s canonical URL (a repost), if any."""
        if not item.url:
            return None
        self._begin(tx, now)
        found = self.hook.index.story_of_url(item.url)
        if found is None:
            since = datetime.fromtimestamp(now, UTC) - self.hook.config.window
            found = store.story_of_url(tx, item.url, since)
        return found

    def attach_repost(
        self,
        tx: Tx,
        story_id: int,
        *,
        item: Item,
        item_id: int,
        source_id: str,
        source_name: str,
        now: float,
    ) -> Placement | None:
        """Attach a repost (``repost_story``) to its story: it never alerts, it edits the
        story's first message; None when the story is gone."""
        story = store.get_story(tx, story_id)
        if story is None:
            return None
        report = _report(item, item_id, now, frozenset(story.topics), source=source_name)
        if self.hook.index.story_of(report.key) is None:
            self.hook.index.add(report, story_id=story.id)
            self.added.append(report.key)
        self.placed += 1
        report_id = self._record(tx, story.id, report, item_id, source_id, 0.0, now)
        return Placement(story.id, report_id, False, "url", self._edit(tx, story, report_id, now))

    def _record(
        self,
        tx: Tx,
        story_id: int,
        report: Report,
        item_id: int,
        source_id: str,
        score: float,
        now: float,
    ) -> int:
        return store.add_report(
            tx,
            story_id,
            item_id=item_id,
            source_id=source_id,
            source_name=report.source,
            url=report.url,
            title=report.title,
            summary=report.summary,
            language=report.language,
            topics=sorted(report.topics),
            score=score,
            published=report.published,
            now=now,
            entities=sorted(report.entities),
        )

    def _edit(self, tx: Tx, story: store.StoryRecord, report_id: int, now: float) -> int:
        """Edit rows for each message of the story's first alert (none yet: none)."""
        first = story.first_alert_id
        if first is None:
            return 0
        self.attached += 1
        edits = 0
        for channel, target in store.edit_targets(tx, first, self.hook.edit_channels):
            edits += outbox.enqueue(
                tx, first, channel, [target], now, action=f"{EDIT_PREFIX}{report_id}"
            )
        self.edits += edits
        return edits

    def alerted(self, tx: Tx, placement: Placement, alert_id: int) -> None:
        """The placed report's alert was recorded: link it to the story."""
        store.set_report_alert(tx, placement.report_id, alert_id)
        store.set_first_alert(tx, placement.story_id, alert_id)


def _report(
    item: Item,
    item_id: int,
    now: float,
    topics: Collection[str] = (),
    entities: frozenset[str] = frozenset(),
    source: str = "",
) -> Report:
    return Report(
        key=f"item:{item_id}",
        title=item.title,
        summary=item.summary,
        url=item.url,
        language=item.language,
        published=item.published or datetime.fromtimestamp(now, UTC),
        topics=frozenset(topics),
        entities=entities,
        source=source,
    )


def build_story_hook(settings: StorySettings, db: Database, now: float) -> StoryHook | None:
    """The hook ``watcher run`` gives its pipeline, rebuilt from the store (None when off).

    With ``encoder`` on (the default) reports are also grouped across languages by the
    multilingual sentence encoder, loaded here once for the process."""
    if not settings.enabled:
        return None
    hook = StoryHook(
        config=StoryConfig(window=timedelta(hours=settings.window_hours)),
        policy=RealertPolicy(
            on_new_topic=settings.realert_new_topic,
            score_factor=settings.realert_score_factor,
        ),
        encoder=load_encoder() if settings.encoder else None,
    )
    hook.rebuild(db, now)
    return hook
