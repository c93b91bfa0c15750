"""Feed bytes (+ HTTP headers) -> ``ParsedFeed`` of normalised ``Item``s.

    parsed = parse_feed(result.body, headers=result.headers, source_id="dailynk-en",
                        language="en", base_url=result.final_url)
    parsed = await parse_feed_async(...)     # the same, off the event loop

Two parsers, one result. fastfeedparser (lxml; 30x quicker) reads the common case; feedparser,
the reference, reads everything else: documents the fast parser fails on or finds nothing
usable in, UTF-16/32, Latin-1 without a declaration, RSS 0.90, and invalid XML that the fast
parser would silently mangle (a bare ``&``). Feeds declared Latin-1/windows-1252 are decoded
as windows-1252 (as feedparser does) and given to the fast parser as UTF-8; C0 control bytes
are removed first (one sends libxml2 into a recovery mode that drops escaped markup).
Encodings: the document's own declaration beats an HTTP charset that is certainly wrong
(``trust_document_encoding``); otherwise RFC 3023 as feedparser applies it.

Both parsers' entries go through one normalisation (``normalise``): text from HTML, the
summary kept once when it is the beginning of the content, canonical URLs, dates in UTC
to the second, ``email (Name)`` authors as the name, the feed's ``<language>``/``xml:lang``.
tests/test_parse_equivalence.py checks that both give the same items on every fixture feed
that takes the fast path; tests/data/feeds/parser_differences.yaml lists the exceptions.

Nothing usable raises ``FetchError(PARSE_ERROR | EMPTY, reason)``; no other exception escapes
(feedparser's own crashes included). A well-formed feed with no entries is not an error: it
gives ``ParsedFeed(items=())``.
"""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import functools
import hashlib
import html.entities
import io
import logging
import re
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from typing import Any, Literal

import fastfeedparser
import feedparser

from watcher.errors import FetchError, FetchErrorKind
from watcher.models import Item
from watcher.parse.text import collapse_whitespace, html_to_text, looks_like_html
from watcher.parse.urls import canonical_url

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000  # per field: a whole book in one <content:encoded> stops here
# Entries read from one feed, newest first as feeds list them (the real fixtures list up to
# 150): 100,000 tiny entries in a 7 MB feed cost seconds to read, score and store each poll.
MAX_ENTRIES = 5_000
MAX_FEED_BYTES = 32 * 1024 * 1024  # a gzipped body is unpacked up to this size

ParserName = Literal["fast", "feedparser"]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: tuple[Item, ...]
    title: str
    bozo: bool  # the feed is malformed (feedparser's word); items are what could be read
    bozo_reason: str
    parser: ParserName
    link: str = ""  # the site's home page, as the feed gives it
    language: str = ""  # the feed's own language ("" when it does not say)
    skipped: int = 0  # entries dropped for having no title, link or text


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as read by either parser, before normalisation."""

    id: str
    title: str
    link: str
    summary: str
    content: tuple[str, ...]
    published: datetime | None
    language: str
    authors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RawFeed:
    title: str
    link: str
    language: str
    entries: tuple[RawEntry, ...]
    bozo: bool
    bozo_reason: str
    version: str


# ---- public API ---------------------------------------------------------------------------
def parse_feed(
    body: bytes,
    *,
    headers: Mapping[str, str],
    source_id: str,
    language: str = "",
    base_url: str = "",
    now: datetime | None = None,
    parser: ParserName | None = None,
) -> ParsedFeed:
    """Parse ``body`` (with the response ``headers``, names any case) into items.

    ``language`` is the source's configured language (used when neither the entry nor the
    feed says), ``base_url`` resolves relative links (the final URL of the fetch), ``now``
    drops dates more than a day in the future to None (the store then uses first seen).
    ``parser`` forces one parser (tests, benchmarks); by default the fast one is tried first.
    """
    body = _unwrap_gzip(body)
    if not body.strip():
        raise FetchError(FetchErrorKind.EMPTY, "empty body")
    lower = trust_document_encoding(body, {k.lower(): v for k, v in headers.items()})
    raw: RawFeed | None = None
    items: list[Item] = []
    skipped = 0
    used: ParserName = "fast"
    fast_body = body if parser == "fast" else fast_path_bytes(body, lower)
    if parser != "feedparser" and fast_body is not None:
        raw, items, skipped = _try_fast(fast_body, source_id, language, base_url, now)
        if not items and parser is None:  # failed or nothing usable found: ask the reference
            raw = None
    if raw is None:
        used = "feedparser"
        try:
            raw = read_feedparser(body, lower, base_url)
        except Exception as exc:  # feedparser itself crashes on some damaged feeds
            reason = f"feedparser failed: {exc.__class__.__name__}: {exc}"[:300]
            if parser is None and fast_body is None:  # last resort: the fast parser's reading
                raw, items, skipped = _try_fast(body, source_id, language, base_url, now)
            if raw is None or not items:
                raise FetchError(FetchErrorKind.PARSE_ERROR, reason) from exc
            used = "fast"
            raw = replace(raw, bozo=True, bozo_reason=reason)
        else:
            items, skipped = build_items(raw, source_id, language, base_url, now)
    feed_language = primary_language(raw.language)
    if not items and (raw.entries or raw.bozo or not raw.version):
        raise _nothing_usable(raw, skipped, body, lower)
    return ParsedFeed(
        items=tuple(items),
        title=html_to_text(raw.title, "the feed's title"),
        bozo=raw.bozo,
        bozo_reason=raw.bozo_reason,
        parser=used,
        link=canonical_url(raw.link, base_url),
        language=feed_language,
        skipped=skipped,
    )


def _try_fast(
    body: bytes, source_id: str, language: str, base_url: str, now: datetime | None
) -> tuple[RawFeed | None, list[Item], int]:
    try:
        raw = read_fast(body)
    except Exception:  # any failure of the fast parser: feedparser decides
        return None, [], 0
    items, skipped = build_items(raw, source_id, language, base_url, now)
    return raw, items, skipped


async def parse_feed_async(
    body: bytes,
    *,
    headers: Mapping[str, str],
    source_id: str,
    language: str = "",
    base_url: str = "",
    now: datetime | None = None,
    executor: Executor | None = None,
) -> ParsedFeed:
    """``parse_feed`` off the event loop: in a thread (default) or the given executor.

    A ``ProcessPoolExecutor`` takes parsing off the GIL too (FetchError crosses back intact).
    """
    if executor is None:
        return await asyncio.to_thread(
            parse_feed,
            body,
            headers=headers,
            source_id=source_id,
            language=language,
            base_url=base_url,
            now=now,
        )
    loop = asyncio.get_running_loop()
    try:
        outcome = await loop.run_in_executor(
            executor, _parse_in_worker, body, dict(headers), source_id, language, base_url, now
        )
    except BrokenExecutor as exc:  # the parser process died (a crash in a C extension)
        raise FetchError(FetchErrorKind.PARSE_ERROR, f"parser process died: {exc}") from exc
    if isinstance(outcome, ParsedFeed):
        return outcome
    kind, detail = outcome
    raise FetchError(FetchErrorKind(kind), detail)


def _parse_in_worker(
    body: bytes,
    headers: dict[str, str],
    source_id: str,
    language: str,
    base_url: str,
    now: datetime | None,
) -> ParsedFeed | tuple[str, str]:
    try:
        return parse_feed(
            body,
            headers=headers,
            source_id=source_id,
            language=language,
            base_url=base_url,
            now=now,
        )
    except FetchError as exc:  # exceptions with keyword state do not pickle: send the parts
        return (exc.kind.value, exc.detail)


# ---- normalisation (shared by both parsers) -------------------------------------------------
def build_items(
    raw: RawFeed, source_id: str, language: str, base_url: str, now: datetime | None
) -> tuple[list[Item], int]:
    """The usable items of a raw feed, and how many entries were dropped as unusable."""
    default_language = primary_language(raw.language) or primary_language(language)
    base = base_url or raw.link
    items: list[Item] = []
    skipped = 0
    if len(raw.entries) > MAX_ENTRIES:
        log.warning(
            "source %s lists %d entries: only the first %d are read",
            source_id,
            len(raw.entries),
            MAX_ENTRIES,
        )
    for entry in raw.entries[:MAX_ENTRIES]:
        item = normalise(entry, source_id, default_language, base, now)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    return items, skipped


def normalise(
    entry: RawEntry, source_id: str, language: str, base_url: str, now: datetime | None = None
) -> Item | None:
    """One ``Item`` from a raw entry, or None when it has no title, link or text."""
    try:
        title = clean_text(entry.title)
        summary = clean_text(entry.summary)
        raw_content = " ".join(c for c in entry.content if c)
        content = summary if raw_content == entry.summary else clean_text(raw_content)
    except FetchError as exc:  # markup too costly to parse: say which entry
        raise FetchError(exc.kind, f"{_which(entry)}: {exc.detail}") from exc
    if content and _squeeze(content).startswith(_squeeze(summary)):
        # The summary is the content or its beginning (a teaser, or a summary a parser made
        # up from the content): keep the text once, whole, as the summary.
        summary, content = content, ""
    link = canonical_url(entry.link, base_url)
    if not (title or link or summary):
        return None
    published = entry.published
    if published is not None:
        published = published.replace(microsecond=0)
    if published is not None and now is not None and (published - now).total_seconds() > 86400:
        published = None
    guid = collapse_whitespace(entry.id)
    if guid and guid == entry.link.strip():
        # The id is the link (fastfeedparser fills a missing id with the link; many feeds'
        # guid is the link): use its canonical form, so both parsers agree.
        guid = link or guid
    if not guid:
        guid = link or fallback_guid(title, published, summary)
    return Item(
        source_id=source_id,
        guid=guid,
        url=link,
        title=title,
        summary=summary,
        content=content,
        published=published,
        language=primary_language(entry.language) or language,
        authors=entry.authors,
    )


def _squeeze(text: str) -> str:
    return "".join(text.split())


def clean_text(value: str) -> str:
    text = html_to_text(value) if looks_like_html(value) else collapse_whitespace(value)
    return text[:MAX_TEXT_CHARS]


def _which(entry: RawEntry) -> str:
    """How an error names an entry: its link or id, else "an entry"."""
    name = collapse_whitespace(entry.link or entry.id)[:200]
    return f"the entry {name}" if name else "an entry"


def fallback_guid(title: str, published: datetime | None, summary: str) -> str:
    """A stable id for an entry with neither id nor link: hash of title and date."""
    key = f"{title}\n{published.isoformat() if published else ''}\n{'' if title else summary}"
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


_LANG = re.compile(r"[a-zA-Z]{2,3}")


def primary_language(tag: str | None) -> str:
    """``"en-US"`` -> ``"en"``, ``"ru_RU"`` -> ``"ru"``; "" for nothing usable."""
    if not tag:
        return ""
    m = _LANG.match(tag.strip())
    return m.group(0).lower() if m else ""


_EMAIL_NAME = re.compile(r"^\S+@\S+\s*\((.+)\)$")


def _person(raw: str) -> str:
    """An author's name: ``"ed@example.org (Ed Smith)"`` (RSS's form) gives ``"Ed Smith"``."""
    name = clean_text(raw)
    m = _EMAIL_NAME.match(name)
    return m.group(1).strip() if m else name


def _names(authors: Iterable[Any], fallback: str | None) -> tuple[str, ...]:
    out: list[str] = []
    for a in authors or ():
        name = a.get("name") if isinstance(a, Mapping) else a if isinstance(a, str) else None
        if isinstance(name, str):
            name = _person(name)
            if name and name not in out:
                out.append(name)
    if not out and isinstance(fallback, str):
        name = _person(fallback)
        if name:
            out.append(name)
    return tuple(out)


# ---- fastfeedparser -----------------------------------------------------------------------
# C0 control characters are not allowed in XML 1.0; one stray byte sends libxml2 into recover
# mode, which then drops escaped markup ("&lt;p&gt;" -> "p") for the rest of the document.
# They never occur inside multi-byte UTF-8 sequences (UTF-16/32 never take the fast path).
_C0_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 13))


# References XML does not define make the fast parser (libxml2 in recover mode) drop the rest
# of the element's text: "North&nbsp;Korea&rsquo;s" becomes "North". HTML's names become
# character references (feedparser decodes them so too), unknown names stay text ("&foo;"),
# &#128;-&#159; are windows-1252 (as in HTML and feedparser), and references to characters
# XML cannot hold are dropped (C0 controls) or become U+FFFD (surrogates, beyond U+10FFFF),
# where feedparser would fail on the whole feed. Only these rare references are matched.
_ODD_REFERENCE = re.compile(
    rb"&(?:(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{0,31});"
    rb"|#(0*+(?:[0-8]|1[124-9]|2[0-9]|3[01]|12[89]|1[345][0-9]|5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}"
    rb"|573[0-3][0-9]|5734[0-3]|6553[45]|111411[2-9]|11141[2-9][0-9]|1114[2-9][0-9]{2}"
    rb"|111[5-9][0-9]{3}|11[2-9][0-9]{4}|1[2-9][0-9]{5}|[2-9][0-9]{6}|[0-9]{8,})|0++);"
    rb"|#[xX](0*+(?:[0-8bBcCeEfF]|1[0-9A-Fa-f]|[89][0-9A-Fa-f]|[dD][89a-fA-F][0-9A-Fa-f]{2}"
    rb"|[fF]{3}[eEfF]|1[1-9a-fA-F][0-9A-Fa-f]{4}|[2-9a-fA-F][0-9A-Fa-f]{5}|[0-9A-Fa-f]{7,})|0++);)"
)
_CDATA_SECTION = re.compile(rb"(<!\[CDATA\[.*?(?:\]\]>|\Z))", re.S)


def xml_safe_references(body: bytes) -> bytes:
    """``body`` with the references the fast parser would stumble on rewritten (see above),
    CDATA sections left alone."""
    if _ODD_REFERENCE.search(body) is None:
        return body
    if b"<![CDATA[" not in body:
        return _ODD_REFERENCE.sub(_rewrite_reference, body)
    parts = _CDATA_SECTION.split(body)  # text, CDATA, text, CDATA...
    parts[::2] = [_ODD_REFERENCE.sub(_rewrite_reference, p) for p in parts[::2]]
    return b"".join(parts)


def _rewrite_reference(m: re.Match[bytes]) -> bytes:
    name, decimal, hexadecimal = m.groups()
    if name is not None:
        word = name.decode("ascii")  # HTML 4's names first, as feedparser (&lang; is U+2329)
        code = html.entities.name2codepoint.get(word)
        text = chr(code) if code is not None else html.entities.html5.get(word + ";")
        if text is None:
            return b"&amp;" + name + b";"  # not an entity: the text as written
        return "".join(f"&#{ord(c)};" for c in text).encode("ascii")
    value = int(decimal, 10) if decimal is not None else int(hexadecimal, 16)
    if value < 32:
        return b""
    if 128 <= value <= 159:
        char = bytes([value]).decode("cp1252", errors="ignore")
        return f"&#{ord(char)};".encode("ascii") if char else b""
    return b"&#65533;"


def read_fast(body: bytes) -> RawFeed:
    body = xml_safe_references(body.translate(None, _C0_CONTROLS))
    d = fastfeedparser.parse(
        body, include_tags=False, include_media=False, include_enclosures=False
    )
    feed = d.get("feed") or {}
    entries: list[RawEntry] = []
    for e in d.get("entries") or ():
        content = tuple(
            str(c.get("value") or "") for c in e.get("content") or () if isinstance(c, Mapping)
        )
        entries.append(
            RawEntry(
                id=str(e.get("id") or ""),
                title=str(e.get("title") or ""),
                link=str(e.get("link") or ""),
                summary=str(e.get("description") or e.get("summary") or ""),
                content=content,
                published=_iso_utc(e.get("published")) or _iso_utc(e.get("updated")),
                language=_content_language(e),
                authors=_names(e.get("authors") or (), e.get("author")),
            )
        )
    return RawFeed(
        title=str(feed.get("title") or ""),
        link=str(feed.get("link") or ""),
        language=str(feed.get("language") or "") or _root_xml_lang(body),
        entries=tuple(entries),
        bozo=False,
        bozo_reason="",
        version="fast",
    )


_ROOT_LANG = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(?:feed|rss|RDF)\b[^>]*?\sxml:lang=[\"']([^\"']*)"
)


_LANGUAGE_ELEMENT = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?language\b[^>]*>\s*(?:<!\[CDATA\[)?\s*([A-Za-z]{2,3}[\w-]*)"
)
_FIRST_ENTRY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\b")


def _root_xml_lang(body: bytes) -> str:
    """The feed's language as feedparser reads it (fastfeedparser leaves ``<language>`` out):
    the channel's ``<language>`` (or ``<dc:language>``), else the root's ``xml:lang``."""
    first = _FIRST_ENTRY.search(body, 0, 65536)
    head = body[: first.start() if first else 65536]
    m = _LANGUAGE_ELEMENT.search(head) or _ROOT_LANG.search(head)
    return m.group(1).decode("ascii", "replace") if m else ""


def _iso_utc(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _content_language(entry: Mapping[str, Any]) -> str:
    for c in entry.get("content") or ():
        if isinstance(c, Mapping) and c.get("language"):
            return str(c["language"])
    detail = entry.get("title_detail")
    if isinstance(detail, Mapping) and detail.get("language"):
        return str(detail["language"])
    return ""


_XML_DECL = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


def _declared_encoding(body: bytes) -> tuple[str | None, bool]:
    """The codec the document names (UTF-8 when it names none), and whether it named one."""
    head = body[3:] if body.startswith(codecs.BOM_UTF8) else body
    m = _XML_DECL.match(head.lstrip()[:200])
    if m is None:
        return "utf-8", False
    return _codec(m.group(1).decode("ascii")), True


def trust_document_encoding(body: bytes, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` without the HTTP charset when the document's own encoding is certain.

    Servers often label feeds with a wrong charset (a default ``ISO-8859-1``, or ``utf-8``
    for a windows-1251 file). When the document's declared encoding (UTF-8 if it declares
    none) decodes its non-ASCII bytes without a single error, and that encoding is not a
    single-byte one that decodes anything, the document is right and the header is dropped;
    otherwise the header stands (feedparser then follows RFC 3023).
    """
    content_type = headers.get("content-type", "")
    http = _http_charset(content_type)
    if http is None or body.isascii():
        return headers
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x00", b"<\x00")):
        return headers
    declared, _ = _declared_encoding(body)
    claimed = _codec(http)
    if declared is None or declared in _LEGACY_SINGLE_BYTE or declared == claimed:
        return headers
    if _single_byte(declared):
        # Any bytes decode in a single-byte code page: only a header that is certainly
        # wrong (UTF-8 claimed for bytes that are not UTF-8) gives way to the document.
        if claimed != "utf-8" or _decodes(body, "utf-8"):
            return headers
    elif not _decodes(body, declared):
        return headers
    return {**headers, "content-type": "application/xml"}


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


@functools.cache
def _single_byte(codec: str) -> bool:
    """True for code pages where (nearly) every byte alone is a character."""
    try:
        alone = sum(_decodes(bytes([b]), codec) for b in range(256))
    except LookupError:
        return True
    return alone >= 240


def fast_path_bytes(body: bytes, headers: Mapping[str, str]) -> bytes | None:
    """The bytes to give the fast parser, or None when feedparser must read this document.

    A document declared as Latin-1, ASCII or windows-1252 (with no other HTTP charset) is
    decoded as windows-1252, as feedparser does, and handed over as UTF-8.
    """
    if _fast_is_safe(body, headers):
        return body
    declared, explicit = _declared_encoding(body)
    http = _http_charset(headers.get("content-type", ""))
    if not explicit or declared not in _LEGACY_SINGLE_BYTE:
        return None
    if http is not None and _codec(http) not in _LEGACY_SINGLE_BYTE:
        return None
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes windows-1252 leaves undefined
        text = body.decode("latin-1")
    text = _XML_DECL_ENCODING.sub(r"\1utf-8\2", text, count=1)
    utf8 = text.encode("utf-8")
    return utf8 if _fast_is_safe(utf8, {}) else None


_XML_DECL_ENCODING = re.compile(r"""^(\ufeff?\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""")


def _fast_is_safe(body: bytes, headers: Mapping[str, str]) -> bool:
    """Can the fast parser read these bytes with the right encoding?

    It only sees the bytes, so it is used when the document's encoding is certain: UTF-8 by
    declaration or default (and the bytes decode as such), or another declared encoding that
    is not Latin-1/ASCII (really windows-1252 in the wild), with no HTTP charset against it
    (see ``trust_document_encoding``). Everything else goes to feedparser. So does invalid
    XML that the fast parser would silently mangle (a bare "&").
    """
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x00", b"<\x00")):
        return False
    declared, _ = _declared_encoding(body)
    if declared is None or declared in _LEGACY_SINGLE_BYTE:
        return False
    if declared == "utf-8" and not _decodes(body, "utf-8"):
        return False
    http = _http_charset(headers.get("content-type", ""))
    if http is not None and _codec(http) != declared:
        return False
    return not _has_bare_ampersand(body) and _INTERNAL_DTD.search(body, 0, 4096) is None


# A DOCTYPE that declares entities: the fast parser does not expand them (it would drop the
# text after each), feedparser does.
_INTERNAL_DTD = re.compile(rb"<!DOCTYPE[^>\[]*\[")


# A "&" outside CDATA that starts no entity: invalid XML the fast parser (lxml in recover
# mode) silently mangles ("?a=1&b=2" becomes "?a=1=2"); feedparser reads it right.
_BARE_AMP = re.compile(rb"&(?!(?:[A-Za-z][A-Za-z0-9._-]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)")
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.S)


def _has_bare_ampersand(body: bytes) -> bool:
    if _BARE_AMP.search(body) is None:
        return False
    if b"<![CDATA[" not in body:
        return True
    return _BARE_AMP.search(_CDATA.sub(b"", body)) is not None


# Declared as Latin-1 or ASCII, real feeds are usually windows-1252 (curly quotes in 0x80-0x9f);
# feedparser reads them so, the fast parser would not.
_LEGACY_SINGLE_BYTE = frozenset({"iso8859-1", "ascii", "cp1252"})


def _http_charset(content_type: str) -> str | None:
    if not content_type:
        return None
    msg = Message()
    msg["content-type"] = content_type
    charset = msg.get_param("charset")
    return charset.strip().strip("'\"") if isinstance(charset, str) and charset.strip() else None


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# ---- feedparser ---------------------------------------------------------------------------
def read_feedparser(body: bytes, headers: Mapping[str, str], base_url: str = "") -> RawFeed:
    response_headers = dict(headers)
    if base_url and "content-location" not in response_headers:
        response_headers["content-location"] = base_url
    d = feedparser.parse(io.BytesIO(body), response_headers=response_headers)
    feed = d.get("feed") or {}
    version = str(d.get("version") or "")
    # In RSS, feedparser files media:description/media:text under content as text/plain
    # (an image caption); RSS's real content (content:encoded) is HTML. Keep only that.
    rss = not version.startswith("atom")
    entries: list[RawEntry] = []
    for e in d.get("entries") or ():
        content = tuple(
            str(c.get("value") or "")
            for c in e.get("content") or ()
            if isinstance(c, Mapping) and not (rss and c.get("type") == "text/plain")
        )
        published = (
            _struct_utc(e.get("published_parsed"))
            or _struct_utc(e.get("updated_parsed"))
            or _date_text(e.get("published"))
            or _date_text(e.get("updated"))
        )
        entries.append(
            RawEntry(
                id=str(e.get("id") or ""),
                title=str(e.get("title") or ""),
                link=_first_alternate(e),
                summary=str(e.get("summary") or ""),
                content=content,
                published=published,
                language=_content_language(e),
                authors=_names(e.get("authors") or (), e.get("author")),
            )
        )
    exc = d.get("bozo_exception")
    reason = f"{exc.__class__.__name__}: {exc}" if d.get("bozo") and exc is not None else ""
    return RawFeed(
        title=str(feed.get("title") or ""),
        link=str(feed.get("link") or ""),
        language=str(feed.get("language") or ""),
        entries=tuple(entries),
        bozo=bool(d.get("bozo")),
        bozo_reason=collapse_whitespace(reason)[:300],
        version=version,
    )


def _first_alternate(entry: Mapping[str, Any]) -> str:
    """The entry's first alternate link (feedparser's ``link`` is the last one it saw)."""
    for link in entry.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate":
            href = link.get("href")
            if isinstance(href, str) and href:
                return href
    return str(entry.get("link") or "")


def _date_text(value: object) -> datetime | None:
    """A date feedparser could not read: RFC 822 or ISO 8601 as written, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return _iso_utc(value.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _struct_utc(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        if not isinstance(value, tuple):  # time.struct_time is a tuple
            return None
        t: tuple[int, ...] = value
        return datetime(t[0], t[1], t[2], t[3], t[4], t[5], tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return None


# ---- helpers ------------------------------------------------------------------------------
def _unwrap_gzip(body: bytes) -> bytes:
    """A gzip file served as the body itself (``feed.xml.gz``): unpack it, bounded."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    z = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = z.decompress(body, MAX_FEED_BYTES + 1)
    except zlib.error as exc:
        raise FetchError(FetchErrorKind.PARSE_ERROR, f"bad gzip body: {exc}") from exc
    if len(out) > MAX_FEED_BYTES:
        raise FetchError(FetchErrorKind.TOO_LARGE, f"gzip body over {MAX_FEED_BYTES:,} bytes")
    if not z.eof:
        raise FetchError(FetchErrorKind.PARSE_ERROR, "truncated gzip body")
    return out


def _nothing_usable(
    raw: RawFeed, skipped: int, body: bytes, headers: Mapping[str, str]
) -> FetchError:
    if skipped:
        return FetchError(
            FetchErrorKind.EMPTY, f"{skipped} entries, none with a title, link or text"
        )
    head = body[:512].lstrip().lower()
    if "html" in headers.get("content-type", "") or head.startswith((b"<!doctype html", b"<html")):
        return FetchError(FetchErrorKind.PARSE_ERROR, "an HTML page, not a feed")
    if raw.bozo:
        return FetchError(FetchErrorKind.PARSE_ERROR, raw.bozo_reason or "malformed feed")
    return FetchError(FetchErrorKind.PARSE_ERROR, "not a feed (no RSS, Atom or RDF found)")
