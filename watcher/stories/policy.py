"""What a later report of a known story does: alert again, or only edit the first message."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

TELEGRAM_MAX_LENGTH = 4096
ALSO_REPORTED = "also reported by: "


@dataclass(frozen=True, slots=True)
class RealertPolicy:
    """A later report alerts again when it adds a topic or scores ``score_factor`` times higher
    than the story's best so far (both switchable)."""

    on_new_topic: bool = True
    score_factor: float = 2.0  # 0 disables

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


def also_reported_line(names: Sequence[str], room: int) -> str:
    """ "also reported by: A, B and 3 more" in at most ``room`` characters ("" if none fit).

    Plain text: escape it for the message's parse mode after cutting.
    """
    if not names or room <= len(ALSO_REPORTED):
        return ""
    for shown in range(len(names), 0, -1):
        rest = len(names) - shown
        line = ALSO_REPORTED + ", ".join(names[:shown]) + (f" and {rest} more" if rest else "")
        if len(line) <= room:
            return line
    line = f"{ALSO_REPORTED}{len(names)} outlets"
    return line if len(line) <= room else ""


def edited_text(original: str, names: Sequence[str], limit: int = TELEGRAM_MAX_LENGTH) -> str:
    """The first alert's text with the also-reported line appended, within ``limit``.

    Any earlier also-reported line is replaced, so repeated edits do not stack.
    """
    head, sep, _ = original.rpartition("\n\n" + ALSO_REPORTED)
    base = head if sep else original
    line = also_reported_line(names, limit - len(base) - 2)
    return f"{base}\n\n{line}" if line else base
