"""The learned second opinion on relevance (docs/relevance.md).

``load_model(path)`` reads a model file; ``Relevance(rules, model)`` scores items with the
rules and lets the model promote possible matches or hold back noise; ``watcher.relevance.
train`` builds a model from labelled corpora (``watcher model train``).
"""

from __future__ import annotations

from watcher.relevance.decide import HELD, POSSIBLE, Relevance, decide
from watcher.relevance.model import MODEL_FILE, RelevanceModel, load_model, save_model

__all__ = [
    "HELD",
    "MODEL_FILE",
    "POSSIBLE",
    "Relevance",
    "RelevanceModel",
    "decide",
    "load_model",
    "save_model",
]
