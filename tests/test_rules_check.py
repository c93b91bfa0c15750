"""`watcher rules check` problems (data-driven) and the exit codes of every rules command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from watcher.cli import main
from watcher.errors import ConfigError
from watcher.rules import Rules
from watcher.rules.corpus import item_from_input

DATA = Path(__file__).parent / "data" / "rules"
ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = str(ROOT / "keywords.yaml")
CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (DATA / "check_errors.yaml").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_check_reports_every_problem_with_its_place(
    case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "keywords.yaml"
    path.write_text(case["yaml"], encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        Rules.from_text(case["yaml"], str(path))
    got = [str(p) for p in exc.value.problems]
    assert len(got) == len(case["problems"]), got
    for want in case["problems"]:
        where, _, words = want.partition(": ")
        hits = [line for line in got if line.startswith(f"{path}:{where}: ") and words in line]
        assert hits, (want, got)
    # the command prints the same lines and exits 2
    assert main(["rules", "check", "--keywords", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == got


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", "--keywords", KEYWORDS]) == 0
    assert "OK: 4 topics" in capsys.readouterr().out


def test_check_default_path_is_the_config_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path), "rules", "check"]) == 2
    assert "keywords.yaml: file not found" in capsys.readouterr().err


def test_rules_without_subcommand_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 2


def test_explain_plain_text_html_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = DATA / "seeds" / "003_e3b1351d0205b152.txt"
    assert main(["rules", "explain", str(seed), "--keywords", KEYWORDS]) == 0
    out = capsys.readouterr().out
    assert "Alerts: repatriation" in out and "repatriat*" in out

    page = tmp_path / "a.html"
    page.write_text(
        "<html><head><title>Russia deports North Korean defectors</title>"
        "<script>var x = 'hidden script';</script></head>"
        "<body><p>Deported from <b>Vladivostok</b>.</p></body></html>",
        encoding="utf-8",
    )
    assert main(["rules", "explain", str(page), "--keywords", KEYWORDS, "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert "<b>repatriation</b>" in out
    parsed = item_from_input(page.read_text(encoding="utf-8"), "a.html")
    assert parsed.title == "Russia deports North Korean defectors"
    assert "Vladivostok" in parsed.content and "hidden script" not in parsed.content

    item = tmp_path / "item.json"
    item.write_text(
        json.dumps({"id": "x", "title": "북한군 포로 2명 생포", "summary": "우크라이나군 발표"}),
        encoding="utf-8",
    )
    assert main(["rules", "explain", str(item), "--keywords", KEYWORDS]) == 0
    assert "Alerts: soldiers_pows" in capsys.readouterr().out


def test_explain_terminal_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    seed = DATA / "seeds" / "000_e1a81717b287de50.txt"
    assert (
        main(["rules", "explain", str(seed), "--keywords", KEYWORDS, "--format", "terminal"]) == 0
    )
    out = capsys.readouterr().out
    assert "judicial_cooperation: ALERT" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "nothing to explain"),
        ("{not json", "not JSON"),
        ('{"title": 5}', "'title' must be a string"),
        ("[1, 2]", None),  # plain text then: no error
    ],
)
def test_explain_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str | None
) -> None:
    f = tmp_path / "in.txt"
    f.write_text(content, encoding="utf-8")
    code = main(["rules", "explain", str(f), "--keywords", KEYWORDS])
    err = capsys.readouterr().err
    if message is None:
        assert code == 0
    else:
        assert code == 2 and message in err and "Traceback" not in err


def test_explain_missing_file_and_bad_encoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "explain", str(tmp_path / "nope.txt"), "--keywords", KEYWORDS]) == 2
    assert "file not found" in capsys.readouterr().err
    f = tmp_path / "latin1.txt"
    f.write_bytes("Déportation".encode("latin-1"))
    assert main(["rules", "explain", str(f), "--keywords", KEYWORDS]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_test_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["rules", "test", "--corpus", str(DATA / "dev.jsonl"), "--keywords", KEYWORDS, "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    # today's keys keep their meaning (alerted and metrics: what `watcher run` sends, with the
    # shipped relevance model); the rules' and the model's own decisions are beside them
    assert {"items", "metrics", "metrics_rules", "metrics_model", "model"} <= set(out)
    assert len(out["items"]) == 120
    first = out["items"][0]
    assert {"id", "alerted", "scores", "rules_alerted", "model", "decisions"} <= set(first)
    assert first["id"] == "dev-001" and first["alerted"] == ["soldiers_pows"]
    assert first["rules_alerted"] == ["soldiers_pows"]
    assert out["model"]["trained_on_this_corpus"] is True  # the shipped model saw dev.jsonl
    assert set(first["scores"]) == {
        "repatriation",
        "judicial_cooperation",
        "forced_labor",
        "soldiers_pows",
    }
    m = out["metrics"]
    assert m["items"] == 120
    assert set(m["overall"]) == {"tp", "fp", "fn", "precision", "recall", "f1"}
    assert set(m["topics"]) == set(first["scores"])


def test_test_against_lists_the_changed_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.yaml"
    text = (ROOT / "keywords.yaml").read_text(encoding="utf-8")
    old.write_text(text.replace("    threshold: 4\n", "    threshold: 50\n", 1), encoding="utf-8")
    args = ["rules", "test", "--corpus", str(DATA / "dev.jsonl"), "--keywords", KEYWORDS]
    args += ["--model", "off"]  # the rules alone (the shipped model would send dev-009 anyway)
    assert main([*args, "--against", str(old)]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "Changed against" in out
    assert "dev-009: - -> repatriation" in out
    assert main([*args, "--against", str(old), "--json"]) == 0
    changed = json.loads(capsys.readouterr().out)["changed"]
    want = {"id": "dev-009", "labels": ["repatriation"], "before": [], "after": ["repatriation"]}
    assert want in changed


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "title": "x", "labels": []}', "{oops"], ":2:2: not JSON"),
        (['{"id": "a", "title": "x", "labels": ["nope"]}'], ":1:1: unknown topic 'nope'"),
        (['{"id": "a", "title": "x", "labels": "repatriation"}'], ":1:1: 'labels' must be a list"),
        (['{"id": "a", "labels": []}', '{"id": "a", "labels": []}'], ":2:1: duplicate id 'a'"),
        (["[]"], ":1:1: each line must be a JSON object"),
        ([""], "the corpus has no items"),
    ],
)
def test_test_bad_corpus_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], message: str
) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["rules", "test", "--corpus", str(corpus), "--keywords", KEYWORDS]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_test_missing_corpus_and_bad_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["rules", "test", "--corpus", str(tmp_path / "x.jsonl"), "--keywords", KEYWORDS]) == 2
    )
    assert "file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics: 5\n", encoding="utf-8")
    args = ["rules", "test", "--corpus", str(DATA / "dev.jsonl"), "--keywords", str(bad)]
    assert main(args) == 2
    assert "bad.yaml:1:" in capsys.readouterr().err
