"""Training the relevance model from labelled JSONL corpora (scikit-learn), and k-fold
cross-validation: every item scored by a model that never saw it (nor its story).

Deterministic: the same corpora and settings give the same model, byte for byte (the
vocabulary is sorted, L-BFGS has no randomness, folds come from a hash of each item's group).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from watcher.errors import ConfigError, Problem
from watcher.relevance.features import char_ngrams, model_text
from watcher.relevance.model import NEIGHBOUR_FEATURES, Example, RelevanceModel
from watcher.rules.corpus import LabelledItem, read_corpus

C = 10.0  # inverse regularisation (docs/relevance.md: chosen by cross-validation)
PROMOTE = 0.7
HOLD = 0.1
MIN_DF = 2  # an n-gram seen in one training item only is noise
FOLDS = 5
_ABSENT_TOPIC = -20.0  # intercept of a topic with no positive training item: never


@dataclass(frozen=True)
class Corpus:
    name: str  # the file name, as examples and figures show it
    sha256: str
    items: list[LabelledItem]


def read_corpora(paths: Sequence[Path], topics: Sequence[str]) -> list[Corpus]:
    """Every corpus, or ``ConfigError`` with every bad line of every file (file:line)."""
    out: list[Corpus] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            items = read_corpus(path, topics)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        out.append(Corpus(Path(path).name, digest, items))
    if problems:
        raise ConfigError(problems)
    return out


def _flatten(corpora: Sequence[Corpus]) -> list[tuple[str, LabelledItem]]:
    return [(c.name, li) for c in corpora for li in c.items]


def fit(
    corpora: Sequence[Corpus],
    topics: Sequence[str],
    *,
    c: float = C,
    promote: float = PROMOTE,
    hold: float = HOLD,
    meta: dict[str, Any] | None = None,
) -> RelevanceModel:
    """A model trained on every item of ``corpora``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    flat = _flatten(corpora)
    docs = [char_ngrams(model_text(li.item)) for _, li in flat]
    vectorizer = TfidfVectorizer(
        analyzer=_identity, min_df=MIN_DF, sublinear_tf=True, dtype=np.float64
    )
    x = vectorizer.fit_transform(docs)
    vocabulary = {str(g): int(i) for g, i in vectorizer.vocabulary_.items()}
    coef, intercept = _fit_topics(x, [li.labels for _, li in flat], topics, c)
    indptr, rows, weights = _neighbour_postings(x)
    examples = tuple(
        Example(li.id, name, li.item.language, li.item.title, tuple(sorted(li.labels)))
        for name, li in flat
    )
    return RelevanceModel(
        topics=tuple(topics),
        vocabulary=vocabulary,
        idf=vectorizer.idf_.astype(np.float32),
        coef=coef.astype(np.float32),
        intercept=intercept,
        promote=promote,
        hold=hold,
        examples=examples,
        nn_indptr=indptr,
        nn_rows=rows,
        nn_weights=weights.astype(np.float16).astype(np.float32),
        meta={**_identity_meta(corpora, topics, c, promote, hold), **(meta or {})},
    )


def _identity(doc: list[str]) -> list[str]:
    return doc


def _fit_topics(
    x: Any, labels: Sequence[frozenset[str]], topics: Sequence[str], c: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """One balanced logistic regression per topic: (V, T) coefficients and (T,) intercepts."""
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((x.shape[1], len(topics)))
    intercept = np.full(len(topics), _ABSENT_TOPIC)
    for k, topic in enumerate(topics):
        y = np.array([topic in lab for lab in labels], dtype=int)
        if y.min() == y.max():  # no positive (or no negative) item: cannot be learned
            continue
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        lr.fit(x, y)
        coef[:, k] = lr.coef_[0]
        intercept[k] = float(lr.intercept_[0])
    return coef, intercept


def _neighbour_postings(
    x: Any,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Each training item's strongest n-grams, as postings by n-gram (CSC)."""
    x = x.tocsr()
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float64]] = []
    for i in range(x.shape[0]):
        a, b = x.indptr[i], x.indptr[i + 1]
        idx, v = x.indices[a:b], x.data[a:b]
        top = np.lexsort((idx, -v))[:NEIGHBOUR_FEATURES]  # ties: lower index first
        rows.append(np.full(len(top), i))
        cols.append(idx[top].astype(np.int64))
        vals.append(v[top])
    r, c_, w = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    order = np.lexsort((r, c_))
    r, c_, w = r[order], c_[order], w[order]
    indptr = np.searchsorted(c_, np.arange(x.shape[1] + 1)).astype(np.int32)
    return indptr, r.astype(np.int32), w


def _identity_meta(
    corpora: Sequence[Corpus], topics: Sequence[str], c: float, promote: float, hold: float
) -> dict[str, Any]:
    import sklearn

    source = {
        "corpora": [[cp.name, cp.sha256, len(cp.items)] for cp in corpora],
        "topics": list(topics),
        "c": c,
        "promote": promote,
        "hold": hold,
        "min_df": MIN_DF,
    }
    digest = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:12]
    return {"id": digest, "trained_with": f"scikit-learn {sklearn.__version__}", **source}


# -- cross-validation ------------------------------------------------------------------------


def fold_of(group: str, k: int) -> int:
    """The fold of an item's group: stable across runs and machines."""
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % k


def cross_validate(
    corpora: Sequence[Corpus], topics: Sequence[str], *, k: int = FOLDS, c: float = C
) -> tuple[list[dict[str, float]], float]:
    """Out-of-fold probabilities for every item (in corpus order), and the seconds taken.

    Items are grouped by corpus and group (story) so reports of one development are never
    split between training and test."""
    flat = _flatten(corpora)
    folds = [fold_of(f"{name}\0{li.group}", k) for name, li in flat]
    out: list[dict[str, float]] = [{} for _ in flat]
    started = time.monotonic()
    for f in range(k):
        train = [i for i, x in enumerate(folds) if x != f]
        test = [i for i, x in enumerate(folds) if x == f]
        if not test or not train:
            continue
        subset = [Corpus("", "", [flat[i][1] for i in train])]
        model = fit(subset, topics, c=c)
        for i in test:
            out[i] = model.predict(flat[i][1].item)
    return out, time.monotonic() - started
