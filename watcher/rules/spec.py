"""The ``keywords.yaml`` format: pydantic models and the checks pydantic cannot do alone.

``parse_spec(text, name)`` returns a valid ``RulesSpec`` or raises ``ConfigError`` listing every
problem with file, line and column. ``docs/keywords.md`` is the reference for maintainers.
"""

from __future__ import annotations

import difflib
import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from watcher.errors import ConfigError, Problem
from watcher.models import LANGUAGES
from watcher.rules.patterns import MAX_PATTERNS, pattern_problem
from watcher.yamlconf import load_yaml, position, validate

MAX_WEIGHT = 100.0


def _number(value: Any) -> Any:
    """Weights are plain numbers: refuse booleans and strings that pydantic would coerce."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, not {value!r}")
    return value


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {value!r}")
    return value


Weight = Annotated[float, BeforeValidator(_number), Field(gt=0, le=MAX_WEIGHT)]
FieldWeight = Annotated[float, BeforeValidator(_number), Field(ge=0, le=MAX_WEIGHT)]
Text = Annotated[str, BeforeValidator(_text)]
Pattern = Annotated[str, BeforeValidator(_text), Field(min_length=1)]


def _title(value: Any) -> Any:
    """A topic's title: text, or text per language ``{en: ..., ko: ..., ru: ...}``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"must be text or a mapping of languages to text, not {value!r}")
    unknown = [k for k in value if k not in LANGUAGES]
    if unknown:
        raise ValueError(
            f"unknown language {unknown[0]!r}: use {', '.join(LANGUAGES)} (e.g. {{en: Forced"
            " returns, ko: 강제북송, ru: Принудительные возвращения})"
        )
    if "en" not in value:
        raise ValueError("needs an 'en' title (the one shown when a language has none)")
    for lang, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{lang}: must be text, not {text!r}")
    return dict(value)


Title = Annotated[str | dict[str, str], BeforeValidator(_title)]
Id = Annotated[str, BeforeValidator(_text), Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldWeights(_Model):
    """How much a match in each field of an item counts (multiplies the term's weight)."""

    title: FieldWeight = 2.0
    summary: FieldWeight = 1.0
    content: FieldWeight = 1.0

    def of(self, field: str) -> float:
        value: float = getattr(self, field)
        return value


class EntitySpec(_Model):
    """A thing with names in many languages (a country, an agency), reused by topics."""

    title: Text = ""
    aliases: list[Pattern] = Field(min_length=1)
    # Matches of an alias inside one of these do not count (조선 inside 조선소, "shipyard").
    except_: list[Pattern] = Field(default_factory=list, alias="except")


class Require(_Model):
    """Entities an item must mention for the topic to alert."""

    all_of: list[Id] = Field(default_factory=list)
    any_of: list[Id] = Field(default_factory=list)
    # the required entities must be this close (in words, same field) to a term that
    # counted: "North Korean workers in Russia", not a dateline and Russia paragraphs away
    within: int | None = Field(default=None, ge=1, le=100)


class NearSpec(_Model):
    """Adds ``weight`` when one of ``terms`` is within ``within`` words of one of ``near``."""

    terms: list[Pattern] = Field(min_length=1)
    near: list[Pattern] = Field(min_length=1)
    within: int = Field(ge=1, le=100)
    weight: Weight


class TopicSpec(_Model):
    id: Id
    title: Title
    threshold: Weight
    require: Require = Require()
    fields: FieldWeights | None = None
    terms: dict[str, Weight] = Field(default_factory=dict)
    near: list[NearSpec] = Field(default_factory=list)
    veto: list[Pattern] = Field(default_factory=list)
    subtract: dict[str, Weight] = Field(default_factory=dict)
    ignore: list[Pattern] = Field(default_factory=list)

    def title_in(self, lang: str) -> str:
        """The title in ``lang``, else the English one."""
        if isinstance(self.title, str):
            return self.title
        return self.title.get(lang) or self.title["en"]


class RulesSpec(_Model):
    version: int = Field(default=1, ge=1, le=1)
    fields: FieldWeights = FieldWeights()
    entities: dict[Id, EntitySpec] = Field(default_factory=dict)
    topics: list[TopicSpec] = Field(min_length=1)


def parse_spec(text: str | None, name: str) -> tuple[RulesSpec, Any]:
    """Parse and validate; returns the spec and the round-trip YAML data (for positions)."""
    data = load_yaml(name, text)
    if data is None:
        raise ConfigError(Problem(name, 1, 1, "the file is empty: it needs at least 'topics'"))
    if not isinstance(data, dict):
        raise ConfigError(Problem(name, 1, 1, "the top level must be a mapping with 'topics'"))
    try:
        spec = validate(RulesSpec, data, name)
    except ConfigError as exc:
        raise ConfigError(_in_order(exc.problems)) from exc
    problems = semantic_problems(spec, data, name)
    if problems:
        raise ConfigError(_in_order(problems))
    return spec, data


def _in_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.col))


def semantic_problems(spec: RulesSpec, data: Any, name: str) -> list[Problem]:
    """Unknown entities, empty topics, duplicate ids, patterns that do not compile."""
    check = _Checker(spec, data, name)
    check.entities()
    seen: dict[str, int] = {}
    for t, topic in enumerate(spec.topics):
        if topic.id in seen:
            check.at(
                ["topics", t, "id"],
                f"duplicate topic id {topic.id!r} (also topic {seen[topic.id] + 1})",
            )
        else:
            seen[topic.id] = t
        check.topic(t, topic)
    if len(check.distinct) > MAX_PATTERNS:
        check.at(
            ["topics"],
            f"{len(check.distinct):,} different terms: at most {MAX_PATTERNS:,} (each topic needs"
            " only the words that say it happened)",
            at_key=True,
        )
    return check.out


class _Checker:
    """The problems of one parsed keywords.yaml, each at its line and column."""

    def __init__(self, spec: RulesSpec, data: Any, name: str) -> None:
        self.spec, self.data, self.name = spec, data, name
        self.out: list[Problem] = []
        self.distinct: set[str] = set()  # different patterns (bounded: MAX_PATTERNS)

    def at(self, loc: list[int | str], message: str, at_key: bool = False) -> None:
        line, col = position(self.data, loc, at_key=at_key)
        self.out.append(Problem(self.name, line, col, message))

    def entity(self, eid: str, loc: list[int | str], at_key: bool = False) -> None:
        if eid not in self.spec.entities:
            hint = difflib.get_close_matches(eid, list(self.spec.entities), n=1, cutoff=0.6)
            msg = f"unknown entity {eid!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            self.at(loc, msg, at_key)

    def pattern(self, pattern: str, loc: list[int | str], at_key: bool = False) -> None:
        if pattern.startswith("@"):
            self.entity(pattern[1:], loc, at_key)
            return
        self.distinct.add(pattern.strip())
        problem = pattern_problem(pattern)
        if problem:
            self.at(loc, f"pattern {pattern!r}: {problem}", at_key)

    def entities(self) -> None:
        for eid, entity in self.spec.entities.items():
            for i, alias in enumerate(entity.aliases):
                loc: list[int | str] = ["entities", eid, "aliases", i]
                if alias.startswith("@"):
                    self.at(loc, f"an alias cannot refer to an entity: {alias!r}")
                else:
                    self.pattern(alias, loc)
            for i, alias in enumerate(entity.except_):
                self.pattern(alias, ["entities", eid, "except", i])

    def topic(self, t: int, topic: TopicSpec) -> None:
        base: list[int | str] = ["topics", t]
        req = topic.require
        for group in ("all_of", "any_of"):
            for i, eid in enumerate(getattr(req, group)):
                self.entity(eid, [*base, "require", group, i])
        if req.within is not None and not (req.all_of or req.any_of):
            self.at([*base, "require", "within"], "'within' needs 'all_of' or 'any_of' entities")
        if not topic.terms and not topic.near:
            self.at(base, f"topic {topic.id!r} is empty: give it 'terms' or 'near'")
        self.topic_patterns(base, topic)
        weight = max_field_weight(topic.fields or self.spec.fields)
        best = sum(topic.terms.values()) * weight + sum(n.weight for n in topic.near) * weight
        if (topic.terms or topic.near) and best < topic.threshold:
            self.at(
                [*base, "threshold"],
                f"threshold {topic.threshold:g} can never be reached"
                f" (all terms together give at most {best:g})",
            )

    def topic_patterns(self, base: list[int | str], topic: TopicSpec) -> None:
        for pattern in topic.terms:
            self.pattern(pattern, [*base, "terms", pattern], at_key=True)
        for n, near in enumerate(topic.near):
            for side in ("terms", "near"):
                for i, pattern in enumerate(getattr(near, side)):
                    self.pattern(pattern, [*base, "near", n, side, i])
        for i, pattern in enumerate(topic.veto):
            self.pattern(pattern, [*base, "veto", i])
        for pattern in topic.subtract:
            self.pattern(pattern, [*base, "subtract", pattern], at_key=True)
        for i, pattern in enumerate(topic.ignore):
            self.pattern(pattern, [*base, "ignore", i])


def max_field_weight(fields: FieldWeights) -> float:
    return max(fields.title, fields.summary, fields.content)
