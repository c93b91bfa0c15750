"""``type: telegram``: a public Telegram channel, read from its web preview ``t.me/s/NAME``.

Much local news appears first in public channels, with no feed. The preview page lists the
channel's latest posts (about 20); each post with text becomes an item: its text (the first
line as title), the link to the post (``https://t.me/NAME/ID``) and its date. Posts without
text (a photo, a video, a poll) and service messages are skipped. No Telegram account, API key
or bot is needed, and the poll is the same as a feed's: conditional GET, back-off, health.

    - id: memorial-channel
      type: telegram
      channel: NAME            # or: url: https://t.me/NAME (or https://t.me/s/NAME)

Only channels with the web preview enabled have one (t.me/s/NAME of a group, a user or a
private channel shows no posts): such a page fails the poll with ``nothing usable`` and says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import field_validator, model_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.models import Item
from watcher.parse.charset import decode_html
from watcher.parse.markup import check_markup
from watcher.parse.text import html_to_text
from watcher.parse.urls import canonical_url
from watcher.sources.base import HTML_ACCEPT, Fetched, FetchRequest, SourceConfig

MAX_PAGE_BYTES = 8 * 1024 * 1024
MIN_TITLE_CHARS = 20  # a shorter first line ("Putin:") says nothing alone: the text is used
MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 20_000
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")  # a public name: 5-32 characters
_TME = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?@?([A-Za-z0-9_]+)/?(?:[?#].*)?$"
)
_POST = re.compile(r"^[A-Za-z0-9_]+/\d+$")  # data-post="NAME/ID"
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


class TelegramSource(SourceConfig):
    type: Literal["telegram"] = "telegram"
    channel: str = ""  # the channel's public name; read from ``url`` when only that is given

    @model_validator(mode="before")
    @classmethod
    def _channel_or_url(cls, data: Any) -> Any:
        """``channel: NAME`` (or @NAME, or its t.me link) gives ``url``; a t.me ``url`` gives
        ``channel``; any other ``url`` is a copy of the preview (a mirror, a test server)."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        channel, url = str(out.get("channel") or "").strip(), str(out.get("url") or "").strip()
        if not channel and not url:
            raise ValueError(
                "a telegram source needs 'channel: NAME' (or 'url: https://t.me/NAME')"
            )
        named = _TME.match(channel) if channel else None
        linked = _TME.match(url) if url else None
        name = named.group(1) if named else channel.removeprefix("@")
        if linked and name and linked.group(1).lower() != name.lower():
            raise ValueError(f"channel {name!r} and url {url!r} name different channels")
        name = name or (linked.group(1) if linked else url.rstrip("/").rsplit("/", 1)[-1])
        out["channel"] = name
        out["url"] = url if url and not linked else f"https://t.me/s/{name}"
        return out

    @field_validator("channel")
    @classmethod
    def _public_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(
                f"channel {v!r}: a public channel's name is 5-32 letters, digits or '_',"
                " as in t.me/NAME"
            )
        return v


@dataclass(frozen=True, slots=True)
class ParsedChannel:
    items: tuple[Item, ...]
    skipped: int = 0  # posts without text: photos, videos, polls, service messages
    bozo: bool = False  # the page has no post list at all
    bozo_reason: str = ""


class TelegramKind:
    name = "telegram"
    config = TelegramSource
    opml_type = "link"

    def request(self, source: SourceConfig) -> FetchRequest:
        return FetchRequest(source.url, HTML_ACCEPT)

    def parse(self, fetched: Fetched, source: SourceConfig) -> ParsedChannel:
        assert isinstance(source, TelegramSource)  # kind_of chose this kind by its model
        return parse_preview(
            fetched.body, fetched.headers, source.id, source.language, source.channel
        )


def parse_preview(
    body: bytes, headers: Mapping[str, str], source_id: str, language: str, channel: str
) -> ParsedChannel:
    """The posts of a channel's web preview page, as items (see the module docstring)."""
    text, _ = decode_html(body[:MAX_PAGE_BYTES], headers)
    check_markup(text, f"the preview page of t.me/s/{channel}")
    tree = LexborHTMLParser(text)
    posts = tree.css("div.tgme_widget_message[data-post]")
    if not posts and tree.css_first("section.tgme_channel_history") is None:
        return ParsedChannel(
            (),
            bozo=True,
            bozo_reason=f"no posts on the page: t.me/s/{channel} is not the web preview of a"
            " public channel (groups, users and private channels have none)",
        )
    items: list[Item] = []
    for post in posts:
        item = _post_item(post, source_id, language)
        if item is not None:
            items.append(item)
    return ParsedChannel(tuple(items), skipped=len(posts) - len(items))


def _post_item(post: LexborNode, source_id: str, language: str) -> Item | None:
    ref = post.attributes.get("data-post") or ""
    # The post's own text; a reply's quote of the post it answers is js-message_reply_text.
    node = post.css_first("div.tgme_widget_message_text.js-message_text")
    if not _POST.match(ref) or node is None:
        return None
    html = node.html or ""
    summary = html_to_text(html)[:MAX_TEXT_CHARS]
    if not summary:
        return None
    link = canonical_url(f"https://t.me/{ref}") or f"https://t.me/{ref}"
    return Item(
        source_id=source_id,
        guid=link,
        url=link,
        title=_title(html, summary),
        summary=summary,
        published=_date(post),
        language=language,
    )


def _title(html: str, text: str) -> str:
    """The post's first line, or its text when that line is too short to say anything."""
    first = next((line for line in map(html_to_text, _BR.split(html)) if line), text)
    if len(first) < MIN_TITLE_CHARS:
        first = text
    if len(first) <= MAX_TITLE_CHARS:
        return first
    return first[:MAX_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def _date(post: LexborNode) -> datetime | None:
    # The post's own date (a video's duration is a <time> too, without datetime).
    node = post.css_first("a.tgme_widget_message_date time[datetime]")
    node = node or post.css_first("time[datetime]")
    try:
        when = datetime.fromisoformat(node.attributes.get("datetime") or "") if node else None
    except ValueError:
        return None
    if when is None:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


KIND = TelegramKind()
