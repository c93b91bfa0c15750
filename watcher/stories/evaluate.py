"""Pairwise precision and recall of story grouping on a labelled JSONL set (pure but for reading).

Each line: id, lang, source, title, summary, url, published (ISO 8601), story_id, and
optionally topics and entities (lists); or, for the real reports, the corpus format
(``real.jsonl``) with the development of each id in a second file (``real-stories.jsonl``:
id, story). A pair of items is *predicted* together when the index puts them in one story and
*labelled* together when they share a story; figures are given for pairs within one language
and pairs across languages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path

from watcher.models import Report
from watcher.stories.encoder import Encoder
from watcher.stories.index import StoryConfig, StoryIndex


@dataclass(frozen=True, slots=True)
class Labelled:
    report: Report
    story: str


@dataclass(frozen=True, slots=True)
class PairScores:
    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_pos + self.false_neg
        return self.true_pos / wanted if wanted else 1.0


@dataclass(frozen=True, slots=True)
class Evaluation:
    within: dict[str, PairScores]  # by language
    across: PairScores
    errors: tuple[tuple[str, str, str], ...]  # (kind "fp"/"fn", id, id)


def load_labelled(path: Path, story_ids: dict[str, str] | None = None) -> list[Labelled]:
    """The labelled reports of ``path``; their stories from ``story_ids`` when given."""
    out: list[Labelled] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            published = datetime.fromisoformat(raw["published"].replace("Z", "+00:00"))
            report = Report(
                key=raw["id"],
                title=raw["title"],
                summary=raw.get("summary", ""),
                url=raw.get("url", ""),
                language=raw["lang"],
                published=published,
                topics=frozenset(raw.get("topics", ())),
                entities=frozenset(raw.get("entities", ())),
                source=raw.get("source", ""),
            )
            story = story_ids[raw["id"]] if story_ids is not None else raw["story_id"]
            out.append(Labelled(report, str(story)))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: {exc!r}") from exc
    return out


def load_real(items: Path, stories: Path) -> list[Labelled]:
    """The real reports (corpus format) with their developments from ``stories``."""
    story = {}
    for n, line in enumerate(stories.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                raw = json.loads(line)
                story[raw["id"]] = str(raw["story"])
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(f"{stories}:{n}: {exc!r}") from exc
    return load_labelled(items, story_ids=story)


def one_day(items: list[Labelled], start: datetime) -> list[Labelled]:
    """The items re-dated into one day from ``start``, in their order of publication: every
    report is then in every other's window, as in a day of news from years of archives."""
    ordered = sorted(items, key=lambda i: (i.report.published, i.report.key))
    step = timedelta(days=1) / max(1, len(ordered))
    return [
        Labelled(replace(i.report, published=start + n * step), i.story)
        for n, i in enumerate(ordered)
    ]


def group(
    items: list[Labelled], config: StoryConfig | None = None, encoder: Encoder | None = None
) -> dict[str, int]:
    """Run the index over the items in order of publication; item id -> predicted story."""
    index = StoryIndex(config, encoder=encoder)
    ordered = sorted(items, key=lambda i: i.report.published)
    index.embed(i.report for i in ordered)
    predicted: dict[str, int] = {}
    for item in ordered:
        predicted[item.report.key] = index.add(item.report).story_id
    return predicted


def evaluate(
    items: list[Labelled], config: StoryConfig | None = None, encoder: Encoder | None = None
) -> Evaluation:
    predicted = group(items, config, encoder)
    counts: dict[str, list[int]] = {}
    errors: list[tuple[str, str, str]] = []
    for a, b in combinations(items, 2):
        same_label = a.story == b.story
        same_pred = predicted[a.report.key] == predicted[b.report.key]
        if not (same_label or same_pred):
            continue
        la, lb = a.report.language, b.report.language
        bucket = la if la == lb else "across"
        c = counts.setdefault(bucket, [0, 0, 0])
        if same_label and same_pred:
            c[0] += 1
        elif same_pred:
            c[1] += 1
            errors.append(("fp", a.report.key, b.report.key))
        else:
            c[2] += 1
            errors.append(("fn", a.report.key, b.report.key))
    across = PairScores(*counts.pop("across", [0, 0, 0]))
    within = {lang: PairScores(*c) for lang, c in sorted(counts.items())}
    return Evaluation(within, across, tuple(errors))
