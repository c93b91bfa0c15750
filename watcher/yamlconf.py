"""Hand-edited YAML files, read with positions so every problem says file, line and column.

``load_yaml`` parses with ruamel.yaml (round-trip mode keeps line/column of every key and
item); ``validate`` runs a pydantic model over the data and turns each validation error into a
``Problem`` at the place it points to, with a did-you-mean for unknown keys.
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

from watcher.errors import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)


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
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        col = mark.column + 1 if mark is not None else 0
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        if "duplicate key" in what:
            what = "duplicate key: " + what.split("found duplicate key", 1)[-1].strip()
        raise ConfigError(Problem(name, line, col, f"YAML syntax: {what}")) from exc
    except YAMLError as exc:
        raise ConfigError(Problem(name, 0, 0, f"YAML syntax: {exc}")) from exc


def position(data: Any, loc: Sequence[int | str], at_key: bool = False) -> tuple[int, int]:
    """The 1-based (line, column) of the node at ``loc`` in round-trip data, or its parent.

    ``at_key``: point at the last key itself rather than at its value.
    """
    line, col = 0, 0
    node = data
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, CommentedMap) and key in node:
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
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            il, ic = node.lc.item(key)
            line, col = il + 1, ic + 1
            node = node[key]
        else:
            if isinstance(node, CommentedMap | CommentedSeq) and line == 0:
                line, col = node.lc.line + 1, node.lc.col + 1
            break
    return line, col


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
