"""Story grouping: one story, one alert (pure core; see docs/stories.md)."""

from __future__ import annotations

from watcher.models import Report
from watcher.stories.encoder import load_encoder
from watcher.stories.index import Decision, StoryConfig, StoryIndex

__all__ = ["Decision", "Report", "StoryConfig", "StoryIndex", "load_encoder"]
