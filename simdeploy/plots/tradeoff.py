"""The strategies on a trade-off plane of two costs, with the Pareto front.

Each strategy is a point at its mean over replications (error bars: one standard deviation;
a shaded box: the Student-t intervals of the two means), labelled with its name where the
label overlaps no other label or marker. The Pareto front joins the strategies no other
strategy beats on both costs; a point whose box overlaps the box of a point on the front on
both axes is ringed: the replications cannot tell the two apart, so "on the front" or "off
it" is not settled for that pair. By default the plane is the
capacity a strategy holds (extra *scheduled* pod-seconds: Pending pods hold no node) against
the users who saw an error; when the scenario prices pods, the extra cost is read off a second
axis along the top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
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
from simdeploy.statistics import t_interval

__all__ = ["plot_tradeoff"]


def plot_tradeoff(
    table: pd.DataFrame,
    x: str = "extra_scheduled_pod_seconds",
    y: str = "users_with_errors",
    *,
    title: str | None = None,
    level: float = 0.95,
) -> Figure:
    """Draw each strategy as a point on two costs, with the Pareto front.

    A point is the strategy's mean over replications (error bars: one standard deviation,
    when replicated), in the strategy's own colour (:func:`~simdeploy.plots.strategy_colors`)
    and labelled with its name; labels are placed so that none overlaps another label or a
    marker, with a leader line when one has to stand away from its point. The Pareto front
    joins the strategies that no other strategy matches or beats on both costs (lower is
    better on both axes), drawn as a step line: everything above and to the right of it is
    dominated. Strategies whose mean is missing on either axis (say, a duration that never
    ended) cannot be placed; they are named under the plot.

    With replications, a shaded box in the strategy's colour spans the t-interval of the mean
    at ``level`` on each axis (:func:`simdeploy.statistics.t_interval`: the uncertainty of the
    point itself, which shrinks with more replications, unlike the error bars' spread of the
    runs). A point whose box overlaps, on both axes, the box of another point that is on the
    Pareto front is ringed in red dots: the two cannot be told apart at ``level``. The boxes
    are per-strategy intervals, which ignore that strategies share their random numbers seed
    by seed; the paired differences of :func:`simdeploy.summarize` are sharper, so a ringed
    pair may still differ significantly there, while an unringed pair differs here too.

    When ``x`` is the extra scheduled
    pod-seconds and the table's ``extra_cost`` is not zero (the scenario prices pods), a
    second axis along the top reads the cost. Names are drawn as written, never as mathtext.

    Args:
        table: one row per strategy × replication, as :func:`simdeploy.compare` returns.
        x: the column on the horizontal axis (``"extra_cost"`` puts the cost there).
        y: the column on the vertical axis.
        title: the first title line; None writes "Trade-off: <y> vs <x>".
        level: the confidence level of the boxes.

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
    boxes = f" · boxes: {100 * level:.10g} % t-intervals" if replicated else ""
    plain(
        fig.suptitle(
            f"{title}\n{replication_note(table, 'points')}{boxes} · lower-left is better",
            fontsize=11,
        )
    )

    mx, my = sx["mean"].to_numpy(dtype=float), sy["mean"].to_numpy(dtype=float)
    ex = sx["std"].fillna(0).to_numpy(dtype=float)
    ey = sy["std"].fillna(0).to_numpy(dtype=float)
    hx, hy = _half_widths(table, x, names, level), _half_widths(table, y, names, level)
    placed = np.isfinite(mx) & np.isfinite(my)
    boxed = placed & np.isfinite(hx) & np.isfinite(hy)
    avoid: list[np.ndarray] = []
    for i, name in enumerate(names):
        if not placed[i]:
            continue
        if boxed[i]:
            ax.add_patch(
                Rectangle(
                    (mx[i] - hx[i], my[i] - hy[i]),
                    2 * hx[i],
                    2 * hy[i],
                    facecolor=to_rgba(palette[name], 0.18),
                    edgecolor=palette[name],
                    linewidth=1.0,
                    zorder=1,
                    gid=f"interval:{name}",
                )
            )
            x0, x1, y0, y1 = mx[i] - hx[i], mx[i] + hx[i], my[i] - hy[i], my[i] + hy[i]
            avoid.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]))
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
        handles = [front_handle]
        if boxed.any():
            handles.append(
                Patch(
                    facecolor="#999999",
                    alpha=0.35,
                    edgecolor="#666666",
                    label=f"{100 * level:.10g} % t-interval of the mean",
                )
            )
        close = _indistinguishable(mx, my, hx, hy, boxed, np.flatnonzero(placed)[front])
        if close.any():
            ax.scatter(
                mx[close],
                my[close],
                s=430,
                facecolors="none",
                edgecolors="#C00000",
                linewidths=1.3,
                linestyles=":",
                zorder=2,
                gid="indistinguishable-points",
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker="o",
                    markersize=14,
                    markerfacecolor="none",
                    markeredgecolor="#C00000",
                    label="not distinguishable from a point\non the front (boxes overlap)",
                )
            )
        spread_x = np.fmax(ex, np.nan_to_num(hx)) if replicated else 0 * mx
        spread_y = np.fmax(ey, np.nan_to_num(hy)) if replicated else 0 * my
        ax.set_xlim(*_limits(px, spread_x[placed], 0.22))
        ax.set_ylim(*_limits(py, spread_y[placed], 0.12))
        ax.legend(handles=handles, loc="upper right", fontsize=9, framealpha=0.9)
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


def _half_widths(table: pd.DataFrame, column: str, names: list[str], level: float) -> np.ndarray:
    """Each strategy's t-interval half-width of ``column`` (NaN with fewer than two values)."""
    strategies = table["strategy"].astype(str)
    values = pd.to_numeric(table[column], errors="coerce").astype(float)
    return np.array([t_interval(values[strategies == name].to_numpy(), level)[1]
                     for name in names])


def _indistinguishable(mx: np.ndarray, my: np.ndarray, hx: np.ndarray, hy: np.ndarray,
                       boxed: np.ndarray, front: np.ndarray) -> np.ndarray:
    """True for each boxed point whose box overlaps, on both axes, that of another front point."""
    close = np.zeros(len(mx), dtype=bool)
    for i in np.flatnonzero(boxed):
        for j in front:
            overlap_x = abs(mx[i] - mx[j]) <= hx[i] + hx[j]
            overlap_y = abs(my[i] - my[j]) <= hy[i] + hy[j]
            if j != i and boxed[j] and overlap_x and overlap_y:
                close[i] = True
    return close


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
