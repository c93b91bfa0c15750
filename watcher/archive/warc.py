"""WARC files of the archive: one small file per snapshot, written whole or not at all.

A snapshot file holds, gzip per record: ``warcinfo``; the ``response`` (status line, headers
and body as fetched; or a ``revisit`` pointing at an identical payload kept before); a
``metadata`` record (JSON: the URL asked for, the redirects, the fetch time, what was cut and
why, the alert); and a ``conversion`` record with the extracted text. Digests are SHA-256
(``WARC-Payload-Digest: sha256:BASE32``), as courts and web archives check them.

Crash safety: the file is written under a ``.part`` name, flushed to disk, then renamed; the
index row is committed after the rename. A crash leaves at most a ``.part`` file (swept later)
or a complete file the index does not know (the capture is retried; ``verify`` lists it), never
a torn record in a ``.warc.gz`` file. One file per snapshot also means instances sharing the
folder never append to the same file.

The body kept is the decoded one (the fetcher undoes gzip/deflate): its ``Content-Encoding``,
``Transfer-Encoding`` and ``Content-Length`` headers are kept as ``X-Archive-Orig-*`` (the
Wayback convention) and ``Content-Length`` says the length kept, so replay tools read it as is.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from watcher import __version__

PART = ".part"
SUFFIX = ".warc.gz"
_RENAMED = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class _Sha256Writer(WARCWriter):  # type: ignore[misc]
    """warcio's writer with SHA-256 digests (its default is SHA-1)."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def warc_digest(data: bytes) -> str:
    """``sha256:BASE32`` as in ``WARC-Payload-Digest``."""
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


def hex_of_digest(digest: str) -> str:
    """The hex SHA-256 of a ``sha256:BASE32`` (or ``sha256:HEX``) digest; "" otherwise."""
    algo, _, value = digest.partition(":")
    if algo.lower() != "sha256":
        return ""
    if len(value) == 64:
        return value.lower()
    try:
        return base64.b32decode(value).hex()
    except ValueError:
        return ""


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched answer, as it will be kept."""

    url: str  # asked for
    final_url: str  # after redirects
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]  # as sent: case, order, repeats
    body: bytes  # decoded; cut when ``truncated``
    fetched_at: float
    redirects: tuple[str, ...] = ()
    truncated: str = ""  # what was cut and why ("" = nothing)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True, slots=True)
class Original:
    """An identical payload kept before: what a revisit record points at."""

    record_id: str
    url: str
    fetched_at: float


@dataclass(frozen=True, slots=True)
class Written:
    """Where a snapshot's records went (offsets and lengths of their gzip members)."""

    record_id: str
    warc_file: str  # relative to the archive folder, "/" separated
    offset: int
    length: int
    text_record_id: str
    text_offset: int
    text_length: int
    size: int  # bytes of the whole file


def http_headers(page: Page) -> StatusAndHeaders:
    kept: list[tuple[str, str]] = []
    for name, value in page.headers:
        if name.lower() in _RENAMED:
            kept.append((f"X-Archive-Orig-{name}", value))
        else:
            kept.append((name, value))
    kept.append(("Content-Length", str(len(page.body))))
    version = page.http_version if page.http_version.startswith("HTTP/") else "HTTP/1.1"
    return StatusAndHeaders(f"{page.status} {page.reason}".strip(), kept, protocol=version)


def snapshot_path(root: Path, when: float) -> tuple[Path, str]:
    """A new file's absolute path and its name relative to ``root``."""
    day = datetime.fromtimestamp(when, UTC)
    name = f"watcher-{day:%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:12]}{SUFFIX}"
    rel = f"{day:%Y/%m/%d}/{name}"
    return root / rel, rel


def write_snapshot(
    root: Path,
    page: Page,
    *,
    text: str | None,
    meta: dict[str, Any],
    original: Original | None = None,
) -> Written:
    """Write one snapshot file (see the module docstring); returns where its records are.
    ``text`` None writes no conversion record (a revisit shares its original's)."""
    path, rel = snapshot_path(root, page.fetched_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + PART)
    with open(part, "wb") as f:
        writer = _Sha256Writer(f, gzip=True, warc_version="WARC/1.1")
        info = {"software": f"watcher/{__version__}", "format": "WARC File Format 1.1"}
        writer.write_record(writer.create_warcinfo_record(path.name, info))
        offset = f.tell()
        main = _main_record(writer, page, original)
        writer.write_record(main)
        length = f.tell() - offset
        record_id = main.rec_headers.get_header("WARC-Record-ID")
        refs = {"WARC-Refers-To": record_id, "WARC-Date": iso(page.fetched_at)}
        body = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")
        writer.write_record(
            writer.create_warc_record(
                page.final_url, "metadata", payload=io.BytesIO(body), length=len(body),
                warc_content_type="application/json", warc_headers_dict=dict(refs),
            )
        )  # fmt: skip
        text_offset: int | None = None
        text_id = ""
        if text is not None:  # a revisit's text is its original's: not written twice
            text_offset = f.tell()
            data = text.encode("utf-8")
            conversion = writer.create_warc_record(
                page.final_url, "conversion", payload=io.BytesIO(data), length=len(data),
                warc_content_type="text/plain; charset=utf-8", warc_headers_dict=dict(refs),
            )  # fmt: skip
            writer.write_record(conversion)
            text_id = conversion.rec_headers.get_header("WARC-Record-ID")
        size = f.tell()
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
    _fsync_dir(path.parent)
    return Written(
        record_id=record_id,
        warc_file=rel,
        offset=offset,
        length=length,
        text_record_id=text_id,
        text_offset=text_offset or 0,
        text_length=0 if text_offset is None else size - text_offset,
        size=size,
    )


def _main_record(writer: _Sha256Writer, page: Page, original: Original | None) -> ArcWarcRecord:
    extra = {"WARC-Date": iso(page.fetched_at)}
    if page.truncated:
        extra["WARC-Truncated"] = "length"
    if page.final_url != page.url:
        extra["WARC-Watcher-Requested-URI"] = page.url
    if original is not None:
        record = writer.create_revisit_record(
            page.final_url,
            warc_digest(page.body),
            original.url,
            iso(original.fetched_at),
            http_headers=http_headers(page),
        )
        record.rec_headers.add_header("WARC-Refers-To", original.record_id)
        for k, v in extra.items():
            record.rec_headers.replace_header(k, v)
        return record
    return writer.create_warc_record(
        page.final_url,
        "response",
        payload=io.BytesIO(page.body),
        length=len(page.body),
        http_headers=http_headers(page),
        warc_headers_dict=extra,
    )


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform opens folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep_partials(root: Path, older_than_s: float = 3600.0) -> int:
    """Delete ``.part`` files left by a crash (old enough not to be another instance's
    write in progress); returns how many."""
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for part in root.rglob(f"*{SUFFIX}{PART}"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def warc_files(root: Path) -> list[str]:
    """Every complete snapshot file under ``root``, relative and sorted."""
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(f"*{SUFFIX}"))


@dataclass(frozen=True, slots=True)
class Record:
    """One record read back: its WARC headers, HTTP status/headers and content."""

    warc_headers: dict[str, str]
    status: int
    http_headers: tuple[tuple[str, str], ...]
    content: bytes
    digest_ok: bool | None  # warcio's check of the block/payload digests (None: none)


@contextmanager
def _open(root: Path, rel: str) -> Iterator[IO[bytes]]:
    with open(root / rel, "rb") as f:
        yield f


def read_record(root: Path, rel: str, offset: int, *, check: bool = True) -> Record:
    """The record at ``offset`` of ``root/rel`` (digests checked while reading unless
    ``check`` is off: ``digest_ok`` is then None)."""
    with _open(root, rel) as f:
        f.seek(offset)
        record = next(iter(ArchiveIterator(f, check_digests=check)))
        content = record.raw_stream.read()
        headers = {k: v for k, v in record.rec_headers.headers}
        status = 0
        http: tuple[tuple[str, str], ...] = ()
        if record.http_headers is not None:
            code = (record.http_headers.get_statuscode() or "0").strip()
            status = int(code) if code.isdigit() else 0
            http = tuple(record.http_headers.headers)
        checker = record.digest_checker
        ok = None if checker.passed is None else bool(checker.passed)
        return Record(headers, status, http, content, ok)


def http_header(headers: Sequence[tuple[str, str]], name: str) -> str:
    low = name.lower()
    return next((v for k, v in headers if k.lower() == low), "")
