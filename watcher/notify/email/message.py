"""The MIME message of a digest: multipart/alternative (plain text first, then HTML)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from watcher.notify.email.render import RenderedDigest


def new_message_id(from_addr: str) -> str:
    """A fresh Message-ID in the sender's domain (recorded before the digest is sent)."""
    domain = from_addr.rpartition("@")[2] or "localhost"
    return make_msgid(idstring="digest", domain=domain)


def unsubscribe_mailto(from_addr: str) -> str:
    """A reply to the sender with subject "unsubscribe" (the From: address is the recipient's)."""
    return f"mailto:{from_addr}?subject=unsubscribe"


def build_message(
    digest: RenderedDigest,
    *,
    from_addr: str,
    to: str,
    message_id: str,
    date: datetime,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = digest.subject
    msg["From"] = from_addr
    msg["To"] = to
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["List-Unsubscribe"] = f"<{unsubscribe_mailto(from_addr)}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Watcher-Alerts"] = str(digest.count)
    msg.set_content(digest.text, subtype="plain", charset="utf-8")
    msg.add_alternative(digest.html, subtype="html", charset="utf-8")
    return msg
