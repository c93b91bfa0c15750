"""`watcher digest`: email digest recipients, sending now, and a preview."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watcher.archive import ArchiveSettings
from watcher.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, settings_from_args
from watcher.models import LANGUAGES
from watcher.notify.email import SmtpSettings
from watcher.settings import Settings

_AT = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the `watcher` parser."""
    p = sub.add_parser("digest", help="daily email digests: recipients, send now, preview")
    p.set_defaults(func=lambda args: (p.print_help(), EXIT_USAGE)[1])
    dsub = p.add_subparsers(dest="digest_command", metavar="SUBCOMMAND")

    s = dsub.add_parser("subscribe", help="add or update a recipient")
    s.add_argument("email")
    s.add_argument("--topics", default="", help="comma-separated topic ids (default: all)")
    s.add_argument("--at", default=None, help="local send time HH:MM (default WATCHER_DIGEST_AT)")
    s.add_argument("--tz", default=None, help="IANA time zone (default WATCHER_DIGEST_TZ)")
    s.add_argument(
        "--lang", default="en", choices=LANGUAGES, help="language of the digest (default en)"
    )
    s.set_defaults(func=cmd_subscribe)

    u = dsub.add_parser("unsubscribe", help="stop a recipient's digests")
    u.add_argument("email")
    u.set_defaults(func=cmd_unsubscribe)

    ls = dsub.add_parser("list", help="recipients and their last digests")
    ls.set_defaults(func=cmd_list)

    sn = dsub.add_parser("send", help="make and send digests now (and retry pending ones)")
    sn.add_argument("--now", action="store_true", required=True, help="send now")
    sn.add_argument("email", nargs="?", default=None, help="only this recipient")
    sn.set_defaults(func=cmd_send)

    pv = dsub.add_parser("preview", help="render the digest that would be sent now")
    pv.add_argument("--out", type=Path, default=None, help="write the HTML here")
    pv.add_argument("--email", default=None, help="as this recipient would get it")
    pv.set_defaults(func=cmd_preview)


def _error(text: str) -> int:
    print(f"watcher digest: {text}", file=sys.stderr)
    return EXIT_USAGE


def _normalized(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        print(f"watcher digest: {address!r} is not a valid email address: {exc}", file=sys.stderr)
        return None


def _known_topics(settings: Settings) -> dict[str, dict[str, str]] | None:
    """Language -> topic id -> title from keywords.yaml; None when there is no keywords.yaml."""
    from watcher.rules.spec import parse_spec

    path = settings.keywords_path
    if not path.exists():
        return None
    spec, _ = parse_spec(path.read_text(encoding="utf-8"), str(path))
    return {lang: {t.id: t.title_in(lang) for t in spec.topics} for lang in LANGUAGES}


def cmd_subscribe(args: argparse.Namespace) -> int:
    from watcher.store.db import open_database
    from watcher.store.digests import subscribe

    settings = settings_from_args(args)
    smtp = settings.section(SmtpSettings)
    email = _normalized(args.email)
    if email is None:
        return EXIT_USAGE
    topics = [t.strip() for t in args.topics.split(",") if t.strip()]
    titles = _known_topics(settings)
    if titles is not None:
        known = titles["en"]
        unknown = [t for t in topics if t not in known]
        if unknown:
            return _error(
                f"unknown topic(s) {', '.join(unknown)}; {settings.keywords_path} has: "
                + ", ".join(known)
            )
    at = args.at or smtp.digest_at
    if not _AT.match(at):
        return _error(f"--at {at!r}: expected HH:MM, 24-hour (e.g. 08:00)")
    tz = args.tz or smtp.digest_tz
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return _error(f"--tz {tz!r}: not a known time zone (e.g. Asia/Seoul, Europe/London)")
    db = open_database(settings.db_target)
    try:
        r = subscribe(db, email, topics, at, tz, time.time(), args.lang)
    finally:
        db.close()
    topics_shown = ", ".join(r.topics) or "all"
    print(f"{r.email}: daily at {r.send_at} {r.tz}, topics: {topics_shown}, language: {r.lang}")
    return EXIT_OK


def cmd_unsubscribe(args: argparse.Namespace) -> int:
    from watcher.store.db import open_database
    from watcher.store.digests import unsubscribe

    settings = settings_from_args(args)
    email = _normalized(args.email)
    if email is None:
        return EXIT_USAGE
    db = open_database(settings.db_target)
    try:
        done = unsubscribe(db, email, time.time())
    finally:
        db.close()
    if not done:
        print(f"watcher digest: {email} is not subscribed", file=sys.stderr)
        return EXIT_FAILED
    print(f"{email}: unsubscribed")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from watcher.store.db import open_database
    from watcher.store.digests import digests_for, recipients

    settings = settings_from_args(args)
    db = open_database(settings.db_target)
    try:
        table = Table(title="digest recipients")
        everyone = recipients(db, active_only=False)
        widest = max((len(r.email) for r in everyone), default=5)
        table.add_column("email", min_width=widest)  # addresses whole: others wrap first
        for col in ("topics", "at", "lang", "active", "last digest", "pending"):
            table.add_column(col)
        for r in everyone:
            ds = digests_for(db, r.email)
            last = next((d for d in reversed(ds) if d.status == "delivered"), None)
            pending = [d for d in ds if d.status == "pending"]
            table.add_row(
                r.email,
                ", ".join(r.topics) or "all",
                f"{r.send_at} {r.tz}",
                r.lang,
                "yes" if r.active else "no",
                f"{last.digest_date} ({len(last.alert_ids)})" if last else "-",
                str(len(pending)) if pending else "-",
            )
    finally:
        db.close()
    Console().print(table)
    return EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    from watcher.notify.email.notifier import DigestService, local_now
    from watcher.store.db import open_database
    from watcher.store.digests import get_recipient, recipients

    settings = settings_from_args(args)
    smtp = settings.section(SmtpSettings)
    if not smtp.enabled:
        return _error("SMTP is not configured (set WATCHER_SMTP_HOST)")
    db = open_database(settings.db_target)
    try:
        titles = _known_topics(settings) or {}
        service = DigestService(
            db,
            smtp,
            titles=lambda lang: titles.get(lang, {}),
            archive_url=settings.section(ArchiveSettings).links,
        )
        now = time.time()
        if args.email:
            email = _normalized(args.email)
            one = get_recipient(db, email) if email else None
            if one is None or not one.active:
                return _error(f"{args.email} is not subscribed")
            chosen = [one]
        else:
            chosen = recipients(db)
        for r in chosen:
            key = local_now(now, r.tz).strftime("%Y-%m-%dT%H:%M:%S")
            service.make(r, now, key)
        done = asyncio.run(service.send_now(now))
    finally:
        db.close()
    print(f"digests delivered: {done.sent}, failed (left pending for a retry): {done.retry}")
    return EXIT_FAILED if done.retry else EXIT_OK


def cmd_preview(args: argparse.Namespace) -> int:
    from watcher.archive.view import archived_links
    from watcher.notify.email.render import render_digest
    from watcher.store.alerts import recent_alerts
    from watcher.store.db import open_database
    from watcher.store.digests import Recipient, get_recipient, new_alerts_for
    from watcher.stories.reporters import one_per_story

    settings = settings_from_args(args)
    smtp = settings.section(SmtpSettings)
    titles = _known_topics(settings) or {}
    db = open_database(settings.db_target)
    try:
        r: Recipient | None = None
        if args.email:
            r = get_recipient(db, args.email)
            if r is None:
                return _error(f"{args.email} is not subscribed")
            alerts = new_alerts_for(db, r)
        else:
            alerts = list(reversed(recent_alerts(db, limit=200, since=time.time() - 86400)))
        alerts = one_per_story(db, alerts)  # as the digest is sent: one entry per story
        links = archived_links(
            db, {a.id: a.url for a in alerts}, settings.section(ArchiveSettings).links
        )
    finally:
        db.close()
    tz = r.tz if r else smtp.digest_tz
    lang = r.lang if r else "en"
    rendered = render_digest(
        alerts,
        day=date.today(),
        topics=r.topics if r else (),
        topic_titles=titles.get(lang, {}),
        tz=tz,
        lang=lang,
        unsubscribe=f"mailto:{smtp.from_addr}?subject=unsubscribe",
        archived=links,
    )
    if args.out:
        args.out.write_text(rendered.html, encoding="utf-8")
        print(f"{rendered.subject}\nwrote {args.out}")
    else:
        print(f"Subject: {rendered.subject}\n\n{rendered.text}")
    return EXIT_OK
