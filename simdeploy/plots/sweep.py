"""Figures of a sweep: how a cost moves as one setting moves, and a map over two settings.

* :func:`plot_sweep` draws a metric against one swept value, a line per strategy at the mean
  over replications with a band for its Student-t interval (:func:`simdeploy.statistics.
  t_interval`), one row of panels per metric and one column per combination of the other
  swept values, so no two settings are ever averaged together.
* :func:`plot_sweep_heatmap` maps a metric's mean over two swept values, one panel per
  strategy on one shared colour scale, each cell written out.

Both read the table :func:`simdeploy.sweep` returns (the swept paths are the columns between
``variant`` and ``strategy``). Strategies keep their colour by name; paths, values and names
are drawn as written, never as mathtext.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simdeploy.plots._style import (
    NotebookFigure,
    escape_math,
    format_value,
    integer_ticks,
    is_count,
    plain,
    strategy_colors,
    thousands,
)
from simdeploy.plots._table import axis_label, strategy_names
from simdeploy.statistics import t_interval
from simdeploy.sweep import value_key

__all__ = ["SWEEP_METRICS", "plot_sweep", "plot_sweep_heatmap", "swept_paths"]

SWEEP_METRICS = ("users_with_errors", "extra_scheduled_pod_seconds", "downtime_s",
                 "rollout_duration_s")
"""The metrics :func:`plot_sweep` draws unless told otherwise: who is hurt, what it costs,
how long the service was down, and how long the rollout took."""

_MAX_PANELS = 12


def swept_paths(table: pd.DataFrame) -> list[str]:
    """The swept paths of a sweep table: its columns between ``variant`` and ``strategy``."""
    columns = list(table.columns)
    if "variant" not in columns or "strategy" not in columns:
        raise ValueError("not a sweep table: it needs 'variant' and 'strategy' columns "
                         "(as simdeploy.sweep returns)")
    return columns[columns.index("variant") + 1:columns.index("strategy")]


def plot_sweep(table: pd.DataFrame, factor: str | None = None,
               metrics: str | Sequence[str] = SWEEP_METRICS, *, level: float = 0.95,
               title: str | None = None) -> Figure:
    """Draw each metric against one swept value, a line and interval band per strategy.

    Args:
        table: a sweep table (:func:`simdeploy.sweep`).
        factor: the swept path on the x axis; None takes the first.
        metrics: a summary key, or several (one row of panels each).
        level: the confidence level of the bands (Student-t over replications).
        title: the first title line; None writes "Sweep of FACTOR".

    Returns:
        A figure with one row per metric and one column per combination of the other swept
        values.

    Raises:
        ValueError: not a sweep table, an unknown factor or metric, or more than 12
            combinations of the other swept values (filter the table first).
    """
    paths = swept_paths(table)
    if table.empty:
        raise ValueError("the table is empty: nothing to draw")
    factor = paths[0] if factor is None else factor
    if factor not in paths:
        raise ValueError(f"{factor!r} is not swept in this table (swept: {', '.join(paths)})")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for metric in metrics:
        if metric not in table.columns:
            raise ValueError(f"the table has no column {metric!r}")
    others = [p for p in paths if p != factor and table[p].nunique(dropna=False) > 1]
    facets = _facets(table, others)
    names = strategy_names(table)
    palette = strategy_colors(names)
    xs, ticks = _positions(table[factor])

    fig = NotebookFigure(figsize=(max(6.0, 4.2 * len(facets) + 1.5), 3.4 * len(metrics) + 1.0),
                         layout="constrained")
    grid = fig.subplots(len(metrics), len(facets), squeeze=False, sharex=True)
    replications = int(table.groupby(["variant", "strategy"]).size().min())
    for row, metric in enumerate(metrics):
        for col, (facet_name, facet) in enumerate(facets):
            ax = grid[row][col]
            _draw_lines(ax, facet, factor, metric, names, palette, xs, level)
            if row == 0 and facet_name:
                plain(ax.set_title(facet_name, fontsize=11))
            if col == 0:
                ax.set_ylabel(axis_label(metric), fontsize=10)
            if row == len(metrics) - 1:
                plain(ax.set_xlabel(factor, fontsize=10))
            if ticks is not None:
                ax.set_xticks(range(len(ticks)))
                ax.set_xticklabels([escape_math(t) for t in ticks], usetex=False)
            ax.grid(True, color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
    handles, labels = grid[0][0].get_legend_handles_labels()
    legend = fig.legend(handles, labels, loc="outside right upper", title="strategy")
    plain(*legend.get_texts())
    band = (f"bands: {100 * level:g} % t-interval" if replications > 1
            else "one replication: no interval")
    note = f"mean of {replications} replication{'s' if replications != 1 else ''} · {band}"
    plain(fig.suptitle(f"{title or f'Sweep of {factor}'}\n{note}", fontsize=13))
    return fig


def plot_sweep_heatmap(table: pd.DataFrame, x: str | None = None, y: str | None = None,
                       metric: str = "users_with_errors", *,
                       title: str | None = None) -> Figure:
    """Map a metric's mean over two swept values, one panel per strategy.

    Every panel shares one colour scale, so a colour means the same number in each; each
    cell is written out (counts as integers). A cell with no value (no run finished) is
    grey.

    Args:
        table: a sweep table (:func:`simdeploy.sweep`) with at least two swept paths.
        x: the swept path across; None takes the first.
        y: the swept path down; None takes the next.
        metric: the summary key to map.
        title: the first title line; None names the metric.

    Raises:
        ValueError: not a sweep table, fewer than two swept paths, an unknown metric, or a
            third swept path with more than one value (filter the table first).
    """
    paths = swept_paths(table)
    if table.empty:
        raise ValueError("the table is empty: nothing to draw")
    rest = [p for p in paths if p not in (x, y)]
    x = x if x is not None else rest.pop(0) if rest else None
    y = y if y is not None else rest.pop(0) if rest else None
    for name in (x, y):
        if name is None:
            raise ValueError("a heatmap needs two swept paths")
        if name not in paths:
            raise ValueError(f"{name!r} is not swept in this table (swept: {', '.join(paths)})")
    if x == y:
        raise ValueError("x and y must be different swept paths")
    if metric not in table.columns:
        raise ValueError(f"the table has no column {metric!r}")
    for other in paths:
        if other not in (x, y) and table[other].nunique(dropna=False) > 1:
            raise ValueError(f"{other!r} is swept too: keep one of its values "
                             f"(table[table[{other!r}] == ...]) before mapping {x} × {y}")
    names = strategy_names(table)
    xs = list(pd.unique(table[x]))
    ys = list(pd.unique(table[y]))
    values = pd.to_numeric(table[metric], errors="coerce").astype(float)
    means = values.groupby([table["strategy"].astype(str), table[x].map(value_key),
                            table[y].map(value_key)], sort=False).mean()
    grids = {name: np.array([[means.get((name, value_key(vx), value_key(vy)), math.nan)
                              for vx in xs] for vy in ys]) for name in names}
    finite = np.concatenate([g[np.isfinite(g)] for g in grids.values()] + [np.array([])])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high <= low:
        high = low + 1.0

    fig = NotebookFigure(figsize=(max(6.0, 3.2 * len(names) + 1.5),
                                  max(3.5, 0.55 * len(ys) + 2.2)), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    image = None
    for ax, name in zip(axes, names):
        data = grids[name]
        image = ax.imshow(np.ma.masked_invalid(data), cmap="viridis", vmin=low, vmax=high,
                          aspect="auto", origin="lower")
        ax.set_facecolor("#cccccc")
        for (i, j), value in np.ndenumerate(data):
            if math.isfinite(value):
                shade = (value - low) / (high - low)
                ax.text(j, i, format_value(value, metric), ha="center", va="center",
                        fontsize=9, color="black" if shade > 0.6 else "white", gid="cell")
        plain(ax.set_title(name, fontsize=11))
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([escape_math(_label(v)) for v in xs], usetex=False)
        ax.set_yticks(range(len(ys)))
        ax.set_yticklabels([escape_math(_label(v)) for v in ys], usetex=False)
        plain(ax.set_xlabel(x, fontsize=10))
    plain(axes[0].set_ylabel(y, fontsize=10))
    bar = fig.colorbar(image, ax=list(axes), shrink=0.9)
    bar.set_label(axis_label(metric))
    if is_count(metric):
        bar.ax.yaxis.set_major_locator(integer_ticks())
    replications = int(table.groupby(["variant", "strategy"]).size().min())
    note = f"mean of {replications} replication{'s' if replications != 1 else ''} per cell"
    plain(fig.suptitle(f"{title or axis_label(metric)}\n{note}", fontsize=13))
    return fig


def _facets(table: pd.DataFrame, others: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """(title, rows) per combination of the other swept values, in the table's order."""
    if not others:
        return [("", table)]
    keys = table[others].apply(lambda r: tuple(value_key(v) for v in r), axis=1)
    order = list(pd.unique(keys))
    if len(order) > _MAX_PANELS:
        raise ValueError(f"{len(order)} combinations of {', '.join(others)}: more than "
                         f"{_MAX_PANELS} panels; keep fewer values of them first")
    facets = []
    for key in order:
        rows = table[keys == key]
        first = rows.iloc[0]
        name = ", ".join(f"{p.rsplit('.', 1)[-1]} = {_label(first[p])}" for p in others)
        facets.append((name, rows))
    return facets


def _positions(values: pd.Series) -> tuple[dict[Any, float], list[str] | None]:
    """x of each value: itself when every value is a number, else its place in the sweep."""
    unique = list(pd.unique(values))
    numeric = all(isinstance(v, (int, float, np.integer, np.floating))
                  and not isinstance(v, (bool, np.bool_)) for v in unique)
    if numeric:
        return {value_key(v): float(v) for v in unique}, None
    return {value_key(v): float(i) for i, v in enumerate(unique)}, [_label(v) for v in unique]


def _draw_lines(ax: Any, rows: pd.DataFrame, factor: str, metric: str, names: list[str],
                palette: dict[str, str], xs: dict[Any, float], level: float) -> None:
    top = 0.0
    for name in names:
        mine = rows[rows["strategy"].astype(str) == name]
        if mine.empty:
            continue
        points = []
        for value, group in mine.groupby(mine[factor].map(value_key), sort=False):
            mean, half = t_interval(pd.to_numeric(group[metric], errors="coerce"), level)
            points.append((xs[value], mean, half))
        points.sort()
        x = np.array([p[0] for p in points])
        mean = np.array([p[1] for p in points])
        half = np.array([p[2] for p in points])
        color = palette[name]
        ax.plot(x, mean, marker="o", color=color, linewidth=1.6, markersize=4, label=name,
                gid=f"line:{name}")
        if np.isfinite(half).any():
            ax.fill_between(x, mean - half, mean + half, color=color, alpha=0.18, linewidth=0,
                            gid=f"band:{name}")
        finite = mean[np.isfinite(mean)] + np.nan_to_num(half[np.isfinite(mean)])
        if finite.size:
            top = max(top, float(finite.max()))
    thousands(ax.yaxis, top)
    if is_count(metric):
        ax.yaxis.set_major_locator(integer_ticks())




def _label(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)
