"""Whether two reports tell of one development: what contradicts it, what supports it.

A merge needs positive evidence (a name, a figure, a date or places both give) on top of
similar wording, and nothing contradicting it: different figures in a headline, different
places, dates days apart, different stages of one process (signed / ratified). Shared
vocabulary alone never merges two reports: every deportation from China reads alike. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from watcher.stories.anchors import (
    ONE_OF_A_KIND,
    Anchors,
    count_key,
    counts_compatible,
    name_key,
    names_match,
    place_key,
    role_key,
)
from watcher.stories.places import same_places, specific


@dataclass(frozen=True, slots=True)
class EvidenceWeights:
    """What each kind of shared anchor is worth (1.0: enough on its own)."""

    name: float = 1.0  # a surname of five consonant classes or more, rare in the window
    short_name: float = 0.7  # ... of four (three: half of it)
    korean_name: float = 0.7  # factor when one side is Korean (any word may match a name)
    large_count: float = 1.0  # the same exact figure of 20 or more ("2,508 workers")
    round_count: float = 0.7  # ... a round one (1,000) or two estimates (500 / 600여)
    count: float = 0.5  # 3 to 19
    small_count: float = 0.3  # 1 or 2: "two soldiers" is in every report on the two POWs
    role: float = 0.7  # an office both name (its holder: one person), at most two
    day: float = 0.35  # the same day of the month (one in 31 pairs of reports shares one)
    place: float = 0.35  # each shared place, at most two (many developments happen at Kursk)
    stage: float = 0.3  # the same stage of a process (both "signed")
    subject: float = 0.5  # the same subject (both about an extradition treaty)
    treaty: float = 0.7  # ... at the same stage, between the same countries: that treaty
    korean_word: float = 0.35  # Korean to Korean: a word few recent stories use, at most two
    day_tolerance: int = 1  # days of the month this far apart are the same date


def conflict(a: Anchors, b: Anchors, day_tolerance: int = 1) -> str:
    """Why ``a`` and ``b`` cannot be one development ("" when nothing contradicts)."""
    headline = (a.title_places and b.places) or (b.title_places and a.places)
    if headline and not same_places(a.places, b.places):
        return "places"  # a headline says where, and the other report names only other places
    if a.subjects and b.subjects and not a.subjects & b.subjects:
        return "subject"
    if a.kinds and b.kinds and not _kinds_agree(a.kinds, b.kinds):
        return "kind"  # the headlines name different kinds of event
    if _other_countries(a, b) or _other_countries(b, a):
        return "countries"
    approx = a.approx | b.approx
    for x, y in ((a, b), (b, a)):
        if x.title_counts and y.counts and not _compatible(x.title_counts, y.counts, approx):
            return "figures"
    if a.days and b.days and not _near_days(a.days, b.days, day_tolerance):
        return "dates"
    other = dict(b.stages)
    for process, stage in a.stages:
        if process in other and other[process] != stage:
            return "stage"
    if a.ratifier and b.ratifier and a.ratifier != b.ratifier:
        return "stage"  # the Duma's ratification is not North Korea's
    return ""


@dataclass(frozen=True, slots=True)
class Support:
    """Positive evidence two reports share: of this development (a name, a figure, a date, a
    place) and of its kind (the same stage of a process, the same subject), which many
    developments share and which therefore never merges two reports on its own."""

    instance: float
    kind: float

    @property
    def total(self) -> float:
        return self.instance + self.kind


def support(
    a: Anchors,
    b: Anchors,
    weights: EvidenceWeights,
    rarity: Callable[[str], float] = lambda key: 1.0,
) -> Support:
    """How much positive evidence ``a`` and ``b`` share (see ``EvidenceWeights``).

    ``rarity(posting key)`` scales a shared name, place or figure down when many recent
    stories share it too."""
    figure = _counts(a, b, weights, rarity)
    small = figure <= weights.small_count  # "two soldiers": said of many developments
    instance = _people(a, b, weights, rarity) + (0.0 if small else figure)
    if a.days & b.days:
        instance += weights.day
    shared = specific(a.places) & specific(b.places)  # Dandong, Liaoning: one place
    places = sorted((rarity(place_key(p)) for p in shared), reverse=True)
    instance += weights.place * sum(places[:2])
    kind = weights.stage * len(set(a.stages) & set(b.stages)) + (figure if small else 0.0)
    if a.subjects & b.subjects:
        kind += weights.subject
    if a.treaty and a.treaty == b.treaty:
        instance += weights.treaty
    return Support(instance, kind)


def _people(
    a: Anchors, b: Anchors, weights: EvidenceWeights, rarity: Callable[[str], float]
) -> float:
    """Names and offices both give. An office is its holder: with a shared name it would
    count them twice, but it tells that a Korean word matching a name is that name (Korean
    words are not known to be names: ``EvidenceWeights.korean_name``). It counts on its own
    only when one report names nobody: two reports naming two people (none in both) are
    about two people, who may hold one office at two times."""
    names = _names(a, b, weights, rarity)
    if names and a.hangul != b.hangul and _offices(a, b, exact=False):
        return names / weights.korean_name
    both_named = not (a.hangul or b.hangul) and bool(a.names) and bool(b.names)
    if (names and not (a.hangul and b.hangul)) or both_named:
        return names
    shared = sorted((rarity(role_key(r)) for r in _offices(a, b, exact=True)), reverse=True)
    return names + weights.role * sum(v / (n + 1) for n, v in enumerate(shared[:2]))


def _offices(a: Anchors, b: Anchors, exact: bool) -> set[str]:
    """Offices both name, of one country. ``exact``: both say which (bodies there is one of
    say none); else one of them may leave it unsaid."""
    found = set()
    for role, country in a.roles:
        for other, where in b.roles:
            if role != other:
                continue
            if (exact and country == where and (country or role in ONE_OF_A_KIND)) or (
                not exact and (country == where or not country or not where)
            ):
                found.add(role)
    return found


def _names(
    a: Anchors, b: Anchors, weights: EvidenceWeights, rarity: Callable[[str], float]
) -> float:
    if a.hangul and b.hangul:  # every Korean word is a candidate name: only rare ones count
        rare = sum(1 for x in a.names & b.names if all(rarity(name_key(k)) >= 1 for k in x))
        return weights.korean_word * min(2, rare)
    found: list[float] = []
    factor = weights.korean_name if a.hangul or b.hangul else 1.0
    for run in a.names:  # one person, however many of their names match
        best = 0.0
        for x in run:
            for other in b.names:
                for y in other:
                    if names_match(x, y):
                        size = min(len(x), len(y))
                        value = weights.name if size >= 5 else weights.short_name
                        value *= 1.0 if size > 3 else 0.5
                        key = x if not a.hangul else y  # the side known to be a name
                        best = max(best, value * factor * rarity(name_key(key)))
        if best:
            found.append(best)
    found.sort(reverse=True)
    # two people both reports name are stronger evidence than one, not twice as strong
    return sum(v / (n + 1) for n, v in enumerate(found[:2]))


def _counts(
    a: Anchors, b: Anchors, weights: EvidenceWeights, rarity: Callable[[str], float]
) -> float:
    approx = a.approx | b.approx
    best = 0.0
    for x in a.counts:
        for y in b.counts:
            if not counts_compatible(x, y, approx):
                continue
            if x >= 20:
                value = weights.large_count if x == y and not _round(x) else weights.round_count
            else:
                value = weights.count if x >= 3 else weights.small_count
            best = max(best, value * (rarity(count_key(x)) if x >= 3 else 1.0))
    return best


def _other_countries(a: Anchors, b: Anchors) -> bool:
    """A country in ``a``'s headline that ``b`` never names, nor any place in it: Vietnam's
    prosecutors are not North Korea's, whoever met them; China's police chief meeting a
    Russian minister is not that minister signing with North Korea."""
    return bool(a.title_countries - b.countries)


# kinds that one development has together: an agreement is signed at a meeting
_TOGETHER = (
    frozenset(("meeting", "agreement")),
    frozenset(("arrival", "escape")),  # defectors who fled reach Seoul
)


def _kinds_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    if ("agreement" in a) != ("agreement" in b) and not (a | b) & {"meeting"}:
        return False  # a treaty's ratification is not a handover, whatever it enables
    return bool(a & b) or any(a & pair and b & pair for pair in _TOGETHER)


def _round(x: int) -> bool:
    """500, 1,000, 6,000: one significant digit (13,000 and 2,508 are specific)."""
    return x >= 100 and str(x).rstrip("0") in "123456789"


def _compatible(xs: frozenset[int], ys: frozenset[int], approx: frozenset[int]) -> bool:
    return any(counts_compatible(x, y, approx) for x in xs for y in ys)


def _near_days(xs: frozenset[int], ys: frozenset[int], tolerance: int) -> bool:
    return any(abs(x - y) <= tolerance or abs(x - y) >= 31 - tolerance for x in xs for y in ys)
