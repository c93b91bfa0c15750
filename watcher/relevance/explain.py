"""The model's side of ``watcher rules explain``: its probability per topic, what it
changed, and the labelled items the text is most like."""

from __future__ import annotations

from watcher.models import Item, ScoreResult
from watcher.relevance.decide import Relevance, gated
from watcher.relevance.files import describe


def render_opinion(relevance: Relevance, item: Item, result: ScoreResult) -> str:
    """Plain text, after the rules' explanation."""
    lines = ["", describe(relevance)]
    model = relevance.model
    if model is None:
        return "\n".join(lines)
    if not any(gated(t) for t in result.topics):
        lines.append("  not asked: no topic has its required entities")
        return "\n".join(lines)
    for t in result.topics:
        if t.model is None:
            continue
        what = {"possible": "sent as a possible match", "held": "held back"}.get(t.decision, "")
        lines.append(f"  {t.topic}: {t.model:.2f}" + (f" ({what})" if what else ""))
    lines.append("  most like these labelled items:")
    lines.extend(f"    {n.describe()}" for n in relevance.nearest(item, 5))
    return "\n".join(lines)
