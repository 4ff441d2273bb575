"""Exposure per user segment over time: who got the new version, when, and who saw failures.

:func:`plot_segment_timeline` reads ``result.segment_timeline`` (runs of a scenario with
``traffic.segments``). One column per run (strategy), two panels sharing the time axis: the
share of each segment's requests routed to the new version, and each segment's failed
requests per second, a line per segment. An interval in which a segment sent no request has
no share (a gap in its line), never a division by zero. The release is a vertical line.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simdeploy.plots._style import NotebookFigure, note, plain
from simdeploy.results import RunResult

__all__ = ["SEGMENT_COLORS", "new_share_by_interval", "plot_segment_timeline"]

SEGMENT_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
                  "#F0E442")
"""The segments' colours, in the scenario's order of ``traffic.segments`` (Okabe-Ito)."""


def new_share_by_interval(timeline: pd.DataFrame) -> pd.DataFrame:
    """Per interval (rows, ``time_s``) and segment (columns): the share, 0–1, of the segment's
    requests routed to the new version; NaN where the segment sent no request.

    Args:
        timeline: a ``result.segment_timeline``.
    """
    requests = _wide(timeline, "requests")
    new = _wide(timeline, "requests_new")
    sent = requests.to_numpy(dtype=float)
    share = np.divide(new.to_numpy(dtype=float), sent, out=np.full(sent.shape, np.nan),
                      where=sent > 0)
    return pd.DataFrame(share, index=requests.index, columns=requests.columns)


def plot_segment_timeline(results: RunResult | Sequence[RunResult], *,
                          title: str | None = None,
                          xlim: tuple[float, float] | None = None) -> Figure:
    """Draw, per run, each segment's share of requests on the new version and its failures.

    Args:
        results: one run, or several (a column each, in the order given; typically one run
            per strategy on one seed). Every run needs ``traffic.segments``.
        title: the figure's first title line; None names the scenario.
        xlim: the time window in seconds; None shows the whole run.

    Returns:
        A figure of two rows of panels (share on the new version in %, failed requests per
        second) and one column per run, the rows sharing their y axis.

    Raises:
        ValueError: no run, or a run without segments (``segment_timeline`` None).
    """
    runs = [results] if isinstance(results, RunResult) else list(results)
    if not runs:
        raise ValueError("no run to draw")
    for run in runs:
        if run.segment_timeline is None:
            raise ValueError(f"the run of {run.strategy!r} has no traffic.segments: no "
                             "exposure per segment to draw")
    segments: list[str] = []
    for run in runs:
        timeline = run.segment_timeline
        assert timeline is not None
        segments += [s for s in pd.unique(timeline["segment"].astype(str)) if s not in segments]
    colors = {s: SEGMENT_COLORS[i % len(SEGMENT_COLORS)] for i, s in enumerate(segments)}

    fig = NotebookFigure(figsize=(2.0 + 4.2 * len(runs), 6.6), layout="constrained")
    axes = fig.subplots(2, len(runs), sharex=True, sharey="row", squeeze=False)
    failures = False
    end = 0.0
    for column, run in enumerate(runs):
        share_ax, failed_ax = axes[0, column], axes[1, column]
        timeline = run.segment_timeline
        assert timeline is not None
        times = np.sort(pd.unique(timeline["time_s"].to_numpy(dtype=float)))
        interval = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
        end = max(end, float(times[-1]) + interval if len(times) else 0.0)
        share = new_share_by_interval(timeline)
        failed = _wide(timeline, "requests_failed") / interval
        for segment in share.columns:
            x = np.append(times, times[-1] + interval)
            percent = 100 * share[segment].to_numpy(dtype=float)
            share_ax.step(x, np.append(percent, percent[-1]), where="post",
                          color=colors[segment], linewidth=1.5, label=segment,
                          gid=f"share:{run.strategy}:{segment}")
            rate = failed[segment].to_numpy(dtype=float)
            failures = failures or bool(rate.any())
            failed_ax.step(x, np.append(rate, rate[-1]), where="post", color=colors[segment],
                           linewidth=1.3, label=segment, gid=f"failed:{run.strategy}:{segment}")
        for ax in (share_ax, failed_ax):
            _release_lines(ax, run)
            ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
        plain(share_ax.set_title(run.strategy, fontsize=11))
        failed_ax.set_xlabel("time since start of run (s)")
    if not failures:
        for ax in axes[1]:
            note(ax, "no failed requests")
    axes[0, 0].set_ylim(-3, 103)
    axes[1, 0].set_ylim(bottom=0)
    axes[0, 0].set_ylabel("requests to the new version\n(% of the segment's)")
    axes[1, 0].set_ylabel("failed requests\n(requests/s)")
    axes[0, 0].set_xlim(*(xlim if xlim is not None else (0.0, end or 1.0)))
    handles, labels = axes[0, -1].get_legend_handles_labels()
    legend = axes[0, -1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                                fontsize=9, frameon=False, title="segment", title_fontsize=9)
    plain(*legend.get_texts(), legend.get_title())
    seeds = sorted({run.seed for run in runs})
    seed = f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, seeds))
    heading = title or f"{runs[0].scenario}: exposure per segment"
    plain(fig.suptitle(f"{heading}\n{seed} · dashed: release", fontsize=13))
    return fig


def _wide(timeline: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` as a time × segment frame, segments in the timeline's order."""
    order = list(pd.unique(timeline["segment"].astype(str)))
    frame = timeline.assign(segment=timeline["segment"].astype(str))
    wide = frame.set_index(["time_s", "segment"])[column].unstack("segment")
    return wide.reindex(columns=order).sort_index().fillna(0)


def _release_lines(ax: Axes, run: RunResult) -> None:
    events = run.events
    for at in events.loc[events["kind"] == "release", "time_s"]:
        ax.axvline(float(at), color="#000000", linestyle="--", linewidth=1.0, gid="release")
