"""`watcher rules check|explain|test`: the commands maintainers use to edit keywords.yaml.

- ``check``: exit 0, or exit 2 with one ``file:line:col: message`` per problem.
- ``explain [FILE|-]``: which topics an article (plain text, HTML or one JSON item) alerts and
  why, with the matches highlighted on a terminal (``--format text|html`` for plain output).
- ``test --corpus FILE.jsonl``: precision, recall and F1 per topic and overall, the false
  positives and negatives; ``--against OLD.yaml`` lists items whose outcome changed; ``--json``
  prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from watcher.errors import ConfigError, Problem
from watcher.models import Item
from watcher.rules import Rules, load_rules
from watcher.rules.corpus import Outcome, item_from_json, metrics, read_corpus, score_all

EXIT_OK = 0
EXIT_USAGE = 2
PROGRESS_FROM = 200  # items: show a progress bar (on a terminal) from this corpus size

_HTML_HINT = re.compile(
    r"<(?:!doctype|html|head|body|title|p|div|article|section|h[1-6]|br|span|a)\b", re.I
)


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
    test.add_argument(
        "--against", type=Path, default=None, metavar="OLD.yaml", help="compare with these rules"
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


def item_from_input(text: str, name: str = "<stdin>") -> Item:
    """An article as an ``Item``: one JSON item, an HTML page, or plain text."""
    stripped = text.strip()
    if not stripped:
        raise ConfigError(Problem(name, 0, 0, "nothing to explain: the input is empty"))
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigError(Problem(name, exc.lineno, exc.colno, f"not JSON: {exc.msg}")) from exc
        if not isinstance(obj, dict):
            raise ConfigError(Problem(name, 1, 1, "a JSON item must be an object"))
        try:
            return item_from_json(obj, name)
        except ValueError as exc:
            raise ConfigError(Problem(name, 1, 1, str(exc))) from exc
    if _HTML_HINT.search(stripped[:5000]):
        return _item_from_html(stripped, name)
    lines = stripped.splitlines()
    return Item(
        source_id="explain",
        guid=name,
        url="",
        title=lines[0].strip(),
        content="\n".join(lines[1:]).strip(),
    )


def _item_from_html(text: str, name: str) -> Item:
    from selectolax.lexbor import LexborHTMLParser

    from watcher.parse.markup import check_markup

    check_markup(text, name)  # a FetchError: the CLI says why, no minutes-long parse
    tree = LexborHTMLParser(text)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    title = ""
    for selector in ("title", "h1"):
        found = tree.css_first(selector)
        if found is not None and found.text(strip=True):
            title = " ".join(found.text().split())
            break
    root = tree.body or tree.root
    body = root.text(separator="\n", strip=True) if root is not None else ""
    return Item(source_id="explain", guid=name, url="", title=title, content=body)


def cmd_explain(args: argparse.Namespace) -> int:
    from watcher.rules import explain

    rules = load_rules(_keywords_path(args))
    name = "<stdin>" if args.file == "-" else args.file
    item = item_from_input(read_input(args.file), name)
    result = rules.score(item)
    fmt = args.format
    if fmt == "auto":
        fmt = "terminal" if sys.stdout.isatty() else "text"
    if fmt == "terminal":
        from rich.console import Console

        explain.render_terminal(result, item, Console())
    elif fmt == "html":
        print(explain.render_html(result, item, all_topics=True))
    else:
        print(explain.render_text(result, item))
    return EXIT_OK


# -- test ------------------------------------------------------------------------------------


def _score_corpus(rules: Rules, corpus: Path, label: str) -> list[Outcome]:
    items = read_corpus(corpus, rules.topic_ids)
    if sys.stderr.isatty() and len(items) >= PROGRESS_FROM:
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task(label, total=len(items))
            return list(score_all(rules, items, lambda: progress.advance(task)))
    return list(score_all(rules, items))


def cmd_test(args: argparse.Namespace) -> int:
    path = _keywords_path(args)
    rules = load_rules(path)
    old = load_rules(args.against) if args.against is not None else None
    outcomes = _score_corpus(rules, args.corpus, f"scoring with {path}")
    report = metrics(outcomes, rules.topic_ids)
    changed: list[dict[str, Any]] = []
    if old is not None:
        old_outcomes = {
            o.id: o for o in _score_corpus(old, args.corpus, f"scoring with {args.against}")
        }
        for o in outcomes:
            before = old_outcomes[o.id].alerted
            if before != o.alerted:
                changed.append(
                    {
                        "id": o.id,
                        "labels": sorted(o.labels),
                        "before": sorted(before),
                        "after": sorted(o.alerted),
                    }
                )
    if args.json:
        out: dict[str, Any] = {
            "items": [
                {
                    "id": o.id,
                    "alerted": list(o.result.alerted_ids),
                    "scores": {t.topic: t.score for t in o.result.topics},
                }
                for o in outcomes
            ],
            "metrics": report,
        }
        if old is not None:
            out["changed"] = changed
        print(json.dumps(out, ensure_ascii=False))
        return EXIT_OK
    _print_report(report, outcomes, rules)
    if old is not None:
        print()
        print(f"Changed against {args.against}: {len(changed)}")
        for c in changed:
            print(
                f"  {c['id']}: {', '.join(c['before']) or '-'} -> {', '.join(c['after']) or '-'}"
                f"   (labels: {', '.join(c['labels']) or 'none'})"
            )
    return EXIT_OK


def _fmt_row(name: str, m: dict[str, Any]) -> str:
    return (
        f"{name:<22} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}"
        f" {m['tp']:>4} {m['fp']:>4} {m['fn']:>4}"
    )


def _print_report(report: dict[str, Any], outcomes: list[Outcome], rules: Rules) -> None:
    print(f"{report['items']} items")
    print(f"{'topic':<22} {'precision':>9} {'recall':>7} {'f1':>6} {'tp':>4} {'fp':>4} {'fn':>4}")
    for topic, m in report["topics"].items():
        print(_fmt_row(topic, m))
    print(_fmt_row("overall (any topic)", report["overall"]))
    fps = [(o, t) for o in outcomes for t in rules.topic_ids if t in o.alerted - o.labels]
    fns = [(o, t) for o in outcomes for t in rules.topic_ids if t in o.labels - o.alerted]
    print()
    print(f"False positives: {len(fps)}")
    for o, t in fps:
        ts = o.result.get(t)
        why = ", ".join(f"{m.term}" for m in ts.matches if m.weight > 0) if ts else ""
        print(f"  {o.id} {t} (score {ts.score if ts else 0:g}): {o.title[:70]}")
        print(f"      because: {why}")
    print(f"False negatives: {len(fns)}")
    for o, t in fns:
        ts = o.result.get(t)
        if ts is None:
            continue
        reason = (
            f"missing {'; '.join(ts.missing)}"
            if ts.missing
            else f"vetoed by {ts.vetoed_by.term}"
            if ts.vetoed_by
            else f"score {ts.score:g} < {ts.threshold:g}"
        )
        print(f"  {o.id} {t} ({reason}): {o.title[:70]}")
