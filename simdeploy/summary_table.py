"""The per-strategy table as people read it: mean ± half-width, and which differences are real.

``simdeploy compare`` and the report print one row per strategy. With one replication that row
holds the run's numbers (:func:`simdeploy.compare.summary_by_strategy`); with more, each cell is
the mean over replications ± the half-width of its Student-t interval at the chosen level,
and a ``*`` after a cell says that the strategy differs from the baseline strategy on that
metric: the paired (seed by seed, common random numbers) interval of the difference excludes 0
(:func:`simdeploy.summarize`). Fewer than :data:`MIN_REPLICATIONS` replications earn a warning:
intervals from two or three runs are wide and rest on the spread of very few numbers, so
differences between strategies may be noise.

Counts (failed requests, users, pods) print as whole numbers, mean and half-width alike: a
tenth of a user is a precision the interval almost never supports (the counts that decide,
users with errors and failed requests, vary by far more than one between seeds), and whole
numbers keep the table the same whatever the replications. The half-width is rounded *up*, so
an interval that is not exactly zero never prints as ``± 0``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from simdeploy.compare import COUNT_KEYS, TABLE_COLUMNS, segment_columns, summary_by_strategy
from simdeploy.statistics import summarize

__all__ = ["MIN_REPLICATIONS", "SIGNIFICANT_MARK", "format_half_width", "format_interval",
           "interval_legend", "interval_table", "noise_warning", "percent", "replications_of",
           "segment_table"]

MIN_REPLICATIONS = 5
"""Below this many replications per strategy, differences are flagged as possibly noise."""

SIGNIFICANT_MARK = "*"
"""Put after a cell whose paired difference from the baseline excludes 0."""


def percent(level: float) -> str:
    """``0.95`` as ``"95 %"``."""
    return f"{100 * level:.10g} %"


def replications_of(table: pd.DataFrame) -> int:
    """The fewest runs any strategy has in ``table``."""
    return int(table.groupby(table["strategy"].astype(str), sort=False).size().min())


def format_interval(key: str, mean: float, half_width: float) -> str:
    """One cell: the mean ± the half-width, rounded as the table rounds ``key``.

    Counts are whole numbers with the half-width rounded up; ``error_rate`` is in percent with
    three decimals; ``extra_cost`` has three significant digits; the rest one decimal. A NaN
    half-width (fewer than two values) leaves the mean alone; a NaN mean prints as ``–``.
    """
    if not math.isfinite(mean):
        return "–"
    if key in COUNT_KEYS:
        text = f"{round(mean)}"
    elif key == "error_rate":
        text = f"{100 * mean:.3f}"
    elif key == "extra_cost":
        text = f"{mean:.3g}"
    else:
        text = f"{mean:.1f}"
    return f"{text} ± {format_half_width(key, half_width)}" if math.isfinite(half_width) else text


def format_half_width(key: str, half_width: float) -> str:
    """A half-width as :func:`format_interval` prints it (counts rounded up to whole numbers)."""
    if not math.isfinite(half_width):
        return "–"
    if key in COUNT_KEYS:
        return f"{math.ceil(half_width - 1e-9)}"
    if key == "error_rate":
        return f"{100 * half_width:.3f}"
    if key == "extra_cost":  # identical costs leave floating-point dust, not a spread
        return f"{half_width:.2g}" if half_width > 1e-12 else "0"
    return f"{half_width:.1f}"


def interval_table(table: pd.DataFrame, level: float = 0.95,
                   baseline: str | None = None, *, priced: bool = False) -> pd.DataFrame:
    """One row per strategy: mean ± half-width per column, ``*`` on significant differences.

    The columns are those of :func:`~simdeploy.compare.summary_by_strategy` (the outcome
    column unchanged); with one replication per strategy it is that table, bare numbers.

    Args:
        table: one row per strategy × replication, as :func:`simdeploy.compare` returns.
        level: the confidence level of the intervals and of the differences.
        baseline: the strategy differences are taken against; None takes the first.
        priced: the scenario prices pods: show the cost column even when it is 0.
    """
    frame = summary_by_strategy(table, priced=priced)
    if replications_of(table) < 2:
        return frame
    names = [str(n) for n in frame["strategy"]]
    baseline = names[0] if baseline is None else baseline
    keys = {label: key for key, label in TABLE_COLUMNS.items()
            if label in frame.columns and key != "outcome" and key in table.columns}
    stats = summarize(table, level, baseline=baseline, metrics=list(keys.values()))
    rows = {(r.strategy, r.metric): r for r in stats.itertuples(index=False)}
    out = frame.astype(dict.fromkeys(keys, object))
    for i, name in enumerate(names):
        for label, key in keys.items():
            row: Any = rows[(name, key)]
            cell = format_interval(key, row.mean, row.half_width)
            if row.significant:
                cell += SIGNIFICANT_MARK
            out.at[i, label] = cell
    return out


def segment_table(table: pd.DataFrame, level: float = 0.95,
                  baseline: str | None = None) -> pd.DataFrame:
    """One row per strategy and user segment: its users on the new version and with errors.

    Read from the per-segment columns of the comparison table (``users_exposed_new[NAME]``,
    :data:`simdeploy.compare.SEGMENT_METRICS`), which only a scenario with
    ``traffic.segments`` has; without them the frame is empty. Cells are as in
    :func:`interval_table`: the run's whole numbers with one replication, else the mean ±
    the half-width at ``level`` and ``*`` where the paired difference from ``baseline`` (None:
    the first strategy) excludes 0.

    Returns:
        Columns ``strategy, segment`` and the :data:`~simdeploy.compare.TABLE_COLUMNS` labels
        of the per-segment keys ("users on new", "users w/ errors").
    """
    columns = segment_columns(table)
    if not columns:
        return pd.DataFrame(columns=["strategy", "segment"])
    names = [str(n) for n in pd.unique(table["strategy"].astype(str))]
    segments = list(dict.fromkeys(segment for _, _, segment in columns))
    stats: dict[tuple[str, str], Any] = {}
    if replications_of(table) >= 2:
        baseline = names[0] if baseline is None else baseline
        frame = summarize(table, level, baseline=baseline, metrics=[c for c, _, _ in columns])
        stats = {(r.strategy, r.metric): r for r in frame.itertuples(index=False)}
    rows = []
    for name in names:
        runs = table[table["strategy"].astype(str) == name]
        for segment in segments:
            row: dict[str, Any] = {"strategy": name, "segment": segment}
            for column, metric, of in columns:
                if of != segment:
                    continue
                if stats:
                    stat = stats[(name, column)]
                    cell = format_interval(metric, stat.mean, stat.half_width)
                    row[TABLE_COLUMNS[metric]] = cell + (SIGNIFICANT_MARK if stat.significant
                                                         else "")
                else:
                    mean = float(runs[column].mean())
                    row[TABLE_COLUMNS[metric]] = round(mean) if math.isfinite(mean) else "–"
            rows.append(row)
    return pd.DataFrame(rows)


def interval_legend(table: pd.DataFrame, level: float = 0.95,
                    baseline: str | None = None) -> list[str]:
    """The lines that explain :func:`interval_table` (none for a table of single runs)."""
    runs = replications_of(table)
    if runs < 2:
        return []
    first = str(table["strategy"].iloc[0])
    baseline = first if baseline is None else baseline
    return [f"± half-width of the {percent(level)} t-interval of the mean over {runs} "
            "replications",
            f"{SIGNIFICANT_MARK} differs from {baseline} at {percent(level)} (paired by seed: "
            "the interval of the per-seed differences excludes 0)"]


def noise_warning(replications: int) -> str | None:
    """A sentence when there are too few replications to tell strategies apart, else None."""
    if replications >= MIN_REPLICATIONS:
        return None
    runs = "1 replication" if replications == 1 else f"{replications} replications"
    return (f"only {runs} per strategy: differences between strategies may be noise "
            f"(use --replications {MIN_REPLICATIONS} or more)")
