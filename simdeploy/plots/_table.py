"""Reading a comparison table: per-strategy statistics and the words that go with them.

A comparison table has one row per strategy × replication (what :func:`simdeploy.compare`
returns). The figures draw the mean over replications with one standard deviation, leave out
runs without a value (a rollout that never finished has no duration) and say so.
"""

from __future__ import annotations

import pandas as pd

from simdeploy.plots._style import AXIS_LABELS

__all__ = ["axis_label", "replication_note", "strategy_names", "strategy_stats", "with_outcomes"]


def strategy_names(table: pd.DataFrame) -> list[str]:
    """The strategies in the table's order (first appearance)."""
    if "strategy" not in table.columns:
        raise ValueError("the table needs a 'strategy' column (as compare() returns)")
    return [str(n) for n in pd.unique(table["strategy"].astype(str))]


def strategy_stats(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per strategy in table order: mean and standard deviation of the non-missing values,
    runs, and runs without a value."""
    names = strategy_names(table)
    if column not in table.columns:
        raise ValueError(f"the table has no column {column!r}")
    strategies = table["strategy"].astype(str)
    values = pd.to_numeric(table[column], errors="coerce").astype(float)
    grouped = values.groupby(strategies, sort=False)
    stats = pd.DataFrame(
        {
            "mean": grouped.mean(),
            "std": grouped.std(ddof=1),
            "runs": grouped.size(),
            "missing": values.isna().groupby(strategies, sort=False).sum(),
        }
    )
    return stats.reindex(names)


def replication_note(table: pd.DataFrame, shape: str) -> str:
    """The subtitle: one run per strategy (which seed), or how many replications are averaged."""
    runs = table.groupby(table["strategy"].astype(str), sort=False).size()
    if runs.max() <= 1:
        seeds = sorted(pd.unique(table["seed"])) if "seed" in table.columns else []
        return (
            f"one run per strategy (seed {seeds[0]})" if len(seeds) == 1 else "one run per strategy"
        )
    n = int(runs.min()) if runs.min() == runs.max() else f"{runs.min()}–{runs.max()}"
    return f"{shape}: mean of {n} replications · error bars: ±1 standard deviation"


def with_outcomes(table: pd.DataFrame, name: str) -> str:
    """The strategy's name, with its outcomes when not every run completed."""
    if "outcome" not in table.columns:
        return name
    outcomes = table.loc[table["strategy"].astype(str) == name, "outcome"].astype(str)
    if (outcomes == "completed").all():
        return name
    counts = outcomes.value_counts()
    if len(outcomes) == 1:
        return f"{name}\n({outcomes.iloc[0]})"
    return f"{name}\n(" + ", ".join(f"{k} {v}/{len(outcomes)}" for k, v in counts.items()) + ")"


def axis_label(column: str) -> str:
    """The label of a summary key on an axis, with its unit."""
    if column in AXIS_LABELS:
        return AXIS_LABELS[column]
    name = column.replace("_", " ")
    for suffix, unit in (("_ms", "ms"), ("_s", "s"), ("_seconds", "s")):
        if column.endswith(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    return name
