"""From a scenario file to plain data, and from pydantic's complaints to one line in our words.

A scenario file is read defensively, because a CLI that promises "one line and exit 2 on bad
input" must not hang, run out of memory or print a traceback on anything a user (or a fuzzer)
can write:

* at most :data:`MAX_FILE_BYTES` are read (``/dev/zero`` is refused, not read forever);
* YAML is parsed with ``safe_load`` semantics, and a key written twice in one mapping is an
  error (YAML 1.2 forbids it; PyYAML would silently keep the last one);
* the parsed document may hold at most :data:`MAX_VALUES` values, aliases counted each time
  they are used (a "billion laughs" document is refused), nested at most :data:`MAX_DEPTH`
  deep (PyYAML itself overflows Python's stack at a few hundred levels).

Validation errors are turned into ``field.path: problem`` with the path in the file's
spelling and the problem in the project's words, never pydantic's ("Input should be a valid
dictionary or instance of ClusterSpec", "Unable to extract tag using discriminator").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from simdeploy.errors import FieldError, ScenarioError, described, shown

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_VALUES", "check_shape", "first_problem",
           "read_yaml"]

MAX_FILE_BYTES = 1 << 20
"""A scenario file is at most 1 MiB (the shipped ones are about 3 KiB)."""
MAX_VALUES = 100_000
"""Values in a parsed scenario, aliases counted at each use."""
MAX_DEPTH = 64
"""Nesting of mappings and lists (a scenario needs about 8)."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if not isinstance(node, yaml.MappingNode):  # `!!map [1]`: SafeLoader says so
            return super().construct_mapping(node, deep=deep)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # `<<: *base` keys may be overridden by explicit ones
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader says so itself
            if duplicate:
                raise ConstructorError(None, None, f"duplicate key {shown(key)}",
                                       key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 reads 1e30 and 1.0e30 as numbers; PyYAML (YAML 1.1) only with a signed exponent
# and a dot, and would hand a string to a number field.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def read_yaml(path: Path, where: str) -> Any:
    """The parsed YAML document of ``path``.

    Raises:
        ScenarioError: the file cannot be read, is too large, is not UTF-8, or is not YAML.
    """
    try:
        if path.is_dir():
            raise ScenarioError(where, None, "is a directory, not a scenario file")
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(where, None, "no such file") from None
    except OSError as exc:
        raise ScenarioError(where, None, exc.strerror or str(exc)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(where, None, f"larger than {MAX_FILE_BYTES // 1024} KiB: "
                                         "not a scenario file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(where, None, "not a UTF-8 text file") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise ScenarioError(where, at, f"YAML syntax error: {problem}") from None
    except RecursionError:
        raise ScenarioError(where, None, f"nested too deeply (more than {MAX_DEPTH} levels)"
                            ) from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # PyYAML's constructors raise these on values their tags cannot hold
        # (`2024-02-30`, `0x_`, `!!int abc`, `!!bool maybe`, a 5,000-digit integer)
        raise ScenarioError(where, None, "YAML value error: a value cannot be read as its type"
                            f" ({shown(str(exc))})") from None


def check_shape(data: Any, where: str) -> None:
    """Refuse documents too large or too deep to be a scenario, before validating them.

    Walks iteratively with a budget, so that a self-referencing or alias-multiplied document
    costs at most :data:`MAX_VALUES` steps.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ScenarioError(where, None, f"more than {MAX_VALUES:,} values (aliases "
                                             "counted at each use): not a scenario")
        if depth > MAX_DEPTH:
            raise ScenarioError(where, None, f"nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


# --------------------------------------------------------------------------------------------
# pydantic errors → one line


def first_problem(errors: list[dict[str, Any]], data: Any) -> tuple[str, str]:
    """(field path in the file's spelling, problem in our words) of the first error."""
    error = errors[0]
    location = _path(error, data)
    extra = _field_error(error)
    if extra is not None:
        location = _join(location, extra.location)
    return location or "(top level)", _problem(error)


def _join(head: str, tail: tuple[str | int, ...]) -> str:
    out = head
    for item in tail:
        if isinstance(item, int):
            out += f"[{item}]"
            continue
        name = str(item)
        if len(name) > 60:  # a 200 KB key is not echoed whole
            name = name[:59] + "…"
        out += ("." if out else "") + name
    return out


def _field_error(error: Mapping[str, Any]) -> FieldError | None:
    cause = (error.get("ctx") or {}).get("error")
    return cause if isinstance(cause, FieldError) else None


def _path(error: Mapping[str, Any], data: Any) -> str:
    """The field path in YAML spelling, walking the input alongside pydantic's location.

    Location items that are not in the input are pydantic's own (a union's tag, a validator
    name) and are left out; once the input is a scalar, the rest is inside its normal form.
    A missing or unknown field, and a union's missing or unknown tag, are named themselves.
    """
    parts = ""
    loc = tuple(error["loc"])
    kind = error.get("type")
    for i, item in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(data, list) and isinstance(item, int) and 0 <= item < len(data):
            parts += f"[{item}]"
            data = data[item]
        elif isinstance(data, Mapping) and item in data:
            parts = _join(parts, (str(item),))
            data = data[item]
        elif item == "[key]" or not isinstance(data, (Mapping, list)):
            break
        elif kind in ("extra_forbidden", "missing") and last:
            parts = _join(parts, (str(item),))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str((error.get("ctx") or {}).get("discriminator", "'type'")).strip("'")
        parts = _join(parts, (discriminator,))
    return parts


_KIND_WORDS = {
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be a text string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of names to values",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
    "frozen_instance": "cannot be changed",
}


def _problem(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type"))
    ctx = error.get("ctx") or {}
    value = error.get("input")
    got = f", got {described(value)}" if "input" in error else ""
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        return str(cause) if cause is not None else str(error["msg"])
    if kind == "finite_number":
        if isinstance(value, float) and math.isnan(value):
            return "not a number (NaN)"
        return f"must be a finite number{got}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        if isinstance(value, float) and math.isnan(value):
            return "not a number (NaN)"
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[kind]
        bound = next(iter(v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le")), "?")
        if isinstance(bound, float):
            bound = f"{bound:g}"
        return f"must be {op} {bound}{got}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')}{got}"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags', '?')}, got {shown(ctx.get('tag'))}"
    if kind == "union_tag_not_found":
        return "is missing (it says which kind this is)"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        short = kind.endswith("too_short")
        size = ctx.get("min_length" if short else "max_length")
        if short and size == 1:
            return "must not be empty"
        word = "at least" if short else "at most"
        if kind.startswith("string"):
            return f"must be {word} {size} characters long"
        return f"must have {word} {size} item{'s' if size != 1 else ''}"
    if kind == "string_pattern_mismatch":
        return f"does not match the pattern {ctx.get('pattern')}{got}"
    if kind in _KIND_WORDS:
        return _KIND_WORDS[kind] + ("" if kind in ("extra_forbidden", "missing") else got)
    return "is not valid" + got
