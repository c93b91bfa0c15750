"""``watcher archive verify``: read every indexed record back and recompute every hash.

For each snapshot: the record is where the index says, has the record id the index has, its
payload's SHA-256 matches both the index and the record's own ``WARC-Payload-Digest`` (a
revisit's digest matches the index), warcio's check of the block digest passes, and the text
record's SHA-256 matches the index. Files in the folder that the index does not know
(left by a crash between writing and indexing) and indexed files that are missing are listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from watcher.archive import warc
from watcher.store import archive as store
from watcher.store.archive import Snapshot
from watcher.store.db import Database


@dataclass
class Report:
    records: int = 0
    texts: int = 0
    problems: list[str] = field(default_factory=list)
    unindexed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_main(root: Path, snap: Snapshot) -> list[str]:
    where = f"{snap.warc_file}@{snap.warc_offset} ({snap.url})"
    try:
        record = warc.read_record(root, snap.warc_file, snap.warc_offset)
    except FileNotFoundError:
        return [f"{where}: file missing"]
    except Exception as exc:  # a damaged file must be reported, not crash the check
        return [f"{where}: unreadable: {exc!r}"]
    out = []
    if record.warc_headers.get("WARC-Record-ID") != snap.record_id:
        out.append(f"{where}: record id {record.warc_headers.get('WARC-Record-ID')}"
                   f" where the index has {snap.record_id}")  # fmt: skip
    declared = warc.hex_of_digest(record.warc_headers.get("WARC-Payload-Digest", ""))
    if declared != snap.payload_sha256:
        out.append(f"{where}: WARC-Payload-Digest {declared or '(none)'} is not the index's"
                   f" {snap.payload_sha256}")  # fmt: skip
    if snap.kind == "response":
        actual = hashlib.sha256(record.content).hexdigest()
        if actual != snap.payload_sha256:
            out.append(f"{where}: payload SHA-256 is {actual}, the index has"
                       f" {snap.payload_sha256}")  # fmt: skip
    if record.digest_ok is False:
        out.append(f"{where}: WARC block digest does not match the record")
    return out


def _check_text(root: Path, snap: Snapshot) -> list[str]:
    where = f"{snap.text_file}@{snap.text_offset} (text of {snap.url})"
    try:
        record = warc.read_record(root, snap.text_file, snap.text_offset)
    except FileNotFoundError:
        return [f"{where}: file missing"]
    except Exception as exc:
        return [f"{where}: unreadable: {exc!r}"]
    actual = hashlib.sha256(record.content).hexdigest()
    if actual != snap.text_sha256:
        return [f"{where}: text SHA-256 is {actual}, the index has {snap.text_sha256}"]
    if record.digest_ok is False:
        return [f"{where}: WARC block digest does not match the record"]
    return []


def verify(db: Database, root: Path, progress: Callable[[int], None] | None = None) -> Report:
    report = Report()
    indexed: set[str] = set()
    texts_seen: set[str] = set()
    for snap in store.all_snapshots(db):
        indexed.add(snap.warc_file)
        report.records += 1
        report.problems.extend(_check_main(root, snap))
        if snap.text_file and snap.text_record_id not in texts_seen:
            texts_seen.add(snap.text_record_id)
            report.texts += 1
            report.problems.extend(_check_text(root, snap))
        if progress is not None and report.records % 1000 == 0:
            progress(report.records)
    report.unindexed = [f for f in warc.warc_files(root) if f not in indexed]
    return report
