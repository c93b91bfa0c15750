"""Listing pages as sources: an HTML page + CSS selectors -> ``Item``s, like a feed's entries.

Many sources that matter have no feed (NGO news pages, government press pages, Korean and
Russian outlets). A ``type: page`` source names the listing page and CSS selectors:

    selectors:
      item: "ul.news li"          # one element per entry (required)
      link: "a.headline"          # inside an item: the article link (default: the item itself
                                  #   when it is an <a href>, else its first <a href>)
      title: "h3"                 # inside an item (default: the link's text)
      date: "span.date"           # inside an item (default: none); datetime/content attribute
                                  #   or text such as 2026-11-20, 20.11.2026, 2026년 11월 20일,
                                  #   20 ноября 2026, Nov 20, 2026

    page = parse_page(result.body, headers=result.headers, source_id="nknews-ko",
                      base_url=result.final_url, selectors=PageSelectors(item="ul.news li"))

Links are made absolute (against ``<base href>`` or the page URL) and canonical; an article
linked twice in one item list (picture and headline) gives one item. The page is decoded as
``watcher.parse.charset`` says (legacy EUC-KR or windows-1251 pages read correctly). A
selector that is not valid CSS is refused where it is written (``PageSelectors`` validates
feeds.yaml, so ``watcher check`` says file:line). When the selectors stop matching (the
site was redesigned) ``FetchError(SELECTORS, ...)`` says which selector found nothing, so the
maintainer sees it in ``watcher sources`` instead of a source that silently goes quiet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from watcher.errors import FetchError, FetchErrorKind
from watcher.models import Item
from watcher.parse.charset import decode_html
from watcher.parse.markup import check_markup
from watcher.parse.text import collapse_whitespace
from watcher.parse.urls import canonical_url

MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 2_000
MAX_PAGE_BYTES = 8 * 1024 * 1024  # decoded/parsed at most; the fetcher bounds the wire


class PageSelectors(BaseModel):
    """CSS selectors of a listing page (see the module docstring): the one selector model,
    validated where it is written (feeds.yaml) and used as is by the parser."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str
    link: str = ""
    title: str = ""
    date: str = ""

    @field_validator("link", "title", "date", mode="before")
    @classmethod
    def _unset(cls, v: object) -> object:
        return "" if v is None else v

    @field_validator("item", "link", "title", "date")
    @classmethod
    def _css(cls, v: str, info: ValidationInfo) -> str:
        if v or info.field_name == "item":
            problem = selector_problem(v)
            if problem:
                raise ValueError(problem)
        return v


@dataclass(frozen=True, slots=True)
class ParsedPage:
    items: tuple[Item, ...]
    title: str  # the page's <title>
    encoding: str  # the codec the page was decoded with
    matched: int  # elements the item selector matched
    skipped: int = 0  # matched elements without a usable link or title
    bozo: bool = False  # as ParsedFeed: the pipeline treats both alike
    bozo_reason: str = ""


def selector_problem(css: str) -> str | None:
    """Why ``css`` is not a usable CSS selector, or None (for configuration checks)."""
    if not css.strip():
        return "empty selector"
    try:
        LexborHTMLParser("<html></html>").css(css)
    except (SelectolaxError, ValueError) as exc:
        return f"invalid CSS selector {css!r}: {exc}"
    return None


# ---- dates --------------------------------------------------------------------------------
_MONTHS = {
    **{m: i for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)},
    **{m: i for i, m in enumerate(
        ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр",
         "ноябр", "декабр"), 1)},
}  # fmt: skip
_TIME = r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_YMD = re.compile(r"(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})(?:\s*일)?" + _TIME)
_DMY = re.compile(r"\b(\d{1,2})\s*[./]\s*(\d{1,2})\s*[./]\s*(\d{4})" + _TIME)
_D_MON_Y = re.compile(r"\b(\d{1,2})\s+([A-Za-zА-Яа-яЁё]{3,})\.?,?\s+(\d{4})" + _TIME)
_MON_D_Y = re.compile(r"\b([A-Za-z]{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})" + _TIME)


def _month(word: str) -> int | None:
    low = word.lower()
    for stem, number in _MONTHS.items():
        # "ма" (May) only as a whole Russian form: мая / май.
        if stem == "ма":
            if low in ("мая", "май"):
                return number
        elif low.startswith(stem):
            return number
    return None


def _build(y: int, mo: int, d: int, hh: str | None, mm: str | None, ss: str | None) -> datetime:
    return datetime(y, mo, d, int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=UTC)


def parse_date(text: str, now: datetime | None = None) -> datetime | None:
    """A date (aware, UTC) from an attribute or visible text, or None when there is none.

    ISO 8601 with or without zone; 2026-11-20 / 2026.11.20 / 2026/11/20 [HH:MM]; 20.11.2026;
    2026년 11월 20일; 20 ноября 2026; 20 Nov 2026; Nov 20, 2026. A time without a zone is taken
    as UTC. Dates more than a day in the future (``now``) are dropped as unreliable.
    """
    text = collapse_whitespace(text)
    if not text:
        return None
    found: datetime | None = None
    try:
        iso = datetime.fromisoformat(text.replace("Z", "+00:00"))
        found = iso.astimezone(UTC) if iso.tzinfo else iso.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        if found is None and (m := _YMD.search(text)):
            found = _build(int(m[1]), int(m[2]), int(m[3]), m[4], m[5], m[6])
        elif found is None and (m := _DMY.search(text)):
            found = _build(int(m[3]), int(m[2]), int(m[1]), m[4], m[5], m[6])
        elif found is None and (m := _D_MON_Y.search(text)) and (mo := _month(m[2])):
            found = _build(int(m[3]), mo, int(m[1]), m[4], m[5], m[6])
        elif found is None and (m := _MON_D_Y.search(text)) and (mo := _month(m[1])):
            found = _build(int(m[3]), mo, int(m[2]), m[4], m[5], m[6])
    except ValueError:  # 2026-13-45: not a date
        return None
    if found is None:
        return None
    if found > (now or datetime.now(UTC)) + timedelta(days=1):
        return None
    return found


# ---- parsing ------------------------------------------------------------------------------
def _select(node: LexborNode | LexborHTMLParser, css: str, what: str) -> list[LexborNode]:
    try:
        return list(node.css(css))
    except (SelectolaxError, ValueError) as exc:
        raise FetchError(
            FetchErrorKind.SELECTORS, f"{what} selector {css!r} is not valid CSS: {exc}"
        ) from exc


def _first(node: LexborNode, css: str, what: str) -> LexborNode | None:
    found = _select(node, css, what)
    return found[0] if found else None


def _node_text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return collapse_whitespace(node.text(separator=" ") or "")


def _link_node(item: LexborNode, css: str) -> LexborNode | None:
    if css:
        return _first(item, css, "link")
    if item.tag == "a" and item.attributes.get("href"):
        return item
    return _first(item, "a[href]", "link")


def _date_of(item: LexborNode, css: str, now: datetime) -> datetime | None:
    if not css:
        return None
    node = _first(item, css, "date")
    if node is None:
        return None
    inner = node.css_first("time[datetime]")
    if inner is not None and node.tag != "time":
        node = inner
    for attr in ("datetime", "content", "data-date", "title"):
        value = node.attributes.get(attr)
        if value and (when := parse_date(value, now)) is not None:
            return when
    return parse_date(_node_text(node), now)


def parse_page(
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    source_id: str,
    base_url: str,
    selectors: PageSelectors | Mapping[str, str],
    language: str = "",
    now: datetime | None = None,
) -> ParsedPage:
    """Items of a listing page (see the module docstring). Raises ``FetchError``:
    ``EMPTY`` for an empty body, ``SELECTORS`` when the selectors find no entries,
    ``MARKUP`` for markup the HTML parser would take minutes over."""
    sel = selectors if isinstance(selectors, PageSelectors) else PageSelectors(**selectors)
    now = now or datetime.now(UTC)
    if not sel.item.strip():
        raise FetchError(FetchErrorKind.SELECTORS, "no item selector configured", url=base_url)
    if not body.strip():
        raise FetchError(FetchErrorKind.EMPTY, "empty page", url=base_url)
    tree, codec = _tree(body, headers, base_url)
    base_node = tree.css_first("base[href]")
    base = base_url
    if base_node is not None:
        base = canonical_url(base_node.attributes.get("href") or "", base_url) or base_url
    nodes = _select(tree, sel.item, "item")
    if not nodes:
        raise FetchError(
            FetchErrorKind.SELECTORS,
            f"item selector {sel.item!r} matched nothing on the page ({len(body):,} bytes);"
            " the site may have changed its layout",
            url=base_url,
        )
    items, skipped, with_link = _entries(nodes, sel, base, source_id, language, now)
    if not with_link:
        what = f"link selector {sel.link!r}" if sel.link else "the default link selector a[href]"
        raise FetchError(
            FetchErrorKind.SELECTORS,
            f"item selector {sel.item!r} matched {len(nodes)} elements but {what}"
            " found no http(s) link in them",
            url=base_url,
        )
    page_title = _node_text(tree.css_first("title"))
    return ParsedPage(tuple(items), page_title, codec, len(nodes), skipped)


def _tree(
    body: bytes, headers: Mapping[str, str] | None, base_url: str
) -> tuple[LexborHTMLParser, str]:
    """The page's parse tree and its codec, once its markup is known to parse quickly."""
    text, codec = decode_html(body[:MAX_PAGE_BYTES], headers)
    try:
        check_markup(text, "the page")
    except FetchError as exc:
        exc.url = base_url
        raise
    return LexborHTMLParser(text), codec


def _entries(
    nodes: list[LexborNode],
    sel: PageSelectors,
    base: str,
    source_id: str,
    language: str,
    now: datetime,
) -> tuple[list[Item], int, int]:
    """The matched elements' items (one per article URL), how many were skipped (no link or
    no title) and how many had a link."""
    items: list[Item] = []
    seen: set[str] = set()
    skipped = with_link = 0
    for node in nodes:
        url, item = _entry(node, sel, base, source_id, language, now)
        with_link += bool(url)
        if url in seen:
            continue
        if item is None:
            skipped += 1
            continue
        seen.add(url)
        items.append(item)
    return items, skipped, with_link


def _entry(
    node: LexborNode, sel: PageSelectors, base: str, source_id: str, language: str, now: datetime
) -> tuple[str, Item | None]:
    """One matched element: (its article URL, "" without an http(s) link; its item, None
    without a link or a title)."""
    link = _link_node(node, sel.link)
    href = (link.attributes.get("href") or "").strip() if link is not None else ""
    url = canonical_url(href, base) if href else ""
    if not url.startswith(("http://", "https://")):
        return "", None
    title = _node_text(_first(node, sel.title, "title")) if sel.title else ""
    title = (title or _node_text(link) or link_title(link))[:MAX_TITLE_CHARS]
    if not title:
        return url, None
    whole = _node_text(node)
    summary = whole if whole != title and len(whole) > len(title) + 20 else ""
    return url, Item(
        source_id=source_id,
        guid=url,
        url=url,
        title=title,
        summary=summary[:MAX_SUMMARY_CHARS],
        published=_date_of(node, sel.date, now),
        language=language,
    )


def link_title(link: LexborNode | None) -> str:
    """A title from the link's ``title`` or ``aria-label`` attribute, or an image's ``alt``."""
    if link is None:
        return ""
    for attr in ("title", "aria-label"):
        value = link.attributes.get(attr)
        if value and value.strip():
            return collapse_whitespace(value)
    img = link.css_first("img[alt]")
    return collapse_whitespace(img.attributes.get("alt") or "") if img is not None else ""
