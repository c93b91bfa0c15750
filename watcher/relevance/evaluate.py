"""Rules only, model only and combined, side by side, on labelled items.

The same three decisions are shown by ``watcher rules test`` (with the model in force) and by
``watcher model train`` (with cross-validated probabilities: each item scored by a model
that was not trained on it). Figures are per topic, overall, and per language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watcher.models import ScoreResult
from watcher.relevance.decide import decide, model_only
from watcher.rules.corpus import LabelledItem, metrics

MODES = ("rules", "model", "combined")


@dataclass(frozen=True, slots=True)
class Judged:
    """One labelled item and what each mode alerted."""

    id: str
    lang: str
    labels: frozenset[str]
    rules: frozenset[str]
    model: frozenset[str]
    combined: ScoreResult  # the rules' result with the model's decisions applied
    probs: Mapping[str, float]

    @property
    def alerted(self) -> frozenset[str]:
        return frozenset(self.combined.alerted_ids)

    def by(self, mode: str) -> frozenset[str]:
        return {"rules": self.rules, "model": self.model}.get(mode, self.alerted)


@dataclass(frozen=True, slots=True)
class _View:
    labels: frozenset[str]
    alerted: frozenset[str]


def judge(
    li: LabelledItem,
    result: ScoreResult,
    probs: Mapping[str, float],
    promote: float,
    hold: float,
) -> Judged:
    """``li`` as the rules (``result``), the model (``probs``) and both together decide it."""
    combined = decide(result, probs, promote, hold) if probs else result
    return Judged(
        id=li.id,
        lang=li.item.language or "?",
        labels=li.labels,
        rules=frozenset(result.alerted_ids),
        model=model_only(result, probs),
        combined=combined,
        probs=probs,
    )


def figures(judged: Sequence[Judged], topics: Sequence[str]) -> dict[str, Any]:
    """``{mode: metrics}`` for the three modes, and ``by_language: {lang: {mode: metrics}}``."""
    out: dict[str, Any] = {
        mode: metrics([_View(j.labels, j.by(mode)) for j in judged], topics) for mode in MODES
    }
    langs = sorted({j.lang for j in judged})
    if len(langs) > 1:
        out["by_language"] = {
            lang: {
                mode: metrics(
                    [_View(j.labels, j.by(mode)) for j in judged if j.lang == lang], topics
                )
                for mode in MODES
            }
            for lang in langs
        }
    return out


def table(fig: Mapping[str, Any], topics: Sequence[str]) -> list[str]:
    """Precision / recall / F1 of each mode, per topic and overall, as text lines."""
    head = f"{'':<22}" + "".join(f" {m + ' P/R/F1':>20}" for m in MODES)
    lines = [head]
    for topic in [*topics, "overall"]:
        cells = []
        for mode in MODES:
            m = fig[mode]["overall"] if topic == "overall" else fig[mode]["topics"][topic]
            cells.append(f" {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f}")
        lines.append(
            f"{topic if topic != 'overall' else 'overall (any topic)':<22}" + "".join(cells)
        )
    for lang, per in fig.get("by_language", {}).items():
        cells = []
        for mode in MODES:
            m = per[mode]["overall"]
            cells.append(f" {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f}")
        n = per["rules"]["items"]
        lines.append(f"{f'  {lang} ({n} items)':<22}" + "".join(cells))
    return lines


def false_alerts(judged: Sequence[Judged]) -> dict[str, int]:
    """Items without labels that each mode alerted (for corpora where nothing may alert)."""
    return {mode: sum(1 for j in judged if not j.labels and j.by(mode)) for mode in MODES}
