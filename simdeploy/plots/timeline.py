"""The timeline of one run: what the rollout looked like, second by second.

Pods per version (Pending and Terminating shaded apart, because they count against capacity
without serving), the endpoints the load balancer routes to (its lagged view: where the
termination race lives), the traffic share, failed requests per second and p99 latency, with
the rollout's events drawn on every panel so cause and effect line up in time. Scenario,
strategy and version names are drawn as written, never parsed as mathtext.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from simdeploy.plots._style import (
    NotebookFigure,
    integer_ticks,
    note,
    plain,
    version_color,
)
from simdeploy.results import RunResult

__all__ = ["plot_timeline"]


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

    fig = NotebookFigure(figsize=(11, 12.5), layout="constrained")
    axes = fig.subplots(5, 1, sharex=True, height_ratios=[1.4, 1, 1, 1, 1])
    plain(
        fig.suptitle(
            f"{result.scenario} · {result.strategy} · seed {result.seed} · outcome: {outcome}",
            fontsize=13,
            fontweight="bold",
        )
    )
    ax_pods, ax_endpoints, ax_share, ax_failed, ax_latency = axes

    if len(times):
        _draw_pods(
            ax_pods,
            timeline,
            versions,
            times,
            interval,
            result.summary.get("baseline_pods"),
            bool((events["kind"] == "restart").any()),
        )
        _draw_endpoints(ax_endpoints, timeline, versions, times, interval)
        _draw_share(ax_share, timeline, versions, times, interval)
        _draw_failed(ax_failed, timeline, versions, times, interval)
        _draw_latency(ax_latency, timeline, versions, times, interval)
        window = xlim if xlim is not None else _rollout_window(timeline, events, times, interval)
    else:
        for ax in axes:
            note(ax, "no samples in this run")
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


def _interval_s(times: np.ndarray) -> float:
    """The sample interval, from the spacing of the sample times (1 s when there is one)."""
    if len(times) < 2:
        return 1.0
    return float(np.median(np.diff(times)))


def _wide(
    timeline: pd.DataFrame, column: str, versions: Sequence[str], times: np.ndarray
) -> pd.DataFrame:
    """``column`` as a time × version frame, versions in release order."""
    frame = timeline[["time_s", "version", column]].copy()
    frame["version"] = frame["version"].astype(str)
    wide = frame.set_index(["time_s", "version"])[column].unstack("version")
    return wide.reindex(index=times, columns=list(versions))


def _steps(times: np.ndarray, interval: float, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y for a ``post`` step drawing that also shows the last interval."""
    x = np.append(times, times[-1] + interval)
    y = np.append(values, values[-1])
    return x, y


def _draw_pods(
    ax: Axes,
    timeline: pd.DataFrame,
    versions: Sequence[str],
    times: np.ndarray,
    interval: float,
    baseline: Any,
    restarts: bool,
) -> None:
    """Stacked areas: per version, pods that are scheduled and not terminating, then Pending,
    then Terminating; the top of the stack is every pod that exists."""
    pods = _wide(timeline, "pods", versions, times).fillna(0).to_numpy(dtype=float)
    pending = _wide(timeline, "pending", versions, times).fillna(0).to_numpy(dtype=float)
    terminating = _wide(timeline, "terminating", versions, times).fillna(0).to_numpy(dtype=float)
    running = pods - pending - terminating
    bottom = np.zeros(len(times))
    handles = []
    for i, version in enumerate(versions):
        color = version_color(i)
        layers = (
            ("scheduled", running[:, i], {"alpha": 0.85}),
            ("Pending", pending[:, i], {"alpha": 0.25, "hatch": "..", "edgecolor": color}),
            (
                "Terminating",
                terminating[:, i],
                {"alpha": 0.35, "hatch": "////", "edgecolor": color},
            ),
        )
        for state, values, style in layers:
            top = bottom + values
            x, y_low = _steps(times, interval, bottom)
            _, y_high = _steps(times, interval, top)
            ax.fill_between(
                x,
                y_low,
                y_high,
                step="post",
                facecolor=color,
                linewidth=0,
                gid=f"pods:{version}:{state}",
                **style,
            )
            bottom = top
            if state == "scheduled" or values.any():
                handles.append(
                    Patch(
                        facecolor=color,
                        edgecolor=style.get("edgecolor", color),
                        alpha=style["alpha"],
                        hatch=style.get("hatch"),
                        label=f"{version} {state}",
                    )
                )
    x, total = _steps(times, interval, bottom)
    ax.step(x, total, where="post", color="#333333", linewidth=0.8, gid="pods:total")
    handles.append(Line2D([], [], color="#333333", linewidth=0.8, label="all pods"))
    if baseline is not None:
        ax.axhline(
            float(baseline), color="#777777", linestyle="--", linewidth=0.8, gid="pods:baseline"
        )
        handles.append(
            Line2D(
                [], [], color="#777777", linestyle="--", linewidth=0.8, label="replicas (baseline)"
            )
        )
    handles.append(
        Line2D(
            [],
            [],
            color="#555555",
            marker="|",
            markersize=10,
            linestyle="none",
            label="ReplicaSet scaled (tick)",
        )
    )
    if restarts:
        handles.append(
            Line2D(
                [],
                [],
                color=_DOWNTIME_COLOR,
                marker="|",
                markersize=10,
                linestyle="none",
                label="container restarted (tick)",
            )
        )
    ax.set_ylim(bottom=0, top=max(1.0, float(bottom.max())) * 1.12)
    ax.yaxis.set_major_locator(integer_ticks())
    _plain_legend(
        ax.legend(
            handles=handles,
            labels=[h.get_label() for h in handles],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            frameon=False,
            title="pods (stacked)",
            title_fontsize=9,
        )
    )


def _draw_lines(
    ax: Axes,
    wide: pd.DataFrame,
    versions: Sequence[str],
    times: np.ndarray,
    interval: float,
    prefix: str,
) -> None:
    for i, version in enumerate(versions):
        x, y = _steps(times, interval, wide[version].to_numpy(dtype=float))
        ax.step(
            x,
            y,
            where="post",
            color=version_color(i),
            linewidth=1.3,
            label=version,
            gid=f"{prefix}:{version}",
        )


def _plain_legend(legend: Any) -> None:
    """Legend entries carry version names: draw them as written."""
    plain(*legend.get_texts(), legend.get_title())


def _unlabelled(artist: Any) -> bool:
    label = str(artist.get_label())
    return label.startswith("_child") and label[len("_child") :].isdigit()


def _version_legend(ax: Axes, title: str, extra: Sequence[Any] = ()) -> None:
    # every labelled line, even a version whose name starts with "_" (which
    # get_legend_handles_labels would take for a hidden artist)
    handles = [line for line in ax.get_lines() if line.get_gid() and not _unlabelled(line)]
    handles += list(extra)
    _plain_legend(
        ax.legend(
            handles,
            [h.get_label() for h in handles],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            frameon=False,
            title=title,
            title_fontsize=9,
        )
    )


def _draw_endpoints(
    ax: Axes, timeline: pd.DataFrame, versions: Sequence[str], times: np.ndarray, interval: float
) -> None:
    endpoints = _wide(timeline, "endpoints", versions, times).fillna(0)
    _draw_lines(ax, endpoints, versions, times, interval, "endpoints")
    x, total = _steps(times, interval, endpoints.sum(axis=1).to_numpy(dtype=float))
    ax.step(
        x,
        total,
        where="post",
        color="#333333",
        linewidth=0.8,
        linestyle="--",
        label="all versions",
        gid="endpoints:total",
    )
    ax.set_ylim(bottom=0, top=max(1.0, float(total.max())) * 1.12)
    ax.yaxis.set_major_locator(integer_ticks())
    extra = []
    if timeline["endpoints"].groupby(timeline["time_s"]).sum().eq(0).any():
        extra.append(Patch(facecolor=_DOWNTIME_COLOR, alpha=0.15, label="no endpoint (downtime)"))
    _version_legend(ax, "version", extra)


def _draw_share(
    ax: Axes, timeline: pd.DataFrame, versions: Sequence[str], times: np.ndarray, interval: float
) -> None:
    requests = _wide(timeline, "requests", versions, times).fillna(0)
    if "no_endpoint" in timeline.columns:  # those reached no pod of the version
        requests = requests - _wide(timeline, "no_endpoint", versions, times).fillna(0)
    total = requests.sum(axis=1)
    share = requests.div(total.where(total > 0), axis=0) * 100.0
    _draw_lines(ax, share, versions, times, interval, "share")
    ax.set_ylim(-3, 103)
    ax.set_yticks([0, 25, 50, 75, 100])
    if not (total > 0).any():
        note(ax, "no requests")
    _version_legend(ax, "version")


def _draw_failed(
    ax: Axes, timeline: pd.DataFrame, versions: Sequence[str], times: np.ndarray, interval: float
) -> None:
    failed = _wide(timeline, "failed", versions, times).fillna(0) / interval
    unrouted = None
    if "no_endpoint" in timeline.columns:
        unrouted = _wide(timeline, "no_endpoint", versions, times).fillna(0) / interval
        failed = failed - unrouted
    _draw_lines(ax, failed, versions, times, interval, "failed")
    peak = float(failed.to_numpy().max()) if failed.size else 0.0
    if unrouted is not None and float(unrouted.to_numpy().sum()) > 0:
        x, y = _steps(times, interval, unrouted.sum(axis=1).to_numpy(dtype=float))
        ax.step(x, y, where="post", color="#7F7F7F", linewidth=1.2, label="no endpoint",
                gid="failed:no_endpoint")
        peak = max(peak, float(y.max()))
    ax.set_ylim(bottom=0, top=max(1.0, peak * 1.12))
    if peak == 0:
        note(ax, "no failed requests")
    _version_legend(ax, "version")


def _draw_latency(
    ax: Axes, timeline: pd.DataFrame, versions: Sequence[str], times: np.ndarray, interval: float
) -> None:
    latency = _wide(timeline, "latency_p99_ms", versions, times)
    if latency.notna().to_numpy().any():
        _draw_lines(ax, latency, versions, times, interval, "latency")
        ax.set_ylim(bottom=0)
    else:
        note(ax, "no successful responses: no latency")
    _version_legend(ax, "version")


def _rollout_window(
    timeline: pd.DataFrame, events: pd.DataFrame, times: np.ndarray, interval: float
) -> tuple[float, float]:
    """From a little before the release to a little after things stop changing."""
    first, last = float(times[0]), float(times[-1]) + interval
    releases = events.loc[events["kind"] == "release", "time_s"]
    if releases.empty:
        return first, last
    start = float(releases.min())
    # the last sample whose pod or endpoint counts differ from the run's final state
    state = timeline.sort_values(["time_s", "version"])
    columns = ["pods", "pending", "ready", "terminating", "endpoints"]
    wide = state.pivot_table(
        index="time_s", columns="version", values=columns, aggfunc="first", observed=False
    ).sort_index()
    changed = (wide != wide.iloc[-1]).any(axis=1).to_numpy()
    settle = float(wide.index[np.flatnonzero(changed)[-1]]) + interval if changed.any() else start
    end = max(settle, float(events["time_s"].max()) if len(events) else start, start)
    pad = max(5.0 * interval, 0.08 * (end - start))
    return max(first, start - pad), min(last, end + pad)


def _event_label(kind: str, version: str, weight: Any) -> str:
    if kind == "release":
        return f"release {version}"
    if kind == "weight":
        return f"w={float(weight):g}%"
    if kind == "progress_deadline_exceeded":
        return "progress deadline\nexceeded"
    return kind.replace("_", " ")


def _draw_events(
    axes: Sequence[Axes], events: pd.DataFrame, versions: Sequence[str], window: tuple[float, float]
) -> None:
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
                ax.axvspan(
                    start,
                    row.time_s,
                    color=_DOWNTIME_COLOR,
                    alpha=0.15,
                    linewidth=0,
                    gid="downtime",
                )
            start = None
    if start is not None:
        for ax in axes:
            ax.axvspan(start, hi, color=_DOWNTIME_COLOR, alpha=0.15, linewidth=0, gid="downtime")

    ticks = events[events["kind"].isin(["scale", "restart"])]
    for row in ticks.itertuples(index=False):
        if row.kind == "scale":
            color = version_color(version_index.get(str(row.version), 0))
            ax_pods.axvline(
                row.time_s, ymin=0, ymax=0.08, color=color, linewidth=1.5, gid="event:scale"
            )
        else:
            ax_pods.axvline(
                row.time_s,
                ymin=0.92,
                ymax=1.0,
                color=_DOWNTIME_COLOR,
                linewidth=1.5,
                gid="event:restart",
            )

    marked = events[events["kind"].isin(list(_EVENT_STYLES))]
    for row in marked.itertuples(index=False):
        color, style, width = _EVENT_STYLES[row.kind]
        for ax in axes:
            ax.axvline(
                row.time_s,
                color=color,
                linestyle=style,
                linewidth=width,
                alpha=0.9,
                gid=f"event:{row.kind}",
                zorder=4,
            )

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
        labels = list(
            dict.fromkeys(_event_label(r.kind, str(r.version), r.weight) for r in cluster)
        )
        color = _EVENT_STYLES[cluster[0].kind][0]
        # the labels stand on end, so a long one would push the panels down: break it
        text = ", ".join(labels) if sum(map(len, labels)) <= 16 else "\n".join(labels)
        plain(
            ax_pods.text(
                cluster[0].time_s,
                1.02,
                text,
                transform=transform,
                rotation=90,
                ha="center",
                va="bottom",
                fontsize=8,
                color=color,
                gid="event-label",
            )
        )
