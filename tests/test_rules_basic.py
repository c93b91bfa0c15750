"""The shipped rules load and score; matches point at the exact original text."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.errors import ConfigError
from watcher.models import Item
from watcher.rules import Rules, load_rules

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_rules_load_with_the_four_topics() -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    assert rules.topic_ids == (
        "repatriation",
        "judicial_cooperation",
        "forced_labor",
        "soldiers_pows",
    )
    assert set(rules.topic_titles) == set(rules.topic_ids)


def test_a_clear_item_alerts_and_points_at_its_words() -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    item = Item(
        source_id="s",
        guid="g",
        url="",
        title="China  forcibly   REPATRIATED 60 North-Korean defectors",
        summary="Activists said the defectors were detained in Shenyang.",
    )
    result = rules.score(item)
    assert "repatriation" in result.alerted_ids
    for topic in result.topics:
        for m in topic.matches:
            assert item.field_text(m.field)[m.start : m.end] == m.text


def test_missing_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as exc:
        load_rules(ROOT / "no-such-keywords.yaml")
    assert "file not found" in str(exc.value)


def test_from_text() -> None:
    rules = Rules.from_text(
        "topics:\n  - id: t\n    title: T\n    threshold: 1\n    terms: {x: 1}\n"
    )
    assert rules.topic_ids == ("t",)
