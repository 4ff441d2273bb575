"""Figures: the timeline of one run, the comparison bars and the trade-off map.

The checks read the drawn artists back (line positions, polygon extents, bar heights, error
bar lengths) and compare them with the data, so a figure that looks plausible but shows the
wrong numbers fails. Runs use small scenarios from ``builders.scenario``; the comparison and
trade-off checks use hand-built tables, where the right answer is known exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest
from builders import scenario
from hypothesis import assume, given
from hypothesis import strategies as st
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cbook import is_math_text
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.text import Text

import simdeploy as sd
from simdeploy import plots
from simdeploy.plots._style import COUNT_COLUMNS

REPO = Path(__file__).resolve().parents[1]

STRATEGIES: dict[str, Any] = {
    "rolling": {"type": "RollingUpdate"},
    "blue-green": {"type": "BlueGreen", "scaleDownDelaySeconds": 10},
    "canary": {"type": "Canary", "trafficRouting": "weighted",
               "steps": [{"setWeight": 20}, {"pause": {"duration": 10}}, {"setWeight": 50},
                         {"pause": {"duration": 10}}]},
}


@pytest.fixture(scope="module")
def runs() -> dict[str, sd.RunResult]:
    s = scenario(duration=90, strategies=STRATEGIES)
    return {name: sd.run(s, name) for name in STRATEGIES}


@pytest.fixture(scope="module")
def crowded() -> sd.RunResult:
    """A RollingUpdate on a full cluster with a preStop hook: Pending and Terminating pods."""
    s = scenario(cluster={"capacityPods": 4}, pod={"preStopSeconds": 3},
                 strategies={"rolling": {"type": "RollingUpdate"}})
    result = sd.run(s)
    assert result.timeline["pending"].any()
    assert result.timeline["terminating"].any()
    return result


def _event_x(ax: Axes, kind: str) -> list[float]:
    return sorted(float(line.get_xdata()[0]) for line in ax.get_lines()
                  if line.get_gid() == f"event:{kind}")


def _texts(ax: Axes, gid: str | None = None) -> list[str]:
    return [t.get_text() for t in ax.texts if gid is None or t.get_gid() == gid]


def _collection(ax: Axes, gid: str) -> Any:
    (found,) = [c for c in ax.collections if c.get_gid() == gid]
    return found


def _cells(collection: Any, x: float, top: int) -> list[int]:
    """The unit cells [k, k + 1) that a filled area covers at ``x``."""
    paths = collection.get_paths()
    return [k for k in range(top) if any(p.contains_point((x, k + 0.5)) for p in paths)]


def _line(ax: Axes, gid: str) -> Any:
    (found,) = [line for line in ax.get_lines() if line.get_gid() == gid]
    return found


# ---------------------------------------------------------------------------------------------
# timeline


def test_timeline_has_five_panels_with_units_and_a_title(runs: dict[str, sd.RunResult]) -> None:
    result = runs["canary"]
    fig = plots.plot_timeline(result)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels[0] == "pods"
    assert "endpoints" in labels[1]
    assert "(pods)" in labels[1]
    assert "traffic share (%)" in labels[2]
    assert "failed requests" in labels[3]
    assert "(requests/s)" in labels[3]
    assert "p99" in labels[4]
    assert "(ms)" in labels[4]
    assert fig.axes[4].get_xlabel().endswith("(s)")
    title = fig.get_suptitle()
    for part in (result.scenario, result.strategy, f"seed {result.seed}",
                 result.summary["outcome"]):
        assert part in title


@pytest.mark.parametrize(("strategy", "kinds"), [
    ("canary", ["release", "weight", "completed"]),
    ("blue-green", ["release", "switch", "completed"]),
])
def test_timeline_marks_events_on_every_panel(runs: dict[str, sd.RunResult], strategy: str,
                                              kinds: list[str]) -> None:
    result = runs[strategy]
    fig = plots.plot_timeline(result)
    for kind in kinds:
        expected = sorted(result.events.loc[result.events["kind"] == kind, "time_s"])
        assert expected, f"the run has no {kind} event to draw"
        for ax in fig.axes:
            assert _event_x(ax, kind) == pytest.approx(expected)
    labels = " ".join(_texts(fig.axes[0], "event-label"))
    for weight in result.events.loc[result.events["kind"] == "weight", "weight"]:
        assert f"w={weight:g}%" in labels
    assert f"release {result.timeline['version'].cat.categories[1]}" in labels
    # scale steps are ticks on the pods panel only
    scales = result.events.loc[result.events["kind"] == "scale", "time_s"]
    assert _event_x(fig.axes[0], "scale") == pytest.approx(sorted(scales))
    assert _event_x(fig.axes[1], "scale") == []


def test_timeline_pod_stack_top_is_every_pod(crowded: sd.RunResult) -> None:
    fig = plots.plot_timeline(crowded, xlim=(0, 60))
    ax = fig.axes[0]
    tl = crowded.timeline
    layers = [c for c in ax.collections if str(c.get_gid()).startswith("pods:")]
    assert len(layers) == 6  # (scheduled, Pending, Terminating) × (v1, v2)
    totals = tl.groupby("time_s")["pods"].sum()
    top = int(totals.max()) + 2
    for t in totals.index[::3]:
        covered = sorted(k for layer in layers for k in _cells(layer, t + 0.5, top))
        assert covered == list(range(int(totals[t]))), f"at {t} s"


def test_timeline_stacks_pending_and_terminating_apart(crowded: sd.RunResult) -> None:
    fig = plots.plot_timeline(crowded, xlim=(0, 60))
    ax = fig.axes[0]
    tl = crowded.timeline.set_index(["time_s", "version"])
    order = [(v, state) for v in ("v1", "v2") for state in ("scheduled", "Pending",
                                                           "Terminating")]
    for t in (11.0, 19.0, 28.0):  # both Pending (v2) and Terminating (v1) pods
        bottom = 0
        for version, state in order:
            row = tl.loc[(t, version)]
            height = int({"scheduled": row["pods"] - row["pending"] - row["terminating"],
                          "Pending": row["pending"], "Terminating": row["terminating"]}[state])
            cells = _cells(_collection(ax, f"pods:{version}:{state}"), t + 0.5, 20)
            assert cells == list(range(bottom, bottom + height)), (t, version, state)
            bottom += height
    assert {"v2 Pending", "v1 Terminating"} <= {t.get_text()
                                                 for t in ax.get_legend().get_texts()}


def test_timeline_colours_each_version_the_same_everywhere(
        runs: dict[str, sd.RunResult]) -> None:
    for result in runs.values():
        fig = plots.plot_timeline(result)
        for ax, prefix in zip(fig.axes[1:], ("endpoints", "share", "failed", "latency")):
            for i, version in enumerate(("v1", "v2")):
                assert _line(ax, f"{prefix}:{version}").get_color() == plots.VERSION_COLORS[i]


def test_timeline_draws_failures_per_second_and_traffic_share(
        crowded: sd.RunResult) -> None:
    tl = crowded.timeline.copy()
    tl["time_s"] = tl["time_s"] * 2  # a 2 s sample interval: failures are halved per second
    tl.loc[tl["version"] == "v1", "failed"] = 6
    result = sd.RunResult(crowded.scenario, crowded.strategy, 0, crowded.summary, tl,
                          crowded.events)
    fig = plots.plot_timeline(result)
    failed = _line(fig.axes[3], "failed:v1").get_ydata()
    assert np.allclose(failed, 3.0)
    share = _line(fig.axes[2], "share:v2").get_xydata()
    at = tl[tl["time_s"] == 40.0].set_index("version")["requests"]
    (y,) = share[share[:, 0] == 40.0, 1]
    assert y == pytest.approx(100 * at["v2"] / at.sum())


def _quiet_run() -> sd.RunResult:
    """Two versions, no request failed and none succeeded (no latency), no events at all."""
    times = np.arange(0.0, 5.0)
    rows = [(t, v, 2, 0, 2, 2, 0, 2, 0, 0, np.nan) for t in times for v in ("old", "new")]
    timeline = pd.DataFrame(rows, columns=["time_s", "version", "pods", "pending", "ready",
                                           "available", "terminating", "endpoints", "requests",
                                           "failed", "latency_p99_ms"])
    timeline["version"] = pd.Categorical(timeline["version"], categories=["old", "new"])
    events = pd.DataFrame(columns=["time_s", "kind", "version", "replicas", "detail"])
    return sd.RunResult("quiet", "none", 3, {"outcome": "stalled"}, timeline, events)


def test_timeline_says_so_when_nothing_failed_and_nothing_answered(tmp_path: Path) -> None:
    fig = plots.plot_timeline(_quiet_run())
    assert "no failed requests" in _texts(fig.axes[3], "note")
    assert any("no successful responses" in t for t in _texts(fig.axes[4], "note"))
    assert "no requests" in _texts(fig.axes[2], "note")
    fig.savefig(tmp_path / "quiet.png")
    assert (tmp_path / "quiet.png").stat().st_size > 0


def test_timeline_window_covers_the_rollout_or_what_is_asked(
        runs: dict[str, sd.RunResult]) -> None:
    result = runs["canary"]
    release = float(result.events.loc[result.events["kind"] == "release", "time_s"].iloc[0])
    done = float(result.events["time_s"].max())
    lo, hi = plots.plot_timeline(result).axes[0].get_xlim()
    assert lo < release
    assert hi > done
    assert plots.plot_timeline(result, xlim=(0, 90)).axes[0].get_xlim() == (0, 90)


# ---------------------------------------------------------------------------------------------
# comparison


def _table(values: dict[str, list[float]], column: str = "downtime_s") -> pd.DataFrame:
    """A compare()-shaped table: every summary key present, ``column`` set from ``values``."""
    rows = []
    for name, xs in values.items():
        for r, x in enumerate(xs):
            row = {"strategy": name, "replication": r, "seed": r}
            for key, _, _ in plots.COMPARISON_METRICS:
                row[key] = float(len(name) * 10 + r)
            row[column] = x
            rows.append(row)
    return pd.DataFrame(rows)


def _bars(ax: Axes) -> BarContainer:
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    return bars


def test_comparison_has_one_panel_per_metric_with_units() -> None:
    fig = plots.plot_comparison(_table({"a": [1.0], "bb": [2.0]}))
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == [t for _, t, _ in plots.COMPARISON_METRICS]
    assert [ax.get_ylabel() for ax in fig.axes] == [u for _, _, u in plots.COMPARISON_METRICS]
    assert fig.axes[0].get_ylabel() == "seconds"


def test_comparison_bars_are_means_with_sd_error_bars() -> None:
    table = _table({"rolling": [1.0, 2.0, 6.0], "recreate": [10.0, 12.0, 14.0],
                    "canary": [0.0, 0.0, 0.0]})
    fig = plots.plot_comparison(table)
    for ax, (column, _, _) in zip(fig.axes, plots.COMPARISON_METRICS):
        stats = table.groupby("strategy", sort=False)[column].agg(["mean", "std"])
        bars = _bars(ax)
        assert [p.get_height() for p in bars.patches] == pytest.approx(list(stats["mean"]))
        assert [t.get_text() for t in ax.get_xticklabels()] == ["rolling", "recreate", "canary"]
        assert bars.errorbar is not None
        segments = bars.errorbar.lines[2][0].get_segments()
        half = [(s[1][1] - s[0][1]) / 2 for s in segments]
        assert half == pytest.approx(list(stats["std"]))


def test_comparison_has_no_error_bars_without_replications() -> None:
    fig = plots.plot_comparison(_table({"a": [1.0], "b": [3.0]}))
    for ax in fig.axes:
        assert _bars(ax).errorbar is None
    assert "one run per strategy" in fig.get_suptitle()


def test_comparison_says_which_rollouts_did_not_finish() -> None:
    table = _table({"stuck": [np.nan, np.nan], "flaky": [10.0, np.nan], "fine": [4.0, 6.0]},
                   column="rollout_duration_s")
    fig = plots.plot_comparison(table)
    ax = fig.axes[[k for k, _, _ in plots.COMPARISON_METRICS].index("rollout_duration_s")]
    assert [p.get_height() for p in _bars(ax).patches] == pytest.approx([0.0, 10.0, 5.0])
    assert _texts(ax, "missing-note") == ["did not finish"]
    assert any("1/2 finished" in t for t in _texts(ax, "value-label"))


def test_comparison_of_real_runs_and_bad_tables(tiny_mapping: dict[str, Any]) -> None:
    table = sd.compare(sd.load_scenario(tiny_mapping), replications=2)
    assert (table["extra_cost"] > 0).any()  # tiny prices pods: the cost panel is drawn
    fig = plots.plot_comparison(table, title="tiny")
    assert fig.get_suptitle().startswith("tiny")
    assert len(fig.axes) == len(plots.COMPARISON_METRICS) + 1
    with pytest.raises(ValueError, match="empty"):
        plots.plot_comparison(table.iloc[:0])
    with pytest.raises(ValueError, match="peak_pods_scheduled"):
        plots.plot_comparison(table.drop(columns="peak_pods_scheduled"))
    plots.plot_comparison(table.drop(columns=["peak_pods", "extra_pod_seconds", "extra_cost"]))


# ---------------------------------------------------------------------------------------------
# trade-off


def _points(**xy: tuple[list[float], list[float]]) -> pd.DataFrame:
    rows = [{"strategy": name, "replication": r, "seed": r, "extra_scheduled_pod_seconds": x,
             "users_with_errors": y, "rollout_duration_s": x + y}
            for name, (xs, ys) in xy.items() for r, (x, y) in enumerate(zip(xs, ys))]
    return pd.DataFrame(rows)


def test_tradeoff_puts_each_strategy_at_its_mean_and_finds_the_pareto_front() -> None:
    table = _points(
        cheap=([0.0, 0.0], [9.0, 11.0]),          # (0, 10)
        middle=([4.0, 6.0], [5.0, 5.0]),          # (5, 5)
        safe=([10.0, 10.0], [0.0, 0.0]),          # (10, 0)
        worse=([6.0, 6.0], [6.0, 6.0]),           # dominated by middle
        tie_x_worse_y=([5.0, 5.0], [7.0, 7.0]),   # same cost as middle, more errors
        twin=([4.0, 6.0], [5.0, 5.0]),            # equal to middle: neither beats the other
    )
    fig = plots.plot_tradeoff(table)
    (ax,) = fig.axes
    means = table.groupby("strategy")[["extra_scheduled_pod_seconds", "users_with_errors"]].mean()
    for name, (mx, my) in means.iterrows():
        assert _line(ax, f"point:{name}").get_xydata().tolist() == [[mx, my]]
        assert name in _texts(ax)
    front = _line(ax, "pareto-front").get_xydata()
    assert sorted(map(tuple, front.tolist())) == [(0.0, 10.0), (5.0, 5.0), (5.0, 5.0),
                                                   (10.0, 0.0)]
    assert ax.get_xlabel() == "extra scheduled pod-seconds (pod·s)"
    assert "(count)" in ax.get_ylabel()
    assert ax.containers[0].lines[2], "replicated points carry error bars"


def test_tradeoff_without_replications_has_no_error_bars() -> None:
    fig = plots.plot_tradeoff(_points(a=([1.0], [2.0]), b=([2.0], [1.0])))
    (ax,) = fig.axes
    assert all(not c.lines[2] for c in ax.containers)
    assert len(_line(ax, "pareto-front").get_xydata()) == 2


def test_tradeoff_names_strategies_it_cannot_place() -> None:
    table = _points(done=([1.0], [2.0]), stuck=([3.0], [1.0]))
    table.loc[table["strategy"] == "stuck", "rollout_duration_s"] = np.nan
    fig = plots.plot_tradeoff(table, x="extra_scheduled_pod_seconds", y="rollout_duration_s")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "rollout duration (s)"
    assert not [line for line in ax.get_lines() if line.get_gid() == "point:stuck"]
    assert any("stuck" in t and "did not finish" in t for t in _texts(ax, "missing-note"))
    assert _line(ax, "pareto-front").get_xydata().tolist() == [[1.0, 3.0]]


def test_tradeoff_boxes_are_t_intervals_and_ring_what_the_front_cannot_tell_apart() -> None:
    # each strategy: mean ± 1 on both axes over 3 runs (values m − 1, m, m + 1: s = 1), so its
    # 95 % box is m ± t(0.975, 2)/√3 = m ± 2.484
    def spread(x: float, y: float) -> tuple[list[float], list[float]]:
        return [x - 1, x, x + 1], [y + 1, y, y - 1]

    table = _points(a=spread(10, 100), b=spread(13, 96), c=spread(40, 20),
                    d=spread(30, 110), e=spread(45, 60))
    fig = plots.plot_tradeoff(table, level=0.95)
    (ax,) = fig.axes
    half = 4.302653 / np.sqrt(3)
    boxes = {p.get_gid(): p for p in ax.patches if str(p.get_gid()).startswith("interval:")}
    assert set(boxes) == {f"interval:{n}" for n in "abcde"}
    box = boxes["interval:b"]
    assert (box.get_x(), box.get_y()) == pytest.approx((13 - half, 96 - half))
    assert (box.get_width(), box.get_height()) == pytest.approx((2 * half, 2 * half))
    # front: a (10, 100), b (13, 96), c (40, 20); a and b overlap on both axes (3 and 4 apart,
    # boxes 2·2.484 wide): both ringed; d overlaps a in y only, e nobody: neither is ringed
    rings = [c for c in ax.collections if c.get_gid() == "indistinguishable-points"]
    assert len(rings) == 1
    assert sorted(map(tuple, rings[0].get_offsets().tolist())) == [(10.0, 100.0), (13.0, 96.0)]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "95 % t-interval of the mean" in legend
    assert any("not distinguishable" in t for t in legend)
    assert "boxes: 95 % t-intervals" in fig.get_suptitle()
    # at 50 % the boxes are narrower than the 3 apart: no ring
    (ax,) = plots.plot_tradeoff(table, level=0.5).axes
    assert not [c for c in ax.collections if c.get_gid() == "indistinguishable-points"]
    # single runs: no boxes, no rings
    (ax,) = plots.plot_tradeoff(_points(a=([1.0], [2.0]), b=([1.1], [1.9]))).axes
    assert not [p for p in ax.patches if str(p.get_gid()).startswith("interval:")]


# ---------------------------------------------------------------------------------------------
# output


def test_figures_save_as_png_and_svg_and_show_in_notebooks(
        runs: dict[str, sd.RunResult], tmp_path: Path) -> None:
    table = _table({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    figures = {"timeline": plots.plot_timeline(runs["rolling"]),
               "comparison": plots.plot_comparison(table),
               "tradeoff": plots.plot_tradeoff(table)}
    for name, fig in figures.items():
        fig.savefig(tmp_path / f"{name}.png")
        fig.savefig(tmp_path / f"{name}.svg")
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (tmp_path / f"{name}.svg").read_text()
        assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # Jupyter's inline image


def test_plotting_leaves_pyplot_alone(tmp_path: Path) -> None:
    code = ("import sys, pandas as pd; from simdeploy import plots\n"
            "t = pd.DataFrame({'strategy': ['a'], 'extra_scheduled_pod_seconds': [1.0],"
            " 'users_with_errors': [2]})\n"
            "plots.plot_tradeoff(t).savefig(sys.argv[1])\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.svg")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------
# capacity: scheduled pods, Pending apart, cost where pods are priced


def _panel(fig: Figure, title: str) -> Axes:
    (ax,) = [ax for ax in fig.axes if ax.get_title() == title]
    return ax


def test_capacity_figures_count_scheduled_pods_and_show_pending_apart() -> None:
    """A cluster that holds exactly the 4 replicas: blue-green's green fleet stays Pending, so
    the cluster never holds more than 4 pods and 4 wait, whatever the pod count says."""
    s = scenario(cluster={"capacityPods": 4},
                 strategies={"blue-green": {"type": "BlueGreen"},
                             "rolling": {"type": "RollingUpdate"}})
    table = sd.compare(s, replications=2)
    assert (table.loc[table["strategy"] == "blue-green", "peak_pods"] == 8).all()
    fig = plots.plot_comparison(table)
    titles = [ax.get_title() for ax in fig.axes]
    assert "peak pods" not in titles
    assert "extra cost" not in titles  # the scenario does not price pods
    scheduled = [p.get_height() for p in _bars(_panel(fig, "peak scheduled pods")).patches]
    assert scheduled == [4, 4]  # the capacity, for both strategies
    assert next(p.get_height() for p in _bars(_panel(fig, "peak Pending pods")).patches) == 4
    extra = _bars(_panel(fig, "extra scheduled pod-seconds")).patches
    assert extra[0].get_height() == 0  # the green fleet never ran: no extra capacity held
    (ax,) = plots.plot_tradeoff(table).axes
    x, _ = _line(ax, "point:blue-green").get_xydata()[0]
    assert x == 0
    assert "scheduled" in ax.get_xlabel()


def _priced(cost_per_pod_s: float | None) -> pd.DataFrame:
    table = _table({"a": [10.0, 30.0], "b": [0.0, 0.0]}, column="extra_scheduled_pod_seconds")
    if cost_per_pod_s is not None:
        table["extra_cost"] = table["extra_scheduled_pod_seconds"] * cost_per_pod_s
    return table


def test_extra_cost_has_a_panel_and_an_axis_only_when_pods_are_priced() -> None:
    fig = plots.plot_comparison(_priced(0.5))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[titles.index("extra scheduled pod-seconds") + 1] == "extra cost"
    assert [p.get_height() for p in _bars(_panel(fig, "extra cost")).patches] == [10.0, 0.0]
    assert "10" in _texts(_panel(fig, "extra cost"), "value-label")
    fig = plots.plot_tradeoff(_priced(0.5))
    (ax,) = fig.axes
    (top,) = [c for c in ax.child_axes if c.get_gid() == "cost-axis"]
    fig.draw_without_rendering()
    assert np.asarray(top.get_xlim()) == pytest.approx(0.5 * np.asarray(ax.get_xlim()))
    assert "cost" in top.get_xlabel()
    for unpriced in (_priced(None), _priced(0.0)):
        assert "extra cost" not in [ax.get_title() for ax in plots.plot_comparison(unpriced).axes]
        assert not plots.plot_tradeoff(unpriced).axes[0].child_axes
    fig = plots.plot_tradeoff(_priced(0.5), x="extra_cost")
    assert fig.axes[0].get_xlabel().startswith("extra cost")
    assert _line(fig.axes[0], "point:a").get_xydata().tolist() == [[10.0, 10.5]]


# ---------------------------------------------------------------------------------------------
# strategy colours: by name, in every figure


def _bar_colors(fig: Figure) -> dict[str, str]:
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    return {n: to_hex(p.get_facecolor()) for n, p in zip(names, _bars(ax).patches)}


def _point_colors(fig: Figure, names: list[str]) -> dict[str, str]:
    return {n: to_hex(_line(fig.axes[0], f"point:{n}").get_color()) for n in names}


def test_a_strategy_keeps_its_colour_across_figures_orders_and_scenarios() -> None:
    names = ["recreate", "rolling", "blue-green", "canary", "canary-slow", "shadow"]
    table = _points(**{n: ([float(i)], [float(len(names) - i)]) for i, n in enumerate(names)})
    for column, _, _ in plots.COMPARISON_METRICS:
        table[column] = 1.0
    colours = _bar_colors(plots.plot_comparison(table))
    assert colours == _point_colors(plots.plot_tradeoff(table), names)
    assert len(set(colours.values())) == len(names)
    # no two of these names want the same colour: each has the one it has when drawn alone
    assert colours == {n: to_hex(plots.strategy_color(n)) for n in names}
    reordered = table.iloc[::-1].reset_index(drop=True)
    assert _bar_colors(plots.plot_comparison(reordered)) == colours
    assert _point_colors(plots.plot_tradeoff(reordered), names) == colours
    fewer = table[table["strategy"].isin(["canary", "shadow"])]
    assert _bar_colors(plots.plot_comparison(fewer)) == {n: colours[n] for n in ("canary",
                                                                                "shadow")}
    # one more strategy, whose colour is blue-green's: it moves, no one else does
    more = pd.concat([table, table.iloc[:1].assign(strategy="surge-50")], ignore_index=True)
    assert to_hex(plots.strategy_color("surge-50")) == colours["blue-green"]
    grown = _bar_colors(plots.plot_comparison(more))
    assert {n: grown[n] for n in names} == colours
    assert grown["surge-50"] not in colours.values()


def test_well_known_strategies_have_fixed_distinct_colours() -> None:
    known = ["recreate", "rolling", "blue-green", "canary"]
    pinned = plots.strategy_colors(known)
    assert len(set(pinned.values())) == 4
    for others in (["a"], ["x", "y", "z", "rolling-2"], [f"s{i}" for i in range(4)]):
        assert {n: plots.strategy_color(n, [*others, *known]) for n in known} == pinned
    assert plots.strategy_color("RollingUpdate") == pinned["rolling"]


_names = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=8, unique=True)


@given(names=_names, data=st.data())
def test_strategy_colours_depend_on_the_names_only(names: list[str], data: Any) -> None:
    colours = plots.strategy_colors(names)
    assert len(set(colours.values())) == len(names)  # distinct up to the palette's size
    assert set(colours.values()) <= set(plots.STRATEGY_COLORS)
    shuffled = data.draw(st.permutations(names))
    assert plots.strategy_colors(shuffled) == colours


@given(names=_names, new=st.text(min_size=1, max_size=12))
def test_adding_a_strategy_moves_no_colour_unless_it_collides(names: list[str], new: str) -> None:
    assume(new not in names and len(names) < len(plots.STRATEGY_COLORS))
    before = plots.strategy_colors(names)
    after = plots.strategy_colors([*names, new])
    if after[new] not in before.values():
        assert {n: after[n] for n in names} == before
    else:  # it took a colour in use: at most the names from there on move, none share
        assert len(set(after.values())) == len(names) + 1


def test_strategy_colours_are_the_same_in_every_process() -> None:
    code = ("from simdeploy.plots import strategy_colors as c\n"
            "print(c(['alpha', 'beta', 'gamma', 'delta', 'canary', 'ünï']))")
    outputs = set()
    for seed in ("0", "1", "12345"):
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                              text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


# ---------------------------------------------------------------------------------------------
# trade-off labels never overlap


def _label_boxes(fig: Figure) -> tuple[list[Any], Any]:
    """Each label's text box (leader line excluded) as drawn, and the axes' box."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (ax,) = fig.axes
    labels = [t for t in ax.texts if str(t.get_gid()).startswith("label:")]
    return [Text.get_window_extent(t, renderer) for t in labels], ax.get_window_extent(renderer)


CROWD = ["recreate", "rolling", "blue-green", "canary", "rolling-no-unavailable (stalled 2/2)",
         "canary-slow", "bg-preview", "ünïcødé-λ"]


@pytest.mark.parametrize("layout", [
    [(5.0, 3.0)] * 8,                                              # all on one point
    [(5.0 + 0.01 * i, 3.0 + 0.02 * (i % 3)) for i in range(8)],   # nearly
    [(0.0, 0.0)] * 4 + [(0.05, 0.0)] * 4,                          # two clusters in a corner
    [(float(i), 10.0 - i) for i in range(8)],                      # spread out
])
def test_tradeoff_labels_never_overlap(layout: list[tuple[float, float]]) -> None:
    table = _points(**{n: ([x], [y]) for n, (x, y) in zip(CROWD, layout)})
    fig = plots.plot_tradeoff(table)
    boxes, frame = _label_boxes(fig)
    assert len(boxes) == len(CROWD)
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0
        assert a.x1 <= frame.x1
        assert frame.y0 <= a.y0
        assert a.y1 <= frame.y1
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
    ax = fig.axes[0]
    centres = ax.transData.transform(np.asarray(layout))
    for box in boxes:  # no label hides a marker
        assert not any(box.contains(x, y) for x, y in centres)
    # deterministic: the same table places the same labels; and it holds at another dpi
    again = plots.plot_tradeoff(table)
    assert [b.bounds for b in _label_boxes(again)[0]] == [b.bounds for b in boxes]
    again.set_dpi(200)
    boxes = _label_boxes(again)[0]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_tradeoff_labels_stand_next_to_a_lone_point_without_a_leader() -> None:
    fig = plots.plot_tradeoff(_points(a=([1.0], [9.0]), b=([9.0], [1.0])))
    for label in (t for t in fig.axes[0].texts if str(t.get_gid()).startswith("label:")):
        assert label.arrow_patch is None
        assert max(abs(v) for v in label.xyann) < 15  # points from its marker


# ---------------------------------------------------------------------------------------------
# user text is never mathtext


NASTY = ["x$\\frac{$", "_^a", "two\nlines", "ünïcødé λ→", "$x$", "a\\$b"]


def _math_free(fig: Figure) -> None:
    """No text that can carry a user string is read as mathtext or TeX."""
    fig.draw_without_rendering()
    for text in fig.findobj(Text):
        raw = text.get_text()
        assert not text.get_usetex() or "$" not in raw
        if text.get_parse_math() and "$" in raw:
            assert not is_math_text(raw), raw


def _nasty_run(runs: dict[str, sd.RunResult]) -> sd.RunResult:
    base = runs["canary"]
    timeline = base.timeline.copy()
    names = {"v1": "_v$1^", "v2": "v$\\frac{$2"}
    timeline["version"] = timeline["version"].cat.rename_categories(names)
    events = base.events.copy()
    events["version"] = events["version"].astype(str).replace(names)
    return sd.RunResult("scen$\\frac{$ ü\n_^", "x$\\frac{$", 0, base.summary, timeline, events)


def test_user_names_are_drawn_as_written_in_png_and_svg(
        runs: dict[str, sd.RunResult], tmp_path: Path) -> None:
    table = _points(**{n: ([float(i)], [float(i % 3)]) for i, n in enumerate(NASTY)})
    for column, _, _ in plots.COMPARISON_METRICS:
        table[column] = 2.0
    table["outcome"] = "completed"
    table.loc[0, "outcome"] = "stalled"
    figures = {
        "comparison": plots.plot_comparison(table, title="scen$\\frac{$ ü _^"),
        "tradeoff": plots.plot_tradeoff(table, title="scen$\\frac{$ ü _^"),
        "timeline": plots.plot_timeline(_nasty_run(runs)),
    }
    for name, fig in figures.items():
        _math_free(fig)
        fig.savefig(tmp_path / f"{name}.png")
        fig.savefig(tmp_path / f"{name}.svg")
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        ElementTree.parse(tmp_path / f"{name}.svg")  # well-formed XML
    (ax,) = figures["tradeoff"].axes
    for name in NASTY:
        assert name.replace("\n", " ") in " | ".join(_texts(ax))
    ticks = [t.get_text() for t in figures["comparison"].axes[0].get_xticklabels()]
    assert [t.replace("\\$", "$") for t in ticks][1:] == NASTY[1:]
    assert "scen$\\frac{$" in figures["comparison"].get_suptitle()
    timeline = figures["timeline"]
    assert "x$\\frac{$" in timeline.get_suptitle()
    legend = [t.get_text() for t in timeline.axes[1].get_legend().get_texts()]
    assert {"_v$1^", "v$\\frac{$2"} <= set(legend)  # even a name that starts with "_"
    assert any("release v$\\frac{$2" in t for t in _texts(timeline.axes[0], "event-label"))


# ---------------------------------------------------------------------------------------------
# counts print as integers


def test_counts_are_labelled_as_integers() -> None:
    table = _table({"a": [12.0, 12.0], "b": [2398.0, 2398.0], "c": [12.0, 13.0]},
                   column="peak_pods_scheduled")
    ax = _panel(plots.plot_comparison(table), "peak scheduled pods")
    assert _texts(ax, "value-label") == ["12", "2,398", "12.5"]
    assert all(float(t).is_integer() for t in ax.get_yticks())
    table = _points(a=([0.0], [0.0]), b=([1.0], [3.0]))
    (ax,) = plots.plot_tradeoff(table).axes
    ax.figure.draw_without_rendering()
    assert all(float(t).is_integer() for t in ax.get_yticks())  # users_with_errors: a count
    assert {"peak_pods_pending", "peak_pods_scheduled"} <= COUNT_COLUMNS
    assert "pending_pod_seconds" not in COUNT_COLUMNS
