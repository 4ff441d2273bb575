"""Flagger's canary loop in the simulation (simdeploy.strategies.flagger), against
shared/reference/semantics.md §3 (F1-F16) and fluxcd/flagger pkg/controller/scheduler.go.

The tick times below are worked out by hand from Flagger's checklist, not computed with
simdeploy.rules.flagger: t0 is the release (the tick that detects the new revision), I the
analysis interval.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from builders import scenario
from hypothesis import given, settings
from hypothesis import strategies as st

import simdeploy as sd
from simdeploy.records import OUTCOMES

T0 = 10.0  # builders.BASE releases at 10 s


def flagger(analysis: dict[str, Any], *, new: dict[str, Any] | None = None,
            duration: float = 200, replicas: int = 4, **overrides: Any) -> sd.Scenario:
    return scenario(duration=duration, deployment={"replicas": replicas},
                    release={"new": {"name": "v2", **(new or {})}},
                    strategies={"f": {"type": "Canary", "analysis": analysis}}, **overrides)


def rows(result: sd.RunResult, kind: str) -> pd.DataFrame:
    ev = result.events
    return ev[ev.kind == kind]


def weights(result: sd.RunResult) -> list[int]:
    return [int(w) for w in rows(result, "weight").weight]


def phases(result: sd.RunResult) -> list[tuple[float, str]]:
    return [(r.time_s, r.detail) for r in rows(result, "phase").itertuples()]


SUCCESS_99 = {"name": "request-success-rate", "threshold": 99}


# --- rollback -----------------------------------------------------------------------------------


@pytest.mark.parametrize("error_rate", [1.0, 0.5])
@pytest.mark.parametrize("threshold", [1, 3])
def test_failing_canary_rolls_back_after_threshold_failed_checks(threshold: int,
                                                                 error_rate: float) -> None:
    """With threshold N the rollback comes at t0 + (N + 2)·I.

    t0: the new revision is detected, the canary is scaled from 0, phase Progressing, no weight
    (F2). t0 + I: the gates pass (the canary is Ready within I), weight 0 and no iterations
    means the pre-rollout tick: no metric check (F8), and the canary gets its first step, 20.
    t0 + 2I … t0 + (N + 1)I: N ticks whose success-rate check fails, each adding one to
    failedChecks and ending the tick (F11, F12). t0 + (N + 2)I: failedChecks == N >= N at the
    start of the tick → rollback: 100/0 to the primary, canary to 0, Failed (F13).
    """
    interval = 10
    result = sd.run(flagger({"interval": interval, "stepWeight": 20, "threshold": threshold,
                             "metrics": [SUCCESS_99]}, new={"errorRate": error_rate}))
    abort_s = T0 + (threshold + 2) * interval
    assert result.summary["outcome"] == "aborted"
    assert rows(result, "abort").time_s.tolist() == [abort_s]
    measurements = rows(result, "measurement")
    assert measurements.detail.tolist() == ["Failed"] * threshold
    assert measurements.time_s.tolist() == [T0 + k * interval for k in range(2, threshold + 2)]
    assert (measurements.value < 99).all()
    if error_rate == 0.5:
        assert measurements.value.between(30, 70).all()
    assert weights(result) == [20, 0]
    assert rows(result, "weight").time_s.tolist() == [T0 + interval, abort_s]
    assert phases(result) == [(T0, "Progressing"), (abort_s, "Failed")]
    canary_scales = rows(result, "scale").query("version == 'v2'")
    assert canary_scales.replicas.tolist() == [4, 0]
    assert canary_scales.time_s.tolist() == [T0, abort_s]
    assert result.summary["analysis_verdict"] == "Failed"
    assert result.summary["rollout_duration_s"] == (threshold + 2) * interval
    assert result.summary["restored_s"] <= 2.0  # the weight-0 route propagates (1 s here)
    # the kinds in order: the failed checks, then the decision
    kinds = result.events.kind.tolist()
    assert kinds.index("abort") > max(i for i, k in enumerate(kinds) if k == "measurement")


def test_failed_checks_are_cumulative_not_consecutive() -> None:
    """A flaky canary (errorRate 0.3 against a 90 % success-rate check, a 5 s window at 20 %
    traffic): some ticks pass, some fail; the rollback comes at the tick after the third
    failure, whatever passed in between (F12)."""
    result = sd.run(flagger({"interval": 10, "stepWeight": 5, "threshold": 3,
                             "metrics": [{"name": "request-success-rate", "threshold": 75,
                                          "interval": "5s"}]},
                            new={"errorRate": 0.25}, duration=400,
                            traffic={"arrivals": {"type": "poisson", "rateRps": 200}}),
                    seed=3)
    checks = rows(result, "measurement")
    failed = checks[checks.detail == "Failed"]
    assert len(failed) == 3
    assert (checks.detail == "Successful").any()  # not three in a row from the start
    assert rows(result, "abort").time_s.item() == failed.time_s.iloc[2] + 10


# --- promotion ----------------------------------------------------------------------------------


def test_good_release_promotes_with_the_primary_rolling_out_under_max_weight() -> None:
    """stepWeight 20, maxWeight 50, I = 30 s (long enough for the primary's rolling update):

    t0 detect; t0+I 20 (pre-rollout tick); t0+2I 40; t0+3I 60 (20 < 50 before the step:
    overshoot, F7); t0+4I 60 >= 50 → the primary gets the new spec, Promoting (F7);
    t0+5I the primary is ready → all traffic back to it, Finalising (F9);
    t0+6I canary scaled to 0, Succeeded.
    """
    interval = 30
    result = sd.run(flagger({"interval": interval, "stepWeight": 20, "maxWeight": 50,
                             "metrics": [SUCCESS_99]}, duration=260), keep_requests=True)
    t = [T0 + k * interval for k in range(7)]
    assert result.summary["outcome"] == "completed"
    assert result.summary["analysis_verdict"] == "Successful"
    assert phases(result) == [(t[0], "Progressing"), (t[4], "Promoting"),
                              (t[5], "Finalising"), (t[6], "Succeeded")]
    assert rows(result, "promote").time_s.tolist() == [t[4]]
    assert list(zip(rows(result, "weight").time_s, weights(result))) == [
        (t[1], 20), (t[2], 40), (t[3], 60), (t[5], 0)]
    assert rows(result, "measurement").detail.tolist() == ["Successful"] * 3
    assert result.summary["rollout_duration_s"] == 6 * interval

    # the primary's rolling update: a second v2 ReplicaSet grows to 4 while the canary keeps
    # its 4 pods and its 60 % (no weight row between the promotion and Finalising)
    scales = rows(result, "scale")
    primary_v2 = scales[(scales.version == "v2") & scales.detail.str.startswith("primary")]
    assert primary_v2.replicas.max() == 4
    assert (primary_v2.time_s > t[4]).all()
    assert (primary_v2.time_s < t[5]).all()
    assert scales[scales.version == "v1"].replicas.tolist()[-1] == 0
    tl = result.timeline
    v2_pods = tl[tl.version == "v2"].set_index("time_s").pods
    assert v2_pods.loc[t[5] - 5] == 8  # canary 4 + primary 4
    assert v2_pods.loc[t[6] + 5] == 4  # the canary is gone
    canary = scales[(scales.version == "v2") & scales.detail.str.startswith("canary")]
    assert canary.replicas.tolist() == [4, 0]
    assert canary.time_s.tolist() == [t[0], t[6]]

    # traffic: ~60 % to v2 before the primary rolls; all of it once the primary is v2
    requests = result.requests
    before = requests[(requests.arrival_s >= t[3] + 2) & (requests.arrival_s < t[4])]
    assert (before.version == "v2").mean() == pytest.approx(0.6, abs=0.1)
    after = requests[requests.arrival_s >= t[5] - 10]
    assert (after.version == "v2").all()
    assert after.outcome.isin(["ok", "unfinished"]).all()
    # the primary's share follows its Ready pods, so none is sent to a version without pods
    assert result.summary["requests_no_endpoint"] == 0
    assert result.summary["users_failed_new"] == 0


@pytest.mark.parametrize(("analysis", "expected"), [
    ({"stepWeight": 20, "maxWeight": 50}, [20, 40, 60, 0]),  # overshoot
    ({"stepWeight": 30}, [30, 60, 90, 100, 0]),  # capped at 100, maxWeight 100
    ({"stepWeights": [5, 30, 60]}, [5, 30, 60, 0]),
    ({"stepWeight": 25, "maxWeight": 50, "stepWeightPromotion": 30}, [25, 50, 20, 0]),
])
def test_weight_rows_are_flaggers_canary_weight(analysis: dict[str, Any],
                                                expected: list[int]) -> None:
    result = sd.run(flagger({"interval": 10, **analysis}, duration=300))
    assert result.summary["outcome"] == "completed"
    assert weights(result) == expected


def test_step_weight_promotion_moves_traffic_back_one_step_per_tick() -> None:
    """maxWeight 50 reached at t0+2I; promote t0+3I; primary 50→80 at t0+4I (canary 20, still
    Promoting), 80→100 at t0+5I → Finalising; Succeeded t0+6I (I = 30 s)."""
    result = sd.run(flagger({"interval": 30, "stepWeight": 25, "maxWeight": 50,
                             "stepWeightPromotion": 30}, duration=260))
    t = [T0 + k * 30 for k in range(7)]
    assert list(zip(rows(result, "weight").time_s, weights(result)))[-2:] == [(t[4], 20),
                                                                             (t[5], 0)]
    assert phases(result)[1:] == [(t[3], "Promoting"), (t[5], "Finalising"),
                                  (t[6], "Succeeded")]


# --- the checks ---------------------------------------------------------------------------------


def test_request_duration_fails_a_slow_new_version() -> None:
    slow = {"serviceTime": 0.2}  # p99 200 ms (little queueing: 12.5 rps × 0.2 s per pod)
    check = {"name": "request-duration", "threshold": 150}
    bad = sd.run(flagger({"interval": 10, "stepWeight": 20, "metrics": [check]}, new=slow))
    assert bad.summary["outcome"] == "aborted"
    values = rows(bad, "measurement").value
    assert rows(bad, "measurement").detail.tolist() == ["Failed"]
    assert values.item() == pytest.approx(200, abs=5)
    ok = sd.run(flagger({"interval": 10, "stepWeight": 50,
                         "metrics": [{**check, "threshold": 300}]}, new=slow))
    assert ok.summary["outcome"] == "completed"
    assert set(rows(ok, "measurement").detail) == {"Successful"}


@pytest.mark.parametrize(("metric", "new", "fails"), [
    ({"name": "request-success-rate", "thresholdRange": {"min": 99}}, {"errorRate": 0.5}, True),
    ({"name": "request-success-rate", "thresholdRange": {"min": 99}}, {}, False),
    # the range alone decides: a perfect success rate above max fails
    ({"name": "request-success-rate", "threshold": 1, "thresholdRange": {"max": 40}}, {}, True),
    ({"name": "request-duration", "thresholdRange": {"min": 1000}}, {}, True),
    ({"name": "request-duration", "thresholdRange": {"max": 1000}}, {}, False),
])
def test_threshold_range(metric: dict[str, Any], new: dict[str, Any], fails: bool) -> None:
    result = sd.run(flagger({"interval": 10, "stepWeight": 50, "metrics": [metric]}, new=new))
    first = rows(result, "measurement").detail.iloc[0]
    assert first == ("Failed" if fails else "Successful")
    assert result.summary["outcome"] == ("aborted" if fails else "completed")


def test_no_values_counts_as_a_failed_check() -> None:
    """Blue/green without mirroring sends the canary no request during its iterations, so its
    success rate has no values: each check fails (F11), and threshold 2 rolls back at t0 + 4I
    (t0+I is the pre-rollout tick, t0+2I and t0+3I fail)."""
    result = sd.run(flagger({"interval": 10, "iterations": 5, "threshold": 2,
                             "metrics": [SUCCESS_99]}))
    checks = rows(result, "measurement")
    assert checks.detail.tolist() == ["Failed", "Failed"]
    assert checks.value.isna().all()
    assert rows(result, "abort").time_s.item() == T0 + 4 * 10
    assert result.summary["outcome"] == "aborted"
    assert result.summary["users_exposed_new"] == 0


def test_only_the_first_failing_metric_is_checked() -> None:
    """runBuiltinMetricChecks stops at the first failed metric of a tick."""
    metrics = [{"name": "request-duration", "threshold": 1},  # fails (p99 ≈ 46 ms)
               SUCCESS_99]
    result = sd.run(flagger({"interval": 10, "stepWeight": 20, "threshold": 2,
                             "metrics": metrics}))
    assert rows(result, "measurement").detail.tolist() == ["Failed", "Failed"]


# --- blue/green and mirroring -------------------------------------------------------------------


def test_blue_green_gives_users_no_canary_until_the_iterations_are_done() -> None:
    """iterations 3, I = 30: t0+I … t0+3I iterate (the canary gets nothing), t0+4I routes all
    traffic to the canary, t0+5I promotes, t0+6I the primary is ready → back to it,
    Finalising, t0+7I Succeeded (F15)."""
    interval = 30
    result = sd.run(flagger({"interval": interval, "iterations": 3}, duration=260),
                    keep_requests=True)
    t = [T0 + k * interval for k in range(8)]
    switch = t[4]
    assert list(zip(rows(result, "weight").time_s, weights(result))) == [(switch, 100),
                                                                         (t[6], 0)]
    assert phases(result) == [(t[0], "Progressing"), (t[5], "Promoting"),
                              (t[6], "Finalising"), (t[7], "Succeeded")]
    requests = result.requests
    assert (requests[requests.arrival_s < switch].version == "v1").all()
    assert (requests[requests.arrival_s > switch + 2].version == "v2").all()
    assert result.summary["outcome"] == "completed"


def test_mirrored_requests_never_fail_a_user() -> None:
    """A new version that fails everything, mirrored: the copies fail, no user sees it.
    t0+I mirrors (the route stays 100/0), t0+2I and t0+3I fail their checks on the mirrored
    traffic, t0+4I rolls back (F16, threshold 2)."""
    result = sd.run(flagger({"interval": 10, "stepWeight": 20, "threshold": 2, "mirror": True,
                             "metrics": [SUCCESS_99]}, new={"errorRate": 1.0}),
                    keep_requests=True)
    s = result.summary
    assert s["outcome"] == "aborted"
    assert rows(result, "abort").time_s.item() == T0 + 4 * 10
    assert rows(result, "mirror").time_s.tolist() == [T0 + 10, T0 + 40]
    assert weights(result) == []
    checks = rows(result, "measurement")
    assert checks.detail.tolist() == ["Failed", "Failed"]
    assert (checks.value < 5).all()
    assert s["requests_mirrored"] > 500
    assert s["requests_mirrored_failed"] == s["requests_mirrored"]
    assert s["requests_failed"] == s["requests_failed_new"] == s["users_failed_new"] == 0
    assert s["users_exposed_new"] == 0
    assert sum(s[f"requests_{o}"] for o in OUTCOMES) == s["requests_total"]
    assert result.requests.id.tolist() == list(range(s["requests_total"]))
    assert (result.requests.version == "v1").all()
    assert result.timeline.requests.sum() == s["requests_total"]


def test_mirrored_copies_take_the_canarys_workers() -> None:
    """No errors, but a slow canary with no queue: the copies (one per request, 12.5/s per
    canary pod, 1 s each) overload its 8 workers. The copies fail, users do not."""
    result = sd.run(flagger({"interval": 10, "stepWeight": 20, "mirror": True,
                             "metrics": [SUCCESS_99]}, new={"serviceTime": 1.0},
                            pod={"queueLimit": 0}))
    s = result.summary
    assert 0 < s["requests_mirrored_failed"] < s["requests_mirrored"]
    assert rows(result, "measurement").detail.iloc[0] == "Failed"
    assert s["requests_failed_new"] == 0
    assert s["users_exposed_new"] == 0


def test_a_good_mirrored_release_mirrors_one_tick_then_steps() -> None:
    """mirror: t0+I mirrors, t0+2I checks the mirrored traffic and gives 10 % (90/10),
    t0+3I 20, t0+4I promotes (maxWeight 20)."""
    result = sd.run(flagger({"interval": 10, "stepWeight": 10, "maxWeight": 20, "mirror": True,
                             "metrics": [SUCCESS_99]}))
    assert rows(result, "mirror").time_s.tolist() == [T0 + 10, T0 + 20]
    assert list(zip(rows(result, "weight").time_s, weights(result)))[:2] == [(T0 + 20, 10),
                                                                            (T0 + 30, 20)]
    assert rows(result, "promote").time_s.item() == T0 + 40
    assert result.summary["requests_mirrored_failed"] == 0
    assert result.summary["outcome"] == "completed"


@pytest.mark.parametrize("mirror_weight", [None, 50])
def test_mirror_weight_is_the_share_of_requests_copied(mirror_weight: int | None) -> None:
    """Blue/green mirrors through its iterations: from t0+I to the switch at t0+5I, each
    applied one propagation delay (1 s) later."""
    analysis = {"interval": 10, "iterations": 4, "mirror": True}
    if mirror_weight is not None:
        analysis["mirrorWeight"] = mirror_weight
    result = sd.run(flagger(analysis), keep_requests=True)
    arrivals = result.requests.arrival_s
    window = ((arrivals >= T0 + 10 + 1) & (arrivals < T0 + 50 + 1)).sum()
    mirrored = result.summary["requests_mirrored"]
    if mirror_weight is None:
        assert mirrored == window
    else:
        assert mirrored / window == pytest.approx(0.5, abs=0.05)


# --- gates, deadlines, schema -------------------------------------------------------------------


def test_a_canary_that_never_becomes_ready_rolls_back_at_the_tick_after_the_deadline() -> None:
    """The canary's pods never pass readiness: ticks wait (retriable) until the Deployment
    reports ProgressDeadlineExceeded (45 s after its last progress at t0), then the next tick
    (t0 + 5I) rolls back (F3)."""
    result = sd.run(scenario(
        duration=200, deployment={"replicas": 4, "progressDeadlineSeconds": 45},
        release={"new": {"name": "v2", "becomesReady": False}},
        strategies={"f": {"type": "Canary", "analysis": {"interval": 10, "stepWeight": 20}}}))
    assert rows(result, "abort").time_s.item() == T0 + 50
    assert weights(result) == []
    assert result.summary["outcome"] == "aborted"


def test_waiting_between_ticks_with_everything_ready_is_not_a_stalled_rollout() -> None:
    """Kubernetes times out only a rollout in progress: 60 s ticks, a 30 s deadline."""
    result = sd.run(scenario(
        duration=400, deployment={"replicas": 4, "progressDeadlineSeconds": 30},
        strategies={"f": {"type": "Canary", "analysis": {"interval": 60, "stepWeight": 50}}}))
    assert result.summary["outcome"] == "completed"
    assert result.summary["progress_deadline_exceeded"] is False


def test_health_gate_still_rolls_a_flagger_canary_back() -> None:
    gate = {"maxErrorRate": 0.1, "window": 5, "interval": 2, "minRequests": 5}
    result = sd.run(scenario(
        duration=200, release={"new": {"name": "v2", "errorRate": 0.5}},
        strategies={"f": {"type": "Canary", "healthGate": gate,
                          "analysis": {"interval": 30, "stepWeight": 20}}}))
    assert result.summary["outcome"] == "aborted"
    assert rows(result, "abort").detail.item() == "health gate failed"
    assert rows(result, "abort").time_s.item() < T0 + 2 * 30


def test_ab_testing_match_without_iterations_is_refused_in_one_line() -> None:
    """Flagger ignores ``match`` without iterations (a progressive canary): simdeploy says so.
    The A/B runs themselves are in test_segments.py (they need traffic.segments)."""
    with pytest.raises(sd.ScenarioError) as caught:
        flagger({"stepWeight": 10, "match": [{"headers": {"x-canary": {"exact": "1"}}}]})
    assert str(caught.value) == (
        "<mapping>: strategies.f.analysis.match: A/B testing (match) needs iterations > 0: "
        "without them Flagger ignores match")


def test_ab_testing_without_segments_is_refused_in_one_line() -> None:
    with pytest.raises(sd.ScenarioError) as caught:
        flagger({"iterations": 3, "match": [{"headers": {"x-canary": {"exact": "1"}}}]})
    assert str(caught.value) == (
        "<mapping>: strategies.f.analysis.match: matches the headers of no segment in "
        "traffic.segments: no user would reach the canary")


@pytest.mark.parametrize("iterations", [1, 4])
def test_ab_testing_promotes_after_the_iterations(iterations: int) -> None:
    """A/B with K iterations, I = 30: the pre-rollout tick t0+I sets the header route and
    counts iteration 1, t0+2I … t0+K·I count the rest, t0+(K+1)I promotes, t0+(K+2)I removes
    the route (Finalising), t0+(K+3)I Succeeded (F14)."""
    interval = 30
    s = flagger({"interval": interval, "iterations": iterations, "metrics": [SUCCESS_99],
                 "match": [{"headers": {"cookie": {"regex": "^(.*?;)?(canary=always)(;.*)?$"}}}]},
                duration=T0 + (iterations + 4) * interval,
                traffic={"arrivals": {"type": "poisson", "rateRps": 50}, "users": 500,
                         "segments": [{"name": "opted-in", "share": 0.3,
                                       "headers": {"Cookie": "canary=always; lang=en"}},
                                      {"name": "others", "share": 0.7}]})
    result = sd.run(s)
    t = [T0 + k * interval for k in range(iterations + 4)]
    assert phases(result) == [(t[0], "Progressing"), (t[iterations + 1], "Promoting"),
                              (t[iterations + 2], "Finalising"),
                              (t[iterations + 3], "Succeeded")]
    assert rows(result, "route").time_s.tolist() == [t[1], t[iterations + 2]]
    assert rows(result, "measurement").time_s.tolist() == t[2:iterations + 2]
    assert weights(result) == []
    assert result.summary["outcome"] == "completed"


# --- determinism and accounting -----------------------------------------------------------------


def test_same_seed_same_result_and_other_seeds_differ() -> None:
    s = flagger({"interval": 10, "stepWeight": 20, "mirror": True, "mirrorWeight": 70,
                 "metrics": [SUCCESS_99, {"name": "request-duration", "threshold": 500}]},
                new={"errorRate": 0.005})
    a, b, c = sd.run(s, seed=5), sd.run(s, seed=5), sd.run(s, seed=6)
    assert a.summary == b.summary
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.timeline, b.timeline)
    assert a.summary != c.summary


def test_strategies_without_mirroring_copy_nothing() -> None:
    argo = sd.run(scenario(strategies={"c": {"type": "Canary", "steps": [{"setWeight": 50}]}}))
    plain = sd.run(flagger({"interval": 10, "stepWeight": 50}))
    for result in (argo, plain):
        assert result.summary["requests_mirrored"] == 0
        assert result.summary["requests_mirrored_failed"] == 0


@st.composite
def flagger_scenarios(draw: st.DrawFn) -> sd.Scenario:
    analysis: dict[str, Any] = {"interval": 10, "threshold": draw(st.integers(1, 3)),
                                "mirror": draw(st.booleans()),
                                "metrics": draw(st.sampled_from([[], [SUCCESS_99]]))}
    if draw(st.booleans()):
        analysis["iterations"] = draw(st.integers(1, 3))
    else:
        analysis["stepWeight"] = draw(st.sampled_from([20, 50]))
    return flagger(analysis, duration=120, replicas=draw(st.integers(1, 4)),
                   new={"errorRate": draw(st.sampled_from([0.0, 0.5])),
                        "serviceTime": draw(st.sampled_from([0.01, 0.5]))},
                   pod={"queueLimit": draw(st.sampled_from([0, 2, None])),
                        "requestTimeout": draw(st.sampled_from([None, 0.3])),
                        "terminationGracePeriodSeconds": draw(st.sampled_from([1, 10]))},
                   service={"policy": draw(st.sampled_from(["round-robin", "random",
                                                            "least-request"])),
                            "endpointPropagationDelay": {"type": "exponential",
                                                         "mean": 1.0}})


@settings(max_examples=15)
@given(s=flagger_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_every_request_has_one_outcome_and_copies_have_none(s: sd.Scenario, seed: int) -> None:
    result = sd.run(s, seed=seed, keep_requests=True)
    summary, requests = result.summary, result.requests
    assert requests.id.tolist() == list(range(summary["requests_total"]))
    assert sum(summary[f"requests_{o}"] for o in OUTCOMES) == summary["requests_total"]
    assert result.timeline.failed.sum() == summary["requests_failed"]
    served_by_new = requests[(requests.version == "v2")
                             & ~requests.outcome.isin(["ok", "no_endpoint", "unfinished"])]
    assert summary["requests_failed_new"] == len(served_by_new)
    assert 0 <= summary["requests_mirrored_failed"] <= summary["requests_mirrored"]
    if not s.strategies["f"].flagger.mirror:
        assert summary["requests_mirrored"] == 0
    assert summary["outcome"] in {"completed", "aborted", "stalled"}
    if summary["outcome"] == "aborted":
        assert not math.isnan(result.events[result.events.kind == "abort"].time_s.iloc[0])
