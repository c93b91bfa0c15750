"""Case files and verify: every format read back (the WARC with warcio and ``warcio check``),
hashes recomputed, tampering found; the CLI end to end; archived pages served sanitized."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html
from warcio.archiveiterator import ArchiveIterator

from tests.archive_helpers import (
    COURT,
    DAY,
    PROSECUTORS,
    T0,
    Clock,
    add_alert,
    archiver,
    enqueue_all,
    fetcher,
    run_due,
)
from tests.servers import FeedServer
from watcher.archive.export import CaseFilter, case_rows, export
from watcher.archive.sanitize import sanitize_html
from watcher.archive.verify import verify
from watcher.archive.view import archived_links, archived_page, capture_state
from watcher.cli import main
from watcher.store import archive as store
from watcher.store.db import Database, open_database
from watcher.store.stories import add_report, create_story, set_first_alert

HTML = "text/html; charset=utf-8"
HOSTILE = (
    b'<html><head><script src="https://evil.example/x.js"></script>'
    b'<link rel="stylesheet" href="https://cdn.example/s.css"><base href="https://evil.example/">'
    b'<meta http-equiv="refresh" content="0;url=https://evil.example/"></head>'
    b'<body onload="steal()"><h1>North Korean workers deported</h1>'
    b'<p style="background:url(https://t.example/p.gif)">Forty workers were sent back.</p>'
    b'<img src="https://t.example/pixel.gif" alt="photo"><iframe src="https://ads.example/"></iframe>'
    b'<a href="javascript:alert(1)">x</a><a href="https://outlet.example/more">more</a>'
    b"<svg><script>alert(2)</script></svg><object data='x.swf'></object></body></html>"
)


@pytest.fixture
async def case(store_db: Database, tmp_path: Path) -> AsyncIterator[tuple[Database, Path, dict]]:
    """Three alerts, two of them one story; captured; one removed later."""
    root = tmp_path / "archive"
    async with FeedServer() as srv:
        srv.route("/", b"front", content_type=HTML)
        pages = {"/a/1": COURT, "/a/2": PROSECUTORS, "/a/3": HOSTILE}
        for path, body in pages.items():
            srv.route(path, body, content_type=HTML)
        ids = {p: add_alert(store_db, srv.url(p), title=f"Report {p}") for p in pages}
        now = T0.timestamp()
        with store_db.transaction() as tx:
            story = create_story(tx, title="Worker handed back", topics=["repatriation"],
                                 score=5.0, now=now)  # fmt: skip
            set_first_alert(tx, story, ids["/a/1"])
            for path in ("/a/1", "/a/2"):
                add_report(tx, story, item_id=None, source_id="src", source_name="SRC",
                           url=srv.url(path), title=f"Report {path}", summary="sum",
                           language="en", topics=["repatriation"], score=5.0, published=T0,
                           now=now, alert_id=ids[path])  # fmt: skip
        clock = Clock(now)
        enqueue_all(store_db, now)
        async with fetcher() as f:
            arch = archiver(store_db, root, f, clock=clock)
            await run_due(arch, store_db, now)
            srv.route("/a/2", b"gone", status=404, content_type=HTML)
            clock.now += DAY + 1
            await run_due(arch, store_db, clock.now)
        yield store_db, root, {"ids": ids, "story": story, "url": srv.url}


async def test_csv_and_jsonl(case: tuple[Database, Path, dict], tmp_path: Path) -> None:
    db, root, info = case
    rows = case_rows(db, CaseFilter(topic="repatriation"))
    assert [r.development for r in rows] == [str(info["story"])] * 2 + [
        f"alert-{info['ids']['/a/3']}"
    ]
    export(db, root, rows, "csv", tmp_path / "case.csv")
    table = list(csv.DictReader((tmp_path / "case.csv").open(encoding="utf-8")))
    assert [r["status"] for r in table] == ["live", "removed", "live"]
    assert table[0]["development_title"] == "Worker handed back"
    assert table[0]["sha256"] == hashlib.sha256(COURT).hexdigest()
    assert table[1]["sha256"] == hashlib.sha256(PROSECUTORS).hexdigest()  # the copy kept
    assert all(r["record_id"].startswith("<urn:uuid:") and r["fetched"] for r in table)
    export(db, root, rows, "jsonl", tmp_path / "case.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "case.jsonl").read_text().splitlines()]
    assert [x["url"] for x in lines] == [r["url"] for r in table]
    assert case_rows(db, CaseFilter(topic="forced_labor")) == []
    assert len(case_rows(db, CaseFilter(story=info["story"]))) == 2
    assert case_rows(db, CaseFilter(since=T0.timestamp() + 1)) == []


async def test_warc_export_reads_back(case: tuple[Database, Path, dict], tmp_path: Path) -> None:
    db, root, _ = case
    out = tmp_path / "case.warc.gz"
    export(db, root, case_rows(db, CaseFilter()), "warc", out)
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(out)],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout
    digests: dict[str, str] = {}
    with out.open("rb") as fh:
        for record in ArchiveIterator(fh, check_digests=True):
            if record.rec_type == "response":
                body = record.content_stream().read()
                rid = record.rec_headers.get_header("WARC-Record-ID")
                digests[rid] = hashlib.sha256(body).hexdigest()
    with db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT record_id, payload_sha256 FROM archive_snapshots WHERE kind = 'response'"
        )
    indexed = {r[0]: r[1] for r in rows}
    assert digests == indexed  # all 4 responses (3 articles, the 404), hashes as recorded


async def test_html_export_is_offline_and_scriptless(
    case: tuple[Database, Path, dict], tmp_path: Path
) -> None:
    db, root, _ = case
    out = tmp_path / "case"
    export(db, root, case_rows(db, CaseFilter()), "html", out)
    index = (out / "index.html").read_text()
    assert "Worker handed back" in index and "removed" in index
    pages = sorted((out / "pages").iterdir())
    assert len(pages) == 4
    for page in pages:
        _assert_inert(page.read_text())
    hostile = next(p.read_text() for p in pages if "Forty workers" in p.read_text())
    assert "North Korean workers deported" in hostile and "https://outlet.example/more" in hostile
    for line in (out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert any("Jun Kyung-chul" in p.read_text() for p in (out / "text").iterdir())


def _assert_inert(html: str) -> None:
    """No element that runs or loads anything, no handler, no remote reference to load."""
    doc = lxml_html.document_fromstring(html)
    for bad in ("script", "iframe", "object", "embed", "link", "base", "svg", "frame"):
        assert not doc.xpath(f"//{bad}"), bad
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert csp and "default-src 'none'" in csp[0]
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            assert name.lower() not in ("src", "srcset", "background", "poster", "action")
            if name.lower() == "href":
                assert value.strip().lower().startswith(("https:", "http:", "mailto:", "#"))
            if name.lower() == "style":
                assert "url(" not in value.lower()
    refresh = doc.xpath("//meta[@http-equiv='refresh']")
    assert not refresh


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                "<script>alert(1)</script>",
                "<img src=x onerror=alert(1)>",
                "<svg onload=x>",
                "<a href=' javascript:x'>a</a>",
                "<a href='JaVaScRiPt:x'>",
                "<iframe srcdoc='<b>'>",
                "<style>@import 'http://x'</style>",
                "<p style='background:url(//x)'>",
                "<!--",
                "<math><mi xlink:href='javascript:x'>",
                "<object data=x>",
                "<base href=//x>",
                "<body onload=x>",
                "<scr<script>ipt>",
                "</p>",
                "<p>",
                "text",
                "<",
                "&lt;",
                "\x00",
                "<form action=//x><input formaction=//y>",
                "<video poster=//x>",
                "<table background=//x>",
                "<meta http-equiv=refresh content='0;url=//x'>",
                "<link rel=import href=//x>",
                "<a href='data:text/html,<script>x</script>'>d</a>",
                "<template><script>x",
                "<noscript><p title='</noscript><img src=x onerror=alert(1)>'>",
            ]
        ),
        max_size=12,
    ),
    st.text(max_size=40),
)
def test_sanitizer_on_hostile_input(parts: list[str], noise: str) -> None:
    _assert_inert(sanitize_html("".join(parts) + noise + "".join(reversed(parts))))


async def test_served_copy_and_links(case: tuple[Database, Path, dict]) -> None:
    db, root, info = case
    state = capture_state(db, info["ids"]["/a/3"])
    assert state is not None and state.evidence is not None
    page = archived_page(db, root, state.evidence.id)
    assert page is not None
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    _assert_inert(page.body.decode())
    assert (
        "Archived copy" in page.body.decode()
        and state.evidence.payload_sha256 in page.body.decode()
    )
    text = archived_page(db, root, state.evidence.id, text=True)
    assert text is not None and b"Forty workers" in text.body
    assert archived_page(db, root, 10**6) is None
    urls = {i: info["url"](p) for p, i in info["ids"].items()}
    links = archived_links(db, urls, "https://watcher.example.org/")
    assert links[info["ids"]["/a/3"]] == f"https://watcher.example.org/archive/{state.evidence.id}"
    assert archived_links(db, urls, "") == {}


async def test_verify_finds_tampering(case: tuple[Database, Path, dict]) -> None:
    db, root, info = case
    assert verify(db, root).ok
    state = capture_state(db, info["ids"]["/a/1"])
    assert state is not None and state.evidence is not None
    path = root / state.evidence.warc_file
    data = bytearray(path.read_bytes())
    import gzip
    import io

    members = []  # rewrite the response member with one byte of the article changed
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            members.append(record)
    raw = gzip.decompress(bytes(data)).replace(b"Jun Kyung-chul", b"Jun Kyung-chal", 1)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz:
        gz.write(raw)
    path.write_bytes(buf.getvalue())
    report = verify(db, root)
    assert not report.ok
    assert any("payload SHA-256" in p or "unreadable" in p for p in report.problems)
    (root / "stray.warc.gz").write_bytes(b"")
    assert "stray.warc.gz" in verify(db, root).unindexed


def test_cli_export_verify_show_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "state" / "watcher.db"
    with FeedServer() as srv:
        srv.route("/a/1", COURT, content_type=HTML)
        (tmp_path / "feeds.yaml").write_text(
            "sources:\n  - {id: src, url: 'http://127.0.0.1/feed', allow_private: true}\n"
        )
        db = open_database(db_path)
        alert_id = add_alert(db, srv.url("/a/1"))
        db.close()
        base = ["--config", str(tmp_path)]
        env_robots = {"WATCHER_ARCHIVE_ROBOTS": "false"}
        import os

        old = {k: os.environ.get(k) for k in env_robots}
        os.environ.update(env_robots)
        try:
            assert main([*base, "archive", "capture", "--alert", str(alert_id)]) == 0
            assert "first; archived" in capsys.readouterr().out
            assert main([*base, "archive", "capture", "--alert", str(alert_id)]) == 0
            assert "same" in capsys.readouterr().out  # a second request re-checks
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    assert main([*base, "archive", "show", str(alert_id)]) == 0
    out = capsys.readouterr().out
    assert "archived" in out and hashlib.sha256(COURT).hexdigest() in out
    assert main([*base, "archive", "verify"]) == 0
    assert "1 records and 1 texts checked, 0 problems" in capsys.readouterr().out
    out_csv = tmp_path / "c.csv"
    assert main([*base, "archive", "export", "--since", "2026-11-01", "--format", "csv",
                 "--out", str(out_csv)]) == 0  # fmt: skip
    assert "1 reports (1 with an archived copy)" in capsys.readouterr().out
    assert main([*base, "archive", "export", "--since", "last week", "--format", "csv",
                 "--out", str(out_csv)]) == 2  # fmt: skip
    assert "--since 'last week'" in capsys.readouterr().err
    assert main([*base, "archive", "capture", "--item", "999"]) == 2
    assert "no item with id 999" in capsys.readouterr().err
    assert main([*base, "sources"]) == 0
    assert "Archive: 1 pages kept" in capsys.readouterr().out


def test_migration_and_queue_on_both_stores(store_db: Database) -> None:
    add_alert(store_db, "https://example.org/a")
    add_alert(store_db, "")  # no URL: nothing to capture
    with store_db.transaction() as tx:
        last = store.enqueue_alerts(tx, 0, 1.0)
        assert store.enqueue_alerts(tx, last, 1.0) == last
    rows = store.claim(store_db, "x", 2.0)
    assert [r.url for r in rows] == ["https://example.org/a"]
    assert store.claim(store_db, "y", 2.0) == []  # leased
    assert [r.url for r in store.claim(store_db, "y", 2.0 + store.LEASE_S + 1)] == [rows[0].url]


def test_digest_preview_links_archived_copies(
    case: tuple[Database, Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`watcher digest preview` renders the digest `watcher run` sends: with the archive's
    base URL, each archived alert links its copy."""
    from watcher.cli import main

    db, _, info = case
    (tmp_path / "keywords.yaml").write_text(
        "topics:\n  - id: repatriation\n    title: Forced return\n    threshold: 1\n"
        "    terms: {court: 1}\n"
    )
    monkeypatch.setenv("WATCHER_ARCHIVE_URL", "https://watcher.example.org")
    with db.transaction() as tx:  # the preview takes the last day's alerts
        tx.execute("UPDATE alerts SET created_at = ?", (time.time(),))
    out = tmp_path / "preview.html"
    args = ["--config", str(tmp_path), "--db", db.url, "digest", "preview", "--out", str(out)]
    assert main(args) == 0
    state = capture_state(db, info["ids"]["/a/1"])
    assert state is not None and state.evidence is not None
    assert f"https://watcher.example.org/archive/{state.evidence.id}" in out.read_text()
