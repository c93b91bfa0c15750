"""Untrusted text made fit to show people: the one cleaning every formatter and the store use.

Feeds are written by strangers. Before a title or summary reaches a message, an email, a page or
the store, ``display_text`` drops control characters (keeping line breaks and tabs) and the
bidirectional embedding, override and isolate marks (U+202A-U+202E, U+2066-U+2069) that can make
a message read backwards or hide a link's real target; ``cut`` caps it on a word boundary;
``safe_link`` keeps only http(s) links: ``javascript:``, ``data:`` and the rest never become a
clickable href anywhere. Pure, no imports from the project: the data model
(``watcher.models``) cleans with it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# C0 controls but \t and \n, DEL, C1 controls, bidi embeddings/overrides/isolates, line and
# paragraph separators (a formatter would not expect them), and the BOM
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")


def display_text(text: str, limit: int | None = None) -> str:
    """``text`` without control and bidi-override characters, cut to ``limit`` if given."""
    if UNSAFE.search(text) is not None:
        text = UNSAFE.sub(" ", text.replace("\r\n", "\n"))
    return text if limit is None else cut(text, limit)


def one_line(text: str, limit: int) -> str:
    """``text`` cleaned, its white space collapsed to single spaces, cut to ``limit``."""
    return cut(" ".join(display_text(text).split()), limit)


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters on a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def safe_link(url: str) -> str:
    """``url`` when it is an http(s) link fit for an href, else ""."""
    if not url or UNSAFE.search(url) is not None or any(c.isspace() for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url
