"""watcher: tells human-rights advocates, within minutes, when something new happens to
North Koreans in Russia and China.

Data flows one way: fetch -> parse -> score -> dedupe/store -> deliver. The pure core
(rules, scoring, story grouping, message formatting) does no I/O; the async shell around it
(scheduler, fetcher, store, notifiers) does.
"""

from __future__ import annotations

__version__ = "0.1.0"
