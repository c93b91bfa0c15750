"""Scoring: one pass of the automaton per field, then each topic adds up what it uses.

Per topic: each term counts once, with its weight times the weight of the best field it was
found in (``title`` counts more than ``content`` by default); each ``near`` rule counts once
when its two sides are close enough in one field; each ``subtract`` exclusion takes its weight
away; a ``veto`` exclusion stops the topic; terms inside an ``ignore`` phrase do not count.
A topic alerts when nothing vetoed it, its required entities are there, and the score
reaches its threshold. ``Rules`` holds no mutable state: ``score`` is safe from any thread.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import ahocorasick

from watcher.models import FIELDS, LANGUAGES, Item, Match, ScoreResult, TopicScore
from watcher.rules.compile import (
    CompiledPattern,
    CompiledRules,
    CompiledTerm,
    CompiledTopic,
    compile_rules,
)
from watcher.rules.normalize import WORD_RE, Normalized, is_word_char, normalize
from watcher.rules.spans import first_near_pair, nested_in_other, outside
from watcher.rules.spec import RulesSpec, parse_spec

SNIPPET = 120
_WORD_RUN = re.compile(r"\w+")  # is_word_char minus combining marks (not in \w)
_WORD_START = re.compile(r"(?<!\w)\w")  # where a WORD_RE match starts (sees before pos)
# Places the automaton reports in one field, at most: real fields have up to ~110 (a
# 46,000-character article); a hostile feed repeating terms would have the scorer compare
# tens of thousands (several seconds for one item).
MAX_HITS_PER_FIELD = 1_000
MAX_MATCHES_PER_TERM = 3


class Hit(NamedTuple):
    """One place a pattern matched: a field, and normalised and original ranges.

    A NamedTuple (immutable) rather than a frozen dataclass: there is one per match found
    and a frozen dataclass takes several times longer to build."""

    pattern: int
    field: int  # index into models.FIELDS
    nstart: int
    nend: int
    start: int
    end: int


def snippet(text: str, start: int, end: int, width: int = SNIPPET) -> str:
    """About ``width`` characters of ``text`` around ``[start, end)``, on one line."""
    room = max(0, width - (end - start)) // 2
    a = max(0, start - room)
    b = min(len(text), end + room)
    # do not cut words in half when we can avoid it
    if a > 0:
        sp = text.find(" ", a, start)
        if sp != -1:
            a = sp + 1
    if b < len(text):
        sp = text.rfind(" ", end, b)
        if sp != -1:
            b = sp
    body = " ".join(text[a:b].split())
    return ("…" if a > 0 else "") + body + ("…" if b < len(text) else "")


# A match to build if the topic needs it: (hit, or (field, start, end) of a proximity pair),
# term label, weight, kind, entity.
_Pending = tuple[Hit | tuple[int, int, int], str, float, str, str]


@dataclass
class _ItemHits:
    """Everything found in one item (local to one ``score`` call)."""

    item: Item
    texts: list[str]
    norms: list[Normalized]
    by_pattern: dict[int, list[Hit]] = field(default_factory=dict)
    words: dict[int, list[int]] = field(default_factory=dict)
    snippets: dict[tuple[int, int, int], str] = field(default_factory=dict)

    def word_index(self, f: int, pos: int) -> int:
        starts = self.words.get(f)
        if starts is None:
            starts = [m.start() for m in WORD_RE.finditer(self.norms[f].text)]
            self.words[f] = starts
        return bisect.bisect_right(starts, pos)

    def word_gap(self, f: int, p: int, q: int, few: bool) -> int:
        """How many words apart positions ``p`` and ``q`` of field ``f`` are (the difference
        of their ``word_index``): for a few pairs, the word starts between them are counted
        in C; for many, the index of the whole field is built once."""
        if not few:
            return abs(self.word_index(f, p) - self.word_index(f, q))
        lo, hi = (p, q) if p <= q else (q, p)
        if lo == hi:
            return 0
        return len(_WORD_START.findall(self.norms[f].text, lo + 1, hi + 1))

    def snippet(self, f: int, start: int, end: int) -> str:
        key = (f, start, end)
        s = self.snippets.get(key)
        if s is None:
            s = snippet(self.texts[f], start, end)
            self.snippets[key] = s
        return s


class Rules:
    """Compiled ``keywords.yaml``: ``score(item)`` says which topics alert and why."""

    def __init__(self, spec: RulesSpec, name: str = "keywords.yaml") -> None:
        self.spec = spec
        self.name = name
        self._c: CompiledRules = compile_rules(spec)
        self.topic_ids: tuple[str, ...] = tuple(t.id for t in self._c.topics)
        self.topic_titles: dict[str, str] = {t.id: t.title for t in self._c.topics}
        self._titles = {lang: {t.id: t.title_in(lang) for t in spec.topics} for lang in LANGUAGES}
        # which (topic, term) each pattern and each entity feeds: scoring walks what was
        # found, not every term of every topic, so its cost does not grow with the rules
        pattern_uses: dict[int, list[tuple[int, int]]] = {}
        entity_uses: dict[str, list[tuple[int, int]]] = {}
        for t_index, topic in enumerate(self._c.topics):
            for term_index, term in enumerate(topic.terms):
                if term.entity:
                    entity_uses.setdefault(term.entity, []).append((t_index, term_index))
                else:
                    for pid in term.patterns:
                        pattern_uses.setdefault(pid, []).append((t_index, term_index))
        self._pattern_uses = {k: tuple(v) for k, v in pattern_uses.items()}
        self._entity_uses = {k: tuple(v) for k, v in entity_uses.items()}
        alias_of: dict[int, list[str]] = {}  # pattern -> entities it is an alias of
        for eid, ent in self._c.entities.items():
            for pid in ent.aliases:
                alias_of.setdefault(pid, []).append(eid)
        self._alias_of = {k: tuple(v) for k, v in alias_of.items()}
        # The result for an item in which no pattern matched (most items of most feeds): what
        # the topics give with nothing found, computed once (results are immutable).
        nothing = _ItemHits(Item("", "", "", ""), ["" for _ in FIELDS], [])
        self._nothing_found = ScoreResult(
            tuple(self._topic(t, [], nothing, {}, True) for t in self._c.topics)
        )

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> Rules:
        spec, _ = parse_spec(text, name)
        return cls(spec, name)

    @classmethod
    def from_path(cls, path: Path | str) -> Rules:
        spec, _ = parse_spec(None, str(path))
        return cls(spec, str(path))

    def titles_in(self, lang: str) -> dict[str, str]:
        """Topic id -> title in ``lang`` (English where keywords.yaml gives none)."""
        return self._titles.get(lang, self.topic_titles)

    @property
    def pattern_count(self) -> int:
        return len(self._c.patterns)

    # -- matching ---------------------------------------------------------------------------

    def _find(self, item: Item) -> _ItemHits:
        texts = [item.field_text(f) or "" for f in FIELDS]
        norms = [normalize(t) for t in texts]
        found = _ItemHits(item, texts, norms)
        automaton = self._c.automaton
        if automaton.kind != ahocorasick.AHOCORASICK:
            return found
        patterns = self._c.patterns
        by_pattern = found.by_pattern
        for f, norm in enumerate(norms):
            s = norm.text
            n = len(s)
            if not n:
                continue
            identity = norm.starts is None and norm.segments is None
            room = MAX_HITS_PER_FIELD
            for last, (length, ids) in automaton.iter(s):
                room -= 1
                if room < 0:  # a text stuffed with terms: the first ones decide
                    break
                nend = last + 1
                nstart = nend - length
                for pid in ids:
                    p: CompiledPattern = patterns[pid]
                    if p.left_bound and nstart > 0:
                        c = s[nstart - 1]  # is_word_char(c), without a call for most c
                        if c.isalnum() or c == "_" or (c >= "\u0300" and is_word_char(c)):
                            continue
                    end = nend
                    if p.verify is not None:
                        m = p.verify.match(s, nstart)
                        if m is None:
                            continue
                        end = m.end()
                    elif p.prefix:
                        end = _word_end(s, end)
                    elif p.right_bound and end < n:
                        c = s[end]
                        if c.isalnum() or c == "_" or (c >= "\u0300" and is_word_char(c)):
                            continue
                    a, b = (nstart, end) if identity else norm.span(nstart, end)
                    hit = Hit(pid, f, nstart, end, a, b)
                    hits = by_pattern.get(pid)
                    if hits is None:
                        by_pattern[pid] = [hit]
                    else:
                        hits.append(hit)
        return found

    # -- scoring ----------------------------------------------------------------------------

    def score(self, item: Item, *, explain: bool = True) -> ScoreResult:
        """Score ``item`` against every topic. Pure; never raises on any text.

        ``explain=False`` (the poll pipeline) leaves out the matches of topics that do not
        alert: scores, ``alerted``, ``vetoed_by`` and ``missing`` are the same, and alerting
        topics keep all their matches; building matches and snippets is most of the cost.
        """
        found = self._find(item)
        if not found.by_pattern:  # no term, entity, proximity or exclusion can count
            return self._nothing_found
        present = self._entities(found)
        fired: dict[int, set[int]] = {}
        for pid in found.by_pattern:
            for t_index, term_index in self._pattern_uses.get(pid, ()):
                fired.setdefault(t_index, set()).add(term_index)
        for eid in present:
            for t_index, term_index in self._entity_uses.get(eid, ()):
                fired.setdefault(t_index, set()).add(term_index)
        return ScoreResult(
            tuple(
                self._topic(t, sorted(fired.get(i, ())), found, present, explain)
                for i, t in enumerate(self._c.topics)
            )
        )

    def _entities(self, found: _ItemHits) -> dict[str, list[Hit]]:
        out: dict[str, list[Hit]] = {}
        alias_of = self._alias_of
        candidates = {eid for pid in found.by_pattern for eid in alias_of.get(pid, ())}
        if not candidates:
            return out
        for eid, ent in self._c.entities.items():
            if eid not in candidates:  # none of its aliases was found
                continue
            hits = _hits(found, ent.aliases)
            if hits and ent.excepts:
                masks = _hits(found, ent.excepts)
                hits = outside(hits, masks)
            if hits:
                out[eid] = hits
        return out

    def _term_hits(
        self, term: CompiledTerm, found: _ItemHits, present: dict[str, list[Hit]]
    ) -> list[Hit]:
        if term.entity:
            return present.get(term.entity, [])
        return _hits(found, term.patterns)

    def _exclusions_possible(
        self, topic: CompiledTopic, found: _ItemHits, present: dict[str, list[Hit]]
    ) -> bool:
        return not (
            topic.exclusion_patterns.isdisjoint(found.by_pattern)
            and topic.exclusion_entities.isdisjoint(present)
        )

    def _topic(
        self,
        topic: CompiledTopic,
        fired: list[int],
        found: _ItemHits,
        present: dict[str, list[Hit]],
        explain: bool = True,
    ) -> TopicScore:
        # What the matches will be, in order; built (snippets and all) only when needed.
        pending: list[_Pending] = []
        fw = topic.field_weights
        ignored = _hits(found, topic.ignore) if topic.ignore else []
        score = 0.0
        anchors: list[Hit] = []  # where the topic's evidence is (for require.within)
        for term_index, hits in self._fired_hits(topic, fired, found, present, ignored):
            term = topic.terms[term_index]
            best = max(hits, key=lambda h: (fw[h.field], -h.start))
            added = term.weight * fw[best.field]
            score += added
            kind = "entity" if term.entity else "term"
            if not term.entity:
                anchors.extend(hits)
            ordered = [best, *[h for h in hits if h is not best]]
            for i, h in enumerate(ordered[:MAX_MATCHES_PER_TERM]):
                pending.append((h, term.label, added if i == 0 else 0.0, kind, term.entity))
        for near in topic.near:
            pair = self._near_pair(found, near.left, near.right, near.within, ignored, fw)
            if pair is None:
                continue
            a, b = pair
            anchors.extend(pair)
            added = near.weight * fw[a.field]
            score += added
            span = (a.field, min(a.start, b.start), max(a.end, b.end))
            pending.append((span, near.label, added, "proximity", ""))
        vetoed_by: Match | None = None
        if self._exclusions_possible(topic, found, present):
            score = self._subtract(topic, found, present, pending, score)
            vetoed_by = self._veto(topic, found, present)
        missing, too_far = self._required(topic, found, present, anchors, pending)
        score = round(max(score, 0.0), 6)
        alerted = vetoed_by is None and not missing and not too_far and score >= topic.threshold
        matches = [self._built(found, p) for p in pending] if explain or alerted else []
        return TopicScore(
            topic=topic.id,
            title=topic.title,
            score=score,
            threshold=topic.threshold,
            alerted=alerted,
            matches=tuple(_dedupe(matches)),
            vetoed_by=vetoed_by,
            missing=tuple(missing),
            too_far=too_far,
        )

    def _fired_hits(
        self,
        topic: CompiledTopic,
        fired: list[int],
        found: _ItemHits,
        present: dict[str, list[Hit]],
        ignored: list[Hit],
    ) -> list[tuple[int, list[Hit]]]:
        """The fired terms' hits outside ``ignore`` spans, a term inside a longer one dropped."""
        fired_hits: list[tuple[int, list[Hit]]] = []
        for term_index in fired:
            hits = self._term_hits(topic.terms[term_index], found, present)
            if ignored:
                hits = outside(hits, ignored)
            if hits:
                fired_hits.append((term_index, hits))
        if len(fired_hits) > 1:
            fired_hits = _drop_nested(fired_hits, topic.terms)
        return fired_hits

    def _subtract(
        self,
        topic: CompiledTopic,
        found: _ItemHits,
        present: dict[str, list[Hit]],
        pending: list[_Pending],
        score: float,
    ) -> float:
        """``score`` less what the topic's ``subtract`` terms found (noted in ``pending``)."""
        for term in topic.subtract:
            hits = self._term_hits(term, found, present)
            if hits:
                score -= term.weight
                pending.append((hits[0], term.label, -term.weight, "exclusion", ""))
        return score

    def _veto(
        self, topic: CompiledTopic, found: _ItemHits, present: dict[str, list[Hit]]
    ) -> Match | None:
        for term in topic.veto:
            hits = self._term_hits(term, found, present)
            if hits:
                return self._match(found, hits[0], term.label, 0.0, "exclusion")
        return None

    def _required(
        self,
        topic: CompiledTopic,
        found: _ItemHits,
        present: dict[str, list[Hit]],
        anchors: list[Hit],
        pending: list[_Pending],
    ) -> tuple[list[str], str]:
        """The required entities that are missing (as text), and, when they are all there but
        some are not within ``within`` words of the evidence, which (as text); appends the
        entity matches to ``pending``."""
        within = topic.within
        missing: list[str] = []
        far: list[str] = []

        def close(eid: str) -> Hit | None:
            if within is None:
                return present[eid][0]
            return _near_any(found, present[eid], anchors, within)

        for eid in topic.all_of:
            if eid not in present:
                missing.append(self._c.entities[eid].title)
                continue
            h = close(eid)
            if h is None:
                far.append(self._c.entities[eid].title)
            pending.append((h or present[eid][0], "@" + eid, 0.0, "entity", eid))
        if topic.any_of:
            titles = " or ".join(self._c.entities[e].title for e in topic.any_of)
            have = [eid for eid in topic.any_of if eid in present]
            if not have:
                missing.append(titles)
            shown = {eid: h for eid in have if (h := close(eid)) is not None}
            if have and not shown:
                far.append(titles)
            for eid in have:
                h = shown.get(eid, present[eid][0])
                pending.append((h, "@" + eid, 0.0, "entity", eid))
        if missing or not far:
            return missing, ""
        return missing, f"{'; '.join(far)} within {within} words of a term"

    def _built(self, found: _ItemHits, p: _Pending) -> Match:
        where, term, weight, kind, entity = p
        if isinstance(where, Hit):
            return self._match(found, where, term, weight, kind, entity)
        f, start, end = where  # a proximity pair: the span covering both sides
        return Match(
            term=term,
            text=found.texts[f][start:end],
            field=FIELDS[f],
            start=start,
            end=end,
            weight=weight,
            snippet=found.snippet(f, start, end),
            kind=kind,
        )

    def _near_pair(
        self,
        found: _ItemHits,
        left: frozenset[int],
        right: frozenset[int],
        within: int,
        ignored: list[Hit],
        fw: tuple[float, ...],
    ) -> tuple[Hit, Hit] | None:
        lhits = _hits(found, left)
        if not lhits:
            return None
        rhits = _hits(found, right)
        if not rhits:
            return None
        if ignored:
            lhits = outside(lhits, ignored)
        if len(lhits) * len(rhits) > 256:
            answered, pair = first_near_pair(lhits, rhits, within, fw, found.word_index)
            if answered:
                return pair
        best: tuple[Hit, Hit] | None = None
        few = len(lhits) * len(rhits) <= 16
        for a in lhits:
            for b in rhits:
                if a.field != b.field or (a.nstart == b.nstart and a.nend == b.nend):
                    continue
                if best is not None and fw[a.field] <= fw[best[0].field]:
                    continue  # could not replace the pair found
                if found.word_gap(a.field, a.nstart, b.nstart, few) <= within:
                    best = (a, b)
        return best

    def _match(
        self, found: _ItemHits, h: Hit, term: str, weight: float, kind: str, entity: str = ""
    ) -> Match:
        return Match(
            term=term,
            text=found.texts[h.field][h.start : h.end],
            field=FIELDS[h.field],
            start=h.start,
            end=h.end,
            weight=weight,
            snippet=found.snippet(h.field, h.start, h.end),
            kind=kind,
            entity=entity,
        )


def _word_end(s: str, i: int) -> int:
    """Where the run of word characters (``is_word_char``) starting at ``i`` ends: ``\\w``
    runs by regex, the combining marks between them one by one."""
    n = len(s)
    while i < n:
        m = _WORD_RUN.match(s, i)
        if m is not None:
            i = m.end()
        elif is_word_char(s[i]):
            i += 1
        else:
            break
    return i


def _hits(found: _ItemHits, patterns: frozenset[int]) -> list[Hit]:
    """Every hit of any of ``patterns``, in text order (walks the smaller of the two sets)."""
    by = found.by_pattern
    if len(by) <= len(patterns):
        pids = [pid for pid in by if pid in patterns]
    else:
        pids = [pid for pid in patterns if pid in by]
    if not pids:
        return []
    if len(pids) == 1:
        return by[pids[0]]
    out: list[Hit] = []
    for pid in pids:
        out.extend(by[pid])
    out.sort(key=lambda h: (h.field, h.start))
    return out


def _near_any(found: _ItemHits, hits: list[Hit], anchors: list[Hit], within: int) -> Hit | None:
    """The first of ``hits`` within ``within`` words of one of ``anchors`` (same field)."""
    few = len(hits) * len(anchors) <= 16
    for h in hits:
        for a in anchors:
            if a.field == h.field and found.word_gap(h.field, h.nstart, a.nstart, few) <= within:
                return h
    return None


def _drop_nested(
    fired: list[tuple[int, list[Hit]]], terms: tuple[CompiledTerm, ...]
) -> list[tuple[int, list[Hit]]]:
    """Within one topic, a hit inside a longer hit of another term does not count again
    ("police" inside "border police"); of terms matching the same words, the heaviest wins
    (the first listed on a tie)."""

    def beats(j: int, i: int) -> bool:
        wj, wi = terms[j].weight, terms[i].weight
        return wj > wi or (wj == wi and j < i)

    if sum(len(hits) for _, hits in fired) > 64:
        return nested_in_other(fired, beats)
    spans = [(h.field, h.nstart, h.nend, i) for i, hits in fired for h in hits]

    out: list[tuple[int, list[Hit]]] = []
    for i, hits in fired:
        kept = [
            h
            for h in hits
            if not any(
                f == h.field
                and a <= h.nstart
                and h.nend <= b
                and j != i
                and (b - a > h.nend - h.nstart or beats(j, i))
                for f, a, b, j in spans
            )
        ]
        if kept:
            out.append((i, kept))
    return out


def _dedupe(matches: list[Match]) -> list[Match]:
    seen: set[tuple[str, str, int, int, str]] = set()
    out: list[Match] = []
    for m in matches:
        key = (m.term, m.field, m.start, m.end, m.kind)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def load_rules(path: Path | str) -> Rules:
    """Read, check and compile a keywords.yaml; ``ConfigError`` lists every problem."""
    return Rules.from_path(path)
