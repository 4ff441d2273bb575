"""The figure of a detection study: how often a bad release is caught, and a good one aborted.

:func:`plot_detection` reads the table :func:`simdeploy.detection` returns. The left panel
puts P(catch) (the bad release's abort rate) and P(false abort) (the good release's) against
the varied knob, each with its Wilson interval as error bars, so the knob value that catches
enough without crying wolf can be read off; the right panel shows how long catching took
(the mean ``detected_s`` of the aborted runs). Knob values that are not all numbers are
placed one after the other, in the table's order; a study without a knob is one point.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from simdeploy.detection import _label, knob_columns
from simdeploy.plots._style import NotebookFigure, escape_math, plain
from simdeploy.sweep import value_key

__all__ = ["RELEASE_COLORS", "plot_detection"]

RELEASE_COLORS = {"bad": "#D55E00", "good": "#009E73"}
"""Vermillion for the bad release (what should be caught), bluish green for the good one."""

_SERIES = {"bad": ("P(catch): bad release aborted", "o"),
           "good": ("P(false abort): good release aborted", "s")}


def plot_detection(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Draw P(catch) and P(false abort) against the knob, and the time to detect.

    Args:
        table: a detection table (:func:`simdeploy.detection`).
        title: the first title line; None writes "Detection".

    Returns:
        A figure of two panels: the abort rates with Wilson-interval error bars, and the
        mean time from the new version's first response to the abort.

    Raises:
        ValueError: not a detection table, or an empty one.
    """
    knobs = knob_columns(table)
    if table.empty:
        raise ValueError("the table is empty: nothing to draw")
    knob = knobs[0] if knobs else None
    values = list(table[knob]) if knob is not None else [None] * len(table)
    xs, ticks = _positions(values)
    dodge = 0.0 if ticks is None else 0.06  # categories: bad and good side by side

    fig = NotebookFigure(figsize=(11.0, 4.4), layout="constrained")
    rates, delays = fig.subplots(1, 2)
    drew_delay = False
    for offset, release in zip((-dodge, dodge), ("bad", "good")):
        rows = table[table["release"].astype(str) == release]
        if rows.empty:
            continue
        x = np.array([xs[value_key(v)] for v in (rows[knob] if knob else [None] * len(rows))])
        x = x + offset
        p = rows["p_abort"].to_numpy(float)
        below = np.clip(p - rows["p_abort_lo"].to_numpy(float), 0, None)
        above = np.clip(rows["p_abort_hi"].to_numpy(float) - p, 0, None)
        order = np.argsort(x, kind="stable")
        label, marker = _SERIES[release]
        color = RELEASE_COLORS[release]
        rates.errorbar(x[order], p[order], yerr=[below[order], above[order]], color=color,
                       marker=marker, markersize=6, linewidth=1.6, capsize=4, label=label,
                       gid=f"rate:{release}", linestyle="-" if len(x) > 1 else "none")
        detect = rows["detect_s_mean"].to_numpy(float)
        if np.isfinite(detect).any():
            drew_delay = True
            delays.plot(x[order], detect[order], color=color, marker=marker, markersize=6,
                        linewidth=1.6, label=f"{release} release", gid=f"detect:{release}",
                        linestyle="-" if len(x) > 1 else "none")
    rates.set_ylim(-0.03, 1.03)
    rates.yaxis.set_major_formatter(PercentFormatter(1.0))
    rates.set_ylabel("runs aborted (share)", fontsize=10)
    rates.axhline(0.95, color="#999999", linewidth=0.8, linestyle=":", gid="target:catch")
    rates.axhline(0.05, color="#999999", linewidth=0.8, linestyle=":", gid="target:false")
    rates.legend(loc="best", fontsize=9)
    plain(rates.set_title("how often the rollout is aborted", fontsize=11))
    delays.set_ylabel("time to detect, mean over aborted runs (s)", fontsize=10)
    delays.set_ylim(bottom=0)
    plain(delays.set_title("first response of the new version → abort", fontsize=11))
    if drew_delay:
        delays.legend(loc="best", fontsize=9)
    else:
        delays.text(0.5, 0.5, "no run was aborted", transform=delays.transAxes, ha="center",
                    va="center", fontsize=10, color="#555555", gid="note")
    for ax in (rates, delays):
        if ticks is not None:
            ax.set_xticks(range(len(ticks)))
            ax.set_xticklabels([escape_math(t) for t in ticks], usetex=False)
            ax.set_xlim(-0.5, len(ticks) - 0.5)
        if knob is not None:
            plain(ax.set_xlabel(knob, fontsize=10))
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    runs = table["runs"].astype(int)
    counted = (f"{int(runs.min())} runs per release" if runs.min() == runs.max()
               else f"{int(runs.min())}–{int(runs.max())} runs per release")
    note = f"{counted} · error bars: Wilson score intervals · dotted: 95 % and 5 %"
    plain(fig.suptitle(f"{title or 'Detection'}\n{note}", fontsize=13))
    return fig


def _positions(values: list[Any]) -> tuple[dict[Any, float], list[str] | None]:
    """x of each knob value: itself when all are numbers, else its place in the table."""
    unique: list[Any] = []
    seen: set[Any] = set()
    for value in values:
        if value_key(value) not in seen:
            seen.add(value_key(value))
            unique.append(value)
    numeric = all(isinstance(v, (int, float, np.integer, np.floating))
                  and not isinstance(v, (bool, np.bool_)) and math.isfinite(float(v))
                  for v in unique)
    if numeric:
        return {value_key(v): float(v) for v in unique}, None
    labels = ["this scenario" if v is None else _label(v) for v in unique]
    return {value_key(v): float(i) for i, v in enumerate(unique)}, labels

