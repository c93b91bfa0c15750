"""Hand-edited YAML files, read with positions so every problem says file, line and column.

``load_yaml`` parses with ruamel.yaml (round-trip mode keeps line/column of every key and
item); ``validate`` runs a pydantic model over the data and turns each validation error into a
``Problem`` at the place it points to, with a did-you-mean for unknown keys.

While the file is composed, before any value is built, tags (``!!python/object/apply:...``,
``!foo``) are refused, as are nesting deeper than ``MAX_DEPTH``, aliases that would expand the
file beyond ``MAX_VALUES`` values (a "billion laughs") and an alias inside the value it names.
Each is a ``Problem`` with its place.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
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
    yaml.Composer = _ScreeningComposer
    try:
        return yaml.load(text)
    except _Refused as exc:
        problems = [Problem(name, line, col, msg) for line, col, msg in exc.problems]
        raise ConfigError(problems) from None
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


class _Refused(Exception):
    """What the composer refuses: (line, column, message) each."""

    def __init__(self, problems: list[tuple[int, int, str]]) -> None:
        self.problems = problems
        super().__init__(problems)


class _ScreeningComposer(Composer):
    """ruamel's composer, refusing tags, deep nesting and alias bombs as it goes (the nodes
    are composed before any value is constructed, so nothing of a refused file is built)."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader=loader)
        self.refused: list[tuple[int, int, str]] = []
        self.sizes: dict[int, int] = {}  # values each composed node stands for
        self.values = 0  # in the whole file, aliases expanded
        self.open = 0

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if self.refused:
            raise _Refused(self.refused)
        return node

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        where = (event.start_mark.line + 1, event.start_mark.column + 1)
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self.sizes:
                msg = f"alias *{event.anchor} is inside the value it names (a loop)"
                raise _Refused([*self.refused, (*where, msg)])
            self.values += self.sizes.get(id(target), 1)
            if self.values > MAX_VALUES:
                msg = f"aliases expand the file beyond {MAX_VALUES:,} values: write them out"
                raise _Refused([*self.refused, (*where, msg)])
            return super().compose_node(parent, index)
        if getattr(event, "tag", None):
            tag = str(event.tag).replace("tag:yaml.org,2002:", "!!")
            msg = f"YAML tag {tag} is not allowed here: write the plain value (quoted)"
            self.refused.append((*where, msg))
        if isinstance(event, CollectionStartEvent):
            self.open += 1
            if self.open > MAX_DEPTH:
                msg = f"nested more than {MAX_DEPTH} levels deep"
                raise _Refused([*self.refused, (*where, msg)])
        node = super().compose_node(parent, index)
        self.open -= isinstance(event, CollectionStartEvent)
        self.sizes[id(node)] = 1 + sum(self.sizes.get(id(c), 1) for c in _children(node))
        self.values += 1
        return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


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
