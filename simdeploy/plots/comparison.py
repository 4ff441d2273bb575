"""The strategies side by side, and on a trade-off plane of two costs.

Bars are means over replications with one-standard-deviation error bars when a strategy has
several; the trade-off map marks the Pareto front (no other strategy lower on both axes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simdeploy.plots._style import (
    AXIS_LABELS,
    COUNT_COLUMNS,
    STRATEGY_COLORS,
    NotebookFigure,
    format_value,
    integer_ticks,
    note,
    thousands,
)

__all__ = ["COMPARISON_METRICS", "plot_comparison", "plot_tradeoff"]


COMPARISON_METRICS = (
    ("downtime_s", "downtime", "seconds"),
    ("extra_pod_seconds", "extra pod-seconds", "pod·s above replicas"),
    ("peak_pods", "peak pods", "pods"),
    ("requests_failed", "requests failed", "requests"),
    ("users_exposed_new", "users exposed to the new version", "users"),
    ("users_with_errors", "users with errors", "users"),
    ("rollout_duration_s", "rollout duration", "seconds"),
)
"""The panels of :func:`plot_comparison`: (summary key, title, unit on the y axis)."""


def plot_comparison(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Draw the strategies side by side, one bar chart per cost.

    The panels are those of :data:`COMPARISON_METRICS`. Strategies keep the table's order;
    each bar is the mean over the strategy's replications, with its value written above it,
    and error bars (one standard deviation) appear when a strategy has more than one
    replication. Runs without a value (a rollout that never finished has no duration) are
    left out of the mean and said so: "did not finish" where no run has a value, "k/n
    finished" where some have.

    Args:
        table: one row per strategy × replication, as :func:`simdeploy.compare` returns.
        title: the first title line, e.g. the scenario's name; None writes "Strategies
            compared" (on the ``scenario`` column's value when the table has one).

    Returns:
        A figure with one axes per metric.

    Raises:
        ValueError: the table is empty or lacks a column the panels need.
    """
    if table.empty:
        raise ValueError("the table is empty: nothing to compare")
    names = list(pd.unique(table["strategy"].astype(str))) if "strategy" in table else []
    colors = _strategy_colors(names)
    replicated = table.groupby(table["strategy"].astype(str)).size().max() > 1 if names else False

    n_panels = len(COMPARISON_METRICS)
    n_cols = 4
    n_rows = -(-n_panels // n_cols)
    width = max(12.0, 1.0 + n_cols * (0.5 * len(names) + 1.2))
    fig = NotebookFigure(figsize=(width, 4.0 * n_rows), layout="constrained")
    grid = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax in grid.flat[n_panels:]:
        fig.delaxes(ax)
    if title is None:
        title = "Strategies compared"
        if "scenario" in table.columns and table["scenario"].nunique() == 1:
            title += f" on {table['scenario'].iloc[0]}"
    fig.suptitle(f"{title}\n{_replication_note(table, 'bars')}", fontsize=14)

    positions = np.arange(len(names))
    tick_labels = [_with_outcomes(table, name) for name in names]
    long_names = max((len(n) for n in names), default=0) > 7
    for ax, (column, name, unit) in zip(grid.flat, COMPARISON_METRICS):
        stats = _strategy_stats(table, column)
        means = stats["mean"].to_numpy(dtype=float)
        errors = stats["std"].fillna(0).to_numpy(dtype=float)
        heights = np.nan_to_num(means, nan=0.0)
        ax.bar(
            positions,
            heights,
            color=colors,
            edgecolor="#333333",
            linewidth=0.6,
            yerr=errors if replicated else None,
            capsize=4 if replicated else 0,
            error_kw={"elinewidth": 1.0, "ecolor": "#222222"},
            gid=f"bars:{column}",
        )
        tops = heights + (errors if replicated else 0)
        span = max(float(np.nanmax(tops)) if len(tops) else 0.0, 1e-9)
        for pos, mean, top, (_, row) in zip(positions, means, tops, stats.iterrows()):
            if np.isnan(mean):
                missing = "did not finish" if column == "rollout_duration_s" else "no value"
                ax.text(
                    pos,
                    0.02 * span if span > 1e-9 else 0.02,
                    missing,
                    rotation=90,
                    ha="center",
                    va="bottom",
                    fontsize=10,
                    color="#C00000",
                    gid="missing-note",
                )
                continue
            label = format_value(mean)
            if row["missing"]:
                label += f"\n{int(row['runs'] - row['missing'])}/{int(row['runs'])} finished"
            ax.text(
                pos,
                top + 0.02 * span,
                label,
                ha="center",
                va="bottom",
                fontsize=10,
                gid="value-label",
            )
        ax.set_ylim(0, span * 1.22 if span > 1e-9 else 1.0)
        thousands(ax.yaxis, span)
        if column in COUNT_COLUMNS:
            ax.yaxis.set_major_locator(integer_ticks())
        ax.set_title(name, fontsize=12)
        ax.set_ylabel(unit, fontsize=11)
        ax.set_xticks(positions)
        ax.set_xticklabels(
            tick_labels,
            rotation=30 if long_names else 0,
            ha="right" if long_names else "center",
            fontsize=10,
        )
        ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    return fig


def _strategy_stats(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per strategy in table order: mean and standard deviation of the non-missing values,
    runs, and runs without a value."""
    if "strategy" not in table.columns:
        raise ValueError("the table needs a 'strategy' column (as compare() returns)")
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
    return stats.reindex(pd.unique(strategies))


def _strategy_colors(names: Sequence[str]) -> list[str]:
    return [STRATEGY_COLORS[i % len(STRATEGY_COLORS)] for i in range(len(names))]


def _replication_note(table: pd.DataFrame, shape: str) -> str:
    runs = table.groupby(table["strategy"].astype(str), sort=False).size()
    if runs.max() <= 1:
        seeds = sorted(pd.unique(table["seed"])) if "seed" in table.columns else []
        return (
            f"one run per strategy (seed {seeds[0]})" if len(seeds) == 1 else "one run per strategy"
        )
    n = int(runs.min()) if runs.min() == runs.max() else f"{runs.min()}–{runs.max()}"
    return f"{shape}: mean of {n} replications · error bars: ±1 standard deviation"


def _with_outcomes(table: pd.DataFrame, name: str) -> str:
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


def plot_tradeoff(
    table: pd.DataFrame,
    x: str = "extra_pod_seconds",
    y: str = "users_with_errors",
    *,
    title: str | None = None,
) -> Figure:
    """Draw each strategy as a point on two costs, with the Pareto front.

    A point is the strategy's mean over replications (error bars: one standard deviation,
    when replicated), labelled with its name. The Pareto front joins the strategies that no
    other strategy matches or beats on both costs (lower is better on both axes), drawn as a
    step line: everything above and to the right of it is dominated. Strategies whose mean
    is missing on either axis (say, a duration that never ended) cannot be placed; they are
    named under the plot.

    Args:
        table: one row per strategy × replication, as :func:`simdeploy.compare` returns.
        x: the column on the horizontal axis.
        y: the column on the vertical axis.
        title: the first title line; None writes "Trade-off: <y> vs <x>".

    Returns:
        A figure with one axes.

    Raises:
        ValueError: the table is empty or lacks ``strategy``, ``x`` or ``y``.
    """
    if table.empty:
        raise ValueError("the table is empty: nothing to compare")
    sx = _strategy_stats(table, x)
    sy = _strategy_stats(table, y)
    names = list(sx.index)
    colors = _strategy_colors(names)
    replicated = int(sx["runs"].max()) > 1

    fig = NotebookFigure(figsize=(8.5, 6.5), layout="constrained")
    ax = fig.subplots()
    x_label, y_label = _axis_label(x), _axis_label(y)
    if title is None:
        title = f"Trade-off: {y_label.split(' (')[0]} vs {x_label.split(' (')[0]}"
    fig.suptitle(
        f"{title}\n{_replication_note(table, 'points')} · lower-left is better", fontsize=11
    )

    mx, my = sx["mean"].to_numpy(dtype=float), sy["mean"].to_numpy(dtype=float)
    ex = sx["std"].fillna(0).to_numpy(dtype=float)
    ey = sy["std"].fillna(0).to_numpy(dtype=float)
    placed = np.isfinite(mx) & np.isfinite(my)
    for i, name in enumerate(names):
        if not placed[i]:
            continue
        drawn = ax.errorbar(
            mx[i],
            my[i],
            xerr=ex[i] if replicated else None,
            yerr=ey[i] if replicated else None,
            fmt="o",
            markersize=9,
            color=colors[i],
            markeredgecolor="#222222",
            ecolor=colors[i],
            elinewidth=1.2,
            capsize=4,
            zorder=3,
        )
        drawn.lines[0].set_gid(f"point:{name}")
        ax.annotate(
            _with_outcomes(table, name).replace("\n", " "),
            (mx[i], my[i]),
            xytext=(9, 7),
            textcoords="offset points",
            fontsize=10,
            gid=f"label:{name}",
        )

    if placed.any():
        px, py = mx[placed], my[placed]
        front = _pareto_mask(px, py)
        order = np.lexsort((py[front], px[front]))
        fx, fy = px[front][order], py[front][order]
        ax.step(
            fx,
            fy,
            where="post",
            color="#444444",
            linestyle="--",
            linewidth=1.2,
            zorder=2,
            gid="pareto-front",
        )
        ax.scatter(
            fx,
            fy,
            s=260,
            facecolors="none",
            edgecolors="#444444",
            linewidths=1.0,
            zorder=2,
            gid="pareto-points",
        )
        front_handle = Line2D(
            [],
            [],
            color="#444444",
            linestyle="--",
            linewidth=1.2,
            marker="o",
            markersize=12,
            markerfacecolor="none",
            label="Pareto front: no other strategy\nis lower on both axes",
        )
        ax.set_xlim(*_limits(px, ex[placed] if replicated else 0 * px, 0.22))
        ax.set_ylim(*_limits(py, ey[placed] if replicated else 0 * py, 0.12))
        ax.legend(handles=[front_handle], loc="upper right", fontsize=9, framealpha=0.9)
    else:
        note(ax, "no strategy has a value on both axes")
    missing = [n for n, ok in zip(names, placed) if not ok]
    if missing:
        reason = "did not finish" if "rollout_duration_s" in (x, y) else "no value"
        ax.text(
            0.0,
            -0.13,
            f"not shown ({reason}): {', '.join(missing)}",
            transform=ax.transAxes,
            fontsize=9,
            color="#C00000",
            va="top",
            gid="missing-note",
        )
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    thousands(ax.xaxis, float(np.nanmax(np.abs(mx), initial=0.0)))
    thousands(ax.yaxis, float(np.nanmax(np.abs(my), initial=0.0)))
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig


def _pareto_mask(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """True where no other point is at least as good on both and better on one (minimise)."""
    mask = np.ones(len(xs), dtype=bool)
    for i in range(len(xs)):
        no_worse = (xs <= xs[i]) & (ys <= ys[i])
        better = (xs < xs[i]) | (ys < ys[i])
        mask[i] = not (no_worse & better).any()
    return mask


def _axis_label(column: str) -> str:
    if column in AXIS_LABELS:
        return AXIS_LABELS[column]
    name = column.replace("_", " ")
    for suffix, unit in (("_ms", "ms"), ("_s", "s"), ("_seconds", "s")):
        if column.endswith(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    return name


def _limits(means: np.ndarray, errors: np.ndarray, right_room: float) -> tuple[float, float]:
    """Axis limits that include 0 (costs are read against none) and every error bar."""
    lo = min(0.0, float(np.min(means - errors)))
    hi = max(0.0, float(np.max(means + errors)))
    span = hi - lo if hi > lo else 1.0
    return lo - 0.06 * span, hi + right_room * span
