"""Group reports of the same development into stories (pure core: no I/O, no clock).

A report joins a story when, within the time window (72 h by default), it

* has the same canonical URL as one of the story's reports, or
* is a near-duplicate in the same language: MinHash (datasketch) over character shingles of
  title and summary finds candidates through LSH; a candidate is accepted when the estimated
  Jaccard similarity is high, or moderate and backed by shared content words, or
* (across languages) is close under the optional multilingual sentence encoder, or, without it,
  shares a strong signature: the same topic, at least two matched entities and a number.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from datasketch import MinHash, MinHashLSH

from watcher.stories.places import places
from watcher.stories.text import numbers, shingles, stems

Encoder = Callable[[Sequence[str]], "np.ndarray[tuple[int, int], np.dtype[np.float32]]"]


@dataclass(frozen=True, slots=True)
class StoryConfig:
    window: timedelta = timedelta(hours=72)
    num_perm: int = 64
    lsh_threshold: float = 0.15  # candidates only; acceptance is decided below
    jaccard_accept: float = 0.50  # near-duplicate on shingles alone (MinHash estimate)
    lexical_accept: float = 0.16  # IDF-weighted Jaccard of stems, same language, no encoder
    number_conflict: float = 0.5  # factor when both give numbers and share none
    place_conflict: float = 0.2  # factor when both name places and share none
    combined_accept: float = 0.85  # cosine + weighted Jaccard, same language, with encoder
    embedding_accept: float = 0.55  # cosine, across languages, with the encoder
    common_stem_share: float = 0.05  # stems in more reports than this share find no candidates
    idf_prior: int = 200  # pseudo-reports so that early IDF estimates are not extreme
    min_shared_entities: int = 2  # cross-language fallback without the encoder


@dataclass(frozen=True, slots=True)
class Report:
    """What story grouping needs to know about one scored item."""

    key: str  # unique id of the report (the item id)
    title: str
    summary: str
    url: str
    language: str
    published: datetime
    topics: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()
    source: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a report went: the story it joined (or founded) and why."""

    story_id: int
    joined: bool  # False: the report founded a new story
    reason: str  # "new", "url", "near-duplicate", "words", "embedding", "entities"
    similarity: float
    matched_key: str = ""  # the report it was found similar to


@dataclass(slots=True)
class _Entry:
    report: Report
    story_id: int
    minhash: MinHash
    stems: frozenset[str]
    numbers: frozenset[str]
    places: frozenset[str]
    vector: np.ndarray[tuple[int], np.dtype[np.float32]] | None = None


@dataclass(slots=True)
class _StoryState:
    story_id: int
    keys: list[str] = field(default_factory=list)
    last_seen: datetime | None = None


class StoryIndex:
    """Recent reports, indexed so that a new report finds its story in about constant time.

    Reports older than the window (relative to the newest report seen) are dropped, so memory
    and time per report stay bounded however long it runs.
    """

    def __init__(
        self,
        config: StoryConfig | None = None,
        *,
        encoder: Encoder | None = None,
        first_story_id: int = 1,
    ) -> None:
        self.config = config or StoryConfig()
        self._encoder = encoder
        self._lsh = MinHashLSH(threshold=self.config.lsh_threshold, num_perm=self.config.num_perm)
        self._entries: dict[str, _Entry] = {}
        self._by_url: dict[str, str] = {}
        self._by_entity: dict[str, set[str]] = {}
        self._postings: dict[str, set[str]] = {}
        self._df: dict[str, int] = {}  # reports ever seen per stem (vocabulary-bounded)
        self._seen = 0
        self._order: deque[tuple[datetime, str]] = deque()
        self._next_story = first_story_id
        self._newest: datetime | None = None
        self._template = MinHash(num_perm=self.config.num_perm)

    def __len__(self) -> int:
        return len(self._entries)

    # -- public ---------------------------------------------------------------------------

    def add(
        self,
        report: Report,
        *,
        story_id: int | None = None,
        new_story_id: Callable[[], int] | None = None,
    ) -> Decision:
        """Place the report: join a recent story or found one (``story_id`` forces one).

        ``new_story_id`` names a story the report founds (e.g. the store's row id); by
        default the index numbers stories itself.
        """
        if report.key in self._entries:
            raise ValueError(f"report {report.key!r} is already indexed")
        self._expire(report.published)
        entry = self._entry(report)
        decision = (
            Decision(story_id, True, "given", 1.0) if story_id is not None else self._find(entry)
        )
        if not decision.joined and new_story_id is not None:
            decision = Decision(new_story_id(), False, decision.reason, decision.similarity)
        if decision.story_id >= self._next_story:
            self._next_story = decision.story_id + 1
        entry.story_id = decision.story_id
        self._insert(entry)
        return decision

    def find(self, report: Report) -> Decision:
        """Where ``report`` would go, without adding it."""
        return self._find(self._entry(report))

    def remove(self, key: str) -> bool:
        """Forget one report (its transaction was rolled back); False when not indexed."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._unlink(key, entry)
        for stem in entry.stems:
            left = self._df.get(stem, 0) - 1
            if left > 0:
                self._df[stem] = left
            else:
                self._df.pop(stem, None)
        self._seen = max(0, self._seen - 1)
        return True  # its place in the expiry queue is skipped when it comes up

    def story_of(self, key: str) -> int | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.story_id

    # -- internals ------------------------------------------------------------------------

    def _entry(self, report: Report) -> _Entry:
        text = f"{report.title}. {report.summary}"
        mh = self._template.copy()
        grams = shingles(text)
        if grams:
            mh.update_batch([g.encode("utf-8") for g in grams])
        vector = None
        if self._encoder is not None:
            vec = np.asarray(self._encoder([text])[0], dtype=np.float32)
            norm = float(np.linalg.norm(vec))
            vector = vec / norm if norm else vec
        return _Entry(report, 0, mh, stems(text), numbers(text), places(text), vector)

    def _window_ok(self, a: _Entry, b: _Entry) -> bool:
        return abs(a.report.published - b.report.published) <= self.config.window

    def _new(self) -> Decision:
        sid = self._next_story
        self._next_story += 1
        return Decision(sid, False, "new", 0.0)

    def _find(self, entry: _Entry) -> Decision:
        cfg = self.config
        rep = entry.report
        if rep.url and rep.url in self._by_url:
            other = self._entries.get(self._by_url[rep.url])
            if other is not None and self._window_ok(entry, other):
                return Decision(other.story_id, True, "url", 1.0, other.report.key)

        best: Decision | None = None
        for key in self._lsh.query(entry.minhash):
            other = self._entries[key]
            if other.report.language != rep.language or not self._window_ok(entry, other):
                continue
            jac = entry.minhash.jaccard(other.minhash) * self._conflict(entry, other)
            if jac >= cfg.jaccard_accept and (best is None or jac > best.similarity):
                best = Decision(other.story_id, True, "near-duplicate", jac, key)
        if best is not None:
            return best

        for key in self._lexical_candidates(entry):
            other = self._entries[key]
            if other.report.language != rep.language or not self._window_ok(entry, other):
                continue
            sim = self._weighted_jaccard(entry.stems, other.stems)
            if entry.vector is not None and other.vector is not None:
                sim += float(entry.vector @ other.vector)
                threshold, reason = cfg.combined_accept, "words+embedding"
            else:
                threshold, reason = cfg.lexical_accept, "words"
            sim *= self._conflict(entry, other)
            if sim >= threshold and (best is None or sim > best.similarity):
                best = Decision(other.story_id, True, reason, sim, key)
        if best is not None:
            return best

        if entry.vector is not None:
            found = self._by_embedding(entry)
            if found is not None:
                return found
        elif rep.entities and rep.topics:
            found = self._by_signature(entry)
            if found is not None:
                return found
        return self._new()

    def _conflict(self, a: _Entry, b: _Entry) -> float:
        """Less than 1 when the two name different numbers or different places."""
        factor = 1.0
        if a.numbers and b.numbers and not a.numbers & b.numbers:
            factor *= self.config.number_conflict
        if a.places and b.places and not a.places & b.places:
            factor *= self.config.place_conflict
        return factor

    def _idf(self, stem: str) -> float:
        total = self._seen + self.config.idf_prior
        return math.log(total / (self._df.get(stem, 0) + 1))

    def _weighted_jaccard(self, a: frozenset[str], b: frozenset[str]) -> float:
        union = sum(self._idf(g) for g in a | b)
        return sum(self._idf(g) for g in a & b) / union if union else 0.0

    def _lexical_candidates(self, entry: _Entry) -> set[str]:
        limit = max(20, int(self.config.common_stem_share * len(self._entries)))
        found: set[str] = set()
        for stem in entry.stems:
            keys = self._postings.get(stem)
            if keys and len(keys) <= limit:
                found |= keys
        return found

    def _by_embedding(self, entry: _Entry) -> Decision | None:
        best: Decision | None = None
        for key, other in self._entries.items():
            if other.vector is None or other.report.language == entry.report.language:
                continue
            if not self._window_ok(entry, other):
                continue
            assert entry.vector is not None
            cos = float(entry.vector @ other.vector) * self._conflict(entry, other)
            if cos >= self.config.embedding_accept and (best is None or cos > best.similarity):
                best = Decision(other.story_id, True, "embedding", cos, key)
        return best

    def _by_signature(self, entry: _Entry) -> Decision | None:
        """Across languages without the encoder: only a strong signature merges."""
        rep = entry.report
        seen: set[str] = set()
        best: Decision | None = None
        for entity in rep.entities:
            for key in self._by_entity.get(entity, ()):
                if key in seen:
                    continue
                seen.add(key)
                other = self._entries[key]
                if other.report.language == rep.language or not self._window_ok(entry, other):
                    continue
                shared = len(rep.entities & other.report.entities)
                if (
                    shared >= self.config.min_shared_entities
                    and rep.topics & other.report.topics
                    and entry.numbers & other.numbers
                ):
                    sim = shared / max(len(rep.entities | other.report.entities), 1)
                    if best is None or sim > best.similarity:
                        best = Decision(other.story_id, True, "entities", sim, key)
        return best

    def _insert(self, entry: _Entry) -> None:
        key = entry.report.key
        self._entries[key] = entry
        self._lsh.insert(key, entry.minhash, check_duplication=False)
        if entry.report.url:
            self._by_url[entry.report.url] = key
        for entity in entry.report.entities:
            self._by_entity.setdefault(entity, set()).add(key)
        for stem in entry.stems:
            self._postings.setdefault(stem, set()).add(key)
            self._df[stem] = self._df.get(stem, 0) + 1
        self._seen += 1
        self._order.append((entry.report.published, key))

    def _unlink(self, key: str, entry: _Entry) -> None:
        """Take a report out of the lookups (its entry is already gone from ``_entries``)."""
        self._lsh.remove(key)
        url = entry.report.url
        if url and self._by_url.get(url) == key:
            del self._by_url[url]
        _discard(self._by_entity, entry.report.entities, key)
        _discard(self._postings, entry.stems, key)

    def _expire(self, now: datetime) -> None:
        if self._newest is None or now > self._newest:
            self._newest = now
        horizon = self._newest - self.config.window
        while self._order and self._order[0][0] < horizon:
            published, key = self._order.popleft()
            entry = self._entries.get(key)
            if entry is None or entry.report.published != published:
                continue  # removed (and perhaps indexed again later)
            del self._entries[key]
            self._unlink(key, entry)


def _discard(index: dict[str, set[str]], names: frozenset[str], key: str) -> None:
    for name in names:
        keys = index.get(name)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del index[name]
