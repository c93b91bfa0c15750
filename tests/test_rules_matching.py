"""Each matching rule in English, Russian and Korean, from tests/data/rules/matching.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from watcher.models import Item
from watcher.rules import Rules

CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (Path(__file__).parent / "data" / "rules" / "matching.yaml").read_text(encoding="utf-8")
)["cases"]


def rules_for(pattern: str) -> Rules:
    text = (
        "topics:\n  - id: t\n    title: T\n    threshold: 1\n"
        "    fields: {title: 1, summary: 1, content: 1}\n"
        f"    terms: {{{json.dumps(pattern)}: 1}}\n"
    )
    return Rules.from_text(text, "case.yaml")


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['lang']}-{c['rule']}-{c['pattern']}-{i}" for i, c in enumerate(CASES)]
)
def test_matching_rule(case: dict[str, Any]) -> None:
    item = Item(source_id="s", guid="g", url="", title=case["text"])
    result = rules_for(case["pattern"]).score(item)
    topic = result.topics[0]
    texts = [m.text for m in topic.matches if m.kind == "term"]
    if case["match"] is None:
        assert texts == [], f"{case['pattern']!r} should not match {case['text']!r}"
        assert not topic.alerted
    else:
        assert texts and texts[0] == case["match"]
        assert topic.alerted
        for m in topic.matches:
            assert item.field_text(m.field)[m.start : m.end] == m.text


def test_every_language_and_rule_is_covered() -> None:
    langs = {c["lang"] for c in CASES}
    assert langs == {"en", "ru", "ko"}
    for lang in langs:
        rules = {c["rule"] for c in CASES if c["lang"] == lang}
        assert len(rules) >= 4, (lang, rules)
