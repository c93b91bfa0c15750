"""Hand-edited YAML files, read with positions so every problem says file, line and column.

``load_yaml`` parses with ruamel.yaml (round-trip mode keeps line/column of every key and
item); ``validate`` runs a pydantic model over the data and turns each validation error into a
``Problem`` at the place it points to, with a did-you-mean for unknown keys.

Before the data is built, the YAML events are screened (one linear pass, no recursion): tags
(``!!python/object/apply:...``, ``!foo``) are refused, as are nesting deeper than
``MAX_DEPTH``, aliases that would expand the file beyond ``MAX_VALUES`` values (a "billion
laughs") and an alias inside the value it names. Each is a ``Problem`` with its place.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.reader import ReaderError

from watcher.errors import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 64  # nested mappings and lists (the shipped files use 5)
MAX_VALUES = 100_000  # keys, items and scalars once aliases are expanded


def load_yaml(path: Path | str, text: str | None = None) -> Any:
    """Parse a YAML file (or ``text`` named ``path``); YAML errors become ``ConfigError``."""
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigError(Problem(name, 0, 0, "file not found")) from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(Problem(name, 0, 0, f"not UTF-8 text: {exc.reason}")) from exc
        except OSError as exc:
            raise ConfigError(Problem(name, 0, 0, f"cannot read: {exc.strerror}")) from exc
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        problems = _screen(yaml, text, name)
        if problems:
            raise ConfigError(problems)
        return yaml.load(text)
    except MarkedYAMLError as exc:
        raise ConfigError(_syntax_problem(exc, name)) from exc
    except ReaderError as exc:  # a character YAML does not allow (control characters)
        line, col = _line_col(text, exc.position)
        char = exc.character
        code = char if isinstance(char, int) else ord(str(char)[:1] or "?")
        msg = f"YAML syntax: character U+{code:04X} is not allowed in a YAML file: remove it"
        raise ConfigError(Problem(name, line, col, msg)) from exc
    except YAMLError as exc:
        raise ConfigError(Problem(name, 0, 0, f"YAML syntax: {exc}")) from exc
    except RecursionError as exc:  # _screen refuses deep nesting first; stay safe anyway
        msg = f"YAML nested too deeply (more than {MAX_DEPTH} levels)"
        raise ConfigError(Problem(name, 0, 0, msg)) from exc


def _syntax_problem(exc: MarkedYAMLError, name: str) -> Problem:
    """The problem at the place to fix. A scanner error (an unclosed quote, a key without
    ':') and an unclosed flow collection are found where the parser gave up, a line or more
    later: they are reported where the broken token or the '[' / '{' starts."""
    problem, context = exc.problem_mark, exc.context_mark
    mark = problem or context
    what = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
    started = str(exc.context or "")
    if (
        problem is not None
        and context is not None
        and problem.line > context.line
        and started.startswith(("while scanning", "while parsing a flow"))
    ):
        mark = context
        what += f" (line {problem.line + 1}, column {problem.column + 1})"
    if "duplicate key" in what:
        what = "duplicate key: " + what.split("found duplicate key", 1)[-1].strip()
    line = mark.line + 1 if mark is not None else 0
    col = mark.column + 1 if mark is not None else 0
    return Problem(name, line, col, f"YAML syntax: {what}")


def _line_col(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def _screen(yaml: YAML, text: str, name: str) -> list[Problem]:
    """Tags, deep nesting and alias bombs, found in the event stream (see the module doc)."""
    problems: list[Problem] = []
    open_counts: list[int] = []  # values inside each open collection, aliases expanded
    open_anchors: list[str | None] = []
    sizes: dict[str, int] = {}  # values each anchored node stands for

    def at(event: NodeEvent, message: str) -> None:
        mark = event.start_mark
        problems.append(Problem(name, mark.line + 1, mark.column + 1, message))

    for event in yaml.parse(text):
        if isinstance(event, NodeEvent) and getattr(event, "tag", None):
            tag = str(event.tag).replace("tag:yaml.org,2002:", "!!")  # type: ignore[attr-defined]
            at(event, f"YAML tag {tag} is not allowed here: write the plain value (quoted)")
        size = 0
        if isinstance(event, AliasEvent):
            if event.anchor in open_anchors:
                at(event, f"alias *{event.anchor} is inside the value it names (a loop)")
                continue
            size = sizes.get(str(event.anchor), 1)
        elif isinstance(event, ScalarEvent):
            size = 1
            if event.anchor:
                sizes[str(event.anchor)] = 1
        elif isinstance(event, CollectionStartEvent):
            if len(open_counts) == MAX_DEPTH:
                at(event, f"nested more than {MAX_DEPTH} levels deep")
                return problems
            open_counts.append(1)
            open_anchors.append(event.anchor)
            continue
        elif isinstance(event, CollectionEndEvent) and open_counts:
            size = open_counts.pop()
            anchor = open_anchors.pop()
            if anchor:
                sizes[str(anchor)] = size
        if open_counts:
            open_counts[-1] += size
        if isinstance(event, AliasEvent) and sum(open_counts) > MAX_VALUES:
            at(event, f"aliases expand the file beyond {MAX_VALUES:,} values: write them out")
            return problems
    return problems


def position(data: Any, loc: Sequence[int | str], at_key: bool = False) -> tuple[int, int]:
    """The 1-based (line, column) of the node at ``loc`` in round-trip data, or its parent.

    ``at_key``: point at the last key itself rather than at its value.
    """
    line, col = 0, 0
    node = data
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, CommentedMap) and _has(node, key) and node.lc.key(key):
            kl, kc = node.lc.key(key)
            line, col = kl + 1, kc + 1
            if not last:
                vl = node.lc.value(key)
                if vl is not None and isinstance(node[key], CommentedMap | CommentedSeq):
                    line, col = vl[0] + 1, vl[1] + 1
            else:
                vl = None if at_key else node.lc.value(key)
                if vl is not None and not isinstance(node[key], CommentedMap | CommentedSeq):
                    line, col = vl[0] + 1, vl[1] + 1
            node = node[key]
        elif (
            isinstance(node, CommentedSeq)
            and isinstance(key, int)
            and 0 <= key < len(node)
            and node.lc.item(key)  # None for a value built from a tag
        ):
            il, ic = node.lc.item(key)
            line, col = il + 1, ic + 1
            node = node[key]
        else:
            if isinstance(node, CommentedMap | CommentedSeq) and line == 0:
                line, col = node.lc.line + 1, node.lc.col + 1
            break
    return line, col


def _has(node: CommentedMap, key: object) -> bool:
    try:
        return key in node
    except TypeError:  # an unhashable key asked for (a list as a key)
        return False


def validate(model: type[M], data: Any, path: Path | str) -> M:
    """Validate ``data`` with ``model``; raise ``ConfigError`` listing every problem."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, data, path, model)) from exc


def problems_from(
    exc: ValidationError, data: Any, path: Path | str, model: type[BaseModel] | None = None
) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if isinstance(p, int | str)]
        line, col = position(data, loc, at_key=err["type"] == "extra_forbidden")
        where = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden" and loc:
            key = str(loc[-1])
            known = _known_fields(model, loc[:-1], data)
            hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            msg = f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            if known:
                msg += f"; expected one of: {', '.join(sorted(known))}"
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            if where:
                msg = f"{where}: {msg}"
        out.append(Problem(str(path), line, col, msg))
    return out


def _known_fields(model: type[BaseModel] | None, loc: Sequence[int | str], data: Any) -> list[str]:
    """Field names (and aliases) of the model that ``loc`` points into, best effort."""
    current: Any = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            # dict[str, Model]: the key is a user-chosen id, stay on the value type
            current = _inner_model(current, None)
            continue
        current = _inner_model(fields[part].annotation, None)
    fields = getattr(current, "model_fields", None)
    if not fields:
        return []
    names: list[str] = []
    for name, info in fields.items():
        names.append(info.alias or name)
    return names


def _inner_model(annotation: Any, default: Any) -> Any:
    """The BaseModel inside ``annotation`` (list[M], dict[str, M], M | None...), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg, None)
        if found is not None:
            return found
    return default
