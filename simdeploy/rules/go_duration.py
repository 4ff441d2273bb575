"""Go's ``time.ParseDuration``, which Argo Rollouts and Flagger both use for their durations.

``"30s"``, ``"1m30s"``, ``"1.5h"``, ``"500ms"``: an optional sign, then one or more
``<number><unit>`` pairs with units ``ns``, ``us``/``µs``, ``ms``, ``s``, ``m``, ``h``; a bare
``"0"`` needs no unit. The value is whole nanoseconds in an int64, as Go computes it.
Argo reads ``DurationString`` with it (``argoproj/argo-rollouts
pkg/apis/rollouts/v1alpha1/analysis_types.go DurationString.Duration``), Flagger its
``interval`` (``fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go GetAnalysisInterval``).
"""

from __future__ import annotations

__all__ = ["parse_duration", "parse_duration_ns"]

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_NS = 1 << 63


def _leading_fraction(digits: str) -> tuple[int, float]:
    """Fraction digits as Go reads them: stop adding precision before int64 overflow."""
    value, scale, overflow = 0, 1.0, False
    for ch in digits:
        if overflow:
            continue
        if value > (_MAX_NS - 1) // 10:
            overflow = True
            continue
        candidate = value * 10 + ord(ch) - ord("0")
        if candidate > _MAX_NS:
            overflow = True
            continue
        value, scale = candidate, scale * 10
    return value, scale


def parse_duration_ns(text: str) -> int:
    """Parse a Go duration into whole nanoseconds.

    Go's ``time.ParseDuration``: an optional sign,
    then one or more ``<number><unit>`` pairs such as ``"30s"``, ``"1m30s"``,
    ``"1.5h"``, ``"500ms"``; units ``ns``, ``us``/``µs``, ``ms``, ``s``, ``m``,
    ``h``. A bare ``"0"`` is allowed; any other number needs a unit. The
    value is computed in whole nanoseconds as Go does and must fit in an int64.

    Mirrors: ``golang/go src/time/format.go ParseDuration``.

    Args:
        text: The duration string.

    Returns:
        The duration in nanoseconds (negative if the text starts with ``-``).

    Raises:
        ValueError: if ``text`` is not a valid Go duration.

    """
    if not isinstance(text, str):
        raise ValueError(f"duration: must be a string like '30s', got {text!r}")
    bad = ValueError(f"duration: invalid Go duration {text!r} (expected e.g. '30s' or '1m30s')")
    s = text
    negative = False
    if s[:1] in ("-", "+"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise bad
    total = 0
    i, n = 0, len(s)
    while i < n:
        start = i
        while i < n and "0" <= s[i] <= "9":
            i += 1
        whole_digits = s[start:i]
        frac_digits = ""
        if i < n and s[i] == ".":
            i += 1
            frac_start = i
            while i < n and "0" <= s[i] <= "9":
                i += 1
            frac_digits = s[frac_start:i]
        if not whole_digits and not frac_digits:
            raise bad
        unit_start = i
        while i < n and s[i] != "." and not ("0" <= s[i] <= "9"):
            i += 1
        unit = _UNITS_NS.get(s[unit_start:i])
        if unit is None:
            raise bad
        if len(whole_digits.lstrip("0")) > 19:
            raise bad
        whole = int(whole_digits or "0")
        if whole > _MAX_NS // unit:
            raise bad
        value = whole * unit
        fraction, scale = _leading_fraction(frac_digits)
        if fraction > 0:
            # Go scales the fraction in float64 and truncates to whole nanoseconds.
            value += int(float(fraction) * (float(unit) / scale))
            if value > _MAX_NS:
                raise bad
        total += value
        if total > _MAX_NS:
            raise bad
    if not negative and total > _MAX_NS - 1:
        raise bad
    return -total if negative else total


def parse_duration(text: str) -> float:
    """Parse a Go duration (``"30s"``, ``"1m30s"``, ``"500ms"``) into seconds.

    See :func:`parse_duration_ns` for the syntax.

    Args:
        text: The duration string.

    Returns:
        The duration in seconds.

    Raises:
        ValueError: if ``text`` is not a valid Go duration.

    """
    return parse_duration_ns(text) / 1e9
