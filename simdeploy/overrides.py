"""Changing a scenario by field path: ``{"pod.preStopSeconds": 5}`` → a new, validated Scenario.

Paths are written in the scenario file's spelling, dot-separated, with ``[i]`` for an item of
a list: ``pod.preStopSeconds``, ``strategies.rolling.maxSurge``,
``strategies.canary.steps[0].setWeight``. A strategy name may itself hold dots
(``strategies.rolling.v2.maxSurge`` finds the strategy ``rolling.v2``).

The change is made on the *effective* scenario as plain data (every default written out, as
a report's ``scenario.yaml`` shows it), and the result is validated again from scratch, so a
variant obeys every rule a file does, and a path that names no field, or a value a file could
not hold, is refused in one line that names the path, in the same words as a bad file.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic.alias_generators import to_camel

from simdeploy.errors import ScenarioError, described, shown

if TYPE_CHECKING:
    from simdeploy.scenario import Scenario

__all__ = ["apply_overrides", "parse_path"]

_SEGMENT = re.compile(r"(?P<key>[^.\[\]]+)(?P<indices>(?:\[[0-9]+\])*)")


def parse_path(path: str) -> list[str | int]:
    """The keys and list indices of ``path`` (``"a.b[2].c"`` → ``["a", "b", 2, "c"]``).

    Raises:
        ValueError: ``path`` is not a field path.
    """
    if not isinstance(path, str) or not path:
        raise ValueError(f"not a field path: {shown(path)}")
    tokens: list[str | int] = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise ValueError(f"not a field path (keys separated by '.', list items as "
                             f"[0]): {shown(path)}")
        tokens.append(match["key"])
        tokens += [int(i) for i in re.findall(r"\[([0-9]+)\]", match["indices"])]
    return tokens


def apply_overrides(scenario: Scenario, overrides: Mapping[str, Any],
                    source: str | None = None) -> Scenario:
    """``scenario`` with each path of ``overrides`` set to its value, validated again.

    Args:
        scenario: the validated scenario.
        overrides: field path (file spelling) → new value, applied in order.
        source: where the scenario came from, for messages (default: its name).

    Raises:
        ScenarioError: a path names no field, or a value (or the scenario it makes) is not
            valid; the message names the path.
    """
    from simdeploy.report import _plain  # the effective scenario (see report.py)
    from simdeploy.scenario import load_scenario

    source = scenario.name if source is None else source
    if not isinstance(overrides, Mapping):
        raise ScenarioError(source, None, "overrides must map field paths to values, got "
                                          f"{described(overrides)}")
    data = _plain(scenario)
    created: dict[str, list[str]] = {}  # new key's location → the keys beside it
    for path, value in overrides.items():
        _set(data, path, copy.deepcopy(value), source, created)
    try:
        return load_scenario(data)
    except ScenarioError as exc:
        raise ScenarioError(source, exc.location,
                            exc.problem + _hint(exc, overrides, created)) from None


def _set(data: dict[str, Any], path: str, value: Any, source: str,
         created: dict[str, list[str]]) -> None:
    try:
        tokens = parse_path(path)
    except ValueError as exc:
        raise ScenarioError(source, None, str(exc)) from None
    node: Any = data
    where = ""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if isinstance(token, int):
            if not isinstance(node, list):
                raise ScenarioError(source, path, f"{where or 'the scenario'} is "
                                                  f"{described(node)}, not a list")
            if token >= len(node):
                raise ScenarioError(source, path, f"{where} has {len(node)} item"
                                                  f"{'s' if len(node) != 1 else ''}")
            key: str | int = token
            where += f"[{token}]"
            i += 1
        else:
            if not isinstance(node, dict):
                raise ScenarioError(source, path, f"{where} is {described(node)}, not a "
                                                  "mapping of fields")
            key, used = _key(node, tokens, i)
            where += ("." if where else "") + key
            if key not in node:
                created[where] = sorted(k for k in node if isinstance(k, str))
            i += used
        if i == len(tokens):
            node[key] = value
            return
        child = node[key] if isinstance(key, int) else node.get(key)
        if child is None:  # an optional part left out (a liveness probe): start it empty
            child = {} if isinstance(tokens[i], str) else []
            node[key] = child
        node = child


def _key(node: dict[str, Any], tokens: list[str | int], i: int) -> tuple[str, int]:
    """The key of ``node`` that ``tokens[i:]`` starts with, and how many tokens it takes.

    A strategy name may hold dots, so the longest run of tokens that is a key wins; a
    snake_case name is the file's camelCase key.
    """
    end = i
    while end < len(tokens) and isinstance(tokens[end], str):
        end += 1
    for stop in range(end, i, -1):
        candidate = ".".join(str(t) for t in tokens[i:stop])
        if candidate in node:
            return candidate, stop - i
    token = str(tokens[i])
    camel = to_camel(token)
    if camel != token and camel in node:
        return camel, 1
    return token, 1


def _hint(exc: ScenarioError, overrides: Mapping[str, Any],
          created: dict[str, list[str]]) -> str:
    """What to add to a validation error so that it points at the override behind it."""
    location = exc.location or ""
    if location in created and exc.problem.startswith("unknown field"):
        name = location.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(name, created[location], n=1, cutoff=0.6)
        if close:
            return f" (did you mean {close[0]}?)"
        return f" (known here: {', '.join(created[location])})" if created[location] else ""
    paths = [str(p) for p in overrides]
    if any(location == p or location.startswith((f"{p}.", f"{p}[")) for p in paths):
        return ""
    return " (with " + ", ".join(f"{p} = {shown(v)}" for p, v in overrides.items()) + ")"
