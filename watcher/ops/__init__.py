"""Operating ``watcher run``: Prometheus metrics and the /healthz + /metrics endpoint."""

from __future__ import annotations
