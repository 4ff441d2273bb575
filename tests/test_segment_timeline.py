"""Exposure per user segment over time (issue 9): ``result.segment_timeline``, its figure, the
report's section and ``segment_timeline.csv``, and the per-segment columns of ``compare``.

The timeline is checked against what the run already counts another way: over intervals it
sums to ``result.segments``, over segments to the run's ``timeline``; a header route (Flagger
A/B) sends the matching segment, and only it, to the new version from the route's time on.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from builders import scenario, with_ab_segments
from matplotlib.figure import Figure

import simdeploy as sd
from simdeploy.cli import main
from simdeploy.compare import SEGMENT_METRICS, segment_column, segment_columns
from simdeploy.metrics import SEGMENT_TIMELINE_COLUMNS, SUMMARY_KEYS
from simdeploy.plots.segments import new_share_by_interval
from simdeploy.report import planned_files, write_report
from simdeploy.summary_table import segment_table

T0 = 10.0  # builders.BASE releases at 10 s
GOLDEN = Path(__file__).with_name("golden") / "summaries.json"

SEGMENTS = [{"name": "beta", "share": 0.2, "headers": {"X-User-Type": "beta-tester"}},
            {"name": "regular", "share": 0.8, "headers": {"X-User-Type": "regular"},
             "rateMultiplier": 1.5}]
BETA = [{"headers": {"x-user-type": {"prefix": "beta"}}}]
SUCCESS_99 = {"name": "request-success-rate", "threshold": 99}
STRATEGIES: dict[str, Any] = {
    "rolling": {"type": "RollingUpdate"},
    "recreate": {"type": "Recreate"},  # a gap with no endpoint: failures of both segments
    "canary": {"type": "Canary", "steps": [{"setWeight": 30}, {"pause": {"duration": 20}}]},
}


def segmented(segments: list[dict[str, Any]] | None = SEGMENTS, **overrides: Any) -> sd.Scenario:
    traffic: dict[str, Any] = {"arrivals": {"type": "poisson", "rateRps": 50}, "users": 500}
    if segments is not None:
        traffic["segments"] = segments
    return scenario(traffic=traffic, **{"strategies": STRATEGIES, **overrides})


def ab(interval: float = 30, iterations: int = 3, duration: float = 260,
       new: dict[str, Any] | None = None, **analysis: Any) -> sd.Scenario:
    return scenario(duration=duration, deployment={"replicas": 4},
                    traffic={"arrivals": {"type": "poisson", "rateRps": 50}, "users": 500,
                             "segments": SEGMENTS},
                    release={"new": {"name": "v2", **(new or {})}},
                    strategies={"ab": {"type": "Canary", "analysis": {
                        "match": BETA, "interval": interval, "iterations": iterations,
                        "metrics": [SUCCESS_99], **analysis}}})


def by_segment(result: sd.RunResult, segment: str) -> pd.DataFrame:
    timeline = result.segment_timeline
    assert timeline is not None
    return timeline[timeline.segment == segment].set_index("time_s")


# --- the data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_the_timeline_sums_to_the_segments_and_to_the_runs_timeline(strategy: str) -> None:
    result = sd.run(segmented(), strategy, seed=3)
    timeline = result.segment_timeline
    assert timeline is not None
    assert list(timeline.columns) == list(SEGMENT_TIMELINE_COLUMNS)
    # over intervals: the segment's totals
    totals = timeline.groupby("segment", sort=False).agg(
        requests=("requests", "sum"), failed=("requests_failed", "sum"),
        exposed=("users_exposed_new_cum", "last"))
    segments = result.segments.set_index("segment")
    assert list(totals.index) == ["beta", "regular"]
    assert totals.requests.tolist() == segments.requests_total.tolist()
    assert totals.failed.tolist() == segments.requests_failed.tolist()
    assert totals.exposed.tolist() == segments.users_exposed_new.tolist()
    assert totals.requests.sum() == result.summary["requests_total"]
    assert totals.failed.sum() == result.summary["requests_failed"]
    # the cumulative exposure never falls
    for _, group in timeline.groupby("segment"):
        assert (np.diff(group.users_exposed_new_cum.to_numpy()) >= 0).all()
    # over segments: the run's timeline, interval by interval
    runs = result.timeline.assign(version=result.timeline.version.astype(str))
    per_time = runs.groupby("time_s")[["requests", "failed"]].sum()
    new = runs[runs.version == "v2"].set_index("time_s")
    summed = timeline.groupby("time_s")[["requests", "requests_new", "requests_failed"]].sum()
    assert summed.index.tolist() == pytest.approx(per_time.index.tolist())
    assert summed.requests.tolist() == per_time.requests.tolist()
    assert summed.requests_failed.tolist() == per_time.failed.tolist()
    # requests of the new version's pods: its timeline requests bar those that found no pod
    assert summed.requests_new.tolist() == (new.requests - new.no_endpoint).tolist()
    if strategy == "recreate":
        assert (timeline.groupby("segment").requests_failed.sum() > 0).all()


def test_a_header_route_serves_its_segment_from_the_routes_time_and_no_other() -> None:
    """Flagger A/B, K = 3, I = 30: the route at t0 + I, promotion at t0 + 4I (see
    test_segments); the route reaches the proxies within the 1 s propagation delay."""
    interval = 30
    result = sd.run(ab(interval))
    routed, promoted = T0 + interval, T0 + 4 * interval
    beta, regular = by_segment(result, "beta"), by_segment(result, "regular")
    times = beta.index.to_numpy()
    before = times < routed
    during = (times >= routed + 2) & (times < promoted)
    assert beta.requests[during].sum() > 100
    assert (beta.requests_new[before] == 0).all()
    assert (beta.requests_new[during] == beta.requests[during]).all()
    assert (regular.requests_new[times < promoted] == 0).all()
    assert (regular.users_exposed_new_cum[times < promoted] == 0).all()
    assert regular.requests_new[times >= promoted + 2 * interval].sum() > 0
    # the beta users' exposure starts with the route
    assert beta.users_exposed_new_cum[before].max() == 0
    assert beta.users_exposed_new_cum[during].iloc[-1] > 0


def test_a_rolled_back_ab_never_serves_the_other_segment() -> None:
    result = sd.run(ab(interval=20, iterations=10, duration=200, new={"errorRate": 1.0},
                       threshold=1))
    assert result.summary["outcome"] == "aborted"
    regular = by_segment(result, "regular")
    assert regular.requests_new.sum() == 0
    assert regular.users_exposed_new_cum.max() == 0
    assert by_segment(result, "beta").requests_new.sum() > 0


def test_without_segments_there_is_no_timeline_and_the_answers_are_as_before() -> None:
    """The summaries below were recorded before the segment timeline existed."""
    plain = sd.run(segmented(None), "rolling", seed=3)
    assert plain.segment_timeline is None
    assert list(plain.segments.segment) == ["all"]
    expected = {"requests_total": 2990, "requests_failed": 57, "users_with_errors": 54,
                "users_exposed_new": 489, "downtime_s": 0.0, "extra_pod_seconds": 11.1,
                "latency_p99_ms": 45.36200067743294}
    assert {k: plain.summary[k] for k in expected} == pytest.approx(expected)
    # and counting per segment changes no draw of a run with segments either
    counted = sd.run(segmented(), "recreate", seed=3)
    expected = {"requests_total": 2990, "requests_failed": 331, "users_with_errors": 244,
                "users_exposed_new": 489, "downtime_s": 5.6, "extra_pod_seconds": 0.0,
                "latency_p99_ms": 46.08823974492726}
    assert {k: counted.summary[k] for k in expected} == pytest.approx(expected)


def test_a_scenario_without_segments_compares_to_its_golden_columns_and_values() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))["scenarios"]["low-traffic.yaml"]
    s = sd.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "low-traffic.yaml")
    table = sd.compare(s, seed=s.seed)
    assert segment_columns(table) == []
    assert list(table.columns[:3 + len(SUMMARY_KEYS)]) == ["strategy", "replication", "seed",
                                                          *SUMMARY_KEYS]
    for expected, got in zip(golden, table.to_dict(orient="records"), strict=True):
        assert set(expected) <= set(got)
        assert not [key for key in got if "[" in key]
        for key in ("requests_total", "requests_failed", "users_exposed_new",
                    "users_with_errors"):
            assert got[key] == expected[key], key


# --- the figure --------------------------------------------------------------------------------


def test_the_figure_draws_the_share_on_new_and_failures_per_segment(tmp_path: Path) -> None:
    """A third segment of share 0 has no user and so no request in any interval: no share
    (a gap), and no division warning."""
    three = [*SEGMENTS, {"name": "idle", "share": 0.0, "headers": {"X-User-Type": "none"}}]
    s = segmented(three)
    results = [sd.run(s, name, seed=3) for name in ("canary", "recreate")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = sd.plots.plot_segment_timeline(results, title="segments")
        path = tmp_path / "segments.png"
        fig.savefig(path)
    assert isinstance(fig, Figure)
    assert path.stat().st_size > 5000
    axes = fig.axes
    assert len([ax for ax in axes if ax.get_lines()]) == 4  # 2 rows × 2 strategies
    assert [ax.get_title() for ax in axes[:2]] == ["canary", "recreate"]
    for result in results:
        share = new_share_by_interval(result.segment_timeline)
        assert share["idle"].isna().all()
        timeline = result.segment_timeline
        beta = timeline[timeline.segment == "beta"]
        expected = np.where(beta.requests > 0, beta.requests_new / beta.requests.where(
            beta.requests > 0), np.nan)
        np.testing.assert_allclose(share["beta"].to_numpy(), expected)
        line = next(ln for ax in fig.axes for ln in ax.get_lines()
                    if ln.get_gid() == f"share:{result.strategy}:beta")
        drawn = np.asarray(line.get_ydata(), dtype=float)[:-1]
        np.testing.assert_allclose(drawn, 100 * expected)
        failed = next(ln for ax in fig.axes for ln in ax.get_lines()
                      if ln.get_gid() == f"failed:{result.strategy}:regular")
        regular = timeline[timeline.segment == "regular"]
        np.testing.assert_allclose(np.asarray(failed.get_ydata(), dtype=float)[:-1],
                                   regular.requests_failed.to_numpy() / 1.0)
    # canary at 30 %: part of the regular segment's requests go to the new version
    share = new_share_by_interval(results[0].segment_timeline)["regular"]
    assert 0.1 < share[(share.index > T0 + 5) & (share.index < T0 + 15)].mean() < 0.5


def test_the_figure_refuses_runs_without_segments() -> None:
    plain = sd.run(segmented(None), "rolling")
    with pytest.raises(ValueError, match=r"no traffic\.segments"):
        sd.plots.plot_segment_timeline(plain)
    with pytest.raises(ValueError, match="no run"):
        sd.plots.plot_segment_timeline([])


# --- the report --------------------------------------------------------------------------------



def test_the_report_has_the_section_figure_and_csv(tiny_mapping: dict[str, Any],
                                                   tmp_path: Path) -> None:
    scenario_ = sd.load_scenario(with_ab_segments(tiny_mapping))
    out = write_report(scenario_, tmp_path / "seg", replications=2, seed=1)
    written = pd.read_csv(out / "segment_timeline.csv")
    assert list(written.columns) == ["strategy", "replication", "seed",
                                     *SEGMENT_TIMELINE_COLUMNS]
    assert set(written.strategy) == {"ab", "recreate"}
    assert set(written.seed) == {1, 2}
    exposure = pd.read_csv(out / "segments.csv")
    sums = written.groupby(["strategy", "seed", "segment"]).requests.sum()
    assert sums.tolist() == exposure.set_index(["strategy", "seed", "segment"]) \
        .sort_index().requests_total.tolist()
    for ext in ("png", "svg"):
        assert (out / "figures" / f"segment-timeline.{ext}").stat().st_size > 1000
    text = (out / "report.html").read_text(encoding="utf-8")
    section = text[text.index("<h2>Exposure per segment over time</h2>"):]
    section = section[:section.index("</section>")]
    # A/B with 50 iterations of 10 s never promotes in 120 s: the beta users only
    assert "<li>under ab, beta: at " in section
    assert "enterprise: never</li>" in section
    assert "under recreate, beta: at " in section
    assert "enterprise: never" not in section.split("under recreate")[1]
    assert 'alt="Exposure per segment over time' in section
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert {"segment_timeline.csv", "figures/segment-timeline.png"} <= set(meta["files"])
    summary = pd.read_csv(out / "summary.csv")
    assert summary[segment_column("users_exposed_new", "enterprise")][
        summary.strategy == "ab"].eq(0).all()


def test_a_report_without_segments_plans_no_segment_files(tiny_mapping: dict[str, Any]) -> None:
    files = planned_files(sd.load_scenario(tiny_mapping))
    assert not [f for f in files if "segment" in f]


# --- compare -----------------------------------------------------------------------------------


def test_compare_has_a_column_per_segment_and_metric(tiny_mapping: dict[str, Any]) -> None:
    scenario_ = sd.load_scenario(with_ab_segments(tiny_mapping))
    table = sd.compare(scenario_, replications=2, seed=1)
    expected = [segment_column(m, s) for s in ("beta", "enterprise") for m in SEGMENT_METRICS]
    assert [c for c, _, _ in segment_columns(table)] == expected
    assert "users_exposed_new[enterprise]" in table.columns
    for row in table.to_dict(orient="records"):
        result = sd.run(scenario_, row["strategy"], row["seed"])
        for segment in result.segments.itertuples(index=False):
            for metric in SEGMENT_METRICS:
                assert row[segment_column(metric, segment.segment)] == getattr(segment, metric)
    ab_rows = table[table.strategy == "ab"]
    assert ab_rows["users_exposed_new[enterprise]"].eq(0).all()
    assert ab_rows["users_exposed_new[beta]"].gt(0).all()
    cells = segment_table(table)
    assert list(cells.columns) == ["strategy", "segment", "users on new", "users w/ errors"]
    row = cells[(cells.strategy == "ab") & (cells.segment == "enterprise")].iloc[0]
    assert row["users on new"] == "0 ± 0"
    one = segment_table(table[table.replication == 0])
    assert one[(one.strategy == "ab") & (one.segment == "enterprise")]["users on new"].item() == 0
    assert segment_table(table.drop(columns=[c for c, _, _ in segment_columns(table)])).empty


def test_cli_compare_prints_the_per_segment_table(tiny_mapping: dict[str, Any], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "seg.yaml"
    path.write_text(yaml.safe_dump(with_ab_segments(tiny_mapping)), encoding="utf-8")
    assert main(["compare", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Per user segment:" in out
    lines = out[out.index("Per user segment:"):out.index("Verdict:")].splitlines()
    assert lines[1].split() == ["strategy", "segment", "users", "on", "new", "users", "w/",
                                "errors"]
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in lines[2:] if line.strip()}
    assert rows[("ab", "enterprise")][0] == "0"  # users on new
    assert int(rows[("ab", "beta")][0]) > 0
    assert int(rows[("recreate", "enterprise")][0]) > 0
    plain = tmp_path / "plain.yaml"
    del tiny_mapping["traffic"]["segments"]
    tiny_mapping["strategies"] = {"recreate": {"type": "Recreate"}}
    plain.write_text(yaml.safe_dump(tiny_mapping), encoding="utf-8")
    assert main(["compare", str(plain), "--quiet"]) == 0
    assert "Per user segment" not in capsys.readouterr().out
