"""Kinds of sources (``type:`` in feeds.yaml), each one module of this package; see
``watcher.sources.base`` for the contract and docs/architecture.md to add one.

``kinds()`` finds them (every module here but ``base`` has a ``KIND``); ``kind_of(source)`` is
the one place a source's kind is looked up; ``parse_body`` is the one way a fetched body
becomes items, for the pipeline and ``watcher sources test`` alike.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping

from watcher.errors import FetchError, FetchErrorKind
from watcher.sources.base import Fetched, FetchRequest, Parsed, SourceConfig, SourceKind

__all__ = [
    "FetchRequest",
    "Fetched",
    "Parsed",
    "SourceConfig",
    "SourceKind",
    "kind_of",
    "kinds",
    "parse_body",
]


@functools.cache
def kinds() -> Mapping[str, SourceKind]:
    """Every kind of source, by its ``type:``, in module name order."""
    found: dict[str, SourceKind] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        kind: SourceKind = importlib.import_module(f"{__name__}.{module.name}").KIND
        if kind.name in found:
            raise RuntimeError(f"two source kinds named {kind.name!r}")
        found[kind.name] = kind
    return found


def kind_of(source: SourceConfig) -> SourceKind:
    return kinds()[source.type]


def parse_body(source: SourceConfig, fetched: Fetched) -> Parsed:
    """The items of a fetched body; a body that gives none and is unusable is ``EMPTY``."""
    parsed = kind_of(source).parse(fetched, source)
    if not parsed.items and parsed.bozo:
        raise FetchError(FetchErrorKind.EMPTY, parsed.bozo_reason, url=source.url)
    return parsed
