"""The configuration in force in ``watcher run``: feeds.yaml, keywords.yaml and the relevance
model, one holder.

Every part that reads the configuration is given the holder (or one of its getters, such as
``live.rules``) and asks it each time, so a reload reaches all of them at once. ``check``
re-reads the files when they changed: a good pair replaces the one in force whole, an invalid
one is refused and the last good one stays (the scheduler calls it every few seconds and on
an admin's /reload, and tells the operators).

    live = LiveConfig.load(settings.feeds_path, settings.keywords_path, settings.model)
    pipeline = Pipeline(..., scorer=live.scorer)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from watcher.config.feeds import FeedsConfig, load_feeds
from watcher.errors import ConfigError, Problem
from watcher.relevance import MODEL_FILE, Relevance
from watcher.relevance.files import load_relevance, model_path
from watcher.rules import Rules, load_rules

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One good load of the files."""

    feeds: FeedsConfig
    rules: Rules
    relevance: Relevance  # the rules, and the model when one can be used
    stamps: tuple[float, ...]  # the files' mtime and size when read


@dataclass(frozen=True, slots=True)
class Reload:
    """What ``LiveConfig.check`` found: ``unchanged``, ``reloaded`` or ``invalid``."""

    status: str
    edited: bool  # the files changed since the last look (a forced check may find them not)
    problems: tuple[Problem, ...] = ()


class LiveConfig:
    def __init__(
        self, feeds_path: Path, keywords_path: Path, model_setting: str, snapshot: Snapshot
    ) -> None:
        self.feeds_path = feeds_path
        self.keywords_path = keywords_path
        self.model_setting = model_setting  # WATCHER_MODEL: a file, "off", or "" (the default)
        self._current = snapshot
        self._seen = snapshot.stamps  # the files as last looked at (good or not)

    @classmethod
    def load(cls, feeds_path: Path, keywords_path: Path, model: str = "") -> LiveConfig:
        """Both files, or ``ConfigError`` with every problem of both; the model never fails
        the load (a bad model file: rules only, and the relevance note says why)."""
        return cls(feeds_path, keywords_path, model, _read(feeds_path, keywords_path, model))

    def feeds(self) -> FeedsConfig:
        return self._current.feeds

    def rules(self) -> Rules:
        return self._current.rules

    def scorer(self) -> Relevance:
        """What items are scored with: the rules, and the model when there is one."""
        return self._current.relevance

    def retention(self) -> float:
        return self._current.feeds.retention

    def topic_titles(self) -> Mapping[str, str]:
        return self._current.rules.topic_titles

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """What loaded but deserves a word (feeds.yaml without sources)."""
        return self._current.feeds.warnings

    def check(self, force: bool = False) -> Reload:
        """Re-read the files if they changed since the last look (or ``force``); a good pair
        is put in force. Blocking (file reads, compiling the rules): run it in a thread."""
        stamps = _stamps(*watched(self.feeds_path, self.keywords_path, self.model_setting))
        edited = stamps != self._seen
        if not edited and not force:
            return Reload("unchanged", False)
        self._seen = stamps  # an invalid edit is reported once, not at every look
        try:
            fresh = _read(self.feeds_path, self.keywords_path, self.model_setting)
        except ConfigError as exc:
            return Reload("invalid", edited, tuple(exc.problems))
        except Exception as exc:  # a loader bug: told once per edit too, as invalid
            log.exception("reading the configuration failed")
            problem = Problem(str(self.keywords_path.parent), 0, 0, f"could not be read: {exc!r}")
            return Reload("invalid", edited, (problem,))
        self._current = fresh
        return Reload("reloaded", edited)


def watched(feeds_path: Path, keywords_path: Path, model_setting: str) -> tuple[Path, ...]:
    """The files whose edits reload the configuration: both YAML files and the model file in
    use, else the one ``watcher model train`` would write beside keywords.yaml."""
    model = model_path(keywords_path.parent, model_setting)
    return (feeds_path, keywords_path, model or keywords_path.parent / MODEL_FILE)


def _read(feeds_path: Path, keywords_path: Path, model_setting: str) -> Snapshot:
    stamps = _stamps(*watched(feeds_path, keywords_path, model_setting))
    problems: list[Problem] = []
    feeds: FeedsConfig | None = None
    rules: Rules | None = None
    try:
        feeds = load_feeds(feeds_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        rules = load_rules(keywords_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems or feeds is None or rules is None:
        raise ConfigError(problems)
    model = model_path(keywords_path.parent, model_setting)
    return Snapshot(feeds, rules, load_relevance(rules, model), stamps)


def _stamps(*paths: Path) -> tuple[float, ...]:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append(st.st_mtime + st.st_size * 1e-9)
        except OSError:
            out.append(-1.0)
    return tuple(out)
