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
linked twice in one item list (picture and headline) gives one item. The page is decoded from
the HTTP charset, then a BOM, then ``<meta charset>``, then UTF-8 when valid, then a guess:
legacy pages in EUC-KR or windows-1251 read correctly. When the selectors stop matching (the
site was redesigned) ``FetchError(SELECTORS, ...)`` says which selector found nothing, so the
maintainer sees it in ``watcher sources`` instead of a source that silently goes quiet.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import re
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from watcher.errors import FetchError, FetchErrorKind
from watcher.models import Item
from watcher.parse.markup import check_markup
from watcher.parse.text import collapse_whitespace
from watcher.parse.urls import canonical_url

MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 2_000
MAX_PAGE_BYTES = 8 * 1024 * 1024  # decoded/parsed at most; the fetcher bounds the wire

# WHATWG encoding label mapping for the legacy names that matter here: the superset codec.
_CODEC_FOR_LABEL = {
    "euc-kr": "cp949",
    "euckr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "korean": "cp949",
    "x-windows-949": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "koi8-r": "koi8_r",
    "x-cp1251": "cp1251",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class PageSelectors:
    """CSS selectors of a listing page (see the module docstring)."""

    item: str
    link: str = ""
    title: str = ""
    date: str = ""

    @classmethod
    def of(cls, value: object) -> PageSelectors:
        """From a ``PageSelectors``, a mapping or any object with ``item/link/title/date``."""
        if isinstance(value, PageSelectors):
            return value
        if isinstance(value, Mapping):
            get = value.get
        else:

            def get(name: str, default: object = None) -> object:
                return getattr(value, name, default)

        return cls(
            item=str(get("item", "") or ""),
            link=str(get("link", "") or ""),
            title=str(get("title", "") or ""),
            date=str(get("date", "") or ""),
        )


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


# ---- decoding -----------------------------------------------------------------------------
def codec_for(label: str) -> str | None:
    """The Python codec for an encoding label (WHATWG supersets for legacy ones), or None."""
    low = label.strip().strip("\"'").lower()
    if not low:
        return None
    name = _CODEC_FOR_LABEL.get(low, low)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def detect_encoding(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """The codec to read an HTML ``body`` with: BOM, HTTP charset, ``<meta>``, UTF-8, guess."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    content_type = ""
    for k, v in (headers or {}).items():
        if k.lower() == "content-type":
            content_type = v
    m = _HEADER_CHARSET.search(content_type)
    if m and (codec := codec_for(m.group(1))):
        return codec
    m2 = _META_CHARSET.search(body[:8192])
    if m2 and (codec := codec_for(m2.group(1).decode("ascii", "replace"))):
        # A page that says utf-16 in ASCII bytes is not utf-16 (WHATWG: read as utf-8).
        return "utf-8" if codec.startswith("utf-16") else codec
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:65536]).best()
    if best is not None and (codec := codec_for(best.encoding)):
        return codec
    return "cp1252"


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(text, codec)``: the page decoded (bad bytes replaced, never an exception)."""
    codec = detect_encoding(body, headers)
    text = body.decode(codec, errors="replace")
    return text.removeprefix("\ufeff"), codec


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
    selectors: PageSelectors | Mapping[str, str] | object,
    language: str = "",
    now: datetime | None = None,
) -> ParsedPage:
    """Items of a listing page (see the module docstring). Raises ``FetchError``:
    ``EMPTY`` for an empty body, ``SELECTORS`` when the selectors find no entries,
    ``MARKUP`` for markup the HTML parser would take minutes over."""
    sel = PageSelectors.of(selectors)
    now = now or datetime.now(UTC)
    if not sel.item.strip():
        raise FetchError(FetchErrorKind.SELECTORS, "no item selector configured", url=base_url)
    if not body.strip():
        raise FetchError(FetchErrorKind.EMPTY, "empty page", url=base_url)
    text, codec = decode_html(body[:MAX_PAGE_BYTES], headers)
    try:
        check_markup(text, "the page")
    except FetchError as exc:
        exc.url = base_url
        raise
    tree = LexborHTMLParser(text)
    base = base_url
    base_node = tree.css_first("base[href]")
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
    items: list[Item] = []
    seen: set[str] = set()
    skipped = 0
    with_link = 0
    for node in nodes:
        link = _link_node(node, sel.link)
        href = (link.attributes.get("href") or "").strip() if link is not None else ""
        url = canonical_url(href, base) if href else ""
        if not url.startswith(("http://", "https://")):
            skipped += 1
            continue
        with_link += 1
        if url in seen:
            continue
        title = _node_text(_first(node, sel.title, "title")) if sel.title else ""
        title = (title or _node_text(link) or link_title(link))[:MAX_TITLE_CHARS]
        if not title:
            skipped += 1
            continue
        seen.add(url)
        whole = _node_text(node)
        summary = whole if whole != title and len(whole) > len(title) + 20 else ""
        items.append(
            Item(
                source_id=source_id,
                guid=url,
                url=url,
                title=title,
                summary=summary[:MAX_SUMMARY_CHARS],
                published=_date_of(node, sel.date, now),
                language=language,
            )
        )
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


async def parse_page_async(
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    source_id: str,
    base_url: str,
    selectors: PageSelectors | Mapping[str, str] | object,
    language: str = "",
    now: datetime | None = None,
    executor: Executor | None = None,
) -> ParsedPage:
    """``parse_page`` in a worker thread (parsing a big page must not stall the loop): the
    default executor's, or ``executor`` (the pipeline's stage threads, as for feeds)."""
    parse = functools.partial(
        parse_page,
        body,
        headers=headers,
        source_id=source_id,
        base_url=base_url,
        selectors=selectors,
        language=language,
        now=now,
    )
    return await asyncio.get_running_loop().run_in_executor(executor, parse)
