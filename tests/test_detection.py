"""Detection studies: P(catch) of a bad release, P(false abort) of a good one, Wilson intervals.

The runs use the tiny scenario (conftest ``tiny_mapping``) reduced to its canary, whose
health gate aborts when more than 5 % of the new version's requests in a 30 s window fail
(given at least 20 requests in it). Every expectation below follows from those numbers.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import pytest
import yaml
from scipy.stats import binomtest

import simdeploy as sd
from simdeploy.cli import main
from simdeploy.detection import (
    detection_findings,
    detection_text_table,
    good_release,
    plan_detection,
    wilson_interval,
)
from simdeploy.report import planned_files, report_steps, write_report

PINNED = ["release", "runs", "aborts", "p_abort", "p_abort_lo", "p_abort_hi", "detect_s_mean",
          "users_failed_new_mean"]
RATE = "traffic.arrivals.rateRps"


@pytest.fixture
def canary_mapping(tiny_mapping: dict[str, Any]) -> dict[str, Any]:
    """The tiny scenario with only its canary, and a new version failing half its requests."""
    tiny_mapping["release"]["new"]["errorRate"] = 0.5
    tiny_mapping["strategies"] = {"canary": tiny_mapping["strategies"]["canary"]}
    return tiny_mapping


@pytest.fixture
def bad(canary_mapping: dict[str, Any]) -> sd.Scenario:
    return sd.load_scenario(canary_mapping)


@pytest.fixture
def bad_file(canary_mapping: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(canary_mapping, sort_keys=False), encoding="utf-8")
    return path


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert err.startswith("simdeploy: ")
    return err


# --------------------------------------------------------------------------------------------
# the Wilson interval


@pytest.mark.parametrize(("successes", "n", "low", "high"), [
    (0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0),
    (1, 20, 0.0089, 0.2361), (45, 100, 0.3561, 0.5476)])
def test_wilson_interval_known_values(successes, n, low, high) -> None:
    lo, hi = wilson_interval(successes, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(("successes", "n"), [(0, 1), (1, 1), (0, 7), (3, 7), (7, 7), (2, 40),
                                              (39, 40), (512, 1000)])
def test_wilson_interval_matches_scipy(successes, n, level) -> None:
    expected = binomtest(successes, n).proportion_ci(confidence_level=level, method="wilson")
    lo, hi = wilson_interval(successes, n, level)
    assert lo == pytest.approx(expected.low, abs=1e-12)
    assert hi == pytest.approx(expected.high, abs=1e-12)


def test_wilson_bounds_are_where_the_score_test_just_rejects() -> None:
    # the defining property: at each bound p, |p̂ − p| = z·√(p(1 − p)/n)
    z = 1.959963984540054
    for successes, n in ((3, 17), (12, 30), (99, 100)):
        for p in wilson_interval(successes, n):
            assert abs(successes / n - p) == pytest.approx(z * math.sqrt(p * (1 - p) / n))


def test_wilson_interval_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="successes <= n"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="level"):
        wilson_interval(1, 10, level=1.0)
    with pytest.raises(ValueError, match="whole number"):
        wilson_interval(1.5, 10)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


# --------------------------------------------------------------------------------------------
# the study


def test_good_release_is_the_current_version_under_the_new_name(bad: sd.Scenario) -> None:
    good = good_release(bad)
    assert good.release.new.name == bad.release.new.name == "v2"
    assert good.release.new.model_dump(exclude={"name"}) == \
        bad.release.current.model_dump(exclude={"name"})
    assert good.release.new.error_rate == 0.001
    assert bad.release.new.error_rate == 0.5  # the study's scenario is left alone


def test_plan_runs_both_releases_on_the_same_seeds(bad: sd.Scenario) -> None:
    plan = plan_detection(bad, "canary", runs=3, seed=7, vary={RATE: [10, 50]})
    assert [(value, release) for value, release, _ in plan.cells] == [
        (10, "bad"), (10, "good"), (50, "bad"), (50, "good")]
    assert [t.seed for t in plan.tasks] == [7, 8, 9] * 4
    assert [t.scenario.traffic.arrivals.rate_rps for t in plan.tasks] == [10] * 6 + [50] * 6
    assert [t.scenario.release.new.error_rate for t in plan.tasks] == [0.5] * 3 + [0.001] * 3 \
        + [0.5] * 3 + [0.001] * 3
    assert {t.strategy for t in plan.tasks} == {"canary"}


def test_table_has_the_pinned_columns_and_a_row_per_value_and_release(bad: sd.Scenario) -> None:
    table = sd.detection(bad, "canary", runs=6, seed=0, vary={RATE: [20, 50]})
    assert list(table.columns[:9]) == [RATE, *PINNED]
    assert len(table) == 2 * 2
    assert table[RATE].tolist() == [20, 20, 50, 50]
    assert table["release"].tolist() == ["bad", "good", "bad", "good"]
    assert table["runs"].tolist() == [6] * 4
    assert table["p_abort"].tolist() == (table["aborts"] / table["runs"]).tolist()
    assert (table["p_abort_lo"] <= table["p_abort"]).all()
    assert (table["p_abort"] <= table["p_abort_hi"]).all()
    for row in table.itertuples(index=False):
        assert (row.p_abort_lo, row.p_abort_hi) == wilson_interval(row.aborts, row.runs)


def test_a_study_without_a_knob_has_two_rows(bad: sd.Scenario) -> None:
    table = sd.detection(bad, "canary", runs=4)
    assert list(table.columns[:8]) == PINNED
    assert table["release"].tolist() == ["bad", "good"]


def test_a_very_bad_release_is_always_caught_and_the_good_one_never(bad: sd.Scenario) -> None:
    # at 50 rps the canary's first step (20 %) sends ~300 requests per 30 s window: half of
    # the bad release's fail (> 5 % at every check), the good release fails 0.1 %, so more
    # than 5 % of >= 20 requests failing would take > 15 failures where ~0.3 are expected
    table = sd.detection(bad, "canary", runs=20, seed=0)
    by_release = table.set_index("release")
    assert by_release.loc["bad", "aborts"] == 20
    assert by_release.loc["good", "aborts"] == 0
    assert by_release.loc["good", "p_abort_hi"] == pytest.approx(wilson_interval(0, 20)[1])
    # caught within the first window's checks: well before the 20 s pause ends
    assert 0 < by_release.loc["bad", "detect_s_mean"] < 20
    assert math.isnan(by_release.loc["good", "detect_s_mean"])
    # the aborted bad release hurts users; the good one's failures are the 0.1 % background
    assert by_release.loc["bad", "users_failed_new_mean"] > 5
    assert by_release.loc["bad", "users_failed_new_mean"] > \
        by_release.loc["good", "users_failed_new_mean"]


def test_too_little_traffic_for_the_gate_never_catches_it(bad: sd.Scenario) -> None:
    # at 0.5 rps the canary (at most 50 %) sees ~7.5 requests per 30 s window: the gate's
    # minRequests of 20 is (almost) never reached, so nothing is judged; at 50 rps everything
    table = sd.detection(bad, "canary", runs=15, seed=0, vary={RATE: [0.5, 2, 50]})
    caught = table[table["release"] == "bad"].set_index(RATE)["p_abort"]
    assert caught[0.5] == 0
    assert caught[50] == 1
    assert caught.is_monotonic_increasing
    assert (table[table["release"] == "good"]["aborts"] == 0).all()


def test_same_seed_same_table_and_the_jobs_do_not_matter(bad: sd.Scenario) -> None:
    vary = {"strategies.canary.healthGate.maxErrorRate": [0.05, 0.6]}
    first = sd.detection(bad, "canary", runs=4, seed=3, vary=vary, jobs=1)
    again = sd.detection(bad, "canary", runs=4, seed=3, vary=vary)
    pd.testing.assert_frame_equal(first, again)
    parallel = sd.detection(bad, "canary", runs=4, seed=3, vary=vary, jobs=2)
    pd.testing.assert_frame_equal(first, parallel)
    # a threshold above the bad release's 50 % errors lets it through
    caught = first[first["release"] == "bad"]["p_abort"].tolist()
    assert caught == [1.0, 0.0]


def test_bad_input_is_one_scenario_error_before_any_run(bad: sd.Scenario, monkeypatch) -> None:
    module = sys.modules["simdeploy.detection"]  # sd.detection is the function
    monkeypatch.setattr(module, "execute", lambda *a, **k: pytest.fail("ran"))
    cases = [
        ({"strategy": "nope"}, "no strategy 'nope' (known: canary)"),
        ({"vary": {RATE: [1], "pod.preStopSeconds": [0]}}, "one knob at a time"),
        ({"vary": {"traffic.arrivals.rateRpx": [1]}}, "rateRpx: unknown field"),
        ({"vary": {RATE: [50, -1]}}, "rateRps: must be >= 0"),
        ({"vary": {RATE: 5}}, "must be a list"),
        ({"vary": {}}, "one field path"),
        ({"vary": {"seed": [1, 2]}}, "seed"),
    ]
    for change, message in cases:
        arguments = {"strategy": "canary", "runs": 2, **change}
        with pytest.raises(sd.ScenarioError, match=re.escape(message)) as caught:
            sd.detection(bad, **arguments)
        assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="runs"):
        sd.detection(bad, "canary", runs=0)


# --------------------------------------------------------------------------------------------
# the findings


def _table(rows: list[tuple[Any, int, int, int, int]]) -> pd.DataFrame:
    """A detection table from (knob value, bad aborts, bad runs, good aborts, good runs)."""
    out = []
    for value, bad_aborts, bad_runs, good_aborts, good_runs in rows:
        for release, aborts, runs in (("bad", bad_aborts, bad_runs),
                                      ("good", good_aborts, good_runs)):
            lo, hi = wilson_interval(aborts, runs)
            out.append({"strategies.canary.steps[0].setWeight": value, "release": release,
                        "runs": runs, "aborts": aborts, "p_abort": aborts / runs,
                        "p_abort_lo": lo, "p_abort_hi": hi,
                        "detect_s_mean": 95.0 if aborts else math.nan,
                        "users_failed_new_mean": 12.0})
    return pd.DataFrame(out)


def test_findings_name_rates_intervals_and_the_smallest_value_that_works() -> None:
    table = _table([(20, 200, 200, 1, 200), (5, 90, 200, 2, 200), (10, 198, 200, 6, 200)])
    lines = detection_findings(table)
    assert lines[0] == ("At setWeight = 20 the bad release is caught in every one of 200 runs "
                        "(95 % CI 98–100 %), 95 s after its first response on average; 12 "
                        "users per run had a request fail on the new version; the good release "
                        "is aborted in 0.5 % (95 % CI 0.1–3 %), a false alarm.")
    assert lines[1].startswith("At setWeight = 5 the bad release is caught in 45 % of 200 runs "
                               "(95 % CI 38–52 %)")
    # 10 catches 99 % but 3 % false aborts: both meet the bar, and 10 is smaller than 20
    assert lines[3].startswith("The smallest setWeight that catches the bad release in at "
                               "least 95 % of runs with at most 5 % false aborts is 10 (caught "
                               "198 of 200")
    assert "more runs would be needed" in lines[3]  # 6/200 false aborts: CI reaches 6.4 %
    assert len(lines) == 4


def test_findings_say_when_nothing_meets_the_bar_or_nothing_aborts() -> None:
    lines = detection_findings(_table([(5, 10, 20, 0, 20), (10, 19, 20, 4, 20)]))
    assert lines[-1] == ("No setWeight tried catches the bad release in at least 95 % of runs "
                         "with at most 5 % false aborts; the best catch rate is 95 %, at "
                         "setWeight = 10, with 20 % false aborts.")
    quiet = detection_findings(_table([(5, 0, 20, 0, 20)]))
    assert quiet[0].startswith("At setWeight = 5 the bad release is never caught in 20 runs "
                               "(95 % CI 0–16 %)")
    assert quiet[-1].startswith("No run was aborted")


def test_text_table_counts_whole_and_percent_with_interval() -> None:
    shown = detection_text_table(_table([(5, 9, 20, 0, 20)]))
    assert shown["runs"].tolist() == [20, 20]
    assert shown["aborts"].tolist() == [9, 0]
    assert shown["P(abort)"].tolist() == ["45 % (26–66 %)", "0 % (0–16 %)"]
    assert shown["detect s"].tolist() == ["95.0", "–"]


# --------------------------------------------------------------------------------------------
# the figure


def test_plot_with_numeric_categorical_and_no_knob(bad: sd.Scenario) -> None:
    matplotlib.use("Agg")
    numeric = _table([(5, 9, 20, 0, 20), (10, 19, 20, 1, 20)])
    fig = sd.plots.plot_detection(numeric, title="numeric")
    rates, delays = fig.axes
    bars = {c.get_label(): c for c in rates.containers}
    caught = bars["P(catch): bad release aborted"]
    data, (lower, upper), _ = caught.lines
    assert data.get_xdata().tolist() == [5.0, 10.0]
    assert data.get_ydata().tolist() == [0.45, 0.95]
    bad_rows = numeric[numeric["release"] == "bad"]
    assert lower.get_ydata().tolist() == pytest.approx(bad_rows["p_abort_lo"].tolist())
    assert upper.get_ydata().tolist() == pytest.approx(bad_rows["p_abort_hi"].tolist())
    assert "P(false abort): good release aborted" in bars
    assert delays.get_ylabel().startswith("time to detect")
    fig.savefig(Path("/dev/null"), format="png")

    words = numeric.rename(columns={"strategies.canary.steps[0].setWeight": "service.policy"})
    words["service.policy"] = ["round-robin"] * 2 + ["least-request"] * 2
    fig = sd.plots.plot_detection(words)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["round-robin", "least-request"]

    single = sd.detection(bad, "canary", runs=3)
    fig = sd.plots.plot_detection(single)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["this scenario"]
    fig.savefig(Path("/dev/null"), format="svg")
    with pytest.raises(ValueError, match="not a detection table"):
        sd.plots.plot_detection(pd.DataFrame({"x": [1]}))


# --------------------------------------------------------------------------------------------
# the command line


def test_cli_detect_prints_the_table_and_findings(bad_file: Path, capsys) -> None:
    code = main(["detect", str(bad_file), "--strategy", "canary", "--runs", "5", "--vary",
                 f"{RATE}=20,50", "--quiet", "--jobs", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("tiny: canary, 5 runs per release from seed 0, "
                          "traffic.arrivals.rateRps = 20, 50\n")
    rows = [line.split() for line in out.splitlines()[2:6]]
    assert [row[:4] for row in rows] == [["20", "bad", "5", "5"], ["20", "good", "5", "0"],
                                         ["50", "bad", "5", "5"], ["50", "good", "5", "0"]]
    assert "100 % (57–100 %)" in out
    assert "\nFindings:\n  At rateRps = 20 the bad release is caught in every one of 5 runs" in out
    assert all(len(line) <= 100 for line in out.splitlines()[6:])


def test_cli_detect_json(bad_file: Path, capsys) -> None:
    code = main(["detect", str(bad_file), "--strategy", "canary", "--runs", "3", "--seed", "4",
                 "--json", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    document = json.loads(out, parse_constant=refuse)
    assert {k: document[k] for k in ("scenario", "strategy", "seed", "runs", "level", "vary")} \
        == {"scenario": "tiny", "strategy": "canary", "seed": 4, "runs": 3, "level": 0.95,
            "vary": None}
    assert [row["release"] for row in document["rows"]] == ["bad", "good"]
    assert list(document["rows"][0])[:8] == PINNED
    assert document["rows"][1]["detect_s_mean"] is None  # NaN → null
    expected = sd.detection(sd.load_scenario(bad_file), "canary", runs=3, seed=4)
    assert [row["aborts"] for row in document["rows"]] == expected["aborts"].tolist()
    assert document["findings"] == detection_findings(expected)


@pytest.mark.parametrize(("extra", "message"), [
    (["--strategy", "nope"], "--strategy: no strategy 'nope' (known: canary)"),
    (["--strategy", "canary", "--vary", f"{RATE}=1", "--vary", "pod.preStopSeconds=0"],
     "--vary: one knob at a time"),
    (["--strategy", "canary", "--vary", "traffic.arrivals.rateRpx=1,2"],
     "traffic.arrivals.rateRpx: unknown field (did you mean rateRps?)"),
    (["--strategy", "canary", "--vary", f"{RATE}=1,-1"], "rateRps: must be >= 0"),
    (["--strategy", "canary", "--runs", "0"], "--runs"),
    (["--strategy", "canary", "--runs", "100000000"], "--runs: too many runs"),
    ([], "--strategy"),
])
def test_cli_detect_bad_input_is_one_line_and_exit_2(bad_file: Path, capsys, extra,
                                                     message) -> None:
    try:
        code = main(["detect", str(bad_file), "--quiet", *extra])
    except SystemExit as usage:  # argparse's own errors: one line too
        code = usage.code
    assert code == 2
    assert message in _one_error_line(capsys)


# --------------------------------------------------------------------------------------------
# the report


def test_report_with_a_detection_section(bad: sd.Scenario, bad_file: Path, tmp_path) -> None:
    request = {"strategy": "canary", "runs": 4, "vary": {RATE: [0.5, 50]}}
    planned = planned_files(bad, "csv", None, request)
    assert {"detection.csv", "figures/detection.png", "figures/detection.svg"} <= set(planned)
    steps: list[tuple[int, int]] = []
    out = write_report(bad, tmp_path / "report", seed=2, source=str(bad_file),
                       detection=request, progress=lambda done, total: steps.append((done, total)))
    total = report_steps(bad, 1, None, request)
    # the comparison's one run, the study's runs, then 4 figures: comparison, tradeoff,
    # timeline-canary and detection
    assert total == 1 + 2 * 4 * 2 + 4
    assert steps[-1] == (total, total)
    assert [done for done, _ in steps] == list(range(1, total + 1))
    written = pd.read_csv(out / "detection.csv")
    expected = sd.detection(bad, "canary", runs=4, seed=2, vary={RATE: [0.5, 50]})
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert (out / "figures" / "detection.png").stat().st_size > 0
    assert (out / "figures" / "detection.svg").stat().st_size > 0
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Detection</h2>"):]
    assert 'id="detection"' in section
    assert "4 runs of each, for each value of <code>traffic.arrivals.rateRps</code>" in section
    findings = re.findall(r"<li>(.*?)</li>", section[:section.index("</ul>")])
    assert findings == [line.replace("'", "&#x27;") for line in detection_findings(expected)]
    assert '<img alt="Detection: canary"' in section
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert set(planned) <= set(meta["files"])


def test_cli_report_detect_and_its_bad_input(bad_file: Path, tmp_path, capsys) -> None:
    out = tmp_path / "with"
    code = main(["report", str(bad_file), "--out", str(out), "--quiet", "--jobs", "1",
                 "--detect", "canary", "--runs", "3"])
    assert code == 0, capsys.readouterr().err
    assert (out / "detection.csv").is_file()
    assert "<h2>Detection</h2>" in (out / "report.html").read_text(encoding="utf-8")
    capsys.readouterr()
    for extra, message in ((["--detect", "nope"], "--detect: no strategy 'nope'"),
                           (["--runs", "3"], "--runs: only with --detect"),
                           (["--detect", "canary", "--vary", "pod.preStopSecs=1,2"],
                            "pod.preStopSecs: unknown field")):
        never = tmp_path / "never"
        assert main(["report", str(bad_file), "--out", str(never), "--quiet", *extra]) == 2
        assert message in _one_error_line(capsys)
        assert not never.exists()
