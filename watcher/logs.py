"""Logging set-up: readable text lines, or one JSON object per line (``--log-format json``)."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:  # set (and redacted) by Redact
            data["exception"] = record.exc_text
        elif record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def redact_url(url: str) -> str:
    """``url`` without its password (``postgresql://user:***@host/db``), for messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL we can read: show nothing of what may be credentials
        return url.rsplit("@", 1)[-1] if "@" in url else url
    if not password:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]+@", re.IGNORECASE)


def redact_urls_in(text: str) -> str:
    """``text`` with the password of every URL in it replaced (``https://user:***@host``)."""
    if "://" not in text or "@" not in text:  # the common case, without the regex's scan
        return text
    return _URL_CREDENTIALS.sub(r"\1:***@", text)


def url_password(url: str) -> str:
    """The password inside ``url`` ("" when none): a secret for ``Redact``."""
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


class Redact(logging.Filter):
    """Replaces secrets (the bot token, the SMTP password) wherever they would be logged:
    libraries put them in messages (python-telegram-bot's InvalidToken names the token)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: let the handler report it as logging does
            return True
        clean = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(
    log_format: str = "text", level: str = "INFO", secrets: Iterable[str] = ()
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Redact(secrets))
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "uvicorn"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
