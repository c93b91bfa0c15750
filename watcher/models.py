"""The values that flow through the pipeline: frozen, typed, free of I/O.

``Item`` comes out of parsing, ``Match``/``TopicScore``/``ScoreResult`` out of the rules,
``Alert`` out of the store (an alert always has a row, and an id, before it is sent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from watcher.display import display_text

FIELDS = ("title", "summary", "content")
# the languages people read (the bot, digests, topic titles); the first is the default
LANGUAGES = ("en", "ko", "ru")


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a source, normalised: plain text, canonical URL, UTC time."""

    source_id: str
    guid: str  # the feed's id for the entry; the canonical URL when the feed gives none
    url: str  # canonical URL ("" when the entry has no link)
    title: str
    summary: str = ""  # plain text
    content: str = ""  # plain text ("" when the feed gives only a summary)
    published: datetime | None = None  # aware, UTC; None when the feed gives no date
    language: str = ""  # "en", "ko", "ru" or "" when unknown
    authors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # untrusted text: no control or bidi-override characters reach the store or a message
        for name in FIELDS:
            value: str = getattr(self, name)
            clean = display_text(value)
            if clean is not value:
                object.__setattr__(self, name, clean)

    def field_text(self, name: str) -> str:
        if name not in FIELDS:
            raise KeyError(name)
        text: str = getattr(self, name)
        return text


@dataclass(frozen=True, slots=True)
class Match:
    """One matched term, pointing at the exact text it matched.

    ``item.field_text(field)[start:end] == text`` always holds.
    """

    term: str  # the pattern as written in keywords.yaml (or the entity alias)
    text: str  # the matched text, exactly as in the field
    field: str  # "title", "summary" or "content"
    start: int
    end: int
    weight: float  # what this match added to the score (field weight applied)
    snippet: str  # about 120 characters around the match
    kind: str = "term"  # "term", "entity", "proximity" or "exclusion"
    entity: str = ""  # the entity id, for kind == "entity"


@dataclass(frozen=True, slots=True)
class TopicScore:
    """How one topic scored one item, with the reasons."""

    topic: str
    title: str
    score: float
    threshold: float
    alerted: bool
    matches: tuple[Match, ...] = ()
    vetoed_by: Match | None = None  # the exclusion that vetoed the topic
    missing: tuple[str, ...] = ()  # required entities not found, as human text
    # the required entities are there, but not close enough to the evidence (require.within)
    too_far: str = ""
    # the relevance model's second opinion (watcher.relevance): "" = the rules decided,
    # "possible" = promoted by the model (a possible match), "held" = a rule hit held back
    decision: str = ""
    model: float | None = None  # the model's probability, when it was asked

    @property
    def rules_alerted(self) -> bool:
        """What the rules alone decided."""
        return self.alerted != bool(self.decision)


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """All topics' scores for one item."""

    topics: tuple[TopicScore, ...]

    @property
    def alerted(self) -> tuple[TopicScore, ...]:
        return tuple(t for t in self.topics if t.alerted)

    @property
    def alerted_ids(self) -> tuple[str, ...]:
        return tuple(t.topic for t in self.topics if t.alerted)

    @property
    def rules_alerted_ids(self) -> tuple[str, ...]:
        return tuple(t.topic for t in self.topics if t.rules_alerted)

    @property
    def best_score(self) -> float:
        return max((t.score for t in self.alerted), default=0.0)

    def get(self, topic: str) -> TopicScore | None:
        for t in self.topics:
            if t.topic == topic:
                return t
        return None


@dataclass(frozen=True, slots=True)
class Alert:
    """An item the rules accepted, as recorded in the store before anything is sent."""

    id: int
    item_id: int
    source_id: str
    source_name: str
    title: str
    url: str
    published: datetime
    topics: tuple[str, ...]
    score: float
    matches: tuple[Match, ...]
    created_at: datetime
    summary: str = ""
    language: str = ""
    story_id: int | None = None
    also_reported_by: tuple[str, ...] = field(default=())
    # set when the relevance model sent it as a possible match: its score and why
    model_note: str = ""
    # what later reports of its story added: "topic forced_labor (RFA)", "600 (SBS)"
    story_additions: tuple[str, ...] = field(default=())

    def matches_json(self) -> str:
        return matches_to_json(self.matches)


_MATCH_FIELDS = tuple(f.name for f in fields(Match))


def matches_to_json(matches: tuple[Match, ...] | list[Match]) -> str:
    # the fields read directly: dataclasses.asdict deep-copies every value, and with many
    # alerts in one poll it cost more than the inserts themselves
    return json.dumps(
        [{name: getattr(m, name) for name in _MATCH_FIELDS} for m in matches],
        ensure_ascii=False,
    )


def matches_from_json(text: str) -> tuple[Match, ...]:
    raw: list[dict[str, Any]] = json.loads(text) if text else []
    return tuple(Match(**m) for m in raw)


def to_epoch(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def from_epoch(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


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

    @property
    def text(self) -> str:
        return f"{self.title}. {self.summary}"
