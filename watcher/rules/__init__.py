"""The rule engine: ``keywords.yaml`` → one automaton → per-topic scores that explain themselves.

``load_rules(path)`` reads and checks the file (``ConfigError`` with every ``Problem``);
``Rules.score(item)`` is pure and thread-safe. ``watcher.rules.explain`` renders a result.
"""

from __future__ import annotations

from watcher.rules.score import Rules, load_rules

__all__ = ["Rules", "load_rules"]
