"""Rules only, model only and combined, side by side, on labelled items.

The same three decisions are shown by ``watcher rules test`` (with the model in force) and by
``watcher model train`` (with cross-validated probabilities: each item scored by a model
that was not trained on it). Figures are per topic, overall, and per language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watcher.models import Item, ScoreResult
from watcher.relevance.decide import Relevance, decide, model_only
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
    title: str = ""

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
        title=li.item.title,
    )


def judge_all(
    relevance: Relevance,
    items: Iterable[LabelledItem],
    *,
    explain: bool = True,
    progress: Callable[[], None] | None = None,
    memo: dict[Item, dict[str, float]] | None = None,
) -> list[Judged]:
    """Every item as ``relevance`` (rules, and its model when there is one) decides it.

    ``progress`` is called after each item (a progress bar); ``explain=False`` keeps only
    the matches of alerting topics, as the pipeline scores; ``memo`` (shared by two calls
    with the same model) asks the model once per item."""
    model = relevance.model
    promote, hold = (model.promote, model.hold) if model is not None else (1.0, 0.0)
    out: list[Judged] = []
    for li in items:
        result = relevance.rules.score(li.item, explain=explain)
        out.append(judge(li, result, relevance.probabilities(li.item, result, memo), promote, hold))
        if progress is not None:
            progress()
    return out


@dataclass(frozen=True, slots=True)
class Change:
    """An item whose alerted topics differ between two judgements of it."""

    before: Judged
    after: Judged

    @property
    def id(self) -> str:
        return self.after.id


def changes(before: Sequence[Judged], after: Sequence[Judged]) -> list[Change]:
    """The items of ``after`` (in its order) that alert other topics than in ``before``;
    items only one side judged are left out."""
    old = {j.id: j for j in before}
    return [Change(old[j.id], j) for j in after if j.id in old and old[j.id].alerted != j.alerted]


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
    """Precision / recall / F1 of each mode, per topic, overall and per language, as text."""
    titles = {"rules": "rules only", "model": "model only", "combined": "combined (sent)"}
    lines = [
        f"{'':<22}" + "".join(f" {titles[m]:^23}" for m in MODES),
        f"{'topic':<22}" + " precision recall     f1" * len(MODES),
    ]

    def row(name: str, per_mode: Mapping[str, Any]) -> str:
        cells = "".join(
            f" {m['precision']:>9.3f} {m['recall']:>6.3f} {m['f1']:>6.3f}"
            for m in (per_mode[mode] for mode in MODES)
        )
        return f"{name:<22}{cells}"

    for topic in topics:
        lines.append(row(topic, {mode: fig[mode]["topics"][topic] for mode in MODES}))
    lines.append(row("overall (any topic)", {mode: fig[mode]["overall"] for mode in MODES}))
    for lang, per in fig.get("by_language", {}).items():
        n = per["rules"]["items"]
        lines.append(row(f"  {lang} ({n} items)", {m: per[m]["overall"] for m in MODES}))
    return lines


def false_alerts(judged: Sequence[Judged]) -> dict[str, int]:
    """Items without labels that each mode alerted (for corpora where nothing may alert)."""
    return {mode: sum(1 for j in judged if not j.labels and j.by(mode)) for mode in MODES}
