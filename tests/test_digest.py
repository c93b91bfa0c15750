"""Email digests end to end: store -> service -> aiosmtplib -> a real aiosmtpd server.

Every message is parsed as it arrived: both parts, headers, grouping, bold matches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from tests.servers.smtp import SmtpServer
from watcher.models import Match
from watcher.notify.email import SmtpSettings
from watcher.notify.email.notifier import RETRY_FIRST_S, DigestService
from watcher.notify.email.render import bold_segments, render_digest
from watcher.store import digests as store
from watcher.store.alerts import get_alerts, insert_alert
from watcher.store.db import Database

# 2026-11-22 00:30 UTC = 09:30 in Seoul: after an 08:00 Seoul send time.
NOW = datetime(2026, 11, 22, 0, 30, tzinfo=UTC).timestamp()
DAY = 86400.0


def add_alert(
    db: Database, key: str, topics: list[str], score: float, now: float, term: str = "defector"
) -> int:
    snippet = f"Police said the {term} was detained near the border on Monday."
    start = snippet.index(term)
    match = Match(term, term, "summary", start, start + len(term), 2.0, snippet)
    with db.transaction() as tx:
        alert = insert_alert(
            tx,
            dedupe_key=key,
            item_id=None,
            source_id="src-" + key,
            source_name="Daily NK",
            title=f"Title {key}",
            url=f"https://news.example/{key}",
            summary=snippet,
            language="en",
            published=datetime.fromtimestamp(now - 3600, UTC),
            topics=topics,
            score=score,
            matches=[match],
            now=now - 600,
        )
    assert alert is not None
    return alert.id


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as srv:
        yield srv


def service(db: Database, srv: SmtpServer, **kw: object) -> DigestService:
    settings = SmtpSettings(
        host=srv.host, port=srv.port, tls="none", from_addr="watcher@alerts.test", **kw
    )
    return DigestService(
        db, settings, titles={"repatriation": "Repatriation", "labour": "Forced labour"}
    )


def subscribe(
    db: Database, email: str, topics: list[str], tz: str = "Asia/Seoul", at: str = "08:00"
) -> None:
    store.subscribe(db, email, topics, at, tz, NOW - 2 * DAY)


def parts(msg: object) -> tuple[str, str]:
    from email.message import EmailMessage

    assert isinstance(msg, EmailMessage)
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def test_bold_segments_mark_every_term_case_insensitively() -> None:
    segs = bold_segments("A Defector and a defector-like case", ["defector"])
    assert [(s.text, s.bold) for s in segs] == [
        ("A ", False),
        ("Defector", True),
        (" and a ", False),
        ("defector", True),
        ("-like case", False),
    ]


def test_render_escapes_html_and_groups_by_topic_best_score_first(store_db: Database) -> None:
    a = add_alert(store_db, "a", ["labour"], 3.0, NOW)
    b = add_alert(store_db, "b", ["repatriation", "labour"], 9.0, NOW, term="<script>")
    c = add_alert(store_db, "c", ["repatriation"], 5.0, NOW)
    alerts = list(get_alerts(store_db, [a, b, c]).values())
    out = render_digest(alerts, day=date(2026, 11, 22), topic_titles={"labour": "Forced labour"})
    assert out.subject == "Watcher digest 2026-11-22: 3 new alerts"
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert out.html.index("repatriation") < out.html.index("Forced labour")
    assert out.html.index("Title b") < out.html.index("Title c") < out.html.index("Title a")
    assert out.text.index("Title b") < out.text.index("Title c") < out.text.index("Title a")


async def test_digest_arrives_once_with_both_parts_headers_and_topics(
    store_db: Database, smtp: SmtpServer
) -> None:
    subscribe(store_db, "ko@example.org", ["repatriation"])
    subscribe(store_db, "all@example.org", [], tz="UTC", at="00:15")
    r1 = add_alert(store_db, "r1", ["repatriation"], 4.0, NOW)
    r2 = add_alert(store_db, "r2", ["repatriation"], 8.0, NOW)
    add_alert(store_db, "l1", ["labour"], 6.0, NOW, term="workers")
    svc = service(store_db, smtp)

    result = await svc.run_once(NOW)
    assert (result.claimed, result.sent, result.retry) == (2, 2, 0)
    by_to = {str(m["To"]): m for m in smtp.messages}
    assert set(by_to) == {"ko@example.org", "all@example.org"}

    ko = by_to["ko@example.org"]
    assert ko["Subject"] == "Watcher digest 2026-11-22: 2 new alerts"
    assert ko["From"] == "watcher@alerts.test"
    assert ko["List-Unsubscribe"].strip() == "<mailto:watcher@alerts.test?subject=unsubscribe>"
    assert ko.get_content_type() == "multipart/alternative"
    (recorded,) = store.digests_for(store_db, "ko@example.org")
    assert ko["Message-ID"] == recorded.message_id and recorded.status == store.DELIVERED
    assert sorted(recorded.alert_ids) == sorted([r1, r2])
    text, html = parts(ko)
    assert "Title r2" in text and "Title l1" not in text
    assert text.index("Title r2") < text.index("Title r1")  # by score
    assert "*defector*" in text
    assert ">defector</b>" in html and 'href="https://news.example/r2"' in html
    assert "09:30" not in text and "KST" in text  # times in the recipient's zone

    everything = by_to["all@example.org"]
    assert everything["Subject"] == "Watcher digest 2026-11-22: 3 new alerts"
    text, html = parts(everything)
    assert text.index("REPATRIATION") < text.index("FORCED LABOUR")  # best group first
    assert "<b " in html and "workers</b>" in html

    # the same day again: nothing more; the next day: only what is new since
    again = await svc.run_once(NOW + 3600)
    assert (again.claimed, again.sent) == (0, 0) and len(smtp.messages) == 2
    r3 = add_alert(store_db, "r3", ["repatriation"], 2.0, NOW + DAY)
    nxt = await svc.run_once(NOW + DAY)
    assert nxt.sent == 2
    newest = [m for m in smtp.messages[2:] if m["To"] == "ko@example.org"]
    assert newest[0]["Subject"] == "Watcher digest 2026-11-23: 1 new alert"
    assert store.digests_for(store_db, "ko@example.org")[-1].alert_ids == (r3,)


async def test_nothing_new_sends_nothing_or_a_short_note(
    store_db: Database, smtp: SmtpServer
) -> None:
    subscribe(store_db, "quiet@example.org", [])
    result = await service(store_db, smtp).run_once(NOW)
    assert result.sent == 0 and smtp.messages == []
    assert [d.status for d in store.digests_for(store_db)] == [store.EMPTY]

    subscribe(store_db, "note@example.org", [])
    result = await service(store_db, smtp, digest_empty=True).run_once(NOW)
    assert result.sent == 1
    (msg,) = smtp.messages
    assert msg["To"] == "note@example.org" and "nothing new" in msg["Subject"]
    assert "Nothing new since your last digest." in parts(msg)[0]


async def test_smtp_down_then_up_delivers_the_same_digest_once(
    store_db: Database, smtp: SmtpServer
) -> None:
    subscribe(store_db, "a@example.org", [])
    add_alert(store_db, "x", ["labour"], 5.0, NOW)
    svc = service(store_db, smtp)
    smtp.stop()
    down = await svc.run_once(NOW)
    assert (down.claimed, down.sent, down.retry) == (1, 0, 1)
    (d,) = store.digests_for(store_db)
    assert d.status == store.PENDING and d.attempts == 1 and "SMTP" in (d.last_error or "")
    # not retried before its back-off has passed
    smtp.start()
    early = await svc.run_once(NOW + 10)
    assert early.sent == 0 and smtp.messages == []
    assert NOW + RETRY_FIRST_S / 2 <= d.next_attempt_at <= NOW + RETRY_FIRST_S  # jittered
    up = await svc.run_once(NOW + RETRY_FIRST_S + 1)
    assert up.sent == 1
    (msg,) = smtp.messages
    assert msg["Message-ID"] == d.message_id
    assert store.digests_for(store_db)[0].status == store.DELIVERED
    assert (await svc.run_once(NOW + 7200)).sent == 0 and len(smtp.messages) == 1


async def test_refused_recipient_stays_pending_others_still_get_theirs(
    store_db: Database, smtp: SmtpServer
) -> None:
    subscribe(store_db, "bad@example.org", [])
    subscribe(store_db, "good@example.org", [])
    add_alert(store_db, "x", ["labour"], 5.0, NOW)
    smtp.refused.add("bad@example.org")
    svc = service(store_db, smtp)
    first = await svc.run_once(NOW)
    assert (first.sent, first.retry) == (1, 1)
    assert [m["To"] for m in smtp.messages] == ["good@example.org"]
    bad = store.digests_for(store_db, "bad@example.org")[0]
    assert bad.status == store.PENDING and "refused" in (bad.last_error or "")
    smtp.refused.clear()
    retry = await svc.run_once(bad.next_attempt_at + 1)
    assert retry.sent == 1
    assert sorted(str(m["To"]) for m in smtp.messages) == ["bad@example.org", "good@example.org"]


async def test_login_refused_stays_pending_then_delivers(store_db: Database) -> None:
    with SmtpServer(users={"bot": "secret"}) as srv:
        srv.refuse_auth = True
        subscribe(store_db, "a@example.org", [])
        add_alert(store_db, "x", ["labour"], 5.0, NOW)
        svc = service(store_db, srv, user="bot", password="secret")
        assert (await svc.run_once(NOW)).retry == 1
        d = store.digests_for(store_db)[0]
        assert "login refused" in (d.last_error or "") and srv.messages == []
        srv.refuse_auth = False
        assert (await svc.run_once(d.next_attempt_at + 1)).sent == 1
        assert len(srv.messages) == 1 and srv.messages[0]["Message-ID"] == d.message_id


def test_alert_ids_are_recorded_before_sending(store_db: Database) -> None:
    subscribe(store_db, "a@example.org", [])
    aid = add_alert(store_db, "x", ["labour"], 5.0, NOW)
    r = store.get_recipient(store_db, "a@example.org")
    assert r is not None
    svc = DigestService(store_db, SmtpSettings(host="127.0.0.1", port=1, tls="none"))
    d = svc.make(r, NOW)
    assert (
        d is not None
        and d.status == store.PENDING
        and json.loads(json.dumps(list(d.alert_ids))) == [aid]
    )
    # a second make for the same day is refused by the store
    assert svc.make(r, NOW) is None
