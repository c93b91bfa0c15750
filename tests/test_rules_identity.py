"""``Rules.score`` gives exactly what it gave before it was sped up, on every corpus item, seed,
real feed entry and disturbed copy (tests/score_golden.py): scores, alerts, vetoes, missing
entities, and with ``explain=True`` every match, offset and snippet. ``explain=False`` gives
the same except that topics that do not alert have no matches."""

from __future__ import annotations

from typing import Any

import pytest

from tests.score_golden import ROOT, golden_items, read_golden, record
from watcher.rules import load_rules


@pytest.fixture(scope="module")
def pairs() -> list[tuple[Any, dict[str, Any]]]:
    items = golden_items()
    golden = read_golden()
    assert [k for k, _ in items] == [g["id"] for g in golden]
    assert len(golden) > 2000
    return list(zip(items, golden, strict=True))


@pytest.mark.slow
def test_explained_scores_are_unchanged(pairs: list[tuple[Any, dict[str, Any]]]) -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    changed = [key for (key, item), want in pairs if record(key, rules.score(item)) != want]
    assert not changed, f"{len(changed)} items changed, first: {changed[:5]}"


@pytest.mark.slow
def test_quick_scores_are_unchanged(pairs: list[tuple[Any, dict[str, Any]]]) -> None:
    rules = load_rules(ROOT / "keywords.yaml")
    changed: list[str] = []
    for (key, item), want in pairs:
        for t in want["topics"]:
            if not t["alerted"]:
                t["matches"] = []
        if record(key, rules.score(item, explain=False)) != want:
            changed.append(key)
    assert not changed, f"{len(changed)} items changed, first: {changed[:5]}"
