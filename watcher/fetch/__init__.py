"""Fetch stage: the async HTTP fetcher and the one classification of its failures."""

from __future__ import annotations

from watcher.fetch.classify import classify_exception, classify_status, parse_retry_after
from watcher.fetch.fetcher import (
    USER_AGENT,
    AddressGuard,
    Fetcher,
    FetchResult,
    FetchSettings,
    default_guard,
)

__all__ = [
    "USER_AGENT",
    "AddressGuard",
    "FetchResult",
    "FetchSettings",
    "Fetcher",
    "classify_exception",
    "classify_status",
    "default_guard",
    "parse_retry_after",
]
