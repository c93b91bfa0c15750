"""HTML (or plain text) to one clean line of plain text: tags gone, entities decoded."""

from __future__ import annotations

import re
from html import unescape

from selectolax.lexbor import LexborHTMLParser

# Each block-level tag gets a space before it, so "a</p><p>b" -> "a b".
_BLOCK = re.compile(
    r"<(?=/?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article|header"
    r"|footer|figure|figcaption|hr|dd|dt|dl|pre|img|iframe|noscript)\b)",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"<[a-zA-Z/!?]|&(#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});?")
# Invisible characters feeds are full of: zero-width spaces/joiners, BOMs, soft hyphens,
# C0/C1 control characters (tab and newline become spaces anyway).
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Markup a regular expression cannot strip safely (its text must go, or it is not HTML text).
_NEEDS_PARSER = re.compile(
    r"<(?:!|/?(?:script|style|noscript|template|iframe|object|svg|textarea|title|head)\b)",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_SHORT = 1500  # below this, a regular expression is quicker than building a DOM
_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "object", "svg"]


def collapse_whitespace(text: str) -> str:
    """Invisible characters removed, every run of white space one space, ends stripped."""
    if _INVISIBLE.search(text) is not None:
        text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def looks_like_html(text: str) -> bool:
    """True when ``text`` has a tag or an entity (plain text is returned without parsing)."""
    return _MARKUP.search(text) is not None


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: scripts and styles dropped, entities decoded, block
    elements separated by a space, white space collapsed. Plain text passes through."""
    if not html:
        return ""
    if not looks_like_html(html):
        return collapse_whitespace(html)
    spaced = _BLOCK.sub(" <", html)
    if len(html) < _SHORT and _NEEDS_PARSER.search(html) is None:
        # Simple, short markup (most feed summaries): strip tags, decode entities.
        return collapse_whitespace(unescape(_TAG.sub("", spaced)))
    tree = LexborHTMLParser(spaced)
    tree.strip_tags(_DROP_TAGS)
    text = tree.text(separator="") if tree.root is not None else ""
    return collapse_whitespace(text or "")
