"""Configuration files of ``watcher run``: feeds.yaml (sources) and OPML import/export."""

from __future__ import annotations

from watcher.config.feeds import FeedsConfig, SourceConfig, load_feeds

__all__ = ["FeedsConfig", "SourceConfig", "load_feeds"]
