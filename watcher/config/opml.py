"""OPML, the feed readers' exchange format: import into feeds.yaml entries, export from them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from watcher.config.feeds import SourceConfig
from watcher.errors import ConfigError, Problem
from watcher.sources import kind_of


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str
    url: str
    language: str = ""


def read_opml(text: str, name: str = "feeds.opml") -> list[OpmlFeed]:
    """Every ``<outline xmlUrl=...>`` at any depth, in order, without repeats."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, col = exc.position
        raise ConfigError(Problem(name, line, col + 1, f"not valid OPML/XML: {exc}")) from exc
    out: list[OpmlFeed] = []
    seen: set[str] = set()
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if not url or url in seen or not re.match(r"^https?://", url):
            continue
        seen.add(url)
        title = (node.get("title") or node.get("text") or url).strip()
        out.append(OpmlFeed(title, url, (node.get("language") or "").strip()))
    return out


def slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-") or "feed"
    sid, i = base, 2
    while sid in taken:
        sid, i = f"{base}-{i}", i + 1
    taken.add(sid)
    return sid


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def yaml_entries(feeds: Iterable[OpmlFeed], taken: set[str], known_urls: set[str]) -> str:
    """feeds.yaml ``sources:`` entries for the feeds not there already (by URL)."""
    lines: list[str] = []
    for f in feeds:
        if f.url in known_urls:
            continue
        known_urls.add(f.url)
        lines += [
            f"  - id: {slug(f.title, taken)}",
            f"    name: {_q(f.title)}",
            f"    url: {_q(f.url)}",
        ]
        if f.language:
            lines.append(f"    language: {f.language}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_opml(sources: Iterable[SourceConfig], title: str = "watcher sources") -> str:
    """Feeds as ``type="rss"`` outlines (``xmlUrl``), which feed readers subscribe to; other
    kinds (pages, channels) as ``type="link"`` outlines (``url``), which they do not."""
    body = []
    for s in sources:
        kind = kind_of(s).opml_type
        where = "xmlUrl" if kind == "rss" else "url"
        attrs = (
            f"type={quoteattr(kind)} text={quoteattr(s.display_name)}"
            f" title={quoteattr(s.display_name)} {where}={quoteattr(s.url)}"
        )
        if s.language:
            attrs += f" language={quoteattr(s.language)}"
        body.append(f"    <outline {attrs}/>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        f"  <head><title>{title}</title></head>\n  <body>\n"
        + "\n".join(body)
        + "\n  </body>\n</opml>\n"
    )
