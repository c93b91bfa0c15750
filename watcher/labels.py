"""From votes to labels (pure): what a vote says an item's topics are, one decision per item,
corpus lines for ``watcher labels export``, and the figures of ``watcher labels stats``.

A vote names the topics an item should alert for: ``relevant`` confirms its alert's topics
(or the topic it names), ``wrong_topic`` and ``should_alert`` name the right one,
``not_relevant`` and ``right_to_skip`` say it should not alert (no topic). Admins' votes are
labels: an item's label is what its admins say, by majority when they differ (a tie leaves it
out). Users' votes are signals: exported only with ``include_signals``, for items no admin
labelled, when at least ``MIN_SIGNALS`` users voted and most of them agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

from watcher.store.labels import Vote, VotedItem

MIN_SIGNALS = 2  # users who must have voted before their majority counts
Topics = frozenset[str]


def vote_topics(vote: Vote, alert_topics: Sequence[str]) -> Topics | None:
    """The topics ``vote`` says the item should alert for (None: it cannot tell, a
    "relevant" vote on an item that has no alert and names no topic)."""
    if vote.verdict in ("not_relevant", "right_to_skip"):
        return frozenset()
    if vote.topic:
        return frozenset({vote.topic})
    return frozenset(alert_topics) or None


def _majority(sets: Sequence[Topics], at_least: int) -> Topics | None:
    if not sets or len(sets) < at_least:
        return None
    best, n = Counter(sets).most_common(1)[0]
    return best if n * 2 > len(sets) else None


@dataclass(frozen=True, slots=True)
class Decision:
    labels: Topics | None  # None: left out
    by: str  # "admins", "signals", or why it was left out


def decide(item: VotedItem, *, include_signals: bool = False) -> Decision:
    """The item's labels from its votes."""
    admins = [vote_topics(v, item.alert_topics) for v in item.votes if v.is_label]
    said = [t for t in admins if t is not None]
    if admins:
        labels = _majority(said, 1)
        why = "admins" if labels is not None else "admins disagree" if said else "no topic known"
        return Decision(labels, why)
    if not include_signals:
        return Decision(None, "signals only")
    users = [vote_topics(v, item.alert_topics) for v in item.votes]
    labels = _majority([t for t in users if t is not None], MIN_SIGNALS)
    return Decision(labels, "signals" if labels is not None else "signals undecided")


def corpus_line(item: VotedItem, labels: Topics, by: str) -> dict[str, Any]:
    """One line of a labelled corpus (shared/corpus/README.md); extra keys say where the
    labels come from and are ignored by the readers."""
    line: dict[str, Any] = {
        "id": f"item-{item.item_id}",
        "lang": item.language,
        "source": item.source_id,
        "title": item.title,
        "summary": item.summary,
        "content": "",
        "url": item.url,
        "labels": sorted(labels),
        "labelled_by": by,
        "votes": len(item.votes),
    }
    if item.published_at is not None:
        when = datetime.fromtimestamp(item.published_at, UTC)
        line["published"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if item.story_id is not None:  # reports of one story stay in one cross-validation fold
        line["story"] = f"story-{item.story_id}"
    return line


@dataclass
class Export:
    lines: list[dict[str, Any]] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)  # why, how many items


def export(
    items: Iterable[VotedItem], topics: Collection[str], *, include_signals: bool = False
) -> Export:
    """Corpus lines for the items whose votes decide their labels; the rest counted by why.
    Labels naming a topic not in ``topics`` (removed from keywords.yaml) leave the item out:
    dropping the topic would turn the label into "should not alert"."""
    out = Export()
    for item in items:
        decision = decide(item, include_signals=include_signals)
        if decision.labels is None:
            out.left_out[decision.by] += 1
        elif not decision.labels <= set(topics):
            out.left_out["topic not in keywords.yaml"] += 1
        else:
            out.lines.append(corpus_line(item, decision.labels, decision.by))
    return out


@dataclass
class Stats:
    votes: int = 0
    items: int = 0
    by_verdict: Counter[str] = field(default_factory=Counter)
    by_role: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    shared_items: int = 0  # items with votes of two voters or more
    unanimous: int = 0  # of those, items where every voter says the same
    pairs: int = 0  # pairs of voters on one item
    agreeing_pairs: int = 0
    judged: Counter[str] = field(default_factory=Counter)  # votes on alerts, by alerted topic
    wrong: Counter[str] = field(default_factory=Counter)  # ... saying the topic was wrong
    missed: Counter[str] = field(default_factory=Counter)  # topics people said should alert

    def as_json(self) -> dict[str, Any]:
        return {
            "votes": self.votes,
            "items": self.items,
            "by_verdict": dict(self.by_verdict),
            "by_role": dict(self.by_role),
            "by_channel": dict(self.by_channel),
            "agreement": {
                "items_with_several_voters": self.shared_items,
                "unanimous_items": self.unanimous,
                "voter_pairs": self.pairs,
                "agreeing_pairs": self.agreeing_pairs,
            },
            "wrong_by_topic": {t: [self.wrong[t], self.judged[t]] for t in self.judged},
            "missed_by_topic": dict(self.missed),
        }


def stats(items: Iterable[VotedItem]) -> Stats:
    """Counts, agreement between voters on one item, and per topic how often its alerts were
    voted wrong (not relevant, or another topic) and how often it was said to be missed."""
    s = Stats()
    for item in items:
        s.items += 1
        said = [vote_topics(v, item.alert_topics) for v in item.votes]
        for v, topics in zip(item.votes, said, strict=True):
            s.votes += 1
            s.by_verdict[v.verdict] += 1
            s.by_role[v.role] += 1
            s.by_channel[v.channel] += 1
            _judge(s, item.alert_topics, topics)
        known = [t for t in said if t is not None]
        if len(known) >= 2:
            s.shared_items += 1
            s.unanimous += len(set(known)) == 1
            for a, b in combinations(known, 2):
                s.pairs += 1
                s.agreeing_pairs += a == b
    return s


def _judge(s: Stats, alerted: Sequence[str], said: Topics | None) -> None:
    if said is None:
        return
    for topic in alerted:
        s.judged[topic] += 1
        s.wrong[topic] += topic not in said
    for topic in said - set(alerted):
        s.missed[topic] += 1


def render_stats(s: Stats, top: int = 5) -> list[str]:
    """``watcher labels stats`` as lines of text."""
    if not s.votes:
        return ["no votes yet: vote with the buttons under Telegram alerts, or /review"]
    lines = [
        f"{s.votes} votes on {s.items} items: "
        + ", ".join(f"{v} {n}" for v, n in s.by_verdict.most_common()),
        "by role: " + ", ".join(f"{r} {n}" for r, n in sorted(s.by_role.items()))
        + "; by channel: " + ", ".join(f"{c} {n}" for c, n in sorted(s.by_channel.items())),
    ]  # fmt: skip
    if s.shared_items:
        lines.append(
            f"agreement: {s.unanimous} of {s.shared_items} items with several voters are"
            f" unanimous; {s.agreeing_pairs} of {s.pairs} voter pairs agree"
            f" ({s.agreeing_pairs / s.pairs:.0%})"
        )
    else:
        lines.append("agreement: no item has votes of two voters yet")
    ranked = sorted(s.judged, key=lambda t: (-s.wrong[t] / s.judged[t], -s.judged[t], t))
    wrong = [t for t in ranked if s.wrong[t]][:top]
    lines.append("topics most often wrong (votes saying an alert's topic was wrong):")
    lines += [f"  {t}: {s.wrong[t]} of {s.judged[t]} votes" for t in wrong] or ["  none"]
    if s.missed:
        lines.append("topics said to be missed (should have alerted, or the right topic):")
        lines += [f"  {t}: {n}" for t, n in s.missed.most_common(top)]
    return lines
