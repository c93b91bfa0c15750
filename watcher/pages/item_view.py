"""Why an item scored as it did, as values a template renders: the item's text cut into
pieces marked with the matches of each topic, the score arithmetic of each topic, and the
relevance model's view. Pure: no I/O, no web framework.

The rules' explanation is the source (``watcher.rules.explain``: the matches, the verdict);
this module only arranges it for a page.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from watcher.models import FIELDS, Item, ScoreResult, TopicScore
from watcher.relevance.decide import Relevance, gated
from watcher.relevance.files import describe
from watcher.relevance.model import Neighbour
from watcher.rules import Rules
from watcher.rules.explain import field_matches, topic_status

SHOWN_CHARS = 20_000  # of one field on a page: the rest is counted, not shown
NEAREST = 5
COLOURS = 6  # topic colours in the stylesheet (t0 .. t5)


@dataclass(frozen=True, slots=True)
class Mark:
    """What marks a piece of text: a topic's match of some kind."""

    topic: str
    kind: str  # "term", "entity", "proximity" or "exclusion"
    term: str
    counted: bool  # it added to (or took from) the score


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of a field's text under the same marks (none: plain text)."""

    text: str
    marks: tuple[Mark, ...] = ()

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.topic for m in self.marks))

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.kind for m in self.marks))

    @property
    def label(self) -> str:
        """What marks it, for a tooltip: ``repatriation: deport* (term); ...``."""
        return "; ".join(dict.fromkeys(f"{m.topic}: {m.term} ({m.kind})" for m in self.marks))


@dataclass(frozen=True, slots=True)
class FieldView:
    name: str
    pieces: tuple[Piece, ...]
    cut: int = 0  # characters not shown


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a topic's score: what matched, and what it added."""

    kind: str
    term: str
    text: str
    field: str
    added: float
    term_weight: float | None = None  # None for an exclusion (its weight is taken as is)
    field_weight: float | None = None

    @property
    def formula(self) -> str:
        if self.term_weight is None or self.field_weight is None:
            return f"{self.added:+g}"
        return f"{self.term_weight:g} × {self.field_weight:g} ({self.field}) = {self.added:g}"


@dataclass(frozen=True, slots=True)
class Requirement:
    """A required entity (or a choice of them), and whether the item names it."""

    names: str  # "North Korea", or "Russia or China"
    met: bool
    found: str = ""  # the text that named it


@dataclass(frozen=True, slots=True)
class TopicView:
    score: TopicScore
    status: str
    steps: tuple[Step, ...]
    requirements: tuple[Requirement, ...]

    @property
    def total(self) -> float:
        """The sum of the steps (the score is this, rounded, and never below 0)."""
        return sum(s.added for s in self.steps)


@dataclass(frozen=True, slots=True)
class ModelView:
    description: str  # which model, or why there is none
    asked: bool
    probabilities: tuple[tuple[str, float, str], ...]  # topic, probability, decision
    nearest: tuple[Neighbour, ...]


@dataclass(frozen=True, slots=True)
class ItemView:
    item: Item
    result: ScoreResult
    fields: tuple[FieldView, ...]
    topics: tuple[TopicView, ...]
    model: ModelView

    @property
    def alerted(self) -> tuple[str, ...]:
        return self.result.alerted_ids

    @property
    def titles(self) -> dict[str, str]:
        return {t.topic: t.title or t.topic for t in self.result.topics}

    @property
    def colours(self) -> dict[str, int]:
        """Each topic's colour on the page (one of ``COLOURS``), in the rules' order."""
        return {t.topic: i % COLOURS for i, t in enumerate(self.result.topics)}


def pieces(text: str, spans: list[tuple[int, int, Mark]]) -> tuple[Piece, ...]:
    """``text`` cut at every span's ends; each piece carries the marks of the spans over it.
    The pieces' texts joined are ``text``; spans may overlap and nest; a span that is empty
    or not within ``text`` marks nothing."""
    spans = [(a, b, m) for a, b, m in spans if 0 <= a < b <= len(text)]
    cuts = {0, len(text)}
    for start, end, _ in spans:
        cuts.update((start, end))
    edges = sorted(cuts)
    out: list[Piece] = []
    for a, b in itertools.pairwise(edges):
        marks = tuple(m for s, e, m in spans if s <= a and b <= e)
        if out and out[-1].marks == marks:
            out[-1] = Piece(out[-1].text + text[a:b], marks)
        else:
            out.append(Piece(text[a:b], marks))
    return tuple(out) or (Piece(""),)


def field_view(item: Item, result: ScoreResult, name: str, limit: int = SHOWN_CHARS) -> FieldView:
    text = item.field_text(name)
    shown = text[:limit]
    spans = [
        (m.start, min(m.end, len(shown)), Mark(ts.topic, m.kind, m.term, m.weight != 0))
        for ts, m in field_matches(result, name)
        if m.start < len(shown)
    ]
    return FieldView(name, pieces(shown, spans), len(text) - len(shown))


def _field_weight(rules: Rules, topic: str, field: str) -> float:
    spec = next((t for t in rules.spec.topics if t.id == topic), None)
    weights = spec.fields if spec is not None and spec.fields is not None else rules.spec.fields
    return weights.of(field)


def steps(rules: Rules, ts: TopicScore) -> tuple[Step, ...]:
    """The matches that changed the score, each with its arithmetic (the term's weight times
    the field's: the scorer adds them this way)."""
    out: list[Step] = []
    for m in ts.matches:
        if m.weight == 0:
            continue
        if m.kind == "exclusion":
            out.append(Step(m.kind, m.term, m.text, m.field, m.weight))
            continue
        fw = _field_weight(rules, ts.topic, m.field)
        tw = m.weight / fw if fw else None
        out.append(Step(m.kind, m.term, m.text, m.field, m.weight, tw, fw if tw else None))
    return tuple(out)


def requirements(rules: Rules, ts: TopicScore) -> tuple[Requirement, ...]:
    spec = next((t for t in rules.spec.topics if t.id == ts.topic), None)
    if spec is None:
        return ()
    found = {m.entity: m.text for m in ts.matches if m.kind == "entity" and m.entity}

    def title(eid: str) -> str:
        entity = rules.spec.entities.get(eid)
        return (entity.title if entity is not None else "") or eid

    out = [Requirement(title(e), e in found, found.get(e, "")) for e in spec.require.all_of]
    if spec.require.any_of:
        have = [e for e in spec.require.any_of if e in found]
        names = " or ".join(title(e) for e in spec.require.any_of)
        out.append(Requirement(names, bool(have), ", ".join(found[e] for e in have)))
    return tuple(out)


def model_view(relevance: Relevance, item: Item, result: ScoreResult) -> ModelView:
    model = relevance.model
    if model is None:
        return ModelView(describe(relevance), False, (), ())
    asked = any(gated(t) and t.topic in model.topics for t in result.topics)
    probs = tuple((t.topic, t.model, t.decision) for t in result.topics if t.model is not None)
    return ModelView(describe(relevance), asked, probs, tuple(relevance.nearest(item, NEAREST)))


def item_view(relevance: Relevance, item: Item) -> ItemView:
    """Score ``item`` with ``relevance`` (the rules and model in force) and arrange the why."""
    result = relevance.score(item)
    rules = relevance.rules
    topics = tuple(
        TopicView(t, topic_status(t), steps(rules, t), requirements(rules, t))
        for t in result.topics
    )
    fields = tuple(field_view(item, result, f) for f in FIELDS if item.field_text(f))
    return ItemView(item, result, fields, topics, model_view(relevance, item, result))
