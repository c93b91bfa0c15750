"""``python -m watcher.ops.probe``: exit 0 when this machine's ``watcher run`` is healthy.

For a container HEALTHCHECK or a monitoring agent: reads ``WATCHER_HTTP_HOST`` and
``WATCHER_HTTP_PORT`` like ``watcher run`` does, asks ``/healthz`` and prints its answer.
Exit 0 on 200, 1 otherwise (not listening, 503, timeout).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

from watcher.errors import ConfigError
from watcher.settings import Settings

_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def probe_url(settings: Settings) -> str:
    host = _ANY_ADDRESS.get(settings.http_host, settings.http_host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}/healthz"


def probe(env: Mapping[str, str] | None = None, timeout: float = 5.0) -> tuple[int, str]:
    """(exit code, what to print)."""
    try:
        settings = Settings.load(env)
    except ConfigError as exc:
        return 1, f"unhealthy: {exc}"
    if not settings.http_port:
        return 1, "unhealthy: WATCHER_HTTP_PORT is not set, so there is no /healthz to ask"
    url = probe_url(settings)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 0, response.read().decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        return 1, f"unhealthy ({exc.code}): {exc.read().decode('utf-8', 'replace').strip()}"
    except (OSError, urllib.error.URLError) as exc:
        return 1, f"unhealthy: {url}: {exc}"


def main() -> int:
    code, text = probe()
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
