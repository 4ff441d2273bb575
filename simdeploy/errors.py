"""Domain errors: one line that names where the problem is and what it is."""

from __future__ import annotations

__all__ = ["ScenarioError"]


class ScenarioError(ValueError):
    """A scenario that cannot be run: file, field path (YAML spelling) and the problem.

    ``str(error)`` is the single line the CLI prints, e.g.
    ``scenarios/x.yaml: strategies.rolling.maxSurge: must be an int or a percentage like '25%'``.
    """

    def __init__(self, source: str, location: str | None, problem: str) -> None:
        self.source = source
        self.location = location
        self.problem = problem
        parts = [source] + ([location] if location else []) + [problem]
        super().__init__(": ".join(parts))
