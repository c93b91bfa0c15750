"""Real servers on 127.0.0.1 for tests and benchmarks (always on an ephemeral port)."""

from __future__ import annotations

from tests.servers.feedserver import FeedServer, Request, Route

__all__ = ["FeedServer", "Request", "Route"]
