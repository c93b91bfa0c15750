"""From a ``RulesSpec`` to one Aho-Corasick automaton and plain tables the scorer reads.

Every distinct pattern of every topic and entity is one key of a single pyahocorasick
automaton, so scoring an item is one pass per field whatever the number of rules. Each
pattern keeps how it must be matched:

- words (English, Russian, any script with spaces): whole words, ``*`` at the end for any
  ending (``repatriat*``, ``депортац*``);
- Korean (any Hangul in the pattern): inside words, because particles attach (``탈북민`` in
  ``탈북민이``);
- phrases: normalised like the text, so extra spaces, hyphens, quotes and tags do not matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from watcher.models import FIELDS
from watcher.rules.normalize import is_hangul, is_word_char, normalize_pattern
from watcher.rules.spec import FieldWeights, RulesSpec, TopicSpec


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    raw: str  # as written in keywords.yaml
    key: str  # the normalised text the automaton looks for
    prefix: bool  # ended in '*': any ending
    left_bound: bool  # must start at a word boundary
    right_bound: bool  # must end at a word boundary
    # phrases with '*' inside ("военн* инженер*"): the automaton finds the first word, this
    # regex (anchored there, over the normalised text) checks the rest
    verify: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class CompiledTerm:
    label: str  # as written: a pattern or "@entity"
    weight: float
    patterns: frozenset[int]
    entity: str = ""  # set when the term is "@entity"


@dataclass(frozen=True, slots=True)
class CompiledNear:
    label: str
    left: frozenset[int]
    right: frozenset[int]
    within: int
    weight: float


@dataclass(frozen=True, slots=True)
class CompiledEntity:
    id: str
    title: str
    aliases: frozenset[int]
    excepts: frozenset[int]


@dataclass(frozen=True, slots=True)
class CompiledTopic:
    id: str
    title: str
    threshold: float
    field_weights: tuple[float, ...]  # in the order of models.FIELDS
    all_of: tuple[str, ...]
    any_of: tuple[str, ...]
    within: int | None  # words between each required entity and a counted term
    terms: tuple[CompiledTerm, ...]
    near: tuple[CompiledNear, ...]
    veto: tuple[CompiledTerm, ...]
    subtract: tuple[CompiledTerm, ...]
    ignore: frozenset[int]
    exclusion_patterns: frozenset[int] = frozenset()  # all veto and subtract patterns
    exclusion_entities: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CompiledRules:
    patterns: tuple[CompiledPattern, ...]
    automaton: ahocorasick.Automaton  # key -> tuple of pattern indices
    entities: dict[str, CompiledEntity]
    topics: tuple[CompiledTopic, ...]


def _word_regex(word: str) -> str:
    star = word.endswith("*")
    stem = normalize_pattern(word[:-1] if star else word)
    korean = any(is_hangul(c) for c in stem)
    out = re.escape(stem)
    if star:
        return out + r"\w*"
    if not korean and stem and is_word_char(stem[-1]):
        return out + r"(?!\w)"
    return out


def compile_pattern(raw: str) -> CompiledPattern:
    text = raw.strip()
    words = text.split()
    if any(w.endswith("*") for w in words[:-1]):
        first = words[0]
        key = normalize_pattern(first.rstrip("*"))
        verify = re.compile(" ".join(_word_regex(w) for w in words))
        return CompiledPattern(
            raw=text,
            key=key,
            prefix=False,
            left_bound=not any(is_hangul(c) for c in key) and is_word_char(key[0]),
            right_bound=False,
            verify=verify,
        )
    prefix = text.endswith("*")
    key = normalize_pattern(text[:-1] if prefix else text)
    korean = any(is_hangul(c) for c in key)
    return CompiledPattern(
        raw=text,
        key=key,
        prefix=prefix,
        left_bound=not korean and is_word_char(key[0]),
        right_bound=not korean and not prefix and is_word_char(key[-1]),
    )


class _Builder:
    """Patterns numbered once each (a term shared by topics is matched once), and the
    entities' alias patterns that ``@entity`` terms stand for."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.patterns: list[CompiledPattern] = []
        self.entities: dict[str, CompiledEntity] = {}

    def add(self, raw: str) -> int:
        key = raw.strip()
        if key not in self.index:
            self.index[key] = len(self.patterns)
            self.patterns.append(compile_pattern(key))
        return self.index[key]

    def term(self, label: str, weight: float) -> CompiledTerm:
        if label.startswith("@"):
            eid = label[1:]
            return CompiledTerm(label, weight, self.entities[eid].aliases, eid)
        return CompiledTerm(label.strip(), weight, frozenset((self.add(label),)))

    def group(self, labels: list[str]) -> frozenset[int]:
        out: set[int] = set()
        for label in labels:
            out.update(self.term(label, 1.0).patterns)
        return frozenset(out)

    def automaton(self) -> ahocorasick.Automaton:
        automaton = ahocorasick.Automaton()
        by_key: dict[str, list[int]] = {}
        for i, p in enumerate(self.patterns):
            by_key.setdefault(p.key, []).append(i)
        for key, ids in by_key.items():
            automaton.add_word(key, (len(key), tuple(ids)))
        if by_key:
            automaton.make_automaton()
        return automaton


def _short(labels: list[str], shown: int = 3) -> str:
    """A side of a ``near`` rule for explanations: the first few patterns."""
    head = "|".join(labels[:shown])
    return head + ("|…" if len(labels) > shown else "")


def compile_rules(spec: RulesSpec) -> CompiledRules:
    """Compile a validated spec (``spec.semantic_problems`` found nothing)."""
    b = _Builder()
    for eid, e in spec.entities.items():
        b.entities[eid] = CompiledEntity(
            id=eid,
            title=e.title or eid,
            aliases=frozenset(b.add(a) for a in e.aliases),
            excepts=frozenset(b.add(a) for a in e.except_),
        )
    topics = tuple(_topic(b, t, t.fields or spec.fields) for t in spec.topics)
    return CompiledRules(tuple(b.patterns), b.automaton(), b.entities, topics)


def _topic(b: _Builder, t: TopicSpec, fw: FieldWeights) -> CompiledTopic:
    excluded = t.veto + list(t.subtract)
    return CompiledTopic(
        id=t.id,
        title=t.title_in("en"),
        threshold=t.threshold,
        field_weights=tuple(fw.of(f) for f in FIELDS),
        all_of=tuple(t.require.all_of),
        any_of=tuple(t.require.any_of),
        within=t.require.within,
        terms=tuple(b.term(p, w) for p, w in t.terms.items()),
        near=tuple(
            CompiledNear(
                label=f"{_short(n.terms)} within {n.within} words of {_short(n.near)}",
                left=b.group(n.terms),
                right=b.group(n.near),
                within=n.within,
                weight=n.weight,
            )
            for n in t.near
        ),
        veto=tuple(b.term(p, 0.0) for p in t.veto),
        subtract=tuple(b.term(p, w) for p, w in t.subtract.items()),
        ignore=b.group(t.ignore),
        exclusion_patterns=frozenset(
            pid for x in excluded if not x.startswith("@") for pid in b.term(x, 0.0).patterns
        ),
        exclusion_entities=frozenset(x[1:] for x in excluded if x.startswith("@")),
    )
