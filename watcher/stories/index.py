"""Group reports of the same development into stories (pure core: no I/O, no clock).

A report joins a story when, within the time window (72 h by default), it

* has the same canonical URL as one of the story's reports, or
* is a near-duplicate in the same language (MinHash over character shingles, LSH for
  candidates), or
* shares positive evidence with one of the story's reports (a name, a figure, a date,
  places: ``watcher.stories.evidence``) on top of similar wording (same language: weighted
  overlap of word stems, plus the sentence encoder's cosine when there is one) or similar
  meaning (across languages: the multilingual sentence encoder; without it, a stronger
  signature: more evidence, the same topic and matched entities),

and nothing in it contradicts any report of the story (other figures in the headline,
other places, dates days apart, another stage of one process). When in doubt it founds a
story of its own: a repeated alert is a nuisance, a development swallowed by another is lost.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

from watcher.models import Report
from watcher.stories.anchors import Anchors, anchors, posting_keys, query_keys
from watcher.stories.encoder import Encoder
from watcher.stories.evidence import EvidenceWeights, Support, conflict, support
from watcher.stories.text import script_language, shingles, stems

Vector = np.ndarray[tuple[int], np.dtype[np.float32]]


@dataclass(frozen=True, slots=True)
class StoryConfig:
    window: timedelta = timedelta(hours=72)
    num_perm: int = 64
    lsh_threshold: float = 0.15  # candidates only; acceptance is decided below
    jaccard_accept: float = 0.50  # near-duplicate on shingles alone (MinHash estimate)
    # A merge needs evidence (EvidenceWeights) of at least evidence_min, similarity over a
    # gate, and the two together over an acceptance level:
    evidence_min: float = 0.5
    instance_min: float = 0.7  # ... of which this much of this development (not its kind)
    instance_min_same: float = 0.25  # ... in the same language (its wording is evidence too)
    lexical_gate: float = 0.05  # same language: IDF-weighted Jaccard of word stems
    same_accept: float = 1.9  # ... + cosine + evidence (with the encoder)
    words_accept: float = 1.0  # ... + evidence (without it)
    # ... or a paraphrase (reason "paraphrase"): a cosine this high needs only evidence_min
    # of any kind and a trace of this development (Kursk, shared by many stories, is 0.175);
    # distinct developments reach 0.80 on the labelled sets, with only their kind shared
    paraphrase: float = 0.80
    paraphrase_instance: float = 0.15
    embedding_gate: float = 0.40  # across languages: cosine
    cross_accept: float = 1.3  # ... + evidence
    # ... or, with less evidence (margin_evidence), a story distinctly closer in meaning than
    # any other in the window: cosine >= margin_gate, and margin above the runner-up
    margin_gate: float = 0.50
    margin: float = 0.10
    margin_evidence: float = 0.3
    margin_instance: float = 0.4  # ... of which of this development: more than a date or a place
    evidence_no_encoder: float = 1.5  # across languages without the encoder
    min_shared_entities: int = 1  # ... and this many entities the rules matched, and a topic
    common_share: float = 0.05  # stems, names... in more reports than this find no candidates
    idf_prior: int = 200  # pseudo-reports so that early IDF estimates are not extreme
    weights: EvidenceWeights = field(default_factory=EvidenceWeights)


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a report went: the story it joined (or founded) and why."""

    story_id: int
    joined: bool  # False: the report founded a new story
    reason: str  # "new", "url", "near-duplicate", "words", "words+embedding", "embedding", ...
    similarity: float
    matched_key: str = ""  # the report it was found similar to


@dataclass(slots=True)
class _Entry:
    report: Report
    language: str  # as written (``script_language``), whatever the feed said
    story_id: int
    minhash: MinHash
    stems: frozenset[str]
    anchors: Anchors
    keys: frozenset[str]  # its anchor postings (see _anchor_keys)
    vector: Vector | None = None


class StoryIndex:
    """Recent reports, indexed so that a new report finds its story in about constant time.

    Reports older than the window (relative to the newest report seen) are dropped, so memory
    and time per report stay bounded however long it runs, and the index after a restart
    (re-seeded from the store) is the index before it.
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
        self._stories: dict[int, set[str]] = {}
        self._by_url: dict[str, str] = {}
        self._postings: dict[str, set[str]] = {}  # stems and anchors -> report keys
        self._order: deque[tuple[datetime, str]] = deque()
        self._pending: dict[str, Vector] = {}  # report text -> its vector, ahead of add
        self._vectors = VectorRows()
        self._next_story = first_story_id
        self._newest: datetime | None = None
        self._template = MinHash(num_perm=self.config.num_perm)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def encoder(self) -> Encoder | None:
        return self._encoder

    # -- public ---------------------------------------------------------------------------

    def embed(self, reports: Iterable[Report]) -> int:
        """Encode these reports in one batch ahead of ``add`` (much cheaper per report than
        one at a time); how many were encoded. Without an encoder, nothing."""
        if self._encoder is None:
            return 0
        todo = list(dict.fromkeys(r.text for r in reports if r.text not in self._pending))
        if not todo:
            return 0
        vectors = np.asarray(self._encoder(todo), dtype=np.float32)
        for text, vec in zip(todo, vectors, strict=True):
            norm = float(np.linalg.norm(vec))
            self._pending[text] = vec / norm if norm else vec
        return len(todo)

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
        if not decision.joined:
            sid = new_story_id() if new_story_id is not None else self._next_story
            decision = Decision(sid, False, decision.reason, decision.similarity)
        self._next_story = max(self._next_story, decision.story_id + 1)
        entry.story_id = decision.story_id
        self._insert(entry)
        return decision

    def find(self, report: Report) -> Decision:
        """Where ``report`` would go, without adding it (a new story is numbered 0)."""
        return self._find(self._entry(report, keep=True))

    def remove(self, key: str) -> bool:
        """Forget one report (its transaction was rolled back); False when not indexed."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._unlink(key, entry)
        return True  # its place in the expiry queue is skipped when it comes up

    def story_of(self, key: str) -> int | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.story_id

    def story_of_url(self, url: str) -> int | None:
        """The story of a recent report with this canonical URL, if any."""
        key = self._by_url.get(url)
        return None if key is None else self.story_of(key)

    # -- building entries -----------------------------------------------------------------

    def _entry(self, report: Report, keep: bool = False) -> _Entry:
        text = report.text
        mh = self._template.copy()
        grams = shingles(text)
        if grams:
            mh.update_batch([g.encode("utf-8") for g in grams])
        if self._encoder is not None and text not in self._pending:
            self.embed([report])
        vector = self._pending.get(text) if keep else self._pending.pop(text, None)
        language = script_language(text, report.language)
        found = anchors(report.title, report.summary, language)
        return _Entry(report, language, 0, mh, stems(text), found, posting_keys(found), vector)

    # -- finding a story ------------------------------------------------------------------

    def _find(self, entry: _Entry) -> Decision:
        rep = entry.report
        if rep.url and rep.url in self._by_url:
            other = self._entries.get(self._by_url[rep.url])
            if other is not None and self._window_ok(entry, other):
                return Decision(other.story_id, True, "url", 1.0, other.report.key)
        scored: list[Decision] = []
        for key in self._candidates(entry):
            other = self._entries[key]
            if not self._window_ok(entry, other):
                continue
            decision = self._compare(entry, other)
            if decision is not None:
                scored.append(decision)
        # the best match whose whole story agrees: a report joins a story, not one report,
        # so it must contradict none of them (no chains of look-alikes)
        for decision in sorted(scored, key=lambda d: -d.similarity):
            if self._story_agrees(entry, decision.story_id):
                return decision
        return self._by_margin(entry) or Decision(0, False, "new", 0.0)

    def _by_margin(self, entry: _Entry) -> Decision | None:
        """Across languages: the story distinctly closest in meaning, if it agrees and some
        evidence backs it (another language's report of one development is often worded
        far apart, but no other story of the day is nearly as close)."""
        cfg = self.config
        if entry.vector is None or cfg.margin_gate <= 0:
            return None
        ranked = self._closest_stories(entry)
        if not ranked:
            return None
        story_id, cos, key = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if cos < cfg.margin_gate or cos - runner_up < cfg.margin:
            return None
        other = self._entries[key]
        if not self._window_ok(entry, other) or not self._story_agrees(entry, story_id):
            return None
        found = support(entry.anchors, other.anchors, cfg.weights, self._rarity)
        if found.total < cfg.margin_evidence or found.instance < cfg.margin_instance:
            return None
        return Decision(story_id, True, "embedding-margin", cos + found.total, key)

    def _closest_stories(self, entry: _Entry) -> list[tuple[int, float, str]]:
        """The two stories with the closest reports in other languages: (story, cosine, key)."""
        assert entry.vector is not None
        sims, keys = self._vectors.scores(entry.vector, exclude=entry.language)
        found: list[tuple[int, float, str]] = []
        for row in np.argsort(-sims).tolist():
            if sims[row] == -np.inf:
                break
            key = keys[row]
            other = self._entries.get(key) if key is not None else None
            if other is None or other.language == entry.language:
                continue
            if not found or other.story_id != found[0][0]:
                found.append((other.story_id, float(sims[row]), key))
                if len(found) == 2:
                    break
        return found

    def _candidates(self, entry: _Entry) -> set[str]:
        found = set(self._lsh.query(entry.minhash))
        limit = max(20, int(self.config.common_share * len(self._entries)))
        for key in entry.stems | entry.keys:
            keys = self._postings.get(key)
            if keys and len(keys) <= limit:
                found |= keys
        for key in query_keys(entry.anchors):
            keys = self._postings.get(key)
            if keys and len(keys) <= limit:
                found |= keys
        return found

    def _compare(self, entry: _Entry, other: _Entry) -> Decision | None:
        """A match with ``other`` (its similarity ranks the candidates), or None."""
        cfg = self.config
        if conflict(entry.anchors, other.anchors, cfg.weights.day_tolerance):
            return None
        same = entry.language == other.language
        cosine = (
            float(entry.vector @ other.vector)
            if entry.vector is not None and other.vector is not None
            else None
        )
        if same:
            jac = entry.minhash.jaccard(other.minhash)
            if jac >= cfg.jaccard_accept:
                return Decision(other.story_id, True, "near-duplicate", 2.0 + jac, other.report.key)
        found = support(entry.anchors, other.anchors, cfg.weights, self._rarity)
        judged: tuple[str, float] | None
        if same:
            judged = self._by_words(entry, other, found, cosine)
        elif cosine is not None:
            judged = self._by_meaning(found, cosine)
        else:
            judged = self._by_entities(entry.report, other.report, found)
        if judged is None:
            return None
        reason, sim = judged
        return Decision(other.story_id, True, reason, sim + found.total, other.report.key)

    def _by_words(
        self, entry: _Entry, other: _Entry, found: Support, cosine: float | None
    ) -> tuple[str, float] | None:
        """In one language: shared word stems (and the cosine) on top of the evidence, or a
        paraphrase (see ``StoryConfig.paraphrase``)."""
        cfg = self.config
        paraphrase = (
            cosine is not None
            and cosine >= cfg.paraphrase
            and found.instance >= cfg.paraphrase_instance
            and entry.anchors.more == other.anchors.more  # "two more" are two others
        )
        instance = found.instance >= cfg.instance_min_same
        if found.total < cfg.evidence_min or not (instance or paraphrase):
            return None
        lexical = self._weighted_jaccard(entry.stems, other.stems)  # the costly part: last
        if lexical < cfg.lexical_gate:
            return None
        if cosine is None:
            accepted = lexical + found.total >= cfg.words_accept
            return ("words", lexical) if accepted else None
        sim = lexical + cosine
        if instance and sim + found.total >= cfg.same_accept:
            return "words+embedding", sim
        return ("paraphrase", sim) if paraphrase else None

    def _by_meaning(self, found: Support, cosine: float) -> tuple[str, float] | None:
        """Across languages: the sentence encoder's cosine on top of the evidence."""
        cfg = self.config
        ok = (
            found.total >= cfg.evidence_min
            and found.instance >= cfg.instance_min
            and cosine >= cfg.embedding_gate
            and cosine + found.total >= cfg.cross_accept
        )
        return ("embedding", cosine) if ok else None

    def _by_entities(self, a: Report, b: Report, found: Support) -> tuple[str, float] | None:
        """Across languages without the encoder: more evidence, a topic and an entity the
        rules matched in both."""
        cfg = self.config
        ok = (
            found.instance >= cfg.instance_min
            and found.total >= max(cfg.evidence_min, cfg.evidence_no_encoder)
            and len(a.entities & b.entities) >= cfg.min_shared_entities
            and bool(a.topics & b.topics)
        )
        return ("entities", 0.0) if ok else None

    def _story_agrees(self, entry: _Entry, story_id: int) -> bool:
        tolerance = self.config.weights.day_tolerance
        for key in self._stories.get(story_id, ()):
            other = self._entries[key]
            if conflict(entry.anchors, other.anchors, tolerance):
                return False
        return True

    def _window_ok(self, a: _Entry, b: _Entry) -> bool:
        return abs(a.report.published - b.report.published) <= self.config.window

    def _idf(self, key: str) -> float:
        total = len(self._entries) + self.config.idf_prior
        return math.log(total / (len(self._postings.get(key, ())) + 1))

    def _weighted_jaccard(self, a: frozenset[str], b: frozenset[str]) -> float:
        union = sum(self._idf(g) for g in a | b)
        return sum(self._idf(g) for g in a & b) / union if union else 0.0

    def _rarity(self, key: str) -> float:
        """1 for an anchor few recent stories share, less for one in many (Putin, Kursk in
        war news): the IDF of anchors, in two steps."""
        keys = self._postings.get(key, ())
        limit = max(3, 0.02 * len(self._stories))
        if len(keys) <= limit:
            return 1.0
        return 1.0 if len({self._entries[k].story_id for k in keys}) <= limit else 0.5

    # -- bookkeeping ----------------------------------------------------------------------

    def _insert(self, entry: _Entry) -> None:
        key = entry.report.key
        self._entries[key] = entry
        self._stories.setdefault(entry.story_id, set()).add(key)
        self._lsh.insert(key, entry.minhash, check_duplication=False)
        if entry.vector is not None:
            self._vectors.add(key, entry.vector, entry.language)
        if entry.report.url:
            self._by_url[entry.report.url] = key
        for name in entry.stems | entry.keys:
            self._postings.setdefault(name, set()).add(key)
        self._order.append((entry.report.published, key))

    def _unlink(self, key: str, entry: _Entry) -> None:
        """Take a report out of the lookups (its entry is already gone from ``_entries``)."""
        self._lsh.remove(key)
        self._vectors.remove(key)
        url = entry.report.url
        if url and self._by_url.get(url) == key:
            del self._by_url[url]
        members = self._stories.get(entry.story_id)
        if members is not None:
            members.discard(key)
            if not members:
                del self._stories[entry.story_id]
        for name in entry.stems | entry.keys:
            keys = self._postings.get(name)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._postings[name]

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


class VectorRows:
    """The window's sentence vectors as rows of one matrix: one product scores a report
    against every report in the window (rows of reports that left are reused)."""

    def __init__(self) -> None:
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._keys: list[str | None] = []
        self._langs: list[str] = []
        self._row: dict[str, int] = {}
        self._free: list[int] = []

    def add(self, key: str, vector: Vector, language: str) -> None:
        if self._matrix.shape[1] != vector.shape[0]:  # the first vector sets the width
            self._matrix = np.zeros((64, vector.shape[0]), dtype=np.float32)
            self._keys, self._langs, self._row, self._free = [], [], {}, []
        if self._free:
            row = self._free.pop()
        else:
            row = len(self._keys)
            self._keys.append(None)
            self._langs.append("")
            if row >= self._matrix.shape[0]:
                grown = np.zeros((2 * self._matrix.shape[0], self._matrix.shape[1]), np.float32)
                grown[:row] = self._matrix[:row]
                self._matrix = grown
        self._matrix[row] = vector
        self._keys[row] = key
        self._langs[row] = language
        self._row[key] = row

    def remove(self, key: str) -> None:
        row = self._row.pop(key, None)
        if row is not None:
            self._matrix[row] = 0.0
            self._keys[row] = None
            self._langs[row] = ""
            self._free.append(row)

    def scores(
        self, vector: Vector, exclude: str = ""
    ) -> tuple[np.ndarray[tuple[int], Any], list[str | None]]:
        """Cosine of ``vector`` with every row (rows are unit vectors; -inf for free rows
        and rows in language ``exclude``), and the rows' keys."""
        n = len(self._keys)
        if n == 0:
            return np.zeros(0, dtype=np.float32), []
        sims: np.ndarray[tuple[int], Any] = self._matrix[:n] @ vector
        langs = np.asarray(self._langs)
        sims[(langs == exclude) | (langs == "")] = -np.inf
        return sims, self._keys
