"""Where the relevance model comes from, and what happens when it cannot be used.

The model in force is, in order: the file named by ``WATCHER_MODEL`` (``off``: none), else
``relevance-model.zip`` beside ``keywords.yaml``, else the model shipped with watcher (trained
on the corpora shipped beside it). A file that is missing, corrupt, of another format version
or for other topics never stops watcher: it runs on the rules alone and says why.
"""

from __future__ import annotations

import logging
from pathlib import Path

from watcher.errors import ConfigError
from watcher.relevance.decide import Relevance
from watcher.relevance.model import MODEL_FILE, load_model
from watcher.rules import Rules

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SHIPPED_MODEL = HERE / MODEL_FILE
CORPORA = HERE / "corpora"
SHIPPED_CORPORA = tuple(
    CORPORA / name
    for name in ("dev.jsonl", "extra.jsonl", "real_news.jsonl", "real.jsonl", "kcna.jsonl")
)
OFF = "off"


def model_path(config_dir: Path, setting: str = "") -> Path | None:
    """The model file to use (``None``: rules only, as the setting asks)."""
    if setting.strip().lower() == OFF:
        return None
    if setting.strip():
        path = Path(setting).expanduser()
        return path if path.is_absolute() else config_dir / path
    beside = config_dir / MODEL_FILE
    return beside if beside.exists() else SHIPPED_MODEL


def load_relevance(rules: Rules, path: Path | None) -> Relevance:
    """The rules with the model at ``path``; the rules alone (and why) when it cannot be used."""
    if path is None:
        return Relevance(rules, None, "relevance model off (WATCHER_MODEL=off): rules only")
    try:
        model = load_model(path)
    except ConfigError as exc:
        return Relevance(rules, None, f"{exc.problems[0]}; running on the rules only")
    shared = [t for t in rules.topic_ids if t in model.topics]
    if not shared:
        return Relevance(
            rules,
            None,
            f"{path}: the model knows topics {', '.join(model.topics)}, keywords.yaml has"
            f" {', '.join(rules.topic_ids)}: rules only (retrain with `watcher model train`)",
        )
    return Relevance(rules, model, "")


def describe(relevance: Relevance) -> str:
    """One line for start-up and reloads: which model, or why there is none."""
    model = relevance.model
    if model is None:
        return relevance.note
    where = "shipped" if Path(model.name) == SHIPPED_MODEL else model.name
    return (
        f"relevance model {model.id} ({where}, {len(model.examples)} labelled items):"
        f" possible matches from {model.promote:g}, rule hits held back below {model.hold:g}"
    )
