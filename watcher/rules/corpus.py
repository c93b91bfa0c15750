"""Labelled corpora (JSONL, format in ``shared/corpus/README.md``) and the metrics over them.

``read_corpus`` turns each line into a ``LabelledItem`` or a ``Problem`` at its line;
``evaluate`` scores every item and computes per-topic and overall precision, recall and F1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from watcher.errors import ConfigError, Problem
from watcher.models import Item, ScoreResult
from watcher.rules.score import Rules


@dataclass(frozen=True, slots=True)
class LabelledItem:
    id: str
    item: Item
    labels: frozenset[str]
    # reports of one development share it (the optional "story" field), else the id:
    # cross-validation keeps a group in one fold
    group: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    labels: frozenset[str]
    result: ScoreResult
    title: str = ""

    @property
    def alerted(self) -> frozenset[str]:
        return frozenset(self.result.alerted_ids)


def item_from_json(obj: dict[str, Any], default_id: str = "") -> Item:
    """An ``Item`` from a JSON object with the corpus fields (unknown keys are ignored)."""
    for key in ("title", "summary", "content"):
        if key in obj and not isinstance(obj[key], str | None):
            raise ValueError(f"{key!r} must be a string")
    published = None
    raw = obj.get("published")
    if isinstance(raw, str) and raw:
        try:
            published = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            published = None
    return Item(
        source_id=str(obj.get("source") or obj.get("source_id") or ""),
        guid=str(obj.get("id") or obj.get("guid") or default_id),
        url=str(obj.get("url") or ""),
        title=str(obj.get("title") or ""),
        summary=str(obj.get("summary") or ""),
        content=str(obj.get("content") or ""),
        published=published,
        language=str(obj.get("lang") or obj.get("language") or ""),
    )


_HTML_HINT = re.compile(
    r"<(?:!doctype|html|head|body|title|p|div|article|section|h[1-6]|br|span|a)\b", re.I
)


def item_from_input(text: str, name: str = "<stdin>") -> Item:
    """An article as an ``Item``: one JSON item, an HTML page, or plain text."""
    stripped = text.strip()
    if not stripped:
        raise ConfigError(Problem(name, 0, 0, "nothing to explain: the input is empty"))
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigError(Problem(name, exc.lineno, exc.colno, f"not JSON: {exc.msg}")) from exc
        if not isinstance(obj, dict):
            raise ConfigError(Problem(name, 1, 1, "a JSON item must be an object"))
        try:
            return item_from_json(obj, name)
        except ValueError as exc:
            raise ConfigError(Problem(name, 1, 1, str(exc))) from exc
    if _HTML_HINT.search(stripped[:5000]):
        return _item_from_html(stripped, name)
    lines = stripped.splitlines()
    return Item(
        source_id="explain",
        guid=name,
        url="",
        title=lines[0].strip(),
        content="\n".join(lines[1:]).strip(),
    )


def _item_from_html(text: str, name: str) -> Item:
    from selectolax.lexbor import LexborHTMLParser

    from watcher.parse.markup import check_markup

    check_markup(text, name)  # a FetchError: the CLI says why, no minutes-long parse
    tree = LexborHTMLParser(text)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    title = ""
    for selector in ("title", "h1"):
        found = tree.css_first(selector)
        if found is not None and found.text(strip=True):
            title = " ".join(found.text().split())
            break
    root = tree.body or tree.root
    body = root.text(separator="\n", strip=True) if root is not None else ""
    return Item(source_id="explain", guid=name, url="", title=title, content=body)


def read_corpus(path: Path | str, topics: Iterable[str] | None = None) -> list[LabelledItem]:
    """Read a JSONL corpus; every bad line is a ``Problem`` (all are raised together)."""
    name = str(path)
    known = set(topics) if topics is not None else None
    items: list[LabelledItem] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for n, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, n, exc.colno, f"not JSON: {exc.msg}"))
            continue
        read = _labelled(obj, n, known, seen)
        if isinstance(read, str):
            problems.append(Problem(name, n, 1, read))
            continue
        items.append(read)
    if problems:
        raise ConfigError(problems)
    if not items:
        raise ConfigError(Problem(name, 0, 0, "the corpus has no items"))
    return items


def _read_text(path: Path | str) -> str:
    name = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(Problem(name, 0, 0, "file not found")) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(Problem(name, 0, 0, f"not UTF-8 text: {exc.reason}")) from exc
    except OSError as exc:
        raise ConfigError(Problem(name, 0, 0, f"cannot read: {exc.strerror}")) from exc


def _labelled(obj: object, n: int, known: set[str] | None, seen: set[str]) -> LabelledItem | str:
    """Line ``n``'s JSON as a labelled item, or what is wrong with it."""
    if not isinstance(obj, dict):
        return "each line must be a JSON object"
    labels = obj.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return "'labels' must be a list of topic ids"
    unknown = [x for x in labels if known is not None and x not in known]
    if unknown and known is not None:
        return f"unknown topic {unknown[0]!r} in labels (known: {', '.join(sorted(known))})"
    item_id = str(obj.get("id") or f"line-{n}")
    if item_id in seen:
        return f"duplicate id {item_id!r}"
    seen.add(item_id)  # a later line with this id is a duplicate even when this one is bad
    try:
        item = item_from_json(obj, item_id)
    except ValueError as exc:
        return str(exc)
    group = obj.get("story")
    group = group if isinstance(group, str) and group else item_id
    return LabelledItem(item_id, item, frozenset(labels), group)


class Decided(Protocol):
    """An item's labels and the topics something alerted for it."""

    @property
    def labels(self) -> frozenset[str]: ...

    @property
    def alerted(self) -> frozenset[str]: ...


def score_all(
    rules: Rules, items: Iterable[LabelledItem], progress: Callable[[], None] | None = None
) -> Iterator[Outcome]:
    for li in items:
        yield Outcome(li.id, li.labels, rules.score(li.item), li.item.title)
        if progress is not None:
            progress()


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
    }


def metrics(outcomes: Sequence[Decided], topics: Iterable[str]) -> dict[str, Any]:
    """Per-topic and overall ("any label" vs "none") precision, recall and F1."""
    per: dict[str, Any] = {}
    for topic in topics:
        tp = sum(1 for o in outcomes if topic in o.alerted and topic in o.labels)
        fp = sum(1 for o in outcomes if topic in o.alerted and topic not in o.labels)
        fn = sum(1 for o in outcomes if topic not in o.alerted and topic in o.labels)
        per[topic] = _prf(tp, fp, fn)
    tp = sum(1 for o in outcomes if o.alerted and o.labels)
    fp = sum(1 for o in outcomes if o.alerted and not o.labels)
    fn = sum(1 for o in outcomes if not o.alerted and o.labels)
    return {"items": len(outcomes), "overall": _prf(tp, fp, fn), "topics": per}
