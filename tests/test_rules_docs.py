"""The examples in docs/keywords.md work as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from watcher.errors import ConfigError
from watcher.models import Item
from watcher.rules import Rules

DOC = Path(__file__).resolve().parent.parent / "docs" / "keywords.md"
BLOCK = re.compile(r"^```(\w+) (\w+)\n(.*?)^```", re.M | re.S)


def blocks() -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(DOC.read_text("utf-8"))]


def examples() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    found = blocks()
    for i, (lang, tag, body) in enumerate(found):
        if (lang, tag) in {("yaml", "keywords"), ("yaml", "broken")}:
            nxt = found[i + 1]
            assert (nxt[0], nxt[1]) in {("text", "expect"), ("text", "problems")}
            out.append((body, nxt[2]))
    return out


def title_examples() -> list[tuple[str, str]]:
    """(keywords, titles): a ```text titles``` block after a keywords block's expectations."""
    found = blocks()
    return [
        (found[i - 2][2], body)
        for i, (lang, tag, body) in enumerate(found)
        if (lang, tag) == ("text", "titles")
    ]


def test_the_page_has_examples() -> None:
    assert len(examples()) >= 6


@pytest.mark.parametrize("example", examples(), ids=lambda e: e[0].splitlines()[0][:30])
def test_example(example: tuple[str, str]) -> None:
    rules_text, expect = example
    if not expect.startswith("keywords.yaml:"):
        rules = Rules.from_text(rules_text, "keywords.yaml")
        for line in expect.strip().splitlines():
            want, _, text = line.partition(": ")
            title, _, summary = text.partition(" || ")
            item = Item(source_id="doc", guid="doc", url="", title=title, summary=summary)
            got = ",".join(rules.score(item).alerted_ids) or "-"
            assert got == want, line
    else:
        with pytest.raises(ConfigError) as exc:
            Rules.from_text(rules_text, "keywords.yaml")
        assert [str(p) for p in exc.value.problems] == expect.strip().splitlines()


@pytest.mark.parametrize("example", title_examples(), ids=lambda e: e[0].splitlines()[0][:30])
def test_titles_example(example: tuple[str, str]) -> None:
    """Each line "LANG TOPIC: title" is the topic's title in that language."""
    rules_text, titles = example
    rules = Rules.from_text(rules_text, "keywords.yaml")
    for line in titles.strip().splitlines():
        where, _, want = line.partition(": ")
        lang, topic = where.split()
        assert rules.titles_in(lang)[topic] == want, line
