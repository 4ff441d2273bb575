"""Figures of one run and of a comparison: what a rollout looked like, and what it cost.

Three pictures answer the three questions people ask of a release:

* :func:`plot_timeline` shows *one run unfolding*: the pods of each version (Pending and
  Terminating shaded apart from the rest, because they count against capacity without
  serving), the endpoints the load balancer actually routes to (its lagged view, which is
  where the termination race lives), the traffic share, the failed requests per second and
  the p99 latency, with the rollout's events (release, weight changes, switch, abort, the
  outcome) drawn on every panel so cause and effect line up in time.
* :func:`plot_comparison` puts the strategies side by side, one small bar chart per cost
  (downtime, extra pod-seconds, peak pods, failed requests, users exposed, users with errors,
  rollout duration), bars at the mean over replications and error bars at one standard
  deviation when there is more than one replication.
* :func:`plot_tradeoff` puts each strategy on a plane of two costs and draws the Pareto front
  (the strategies no other strategy beats on both), so the cheap-but-risky and the
  safe-but-expensive choices are visible at once.

The functions build :class:`matplotlib.figure.Figure` objects directly and never touch
``pyplot``: library code must not change the global backend or figure registry. The figures
they return also show themselves in Jupyter (a PNG representation), whether or not the
notebook imported ``pyplot``, and save with ``fig.savefig("x.png")`` or ``"x.svg"``.

Colours are fixed: the current (old) version is always blue and the new one orange, in every
panel and every figure, and each strategy keeps its colour between the comparison and the
trade-off map when both come from the same table.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, StrMethodFormatter
from matplotlib.transforms import blended_transform_factory

from simdeploy.results import RunResult

__all__ = [
    "COMPARISON_METRICS",
    "VERSION_COLORS",
    "plot_comparison",
    "plot_timeline",
    "plot_tradeoff",
]

VERSION_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
"""Colours of the versions in release order: the current version, then the new one (Okabe-Ito)."""

_STRATEGY_COLORS = ("#56B4E9", "#009E73", "#CC79A7", "#D55E00", "#8C6D31", "#7F7F7F",
                    "#BCBD22", "#17BECF")

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

_COUNTS = frozenset({"peak_pods", "requests_failed", "users_exposed_new", "users_with_errors",
                     "requests_total", "users_total", "baseline_pods", "peak_pods_scheduled"})

_AXIS_LABELS = {
    "downtime_s": "downtime (s)",
    "requests_total": "requests (count)",
    "requests_failed": "requests failed (count)",
    "error_rate": "error rate (fraction of requests)",
    "users_total": "users (count)",
    "users_exposed_new": "users exposed to the new version (count)",
    "users_with_errors": "users with ≥ 1 failed request (count)",
    "baseline_pods": "replicas (pods)",
    "peak_pods": "peak pods (pods)",
    "extra_pod_seconds": "extra pod-seconds (pod·s)",
    "extra_cost": "extra cost (currency of podCostPerHour)",
    "rollout_duration_s": "rollout duration (s)",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p99_ms": "latency p99 (ms)",
    "peak_pods_scheduled": "peak scheduled pods (pods)",
    "extra_scheduled_pod_seconds": "extra scheduled pod-seconds (pod·s)",
}

# How each marked event is drawn: (colour, line style, line width).
_EVENT_STYLES = {
    "release": ("#000000", "-", 1.4),
    "weight": ("#555555", ":", 1.2),
    "switch": ("#6A3D9A", "--", 1.4),
    "analysis_failed": ("#C00000", ":", 1.4),
    "abort": ("#C00000", "-", 1.6),
    "undo": ("#C00000", "-", 1.6),
    "progress_deadline_exceeded": ("#8B0000", "-.", 1.6),
    "completed": ("#1B7837", "-", 1.6),
    "aborted": ("#C00000", "--", 1.6),
}
_DOWNTIME_COLOR = "#D62728"


class _NotebookFigure(Figure):
    """A Figure that also renders in Jupyter when ``pyplot``'s inline backend is not active.

    IPython shows an object as an image when its type has a registered printer (what
    ``%matplotlib inline`` or importing ``pyplot`` in a kernel sets up) or, failing that, a
    ``_repr_png_`` method. A bare :class:`~matplotlib.figure.Figure` has neither until
    ``pyplot`` is imported, so it would print as ``<Figure size ...>``.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# timeline


def plot_timeline(result: RunResult, *, xlim: tuple[float, float] | None = None) -> Figure:
    """Draw one run: pods, endpoints, traffic share, failures and p99 latency over time.

    Five panels share the time axis (seconds). Every sample is a step: pod and endpoint
    counts hold from their sample time to the next; requests, failures and latency are those
    of the interval that starts at the sample time. The rollout's events are vertical lines
    on every panel and are labelled above the first (a weight change reads ``w=25%``);
    ReplicaSet scale steps and container restarts are short ticks on the pods panel, and
    spans in which the Service had no endpoint are shaded red.

    Args:
        result: the run to draw.
        xlim: the time window in seconds. None picks the rollout: from a little before the
            release to a little after the last event or the last change of pods and
            endpoints, whichever is later; pass ``(0, scenario duration)`` for the whole run.

    Returns:
        A figure with five axes, top to bottom: pods, endpoints, traffic share, failures,
        latency.
    """
    timeline = result.timeline
    events = result.events
    versions = _versions(timeline)
    times = np.sort(pd.unique(timeline["time_s"].to_numpy(dtype=float)))
    interval = _interval_s(times)
    outcome = result.summary.get("outcome", "unknown")

    fig = _NotebookFigure(figsize=(11, 12.5), layout="constrained")
    axes = fig.subplots(5, 1, sharex=True, height_ratios=[1.4, 1, 1, 1, 1])
    fig.suptitle(f"{result.scenario} · {result.strategy} · seed {result.seed} · "
                 f"outcome: {outcome}", fontsize=13, fontweight="bold")
    ax_pods, ax_endpoints, ax_share, ax_failed, ax_latency = axes

    if len(times):
        _draw_pods(ax_pods, timeline, versions, times, interval,
                   result.summary.get("baseline_pods"), bool((events["kind"] == "restart").any()))
        _draw_endpoints(ax_endpoints, timeline, versions, times, interval)
        _draw_share(ax_share, timeline, versions, times, interval)
        _draw_failed(ax_failed, timeline, versions, times, interval)
        _draw_latency(ax_latency, timeline, versions, times, interval)
        window = xlim if xlim is not None else _rollout_window(timeline, events, times,
                                                               interval)
    else:
        for ax in axes:
            _note(ax, "no samples in this run")
        window = xlim if xlim is not None else (0.0, 1.0)
    ax_pods.set_xlim(*window)

    ax_pods.set_ylabel("pods")
    ax_endpoints.set_ylabel("ready endpoints\nin LB view (pods)")
    ax_share.set_ylabel("traffic share (%)")
    ax_failed.set_ylabel("failed requests\n(requests/s)")
    ax_latency.set_ylabel("latency p99\nper interval (ms)")
    ax_latency.set_xlabel("time since start of run (s)")
    for ax in axes:
        ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    fig.align_ylabels(axes)

    _draw_events(axes, events, versions, window)
    return fig


def _versions(timeline: pd.DataFrame) -> list[str]:
    """Version names in release order (the categorical's order: current, then new)."""
    column = timeline["version"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [str(v) for v in column.cat.categories]
    return [str(v) for v in pd.unique(column)]


def _integer_ticks() -> MaxNLocator:
    """Matplotlib's default tick choice, but never between whole pods, users or requests."""
    return MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True)


def _version_color(index: int) -> str:
    return VERSION_COLORS[index % len(VERSION_COLORS)]


def _interval_s(times: np.ndarray) -> float:
    """The sample interval, from the spacing of the sample times (1 s when there is one)."""
    if len(times) < 2:
        return 1.0
    return float(np.median(np.diff(times)))


def _wide(timeline: pd.DataFrame, column: str, versions: Sequence[str],
          times: np.ndarray) -> pd.DataFrame:
    """``column`` as a time × version frame, versions in release order."""
    frame = timeline[["time_s", "version", column]].copy()
    frame["version"] = frame["version"].astype(str)
    wide = frame.set_index(["time_s", "version"])[column].unstack("version")
    return wide.reindex(index=times, columns=list(versions))


def _steps(times: np.ndarray, interval: float, values: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """x and y for a ``post`` step drawing that also shows the last interval."""
    x = np.append(times, times[-1] + interval)
    y = np.append(values, values[-1])
    return x, y


def _draw_pods(ax: Axes, timeline: pd.DataFrame, versions: Sequence[str], times: np.ndarray,
               interval: float, baseline: Any, restarts: bool) -> None:
    """Stacked areas: per version, pods that are scheduled and not terminating, then Pending,
    then Terminating; the top of the stack is every pod that exists."""
    pods = _wide(timeline, "pods", versions, times).fillna(0).to_numpy(dtype=float)
    pending = _wide(timeline, "pending", versions, times).fillna(0).to_numpy(dtype=float)
    terminating = _wide(timeline, "terminating", versions, times).fillna(0).to_numpy(dtype=float)
    running = pods - pending - terminating
    bottom = np.zeros(len(times))
    handles = []
    for i, version in enumerate(versions):
        color = _version_color(i)
        layers = (
            ("scheduled", running[:, i], {"alpha": 0.85}),
            ("Pending", pending[:, i], {"alpha": 0.25, "hatch": "..", "edgecolor": color}),
            ("Terminating", terminating[:, i], {"alpha": 0.35, "hatch": "////",
                                                "edgecolor": color}),
        )
        for state, values, style in layers:
            top = bottom + values
            x, y_low = _steps(times, interval, bottom)
            _, y_high = _steps(times, interval, top)
            ax.fill_between(x, y_low, y_high, step="post", facecolor=color, linewidth=0,
                            gid=f"pods:{version}:{state}", **style)
            bottom = top
            if state == "scheduled" or values.any():
                handles.append(Patch(facecolor=color, edgecolor=style.get("edgecolor", color),
                                     alpha=style["alpha"], hatch=style.get("hatch"),
                                     label=f"{version} {state}"))
    x, total = _steps(times, interval, bottom)
    ax.step(x, total, where="post", color="#333333", linewidth=0.8, gid="pods:total")
    handles.append(Line2D([], [], color="#333333", linewidth=0.8, label="all pods"))
    if baseline is not None:
        ax.axhline(float(baseline), color="#777777", linestyle="--", linewidth=0.8,
                   gid="pods:baseline")
        handles.append(Line2D([], [], color="#777777", linestyle="--", linewidth=0.8,
                              label="replicas (baseline)"))
    handles.append(Line2D([], [], color="#555555", marker="|", markersize=10, linestyle="none",
                          label="ReplicaSet scaled (tick)"))
    if restarts:
        handles.append(Line2D([], [], color=_DOWNTIME_COLOR, marker="|", markersize=10,
                              linestyle="none", label="container restarted (tick)"))
    ax.set_ylim(bottom=0, top=max(1.0, float(bottom.max())) * 1.12)
    ax.yaxis.set_major_locator(_integer_ticks())
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False, title="pods (stacked)", title_fontsize=9)


def _draw_lines(ax: Axes, wide: pd.DataFrame, versions: Sequence[str], times: np.ndarray,
                interval: float, prefix: str) -> None:
    for i, version in enumerate(versions):
        x, y = _steps(times, interval, wide[version].to_numpy(dtype=float))
        ax.step(x, y, where="post", color=_version_color(i), linewidth=1.3, label=version,
                gid=f"{prefix}:{version}")


def _version_legend(ax: Axes, title: str, extra: Sequence[Any] = ()) -> None:
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, *extra], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=8, frameon=False, title=title, title_fontsize=9)


def _draw_endpoints(ax: Axes, timeline: pd.DataFrame, versions: Sequence[str],
                    times: np.ndarray, interval: float) -> None:
    endpoints = _wide(timeline, "endpoints", versions, times).fillna(0)
    _draw_lines(ax, endpoints, versions, times, interval, "endpoints")
    x, total = _steps(times, interval, endpoints.sum(axis=1).to_numpy(dtype=float))
    ax.step(x, total, where="post", color="#333333", linewidth=0.8, linestyle="--",
            label="all versions", gid="endpoints:total")
    ax.set_ylim(bottom=0, top=max(1.0, float(total.max())) * 1.12)
    ax.yaxis.set_major_locator(_integer_ticks())
    extra = []
    if timeline["endpoints"].groupby(timeline["time_s"]).sum().eq(0).any():
        extra.append(Patch(facecolor=_DOWNTIME_COLOR, alpha=0.15,
                           label="no endpoint (downtime)"))
    _version_legend(ax, "version", extra)


def _draw_share(ax: Axes, timeline: pd.DataFrame, versions: Sequence[str], times: np.ndarray,
                interval: float) -> None:
    requests = _wide(timeline, "requests", versions, times).fillna(0)
    total = requests.sum(axis=1)
    share = requests.div(total.where(total > 0), axis=0) * 100.0
    _draw_lines(ax, share, versions, times, interval, "share")
    ax.set_ylim(-3, 103)
    ax.set_yticks([0, 25, 50, 75, 100])
    if not (total > 0).any():
        _note(ax, "no requests")
    _version_legend(ax, "version")


def _draw_failed(ax: Axes, timeline: pd.DataFrame, versions: Sequence[str],
                 times: np.ndarray, interval: float) -> None:
    failed = _wide(timeline, "failed", versions, times).fillna(0) / interval
    _draw_lines(ax, failed, versions, times, interval, "failed")
    peak = float(failed.to_numpy().max()) if failed.size else 0.0
    ax.set_ylim(bottom=0, top=max(1.0, peak * 1.12))
    if peak == 0:
        _note(ax, "no failed requests")
    _version_legend(ax, "version")


def _draw_latency(ax: Axes, timeline: pd.DataFrame, versions: Sequence[str],
                  times: np.ndarray, interval: float) -> None:
    latency = _wide(timeline, "latency_p99_ms", versions, times)
    if latency.notna().to_numpy().any():
        _draw_lines(ax, latency, versions, times, interval, "latency")
        ax.set_ylim(bottom=0)
    else:
        _note(ax, "no successful responses: no latency")
    _version_legend(ax, "version")


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=10,
            color="#555555", gid="note")


def _rollout_window(timeline: pd.DataFrame, events: pd.DataFrame, times: np.ndarray,
                    interval: float) -> tuple[float, float]:
    """From a little before the release to a little after things stop changing."""
    first, last = float(times[0]), float(times[-1]) + interval
    releases = events.loc[events["kind"] == "release", "time_s"]
    if releases.empty:
        return first, last
    start = float(releases.min())
    # the last sample whose pod or endpoint counts differ from the run's final state
    state = timeline.sort_values(["time_s", "version"])
    columns = ["pods", "pending", "ready", "terminating", "endpoints"]
    wide = state.pivot_table(index="time_s", columns="version", values=columns,
                             aggfunc="first", observed=False).sort_index()
    changed = (wide != wide.iloc[-1]).any(axis=1).to_numpy()
    settle = float(wide.index[np.flatnonzero(changed)[-1]]) + interval if changed.any() else start
    end = max(settle, float(events["time_s"].max()) if len(events) else start, start)
    pad = max(5.0 * interval, 0.08 * (end - start))
    return max(first, start - pad), min(last, end + pad)


def _event_label(kind: str, version: str, replicas: int) -> str:
    if kind == "release":
        return f"release {version}"
    if kind == "weight":
        return f"w={replicas}%"
    if kind == "progress_deadline_exceeded":
        return "progress deadline\nexceeded"
    return kind.replace("_", " ")


def _draw_events(axes: Sequence[Axes], events: pd.DataFrame, versions: Sequence[str],
                 window: tuple[float, float]) -> None:
    """Vertical lines on every panel, labels above the first, ticks for scale and restart."""
    lo, hi = window
    ax_pods = axes[0]
    version_index = {v: i for i, v in enumerate(versions)}
    events = events.sort_values("time_s", kind="stable")

    # downtime: the Service's view had no endpoint at all
    start = None
    for row in events.itertuples(index=False):
        if row.kind == "no_endpoints" and start is None:
            start = row.time_s
        elif row.kind == "endpoints_restored" and start is not None:
            for ax in axes:
                ax.axvspan(start, row.time_s, color=_DOWNTIME_COLOR, alpha=0.15, linewidth=0,
                           gid="downtime")
            start = None
    if start is not None:
        for ax in axes:
            ax.axvspan(start, hi, color=_DOWNTIME_COLOR, alpha=0.15, linewidth=0,
                       gid="downtime")

    ticks = events[events["kind"].isin(["scale", "restart"])]
    for row in ticks.itertuples(index=False):
        if row.kind == "scale":
            color = _version_color(version_index.get(str(row.version), 0))
            ax_pods.axvline(row.time_s, ymin=0, ymax=0.08, color=color, linewidth=1.5,
                            gid="event:scale")
        else:
            ax_pods.axvline(row.time_s, ymin=0.92, ymax=1.0, color=_DOWNTIME_COLOR,
                            linewidth=1.5, gid="event:restart")

    marked = events[events["kind"].isin(list(_EVENT_STYLES))]
    for row in marked.itertuples(index=False):
        color, style, width = _EVENT_STYLES[row.kind]
        for ax in axes:
            ax.axvline(row.time_s, color=color, linestyle=style, linewidth=width, alpha=0.9,
                       gid=f"event:{row.kind}", zorder=4)

    # one label per cluster of events too close to label apart (e.g. analysis failed, abort
    # and the weight reset at the same instant)
    visible = marked[(marked["time_s"] >= lo) & (marked["time_s"] <= hi)]
    min_gap = 0.015 * (hi - lo)
    clusters: list[list[Any]] = []
    for row in visible.itertuples(index=False):
        if clusters and row.time_s - clusters[-1][0].time_s <= min_gap:
            clusters[-1].append(row)
        else:
            clusters.append([row])
    transform = blended_transform_factory(ax_pods.transData, ax_pods.transAxes)
    for cluster in clusters:
        labels = list(dict.fromkeys(_event_label(r.kind, str(r.version), int(r.replicas))
                                    for r in cluster))
        color = _EVENT_STYLES[cluster[0].kind][0]
        # the labels stand on end, so a long one would push the panels down: break it
        text = ", ".join(labels) if sum(map(len, labels)) <= 16 else "\n".join(labels)
        ax_pods.text(cluster[0].time_s, 1.02, text, transform=transform,
                     rotation=90, ha="center", va="bottom", fontsize=8, color=color,
                     gid="event-label")


# ---------------------------------------------------------------------------------------------
# comparison and trade-off


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
    stats = pd.DataFrame({
        "mean": grouped.mean(),
        "std": grouped.std(ddof=1),
        "runs": grouped.size(),
        "missing": values.isna().groupby(strategies, sort=False).sum(),
    })
    return stats.reindex(pd.unique(strategies))


def _strategy_colors(names: Sequence[str]) -> list[str]:
    return [_STRATEGY_COLORS[i % len(_STRATEGY_COLORS)] for i in range(len(names))]


def _replication_note(table: pd.DataFrame, shape: str) -> str:
    runs = table.groupby(table["strategy"].astype(str), sort=False).size()
    if runs.max() <= 1:
        seeds = sorted(pd.unique(table["seed"])) if "seed" in table.columns else []
        return f"one run per strategy (seed {seeds[0]})" if len(seeds) == 1 else \
            "one run per strategy"
    n = int(runs.min()) if runs.min() == runs.max() else f"{runs.min()}–{runs.max()}"
    return f"{shape}: mean of {n} replications · error bars: ±1 standard deviation"


def _format_value(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10 or value == 0:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


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
    replicated = table.groupby(table["strategy"].astype(str)).size().max() > 1 \
        if names else False

    n_panels = len(COMPARISON_METRICS)
    n_cols = 4
    n_rows = -(-n_panels // n_cols)
    width = max(13.0, 1.0 + n_cols * (0.55 * len(names) + 1.4))
    fig = _NotebookFigure(figsize=(width, 4.0 * n_rows), layout="constrained")
    grid = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax in grid.flat[n_panels:]:
        fig.delaxes(ax)
    if title is None:
        title = "Strategies compared"
        if "scenario" in table.columns and table["scenario"].nunique() == 1:
            title += f" on {table['scenario'].iloc[0]}"
    fig.suptitle(f"{title}\n{_replication_note(table, 'bars')}", fontsize=12)

    positions = np.arange(len(names))
    tick_labels = [_with_outcomes(table, name) for name in names]
    long_names = max((len(n) for n in names), default=0) > 7
    for ax, (column, name, unit) in zip(grid.flat, COMPARISON_METRICS):
        stats = _strategy_stats(table, column)
        means = stats["mean"].to_numpy(dtype=float)
        errors = stats["std"].fillna(0).to_numpy(dtype=float)
        heights = np.nan_to_num(means, nan=0.0)
        ax.bar(positions, heights, color=colors, edgecolor="#333333", linewidth=0.6,
               yerr=errors if replicated else None, capsize=4 if replicated else 0,
               error_kw={"elinewidth": 1.0, "ecolor": "#222222"}, gid=f"bars:{column}")
        tops = heights + (errors if replicated else 0)
        span = max(float(np.nanmax(tops)) if len(tops) else 0.0, 1e-9)
        for pos, mean, top, (_, row) in zip(positions, means, tops, stats.iterrows()):
            if np.isnan(mean):
                missing = "did not finish" if column == "rollout_duration_s" else "no value"
                ax.text(pos, 0.02 * span if span > 1e-9 else 0.02, missing, rotation=90,
                        ha="center", va="bottom", fontsize=8, color="#C00000",
                        gid="missing-note")
                continue
            label = _format_value(mean)
            if row["missing"]:
                label += f"\n{int(row['runs'] - row['missing'])}/{int(row['runs'])} finished"
            ax.text(pos, top + 0.02 * span, label, ha="center", va="bottom", fontsize=8,
                    gid="value-label")
        ax.set_ylim(0, span * 1.22 if span > 1e-9 else 1.0)
        _thousands(ax.yaxis, span)
        if column in _COUNTS:
            ax.yaxis.set_major_locator(_integer_ticks())
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(unit)
        ax.set_xticks(positions)
        ax.set_xticklabels(tick_labels, rotation=30 if long_names else 0,
                           ha="right" if long_names else "center", fontsize=9)
        ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    return fig


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


def _thousands(axis: Any, largest: float) -> None:
    """Group the digits of large tick values (50,000 rather than 50000)."""
    if largest >= 10_000:
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _pareto_mask(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """True where no other point is at least as good on both and better on one (minimise)."""
    mask = np.ones(len(xs), dtype=bool)
    for i in range(len(xs)):
        no_worse = (xs <= xs[i]) & (ys <= ys[i])
        better = (xs < xs[i]) | (ys < ys[i])
        mask[i] = not (no_worse & better).any()
    return mask


def _axis_label(column: str) -> str:
    if column in _AXIS_LABELS:
        return _AXIS_LABELS[column]
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


def plot_tradeoff(table: pd.DataFrame, x: str = "extra_pod_seconds",
                  y: str = "users_with_errors", *, title: str | None = None) -> Figure:
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

    fig = _NotebookFigure(figsize=(8.5, 6.5), layout="constrained")
    ax = fig.subplots()
    x_label, y_label = _axis_label(x), _axis_label(y)
    if title is None:
        title = f"Trade-off: {y_label.split(' (')[0]} vs {x_label.split(' (')[0]}"
    fig.suptitle(f"{title}\n{_replication_note(table, 'points')}"
                 " · lower-left is better", fontsize=11)

    mx, my = sx["mean"].to_numpy(dtype=float), sy["mean"].to_numpy(dtype=float)
    ex = sx["std"].fillna(0).to_numpy(dtype=float)
    ey = sy["std"].fillna(0).to_numpy(dtype=float)
    placed = np.isfinite(mx) & np.isfinite(my)
    for i, name in enumerate(names):
        if not placed[i]:
            continue
        drawn = ax.errorbar(mx[i], my[i], xerr=ex[i] if replicated else None,
                            yerr=ey[i] if replicated else None, fmt="o", markersize=9,
                            color=colors[i], markeredgecolor="#222222", ecolor=colors[i],
                            elinewidth=1.2, capsize=4, zorder=3)
        drawn.lines[0].set_gid(f"point:{name}")
        ax.annotate(name, (mx[i], my[i]), xytext=(9, 7), textcoords="offset points",
                    fontsize=10, gid=f"label:{name}")

    if placed.any():
        px, py = mx[placed], my[placed]
        front = _pareto_mask(px, py)
        order = np.lexsort((py[front], px[front]))
        fx, fy = px[front][order], py[front][order]
        ax.step(fx, fy, where="post", color="#444444", linestyle="--", linewidth=1.2,
                zorder=2, gid="pareto-front")
        ax.scatter(fx, fy, s=260, facecolors="none", edgecolors="#444444", linewidths=1.0,
                   zorder=2, gid="pareto-points")
        front_handle = Line2D([], [], color="#444444", linestyle="--", linewidth=1.2,
                              marker="o", markersize=12, markerfacecolor="none",
                              label="Pareto front: no other strategy\nis lower on both axes")
        ax.set_xlim(*_limits(px, ex[placed] if replicated else 0 * px, 0.22))
        ax.set_ylim(*_limits(py, ey[placed] if replicated else 0 * py, 0.12))
        ax.legend(handles=[front_handle], loc="upper right", fontsize=9, framealpha=0.9)
    else:
        _note(ax, "no strategy has a value on both axes")
    missing = [n for n, ok in zip(names, placed) if not ok]
    if missing:
        reason = "did not finish" if "rollout_duration_s" in (x, y) else "no value"
        ax.text(0.0, -0.13, f"not shown ({reason}): {', '.join(missing)}",
                transform=ax.transAxes, fontsize=9, color="#C00000", va="top",
                gid="missing-note")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    _thousands(ax.xaxis, float(np.nanmax(np.abs(mx), initial=0.0)))
    _thousands(ax.yaxis, float(np.nanmax(np.abs(my), initial=0.0)))
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig
