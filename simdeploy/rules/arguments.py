"""Argument checks the pure rules share: one wording for a bad number, whichever rule gets it."""

from __future__ import annotations

import math

__all__ = ["seconds"]


def seconds(value: object, name: str) -> float:
    """Check that a duration is a finite, non-negative real number (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}: must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: must be finite and >= 0, got {value!r}")
    return float(value)
