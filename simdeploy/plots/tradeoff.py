"""The strategies on a trade-off plane of two costs, with the Pareto front.

Each strategy is a point at its mean over replications (error bars: one standard deviation),
labelled with its name where the label overlaps no other label or marker. The Pareto front
joins the strategies no other strategy beats on both costs. By default the plane is the
capacity a strategy holds (extra *scheduled* pod-seconds: Pending pods hold no node) against
the users who saw an error; when the scenario prices pods, the extra cost is read off a second
axis along the top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from simdeploy.plots._labels import place_labels
from simdeploy.plots._style import (
    AXIS_LABELS,
    NotebookFigure,
    format_value,
    integer_ticks,
    is_count,
    note,
    plain,
    strategy_colors,
    thousands,
)
from simdeploy.plots._table import axis_label, replication_note, strategy_stats, with_outcomes

__all__ = ["plot_tradeoff"]


def plot_tradeoff(
    table: pd.DataFrame,
    x: str = "extra_scheduled_pod_seconds",
    y: str = "users_with_errors",
    *,
    title: str | None = None,
) -> Figure:
    """Draw each strategy as a point on two costs, with the Pareto front.

    A point is the strategy's mean over replications (error bars: one standard deviation,
    when replicated), in the strategy's own colour (:func:`~simdeploy.plots.strategy_colors`)
    and labelled with its name; labels are placed so that none overlaps another label or a
    marker, with a leader line when one has to stand away from its point. The Pareto front
    joins the strategies that no other strategy matches or beats on both costs (lower is
    better on both axes), drawn as a step line: everything above and to the right of it is
    dominated. Strategies whose mean is missing on either axis (say, a duration that never
    ended) cannot be placed; they are named under the plot. When ``x`` is the extra scheduled
    pod-seconds and the table's ``extra_cost`` is not zero (the scenario prices pods), a
    second axis along the top reads the cost. Names are drawn as written, never as mathtext.

    Args:
        table: one row per strategy × replication, as :func:`simdeploy.compare` returns.
        x: the column on the horizontal axis (``"extra_cost"`` puts the cost there).
        y: the column on the vertical axis.
        title: the first title line; None writes "Trade-off: <y> vs <x>".

    Returns:
        A figure with one axes (the cost axis, when drawn, is its child, gid ``cost-axis``).

    Raises:
        ValueError: the table is empty or lacks ``strategy``, ``x`` or ``y``.
    """
    if table.empty:
        raise ValueError("the table is empty: nothing to compare")
    sx = strategy_stats(table, x)
    sy = strategy_stats(table, y)
    names = list(sx.index)
    palette = strategy_colors(names)
    replicated = int(sx["runs"].max()) > 1

    fig = NotebookFigure(figsize=(8.5, 6.5), layout="constrained")
    ax = fig.subplots()
    x_label, y_label = axis_label(x), axis_label(y)
    if title is None:
        title = f"Trade-off: {y_label.split(' (')[0]} vs {x_label.split(' (')[0]}"
    plain(
        fig.suptitle(
            f"{title}\n{replication_note(table, 'points')} · lower-left is better", fontsize=11
        )
    )

    mx, my = sx["mean"].to_numpy(dtype=float), sy["mean"].to_numpy(dtype=float)
    ex = sx["std"].fillna(0).to_numpy(dtype=float)
    ey = sy["std"].fillna(0).to_numpy(dtype=float)
    placed = np.isfinite(mx) & np.isfinite(my)
    avoid: list[np.ndarray] = []
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
            color=palette[name],
            markeredgecolor="#222222",
            ecolor=palette[name],
            elinewidth=1.2,
            capsize=4,
            zorder=3,
        )
        drawn.lines[0].set_gid(f"point:{name}")
        for bars in drawn.lines[2]:
            avoid += [np.asarray(s) for s in bars.get_segments()]

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
        avoid.append(np.column_stack([np.repeat(fx, 2)[1:], np.repeat(fy, 2)[:-1]]))
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
        plain(
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
        )
    plain(ax.set_xlabel(x_label), ax.set_ylabel(y_label))
    for axis, column, values in ((ax.xaxis, x, mx), (ax.yaxis, y, my)):
        thousands(axis, float(np.nanmax(np.abs(values), initial=0.0)))
        if is_count(column):
            axis.set_major_locator(integer_ticks())
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    if x == "extra_scheduled_pod_seconds":
        _cost_axis(ax, table)

    shown = [i for i in range(len(names)) if placed[i]]
    place_labels(
        ax,
        [(mx[i], my[i]) for i in shown],
        [with_outcomes(table, names[i]).replace("\n", " ") for i in shown],
        [f"label:{names[i]}" for i in shown],
        lines=avoid,
    )
    return fig


def _cost_axis(ax: Axes, table: pd.DataFrame) -> None:
    """The extra cost along the top, when it is a fixed price per scheduled pod-second."""
    if "extra_cost" not in table.columns:
        return
    seconds = pd.to_numeric(table["extra_scheduled_pod_seconds"], errors="coerce")
    cost = pd.to_numeric(table["extra_cost"], errors="coerce")
    known = seconds.notna() & cost.notna()
    seconds, cost = seconds[known].to_numpy(float), cost[known].to_numpy(float)
    priced = seconds > 0
    if not priced.any() or not (cost != 0).any() or (cost[~priced] != 0).any():
        return
    rates = cost[priced] / seconds[priced]
    rate = float(np.median(rates))
    if rate <= 0 or not np.allclose(rates, rate, rtol=1e-6, atol=0):
        return  # not one price (tables of several scenarios): no single axis can read it
    top = ax.secondary_xaxis("top", functions=(lambda s: s * rate, lambda c: c / rate))
    top.set_xlabel(AXIS_LABELS["extra_cost"], fontsize=9)
    top.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v)))
    top.tick_params(labelsize=8)
    top.set_gid("cost-axis")


def _pareto_mask(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """True where no other point is at least as good on both and better on one (minimise)."""
    mask = np.ones(len(xs), dtype=bool)
    for i in range(len(xs)):
        no_worse = (xs <= xs[i]) & (ys <= ys[i])
        better = (xs < xs[i]) | (ys < ys[i])
        mask[i] = not (no_worse & better).any()
    return mask


def _limits(means: np.ndarray, errors: np.ndarray, right_room: float) -> tuple[float, float]:
    """Axis limits that include 0 (costs are read against none) and every error bar."""
    lo = min(0.0, float(np.min(means - errors)))
    hi = max(0.0, float(np.max(means + errors)))
    if hi <= lo:  # every value is 0: show 0 to 1 rather than a span of nothing
        hi = lo + 1.0
    span = hi - lo
    return lo - 0.06 * span, hi + right_room * span
