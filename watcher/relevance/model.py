"""The relevance model at run time: a linear model over TF-IDF character n-grams.

``load_model(path)`` reads a model file (a zip written by ``save_model``: ``model.json``, the
vocabulary one n-gram a line, and NumPy arrays; no pickle, so a file cannot run code) or
raises ``ConfigError`` saying what is wrong with it. ``RelevanceModel.predict(item)`` gives
each topic's probability; ``nearest(item)`` the labelled training items most like it, which
is how a decision of the model is explained. Both are pure and thread-safe.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from watcher.errors import ConfigError, Problem
from watcher.models import Item
from watcher.relevance.features import MAX_CONTENT, MAX_TEXT, NGRAMS, ngram_counts

FORMAT = "watcher-relevance-model"
VERSION = 1
MODEL_FILE = "relevance-model.zip"  # beside keywords.yaml; this name in the package = shipped
NEIGHBOUR_FEATURES = 64  # n-grams kept per training item for finding the nearest ones
_ARRAYS = ("idf", "coef", "intercept", "nn_indptr", "nn_rows", "nn_weights")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip entries carry no real time: same model, same bytes

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled training item, shown as a neighbour."""

    id: str
    corpus: str
    lang: str
    title: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Neighbour:
    similarity: float
    example: Example

    def describe(self) -> str:
        labels = ", ".join(self.example.labels) or "no topic"
        title = " ".join(self.example.title.split())
        if len(title) > 90:
            title = title[:89] + "…"
        return f"“{title}” [{labels}] ({self.example.corpus}, {self.similarity:.2f})"


@dataclass(frozen=True)
class RelevanceModel:
    """Per-topic logistic regressions over L2-normalised TF-IDF n-grams, and the training
    items' strongest n-grams for finding neighbours."""

    topics: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: F32  # (V,)
    coef: F32  # (V, T): one row per n-gram, so an item reads only its own rows
    intercept: npt.NDArray[np.float64]  # (T,)
    promote: float  # a topic the rules missed is a possible match from this probability
    hold: float  # a rule hit below this probability is held back as noise
    examples: tuple[Example, ...]
    nn_indptr: npt.NDArray[np.int32]  # (V + 1,): postings of each n-gram in the examples
    nn_rows: npt.NDArray[np.int32]
    nn_weights: F32
    meta: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def id(self) -> str:
        """Short identity of the model (its training data and settings)."""
        return str(self.meta.get("id", ""))

    def _vector(self, item: Item) -> tuple[npt.NDArray[np.int64], F32]:
        counts = ngram_counts(item)
        vocab = self.vocabulary
        pairs = sorted((vocab[g], c) for g, c in counts.items() if g in vocab)
        if not pairs:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        idx = np.fromiter((i for i, _ in pairs), np.int64, len(pairs))
        tf = np.fromiter((c for _, c in pairs), np.float32, len(pairs))
        vals = (1.0 + np.log(tf)) * self.idf[idx]  # sublinear tf, as trained
        norm = float(np.sqrt(np.dot(vals, vals)))
        return idx, (vals / norm).astype(np.float32)

    def predict(self, item: Item) -> dict[str, float]:
        """Each topic's probability that ``item`` is a development of it."""
        idx, vals = self._vector(item)
        logits = self.intercept + (vals @ self.coef[idx] if len(idx) else 0.0)
        return {t: _sigmoid(float(x)) for t, x in zip(self.topics, logits, strict=True)}

    def nearest(self, item: Item, k: int = 3) -> list[Neighbour]:
        """The ``k`` training items sharing most of ``item``'s weighted n-grams."""
        idx, vals = self._vector(item)
        scores = np.zeros(len(self.examples), np.float32)
        ptr, rows, weights = self.nn_indptr, self.nn_rows, self.nn_weights
        for i, v in zip(idx.tolist(), vals.tolist(), strict=True):
            a, b = int(ptr[i]), int(ptr[i + 1])
            if a != b:
                scores[rows[a:b]] += v * weights[a:b]
        order = np.lexsort((np.arange(len(scores)), -scores))[:k]
        return [Neighbour(round(float(scores[i]), 3), self.examples[i]) for i in order]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


# -- the file --------------------------------------------------------------------------------


def save_model(model: RelevanceModel, path: Path | str) -> None:
    """Write ``model``; the same model always gives the same bytes."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "topics": list(model.topics),
        "features": {"ngrams": list(NGRAMS), "max_content": MAX_CONTENT, "max_text": MAX_TEXT},
        "promote": model.promote,
        "hold": model.hold,
        "examples": [[e.id, e.corpus, e.lang, e.title, list(e.labels)] for e in model.examples],
        "meta": model.meta,
    }
    vocab = sorted(model.vocabulary, key=model.vocabulary.__getitem__)
    entries: list[tuple[str, bytes]] = [
        ("model.json", json.dumps(header, ensure_ascii=False, sort_keys=True).encode()),
        ("vocabulary.txt", "\n".join(vocab).encode()),
    ]
    for name in _ARRAYS:
        buf = io.BytesIO()
        np.save(buf, getattr(model, name), allow_pickle=False)
        entries.append((f"{name}.npy", buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data, compresslevel=9)
    # a file at once: `watcher run` reloads it the moment it changes, never half written
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(out.getvalue())
    os.replace(partial, target)


def load_model(path: Path | str) -> RelevanceModel:
    """Read a model file; ``ConfigError`` (file, and what to do) when it cannot be used."""
    name = str(path)

    def bad(message: str) -> ConfigError:
        return ConfigError(Problem(name, 0, 0, message))

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise bad("model file not found") from exc
    except OSError as exc:
        raise bad(f"cannot read the model file: {exc.strerror}") from exc
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            header = json.loads(z.read("model.json"))
            _check_header(header, bad)
            vocab = z.read("vocabulary.txt").decode("utf-8").split("\n")
            arrays = {
                n: np.load(io.BytesIO(z.read(f"{n}.npy")), allow_pickle=False) for n in _ARRAYS
            }
        return _build(name, header, vocab, arrays, bad)
    except ConfigError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, UnicodeError, ValueError) as exc:
        raise bad(
            f"not a readable model file ({exc.__class__.__name__}: {exc});"
            " rebuild it with `watcher model train` or delete it"
        ) from exc
    except (KeyError, IndexError, TypeError, AttributeError) as exc:  # a part or field missing
        raise bad(
            f"the model file lacks a part ({exc.__class__.__name__}: {exc});"
            " rebuild it with `watcher model train` or delete it"
        ) from exc


def _check_header(header: Any, bad: Any) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise bad("not a watcher relevance model (no 'format' header)")
    version = header.get("version")
    if version != VERSION:
        raise bad(
            f"model format version {version!r}, this watcher reads version {VERSION}:"
            " rebuild it with `watcher model train`"
        )
    features = header.get("features", {})
    if features != {"ngrams": list(NGRAMS), "max_content": MAX_CONTENT, "max_text": MAX_TEXT}:
        raise bad(f"the model reads items differently ({features}): rebuild it")


def _build(
    name: str, header: dict[str, Any], vocab: Sequence[str], arrays: dict[str, Any], bad: Any
) -> RelevanceModel:
    topics = tuple(str(t) for t in header.get("topics", ()))
    idf, coef = arrays["idf"], arrays["coef"]
    ptr = arrays["nn_indptr"]
    examples = tuple(
        Example(str(e[0]), str(e[1]), str(e[2]), str(e[3]), tuple(str(x) for x in e[4]))
        for e in header.get("examples", ())
    )
    v = len(vocab)
    shapes_ok = (
        idf.shape == (v,)
        and coef.shape == (v, len(topics))
        and arrays["intercept"].shape == (len(topics),)
        and ptr.shape == (v + 1,)
        and arrays["nn_rows"].shape == arrays["nn_weights"].shape
        and (len(arrays["nn_rows"]) == 0 or int(arrays["nn_rows"].max()) < len(examples))
        and int(ptr[-1]) == len(arrays["nn_rows"])
    )
    if not topics or not shapes_ok:
        raise bad("the model file is inconsistent (its parts do not fit): rebuild it")
    return RelevanceModel(
        topics=topics,
        vocabulary={g: i for i, g in enumerate(vocab)},
        idf=idf.astype(np.float32),
        coef=coef.astype(np.float32),
        intercept=arrays["intercept"].astype(np.float64),
        promote=float(header["promote"]),
        hold=float(header["hold"]),
        examples=examples,
        nn_indptr=ptr.astype(np.int32),
        nn_rows=arrays["nn_rows"].astype(np.int32),
        nn_weights=arrays["nn_weights"].astype(np.float32),
        meta=dict(header.get("meta", {})),
        name=name,
    )
