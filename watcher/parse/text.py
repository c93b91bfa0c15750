"""HTML (or plain text) to one clean line of plain text: tags gone, entities decoded."""

from __future__ import annotations

import functools
import re
from html import unescape

from selectolax.lexbor import LexborHTMLParser

from watcher.parse.markup import check_markup

# Each block-level tag gets a space before it, so "a</p><p>b" -> "a b". (p, div, dd, dl, dt,
# br, li, ul, ol, h1-h6, hr, tr, td, th, table, blockquote, section, article, header, footer,
# figure, figcaption, pre, img, iframe, noscript; grouped by first letters: twice as quick.)
_BLOCK = re.compile(
    r"<(?=/?(?:p|d(?:iv|[dlt])|br|li|[uo]l|h[1-6r]|t[rdh]|table|blockquote|section|article"
    r"|header|f(?:ooter|ig(?:ure|caption))|pre|i(?:mg|frame)|noscript)\b)",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"<[a-zA-Z/!?]|&(#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});?")
# Invisible characters feeds are full of: zero-width spaces/joiners, BOMs, soft hyphens,
# C0/C1 control characters (tab and newline become spaces anyway).
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Markup a regular expression cannot strip safely (its text must go, or it is not HTML text).
_NEEDS_PARSER = re.compile(
    r"<(?:!|/?(?:s(?:cript|tyle|vg)|t(?:emplate|extarea|itle)|no(?:script|embed|frames)"
    r"|iframe|object|head|xmp|plaintext|math)\b)",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_SHORT = 1500  # below this, a regular expression is quicker than building a DOM
_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "object", "svg"]
# What the parser still needs: elements whose content is dropped or read as raw text. Every
# other tag only separates words (blocks got a space first) and is replaced by a NUL, which
# the parser drops from text (and which keeps "<<b>div>" from becoming a tag).
_RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
_KEPT = frozenset((*_RAW_TEXT, "plaintext", "noscript", "template", "object", "svg", "html",
                   "head", "body"))  # fmt: skip
_NAME_END = r"(?=[\t\n\f\r />])"
# A tag as the HTML tokenizer reads it: quoted values may hold ">", names may hold "<".
_ATTRS = r"""(?:[^>=]++|=[\t\n\f\r ]*+(?:"[^"]*+"|'[^']*+'|[^\t\n\f\r >]*+))*+>"""


def _alternatives(names: frozenset[str] | tuple[str, ...]) -> str:
    """``names`` as one regular expression, grouped by first letter (the engine tries far
    fewer alternatives at each "<")."""
    by_first: dict[str, list[str]] = {}
    for name in sorted(names, key=len, reverse=True):
        by_first.setdefault(name[0], []).append(re.escape(name[1:]))
    return "|".join(f"{c}(?:{'|'.join(rest)})" for c, rest in sorted(by_first.items()))


_KEPT_TAG = re.compile(r"</?(" + _alternatives(_KEPT) + ")" + _NAME_END, re.I | re.A)
_ANY_TAG = re.compile(r"</?[A-Za-z][^\t\n\f\r />]*+" + _ATTRS, re.A)
_STAND_IN = "\x00"
_ZWSP = "\u200b"
# A tag whose quoted values may hold ">" (a quote left open counts as a character): the same
# text as the parser's on real markup, quicker than _ANY_TAG where no parser follows.
_QUOTED_TAG = re.compile(r"""</?[A-Za-z][^>"']*+(?:(?:"[^"]*+"|'[^']*+'|["'])[^>"']*+)*+>""")
# Kept tags beyond which the parser's work is checked first (below it is at most ~20,000
# steps of its stack walks, see watcher.parse.markup).
_UNCHECKED_TAGS = 200


def collapse_whitespace(text: str) -> str:
    """Invisible characters removed, every run of white space one space, ends stripped."""
    if _INVISIBLE.search(text) is not None:
        text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def looks_like_html(text: str) -> bool:
    """True when ``text`` has a tag or an entity (plain text is returned without parsing)."""
    return _MARKUP.search(text) is not None


def html_to_text(html: str, what: str = "HTML") -> str:
    """Plain text of an HTML fragment: scripts and styles dropped, entities decoded, block
    elements separated by a space, white space collapsed. Plain text passes through.

    Markup that would take the HTML parser far longer than its size warrants raises
    ``FetchError(MARKUP)`` naming ``what`` (see ``watcher.parse.markup``)."""
    if not html:
        return ""
    if not looks_like_html(html):
        return collapse_whitespace(html)
    spaced = _BLOCK.sub(" <", html)
    if _NEEDS_PARSER.search(html) is None:
        if len(html) < _SHORT:  # simple, short markup (most feed summaries)
            return collapse_whitespace(unescape(_TAG.sub("", spaced)))
        # Simple, long markup: the text the HTML parser gives, as quickly, in linear time
        # whatever the nesting (quoted attribute values may hold ">": read whole).
        last = spaced.rfind(">")  # no tag ends after it: each "<" is looked at once
        text = _QUOTED_TAG.sub("", spaced[: last + 1]) + spaced[last + 1 :]
        return collapse_whitespace(unescape(text))
    flat, kept = _flatten(spaced)
    if flat.count("<") > _UNCHECKED_TAGS or "svg" in kept:  # svg: its <style> holds tags
        check_markup(flat, what)
    tree = LexborHTMLParser(flat)
    tree.strip_tags(_DROP_TAGS)
    text = tree.text(separator="") if tree.root is not None else ""
    return collapse_whitespace(text or "")


def _flatten(html: str) -> tuple[str, frozenset[str]]:
    """``html`` with the tags that only separate words replaced by a stand-in the parser drops
    (the same text, and a parse that costs nothing whatever their nesting), and the names of
    the tags kept. Raw text elements (``<script>``, ``<title>``...) are kept whole."""
    kept = frozenset(name.lower() for name in _KEPT_TAG.findall(html))
    if not kept:
        return _strip_tags(html, _STAND_IN), kept
    raw = frozenset(kept.intersection(_RAW_TEXT))
    # In raw text (an unclosed <title>...) a NUL would read as U+FFFD: there a zero-width
    # space stands in (removed with the other invisible characters), after each raw element.
    repl = "\\1" + _ZWSP if raw else _STAND_IN
    last = html.rfind(">")
    return _unkept(kept, raw).sub(repl, html[: last + 1]) + html[last + 1 :], kept


def _strip_tags(html: str, replacement: str) -> str:
    """Every tag replaced. Only up to the last ">" (no tag ends after it), so that the tag
    pattern always finds its end and each "<" is looked at once."""
    last = html.rfind(">")
    return _ANY_TAG.sub(replacement, html[: last + 1]) + html[last + 1 :]


@functools.lru_cache(maxsize=128)
def _unkept(kept: frozenset[str], raw: frozenset[str]) -> re.Pattern[str]:
    """Tags not in ``kept``, and (group 1, left as is) each ``raw`` element with its text."""
    names = _alternatives(kept)
    tag = r"</?(?!(?:" + names + ")" + _NAME_END + r")[A-Za-z][^\t\n\f\r />]*+" + _ATTRS
    if raw:
        whole = _alternatives(raw)
        text = r"(?:[^<]++|<(?!/\2" + _NAME_END + "))*+"
        end = r"(?:</\2" + _NAME_END + "[^>]*>)?"
        tag = "(<(" + whole + ")" + _NAME_END + _ATTRS + text + end + ")|" + tag
    return re.compile(tag, re.I | re.A)
