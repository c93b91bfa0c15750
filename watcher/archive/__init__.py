"""The evidence archive (docs/archive.md): its settings; capture, watch, export in modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import NoDecode, SettingsConfigDict

from watcher.settings import Section, Settings


def durations(value: object) -> object:
    """``1d,7d,30d`` (the one duration syntax; a bare number is seconds); ``off``: none."""
    from watcher.durations import parse_duration

    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        return () if parts in ([], ["off"]) else tuple(parse_duration(p) for p in parts)
    return value


Durations = Annotated[tuple[float, ...], NoDecode, BeforeValidator(durations)]


def pages_url(value: str) -> str:
    """Empty, or an http(s) base URL: the digest puts it in links readers click."""
    parts = urlsplit(value.strip())
    if value.strip() and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ValueError("must be an http:// or https:// address (or empty: no links)")
    return value.strip().rstrip("/")


class ArchiveSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WATCHER_ARCHIVE_")
    group: ClassVar[str] = "evidence archive (docs/archive.md)"

    enabled: bool = Field(
        True,
        validation_alias="WATCHER_ARCHIVE",
        description="Capture each alerted article (and its story's other reports) into WARC files.",
    )
    dir: Path | None = Field(
        None, description="The WARC folder; empty: CONFIG/state/archive (shared by instances)."
    )
    max_page_bytes: int = Field(
        5 * 1024 * 1024, gt=0, description="Bytes kept of one page; a bigger page is cut there."
    )
    max_day_bytes: int = Field(
        500 * 1024 * 1024,
        gt=0,
        description="Bytes written in 24 hours at most; past it pages are cut (text kept whole).",
    )
    # the default as a .env line writes it (validated into seconds)
    watch: Durations = Field(
        "1d,7d,30d",
        validate_default=True,
        description="When archived pages are checked again for changes and removal, after the"
        " capture (off: never).",
    )
    robots: bool = Field(True, description="Honour robots.txt for captures, as full text does.")
    url: Annotated[str, AfterValidator(pages_url)] = Field(
        "", description="Base URL of the maintainer pages serving archived copies (digest links)."
    )
    concurrency: int = Field(4, ge=1, le=64, description="Captures and checks at once.")

    @property
    def links(self) -> str:
        """Where digests link archived copies: ``url`` while the archive is on, else ""."""
        return self.url if self.enabled else ""


def archive_dir(settings: Settings) -> Path:
    """The WARC folder: WATCHER_ARCHIVE_DIR, else CONFIG/state/archive."""
    return settings.section(ArchiveSettings).dir or settings.config_dir / "state" / "archive"
