"""The watch's pure decisions, as tables: the schedule, what counts as gone, what counts as a
material change."""

from __future__ import annotations

import pytest

from tests.archive_helpers import COURT, changed
from watcher.archive.watch import (
    changed_materially,
    gone_reason,
    is_front_page,
    reserved_host,
    should_retry,
    watch_offsets,
)
from watcher.web.fulltext import extract_text

D = 86400.0
SCHEDULE = (D, 7 * D, 30 * D)


@pytest.mark.parametrize(
    ("horizon", "offsets"),
    [
        (None, [D, 7 * D, 30 * D]),
        (0.0, []),
        (7 * D, [D, 7 * D]),
        (10 * D, [D, 7 * D]),
        (90 * D, [D, 7 * D, 30 * D, 60 * D, 90 * D]),
    ],
)
def test_watch_offsets(horizon: float | None, offsets: list[float]) -> None:
    assert watch_offsets(SCHEDULE, horizon) == offsets


@pytest.mark.parametrize(
    ("status", "url", "final", "gone"),
    [
        (200, "https://n.example.net/a/1", "https://n.example.net/a/1", None),
        (404, "https://n.example.net/a/1", "https://n.example.net/a/1", "404"),
        (410, "https://n.example.net/a/1", "https://n.example.net/a/1", "410"),
        (451, "https://n.example.net/a/1", "https://n.example.net/a/1", "451"),
        (200, "https://n.example.net/a/1", "https://n.example.net/", "front page"),
        (200, "https://n.example.net/a/1", "https://n.example.net/en/", "front page"),
        (200, "https://n.example.net/a/1", "https://n.example.net/index.php", "front page"),
        (200, "https://n.example.net/a/1", "https://n.example.net/a/1-updated", None),
        (200, "https://n.example.net/", "https://n.example.net/en/", None),  # was a front page
        (200, "https://n.example.net/a/1", "https://n.example.net/?p=1", None),
    ],
)
def test_gone_reason(status: int, url: str, final: str, gone: str | None) -> None:
    why = gone_reason(status, url, final)
    assert (why is None) == (gone is None)
    assert gone is None or gone in (why or "")


@pytest.mark.parametrize(
    ("status", "retry"),
    [(200, False), (404, False), (410, False), (403, True), (429, True), (500, True),
     (503, True), (400, True), (300, True)],
)  # fmt: skip
def test_should_retry(status: int, retry: bool) -> None:
    assert should_retry(status) is retry


@pytest.mark.parametrize(
    ("url", "front"),
    [("https://a.b/", True), ("https://a.b", True), ("https://a.b/ko", True),
     ("https://a.b/news/", True), ("https://a.b/news/123", False), ("https://a.b/a/1", False)],
)  # fmt: skip
def test_front_page(url: str, front: bool) -> None:
    assert is_front_page(url) is front


@pytest.mark.parametrize(
    ("url", "reserved"),
    [("https://news.example.org/a", True), ("http://x.test/", True), ("http://a.invalid", True),
     ("https://example.com/", True), ("https://www.dailynk.com/english/", False),
     ("https://example.community/", False), ("http://127.0.0.1:8080/a", False)],
)  # fmt: skip
def test_reserved_host(url: str, reserved: bool) -> None:
    assert reserved_host(url) is reserved


def test_material_change_on_a_real_article() -> None:
    text = extract_text(COURT, {"content-type": "text/html"}, "https://n.example.net/a/1")
    assert not changed_materially(text, text)
    assert not changed_materially(text, text.replace("29-year-old", "30-year-old"))
    assert not changed_materially(text, text + "\nUpdated at 10:00.")
    rewritten = extract_text(changed(COURT), {"content-type": "text/html"}, "https://n/a/1")
    assert changed_materially(text, rewritten)
    assert changed_materially(text, "")
