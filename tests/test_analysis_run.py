"""Argo Rollouts analysis in the simulation: measurements on the clock, phases, reactions.

The timing rules (analysis.go generateMetricTasks): first measurement at start + initialDelay,
then one every interval, 10 s after an Error; failureLimit N fails on measurement N + 1. The
phase rules are tested on their own in test_rules_argo_analysis.py; here the simulation must
put them on the right clock and react as A20 says.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

import simdeploy as sd


def _metric(name: str = "success-rate", *, query: str = "success-rate",
            condition: str = "result[0] >= 0.95", window: str = "30s", **fields: Any
            ) -> dict[str, Any]:
    return {"name": name, "successCondition": condition,
            "provider": {"simulation": {"query": query, "window": window}}, **fields}


def _run(tiny_mapping: dict[str, Any], strategy: dict[str, Any], *, error_rate: float = 0.0,
         rate: float = 50.0, duration: float = 300.0, seed: int = 0) -> sd.RunResult:
    tiny_mapping["duration"] = duration
    tiny_mapping["traffic"]["arrivals"]["rateRps"] = rate
    tiny_mapping["release"]["new"]["errorRate"] = error_rate
    tiny_mapping["release"]["current"]["errorRate"] = 0.0
    tiny_mapping["strategies"] = {"s": strategy}
    return sd.run(sd.load_scenario(tiny_mapping), seed=seed)


def _rows(result: sd.RunResult, kind: str) -> pd.DataFrame:
    return result.events[result.events.kind == kind]


def test_failure_limit_two_aborts_on_the_third_failed_measurement(tiny_mapping) -> None:
    # release at 10 s; the background run starts with the first step; initialDelay 10 s,
    # interval 20 s: measurements at 20, 40, 60; the third failure (> failureLimit 2) aborts
    strategy = {"type": "Canary", "steps": [{"setWeight": 50}, {"pause": {"duration": "5m"}}],
                "analysis": {"metrics": [_metric(interval="20s", initialDelay="10s",
                                                 failureLimit=2)]}}
    result = _run(tiny_mapping, strategy, error_rate=0.5)
    measured = _rows(result, "measurement")
    assert measured.time_s.tolist() == pytest.approx([20.0, 40.0, 60.0])
    assert measured.detail.tolist() == ["Failed"] * 3
    assert measured.value.between(0.3, 0.8).all()  # about half of v2's requests succeed
    assert _rows(result, "abort").time_s.tolist() == pytest.approx([60.0])
    summary = result.summary
    assert summary["outcome"] == "aborted"
    assert summary["analysis_verdict"] == "Failed"
    first_response = 60.0 - summary["detected_s"]
    assert 10.0 < first_response < 20.0  # v2 answered soon after its weight applied
    assert 0 <= summary["restored_s"] <= 2.0 + 1e-9  # one propagation delay (uniform 0.5–2 s)
    weights = _rows(result, "weight")
    assert weights.weight.tolist() == [50, 0]
    assert summary["requests_failed_new"] > 0
    assert summary["users_failed_new"] <= summary["users_with_errors"]


def test_a_good_release_passes_the_inline_step_after_count_measurements(tiny_mapping) -> None:
    strategy = {"type": "Canary", "steps": [
        {"setWeight": 50},
        {"analysis": {"metrics": [_metric(interval="15s", count=3, initialDelay="10s")]}},
        {"setWeight": 100}]}
    result = _run(tiny_mapping, strategy)
    measured = _rows(result, "measurement")
    assert measured.detail.tolist() == ["Successful"] * 3
    start = measured.time_s.iloc[0]
    assert measured.time_s.tolist() == pytest.approx([start, start + 15, start + 30])
    # the step blocks: the next weight comes only after the last measurement
    weights = _rows(result, "weight")
    assert weights.weight.tolist() == [50, 100]
    assert weights.time_s.iloc[1] > start + 30
    assert result.summary["outcome"] == "completed"
    assert result.summary["analysis_verdict"] == "Successful"
    assert pd.isna(result.summary["detected_s"])
    assert pd.isna(result.summary["restored_s"])


def test_no_traffic_is_an_error_retried_every_ten_seconds_then_the_run_errs(tiny_mapping) -> None:
    # the canary gets weight 0: `result[0]` of an empty vector is an Error; after an Error the
    # next measurement comes 10 s later whatever the interval; more than 4 in a row (the
    # default consecutiveErrorLimit) ends the metric Error, which aborts (A18, A20)
    strategy = {"type": "Canary", "steps": [
        {"setWeight": 0},
        {"analysis": {"metrics": [_metric(interval="1m", count=10)]}}]}
    result = _run(tiny_mapping, strategy)
    measured = _rows(result, "measurement")
    assert measured.detail.tolist() == ["Error"] * 5
    assert measured.value.isna().all()
    start = measured.time_s.iloc[0]
    assert measured.time_s.tolist() == pytest.approx([start + 10 * i for i in range(5)])
    assert result.summary["outcome"] == "aborted"
    assert result.summary["analysis_verdict"] == "Error"
    assert pd.isna(result.summary["detected_s"])  # v2 never answered


@pytest.mark.parametrize(("policy", "outcome"), [("abort", "aborted"),
                                                 ("promote", "completed")])
def test_inconclusive_aborts_or_goes_on_as_the_scenario_says(tiny_mapping, policy: str,
                                                             outcome: str) -> None:
    # success-rate ≈ 0.9: neither >= 0.95 (success) nor < 0.8 (failure) holds
    metric = _metric(interval="15s", count=2, failureCondition="result[0] < 0.8",
                     initialDelay="20s")
    strategy = {"type": "Canary", "steps": [
        {"setWeight": 50},
        {"analysis": {"metrics": [metric], "onInconclusive": policy}}]}
    result = _run(tiny_mapping, strategy, error_rate=0.1)
    measured = _rows(result, "measurement")
    assert measured.detail.iloc[0] == "Inconclusive"
    assert len(measured) == 1  # inconclusiveLimit 0: the first Inconclusive ends the run
    assert result.summary["analysis_verdict"] == "Inconclusive"
    assert result.summary["outcome"] == outcome


def test_a_dry_run_metric_is_measured_but_never_aborts(tiny_mapping) -> None:
    strategy = {"type": "Canary", "steps": [
        {"setWeight": 50},
        {"analysis": {"metrics": [_metric(interval="15s", count=3, dryRun=True,
                                          initialDelay="10s")]}},
        {"setWeight": 100}]}
    result = _run(tiny_mapping, strategy, error_rate=0.5)
    assert _rows(result, "measurement").detail.tolist() == ["Failed"]
    assert result.summary["outcome"] == "completed"


def test_latency_is_measured_in_milliseconds_against_stable(tiny_mapping) -> None:
    tiny_mapping["release"]["new"]["serviceTime"] = {"type": "constant", "value": "300ms"}
    tiny_mapping["release"]["current"]["serviceTime"] = {"type": "constant", "value": "100ms"}
    metric = _metric("p95-regression", query="latency-p95", interval="20s", count=2,
                     condition="result[0] < 50", initialDelay="20s")
    metric["provider"]["simulation"]["version"] = "canary-minus-stable"
    strategy = {"type": "Canary", "steps": [
        {"setWeight": 50}, {"analysis": {"metrics": [metric]}}]}
    result = _run(tiny_mapping, strategy, rate=10)
    measured = _rows(result, "measurement")
    assert measured.detail.tolist() == ["Failed"]
    # no queueing at this load: the p95s are the service times, 300 − 100 ms
    assert measured.value.iloc[0] == pytest.approx(200.0, abs=1.0)
    assert result.summary["outcome"] == "aborted"


def test_the_background_run_is_stopped_successful_at_promotion(tiny_mapping) -> None:
    strategy = {"type": "Canary", "steps": [{"setWeight": 50}, {"pause": {"duration": "30s"}}],
                "analysis": {"startingStep": 1, "metrics": [_metric(interval="10s")]}}
    result = _run(tiny_mapping, strategy)
    started = _rows(result, "analysis")
    assert started.detail.tolist() == ["background analysis started",
                                       "background analysis Successful"]
    pause_start = _rows(result, "pause").time_s.iloc[0]
    assert started.time_s.iloc[0] == pytest.approx(pause_start)  # startingStep 1: the pause
    assert result.summary["outcome"] == "completed"
    assert result.summary["analysis_verdict"] == "Successful"


def test_blue_green_pre_promotion_failure_never_switches(tiny_mapping) -> None:
    # the preview gets no user traffic: a success-rate query of green has no data (Error)
    strategy = {"type": "BlueGreen", "prePromotionAnalysis": {
        "metrics": [_metric(interval="10s", count=2)]}}
    result = _run(tiny_mapping, strategy)
    assert _rows(result, "switch").empty
    assert _rows(result, "weight").empty
    assert result.summary["outcome"] == "aborted"
    assert result.summary["users_exposed_new"] == 0
    assert result.summary["analysis_verdict"] == "Error"


def test_blue_green_post_promotion_failure_switches_back(tiny_mapping) -> None:
    strategy = {"type": "BlueGreen", "scaleDownDelaySeconds": 120, "postPromotionAnalysis": {
        "metrics": [_metric(interval="10s", count=3)]}}
    result = _run(tiny_mapping, strategy, error_rate=0.5)
    assert _rows(result, "weight").weight.tolist() == [100, 0]
    abort = _rows(result, "abort")
    assert abort.detail.iloc[0].startswith("post-promotion analysis Failed")
    assert result.summary["outcome"] == "aborted"
    assert result.summary["restored_s"] <= 2.0 + 1e-9


def test_blue_green_post_promotion_success_keeps_blue_until_it_ends(tiny_mapping) -> None:
    strategy = {"type": "BlueGreen", "scaleDownDelaySeconds": 5, "postPromotionAnalysis": {
        "metrics": [_metric(interval="20s", count=3)]}}
    result = _run(tiny_mapping, strategy)
    last = _rows(result, "measurement").time_s.max()
    blue_down = result.events[(result.events.kind == "scale") & (result.events.version == "v1")
                              & (result.events.replicas == 0)]
    assert blue_down.time_s.iloc[0] == pytest.approx(last)
    assert result.summary["outcome"] == "completed"
    assert result.summary["analysis_verdict"] == "Successful"


def test_a_condition_that_does_not_parse_is_an_error_not_a_crash(tiny_mapping) -> None:
    strategy = {"type": "Canary", "steps": [
        {"setWeight": 50},
        {"analysis": {"metrics": [_metric(interval="1m", count=1, initialDelay="10s",
                                          condition="result[0] >=")]}}]}
    result = _run(tiny_mapping, strategy)
    # an Error adds nothing to count and is retried after 10 s: the fifth in a row ends it
    assert _rows(result, "measurement").detail.tolist() == ["Error"] * 5
    assert result.summary["analysis_verdict"] == "Error"


def test_right_after_a_weight_change_the_window_has_no_canary_data(tiny_mapping) -> None:
    # Argo measures as soon as the run starts: without initialDelay the first window looks
    # back over a time the canary had no traffic (J17), so the first measurement errs
    strategy = {"type": "Canary", "steps": [
        {"setWeight": 50},
        {"analysis": {"metrics": [_metric(interval="15s", count=2)]}}]}
    result = _run(tiny_mapping, strategy)
    assert _rows(result, "measurement").detail.tolist() == ["Error", "Successful",
                                                            "Successful"]


# --------------------------------------------------------------------------------------------
# rollback paths: Argo progressDeadlineAbort, kubectl rollout undo on a condition


def _never_ready(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["release"]["new"]["becomesReady"] = False
    tiny_mapping["deployment"]["progressDeadlineSeconds"] = 60


@pytest.mark.parametrize("strategy", [
    {"type": "Canary", "progressDeadlineAbort": True,
     "steps": [{"setWeight": 50}, {"pause": {"duration": "1m"}}]},
    {"type": "BlueGreen", "progressDeadlineAbort": True},
    {"type": "RollingUpdate", "undoOnProgressDeadline": True},
])
def test_a_stuck_release_is_rolled_back_at_the_progress_deadline(tiny_mapping,
                                                                 strategy) -> None:
    _never_ready(tiny_mapping)
    result = _run(tiny_mapping, strategy)
    deadline = _rows(result, "progress_deadline_exceeded").time_s
    assert len(deadline) >= 1
    # no progress after the first new pods were created: the deadline is 60 s later
    assert deadline.iloc[0] == pytest.approx(10.0 + 60.0, abs=1.0)
    assert result.summary["outcome"] == "aborted"
    stopped = result.events[result.events.kind.isin(["abort", "undo"])]
    assert stopped.time_s.iloc[0] == pytest.approx(deadline.iloc[0])
    assert "progress deadline exceeded" in stopped.detail.iloc[0]
    # the new version never became Ready, so nothing of it answered
    assert pd.isna(result.summary["detected_s"])
    assert result.summary["users_exposed_new"] == 0


@pytest.mark.parametrize("strategy", [
    {"type": "Canary", "steps": [{"setWeight": 50}, {"pause": {"duration": "1m"}}]},
    {"type": "BlueGreen"},
    {"type": "RollingUpdate"},
])
def test_without_the_option_a_stuck_release_only_reports(tiny_mapping, strategy) -> None:
    _never_ready(tiny_mapping)
    result = _run(tiny_mapping, strategy)
    assert result.summary["progress_deadline_exceeded"]
    assert result.summary["outcome"] == "stalled"


def test_monitoring_undoes_a_rolling_update_that_fails(tiny_mapping) -> None:
    strategy = {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0,
                "healthGate": {"maxErrorRate": 0.05, "window": "20s", "interval": "10s",
                               "minRequests": 20}}
    result = _run(tiny_mapping, strategy, error_rate=0.5)
    failed = _rows(result, "analysis_failed").time_s.iloc[0]
    undo = _rows(result, "undo")
    assert undo.time_s.iloc[0] == pytest.approx(failed)
    assert undo.detail.iloc[0] == "kubectl rollout undo: health gate failed"
    assert result.summary["outcome"] == "aborted"
    assert result.summary["analysis_verdict"] == "Failed"
    assert result.summary["detected_s"] > 0
    # undone: every pod is the old version again at the end
    last = result.timeline[result.timeline.time_s == result.timeline.time_s.max()]
    assert last.set_index("version").pods.to_dict() == {"v1": 3, "v2": 0}


# --------------------------------------------------------------------------------------------
# a good release at low traffic: the false-abort rate the rules imply


def test_a_good_release_at_low_traffic_is_aborted_as_often_as_the_rules_imply(
        tiny_mapping) -> None:
    """One measurement of a success rate over W = 20 s, taken once the 10 % weight has long
    reached the proxies; consecutiveErrorLimit 0, so the first Error ends the run Error. With
    Poisson arrivals at λ = 0.5/s split by request, the canary's arrivals are Poisson at
    0.1·λ, so the window is empty, `result[0]` errs and the good release is aborted with
    probability exp(−0.1·λ·W) = exp(−1) ≈ 0.368 (A17, A18, A20)."""
    metric = _metric(count=1, initialDelay="60s", window="20s", consecutiveErrorLimit=0)
    strategy = {"type": "Canary", "steps": [
        {"setWeight": 10}, {"analysis": {"metrics": [metric]}}]}
    tiny_mapping["duration"] = 120
    tiny_mapping["traffic"]["arrivals"]["rateRps"] = 0.5
    tiny_mapping["release"]["current"]["errorRate"] = 0.0
    tiny_mapping["release"]["new"]["errorRate"] = 0.0
    tiny_mapping["strategies"] = {"s": strategy}
    scenario = sd.load_scenario(tiny_mapping)
    table = sd.compare(scenario, replications=300, seed=0)
    aborted = (table.outcome == "aborted").mean()
    expected = math.exp(-1.0)
    assert aborted == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / 300))
    assert set(table.analysis_verdict) == {"Successful", "Error"}
    assert ((table.analysis_verdict == "Error") == (table.outcome == "aborted")).all()


def test_the_verdict_is_the_worst_of_every_analysis(tiny_mapping) -> None:
    # a health gate that never fails beside an Argo run that does: the verdict stays Failed
    strategy = {"type": "Canary", "steps": [{"setWeight": 50}, {"pause": {"duration": "5m"}}],
                "healthGate": {"maxErrorRate": 0.9, "window": "30s", "interval": "10s"},
                "analysis": {"metrics": [_metric(interval="20s", initialDelay="10s")]}}
    result = _run(tiny_mapping, strategy, error_rate=0.5)
    assert result.summary["outcome"] == "aborted"
    assert result.summary["analysis_verdict"] == "Failed"
