"""Notifiers found by kind: import the built-in modules, load their settings, build them.

Like urlwatch's reporters, a notifier class registers itself by its ``kind`` when its module
is imported (``Notifier.__init_subclass__``); like Datasette's built-in plugins, the built-in
modules are imported at start: every module of ``watcher.notify`` and the ``notifier``
module of every sub-package (``watcher.notify.telegram.notifier``). A new channel is one new
module here; nothing else names it. ``watcher run`` and ``watcher check`` go through
``load_settings`` and ``build_notifiers`` only.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import watcher.notify
from watcher.archive import ArchiveSettings
from watcher.notify.base import Context, Notifier
from watcher.pages import WebSettings
from watcher.settings import Section, Settings, StorySettings, Variable, check_config_dir


@cache
def notifier_kinds() -> dict[str, type[Notifier[Any, Any]]]:
    """kind -> class, after importing every built-in notifier module."""
    package = watcher.notify
    for info in pkgutil.iter_modules(package.__path__):
        name = f"{package.__name__}.{info.name}"
        if not info.ispkg:
            importlib.import_module(name)
        elif importlib.util.find_spec(f"{name}.notifier") is not None:
            importlib.import_module(f"{name}.notifier")
    return dict(sorted(Notifier.kinds.items()))


def sections() -> list[type[Section]]:
    """Every settings section: the core, stories, the archive, the pages, and each notifier's
    (in kind order)."""
    found: list[type[Section]] = [Settings, StorySettings, ArchiveSettings, WebSettings]
    for cls in notifier_kinds().values():
        if cls.settings_model not in found:
            found.append(cls.settings_model)
    return found


def variables() -> Iterator[Variable]:
    """Every ``WATCHER_*`` variable watcher reads, with its default and meaning."""
    for section in sections():
        yield from section.variables()


def load_settings(
    env: Mapping[str, str] | None = None, dotenv: Path | None = None, **overrides: object
) -> Settings:
    """All settings from ``env`` (default ``os.environ``) over ``dotenv``; ``overrides`` (the
    command line) win. Every section is validated; the errors of all name their variables."""
    from watcher.errors import ConfigError

    problems = []
    loaded: list[Section] = []
    for section in sections()[1:]:
        try:
            loaded.append(section.load(env, dotenv))
        except ConfigError as exc:
            problems += exc.problems
    try:
        core = Settings.load(env, dotenv, **overrides)
    except ConfigError as exc:
        problems = exc.problems + problems
    if problems:
        raise ConfigError(problems)
    return core.model_copy(update={"sections": tuple(loaded)})


def settings_for(config: Path | None, **overrides: object) -> Settings:
    """The command line's settings: the environment and ``CONFIG/.env`` under the flags."""
    where = Settings.load(config_dir=config).config_dir
    check_config_dir(where)
    return load_settings(None, where / ".env", config_dir=config, **overrides)


def build_notifiers(ctx: Context) -> list[Notifier[Any, Any]]:
    """The configured notifiers; the fallback (the console) when none sends each alert."""
    settings = ctx.runtime.settings
    built: list[Notifier[Any, Any]] = []
    for cls in notifier_kinds().values():
        section = settings.section(cls.settings_model)
        if not cls.fallback and section.enabled:
            built.append(cls.build(section, ctx))
    if not any(n.per_alert for n in built):
        for cls in notifier_kinds().values():
            if cls.fallback:
                built.append(cls.build(settings.section(cls.settings_model), ctx))
    return built
