"""What readers read, pure: the catalogue in every language, /recent's compact list, and the
email digest (one snippet per story, in the recipient's language)."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from watcher.models import LANGUAGES, Alert, Match
from watcher.notify.email.render import render_digest
from watcher.notify.i18n import CATALOGUE, EN, language_of, say
from watcher.notify.telegram.format import MAX_LENGTH, Reader, format_recent
from watcher.settings import known_zone, zones_like

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_in_every_language_with_the_same_placeholders(lang: str) -> None:
    assert set(CATALOGUE[lang]) == set(EN)
    for key, text in CATALOGUE[lang].items():
        assert text.strip(), (lang, key)
        assert fields(text) == fields(EN[key]), (lang, key)


@pytest.mark.parametrize(
    ("code", "lang"),
    [("ko", "ko"), ("ko-KR", "ko"), ("ru", "ru"), ("ru-RU", "ru"), ("en-GB", "en"),
     ("uk", "en"), ("de", "en"), ("", "en"), (None, "en")],
)  # fmt: skip
def test_language_of_a_telegram_language_code(code: str | None, lang: str) -> None:
    assert language_of(code) == lang


def test_an_unknown_language_says_it_in_english() -> None:
    assert say("xx", "no_alerts") == EN["no_alerts"]


@pytest.mark.parametrize(
    ("text", "zone", "like"),
    [
        ("Asia/Seoul", "Asia/Seoul", None),
        ("asia/seoul", "Asia/Seoul", None),
        ("UTC", "UTC", None),
        ("Seoul", None, "Asia/Seoul"),
        ("Europe/Moskow", None, "Europe/Moscow"),
        ("../../etc/passwd", None, None),
    ],
)
def test_time_zones_people_type(text: str, zone: str | None, like: str | None) -> None:
    assert known_zone(text) == zone
    if like is not None:
        assert like in zones_like(text)


def alert(n: int, **changes: Any) -> Alert:
    snippet = "…police repatriated 60 defectors on Monday, officials said…"
    match = Match("repatriat*", "repatriated", "summary", 7, 18, 3.0, snippet)
    base = Alert(
        id=n,
        item_id=n,
        source_id="src",
        source_name="Daily NK",
        title=f"Story {n} <b>",
        url=f"https://example.org/{n}",
        published=WHEN,
        topics=("repatriation",),
        score=7.5,
        matches=(match,),
        created_at=WHEN,
        summary="Police repatriated 60 defectors on Monday, officials said.",
    )
    return replace(base, **changes)


RECENT = [
    (
        "en, UTC",
        Reader(titles={"repatriation": "Forced returns"}),
        [alert(1, also_reported_by=("RFA", "NK News")), alert(2)],
        [
            "<b>Latest alerts (times in UTC):</b>",
            '11-22 09:30 · Forced returns · <a href="https://example.org/1">Story 1 &lt;b&gt;</a>'
            " · +2 reports",
            '11-22 09:30 · Forced returns · <a href="https://example.org/2">Story 2 &lt;b&gt;</a>',
        ],
    ),
    (
        "ko, Seoul",
        Reader(lang="ko", tz="Asia/Seoul", titles={"repatriation": "북한 주민 강제북송"}),
        [alert(1, also_reported_by=("RFA",))],
        [
            "<b>최근 알림 (KST 기준):</b>",
            "11-22 18:30 · 북한 주민 강제북송 · "
            '<a href="https://example.org/1">Story 1 &lt;b&gt;</a> · 보도 +1건',
        ],
    ),
    (
        "ru, no link",
        Reader(lang="ru", tz="Europe/Moscow"),
        [alert(1, url="javascript:alert(1)", also_reported_by=("A", "B", "C"))],
        [
            "<b>Последние оповещения (время MSK):</b>",
            "11-22 12:30 · repatriation · Story 1 &lt;b&gt; · +3 сообщ.",
        ],
    ),
]


@pytest.mark.parametrize(("name", "reader", "alerts", "lines"), RECENT, ids=[r[0] for r in RECENT])
def test_recent_is_one_line_per_story(
    name: str, reader: Reader, alerts: list[Alert], lines: list[str]
) -> None:
    assert format_recent(alerts, reader).split("\n") == lines


def test_recent_drops_lines_that_do_not_fit() -> None:
    many = [alert(n, title="long title " * 20) for n in range(100)]
    out = format_recent(many, Reader())
    assert len(out) <= MAX_LENGTH and 10 < out.count("\n") < 100


def test_digest_one_entry_per_story_one_snippet_in_the_recipients_language() -> None:
    story = alert(
        1,
        also_reported_by=("RFA",),
        matches=(
            Match("repatriat*", "repatriated", "summary", 7, 18, 3.0, "…police repatriated 60…"),
            Match("defector*", "defectors", "summary", 22, 31, 1.0, "…60 defectors on Monday…"),
        ),
    )
    out = render_digest(
        [story],
        day=date(2026, 11, 22),
        topic_titles={"repatriation": "북한 주민 강제북송"},
        tz="Asia/Seoul",
        lang="ko",
        unsubscribe="mailto:w@example.org?subject=unsubscribe",
    )
    assert out.subject == "Watcher 요약 2026-11-22: 새 알림 1건"
    for part in (out.html, out.text):
        assert "북한 주민 강제북송" in part or "북한 주민 강제북송".upper() in part
        assert "다른 보도: RFA" in part and "11월 22일 18:30 KST" in part
        assert part.count("repatriated") == 1  # one snippet, the heaviest
        assert "60 defectors on Monday" not in part
    assert '<b style="color:#111827;background:#fef3c7;">repatriated</b>' in out.html
    assert '<html lang="ko">' in out.html and "수신 거부</a>" in out.html
    assert "*repatriated*" in out.text and "시각은 Asia/Seoul 기준입니다." in out.text
    assert '다른 보도: RFA\n  "…police *repatriated* 60…"\n' in out.text  # a line each


def test_digest_title_only_match_shows_the_summary_once() -> None:
    title_only = alert(
        1,
        title="Police repatriated 60 defectors",
        matches=(Match("repatriat*", "repatriated", "title", 7, 18, 6.0, "Police repatriated 60"),),
    )
    out = render_digest([title_only], day=date(2026, 11, 22))
    assert out.text.count("60 defectors on Monday, officials said.") == 1
    same = replace(title_only, summary=title_only.title)
    text = render_digest([same], day=date(2026, 11, 22)).text
    assert text.count("Police repatriated 60 defectors") == 1  # the title, not again


def test_digest_possible_match_in_plain_words() -> None:
    possible = alert(1, model_note="possible match: repatriation (model 0.91); like x")
    out = render_digest(
        [possible], day=date(2026, 11, 22), topic_titles={"repatriation": "Принуд."}, lang="ru"
    )
    assert "Возможное совпадение" in out.html and "по темам: Принуд." in out.text
    assert "0.91" not in out.html + out.text
