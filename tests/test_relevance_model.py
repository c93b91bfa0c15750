"""The relevance model: run-time scoring equals scikit-learn's, training is deterministic, a bad
model file means rules only with a reason (never a crash), hostile text is harmless."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.relevance_helpers import HELD, PLAIN, PROMOTED, tiny_model
from watcher.models import Item
from watcher.relevance import MODEL_FILE, Relevance, RelevanceModel, load_model, save_model
from watcher.relevance.features import char_ngrams, model_text
from watcher.relevance.files import SHIPPED_CORPORA, SHIPPED_MODEL, load_relevance, model_path
from watcher.relevance.train import MIN_DF, C, fit, read_corpora
from watcher.rules import load_rules
from watcher.rules.corpus import read_corpus

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "rules"


@pytest.fixture(scope="module")
def shipped_rules_topics() -> tuple[str, ...]:
    return load_rules(ROOT / "keywords.yaml").topic_ids


def test_run_time_probabilities_equal_scikit_learns(shipped_rules_topics: tuple[str, ...]) -> None:
    """The NumPy scoring of a saved model gives what the scikit-learn pipeline it was trained
    with gives, on items it was not trained on."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    topics = shipped_rules_topics
    train = read_corpora([DATA / "dev.jsonl"], topics)
    model = fit(train, topics)
    docs = [char_ngrams(model_text(li.item)) for li in train[0].items]
    vec = TfidfVectorizer(analyzer=lambda d: d, min_df=MIN_DF, sublinear_tf=True)
    x = vec.fit_transform(docs)
    test = read_corpus(DATA / "extra.jsonl", topics)[:60]
    xt = vec.transform([char_ngrams(model_text(li.item)) for li in test])
    for topic in topics:
        y = [topic in li.labels for li in train[0].items]
        lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(x, y)
        want = lr.predict_proba(xt)[:, 1]
        got = [model.predict(li.item)[topic] for li in test]
        assert np.allclose(got, want, atol=1e-4), topic


def test_training_is_deterministic_to_the_byte(tmp_path: Path) -> None:
    _, first, _ = tiny_model(tmp_path)
    again = tmp_path / "again"
    again.mkdir()
    _, second, _ = tiny_model(again)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.slow
def test_the_shipped_model_is_what_the_shipped_corpora_give(
    tmp_path: Path, shipped_rules_topics: tuple[str, ...]
) -> None:
    """Rebuilt from the shipped corpora: the same model (same bytes with the same libraries;
    the same predictions always)."""
    rebuilt = fit(read_corpora(SHIPPED_CORPORA, shipped_rules_topics), shipped_rules_topics)
    shipped = load_model(SHIPPED_MODEL)
    assert rebuilt.id == shipped.id, "retrain: watcher model train --out " + str(SHIPPED_MODEL)
    assert rebuilt.vocabulary == shipped.vocabulary
    items = [li.item for li in read_corpus(SHIPPED_CORPORA[3], shipped_rules_topics)]
    for item in items:
        a, b = rebuilt.predict(item), shipped.predict(item)
        assert all(abs(a[t] - b[t]) < 1e-3 for t in a), item.title


def test_the_shipped_corpora_copies_are_the_test_data() -> None:
    for name in ("dev.jsonl", "extra.jsonl", "real_news.jsonl"):
        shipped = next(p for p in SHIPPED_CORPORA if p.name == name)
        assert shipped.read_bytes() == (DATA / name).read_bytes(), name


def test_nearest_labelled_items_start_with_the_item_itself(
    shipped_rules_topics: tuple[str, ...],
) -> None:
    model = load_model(SHIPPED_MODEL)
    for li in read_corpus(SHIPPED_CORPORA[3], shipped_rules_topics)[:20]:
        nearest = model.nearest(li.item, 3)
        assert nearest[0].example.id == li.id, li.item.title
        assert nearest[0].similarity >= nearest[1].similarity >= nearest[2].similarity


def _rezip(path: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """Rewrite the zip at ``path``, each entry through ``change`` (None drops it)."""
    with zipfile.ZipFile(path) as z:
        entries = [(n, z.read(n)) for n in z.namelist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries:
            new = change(name, data)
            if new is not None:
                z.writestr(name, new)
    path.write_bytes(out.getvalue())


def _header(edit: Callable[[dict[str, object]], None]) -> Callable[[str, bytes], bytes | None]:
    def change(name: str, data: bytes) -> bytes | None:
        if name != "model.json":
            return data
        header = json.loads(data)
        edit(header)
        return json.dumps(header).encode()

    return change


BAD_FILES: list[tuple[str, Callable[[Path], None], str]] = [
    ("missing", lambda p: p.unlink(), "model file not found"),
    ("empty", lambda p: p.write_bytes(b""), "not a readable model file"),
    ("not a zip", lambda p: p.write_bytes(b"\x00garbage" * 100), "not a readable model file"),
    ("truncated", lambda p: p.write_bytes(p.read_bytes()[:5000]), "not a readable model file"),
    ("no header", lambda p: _rezip(p, lambda n, d: None if n == "model.json" else d), "lacks"),
    (
        "newer format",
        lambda p: _rezip(p, _header(lambda h: h.update(version=99))),
        "format version 99",
    ),
    (
        "other format",
        lambda p: _rezip(p, _header(lambda h: h.update(format="pickle"))),
        "not a watcher relevance model",
    ),
    (
        "other features",
        lambda p: _rezip(p, _header(lambda h: h.update(features={"ngrams": [1, 3]}))),
        "reads items differently",
    ),
    (
        "no thresholds",
        lambda p: _rezip(p, _header(lambda h: h.pop("promote"))),
        "lacks a part",
    ),
    (
        "parts that do not fit",
        lambda p: _rezip(p, lambda n, d: d + b"\nextra" if n == "vocabulary.txt" else d),
        "inconsistent",
    ),
    (
        "a pickled array",
        lambda p: _rezip(p, lambda n, d: _pickled() if n == "idf.npy" else d),
        "not a readable model file",
    ),
    (
        "other topics",
        lambda p: _rezip(p, _header(lambda h: h.update(topics=["weather"]))),
        "the model knows topics weather",
    ),
]


def _pickled() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return buf.getvalue()


@pytest.mark.parametrize(("case", "damage", "message"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_model_file_means_rules_only_and_says_why(
    tmp_path: Path, case: str, damage: Callable[[Path], None], message: str
) -> None:
    keywords, path, _ = tiny_model(tmp_path)
    damage(path)
    rules = load_rules(keywords)
    relevance = load_relevance(rules, path)
    assert relevance.model is None
    assert message in relevance.note and str(path) in relevance.note
    assert "rules only" in relevance.note
    item = Item("s", "g", "", HELD)
    assert relevance.score(item) == rules.score(item)  # the rules decide alone


def test_where_the_model_comes_from(tmp_path: Path) -> None:
    assert model_path(tmp_path) == SHIPPED_MODEL  # nothing beside keywords.yaml
    (tmp_path / MODEL_FILE).write_bytes(b"")
    assert model_path(tmp_path) == tmp_path / MODEL_FILE  # it wins, even broken
    assert model_path(tmp_path, "off") is None
    assert model_path(tmp_path, "other.zip") == tmp_path / "other.zip"
    assert model_path(tmp_path, "/abs/m.zip") == Path("/abs/m.zip")


def test_decisions_of_the_tiny_model(tmp_path: Path) -> None:
    keywords, path, model = tiny_model(tmp_path)
    relevance = Relevance(load_rules(keywords), load_model(path))
    promoted = relevance.score(Item("s", "1", "", PROMOTED)).topics[0]
    assert promoted.alerted and promoted.decision == "possible" and not promoted.rules_alerted
    assert promoted.model is not None and promoted.model >= model.promote
    held = relevance.score(Item("s", "2", "", HELD)).topics[0]
    assert not held.alerted and held.decision == "held" and held.rules_alerted
    plain = relevance.score(Item("s", "3", "", PLAIN)).topics[0]
    assert plain.alerted and plain.decision == "" and plain.model is not None
    note = relevance.note_for(
        Item("s", "1", "", PROMOTED), relevance.score(Item("s", "1", "", PROMOTED))
    )
    assert note.startswith("possible match: workers (model 0.") and "like “" in note


def test_the_model_is_not_asked_without_the_required_entities(tmp_path: Path) -> None:
    keywords, path, _ = tiny_model(tmp_path)
    rules = load_rules(keywords)
    relevance = Relevance(rules, load_model(path))
    item = Item("s", "g", "", "Loggers toil in Siberian logging camps")  # no North Korea
    result = relevance.score(item)
    assert result is rules.score(item) or result == rules.score(item)
    assert relevance.probabilities(item, rules.score(item)) == {}


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=3000), st.text(max_size=300))
def test_hostile_text_gives_probabilities(title: str, content: str) -> None:
    model = _shipped()
    item = Item("s", "g", "", title, content=content)
    probs = model.predict(item)
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert len(model.nearest(item, 2)) == 2


@functools.cache
def _shipped() -> RelevanceModel:
    return load_model(SHIPPED_MODEL)


def test_a_huge_title_costs_no_more_than_a_bounded_text() -> None:
    item = Item("s", "g", "", "Северная Корея " * 100_000)
    assert len(model_text(item)) <= 4000
    assert set(_shipped().predict(item)) == set(load_model(SHIPPED_MODEL).topics)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    _, path, model = tiny_model(tmp_path)
    loaded = load_model(path)
    save_model(loaded, tmp_path / "copy.zip")
    assert (tmp_path / "copy.zip").read_bytes() == path.read_bytes()
    item = Item("s", "g", "", PROMOTED)
    assert loaded.predict(item) == pytest.approx(model.predict(item))
