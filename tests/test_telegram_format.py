"""Message formatting, data-driven: escaping, links, bold matches, length and balanced markup."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from watcher.models import Alert, Match
from watcher.notify.telegram import parse_channel
from watcher.notify.telegram.format import MAX_LENGTH, Reader, format_alert

CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (Path(__file__).parent / "data" / "telegram" / "format_cases.yaml").read_text("utf-8")
)
ALLOWED_TAGS = {"b", "a", "i", "code"}


class TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag {tag}")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def build_alert(spec: dict[str, Any]) -> Alert:
    def text(key: str, default: str) -> str:
        if f"{key}_repeat" in spec:
            part, times = spec[f"{key}_repeat"]
            return str(part) * int(times)
        return str(spec.get(key, default))

    snippet = text("snippet", "Chinese police arrested the defectors and repatriated them")
    match_text = str(spec.get("match_text", "repatriated"))
    start = max(0, snippet.find(match_text))
    match = Match("repatriat*", match_text, "summary", start, start + len(match_text), 3.0, snippet)
    count = spec.get("matches", 1)
    if not isinstance(count, list):  # N copies of the default match
        matches = [replace(match, snippet=f"{i} {snippet}") for i in range(int(count))]
    else:  # given one by one
        matches = [
            replace(match, text=m["text"], snippet=m["snippet"], weight=float(m["weight"]),
                    field=m.get("field", "summary"))
            for m in spec["matches"]
        ]  # fmt: skip
    when = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    url = (
        "https://example.org/" + text("url", "x")
        if "url_repeat" in spec
        else spec.get("url", "https://example.org/x")
    )
    return Alert(
        id=1,
        item_id=1,
        source_id="src",
        source_name=str(spec.get("source_name", "Daily NK")),
        title=text("title", "China sends North Korean defectors back"),
        url=str(url),
        published=when,
        topics=tuple(spec.get("topics", ("repatriation",))),
        score=7.5,
        matches=tuple(matches),
        created_at=when,
        summary=str(spec.get("summary", "")),
        also_reported_by=also_reported_by(spec),
        model_note=str(spec.get("model_note", "")),
        story_additions=tuple(spec.get("story_additions", ())),
    )


def also_reported_by(spec: dict[str, Any]) -> tuple[str, ...]:
    if "also_reported_by_repeat" in spec:
        name, times = spec["also_reported_by_repeat"]
        return tuple(f"{name} {i}" for i in range(int(times)))
    return tuple(str(n) for n in spec.get("also_reported_by", ()))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_format_case(case: dict[str, Any]) -> None:
    limit = int(case.get("limit", MAX_LENGTH))
    out = format_alert(build_alert(case["alert"]), Reader(**case.get("reader", {})), limit=limit)
    assert len(out) <= int(case.get("max_length", MAX_LENGTH))
    checker = TagChecker()
    checker.feed(out)
    checker.close()
    assert checker.problems == [] and checker.stack == [], out
    for expected in case.get("contains", []):
        assert expected in out, out
    for unwanted in case.get("absent", []):
        assert unwanted not in out, out
    if "equals" in case:
        assert out == case["equals"]


@pytest.mark.parametrize(
    ("spec", "chat", "topics"),
    [
        ("@news", "@news", ()),
        ("@name:repatriation+soldiers_pows", "@name", ("repatriation", "soldiers_pows")),
        (" -1001234:labour ", "-1001234", ("labour",)),
    ],
)
def test_parse_channel(spec: str, chat: str, topics: tuple[str, ...]) -> None:
    target = parse_channel(spec)
    assert (target.address, target.topics) == (chat, topics)


@pytest.mark.parametrize("spec", ["", "news", ":x", "@", "@a:x:y", "@a:ko:x", "@a:b:c:d:e"])
def test_parse_channel_rejects(spec: str) -> None:
    with pytest.raises(ValueError, match="expected '@name'"):
        parse_channel(spec)
