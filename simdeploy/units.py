"""Numbers written with a unit suffix, as scenario files write durations and quantities."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from simdeploy.errors import described

__all__ = ["parse_with_unit"]

_NUMBER = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"


def parse_with_unit(value: Any, units: Mapping[str, float], default_unit: str, what: str,
                    examples: str, bound: str) -> float:
    """``value`` (a number, or a string of a number and one of ``units``) in base units.

    Args:
        value: the raw value from the file.
        units: suffix → factor to the base unit.
        default_unit: the suffix a bare number in a string has.
        what: the kind of value, for messages ("duration").
        examples: examples for messages ("30, '250ms', '30s' or '5m'").
        bound: what a valid value is, for messages ("a finite number of seconds >= 0").

    Raises:
        ValueError: one line naming what was expected and what was given.
    """
    expected = f"expected a {what} such as {examples}"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{expected}, got {described(value)}")
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int beyond the largest float
            number = math.inf
    else:
        suffixes = "|".join(sorted((re.escape(u) for u in units if u), key=len, reverse=True))
        match = re.fullmatch(rf"\s*{_NUMBER}\s*({suffixes})?\s*", value)
        if match is None:
            raise ValueError(f"{expected}, got {described(value)}")
        number = float(match.group(1)) * units[match.group(2) or default_unit]
    if math.isnan(number):
        raise ValueError(f"a {what} must be {bound}, got not a number (NaN)")
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"a {what} must be {bound}, got {described(value)}")
    return number
