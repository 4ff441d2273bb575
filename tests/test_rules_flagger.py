"""Tests for simdeploy.rules.flagger.

Example cases are re-expressed from fluxcd/flagger v1.44.0 unit tests (test names in comments):
pkg/apis/flagger/v1beta1/canary_test.go, pkg/canary/deployment_ready_test.go,
pkg/controller/scheduler_deployment_test.go, scheduler_svc_test.go and scheduler_metrics_test.go;
from golang/go src/time/time_test.go (parseDurationTests) for the duration grammar; and from
shared/reference/semantics.md §3 (rules F1-F16).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdeploy.rules.flagger import (
    PHASES,
    ab_testing_action,
    advance_canary_weights,
    analysis_interval,
    analysis_threshold,
    blue_green_action,
    canary_ready_threshold,
    canary_route,
    deployment_strategy,
    is_deployment_ready,
    kubernetes_provider_analysis,
    max_weight,
    metric_check_failed,
    metric_interval,
    next_promotion_weights,
    next_step_weight,
    parse_duration,
    primary_ready_threshold,
    primary_stuck_action,
    promotion_next_phase,
    revision_change_restarts,
    runs_metric_checks,
    should_rollback,
    status_on_phase_change,
)

FAST = settings(max_examples=100, deadline=None)

HEADER_MATCH = [{"headers": {"x-canary": {"exact": "insider"}}}]


def _advance_until_promotion(analysis, limit=200):
    """Canary weights visited from 0 by repeated advances, until promotion (upstream loop)."""
    weights = []
    canary = 0
    for _ in range(limit):
        route = advance_canary_weights(analysis, canary)
        if route is None:
            return weights
        primary, canary = route
        weights.append((primary, canary))
    raise AssertionError(f"no promotion within {limit} ticks: {weights[-3:]}")


# --------------------------------------------------------------------------------------------
# PHASES


def test_phases_are_flaggers_spelling_in_declaration_order():
    # pkg/apis/flagger/v1beta1/status.go CanaryPhase constants ("Finalising" with an s)
    assert PHASES == (
        "Initializing",
        "Initialized",
        "Waiting",
        "Progressing",
        "WaitingPromotion",
        "Promoting",
        "Finalising",
        "Succeeded",
        "Failed",
        "Terminating",
        "Terminated",
    )


# --------------------------------------------------------------------------------------------
# parse_duration


# golang/go src/time/time_test.go parseDurationTests: (string, nanoseconds)
GO_DURATIONS = [
    ("0", 0),
    ("5s", 5 * 10**9),
    ("30s", 30 * 10**9),
    ("1478s", 1478 * 10**9),
    ("-5s", -5 * 10**9),
    ("+5s", 5 * 10**9),
    ("-0", 0),
    ("+0", 0),
    ("5.0s", 5 * 10**9),
    ("5.6s", 5_600_000_000),
    ("5.s", 5 * 10**9),
    (".5s", 500_000_000),
    ("1.004s", 1_004_000_000),
    ("100.00100s", 100_001_000_000),
    ("10ns", 10),
    ("11us", 11_000),
    ("12\u00b5s", 12_000),
    ("12\u03bcs", 12_000),
    ("13ms", 13_000_000),
    ("15m", 15 * 60 * 10**9),
    ("16h", 16 * 3600 * 10**9),
    ("3h30m", (3 * 3600 + 30 * 60) * 10**9),
    ("10.5s4m", (4 * 60 + 10) * 10**9 + 500_000_000),
    ("-2m3.4s", -((2 * 60 + 3) * 10**9 + 400_000_000)),
    ("1h2m3s4ms5us6ns", (3600 + 120 + 3) * 10**9 + 4_000_000 + 5_000 + 6),
    ("9223372036854775807ns", 2**63 - 1),
    ("-9223372036854775808ns", -(2**63)),
    ("0.100000000000000000000h", 6 * 60 * 10**9),
    ("0.830103483285477580700h", (49 * 60 + 48) * 10**9 + 372_539_827),
    # Flagger's own spellings (docs/gitbook and the fixtures: interval "1m", "30s")
    ("1m", 60 * 10**9),
    ("1m30s", 90 * 10**9),
]


@pytest.mark.parametrize(("text", "nanoseconds"), GO_DURATIONS)
def test_parse_duration_matches_go(text, nanoseconds):
    assert parse_duration(text) == pytest.approx(nanoseconds / 1e9, rel=1e-15, abs=0)


# golang/go src/time/time_test.go parseDurationErrorTests
@pytest.mark.parametrize(
    "text",
    [
        "",
        "3",
        "-",
        "s",
        ".",
        "-.",
        ".s",
        "+.s",
        "1d",
        "\x85\x85",
        "\ufffd",
        "hello \ufffd world",
        "9223372036854775810ns",
        "9223372036854775808ns",
        "-9223372036854775809ns",
        "9223372036854776us",
        "3000000h",
        "9223372036854775.808us",
        "9223372036854ms775us808ns",
        "1m30",
    ],
)
def test_parse_duration_rejects_what_go_rejects(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_parse_duration_rejects_non_strings():
    with pytest.raises(ValueError, match="duration"):
        parse_duration(60)


@FAST
@given(st.integers(0, 500), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999))
def test_parse_duration_composite_adds_components(h, m, s, ms):
    expected = h * 3600 + m * 60 + s + ms / 1000
    assert parse_duration(f"{h}h{m}m{s}s{ms}ms") == pytest.approx(expected, abs=1e-9)


# --------------------------------------------------------------------------------------------
# analysis_interval, analysis_threshold, ready thresholds, metric_interval


@pytest.mark.parametrize(
    ("analysis", "seconds"),
    [
        # canary.go GetAnalysisInterval: empty means 60 s, below 10 s means 10 s
        ({}, 60.0),
        (None, 60.0),
        ({"interval": ""}, 60.0),
        ({"interval": "1m"}, 60.0),  # fixtures in scheduler_deployment_test.go
        ({"interval": "30s"}, 30.0),
        ({"interval": "1m30s"}, 90.0),
        ({"interval": "10s"}, 10.0),
        ({"interval": "5s"}, 10.0),
        ({"interval": "0s"}, 10.0),
        ({"interval": "-1m"}, 10.0),
        ({"interval": "500ms"}, 10.0),
        ({"interval": "2h"}, 7200.0),
        # numbers are seconds (the scenario file's spelling)
        ({"interval": 45}, 45.0),
        ({"interval": 3.5}, 10.0),
    ],
)
def test_analysis_interval(analysis, seconds):
    assert analysis_interval(analysis) == seconds


@pytest.mark.parametrize("interval", ["1x", "one minute", True, [1]])
def test_analysis_interval_rejects_malformed(interval):
    # upstream would silently use 60 s for an unparseable string; we refuse it
    with pytest.raises(ValueError, match=r"interval|duration"):
        analysis_interval({"interval": interval})


@pytest.mark.parametrize(
    ("analysis", "threshold"),
    [
        # canary.go GetAnalysisThreshold: threshold if > 0 else 1
        ({}, 1),
        ({"threshold": 0}, 1),
        ({"threshold": 1}, 1),
        ({"threshold": 10}, 10),  # newDeploymentTestCanary
    ],
)
def test_analysis_threshold(analysis, threshold):
    assert analysis_threshold(analysis) == threshold


@pytest.mark.parametrize("threshold", [-1, 1.5, "5", True])
def test_analysis_threshold_rejects_malformed(threshold):
    with pytest.raises(ValueError, match="threshold"):
        analysis_threshold({"threshold": threshold})


@pytest.mark.parametrize(
    ("analysis", "primary", "canary"),
    [
        # canary.go GetAnalysis{Primary,Canary}ReadyThreshold: pointer fields, 100 only when nil
        ({}, 100, 100),
        ({"primaryReadyThreshold": 50}, 50, 100),
        ({"canaryReadyThreshold": 0}, 100, 0),
        ({"primaryReadyThreshold": 0, "canaryReadyThreshold": 80}, 0, 80),
    ],
)
def test_ready_thresholds(analysis, primary, canary):
    assert primary_ready_threshold(analysis) == primary
    assert canary_ready_threshold(analysis) == canary


@pytest.mark.parametrize(
    ("metric", "seconds"),
    [
        # scheduler_metrics.go runBuiltinMetricChecks: empty interval becomes "1m"
        ({"name": "request-success-rate"}, 60.0),
        ({"name": "request-success-rate", "interval": ""}, 60.0),
        ({"name": "request-success-rate", "interval": "1m"}, 60.0),
        ({"name": "custom", "interval": "30s"}, 30.0),
        ({"name": "custom", "interval": "5m"}, 300.0),
    ],
)
def test_metric_interval(metric, seconds):
    assert metric_interval(metric) == seconds


@pytest.mark.parametrize("interval", ["0s", "-1m", "soon"])
def test_metric_interval_rejects_non_positive_or_malformed(interval):
    with pytest.raises(ValueError, match=r"interval|duration"):
        metric_interval({"name": "custom", "interval": interval})


# --------------------------------------------------------------------------------------------
# deployment_strategy and the kubernetes provider


@pytest.mark.parametrize(
    ("analysis", "strategy"),
    [
        # canary_test.go TestCanary_GetDeploymentStrategy
        ({"maxWeight": 30, "stepWeight": 10}, "canary"),
        ({"stepWeights": [10, 20, 30]}, "canary"),
        ({"iterations": 5}, "blue-green"),
        ({"iterations": 10, "match": HEADER_MATCH}, "ab-testing"),
        (None, "canary"),
        ({}, "canary"),
        # semantics.md F4: match without iterations is still a canary
        ({"match": HEADER_MATCH, "stepWeight": 10}, "canary"),
        ({"iterations": 0, "match": HEADER_MATCH}, "canary"),
        ({"iterations": 3, "match": []}, "blue-green"),
    ],
)
def test_deployment_strategy(analysis, strategy):
    assert deployment_strategy(analysis) == strategy


@pytest.mark.parametrize("analysis", [["iterations"], {"iterations": -1}, {"iterations": "3"}])
def test_deployment_strategy_rejects_malformed(analysis):
    with pytest.raises(ValueError, match=r"analysis|iterations"):
        deployment_strategy(analysis)


@pytest.mark.parametrize(
    ("analysis", "iterations"),
    [
        # scheduler.go advanceCanary: kubernetes provider forces blue/green, iterations < 1 -> 10
        ({"stepWeight": 10, "maxWeight": 50}, 10),
        ({"iterations": 0, "match": HEADER_MATCH}, 10),
        ({"iterations": 3, "match": HEADER_MATCH}, 3),
        ({"iterations": 1}, 1),
    ],
)
def test_kubernetes_provider_analysis(analysis, iterations):
    original = dict(analysis)
    adjusted = kubernetes_provider_analysis(analysis)
    assert adjusted["iterations"] == iterations
    assert "match" not in adjusted
    assert deployment_strategy(adjusted) == "blue-green"
    assert analysis == original  # the caller's mapping is left alone


# --------------------------------------------------------------------------------------------
# max_weight and next_step_weight


@pytest.mark.parametrize(
    ("analysis", "weight"),
    [
        # scheduler.go maxWeight
        ({}, 100),
        ({"maxWeight": 0}, 100),
        ({"stepWeight": 10, "maxWeight": 50}, 50),  # newDeploymentTestCanary
        ({"stepWeight": 50, "maxWeight": 100}, 100),  # newTestServiceCanaryMaxWeight
        ({"stepWeights": [1, 2, 10, 80]}, 80),  # newTestServiceCanaryWithWeightsHappyCase
        ({"stepWeights": [1, 2, 10, 200]}, 100),  # newTestServiceCanaryWithWeightsOverflow
        ({"stepWeights": [5, 30], "maxWeight": 90}, 30),  # stepWeights win over maxWeight
    ],
)
def test_max_weight(analysis, weight):
    assert max_weight(analysis) == weight


@pytest.mark.parametrize(
    ("analysis", "canary_weight", "step"),
    [
        # scheduler.go nextStepWeight, semantics.md F6
        ({"stepWeight": 10}, 0, 10),
        ({"stepWeight": 10}, 40, 10),
        ({"stepWeight": 20, "maxWeight": 50}, 40, 20),
        ({}, 0, 0),  # neither stepWeight nor stepWeights: no step at all
        ({"stepWeight": 5, "stepWeights": [1, 2]}, 1, 5),  # stepWeight wins
        ({"stepWeights": [1, 2, 10, 80]}, 0, 1),
        ({"stepWeights": [1, 2, 10, 80]}, 1, 1),
        ({"stepWeights": [1, 2, 10, 80]}, 2, 8),
        ({"stepWeights": [1, 2, 10, 80]}, 10, 70),
        ({"stepWeights": [1, 2, 10, 80]}, 80, 20),  # the last entry is never matched
        ({"stepWeights": [1, 2, 10, 80]}, 15, 85),  # off the list: the rest of the room
        ({"stepWeights": [1, 2, 10, 80]}, 100, 1),  # no room: 1 forces promotion
        ({"stepWeights": [1, 2, 10, 200]}, 10, 90),  # capped by the room
        ({"stepWeights": [150]}, 0, 100),
        ({"stepWeights": [10, 5]}, 10, -5),  # not increasing: negative, canary stays
        ({"stepWeights": [10, 10, 50]}, 10, 0),  # first match wins
    ],
)
def test_next_step_weight(analysis, canary_weight, step):
    assert next_step_weight(analysis, canary_weight) == step


@pytest.mark.parametrize(
    ("analysis", "canary_weight"),
    [
        ({"stepWeight": 10}, 101),
        ({"stepWeight": 10}, -1),
        ({"stepWeight": 10}, True),
        ({"stepWeight": 101}, 0),
        ({"stepWeight": -5}, 0),
        ({"stepWeights": "10,20"}, 0),
        ({"stepWeights": [10, -20]}, 0),
        ({"stepWeights": [10, 20.5]}, 0),
        ("stepWeight: 10", 0),
    ],
)
def test_next_step_weight_rejects_malformed(analysis, canary_weight):
    with pytest.raises(ValueError, match=r"weight|stepWeight|analysis"):
        next_step_weight(analysis, canary_weight)


@FAST
@given(
    st.integers(0, 100),
    st.lists(st.integers(0, 300), min_size=1, max_size=8, unique=True).map(sorted),
    st.integers(0, 100),
)
def test_next_step_weight_never_negative_for_increasing_steps(step_weight, steps, weight):
    analysis = {"stepWeight": step_weight, "stepWeights": steps}
    assert next_step_weight(analysis, weight) >= 0


# --------------------------------------------------------------------------------------------
# advance_canary_weights and canary_route


@pytest.mark.parametrize(
    ("analysis", "primary_weights"),
    [
        # scheduler_svc_test.go testServicePromotion: the primary weights after the
        # "detect changes" tick (100), one per advance, then promotion
        ({"stepWeight": 20, "maxWeight": 50}, [80, 60, 40]),  # TestScheduler_ServicePromotion
        ({"stepWeight": 50, "maxWeight": 100}, [50, 0]),  # ...ServicePromotionMaxWeight
        ({"stepWeights": [1, 2, 10, 80]}, [99, 98, 90, 20]),  # ...WithWeightsHappyCase
        ({"stepWeights": [1, 2, 10, 200]}, [99, 98, 90, 0]),  # ...WithWeightsOverflow
        # scheduler_deployment_test.go TestScheduler_DeploymentAnalysisPhases
        ({"stepWeight": 100, "stepWeightPromotion": 50}, [0]),
        # TestScheduler_DeploymentNewRevisionReset: stepWeight 10 gives 90/10 first
        ({"stepWeight": 10, "maxWeight": 50}, [90, 80, 70, 60, 50]),
        # semantics.md F7: 0, 20, 40, 60 with stepWeight 20 and maxWeight 50 (overshoot)
        ({"stepWeight": 20, "maxWeight": 50, "interval": "1m"}, [80, 60, 40]),
        ({"stepWeight": 30}, [70, 40, 10, 0]),  # capped at 100
    ],
)
def test_advance_canary_weights_sequences(analysis, primary_weights):
    visited = _advance_until_promotion(analysis)
    assert visited == [(p, 100 - p) for p in primary_weights]


@pytest.mark.parametrize(
    ("analysis", "canary_weight", "expected"),
    [
        ({"stepWeight": 20, "maxWeight": 50}, 40, (40, 60)),
        ({"stepWeight": 20, "maxWeight": 50}, 60, None),
        ({"stepWeight": 20, "maxWeight": 50}, 50, None),
        ({"stepWeight": 10}, 95, (0, 100)),
        ({"stepWeight": 10}, 100, None),
        # stepWeight 0 with no stepWeights: advanceCanary never calls runCanary, so no
        # advance and no promotion either
        ({"maxWeight": 50}, 0, (100, 0)),
        ({"stepWeights": [10, 5]}, 10, (90, 10)),
        # maxWeight above 100 cannot be reached: the canary sits at 100 for ever
        ({"stepWeight": 50, "maxWeight": 150}, 100, (0, 100)),
    ],
)
def test_advance_canary_weights(analysis, canary_weight, expected):
    assert advance_canary_weights(analysis, canary_weight) == expected


@pytest.mark.parametrize(
    ("analysis", "canary_weight", "mirrored", "expected"),
    [
        # scheduler_deployment_test.go TestScheduler_DeploymentMirroring (stepWeight 10,
        # maxWeight 50, mirror): 100/0 mirrored, then 90/10 not mirrored
        ({"stepWeight": 10, "maxWeight": 50, "mirror": True}, 0, False, (100, 0, True)),
        ({"stepWeight": 10, "maxWeight": 50, "mirror": True}, 0, True, (90, 10, False)),
        ({"stepWeight": 10, "maxWeight": 50, "mirror": True}, 10, False, (80, 20, False)),
        ({"stepWeight": 10, "maxWeight": 50, "mirror": True}, 50, False, None),
        # without mirror the flag passes through and weights move at once
        ({"stepWeight": 10, "maxWeight": 50}, 0, False, (90, 10, False)),
        ({"stepWeights": [5, 50], "mirror": True}, 0, True, (95, 5, False)),
    ],
)
def test_canary_route(analysis, canary_weight, mirrored, expected):
    assert canary_route(analysis, canary_weight, mirrored) == expected


@FAST
@given(st.integers(1, 100), st.integers(1, 100))
def test_advance_reaches_max_weight_within_100_ticks(step, maximum):
    analysis = {"stepWeight": step, "maxWeight": maximum}
    # 100 advancing ticks at most, then the tick that promotes
    visited = _advance_until_promotion(analysis, limit=101)
    canaries = [c for _, c in visited]
    assert len(canaries) <= 100
    assert all(p + c == 100 for p, c in visited)
    assert canaries == [min(100, step * (i + 1)) for i in range(len(canaries))]
    assert canaries[-1] >= maximum
    assert canaries[-1] < maximum + step  # overshoot by less than one step
    assert len(canaries) == math.ceil(maximum / step)


@FAST
@given(st.lists(st.integers(1, 250), min_size=1, max_size=8, unique=True).map(sorted))
def test_step_weights_visit_each_listed_weight_in_order(steps):
    # semantics.md F6: each tick moves to the next stepWeights entry, capped at 100
    visited = [c for _, c in _advance_until_promotion({"stepWeights": steps}, limit=20)]
    assert visited == list(dict.fromkeys(min(100, s) for s in steps))


# --------------------------------------------------------------------------------------------
# promotion


@pytest.mark.parametrize(
    ("analysis", "primary_weight", "weights", "phase"),
    [
        # TestScheduler_DeploymentAnalysisPhases: stepWeightPromotion 50 from 0/100 goes
        # 50/50 (still Promoting), then 100/0 (Finalising)
        ({"stepWeight": 100, "stepWeightPromotion": 50}, 0, (50, 50), "Promoting"),
        ({"stepWeight": 100, "stepWeightPromotion": 50}, 50, (100, 0), "Finalising"),
        # TestScheduler_ServicePromotion: no stepWeightPromotion, all back in one tick
        ({"stepWeight": 20, "maxWeight": 50}, 40, (100, 0), "Finalising"),
        ({"stepWeightPromotion": 30}, 50, (80, 20), "Promoting"),
        ({"stepWeightPromotion": 30}, 80, (100, 0), "Finalising"),
        # canary already at 0 with a positive step: runPromotionTrafficShift does nothing
        ({"stepWeightPromotion": 30}, 100, (100, 0), "Promoting"),
    ],
)
def test_promotion(analysis, primary_weight, weights, phase):
    assert next_promotion_weights(analysis, primary_weight) == weights
    assert promotion_next_phase(analysis, primary_weight) == phase


def test_kubernetes_provider_finalises_at_once():
    # scheduler.go runPromotionTrafficShift: no traffic shifting for the kubernetes provider
    assert promotion_next_phase({"stepWeightPromotion": 10}, 0, provider="kubernetes") == (
        "Finalising"
    )
    assert promotion_next_phase({"stepWeightPromotion": 10}, 0, provider="istio") == "Promoting"


@FAST
@given(st.integers(1, 100), st.integers(0, 99))
def test_promotion_moves_back_to_primary_monotonically(step, start):
    analysis = {"stepWeightPromotion": step}
    primary = start
    for _ in range(math.ceil((100 - start) / step)):
        assert promotion_next_phase(analysis, primary) == "Promoting" or (
            min(100, primary + step) == 100
        )
        new_primary, canary = next_promotion_weights(analysis, primary)
        assert new_primary + canary == 100
        assert new_primary == min(100, primary + step)
        primary = new_primary
    assert primary == 100


# --------------------------------------------------------------------------------------------
# A/B and blue/green iterations


@pytest.mark.parametrize(
    ("analysis", "iterations", "action"),
    [
        # scheduler_deployment_test.go TestScheduler_DeploymentABTesting (iterations 10)
        ({"iterations": 10, "match": HEADER_MATCH}, 0, "iterate"),
        ({"iterations": 10, "match": HEADER_MATCH}, 9, "iterate"),
        ({"iterations": 10, "match": HEADER_MATCH}, 10, "promote"),
        ({"iterations": 10, "match": HEADER_MATCH}, 11, None),
    ],
)
def test_ab_testing_action(analysis, iterations, action):
    assert ab_testing_action(analysis, iterations) == action


@pytest.mark.parametrize(
    ("iterations", "action"),
    [
        # TestScheduler_DeploymentBlueGreenAnalysisPhases (iterations 1): advance, route
        # traffic, then promoting
        (0, "iterate"),
        (1, "route-to-canary"),
        (2, "promote"),
    ],
)
def test_blue_green_action(iterations, action):
    assert blue_green_action({"interval": "1m", "iterations": 1}, iterations) == action


@FAST
@given(st.integers(1, 50))
def test_iteration_tick_counts(n):
    # semantics.md F14/F15: A/B promotes on tick n+1, blue/green on tick n+2
    def ticks_until(action_fn, analysis, done):
        iterations, ticks = 0, 0
        while True:
            ticks += 1
            action = action_fn(analysis, iterations)
            if action == done:
                return ticks
            iterations += 1

    assert ticks_until(ab_testing_action, {"iterations": n, "match": HEADER_MATCH}, "promote") == (
        n + 1
    )
    assert ticks_until(blue_green_action, {"iterations": n}, "promote") == n + 2


# --------------------------------------------------------------------------------------------
# checks, rollback, restarts


@pytest.mark.parametrize(
    ("analysis", "canary_weight", "iterations", "mirrored", "checks"),
    [
        # scheduler.go advanceCanary, semantics.md F8: the first analysed tick runs pre-rollout
        ({"stepWeight": 10}, 0, 0, False, False),
        ({"stepWeight": 10}, 10, 0, False, True),
        ({"iterations": 3}, 0, 1, False, True),  # blue/green after its first iteration
        # TestScheduler_DeploymentMirroring: the mirrored tick checks metrics
        ({"stepWeight": 10, "mirror": True}, 0, 0, True, True),
        ({"stepWeight": 10, "mirror": True}, 0, 0, False, False),
        ({"stepWeight": 10}, 0, 0, True, False),  # mirrored route but mirror not configured
    ],
)
def test_runs_metric_checks(analysis, canary_weight, iterations, mirrored, checks):
    assert runs_metric_checks(analysis, canary_weight, iterations, mirrored) is checks


@pytest.mark.parametrize(
    ("metric", "value", "failed"),
    [
        # newDeploymentTestCanary metrics against the test Prometheus, which answers 100
        ({"name": "request-success-rate", "threshold": 99, "interval": "1m"}, 100.0, False),
        (
            {"name": "request-duration", "thresholdRange": {"min": 0, "max": 500000}},
            100.0,
            False,
        ),
        ({"name": "request-duration", "threshold": 500000, "interval": "1m"}, 100.0, False),
        # TestScheduler_DeploymentRollback: query "fail" with range 0..50 against 100
        ({"name": "fail", "query": "fail", "thresholdRange": {"min": 0, "max": 50}}, 100.0, True),
        # TestController_runMetricChecks
        ({"name": "undefined metric", "thresholdRange": {"min": 0, "max": 100}}, 100.0, True),
        (
            {"name": "", "templateRef": {"name": "custom-vars"}, "thresholdRange": {"max": 100}},
            100.0,
            False,
        ),
        (
            {"name": "undefined metric", "query": "sum(x)", "thresholdRange": {"min": 0}},
            100.0,
            False,
        ),
        ({"name": "request-success-rate", "thresholdRange": {"min": 0, "max": 100}}, 100.0, False),
        # TestController_AnalysisMetricsRecording
        ({"name": "request-success-rate", "thresholdRange": {"min": 99, "max": 100}}, 100.0, False),
        ({"name": "request-duration", "thresholdRange": {"min": 0, "max": 500}}, 100.0, False),
        # scheduler_metrics.go runBuiltinMetricChecks: success rate fails strictly below
        ({"name": "request-success-rate", "threshold": 99}, 99.0, False),
        ({"name": "request-success-rate", "threshold": 99}, 98.99, True),
        ({"name": "request-success-rate"}, 0.0, False),  # unset threshold is 0
        # thresholdRange present: threshold is ignored entirely
        (
            {"name": "request-success-rate", "threshold": 99, "thresholdRange": {"min": 50}},
            60,
            False,
        ),
        ({"name": "request-success-rate", "threshold": 99, "thresholdRange": {}}, 1.0, False),
        ({"name": "request-success-rate", "thresholdRange": {"max": 99.5}}, 99.9, True),
        # request-duration: P99 ms, fails strictly above, whole milliseconds only
        ({"name": "request-duration", "threshold": 500}, 500.9, False),
        ({"name": "request-duration", "threshold": 500}, 501.0, True),
        ({"name": "request-duration", "threshold": 500.7}, 500.8, False),
        ({"name": "request-duration"}, 0.9, False),
        ({"name": "request-duration"}, 1.0, True),  # unset threshold: any latency fails
        ({"name": "request-duration", "thresholdRange": {"min": 10.9}}, 10.2, False),
        ({"name": "request-duration", "thresholdRange": {"min": 10}}, 9.99, True),
        # custom metrics: fail strictly above threshold
        ({"name": "errors", "query": "sum(e)", "threshold": 5}, 5.0, False),
        ({"name": "errors", "query": "sum(e)", "threshold": 5}, 5.5, True),
        ({"name": "errors", "templateRef": {"name": "t"}, "thresholdRange": {"min": 1}}, 0.5, True),
        # "no values found": None, or NaN from Prometheus (providers/prometheus.go RunQuery)
        ({"name": "request-success-rate", "threshold": 99}, None, True),
        ({"name": "request-duration", "threshold": 500}, None, True),
        ({"name": "errors", "query": "sum(e)", "threshold": 5}, math.nan, True),
    ],
)
def test_metric_check_failed(metric, value, failed):
    assert metric_check_failed(metric, value) is failed


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ({"name": "request-success-rate", "threshold": "99"}, 50.0),
        ({"name": "request-success-rate", "thresholdRange": [0, 100]}, 50.0),
        ({"name": "request-success-rate", "thresholdRange": {"min": "0"}}, 50.0),
        ({"name": "request-success-rate"}, "50"),
        ({"name": "request-success-rate"}, True),
        ("request-success-rate", 50.0),
    ],
)
def test_metric_check_failed_rejects_malformed(metric, value):
    with pytest.raises(ValueError, match=r"threshold|value|metric"):
        metric_check_failed(metric, value)


@FAST
@given(st.floats(0, 100), st.floats(0, 100), st.floats(0, 100))
def test_success_rate_failure_is_monotone(threshold, value, lower):
    metric = {"name": "request-success-rate", "threshold": threshold}
    if metric_check_failed(metric, value):
        assert metric_check_failed(metric, min(value, lower))
    assert metric_check_failed(metric, value) is (value < threshold)


@pytest.mark.parametrize(
    ("failed_checks", "analysis", "phase", "rollback"),
    [
        # TestScheduler_DeploymentRollback: failedChecks 10 with threshold 10 rolls back
        (10, {"threshold": 10}, "Progressing", True),
        (9, {"threshold": 10}, "Progressing", False),
        (11, {"threshold": 10}, "WaitingPromotion", True),
        # threshold unset: the first failure is enough
        (1, {}, "Progressing", True),
        (0, {}, "Progressing", False),
        # only Progressing and WaitingPromotion count failed checks
        (10, {"threshold": 10}, "Promoting", False),
        (10, {"threshold": 10}, "Finalising", False),
        (10, {"threshold": 10}, "Waiting", False),
        (10, {"threshold": 10}, "Succeeded", False),
    ],
)
def test_should_rollback(failed_checks, analysis, phase, rollback):
    assert should_rollback(failed_checks, analysis, phase) is rollback


def test_should_rollback_defaults_to_progressing():
    assert should_rollback(2, {"threshold": 2}) is True
    assert should_rollback(1, {"threshold": 2}) is False


@pytest.mark.parametrize(("failed_checks", "phase"), [(-1, "Progressing"), (1, "Running")])
def test_should_rollback_rejects_malformed(failed_checks, phase):
    with pytest.raises(ValueError, match=r"failed_checks|phase"):
        should_rollback(failed_checks, {}, phase)


@pytest.mark.parametrize(
    ("phase", "restarts"),
    [
        # scheduler.go hasCanaryRevisionChanged; TestScheduler_DeploymentNewRevisionReset
        ("Progressing", True),
        ("WaitingPromotion", True),
        ("Promoting", False),
        ("Finalising", False),
        ("Initialized", False),
        ("Succeeded", False),
    ],
)
def test_revision_change_restarts(phase, restarts):
    assert revision_change_restarts(phase) is restarts


@pytest.mark.parametrize(
    ("phase", "action"),
    [
        # TestScheduler_DeploymentPromotionPrimaryNotReady / ...FailedAfterTrafficShift
        ("Promoting", "fail-promotion"),
        ("Finalising", "fail-promotion"),
        ("Progressing", "rollback"),
        ("WaitingPromotion", "rollback"),
    ],
)
def test_primary_stuck_action(phase, action):
    assert primary_stuck_action(phase) == action


@pytest.mark.parametrize(
    ("phase", "weight", "iterations", "expected"),
    [
        # canary/status.go setStatusPhase; TestScheduler_DeploymentAnalysisPhases shows
        # weight 100 kept in Promoting and 0 in Finalising and Succeeded
        ("Promoting", 100, 0, (100, 0)),
        ("Progressing", 40, 3, (40, 3)),
        ("Waiting", 40, 3, (40, 3)),
        ("Finalising", 50, 2, (0, 0)),
        ("Succeeded", 0, 2, (0, 0)),
        ("Failed", 60, 2, (0, 0)),
        ("WaitingPromotion", 60, 2, (0, 4)),  # analysis.iterations - 1
    ],
)
def test_status_on_phase_change(phase, weight, iterations, expected):
    assert status_on_phase_change({"iterations": 5}, phase, weight, iterations) == expected


# --------------------------------------------------------------------------------------------
# is_deployment_ready


def _counts_status(replicas, updated, available):
    return {"replicas": replicas, "updatedReplicas": updated, "availableReplicas": available}


def _stale_min_replicas(seconds_since_update):
    return [
        {"type": "Progressing"},
        {
            "type": "Available",
            "status": "False",
            "reason": "MinimumReplicasUnavailable",
            "secondsSinceUpdate": seconds_since_update,
        },
    ]


@pytest.mark.parametrize(
    ("status", "spec", "deadline", "threshold", "expected"),
    [
        # deployment_ready_test.go TestDeploymentController_isDeploymentReady
        ({"observedGeneration": -1}, None, 0, 100, (False, True)),  # generation not observed
        (
            {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
            None,
            0,
            100,
            (True, True),
        ),
        ({"updatedReplicas": 1}, 2, 0, 100, (False, True)),  # "new replicas"
        ({"updatedReplicas": 1, "replicas": 2}, None, 0, 100, (False, True)),  # "termination"
        ({"updatedReplicas": 2, "availableReplicas": 1}, None, 0, 100, (False, True)),
        (
            {"conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]},
            None,
            0,
            100,
            (False, False),
        ),
        (
            {
                "conditions": _stale_min_replicas(10),
                "updatedReplicas": 2,
                "availableReplicas": 1,
            },
            None,
            5,
            100,
            (False, False),
        ),
        # ...isDeploymentReady_readyThreshold (50 %)
        ({"observedGeneration": -1}, None, 0, 50, (False, True)),
        ({"updatedReplicas": 4, "availableReplicas": 2}, None, 0, 50, (True, True)),
        ({"updatedReplicas": 4, "availableReplicas": 1}, None, 0, 50, (False, True)),
        # the generation check comes first and hides even ProgressDeadlineExceeded
        (
            {
                "generation": 3,
                "observedGeneration": 2,
                "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}],
            },
            None,
            600,
            100,
            (False, True),
        ),
        # a stale MinimumReplicasUnavailable alone does not make it unready
        (
            {
                "conditions": _stale_min_replicas(10_000),
                "replicas": 3,
                "updatedReplicas": 3,
                "availableReplicas": 3,
            },
            3,
            600,
            100,
            (True, True),
        ),
        # the deadline is exceeded only strictly after it
        (
            {"conditions": _stale_min_replicas(600), "updatedReplicas": 3, "replicas": 4},
            3,
            600,
            100,
            (False, True),
        ),
        (
            {"conditions": _stale_min_replicas(600.5), "updatedReplicas": 3, "replicas": 4},
            3,
            600,
            100,
            (False, False),
        ),
        # no lastUpdateTime is Go's zero time: infinitely stale
        (
            {"conditions": _stale_min_replicas(None), "updatedReplicas": 1, "replicas": 2},
            1,
            600,
            100,
            (False, False),
        ),
        # the stale-Available rule needs a Progressing condition to exist
        (
            {"conditions": _stale_min_replicas(10_000)[1:], "updatedReplicas": 1, "replicas": 2},
            1,
            600,
            100,
            (False, True),
        ),
        # Available=True with the same reason is not stuck
        (
            {
                "conditions": [
                    {"type": "Progressing"},
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasUnavailable"},
                ],
                "updatedReplicas": 1,
                "replicas": 2,
            },
            1,
            600,
            100,
            (False, True),
        ),
        # readyReplicas does not count, availableReplicas does
        (
            {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 2},
            3,
            600,
            100,
            (False, True),
        ),
        # threshold math in float32, truncated: 100 updated at 53 % needs only 52 available
        (_counts_status(100, 100, 52), 100, 600, 53, (True, True)),
        (_counts_status(100, 100, 51), 100, 600, 53, (False, True)),
        (_counts_status(150, 150, 62), 150, 600, 42, (True, True)),
        # ...while 10 at 70 % still needs 7
        (_counts_status(10, 10, 6), 10, 600, 70, (False, True)),
        (_counts_status(10, 10, 7), 10, 600, 70, (True, True)),
        # canaryReadyThreshold 0: nothing needs to be available
        ({"replicas": 2, "updatedReplicas": 2}, 2, 600, 0, (True, True)),
        # a canary scaled to zero is ready (IsCanaryReady after ScaleToZero)
        ({}, 0, 600, 100, (True, True)),
    ],
)
def test_is_deployment_ready(status, spec, deadline, threshold, expected):
    assert is_deployment_ready(status, spec, deadline, threshold) == expected


def test_is_deployment_ready_defaults_are_flaggers():
    # canary.go ProgressDeadlineSeconds 600, {Primary,Canary}ReadyThreshold 100
    conditions = _stale_min_replicas(599)
    status = {"conditions": conditions, "updatedReplicas": 2, "availableReplicas": 1}
    assert is_deployment_ready(status, 2) == (False, True)
    conditions = _stale_min_replicas(601)
    status = {"conditions": conditions, "updatedReplicas": 2, "availableReplicas": 1}
    assert is_deployment_ready(status, 2) == (False, False)


@pytest.mark.parametrize(
    ("status", "spec"),
    [
        ({"replicas": -1}, 1),
        ({"updatedReplicas": 1.5}, 1),
        ({"availableReplicas": "3"}, 3),
        ({}, -1),
        ({"conditions": "Progressing"}, 1),
        ({"conditions": ["Progressing"]}, 1),
        ("ready", 1),
    ],
)
def test_is_deployment_ready_rejects_malformed(status, spec):
    with pytest.raises(ValueError, match=r"replicas|Replicas|conditions|status"):
        is_deployment_ready(status, spec)


_counts = st.integers(0, 50)


@FAST
@given(_counts, _counts, _counts, st.integers(0, 100), st.integers(0, 2000), st.booleans())
def test_never_ready_while_old_replicas_remain(updated, old, available, threshold, since, spec):
    status = {
        "replicas": updated + old + 1,
        "updatedReplicas": updated,
        "availableReplicas": available,
        "conditions": _stale_min_replicas(since),
    }
    ready, _ = is_deployment_ready(status, updated if spec else None, 600, threshold)
    assert not ready


@FAST
@given(_counts, _counts, _counts, st.integers(0, 100), st.integers(0, 3), st.integers(1, 3))
def test_never_ready_before_generation_is_observed(
    updated, replicas, available, threshold, observed, ahead
):
    status = {
        "generation": observed + ahead,
        "observedGeneration": observed,
        "replicas": replicas,
        "updatedReplicas": updated,
        "availableReplicas": available,
    }
    assert is_deployment_ready(status, None, 600, threshold) == (False, True)


@FAST
@given(st.integers(0, 200), st.integers(0, 200), st.integers(0, 100))
def test_ready_threshold_close_to_exact_percentage(updated, available, threshold):
    # float32 truncation may lower the exact floor by at most one pod, never raise it
    status = {"replicas": updated, "updatedReplicas": updated, "availableReplicas": available}
    ready, retriable = is_deployment_ready(status, updated, 600, threshold)
    exact = updated * threshold // 100
    if available >= exact:
        assert ready
    if available < exact - 1:
        assert not ready
    assert retriable
