"""A tiny rules file and labelled corpus whose model decides predictably: "loggers" are
workers the keywords do not know, "parade at home" is noise the keywords alert on."""

from __future__ import annotations

import json
from pathlib import Path

from watcher.relevance import RelevanceModel, save_model
from watcher.relevance.train import fit, read_corpora

KEYWORDS = """\
entities:
  nk:
    title: North Korea
    aliases: [North Korea*]
topics:
  - id: workers
    title: Workers abroad
    threshold: 6
    require: {all_of: [nk]}
    terms: {worker*: 3}
"""

# an item the rules miss (no "workers") that reads like the labelled positives
PROMOTED = "North Korean loggers toil in Siberian logging camps"
# an item the rules alert on that reads like the labelled negatives
HELD = "North Korean workers parade at home in honour of the leader"
PLAIN = "North Korean workers toil in Siberian timber camps"

_POSITIVE = [
    "North Korean loggers toil in Siberian camps",
    "Loggers from North Korea cut timber in Siberia",
    "Siberian logging camps hold North Korean loggers",
    "North Korean workers toil in Siberian timber camps",
    "North Korean loggers escape a Siberian camp",
    "Camps in Siberia: North Korean loggers toil for Pyongyang",
    "North Korean workers cut timber in Siberian logging camps",
    "Logging camps in Siberia keep North Korean loggers",
]
_NEGATIVE = [
    "North Korean workers parade at home in honour of the leader",
    "Workers parade at home in Pyongyang in honour of the leader",
    "North Korea holds a parade at home in honour of the leader",
    "A parade at home: workers honour the leader in North Korea",
    "North Korean farmers parade at home for the harvest",
    "Weather: sunny days in Seoul this week",
    "North Korea launches a missile into the sea",
    "North Korean leader visits a parade at home",
]


def write_corpus(path: Path) -> Path:
    lines = [
        json.dumps({"id": f"p{i}", "lang": "en", "title": t, "labels": ["workers"]})
        for i, t in enumerate(_POSITIVE)
    ] + [
        json.dumps({"id": f"n{i}", "lang": "en", "title": t, "labels": []})
        for i, t in enumerate(_NEGATIVE)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_model(tmp: Path) -> tuple[Path, Path, RelevanceModel]:
    """(keywords.yaml, relevance-model.zip, the model), written in ``tmp``."""
    keywords = tmp / "keywords.yaml"
    keywords.write_text(KEYWORDS, encoding="utf-8")
    corpora = read_corpora([write_corpus(tmp / "tiny.jsonl")], ["workers"])
    model = fit(corpora, ["workers"])
    path = tmp / "relevance-model.zip"
    save_model(model, path)
    return keywords, path, model
