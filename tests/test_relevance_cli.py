"""`watcher model train`, and the model's place in `watcher rules test` and `rules explain`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.relevance_helpers import HELD, PROMOTED, tiny_model, write_corpus
from watcher.cli import main
from watcher.relevance import MODEL_FILE, load_model


def test_train_writes_the_model_beside_keywords_and_prints_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_model(tmp_path)
    (tmp_path / MODEL_FILE).unlink()
    corpus = write_corpus(tmp_path / "c.jsonl")
    extra = tmp_path / "more.jsonl"
    extra.write_text(
        json.dumps({"id": "x1", "title": "North Korean loggers in Siberia", "labels": ["workers"]})
        + "\n"
    )
    args = ["--config", str(tmp_path), "model", "train", "--corpus", str(corpus)]
    assert main([*args, "--labels", str(extra), "--folds", "2"]) == 0
    out = capsys.readouterr().out
    assert "training on 2 corpora, 17 items (c.jsonl 16, more.jsonl 1)" in out
    assert "cross-validated, 2 folds" in out and "rules only" in out and "combined" in out
    assert "precision recall" in out and "overall (any topic)" in out
    model = load_model(tmp_path / MODEL_FILE)
    assert len(model.examples) == 17 and model.topics == ("workers",)
    assert f"model {model.id} -> {tmp_path / MODEL_FILE}" in out


def test_train_names_the_file_and_line_of_a_bad_corpus_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_model(tmp_path)
    good = write_corpus(tmp_path / "good.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "t", "labels": []}\n{"id": "b", "title": \n')
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"id": "a", "title": "t", "labels": ["weather"]}\n')
    args = ["--config", str(tmp_path), "model", "train", "--no-cv", "--out", str(tmp_path / "m")]
    code = main([*args, "--corpus", str(good), "--corpus", str(bad), "--corpus", str(unknown)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{bad}:2:" in err and "not JSON" in err
    assert f"{unknown}:1:" in err and "unknown topic 'weather'" in err
    assert not (tmp_path / "m").exists()


def test_rules_test_shows_the_three_decisions_and_compares_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, model, _ = tiny_model(tmp_path)
    corpus = tmp_path / "items.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps({"id": i, "lang": "en", "title": t, "labels": labels})
            for i, t, labels in [("a", PROMOTED, ["workers"]), ("b", HELD, [])]
        )
        + "\n"
    )
    args = ["--config", str(tmp_path), "rules", "test", "--corpus", str(corpus)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "rules only" in out and "model only" in out and "combined (sent)" in out
    assert "False positives: 0" in out and "False negatives: 0" in out
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    items = {i["id"]: i for i in report["items"]}
    assert items["a"]["alerted"] == ["workers"] and items["a"]["rules_alerted"] == []
    assert items["a"]["decisions"] == {"workers": "possible"}
    assert items["b"]["alerted"] == [] and items["b"]["rules_alerted"] == ["workers"]
    assert items["b"]["decisions"] == {"workers": "held"}
    assert report["metrics"]["overall"]["f1"] == 1.0
    assert report["metrics_rules"]["overall"]["f1"] == 0.0
    # the same rules without the model, compared item by item with the model in force
    off = ["--config", str(tmp_path), "rules", "test", "--corpus", str(corpus), "--model", "off"]
    assert main([*off, "--against", str(model)]) == 0
    out = capsys.readouterr().out
    assert "Changed against" in out and "a: workers -> -" in out and "b: - -> workers" in out


def test_rules_explain_shows_the_models_opinion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_model(tmp_path)
    article = tmp_path / "a.txt"
    article.write_text(PROMOTED + "\n")
    assert main(["--config", str(tmp_path), "rules", "explain", str(article)]) == 0
    out = capsys.readouterr().out
    assert "POSSIBLE MATCH (relevance model 0." in out
    assert "most like these labelled items" in out and "[workers] (tiny.jsonl" in out
    assert (
        main(["--config", str(tmp_path), "rules", "explain", str(article), "--model", "off"]) == 0
    )
    out = capsys.readouterr().out
    assert "below threshold" in out and "rules only" in out
