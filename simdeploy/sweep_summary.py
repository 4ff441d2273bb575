"""What a sweep says, in a table and in sentences: which setting helps each strategy, and surely.

A sweep (:func:`simdeploy.sweep`) runs every strategy on every variant of a grid with the same
seeds, so two variants of one strategy are compared seed by seed (common random numbers), as
two strategies are in :func:`simdeploy.summarize`. :func:`sweep_table` gives one row per
variant × strategy with each headline metric as mean ± half-width; :func:`sweep_findings`
gives, for each strategy and metric, the best and the worst variant and whether the paired
interval of their difference excludes 0, and names the strategies a swept value does not
move at all (the rolling update's ``maxSurge`` does nothing to a blue-green rollout).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from simdeploy.compare import TABLE_COLUMNS
from simdeploy.errors import shown
from simdeploy.plots.sweep import swept_paths
from simdeploy.statistics import t_interval
from simdeploy.summary_table import format_interval, percent

__all__ = ["SWEEP_TABLE_METRICS", "sweep_figure_stems", "sweep_figures", "sweep_findings",
           "sweep_table"]

SWEEP_TABLE_METRICS = ("downtime_s", "requests_failed", "users_with_errors",
                       "extra_scheduled_pod_seconds", "rollout_duration_s", "latency_p99_ms")
"""The columns of :func:`sweep_table`: downtime, who is hurt, what it costs, how long."""

_FINDING_METRICS = ("users_with_errors", "extra_scheduled_pod_seconds")


def sweep_table(table: pd.DataFrame, level: float = 0.95,
                metrics: Sequence[str] = SWEEP_TABLE_METRICS) -> pd.DataFrame:
    """One row per variant × strategy: the swept values, then mean ± half-width per metric.

    Args:
        table: a sweep table (:func:`simdeploy.sweep`).
        level: the confidence level of the t-intervals over replications.
        metrics: summary keys to show (those the table lacks are left out).
    """
    paths = swept_paths(table)
    keys = [m for m in metrics if m in table.columns]
    rows: list[dict[str, Any]] = []
    for (_variant, name), runs in table.groupby(["variant", "strategy"], sort=False):
        row: dict[str, Any] = {path: _value(runs[path].iloc[0]) for path in paths}
        row["strategy"] = name
        for key in keys:
            mean, half = t_interval(runs[key].to_numpy(dtype=float), level)
            row[TABLE_COLUMNS.get(key, key)] = format_interval(key, mean, half)
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_findings(table: pd.DataFrame, level: float = 0.95,
                   metrics: Sequence[str] = _FINDING_METRICS) -> list[str]:
    """Sentences: per strategy and metric, the best and worst variant and if they differ.

    The difference is paired by seed (the same replication of two variants saw the same
    requests), so a sentence says "significant" only when the interval of the per-seed
    differences excludes 0 at ``level``. With one replication nothing is tested.
    """
    paths = swept_paths(table)
    runs = int(table.groupby(["variant", "strategy"]).size().min())
    sentences: list[str] = []
    unmoved: dict[str, list[str]] = {}
    for name, rows in table.groupby("strategy", sort=False):
        parts: list[str] = []
        for metric in metrics:
            if metric not in rows.columns:
                continue
            by_variant = rows.groupby("variant", sort=True)[metric].mean()
            if by_variant.isna().all():
                continue
            if by_variant.max() == by_variant.min():
                unmoved.setdefault(TABLE_COLUMNS.get(metric, metric), []).append(str(name))
                continue
            best, worst = int(by_variant.idxmin()), int(by_variant.idxmax())
            text = (f"{TABLE_COLUMNS.get(metric, metric)} {_number(metric, by_variant[best])} "
                    f"at {_where(rows, best, paths)}, {_number(metric, by_variant[worst])} at "
                    f"{_where(rows, worst, paths)}")
            if runs > 1:
                mean, half = _paired(rows, worst, best, metric, level)
                surely = math.isfinite(half) and mean - half > 0
                text += (f" (difference {format_interval(metric, mean, half)}, "
                         + ("significant" if surely else "not significant")
                         + f" at {percent(level)})")
            parts.append(text)
        if parts:
            sentences.append(f"{name}: " + "; ".join(parts) + ".")
    for label, names in unmoved.items():
        sentences.append(f"The swept values do not change {label} of "
                         f"{_listed(names)}.")
    if runs < 2:
        sentences.append("One replication per variant: no difference is tested; sweep with "
                         "--replications 5 or more.")
    return sentences


def sweep_figure_stems(factors: Mapping[str, Sequence[Any]]) -> list[str]:
    """The file stems of a sweep's figures (known before any run, to plan the files)."""
    swept = [path for path, values in factors.items() if len(values) > 1]
    stems = [f"by-{_stem(path)}" for path in swept or list(factors)[:1]]
    if len(swept) == 2:
        stems += [f"map-{metric}" for metric in _FINDING_METRICS]
    return stems


def sweep_figures(table: pd.DataFrame, factors: Mapping[str, Sequence[Any]],
                  name: str) -> list[tuple[str, Callable[[], Any]]]:
    """(file stem, figure maker) of each figure of a finished sweep.

    Each swept path against the headline metrics (:func:`~simdeploy.plots.plot_sweep`), and
    with two swept paths a map of users with errors and one of extra pod-seconds
    (:func:`~simdeploy.plots.plot_sweep_heatmap`). The stems are
    :func:`sweep_figure_stems`'s, in its order.
    """
    from simdeploy import plots

    swept = [path for path, values in factors.items() if len(values) > 1]
    figures: list[tuple[str, Callable[[], Any]]] = [
        (f"by-{_stem(path)}",
         lambda path=path: plots.plot_sweep(table, path, title=f"{name}: {path}"))
        for path in swept or list(factors)[:1]]
    if len(swept) == 2:
        figures += [(f"map-{metric}",
                     lambda metric=metric: plots.plot_sweep_heatmap(
                         table, swept[0], swept[1], metric, title=f"{name}: {metric}"))
                    for metric in _FINDING_METRICS]
    return figures


def _stem(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path).strip("-.") or "path"


def _paired(rows: pd.DataFrame, worse: int, better: int, metric: str,
            level: float) -> tuple[float, float]:
    """Mean and half-width of (worse − better) per seed."""
    a = rows[rows["variant"] == worse].set_index("seed")[metric]
    b = rows[rows["variant"] == better].set_index("seed")[metric]
    return t_interval((a - b.reindex(a.index)).to_numpy(dtype=float), level)


def _where(rows: pd.DataFrame, variant: int, paths: list[str]) -> str:
    first = rows[rows["variant"] == variant].iloc[0]
    return ", ".join(f"{path} = {shown(_value(first[path]))}" for path in paths)


def _number(metric: str, value: float) -> str:
    return format_interval(metric, value, math.nan)


def _value(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
