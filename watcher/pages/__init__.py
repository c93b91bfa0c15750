"""Every HTTP endpoint of watcher, in one Starlette app served by uvicorn (docs/web.md).

``/healthz`` and ``/metrics`` for probes and Prometheus, archived copies, and the maintainer
pages (alerts and stories, sources, and the page families that ``app.PAGE_MODULES`` lists).
``watcher run`` serves it on ``WATCHER_HTTP_HOST:WATCHER_HTTP_PORT``; ``watcher web`` serves
it alone. The Telegram webhook is served by the same machinery (``server.serve``) on its own
port. This module only declares the settings: importing it costs nothing.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from watcher.settings import Section

MIN_TOKEN_LENGTH = 12


class WebSettings(Section):
    """Access to the pages (the address and port are ``WATCHER_HTTP_HOST``/``_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="WATCHER_WEB_")
    group: ClassVar[str] = "maintainer pages (docs/web.md)"

    token: str = Field(
        "",
        repr=False,
        description="Password of the pages' login form; required when WATCHER_HTTP_HOST is not"
        f" a loopback address (at least {MIN_TOKEN_LENGTH} characters).",
    )
    secure_cookie: bool = Field(
        False, description="Send the session cookie over https only (pages behind a TLS proxy)."
    )

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"too short: use at least {MIN_TOKEN_LENGTH} random characters, e.g. from"
                " python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        return value
