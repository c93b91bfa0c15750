"""`watcher model train`: build the relevance model from labelled JSONL corpora.

Trains on the shipped corpora (or ``--corpus`` files instead) plus any ``--labels`` files (or,
``--labels`` alone, the labels in the store: only ever on this command, never by itself),
prints cross-validated figures (rules only, model only, combined) per corpus and language,
and writes the model beside keywords.yaml (or ``--out``), where ``watcher run`` picks it up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from watcher.cli import EXIT_OK, settings_from_args
from watcher.errors import ConfigError, Problem
from watcher.relevance import MODEL_FILE, save_model
from watcher.relevance.evaluate import Judged, false_alerts, figures, judge, table
from watcher.relevance.files import SHIPPED_CORPORA
from watcher.relevance.train import FOLDS, HOLD, PROMOTE, Corpus, cross_validate, fit, read_corpora
from watcher.rules import Rules, load_rules
from watcher.settings import Settings

STORE_LABELS = Path("(the store)")  # --labels without a file
STORE_LABELS_FILE = "store-labels.jsonl"  # its name in the model's examples and figures


def register(sub: argparse._SubParsersAction[Any]) -> None:
    model = sub.add_parser("model", help="train the relevance model (the rules' second opinion)")
    msub = model.add_subparsers(dest="model_command", metavar="SUBCOMMAND")
    model.set_defaults(func=lambda args: _usage(model))
    train = msub.add_parser(
        "train", help="train on labelled corpora, print cross-validated figures"
    )
    train.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=None,
        metavar="FILE.jsonl",
        help="a labelled corpus (repeatable; default: the corpora shipped with watcher)",
    )
    train.add_argument(
        "--labels",
        type=Path,
        action="append",
        nargs="?",
        const=STORE_LABELS,
        default=[],
        metavar="FILE.jsonl",
        help="more labelled items, added to the corpora (repeatable); without a file: the"
        " labels in the store (watcher labels export)",
    )
    train.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"default: {MODEL_FILE} in the config",
    )
    train.add_argument(
        "--keywords", type=Path, default=None, metavar="PATH", help="rules for the figures"
    )
    train.add_argument("--folds", type=int, default=FOLDS, help="cross-validation folds (2-20)")
    train.add_argument("--no-cv", action="store_true", help="train only, no figures")
    train.set_defaults(func=cmd_train)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def cmd_train(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    rules = load_rules(args.keywords or settings.keywords_path)
    files = [p for p in args.labels if p is not STORE_LABELS]
    with tempfile.TemporaryDirectory(prefix="watcher-labels-") as tmp:
        if len(files) != len(args.labels):
            files.append(_store_labels(settings, args.keywords, Path(tmp)))
        paths = [*(args.corpus or SHIPPED_CORPORA), *files]
        corpora = read_corpora(paths, rules.topic_ids)  # ConfigError: file:line of each bad line
    return _train(args, settings, rules, corpora)


def _store_labels(settings: Settings, keywords: Path | None, folder: Path) -> Path:
    """The store's labels (admins') written as a corpus in ``folder``; an error when there
    are none, so that nothing is retrained on the shipped corpora alone by mistake."""
    from watcher.cli.labels import store_export, write_corpus

    done = store_export(settings, keywords)
    if not done.lines:
        raise ConfigError(
            Problem(
                "--labels",
                0,
                0,
                "the store holds no labels yet (admins' votes under alerts and /review answers;"
                " see watcher labels stats); nothing was trained",
            )
        )
    path = folder / STORE_LABELS_FILE
    write_corpus(done, path)
    print(f"labels from the store: {len(done.lines)} items")
    return path


def _train(
    args: argparse.Namespace, settings: Settings, rules: Rules, corpora: list[Corpus]
) -> int:
    total = sum(len(c.items) for c in corpora)
    listed = ", ".join(f"{c.name} {len(c.items)}" for c in corpora)
    print(f"training on {len(corpora)} corpora, {total} items ({listed})")
    if not args.no_cv:
        folds = min(max(args.folds, 2), 20)
        probs, seconds = cross_validate(corpora, rules.topic_ids, k=folds)
        print(
            f"\ncross-validated, {folds} folds ({seconds:.1f} s): each item scored by a model"
            " trained without it and without the other reports of its story"
        )
        _print_figures(corpora, probs, rules)
    started = time.monotonic()
    model = fit(corpora, rules.topic_ids)
    seconds = time.monotonic() - started
    out: Path = args.out or settings.config_dir / MODEL_FILE
    save_model(model, out)
    print(
        f"\ntrained in {seconds:.1f} s: {len(model.vocabulary)} n-grams, {len(model.topics)}"
        f" topics, model {model.id} -> {out}"
    )
    return EXIT_OK


def _print_figures(
    corpora: Sequence[Corpus], probs: Sequence[dict[str, float]], rules: Rules
) -> None:
    i = 0
    for corpus in corpora:
        judged: list[Judged] = []
        for li in corpus.items:
            result = rules.score(li.item)
            judged.append(judge(li, result, _gated(result, probs[i]), PROMOTE, HOLD))
            i += 1
        print(f"\n{corpus.name} ({len(judged)} items)")
        if not any(j.labels for j in judged):
            fa = false_alerts(judged)
            print(
                "  none may alert; false alerts: "
                + ", ".join(f"{mode} {n} ({n / len(judged):.1%})" for mode, n in fa.items())
            )
            continue
        for line in table(figures(judged, rules.topic_ids), rules.topic_ids):
            print("  " + line)


def _gated(result: Any, probs: dict[str, float]) -> dict[str, float]:
    """The model is only asked where some topic's entities are there (as in `watcher run`)."""
    from watcher.relevance.decide import gated

    if not any(gated(t) for t in result.topics):
        return {}
    return probs
