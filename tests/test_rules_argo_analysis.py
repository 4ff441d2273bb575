"""Tests for simdeploy.rules.argo_analysis (semantics.md A17-A20).

Cases are re-expressed from argoproj/argo-rollouts at 9f8d111d: analysis/analysis_test.go,
utils/evaluate/evaluate_test.go, utils/analysis/helpers_test.go,
metricproviders/prometheus/prometheus_test.go, and Go's src/time/time_test.go for durations.
The upstream test is named in a comment per case.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import simdeploy.rules.argo as argo
from simdeploy.rules.argo_analysis import (
    COMPLETED_PHASES,
    DEFAULT_ERROR_RETRY_INTERVAL_S,
    ERROR,
    FAILED,
    INCONCLUSIVE,
    PENDING,
    PHASES,
    RUNNING,
    SUCCESSFUL,
    assess_metric_status,
    assess_run_status,
    effective_count,
    evaluate_result,
    first_measurement_delay,
    is_completed,
    is_terminating,
    is_worse,
    measurement_delay,
    parse_duration,
    parse_duration_ns,
    record_measurement,
    validate_metric,
    worst,
)

S, F, E, IN, R, P = SUCCESSFUL, FAILED, ERROR, INCONCLUSIVE, RUNNING, PENDING
NAN = math.nan
INF = math.inf


def done(last: str = S, **counters: int) -> dict:
    """A MetricResult whose latest measurement finished with phase ``last``."""
    return {"measurements": 1, "lastMeasurement": last, **counters}


def test_pinned_names_are_reexported_from_argo():
    assert argo.evaluate_result is evaluate_result
    assert argo.assess_metric_status is assess_metric_status
    assert argo.assess_run_status is assess_run_status
    assert {"evaluate_result", "assess_metric_status", "assess_run_status"} <= set(argo.__all__)


# --------------------------------------------------------------------------------------------
# Phases and their order


def test_phase_spelling():
    assert PHASES == ("Pending", "Running", "Successful", "Failed", "Error", "Inconclusive")
    # analysis_types.go AnalysisPhase.Completed
    assert {p for p in PHASES if is_completed(p)} == {S, F, E, IN}
    assert frozenset({S, F, E, IN}) == COMPLETED_PHASES


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        # helpers_test.go TestIsWorst
        (S, S, False),
        (S, IN, True),
        (S, E, True),
        (S, F, True),
        (IN, S, False),
        (IN, IN, False),
        (IN, E, True),
        (IN, F, True),
        (E, E, False),
        (E, S, False),
        (E, IN, False),
        (E, F, True),
        (F, S, False),
        (F, IN, False),
        (F, E, False),
        (F, F, False),
        # helpers.go analysisStatusOrder: Successful < Running < Pending < Inconclusive
        (S, R, True),
        (R, P, True),
        (P, IN, True),
        (P, R, False),
    ],
)
def test_is_worse(current, new, expected):
    assert is_worse(current, new) is expected


def test_worst():
    # helpers_test.go TestWorst
    assert worst(S, F) == F
    assert worst(F, S) == F


@given(st.sampled_from(PHASES), st.sampled_from(PHASES), st.sampled_from(PHASES))
def test_is_worse_is_a_strict_total_order(a, b, c):
    assert sum([is_worse(a, b), is_worse(b, a), a == b]) == 1
    if is_worse(a, b) and is_worse(b, c):
        assert is_worse(a, c)


@pytest.mark.parametrize("bad", ["", "successful", "Completed", None, 1])
def test_unknown_phases_are_rejected(bad):
    with pytest.raises(ValueError, match="must be one of"):
        is_worse(S, bad)
    with pytest.raises(ValueError, match="must be one of"):
        is_completed(bad)


# --------------------------------------------------------------------------------------------
# A17: evaluate_result


@pytest.mark.parametrize(
    ("result", "success", "failure", "expected"),
    [
        # evaluate_test.go TestEvaluateResultWithSuccess
        (True, "true", "false", S),
        # evaluate_test.go TestEvaluateResultWithFailure (failure wins over success)
        (True, "true", "true", F),
        # evaluate_test.go TestEvaluateResultInconclusive
        (True, "false", "false", IN),
        # evaluate_test.go TestEvaluateResultNoSuccessConditionAndNotFailing
        (True, "", "false", S),
        # evaluate_test.go TestEvaluateResultNoFailureConditionAndNotSuccessful
        (True, "false", "", F),
        # evaluate_test.go TestEvaluateResultNoFailureConditionAndNoSuccessCondition
        (True, "", "", S),
        (True, None, None, S),
        # evaluate_test.go TestEvaluateResultWithErrorOnSuccessCondition / ...OnFailureCondition
        (True, "a == true", "true", E),
        (True, "true", "a == true", E),
        # evaluate_test.go TestEvaluateResultErrorMessageOnFailureCondition
        (True, "true", "invalidVar == true", E),
        # evaluate_test.go TestEvaluateResultErrorMessageWithEmptySlice: no series -> Error
        ([], "result[0] >= 0.95", None, E),
        # prometheus_test.go TestProcessNaNResponse
        (NAN, "result >= 0.9", "result < 0.9", IN),
        (NAN, "result >= 0.9 || isNaN(result)", None, S),
        (NAN, "result >= 0.9", None, F),
        # prometheus_test.go TestProcessInfResponse
        (INF, "result >= 0.9", None, S),
        (INF, None, "isInf(result)", F),
        # prometheus_test.go TestProcessVectorResponse
        ([10.0, 11.0], "10 in result", "len(result) != 2", S),
        # prometheus_test.go TestProcessScalarResponse / TestRunSuccessfulWithOAuth
        (10.0, "result == 10", "result != 10", S),
        ([10.0], "result[0] == 10", "result[0] != 10", S),
        ([9.0], "result[0] == 10", "result[0] != 10", F),
        # evaluate.go EvaluateResult: only "" means unset, so blank text is a (broken) condition
        (1.0, " ", None, E),
        # a condition that is not a bool, or a type error for this result: Error
        (1.0, "result", None, E),
        ([1.0], "result > 0.5", None, E),
    ],
)
def test_evaluate_result(result, success, failure, expected):
    assert evaluate_result(result, success, failure) == expected


def test_evaluate_result_empty_vector_is_error_not_failed():
    # A query that matched no series: Error (counts towards consecutiveErrorLimit), unless
    # the condition guards against it.
    assert evaluate_result([], "result[0] < 0.05") == E
    assert evaluate_result([], "len(result) > 0 && result[0] < 0.05") == F
    assert evaluate_result([], None, "len(result) > 0 && result[0] > 0.05") == S


@pytest.mark.parametrize(
    ("result", "success", "failure"),
    [(1.0, True, None), (1.0, None, 0.5), (None, "true", None), ("0.5", "true", None)],
)
def test_evaluate_result_rejects_malformed_arguments(result, success, failure):
    with pytest.raises(ValueError, match=r"condition|result"):
        evaluate_result(result, success, failure)


_RESULTS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
)
_TEXT = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet="result()[]<>=!&|+-*/.0123456789 isNaInflen", max_size=40),
)


@given(_RESULTS, _TEXT, _TEXT)
def test_evaluate_result_never_raises_for_condition_text(result, success, failure):
    assert evaluate_result(result, success, failure) in (S, F, IN, E)


@given(_RESULTS, _TEXT)
def test_a_single_condition_is_never_inconclusive(result, text):
    # EvaluateResult: with one condition unset, the other decides alone
    assert evaluate_result(result, text, None) != IN
    assert evaluate_result(result, None, text) != IN


# --------------------------------------------------------------------------------------------
# effective_count


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        # analysis_types.go Metric.EffectiveCount
        ({}, 1),
        ({"interval": ""}, 1),
        ({"interval": "60s"}, None),
        ({"count": 10}, 10),
        ({"count": "10"}, 10),
        ({"count": 5, "interval": "1m"}, 5),
        # count 0 is "unset"
        ({"count": 0}, 1),
        ({"count": "0"}, 1),
        ({"count": 0, "interval": "1m"}, None),
    ],
)
def test_effective_count(metric, expected):
    assert effective_count(metric) == expected


@pytest.mark.parametrize(
    "metric",
    [{"count": "abc"}, {"count": "50%"}, {"count": " 5"}, {"count": True}, {"count": 1.5}],
)
def test_effective_count_rejects_malformed_count(metric):
    with pytest.raises(ValueError, match=r"metric\.count"):
        effective_count(metric)


def test_effective_count_rejects_non_string_interval():
    with pytest.raises(ValueError, match=r"metric\.interval"):
        effective_count({"interval": 30})


# --------------------------------------------------------------------------------------------
# A18: assess_metric_status


@pytest.mark.parametrize(
    ("metric", "result", "expected", "expected_terminating"),
    [
        # analysis_test.go TestAssessMetricStatusNoMeasurements
        ({}, {}, P, S),
        # analysis_test.go TestAssessMetricStatusInFlightMeasurement: Running even if terminating
        ({}, {"measurements": 2, "lastMeasurement": R, "successful": 1, "count": 1}, R, R),
        ({}, {"measurements": 1, "lastMeasurement": None}, R, R),
        # analysis_test.go TestAssessMetricStatusFailureLimit
        ({"failureLimit": 2, "interval": "60s"}, done(F, failed=3, count=3), F, F),
        ({"failureLimit": 3, "interval": "60s"}, done(F, failed=3, count=3), R, S),
        ({"failureLimit": "2", "interval": "60s"}, done(F, failed=3, count=3), F, F),
        # analysis_test.go TestAssessMetricStatusInconclusiveLimit
        ({"inconclusiveLimit": 2, "interval": "60s"}, done(IN, inconclusive=3, count=3), IN, IN),
        ({"inconclusiveLimit": 3, "interval": "60s"}, done(IN, inconclusive=3, count=3), R, S),
        # analysis_test.go TestAssessMetricStatusConsecutiveErrors (default limit 4)
        ({"interval": "60s"}, done(E, consecutiveError=5, count=5), E, E),
        ({"interval": "60s"}, done(E, consecutiveError=4, count=5), R, S),
        ({"interval": "60s", "consecutiveErrorLimit": 0}, done(E, consecutiveError=1), E, E),
        # analysis_test.go TestAssessMetricStatusCountReached
        ({"count": 10}, done(S, successful=10, count=10), S, S),
        ({"count": 10}, done(S, successful=5, inconclusive=5, count=10), IN, IN),
        # analysis_test.go TestAssessMetricFailureInconclusiveOrError (default limits)
        ({}, done(F, failed=1), F, F),
        ({}, done(IN, inconclusive=1), IN, IN),
        ({}, done(E, consecutiveError=5), E, E),
        # analysis_test.go TestAssessRunStatusUpdateResult: stored Running flips to Failed
        ({}, {**done(F, count=1, failed=1), "phase": R}, F, F),
        # analysis.go assessMetricStatus: a completed stored phase sticks
        ({}, {**done(S, count=1, successful=1), "phase": F}, F, F),
        ({}, {"phase": E}, E, E),
        # analysis.go assessMetricFailureInconclusiveOrError: later checks override earlier
        ({}, done(IN, failed=1, inconclusive=1, count=2), IN, IN),
        ({}, done(E, failed=1, inconclusive=1, consecutiveError=5, count=2), E, E),
        # count reached without the success streak and failureLimit -1: Failed
        (
            {"failureLimit": -1, "consecutiveSuccessLimit": 3},
            done(F, failed=9, count=9, consecutiveSuccess=0),
            F,
            F,
        ),
        # single measurement metric (no count, no interval): done after one non-error
        ({}, done(S, successful=1, count=1), S, S),
        # an Error does not count towards count: the metric is still running
        ({}, done(E, error=1, consecutiveError=1), R, S),
    ],
)
def test_assess_metric_status(metric, result, expected, expected_terminating):
    assert assess_metric_status(metric, result) == expected
    assert assess_metric_status(metric, result, terminating=True) == expected_terminating


def test_metric_with_both_limits_disabled():
    # factory.go ValidateMetric rejects failureLimit -1 without consecutiveSuccessLimit; if
    # it got through, assessMetricStatus would call the metric Successful at its count.
    metric = {"failureLimit": -1}
    assert assess_metric_status(metric, done(F, failed=9, count=9)) == S
    with pytest.raises(ValueError, match="cannot both be disabled"):
        validate_metric(metric)


_CSL_RESULT = done(F, failed=3, successful=4, consecutiveSuccess=3, count=7)


@pytest.mark.parametrize(
    ("count", "limit", "expected", "expected_terminating"),
    [
        # analysis_test.go TestAssessMetricStatusConsecutiveSuccessLimit (failureLimit -1)
        # indefinite (no count)
        (None, 3, S, S),
        (None, 5, R, S),
        # count 7 reached
        (7, 5, F, F),
        (7, 3, S, S),
        # count 9 not reached
        (9, 3, S, S),
        (9, 5, R, S),
    ],
)
def test_assess_metric_status_consecutive_success_limit(
    count, limit, expected, expected_terminating
):
    metric = {"failureLimit": -1, "consecutiveSuccessLimit": limit, "interval": "60s"}
    if count is not None:
        metric["count"] = count
    assert assess_metric_status(metric, _CSL_RESULT) == expected
    assert assess_metric_status(metric, _CSL_RESULT, True) == expected_terminating


@pytest.mark.parametrize(
    ("count", "failed", "successful", "measured", "streak", "expected", "expected_terminating"),
    [
        # analysis_test.go TestAssessMetricStatusFailureLimitAndConsecutiveSuccessLimit
        # (failureLimit 4, consecutiveSuccessLimit 4); indefinite analysis
        (None, 3, 4, 7, 3, R, S),
        (None, 5, 9, 9, 0, F, F),
        (None, 3, 5, 8, 4, S, S),
        (None, 5, 5, 10, 4, F, F),
        # count 10 reached
        (10, 4, 6, 10, 3, IN, IN),
        (10, 5, 5, 10, 3, F, F),
        (10, 4, 6, 10, 4, S, S),
        (10, 5, 5, 10, 4, F, F),
        # count 10 not reached
        (10, 3, 5, 8, 3, R, S),
        (10, 5, 3, 8, 3, F, F),
        (10, 3, 5, 8, 4, S, S),
        (10, 5, 4, 9, 4, F, F),
    ],
)
def test_assess_metric_status_failure_and_success_limits(
    count, failed, successful, measured, streak, expected, expected_terminating
):
    metric = {"failureLimit": 4, "consecutiveSuccessLimit": 4, "interval": "60s"}
    if count is not None:
        metric["count"] = count
    result = done(
        F, failed=failed, successful=successful, count=measured, consecutiveSuccess=streak
    )
    assert assess_metric_status(metric, result) == expected
    assert assess_metric_status(metric, result, True) == expected_terminating


@pytest.mark.parametrize(
    ("metric", "result", "match"),
    [
        ({"failureLimit": "x"}, done(), r"metric\.failureLimit"),
        ({"consecutiveErrorLimit": 2.0}, done(), r"metric\.consecutiveErrorLimit"),
        ({}, done(failed=-1), r"result\.failed"),
        ({}, done(count=True), r"result\.count"),
        ({}, {"measurements": 0, "lastMeasurement": S}, r"result\.lastMeasurement"),
        ({}, done(last="Done"), r"result\.lastMeasurement"),
        ({}, {"phase": "Complete"}, r"result\.phase"),
        ([], {}, "metric"),
        ({}, [], "result"),
    ],
)
def test_assess_metric_status_rejects_malformed_input(metric, result, match):
    with pytest.raises(ValueError, match=match):
        assess_metric_status(metric, result)


_COUNTER = st.integers(min_value=0, max_value=30)
_LIMIT = st.one_of(st.none(), st.integers(min_value=0, max_value=10))


@given(
    failure_limit=st.integers(min_value=0, max_value=10),
    extra=st.integers(min_value=1, max_value=10),
    inconclusive_limit=_LIMIT,
    error_limit=_LIMIT,
    success_limit=_LIMIT,
    count=st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
    interval=st.sampled_from([None, "30s"]),
    counters=st.fixed_dictionaries(
        {"count": _COUNTER, "successful": _COUNTER, "consecutiveSuccess": _COUNTER}
    ),
    last=st.sampled_from(sorted(COMPLETED_PHASES)),
    terminating=st.booleans(),
)
def test_failed_once_failures_pass_the_limit(
    failure_limit,
    extra,
    inconclusive_limit,
    error_limit,
    success_limit,
    count,
    interval,
    counters,
    last,
    terminating,
):
    # Failed whenever failed > failureLimit >= 0, as long as no later check (inconclusive,
    # consecutive errors) overrides it, whatever count, successes or termination say.
    metric = {
        "failureLimit": failure_limit,
        "inconclusiveLimit": inconclusive_limit,
        "consecutiveErrorLimit": error_limit,
        "consecutiveSuccessLimit": success_limit,
        "count": count,
        "interval": interval,
    }
    result = done(last, failed=failure_limit + extra, inconclusive=0, consecutiveError=0)
    result.update(counters)
    assert assess_metric_status(metric, result, terminating) == F


@given(
    metric=st.fixed_dictionaries(
        {
            "failureLimit": st.one_of(st.none(), st.integers(-1, 5)),
            "inconclusiveLimit": _LIMIT,
            "consecutiveErrorLimit": _LIMIT,
            "consecutiveSuccessLimit": _LIMIT,
            "count": st.one_of(st.none(), st.integers(0, 10)),
            "interval": st.sampled_from([None, "1m"]),
        }
    ),
    counters=st.fixed_dictionaries(
        dict.fromkeys(
            (
                "count",
                "successful",
                "failed",
                "inconclusive",
                "error",
                "consecutiveError",
                "consecutiveSuccess",
                "measurements",
            ),
            _COUNTER,
        )
    ),
    last=st.sampled_from([None, *PHASES]),
)
def test_terminating_ends_every_metric_not_in_flight(metric, counters, last):
    if last is not None and counters["measurements"] == 0:
        counters["measurements"] = 1
    result = {**counters, "lastMeasurement": last}
    phase = assess_metric_status(metric, result, terminating=True)
    in_flight = counters["measurements"] > 0 and last not in COMPLETED_PHASES
    assert (phase == R) if in_flight else (phase in COMPLETED_PHASES)
    assert assess_metric_status(metric, result) != P or counters["measurements"] == 0


# --------------------------------------------------------------------------------------------
# record_measurement


@pytest.mark.parametrize(
    ("phase", "changes"),
    [
        # analysis.go runMeasurements: the counter updates per measurement phase
        (S, {"successful": 3, "count": 6, "consecutiveError": 0, "consecutiveSuccess": 3}),
        (F, {"failed": 2, "count": 6, "consecutiveError": 0, "consecutiveSuccess": 0}),
        (IN, {"inconclusive": 2, "count": 6, "consecutiveError": 0, "consecutiveSuccess": 0}),
        (E, {"error": 3, "consecutiveError": 3, "consecutiveSuccess": 0}),
    ],
)
def test_record_measurement_counters(phase, changes):
    before = {
        "count": 5,
        "successful": 2,
        "failed": 1,
        "inconclusive": 1,
        "error": 2,
        "consecutiveError": 2,
        "consecutiveSuccess": 2,
        "measurements": 7,
        "lastMeasurement": S,
    }
    after = record_measurement(before, phase)
    expected = {**before, **changes, "measurements": 8, "lastMeasurement": phase}
    assert after == expected
    assert before["measurements"] == 7  # not modified


def test_record_measurement_reset_consecutive_error_counter():
    # analysis_test.go TestRunMeasurementsResetConsecutiveErrorCounter: an Error measurement
    before = {"consecutiveError": 4, "count": 4, "error": 4}
    after = record_measurement(before, E)
    assert (after["consecutiveError"], after["error"], after["count"]) == (5, 5, 4)
    # ... and the commented-out non-error branch of the same test
    after = record_measurement(before, S)
    assert (after["consecutiveError"], after["error"], after["count"]) == (0, 4, 5)


def test_record_measurement_resumes_an_in_flight_measurement():
    # analysis.go runMeasurements: a resumed measurement replaces the last one
    started = record_measurement({}, R)
    assert started == {**dict.fromkeys(started, 0), "measurements": 1, "lastMeasurement": R}
    assert assess_metric_status({}, started) == R
    finished = record_measurement(started, S)
    assert finished["measurements"] == 1
    assert (finished["count"], finished["successful"]) == (1, 1)
    assert assess_metric_status({}, finished) == S


def test_record_measurement_keeps_other_keys_and_rejects_bad_phases():
    after = record_measurement({"name": "success-rate", "phase": R}, S)
    assert after["name"] == "success-rate"
    assert after["phase"] == R
    with pytest.raises(ValueError, match="phase"):
        record_measurement({}, "Done")


def test_error_measurements_are_retried_until_the_error_limit():
    # An erroring single-measurement metric: Error does not count, so it is retried every
    # 10 s (analysis.go DefaultErrorRetryInterval) and errors out on the 5th in a row.
    metric: dict = {}
    result: dict = {}
    phases = []
    for _ in range(5):
        result = record_measurement(result, E)
        phases.append(assess_metric_status(metric, result))
        assert measurement_delay(metric, E) == DEFAULT_ERROR_RETRY_INTERVAL_S == 10.0
    assert phases == [R, R, R, R, E]


def test_a_success_resets_the_error_streak():
    result: dict = {}
    for phase in (E, E, E, E, S, E, E, E, E):
        result = record_measurement(result, phase)
    assert assess_metric_status({"interval": "1m"}, result) == R
    assert assess_metric_status({"interval": "1m"}, record_measurement(result, E)) == E


# --------------------------------------------------------------------------------------------
# A19: assess_run_status and is_terminating


@pytest.mark.parametrize(
    ("phases", "terminating", "dry_run", "expected"),
    [
        # analysis_test.go TestAssessRunStatus
        ({"latency": S, "success-rate": R}, False, (), R),
        ({"latency": S, "success-rate": F}, False, (), F),
        # analysis_test.go TestAssessRunStatusUpdateResult
        ({"sleep-infinity": R, "fail-after-30": F}, False, (), R),
        # analysis_test.go newTerminatingRun: a Failed metric ends the run at once
        ({"run-forever": R, "failed-metric": F}, True, (), F),
        # analysis_test.go TestAssessRunStatusErrorMessageAnalysisPhaseFail(+InDryRunMode)
        ({"run-forever": S, "failed-metric": F}, True, (), F),
        ({"run-forever": S, "failed-metric": F}, False, ("run-forever", "failed-metric"), S),
        # analysis_test.go TestAssessRunStatusMultipleFailures(+InDryRunMode)
        ({"run-forever": F, "failed-metric": F}, True, (), F),
        ({"run-forever": F, "failed-metric": F}, False, ("run-forever", "failed-metric"), S),
        # analysis_test.go TestAssessRunStatusWithOnlyDryRunMetrics
        ({"success-metric": S}, False, ("success-metric",), S),
        # analysis_test.go TestTerminateAnalysisRun: nothing measured yet, terminate -> Successful
        ({"success-rate": P}, True, (), S),
        # helpers.go IsWorse order among completed phases
        ({"a": E, "b": IN}, False, (), E),
        ({"a": E, "b": F}, False, (), F),
        ({"a": IN, "b": S}, False, (), IN),
        # a dry-run metric must still complete
        ({"a": S, "b": R}, False, ("b",), R),
        # analysis.go assessRunStatus with no metrics (upstream rejects that run earlier)
        ({}, False, (), R),
        ({}, True, (), S),
    ],
)
def test_assess_run_status(phases, terminating, dry_run, expected):
    assert assess_run_status(phases, terminating, dry_run) == expected


def test_assess_run_status_with_mixed_metrics():
    # analysis_test.go TestAssessRunStatusWithMixedMetrics: the in-flight measurement of
    # "run-forever" resumes as Successful, but its earlier Inconclusive is over the default
    # inconclusiveLimit 0; the dry-run metric's failure does not count.
    run_forever = {"inconclusive": 1, "phase": R, "measurements": 1, "lastMeasurement": R}
    run_forever = record_measurement(run_forever, S)
    success_metric = {"count": 1, "failed": 1, "phase": S, **done(F)}
    phases = {
        "run-forever": assess_metric_status({}, run_forever),
        "success-metric": assess_metric_status({}, success_metric),
    }
    assert phases == {"run-forever": IN, "success-metric": S}
    assert assess_run_status(phases, dry_run=("success-metric",)) == IN


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(sorted(COMPLETED_PHASES))),
    st.sets(st.sampled_from("abcdef")),
)
def test_assess_run_status_takes_the_worst_of_all_completed(phases, dry_run):
    ranking = ["Successful", "Inconclusive", "Error", "Failed"]  # helpers.go, best to worst
    counted = [p for name, p in phases.items() if name not in dry_run]
    expected = max(counted, key=ranking.index) if counted else S if phases else R
    assert assess_run_status(phases, False, dry_run) == expected


def test_assess_run_status_rejects_unknown_phases():
    with pytest.raises(ValueError, match="metric_phases"):
        assess_run_status({"a": "Done"})


def test_is_terminating():
    # helpers_test.go TestIsTerminating
    phases = {"other-metric": R, "success-rate": R}
    assert not is_terminating(phases)
    assert is_terminating(phases, terminate=True)
    assert is_terminating({**phases, "success-rate": E})
    # helpers_test.go TestIsFastFailTerminating
    phases = {"other": R, "success-rate": R, "dry-run-metric": E, "yet-another": R}
    assert not is_terminating(phases, dry_run={"dry-run-metric"})
    assert is_terminating({**phases, "yet-another": E}, dry_run={"dry-run-metric"})
    for phase in (E, F, IN):
        assert is_terminating({**phases, "success-rate": phase}, dry_run={"dry-run-metric"})
    assert not is_terminating({})


# --------------------------------------------------------------------------------------------
# Durations: Go's time.ParseDuration (src/time/time_test.go parseDurationTests)

_NS, _US, _MS, _SEC = 1, 1_000, 1_000_000, 1_000_000_000
_MIN, _HOUR = 60 * _SEC, 3600 * _SEC


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("5s", 5 * _SEC),
        ("30s", 30 * _SEC),
        ("1478s", 1478 * _SEC),
        ("-5s", -5 * _SEC),
        ("+5s", 5 * _SEC),
        ("-0", 0),
        ("+0", 0),
        ("5.0s", 5 * _SEC),
        ("5.6s", 5 * _SEC + 600 * _MS),
        ("5.s", 5 * _SEC),
        (".5s", 500 * _MS),
        ("1.0s", _SEC),
        ("1.00s", _SEC),
        ("1.004s", _SEC + 4 * _MS),
        ("1.0040s", _SEC + 4 * _MS),
        ("100.00100s", 100 * _SEC + _MS),
        ("10ns", 10 * _NS),
        ("11us", 11 * _US),
        ("12\u00b5s", 12 * _US),
        ("12\u03bcs", 12 * _US),
        ("13ms", 13 * _MS),
        ("14s", 14 * _SEC),
        ("15m", 15 * _MIN),
        ("16h", 16 * _HOUR),
        ("3h30m", 3 * _HOUR + 30 * _MIN),
        ("10.5s4m", 4 * _MIN + 10 * _SEC + 500 * _MS),
        ("-2m3.4s", -(2 * _MIN + 3 * _SEC + 400 * _MS)),
        ("1h2m3s4ms5us6ns", _HOUR + 2 * _MIN + 3 * _SEC + 4 * _MS + 5 * _US + 6 * _NS),
        ("39h9m14.425s", 39 * _HOUR + 9 * _MIN + 14 * _SEC + 425 * _MS),
        ("52763797000ns", 52763797000),
        ("0.3333333333333333333h", 20 * _MIN),
        ("9007199254740993ns", (1 << 53) + 1),
        ("9223372036854775807ns", (1 << 63) - 1),
        ("9223372036854775.807us", (1 << 63) - 1),
        ("9223372036s854ms775us807ns", (1 << 63) - 1),
        ("-9223372036854775808ns", -(1 << 63)),
        ("-9223372036854775.808us", -(1 << 63)),
        ("-9223372036s854ms775us808ns", -(1 << 63)),
        ("-2562047h47m16.854775808s", -(1 << 63)),
        ("0.100000000000000000000h", 6 * _MIN),
        ("0.830103483285477580700h", 49 * _MIN + 48 * _SEC + 372539827),
    ],
)
def test_parse_duration_ns(text, nanoseconds):
    assert parse_duration_ns(text) == nanoseconds


@pytest.mark.parametrize(
    "text",
    [
        # time_test.go parseDurationErrorTests
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
        "\xffff",
        "hello \xffff world",
        "\ufffd",
        "\ufffd hello \ufffd world",
        "9223372036854775810ns",
        "9223372036854775808ns",
        "-9223372036854775809ns",
        "9223372036854776us",
        "3000000h",
        "9223372036854775.808us",
        "9223372036854ms775us808ns",
        # and a few spellings people try
        "1 s",
        "30S",
        "1m 30s",
        "1" + "0" * 5000 + "s",
    ],
)
def test_parse_duration_errors(text):
    with pytest.raises(ValueError, match="invalid Go duration"):
        parse_duration(text)


def test_parse_duration_seconds():
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1h") == 3600.0
    with pytest.raises(ValueError, match="must be a string"):
        parse_duration(30)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# A20 timing: measurement_delay and first_measurement_delay


@pytest.mark.parametrize(
    ("metric", "last", "expected"),
    [
        # analysis_test.go TestCalculateNextReconcileTimeInterval: interval after success
        ({"interval": "60s"}, S, 60.0),
        ({"interval": "1m30s"}, F, 90.0),
        ({"interval": "5m"}, IN, 300.0),
        # analysis_test.go TestCalculateNextReconcileUponError: 10 s, with or without interval
        ({}, E, 10.0),
        ({"interval": "5m"}, E, 10.0),
        ({"interval": "1s"}, E, 10.0),
        # analysis_test.go TestCalculateNextReconcileTimeNoInterval: no requeue
        ({"count": 1}, S, None),
        ({}, F, None),
        # a negative Go duration is already overdue
        ({"interval": "-5s"}, S, 0.0),
    ],
)
def test_measurement_delay(metric, last, expected):
    assert measurement_delay(metric, last) == expected


def test_measurement_delay_rejects_in_flight_and_bad_intervals():
    with pytest.raises(ValueError, match="last_phase"):
        measurement_delay({"interval": "1m"}, R)
    with pytest.raises(ValueError, match="invalid Go duration"):
        measurement_delay({"interval": "1 minute"}, S)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        # analysis_test.go TestCalculateNextReconcileTimeInitialDelay / ...HonorInitialDelay
        ({"initialDelay": "40s"}, 40.0),
        ({"initialDelay": "20s", "interval": "20s"}, 20.0),
        ({}, 0.0),
        ({"initialDelay": ""}, 0.0),
        ({"initialDelay": "-1m"}, 0.0),
    ],
)
def test_first_measurement_delay(metric, expected):
    assert first_measurement_delay(metric) == expected


def test_first_measurement_delay_rejects_invalid_delay():
    # analysis_test.go TestGenerateMetricTasksHonorInitialDelay uses "invalid-start-delay"
    with pytest.raises(ValueError, match="invalid Go duration"):
        first_measurement_delay({"initialDelay": "invalid-start-delay"})


# --------------------------------------------------------------------------------------------
# validate_metric (utils/analysis/factory.go ValidateMetric)


@pytest.mark.parametrize(
    "metric",
    [
        {},
        {"interval": "1m"},
        {"count": 1},
        {"count": 5, "interval": "1m", "failureLimit": 2, "consecutiveSuccessLimit": 3},
        {"count": 3, "interval": "1m", "failureLimit": -1, "consecutiveSuccessLimit": 3},
        {"interval": "1m", "failureLimit": -1, "consecutiveSuccessLimit": 1},
        {"initialDelay": "30s"},
    ],
)
def test_validate_metric_accepts(metric):
    validate_metric(metric)


@pytest.mark.parametrize(
    ("metric", "match"),
    [
        ({"consecutiveSuccessLimit": -1}, "consecutiveSuccessLimit"),
        ({"failureLimit": -2}, "failureLimit"),
        ({"failureLimit": -1}, "cannot both be disabled"),
        ({"inconclusiveLimit": -1}, "inconclusiveLimit"),
        ({"consecutiveErrorLimit": -1}, "consecutiveErrorLimit"),
        ({"count": 4, "interval": "1m", "failureLimit": 2, "consecutiveSuccessLimit": 3}, "count"),
        (
            {"count": 2, "interval": "1m", "failureLimit": -1, "consecutiveSuccessLimit": 3},
            "count",
        ),
        ({"count": 2, "interval": "1m", "inconclusiveLimit": 3}, "inconclusiveLimit"),
        ({"count": 2}, "interval"),
        ({"interval": "1x"}, "invalid Go duration"),
        ({"initialDelay": "soon"}, "invalid Go duration"),
    ],
)
def test_validate_metric_rejects(metric, match):
    with pytest.raises(ValueError, match=match):
        validate_metric(metric)
