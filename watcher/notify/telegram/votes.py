"""The buttons under alerts and near misses (pure): their keyboards and their callback data.

Callback data is at most 64 bytes and comes back from anyone who can press a button (or
forge an update), so ``parse`` accepts only these shapes and everything else is ``None``:

    v:ALERT:r | v:ALERT:n        relevant / not relevant
    v:ALERT:w                    wrong topic: show the topics to pick from
    v:ALERT:w:TOPIC              wrong topic, the right one is TOPIC
    v:ALERT:b                    back from the topic list
    r:ITEM:s:TOPIC | r:ITEM:k    a near miss should have alerted for TOPIC / was right to skip
    r:m:CREATED:ITEM             more near misses, after this one

TOPIC is the topic id, or ``#`` and a short digest of it when the id is too long to fit.
The labels are the catalogue's (``watcher.notify.i18n``) in the language given, the topics'
titles cut to ``MAX_TITLE``; the callback data does not depend on the language.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from watcher.display import cut
from watcher.notify.i18n import DEFAULT, say
from watcher.store.labels import Tally

MAX_DATA = 64  # bytes of callback data Telegram keeps
MAX_TOKEN = 40  # a topic id longer than this travels as its digest
# a topic title on a button is cut to this: phones show about 35 characters of a full-width
# button and elide the rest themselves, but a title the length of a sentence is no label
MAX_TITLE = 48
CHOSEN = "✓ "

# verdicts of the store (watcher.store.labels.VERDICTS) by their one-letter code
VOTE_CODES = {"r": "relevant", "n": "not_relevant", "w": "wrong_topic"}
REVIEW_CODES = {"s": "should_alert", "k": "right_to_skip"}
_TOKEN = r"(#[0-9a-f]{8}|[a-z][a-z0-9_]{0,39})"
_VOTE = re.compile(rf"v:(\d{{1,18}}):(r|n|b|w)(?::{_TOKEN})?")
_REVIEW = re.compile(rf"r:(\d{{1,18}}):(k|s)(?::{_TOKEN})?")
_MORE = re.compile(r"r:m:([0-9][0-9.e+-]{0,23}):(\d{1,18})")


@dataclass(frozen=True, slots=True)
class Press:
    """A button press, parsed: ``kind`` "vote", "review" or "more"."""

    kind: str
    target: int  # the alert (vote), the item (review, more)
    action: str  # a verdict, "topics" (show the list), "back", or "more"
    token: str = ""  # the topic's token, for verdicts that name a topic
    created_at: float = 0.0  # "more": the cursor's time


def topic_token(topic: str) -> str:
    if len(topic) <= MAX_TOKEN:
        return topic
    return "#" + hashlib.blake2b(topic.encode(), digest_size=4).hexdigest()


def resolve_topic(token: str, topic_ids: Sequence[str]) -> str | None:
    """The topic of the rules in force that ``token`` names (None: not one of them)."""
    for topic in topic_ids:
        if topic_token(topic) == token:
            return topic
    return None


def parse(data: str | None) -> Press | None:
    """The press ``data`` stands for, or None for anything that is not ours."""
    if not data or len(data.encode("utf-8", "replace")) > MAX_DATA:
        return None
    if m := _VOTE.fullmatch(data):
        code, token = m.group(2), m.group(3) or ""
        if token and code != "w":
            return None
        if code == "w":
            action = "wrong_topic" if token else "topics"
        else:
            action = "back" if code == "b" else VOTE_CODES[code]
        return Press("vote", int(m.group(1)), action, token)
    if m := _REVIEW.fullmatch(data):
        code, token = m.group(2), m.group(3) or ""
        if (code == "s") != bool(token):
            return None
        return Press("review", int(m.group(1)), REVIEW_CODES[code], token)
    if m := _MORE.fullmatch(data):
        try:
            created_at = float(m.group(1))
        except ValueError:
            return None
        if math.isfinite(created_at):
            return Press("more", int(m.group(2)), "more", created_at=created_at)
    return None


def _button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode()) <= MAX_DATA, data
    return InlineKeyboardButton(text, callback_data=data)


def _marked(text: str, chosen: bool) -> str:
    return CHOSEN + text if chosen else text


def button_title(topic: str, titles: Mapping[str, str]) -> str:
    return cut(titles.get(topic) or topic, MAX_TITLE)


def vote_keyboard(
    alert_id: int,
    lang: str = DEFAULT,
    verdict: str | None = None,
    topic_title: str = "",
    counts: Tally | None = None,
) -> InlineKeyboardMarkup:
    """relevant / not relevant / wrong topic: in a private chat the voter's ``verdict`` marked
    (for a wrong topic, the right one named); in a group or channel, whose keyboard every
    member sees, the ``counts`` of votes instead."""

    def text(key: str, n: int) -> str:
        if key == "wrong_topic" and topic_title:
            label = say(lang, "vote_wrong_topic_is", topic=cut(topic_title, MAX_TITLE))
        else:
            label = say(lang, f"vote_{key}")
        if counts is not None:
            return f"{label} · {n}" if n else label
        return _marked(label, verdict == key)

    tally = counts or Tally()
    return InlineKeyboardMarkup(
        [
            [
                _button(text("relevant", tally.relevant), f"v:{alert_id}:r"),
                _button(text("not_relevant", tally.not_relevant), f"v:{alert_id}:n"),
            ],
            [_button(text("wrong_topic", tally.wrong_topic), f"v:{alert_id}:w")],
        ]
    )


def topic_keyboard(
    alert_id: int,
    topic_ids: Sequence[str],
    titles: Mapping[str, str],
    chosen: str | None = None,
    lang: str = DEFAULT,
) -> InlineKeyboardMarkup:
    """One button per topic (its title in ``lang``) to name the right topic, and a way back."""
    rows = [
        [_button(_marked(button_title(t, titles), t == chosen), f"v:{alert_id}:w:{topic_token(t)}")]
        for t in topic_ids
    ]
    rows.append([_button(say(lang, "button_back"), f"v:{alert_id}:b")])
    return InlineKeyboardMarkup(rows)


def review_keyboard(
    item_id: int,
    topics: Sequence[str],
    titles: Mapping[str, str],
    *,
    verdict: str | None = None,
    chosen: str | None = None,
    more: tuple[float, int] | None = None,
    lang: str = DEFAULT,
) -> InlineKeyboardMarkup:
    """ "should have alerted: TOPIC" per candidate topic, "right to skip", and "more" (after
    ``more``, the cursor of the last near miss shown) when there may be more."""
    rows = [
        [
            _button(
                _marked(
                    say(lang, "review_should_alert", topic=button_title(t, titles)),
                    verdict == "should_alert" and t == chosen,
                ),
                f"r:{item_id}:s:{topic_token(t)}",
            )
        ]
        for t in topics
    ]
    skip = _marked(say(lang, "review_right_to_skip"), verdict == "right_to_skip")
    rows.append([_button(skip, f"r:{item_id}:k")])
    if more is not None:
        rows.append([_button(say(lang, "button_more"), f"r:m:{more[0]!r}:{more[1]}")])
    return InlineKeyboardMarkup(rows)
