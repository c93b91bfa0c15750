"""The rules playground: explain a text or a URL; show what an edited ``keywords.yaml`` would
change before it goes live (the ``watcher rules test --against`` of the web page).

The comparison judges labelled items (the shipped corpora and people's labels) and the last
stored items with the rules in force and with the edit, through the one evaluator
(``watcher.relevance.evaluate``: ``judge_all``, ``changes``), and lists the items whose
alerted topics differ. A paste is untrusted: its size, the number of stored items and the
time are bounded, the work runs on a thread, and one comparison runs at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

from watcher.errors import ConfigError, FetchError, FetchErrorKind, Problem
from watcher.models import Item
from watcher.pages.item_view import ItemView, item_view
from watcher.pages.stored import load_item
from watcher.parse.urls import canonical_url
from watcher.relevance.decide import Relevance
from watcher.relevance.evaluate import Judged, changes, figures, judge_all
from watcher.relevance.files import SHIPPED_CORPORA
from watcher.relevance.model import RelevanceModel
from watcher.rules import Rules
from watcher.rules.corpus import LabelledItem, item_from_input, read_corpus
from watcher.store.db import Database
from watcher.web.fulltext import FullText, FullTextSettings, article_fetcher
from watcher.web.guard import AddressPolicy, check_scheme

MAX_YAML_BYTES = 256 * 1024  # the shipped keywords.yaml is ~30 KB
MAX_TEXT_CHARS = 200_000  # of a pasted article
MAX_URL_CHARS = 2_000
DEFAULT_RECENT = 500
MAX_RECENT = 2_000
DEADLINE_S = 30.0
CHUNK = 50  # items judged between two looks at the clock
MEMO_ITEMS = 2 * (2_000 + MAX_RECENT)  # the model's answers kept: about two comparisons' items
PASTED = "keywords.yaml (edited)"


@dataclass(frozen=True, slots=True)
class Side:
    """One topic's outcome under one set of rules (None: the rules have no such topic)."""

    score: float | None
    threshold: float | None
    alerted: bool
    decision: str = ""  # the model's: "possible", "held" or ""


@dataclass(frozen=True, slots=True)
class Cell:
    topic: str
    before: Side
    after: Side


@dataclass(frozen=True, slots=True)
class Row:
    """One item whose alerted topics the edit changes, old and new side by side."""

    group: str  # the corpus file, "labels" or "stored"
    id: str
    title: str
    labelled: bool
    labels: frozenset[str]
    before: frozenset[str]
    after: frozenset[str]
    cells: tuple[Cell, ...]  # the topics whose score, threshold or outcome differ
    item_id: int | None = None  # a stored item (its page)

    @property
    def verdict(self) -> str:
        """For a labelled item: "better", "worse" or "different" against its labels."""
        if not self.labelled:
            return ""
        was = len(self.before ^ self.labels)
        now = len(self.after ^ self.labels)
        return "better" if now < was else "worse" if now > was else "different"


@dataclass(frozen=True, slots=True)
class Explained:
    """A URL explained: the view, or why there is none."""

    view: ItemView | None = None
    item_id: int | None = None  # the stored item explained
    source: str = ""  # where the text came from
    error: str = ""


@dataclass(frozen=True, slots=True)
class RulesDiff:
    problems: tuple[Problem, ...] = ()  # the edit is invalid: nothing was compared
    labelled: tuple[Row, ...] = ()
    recent: tuple[Row, ...] = ()
    judged_labelled: int = 0
    judged_recent: int = 0
    total: int = 0  # items there were to judge
    overall_before: dict[str, float] = field(default_factory=dict)  # precision, recall, f1
    overall_after: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    stopped: str = ""  # why not every item was judged ("" when all were)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_rules(data: bytes | str, name: str = PASTED) -> Rules:
    """The edited rules, or ``ConfigError`` with every problem as ``file:line:col``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(
            Problem(name, 0, 0, f"{len(raw):,} bytes: at most {MAX_YAML_BYTES // 1024} KiB")
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(Problem(name, 0, 0, f"not UTF-8 text: {exc.reason}")) from exc
    if not text.strip():
        raise ConfigError(Problem(name, 0, 0, "nothing pasted or uploaded"))
    return Rules.from_text(text, name)


@cache
def shipped_corpora() -> tuple[LabelledItem, ...]:
    """The labelled items shipped with watcher, each id prefixed with its corpus file."""
    out: list[LabelledItem] = []
    for path in SHIPPED_CORPORA:
        for li in read_corpus(path):
            out.append(dataclasses.replace(li, id=f"{path.name}:{li.id}"))
    return tuple(out)


def stored_as_labelled(stored: Sequence[tuple[int, Item]]) -> list[LabelledItem]:
    """Stored items to judge (no labels: only their change is shown)."""
    return [LabelledItem(f"stored:{i}", item, frozenset()) for i, item in stored]


def _side(j: Judged, topic: str) -> Side:
    t = j.combined.get(topic)
    if t is None:
        return Side(None, None, False)
    return Side(t.score, t.threshold, t.alerted, t.decision)


def _row(before: Judged, after: Judged, labelled: bool) -> Row:
    topics = dict.fromkeys([t.topic for t in before.combined.topics])
    topics.update(dict.fromkeys(t.topic for t in after.combined.topics))
    cells = tuple(
        Cell(t, a, b) for t in topics if (a := _side(before, t)) != (b := _side(after, t))
    )
    group, _, rest = after.id.partition(":")
    return Row(
        group=group,
        id=rest or after.id,
        title=after.title,
        labelled=labelled,
        labels=after.labels,
        before=before.alerted,
        after=after.alerted,
        cells=cells,
        item_id=int(rest) if group in ("stored", "labels") and rest.isdecimal() else None,
    )


def _overall(judged: Sequence[Judged], topics: Sequence[str]) -> dict[str, float]:
    o = figures(judged, topics)["combined"]["overall"]
    return {k: float(o[k]) for k in ("precision", "recall", "f1")}


def compare(
    current: Relevance,
    edited: Rules,
    labelled: Sequence[LabelledItem],
    recent: Sequence[tuple[int, Item]],
    *,
    deadline_s: float = DEADLINE_S,
    clock: Callable[[], float] = time.monotonic,
    memo: dict[Item, dict[str, float]] | None = None,
) -> RulesDiff:
    """Judge every item with the rules in force and with ``edited`` (the same model beside
    both) and list those whose alerted topics differ. Stops, saying so, at ``deadline_s``.
    ``memo`` keeps the model's answers (they do not depend on the rules) for the next call
    with the same model."""
    now = clock
    start = now()
    edit = Relevance(edited, current.model, current.note)
    todo = [(li, True) for li in labelled] + [(li, False) for li in stored_as_labelled(recent)]
    rows: list[Row] = []
    old_all: list[Judged] = []
    new_all: list[Judged] = []
    done = 0
    stopped = ""
    for at in range(0, len(todo), CHUNK):
        if now() - start > deadline_s:
            stopped = f"stopped at the time limit ({deadline_s:g} s): {done} of {len(todo)} items"
            break
        chunk = todo[at : at + CHUNK]
        items = [li for li, _ in chunk]
        if memo is None:
            memo = {}  # the same model on both sides
        old = judge_all(current, items, explain=False, memo=memo)
        new = judge_all(edit, items, explain=False, memo=memo)
        kinds = {li.id: is_labelled for li, is_labelled in chunk}
        rows += [_row(c.before, c.after, kinds[c.id]) for c in changes(old, new)]
        old_all += [j for j in old if kinds[j.id]]
        new_all += [j for j in new if kinds[j.id]]
        done += len(chunk)
    topics = sorted(set(current.topic_ids) | set(edited.topic_ids))
    return RulesDiff(
        labelled=tuple(r for r in rows if r.labelled),
        recent=tuple(r for r in rows if not r.labelled),
        judged_labelled=len(old_all),
        judged_recent=done - len(old_all),
        total=len(todo),
        overall_before=_overall(old_all, topics) if old_all else {},
        overall_after=_overall(new_all, topics) if new_all else {},
        seconds=round(now() - start, 3),
        stopped=stopped,
    )


def explain_text(relevance: Relevance, text: str, name: str = "pasted text") -> ItemView:
    """A pasted article (plain text with the title first, HTML, or a JSON item) explained."""
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(
            Problem(name, 0, 0, f"{len(text):,} characters: at most {MAX_TEXT_CHARS:,}")
        )
    return item_view(relevance, item_from_input(text, name))


class Playground:
    """The playground's work off the event loop, one comparison at a time."""

    def __init__(self) -> None:
        self._busy = asyncio.Lock()
        # the model's answers for the items compared last (one comparison at a time uses it)
        self._memo: tuple[RelevanceModel | None, dict[Item, dict[str, float]]] = (None, {})

    def _memo_for(self, model: RelevanceModel | None) -> dict[Item, dict[str, float]]:
        kept, memo = self._memo
        if kept is not model or len(memo) > MEMO_ITEMS:
            memo = {}
            self._memo = (model, memo)
        return memo

    @property
    def busy(self) -> bool:
        return self._busy.locked()

    async def diff(
        self,
        current: Relevance,
        data: bytes | str,
        labelled: Sequence[LabelledItem],
        recent: Sequence[tuple[int, Item]],
        *,
        deadline_s: float = DEADLINE_S,
    ) -> RulesDiff | None:
        """The comparison (problems when the edit is invalid); None while another runs."""
        if self._busy.locked():
            return None
        async with self._busy:
            memo = self._memo_for(current.model)
            return await asyncio.to_thread(
                _diff, current, data, labelled, recent, deadline_s=deadline_s, memo=memo
            )

    async def explain(self, relevance: Relevance, text: str) -> ItemView:
        return await asyncio.to_thread(explain_text, relevance, text)

    async def explain_url(
        self, relevance: Relevance, db: Database, url: str, *, policy: AddressPolicy | None = None
    ) -> Explained:
        """The stored item with this URL explained; else the article fetched now (the address
        guard and the article fetcher's bounds apply, as for full text; robots.txt is not
        asked: one page a maintainer asked for, like a browser)."""
        url = url.strip()
        try:
            if len(url) > MAX_URL_CHARS:
                raise FetchError(FetchErrorKind.BLOCKED_ADDRESS, f"longer than {MAX_URL_CHARS}")
            check_scheme(url)
        except FetchError as exc:
            return Explained(error=f"cannot fetch {url[:200]}: {exc}")
        canonical = canonical_url(url) or url
        found = await asyncio.to_thread(load_item, db, url=canonical)
        if found is not None:
            stored, item = found
            view = await asyncio.to_thread(item_view, relevance, item)
            return Explained(view, stored.id, f"item {stored.id} as stored")
        # One page a maintainer asked for, like a browser would: not a crawl (robots.txt is
        # not asked), and not cached (a refusal must not stand for the pipeline's full text).
        async with article_fetcher(policy=policy) as fetcher:
            text = FullText(fetcher, settings=FullTextSettings(robots=False))
            article = await text.article(canonical)
        if article.status != "ok":
            return Explained(error=f"cannot fetch {url[:200]}: {article.error or article.status}")
        item = Item("playground", canonical, canonical, "", content=article.text)
        view = await asyncio.to_thread(item_view, relevance, item)
        return Explained(view, None, f"fetched now ({article.size:,} bytes)")


def _diff(
    current: Relevance,
    data: bytes | str,
    labelled: Sequence[LabelledItem],
    recent: Sequence[tuple[int, Item]],
    *,
    deadline_s: float,
    memo: dict[Item, dict[str, float]],
) -> RulesDiff:
    try:
        edited = parse_rules(data)
    except ConfigError as exc:
        return RulesDiff(problems=tuple(exc.problems))
    items = [*shipped_corpora(), *labelled]
    return compare(current, edited, items, recent, deadline_s=deadline_s, memo=memo)
