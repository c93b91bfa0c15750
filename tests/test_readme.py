"""The README is run: its YAML examples load, its test command is CI's, its commands exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from watcher.cli import main
from watcher.config.feeds import parse_feeds
from watcher.models import Item
from watcher.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_the_keywords_example_loads_and_alerts(tmp_path: Path) -> None:
    (example,) = [b for b in blocks("yaml") if "topics:" in b]
    path = tmp_path / "keywords.yaml"
    path.write_text(example, encoding="utf-8")
    rules = load_rules(path)
    hit = Item(
        source_id="s", guid="1", url="", title="China deports North Korean defectors",
        summary="", content="", language="en",
    )  # fmt: skip
    assert rules.score(hit).alerted_ids == ("repatriation",)
    profits = "North Korean firms speed up repatriation of profits from China"
    miss = Item(
        source_id="s", guid="2", url="", title=profits, summary="", content="", language="en"
    )
    assert rules.score(miss).alerted_ids == ()


def test_the_feeds_example_loads() -> None:
    (example,) = [b for b in blocks("yaml") if "sources:" in b]
    feeds = parse_feeds(example, "README.md")
    assert [s.id for s in feeds.sources] == ["dailynk-en", "ngo-news"]
    assert feeds.get("ngo-news") is not None and feeds.get("ngo-news").fulltext  # type: ignore[union-attr]


def test_the_test_command_is_what_ci_runs() -> None:
    commands = [b.strip() for b in blocks("sh")]
    assert len(commands) == 2, "the README gives exactly two commands for a fresh machine"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci
    assert commands[0].endswith(".venv/bin/watcher run")


@pytest.mark.parametrize(
    "line", sorted(set(re.findall(r"^\| `watcher ([a-z]+(?: [a-z]+)?)", README, flags=re.M)))
)
def test_every_command_in_the_table_exists(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*shlex.split(line), "--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out
