"""Domain errors: one line that names where the problem is and what it is."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FieldError", "RunTooLargeError", "ScenarioError", "described", "one_line", "shown"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MAX_SHOWN = 60


def one_line(text: str) -> str:
    """``text`` with control characters (newlines, NUL, escapes) written as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def shown(value: Any) -> str:
    """A value as a message quotes it: its repr, on one line, cut to a readable length."""
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return one_line(text)


def described(value: Any) -> str:
    """How a wrong value is named in a message: short, one line, and what kind it was."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return shown(value)


class ScenarioError(ValueError):
    """A scenario that cannot be run: file, field path (YAML spelling) and the problem.

    ``str(error)`` is the single line the CLI prints, e.g.
    ``scenarios/x.yaml: strategies.rolling.maxSurge: must be an int or a percentage like '25%'``.
    Control characters in any part (a file or key name with a newline or NUL) are escaped, so
    it stays one line.
    """

    def __init__(self, source: str, location: str | None, problem: str) -> None:
        self.source = source
        self.location = location
        self.problem = problem
        parts = [source] + ([location] if location else []) + [problem]
        super().__init__(one_line(": ".join(parts)))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole, so that a run's error crosses from a worker process intact."""
        return type(self), (self.source, self.location, self.problem)


class RunTooLargeError(ScenarioError):
    """A run whose estimated work or memory is beyond the limits (see ``simdeploy.budget``)."""


class FieldError(ValueError):
    """A validator's complaint about one field below the model that raised it.

    pydantic locates a model validator's error at the model; a rule that involves two
    fields (``maxUnavailable`` may not be 0 when ``maxSurge`` is 0) names the one at fault
    with ``location``, relative to that model, in the file's spelling.
    """

    def __init__(self, location: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.location = location
