"""What a later report of a known story does: alert again, or only edit the first message."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from watcher.stories.anchors import counts_compatible, figures

TELEGRAM_MAX_LENGTH = 4096
MAX_FIGURES = 3


@dataclass(frozen=True, slots=True)
class RealertPolicy:
    """Whether a later report of a story alerts again instead of editing its first message.

    A material change is a new development, and a new development is a new story: a report
    whose headline gives other figures, places, dates or another stage of the process (an
    arrest, then the deportation) never joins the story (``watcher.stories.evidence``), so it
    alerts on its own. Within a story a later report only edits the first message, which then
    shows what it added (``additions``), unless configured here: alert again when it adds a
    topic, or when it scores ``score_factor`` times the story's best (both off by default)."""

    on_new_topic: bool = False
    score_factor: float = 0.0  # 0 disables

    def should_alert_again(
        self,
        new_topics: Collection[str],
        story_topics: Collection[str],
        new_score: float,
        best_score: float,
    ) -> bool:
        if self.on_new_topic and set(new_topics) - set(story_topics):
            return True
        return (
            self.score_factor > 0 and best_score > 0 and new_score >= self.score_factor * best_score
        )


def also_reported_line(names: Sequence[str], room: int, words: tuple[str, str, str]) -> str:
    """ "also reported by: A, B and 3 more" in at most ``room`` characters ("" if none fit).

    ``words``: the head, " and {n} more" and "{n} outlets" in the reader's language. Plain
    text: escape it for the message's parse mode after cutting.
    """
    head, more, outlets = words
    if not names or room <= len(head):
        return ""
    for shown in range(len(names), 0, -1):
        rest = len(names) - shown
        line = head + ", ".join(names[:shown]) + (more.format(n=rest) if rest else "")
        if len(line) <= room:
            return line
    line = head + outlets.format(n=len(names))
    return line if len(line) <= room else ""


def additions(
    topics: Collection[str], text: str, later: Sequence[tuple[str, Collection[str], str]]
) -> tuple[str, ...]:
    """What later reports added to a first alert (its ``topics`` and ``text``), from
    ``later`` = (outlet, topics, headline) in order: topics it did not have, and headline
    figures it did not give ("600 (SBS)"), each with the first outlet that gave it."""
    first = figures(text)
    new_topics: dict[str, str] = {}
    new_figures: dict[int, str] = {}
    for outlet, their_topics, headline in later:
        for topic in their_topics:
            if topic not in topics:
                new_topics.setdefault(topic, outlet)
        head = figures(headline)
        approx = head.approx | first.approx
        for count in sorted(head.counts):
            if count >= 3 and not any(counts_compatible(count, k, approx) for k in first.counts):
                new_figures.setdefault(count, outlet)
    out = [f"topic {t} ({o})" for t, o in new_topics.items()]
    out += [f"{c:,} ({o})" for c, o in list(new_figures.items())[:MAX_FIGURES]]
    return tuple(out)


def additions_line(added: Sequence[str], room: int, head: str) -> str:
    """ "later reports add: topic forced_labor (RFA), 600 (SBS)" in at most ``room``
    characters, dropping from the end ("" if none fit); ``head`` in the reader's language.
    Plain text."""
    for shown in range(len(added), 0, -1):
        line = head + ", ".join(added[:shown])
        if len(line) <= room:
            return line
    return ""
