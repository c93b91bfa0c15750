"""`watcher rules check|explain|test`: the commands maintainers use to edit keywords.yaml.

- ``check``: exit 0, or exit 2 with one ``file:line:col: message`` per problem.
- ``explain [FILE|-]``: which topics an article (plain text, HTML or one JSON item) alerts and
  why, with the matches highlighted on a terminal (``--format text|html`` for plain output).
- ``test --corpus FILE.jsonl``: precision, recall and F1 per topic, overall and per language,
  for the rules alone, the relevance model alone and both (what ``watcher run`` sends); the
  false positives and negatives; ``--against OLD`` (a keywords file or a model file) lists
  items whose outcome changed; ``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from watcher.errors import ConfigError, Problem
from watcher.relevance import Relevance, load_model
from watcher.relevance.evaluate import Judged, changes, figures, judge_all, table
from watcher.relevance.explain import render_opinion
from watcher.relevance.files import describe, load_relevance, model_path
from watcher.rules import Rules, load_rules
from watcher.rules.corpus import LabelledItem, item_from_input, read_corpus

EXIT_OK = 0
EXIT_USAGE = 2
PROGRESS_FROM = 200  # items: show a progress bar (on a terminal) from this corpus size


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the `watcher` parser."""
    rules = sub.add_parser("rules", help="check, explain and test keywords.yaml")
    rsub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    rules.set_defaults(func=lambda args: _usage(rules))

    def keywords_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--keywords",
            type=Path,
            default=None,
            metavar="PATH",
            help="the rules file (default: keywords.yaml in the config folder)",
        )

    def model_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--model",
            default=None,
            metavar="PATH|off",
            help="the relevance model (default: as `watcher run`: WATCHER_MODEL, the one beside"
            " keywords.yaml, else the shipped one); off = rules only",
        )

    check = rsub.add_parser("check", help="check keywords.yaml; exit 2 listing every problem")
    keywords_arg(check)
    check.set_defaults(func=cmd_check)

    explain = rsub.add_parser("explain", help="show which topics an article alerts and why")
    explain.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="plain text (first line = title), HTML, or one JSON item; '-' = stdin (default)",
    )
    keywords_arg(explain)
    model_arg(explain)
    explain.add_argument(
        "--format",
        choices=("auto", "terminal", "text", "html"),
        default="auto",
        help="auto: highlighted on a terminal, plain text otherwise",
    )
    explain.set_defaults(func=cmd_explain)

    test = rsub.add_parser("test", help="precision/recall of the rules on a labelled corpus")
    test.add_argument("--corpus", type=Path, required=True, metavar="FILE.jsonl")
    keywords_arg(test)
    model_arg(test)
    test.add_argument(
        "--against",
        type=Path,
        default=None,
        metavar="OLD",
        help="compare with these rules (a keywords file) or this relevance model (a model file)",
    )
    test.add_argument("--json", action="store_true", help="print one JSON object")
    test.set_defaults(func=cmd_test)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _keywords_path(args: argparse.Namespace) -> Path:
    if args.keywords is not None:
        path: Path = args.keywords
        return path
    from watcher.cli import settings_from_args

    return settings_from_args(args).keywords_path


# -- check -----------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    path = _keywords_path(args)
    rules = load_rules(path)  # ConfigError -> one line per problem, exit 2 (watcher.cli.main)
    print(
        f"{path}: OK: {len(rules.topic_ids)} topics ({', '.join(rules.topic_ids)}),"
        f" {len(rules.spec.entities)} entities, {rules.pattern_count} patterns"
    )
    return EXIT_OK


# -- explain ---------------------------------------------------------------------------------


def read_input(name: str) -> str:
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(Problem(name, 0, 0, "file not found")) from exc
    except OSError as exc:
        raise ConfigError(Problem(name, 0, 0, f"cannot read: {exc.strerror}")) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(Problem(name, 0, 0, f"not UTF-8 text: {exc.reason}")) from exc


def cmd_explain(args: argparse.Namespace) -> int:
    from watcher.rules import explain

    path = _keywords_path(args)
    relevance = _relevance(args, load_rules(path), path)
    name = "<stdin>" if args.file == "-" else args.file
    item = item_from_input(read_input(args.file), name)
    result = relevance.score(item)
    fmt = args.format
    if fmt == "auto":
        fmt = "terminal" if sys.stdout.isatty() else "text"
    if fmt == "terminal":
        from rich.console import Console

        explain.render_terminal(result, item, Console())
        print(render_opinion(relevance, item, result))
    elif fmt == "html":
        print(explain.render_html(result, item, all_topics=True))
    else:
        print(explain.render_text(result, item))
        print(render_opinion(relevance, item, result))
    return EXIT_OK


def _relevance(args: argparse.Namespace, rules: Rules, keywords: Path) -> Relevance:
    """The rules with the model `watcher run` would use beside them (or ``--model``)."""
    setting = args.model
    if setting is None:
        from watcher.cli import settings_from_args

        setting = settings_from_args(args).model
    return load_relevance(rules, model_path(keywords.parent, setting))


# -- test ------------------------------------------------------------------------------------


def _judge_corpus(relevance: Relevance, items: list[LabelledItem], label: str) -> list[Judged]:
    if sys.stderr.isatty() and len(items) >= PROGRESS_FROM:
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task(label, total=len(items))
            return judge_all(relevance, items, progress=lambda: progress.advance(task))
    return judge_all(relevance, items)


def _against(args: argparse.Namespace, relevance: Relevance) -> Relevance | None:
    """What ``--against`` names: other rules with this model, or this rules with another model."""
    if args.against is None:
        return None
    if zipfile.is_zipfile(args.against):
        model = load_model(args.against)  # ConfigError: what is wrong with it
        return Relevance(relevance.rules, model)
    return Relevance(load_rules(args.against), relevance.model)


def cmd_test(args: argparse.Namespace) -> int:
    path = _keywords_path(args)
    relevance = _relevance(args, load_rules(path), path)
    topics = relevance.topic_ids
    items = read_corpus(args.corpus, topics)
    judged = _judge_corpus(relevance, items, f"scoring with {path}")
    report = figures(judged, topics)
    old = _against(args, relevance)
    changed: list[dict[str, Any]] = []
    if old is not None:
        before = _judge_corpus(old, items, f"scoring with {args.against}")
        changed = [
            {
                "id": c.id,
                "labels": sorted(c.after.labels),
                "before": sorted(c.before.alerted),
                "after": sorted(c.after.alerted),
            }
            for c in changes(before, judged)
        ]
    in_sample = _trained_on(relevance, args.corpus)
    if args.json:
        print(json.dumps(_json_report(judged, report, relevance, in_sample, old, changed)))
        return EXIT_OK
    print(f"{len(judged)} items; {describe(relevance)}")
    if in_sample:
        print(
            "  (the model was trained on this corpus: its figures here are not cross-validated;"
            " `watcher model train` prints cross-validated ones)"
        )
    print()
    for line in table(report, topics):
        print(line)
    _print_errors(judged, relevance.rules)
    if old is not None:
        print()
        print(f"Changed against {args.against}: {len(changed)}")
        for c in changed:
            print(
                f"  {c['id']}: {', '.join(c['before']) or '-'} -> {', '.join(c['after']) or '-'}"
                f"   (labels: {', '.join(c['labels']) or 'none'})"
            )
    return EXIT_OK


def _trained_on(relevance: Relevance, corpus: Path) -> bool:
    model = relevance.model
    if model is None:
        return False
    digest = hashlib.sha256(corpus.read_bytes()).hexdigest()
    return any(c[1] == digest for c in model.meta.get("corpora", []))


def _json_report(
    judged: list[Judged],
    report: dict[str, Any],
    relevance: Relevance,
    in_sample: bool,
    old: Relevance | None,
    changed: list[dict[str, Any]],
) -> dict[str, Any]:
    """Today's shape ({"items": [{"id", "alerted", "scores"}], "metrics"}): ``alerted`` and
    ``metrics`` are what `watcher run` sends (rules and model), the rules' beside them."""
    model = relevance.model
    out: dict[str, Any] = {
        "items": [
            {
                "id": j.id,
                "alerted": list(j.combined.alerted_ids),
                "scores": {t.topic: t.score for t in j.combined.topics},
                "rules_alerted": sorted(j.rules),
                "model": {t: round(p, 4) for t, p in j.probs.items()},
                "decisions": {t.topic: t.decision for t in j.combined.topics if t.decision},
            }
            for j in judged
        ],
        "metrics": report["combined"],
        "metrics_rules": report["rules"],
        "metrics_model": report["model"],
        "model": {
            "id": model.id if model is not None else None,
            "path": model.name if model is not None else None,
            "note": relevance.note,
            "trained_on_this_corpus": in_sample,
        },
    }
    if "by_language" in report:
        out["by_language"] = report["by_language"]
    if old is not None:
        out["changed"] = changed
    return out


def _fmt_row(name: str, m: dict[str, Any]) -> str:
    return (
        f"{name:<22} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}"
        f" {m['tp']:>4} {m['fp']:>4} {m['fn']:>4}"
    )


def _print_errors(judged: list[Judged], rules: Rules) -> None:
    """False positives and negatives of what `watcher run` sends, with the reasons."""
    fps = [(j, t) for j in judged for t in rules.topic_ids if t in j.alerted - j.labels]
    fns = [(j, t) for j in judged for t in rules.topic_ids if t in j.labels - j.alerted]
    print()
    print(f"False positives: {len(fps)}")
    for j, t in fps:
        ts = j.combined.get(t)
        if ts is None:
            continue
        why = ", ".join(f"{m.term}" for m in ts.matches if m.weight > 0)
        if ts.decision:
            why = f"relevance model {ts.model:.2f}" + (f"; terms: {why}" if why else "")
        print(f"  {j.id} {t} (score {ts.score:g}): {j.title[:70]}")
        print(f"      because: {why}")
    print(f"False negatives: {len(fns)}")
    for j, t in fns:
        ts = j.combined.get(t)
        if ts is None:
            continue
        reason = (
            f"missing {'; '.join(ts.missing)}"
            if ts.missing
            else f"vetoed by {ts.vetoed_by.term}"
            if ts.vetoed_by
            else f"held back by the relevance model ({ts.model:.2f})"
            if ts.decision == "held"
            else f"not near the terms: {ts.too_far}"
            if ts.too_far
            else f"score {ts.score:g} < {ts.threshold:g}"
        )
        if ts.model is not None and ts.decision != "held":
            reason += f"; model {ts.model:.2f}"
        print(f"  {j.id} {t} ({reason}): {j.title[:70]}")
