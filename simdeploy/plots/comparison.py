"""The strategies side by side: one bar chart per cost.

Bars are means over replications with one-standard-deviation error bars when a strategy has
several. Capacity is what the cluster actually held: peak and extra pod-seconds count
*scheduled* pods (bound to a node, holding its resources); pods that waited in Pending for
room get their own panel, because a blue-green that cannot fit its green fleet costs nothing
extra but ships nothing either. The cost of the extra pods gets a panel when the scenario
prices pods (``cluster.podCostPerHour``), i.e. when some strategy's cost is not zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

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
from simdeploy.plots._table import (
    replication_note,
    strategy_names,
    strategy_stats,
    with_outcomes,
)

__all__ = ["COMPARISON_METRICS", "COST_METRIC", "plot_comparison"]


COMPARISON_METRICS = (
    ("downtime_s", "downtime", "seconds"),
    ("extra_scheduled_pod_seconds", "extra scheduled pod-seconds", "pod·s above replicas"),
    ("peak_pods_scheduled", "peak scheduled pods", "pods"),
    ("peak_pods_pending", "peak Pending pods", "pods waiting for a node"),
    ("requests_failed", "requests failed", "requests"),
    ("users_exposed_new", "users exposed to the new version", "users"),
    ("users_with_errors", "users with errors", "users"),
    ("rollout_duration_s", "rollout duration", "seconds"),
)
"""The panels of :func:`plot_comparison` that every figure has: (summary key, title, unit on
the y axis). Capacity counts scheduled pods; Pending pods have their own panel."""


COST_METRIC = ("extra_cost", "extra cost", "currency of podCostPerHour")
"""The panel added after the extra pod-seconds when some strategy's ``extra_cost`` is not 0."""


def _panels(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    panels = list(COMPARISON_METRICS)
    column = COST_METRIC[0]
    if column in table.columns:
        cost = pd.to_numeric(table[column], errors="coerce")
        if (cost.fillna(0) != 0).any():
            at = [key for key, _, _ in panels].index("extra_scheduled_pod_seconds") + 1
            panels.insert(at, COST_METRIC)
    return panels


def plot_comparison(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Draw the strategies side by side, one bar chart per cost.

    The panels are those of :data:`COMPARISON_METRICS`, plus :data:`COST_METRIC` when some
    strategy's extra cost is not zero. Strategies keep the table's order and each keeps its
    colour by name (:func:`~simdeploy.plots.strategy_colors`); each bar is the mean over the
    strategy's replications, with its value written above it (counts as integers), and error
    bars (one standard deviation) appear when a strategy has more than one replication. Runs
    without a value (a rollout that never finished has no duration) are left out of the mean
    and said so: "did not finish" where no run has a value, "k/n finished" where some have.
    Names are drawn as written, never as mathtext.

    Args:
        table: one row per strategy × replication, as :func:`simdeploy.compare` returns.
        title: the first title line, e.g. the scenario's name; None writes "Strategies
            compared" (on the ``scenario`` column's value when the table has one).

    Returns:
        A figure with one axes per panel.

    Raises:
        ValueError: the table is empty or lacks a column the panels need.
    """
    if table.empty:
        raise ValueError("the table is empty: nothing to compare")
    names = strategy_names(table)
    palette = strategy_colors(names)
    colors = [palette[name] for name in names]
    replicated = table.groupby(table["strategy"].astype(str)).size().max() > 1
    panels = _panels(table)
    stats_by_column = {column: strategy_stats(table, column) for column, _, _ in panels}

    n_panels = len(panels)
    n_cols = 3 if n_panels % 4 and n_panels % 3 == 0 else 4
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
    plain(fig.suptitle(f"{title}\n{replication_note(table, 'bars')}", fontsize=14))

    positions = np.arange(len(names))
    tick_labels = [escape_math(with_outcomes(table, name)) for name in names]
    longest = max((len(line) for label in tick_labels for line in label.split("\n")), default=0)
    rotation = 0 if longest <= 7 else 30 if longest <= 12 else 45
    for ax, (column, name, unit) in zip(grid.flat, panels):
        stats = stats_by_column[column]
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
            label = format_value(mean, column)
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
        if is_count(column):
            ax.yaxis.set_major_locator(integer_ticks())
        elif span < 1.0:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v)))
        ax.set_title(name, fontsize=12)
        ax.set_ylabel(unit, fontsize=11)
        ax.set_xticks(positions)
        ax.set_xticklabels(
            tick_labels,
            rotation=rotation,
            ha="right" if rotation else "center",
            rotation_mode="anchor" if rotation else "default",
            fontsize=10,
            usetex=False,
        )
        ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    return fig
