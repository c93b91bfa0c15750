"""Secrets never reach the log, in either format, in messages, arguments or tracebacks."""

from __future__ import annotations

import io
import logging

import pytest

from watcher.logs import JsonFormatter, Redact, redact_url

SECRET = "999:REVOKED-SECRET-xyz"


def emit(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(Redact([SECRET, "", "ab"]))  # empty and too-short ones are ignored
    handler.handle(record)
    return out.getvalue()


def record(msg: str, args: tuple[object, ...], exc: bool) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"The token `{SECRET}` was rejected by the server.")
        except RuntimeError as e:
            exc_info = (type(e), e, e.__traceback__)
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)


@pytest.mark.parametrize(
    ("msg", "args", "exc"),
    [
        (f"token {SECRET} in the message", (), False),
        ("service failed: %r", (RuntimeError(f"bad `{SECRET}`"),), False),
        ("failed", (), True),
    ],
)
@pytest.mark.parametrize("formatter", [logging.Formatter("%(message)s"), JsonFormatter()])
def test_secrets_are_redacted(
    msg: str, args: tuple[object, ...], exc: bool, formatter: logging.Formatter
) -> None:
    text = emit(formatter, record(msg, args, exc))
    assert SECRET not in text and "***" in text


def test_a_bad_log_call_does_not_raise_into_the_caller(capsys: pytest.CaptureFixture[str]) -> None:
    """Arguments that do not fit the format are reported by logging, as without the filter."""
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(Redact([SECRET]))
    log = logging.getLogger("test_logs.bad")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("bad args %s", 1, 2)  # raised TypeError from the filter before
    finally:
        log.removeHandler(handler)
    assert "Logging error" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@db:5432/w", "postgresql://u:***@db:5432/w"),
        ("postgresql://:s3cret@db/w", "postgresql://:***@db/w"),
        ("postgresql://u@db/w", "postgresql://u@db/w"),
        ("postgresql://db/w?sslmode=require", "postgresql://db/w?sslmode=require"),
        ("state/watcher.db", "state/watcher.db"),
        ("postgresql://u:p@[::1/w", "[::1/w"),  # unreadable: nothing before the @
    ],
)
def test_redact_url_hides_only_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "s3cret" not in redact_url(url)
