"""`watcher sources test ID` against a listing page with full text, all on 127.0.0.1."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.servers import FeedServer
from watcher.cli.source_trial import cmd_sources_test

WEB = DATA / "web"


def test_sources_test_prints_items_text_and_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as srv:
        # No link may leave 127.0.0.1 (not even a DNS lookup): the external one becomes local.
        page = (WEB / "listing-en.html").read_bytes()
        page = page.replace(b"https://other.example.org/story/77", b"/story/77")
        srv.route("/news/", page, content_type="text/html")
        srv.route(
            "/news/2026/11/vladivostok-court",
            (WEB / "article-court.html").read_bytes(),
            content_type="text/html",
        )
        (tmp_path / "feeds.yaml").write_text(
            "sources:\n"
            f"  - id: alliance\n    url: {srv.url('/news/')}\n    type: page\n"
            "    fulltext: true\n    allow_private: true\n"
            "    selectors: {item: 'ul.news li', link: 'a.headline', date: 'span.date'}\n",
            encoding="utf-8",
        )
        shutil.copy(DATA.parent.parent / "keywords.yaml", tmp_path / "keywords.yaml")
        args = argparse.Namespace(config=tmp_path, db=None, log_format=None, source_id="alliance")
        assert cmd_sources_test(args) == 0
        out = capsys.readouterr().out
        assert "alliance (page" in out and ": 3 items" in out
        assert "Court in Vladivostok hears case of a worker" in out
        assert "ALERT" in out and "repatriation" in out
        # the site forbids the articles: each says why it has no text
        srv.route(
            "/robots.txt", b"User-agent: *\nDisallow: /news/2026/\n", content_type="text/plain"
        )
        assert cmd_sources_test(args) == 0
    out = capsys.readouterr().out
    assert "text 0 chars (disallowed by robots.txt)" in out
