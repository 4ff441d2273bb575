"""Argo Rollouts analysis: how measurements become a metric phase and a run phase.

An ``AnalysisRun`` holds one or more *metrics*. Each metric is measured
repeatedly (a Prometheus query, a web call, ...), and each measurement is
judged on its own by the metric's ``successCondition``/``failureCondition``
(:func:`evaluate_result`): ``Successful``, ``Failed``, ``Inconclusive``, or
``Error`` when the query or the expression itself broke. The controller keeps
counters per metric (:func:`record_measurement`) and, at every reconcile,
turns them into a metric phase (:func:`assess_metric_status`) and the metrics'
phases into the run's phase (:func:`assess_run_status`). The rollout reacts to
the run: ``Failed``/``Error`` abort it, ``Inconclusive`` pauses it for a human.

The rules are small but their order matters:

* A metric is ``Pending`` until its first measurement and ``Running`` while a
  measurement is in flight.
* The limits are checked in the order failed, inconclusive, consecutive
  errors, and a later one *overrides* an earlier one: a metric that is over
  both its failure and its inconclusive limit is ``Inconclusive``.
* ``Error`` measurements do not count towards ``count``; they are retried
  after a fixed 10 s (:data:`DEFAULT_ERROR_RETRY_INTERVAL_S`), whatever the
  metric's ``interval``, and the metric errors out after more than
  ``consecutiveErrorLimit`` (default 4) in a row.
* A metric with neither ``count`` nor ``interval`` is measured once; one with
  only ``interval`` runs until the run is terminated (then it is
  ``Successful``, unless a limit was already crossed).
* Once a metric reaches a completed phase it keeps it.

Phases are plain strings in Argo's spelling. Metrics and counters are mappings
in Argo's JSON spelling (``failureLimit``, ``consecutiveError``, ...), so a
metric pasted from an ``AnalysisTemplate`` works as is; counters that are
absent count as zero, as in Argo's ``omitempty`` JSON.

Each function names the upstream function it mirrors as ``repo path
FunctionName``; paths are in ``argoproj/argo-rollouts``, read at commit
9f8d111d (v1.10.0-rc1+70). No SimPy here: the caller owns the clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from simdeploy.rules.condition import ConditionError, ResultValue, coerce_result, parse
from simdeploy.rules.go_duration import parse_duration, parse_duration_ns

__all__ = [
    "COMPLETED_PHASES",
    "DEFAULT_CONSECUTIVE_ERROR_LIMIT",
    "DEFAULT_ERROR_RETRY_INTERVAL_S",
    "ERROR",
    "FAILED",
    "INCONCLUSIVE",
    "PENDING",
    "PHASES",
    "PHASE_ORDER",
    "RUNNING",
    "SUCCESSFUL",
    "assess_metric_status",
    "assess_run_status",
    "effective_count",
    "evaluate_result",
    "first_measurement_delay",
    "is_completed",
    "is_terminating",
    "is_worse",
    "measurement_delay",
    "parse_duration",
    "parse_duration_ns",
    "record_measurement",
    "validate_metric",
    "worst",
]

PENDING = "Pending"
RUNNING = "Running"
SUCCESSFUL = "Successful"
FAILED = "Failed"
ERROR = "Error"
INCONCLUSIVE = "Inconclusive"

PHASES = (PENDING, RUNNING, SUCCESSFUL, FAILED, ERROR, INCONCLUSIVE)
"""Every ``AnalysisPhase`` (``pkg/apis/rollouts/v1alpha1/analysis_types.go``)."""

COMPLETED_PHASES = frozenset({SUCCESSFUL, FAILED, ERROR, INCONCLUSIVE})
"""The phases ``AnalysisPhase.Completed`` accepts; a metric or run in one is final."""

PHASE_ORDER = (SUCCESSFUL, RUNNING, PENDING, INCONCLUSIVE, ERROR, FAILED)
"""Best to worst (``utils/analysis/helpers.go analysisStatusOrder``)."""

DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4
"""``utils/defaults/defaults.go DefaultConsecutiveErrorLimit``."""

DEFAULT_ERROR_RETRY_INTERVAL_S = 10.0
"""Wait after an ``Error`` measurement, whatever the metric's interval
(``analysis/analysis.go DefaultErrorRetryInterval``)."""

_RANK = {phase: i for i, phase in enumerate(PHASE_ORDER)}
_COUNTERS = (
    "count",
    "successful",
    "failed",
    "inconclusive",
    "error",
    "consecutiveError",
    "consecutiveSuccess",
    "measurements",
)
_ATOI = re.compile(r"[+-]?[0-9]+")

# -------------------------------------------------------------------------------------------
# Input checking


def _phase(value: object, name: str) -> str:
    if not isinstance(value, str) or value not in _RANK:
        raise ValueError(f"{name}: must be one of {', '.join(PHASES)}, got {value!r}")
    return value


def _int_or_string(metric: Mapping[str, Any], key: str) -> int | None:
    """Read an IntOrString field as Kubernetes ``IntOrString.IntValue`` does.

    ``None`` when the field is absent. Upstream reads a non-numeric string as
    0; here it is rejected as malformed.
    """
    value = metric.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"metric.{key}: must be an int or a numeric string, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _ATOI.fullmatch(value):
        return int(value)
    raise ValueError(f"metric.{key}: must be an int or a numeric string, got {value!r}")


def _duration_field(metric: Mapping[str, Any], key: str) -> str | None:
    value = metric.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"metric.{key}: must be a duration string like '30s', got {value!r}")
    return value


def _metric(metric: object) -> Mapping[str, Any]:
    if not isinstance(metric, Mapping):
        raise ValueError(f"metric: must be a mapping, got {type(metric).__name__}")
    return metric


def _counters(result: object) -> dict[str, Any]:
    """Check a MetricResult mapping and return its counters with defaults filled in."""
    if not isinstance(result, Mapping):
        raise ValueError(f"result: must be a mapping, got {type(result).__name__}")
    out: dict[str, Any] = {}
    for key in _COUNTERS:
        value = result.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"result.{key}: must be a non-negative int, got {value!r}")
        out[key] = value
    last = result.get("lastMeasurement")
    if last is not None:
        _phase(last, "result.lastMeasurement")
        if out["measurements"] == 0:
            raise ValueError("result.lastMeasurement: set, but result.measurements is 0")
    out["lastMeasurement"] = last
    phase = result.get("phase")
    out["phase"] = None if phase in (None, "") else _phase(phase, "result.phase")
    return out


# -------------------------------------------------------------------------------------------
# Phases


def is_completed(phase: str) -> bool:
    """Return whether ``phase`` is final (Successful, Failed, Error or Inconclusive).

    Mirrors: ``argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/analysis_types.go
    AnalysisPhase.Completed``.

    Raises:
        ValueError: if ``phase`` is not an Argo phase.

    """
    return _phase(phase, "phase") in COMPLETED_PHASES


def is_worse(current: str, new: str) -> bool:
    """Return whether ``new`` is strictly worse than ``current``.

    The order, best to worst, is Successful < Running < Pending < Inconclusive
    < Error < Failed (:data:`PHASE_ORDER`).

    Mirrors: ``argoproj/argo-rollouts utils/analysis/helpers.go IsWorse``
    (upstream ranks an unknown phase like Successful; here it is an error).

    Args:
        current: The phase so far.
        new: The candidate phase.

    Returns:
        ``True`` if ``new`` ranks after ``current``.

    Raises:
        ValueError: if either is not an Argo phase.

    """
    return _RANK[_phase(new, "new")] > _RANK[_phase(current, "current")]


def worst(left: str, right: str) -> str:
    """Return the worse of two phases (``left`` on a tie).

    Mirrors: ``argoproj/argo-rollouts utils/analysis/helpers.go Worst``.
    """
    return right if is_worse(left, right) else left


# -------------------------------------------------------------------------------------------
# One measurement


def _condition_text(value: object, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: must be a string or None, got {type(value).__name__}")
    return value


def evaluate_result(
    result: ResultValue,
    success_condition: str | None = None,
    failure_condition: str | None = None,
) -> str:
    """Judge one measurement against the metric's conditions.

    * Neither condition set: ``Successful``.
    * Only ``successCondition``: ``Successful`` if it holds, else ``Failed``.
    * Only ``failureCondition``: ``Failed`` if it holds, else ``Successful``.
    * Both: ``Failed`` if the failure condition holds (even if the success
      condition holds too), ``Successful`` if only the success condition
      holds, ``Inconclusive`` if neither does.
    * Any condition that does not parse or evaluate (an index out of range on
      an empty vector, a type error, a non-bool value): ``Error``. Both
      conditions are evaluated, so an error in either one gives ``Error``.

    Mirrors: ``argoproj/argo-rollouts utils/evaluate/evaluate.go EvaluateResult``.

    Args:
        result: The measured value: a float, a bool, or a list of floats
            (a Prometheus instant vector; empty when no series matched).
        success_condition: ``successCondition``; ``None`` or ``""`` = unset.
        failure_condition: ``failureCondition``; ``None`` or ``""`` = unset.

    Returns:
        ``"Successful"``, ``"Failed"``, ``"Inconclusive"`` or ``"Error"``.

    Raises:
        ValueError: if a condition is not a string or ``result`` is not a
            number, bool or list of numbers. Bad condition *text* never
            raises: it is an ``Error`` measurement, as in Argo.

    """
    success_text = _condition_text(success_condition, "success_condition")
    failure_text = _condition_text(failure_condition, "failure_condition")
    value = coerce_result(result)
    try:
        succeeded = success_text is not None and parse(success_text).evaluate(value)
        failed = failure_text is not None and parse(failure_text).evaluate(value)
    except ConditionError:
        return ERROR
    if success_text is None and failure_text is None:
        return SUCCESSFUL
    if failure_text is None:
        failed = not succeeded
    elif success_text is None:
        succeeded = not failed
    if failed:
        return FAILED
    if not succeeded:
        return INCONCLUSIVE
    return SUCCESSFUL


def record_measurement(result: Mapping[str, Any], phase: str) -> dict[str, Any]:
    """Return the metric's counters after one more measurement.

    A completed measurement updates the counters as the controller does:

    ============  =====  =============  ================  ==================
    phase         count  own counter    consecutiveError  consecutiveSuccess
    ============  =====  =============  ================  ==================
    Successful    +1     successful +1  reset to 0        +1
    Failed        +1     failed +1      reset to 0        reset to 0
    Inconclusive  +1     inconclusive   reset to 0        reset to 0
    Error         --     error +1       +1                reset to 0
    ============  =====  =============  ================  ==================

    ``Error`` does not increase ``count``, so an erroring metric never reaches
    its ``count``: it is retried until ``consecutiveErrorLimit`` is passed.

    A ``Running`` (or ``Pending``) phase records a measurement in flight: it
    changes no counter. A later call with its final phase *replaces* it rather
    than adding a new one, as the controller resumes the in-flight measurement.
    ``measurements`` counts the recorded measurements (Argo keeps only the
    last 10, which does not matter here: only "none yet" is ever tested) and
    ``lastMeasurement`` holds the phase of the latest. ``phase`` and any other
    key are copied unchanged.

    Mirrors: ``argoproj/argo-rollouts analysis/analysis.go runMeasurements``.

    Args:
        result: The MetricResult counters so far (absent keys count as 0).
        phase: The new measurement's phase.

    Returns:
        A new mapping; ``result`` is not modified.

    Raises:
        ValueError: on a malformed ``result`` or an unknown ``phase``.

    """
    counters = _counters(result)
    _phase(phase, "phase")
    new = dict(result)
    for key in _COUNTERS:
        new[key] = counters[key]
    last = counters["lastMeasurement"]
    resuming = counters["measurements"] > 0 and last not in COMPLETED_PHASES
    if not resuming:
        new["measurements"] += 1
    new["lastMeasurement"] = phase
    if phase in COMPLETED_PHASES:
        if phase == ERROR:
            new["error"] += 1
            new["consecutiveError"] += 1
        else:
            new["count"] += 1
            new["consecutiveError"] = 0
            key = {SUCCESSFUL: "successful", FAILED: "failed", INCONCLUSIVE: "inconclusive"}
            new[key[phase]] += 1
        if phase == SUCCESSFUL:
            new["consecutiveSuccess"] += 1
        else:
            new["consecutiveSuccess"] = 0
    return new


# -------------------------------------------------------------------------------------------
# Metric phase


def effective_count(metric: Mapping[str, Any]) -> int | None:
    """Return how many (non-error) measurements the metric takes; ``None`` = unbounded.

    ``count`` when it is set and not 0. Otherwise 1 when ``interval`` is unset
    too (a single measurement), and ``None`` when ``interval`` is set: the
    metric then runs until the run is terminated.

    Mirrors: ``argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/analysis_types.go
    Metric.EffectiveCount``.

    Args:
        metric: The metric in Argo's spelling (``count``, ``interval``).

    Returns:
        The count, or ``None`` for an open-ended metric.

    Raises:
        ValueError: on a malformed ``count`` or ``interval``.

    """
    metric = _metric(metric)
    count = _int_or_string(metric, "count")
    if count is None or count == 0:
        return 1 if _duration_field(metric, "interval") is None else None
    return count


def _failure_inconclusive_or_error(metric: Mapping[str, Any], c: Mapping[str, Any]) -> str | None:
    """The limit checks, in upstream order; a later match overrides an earlier one.

    Mirrors: ``argoproj/argo-rollouts analysis/analysis.go
    assessMetricFailureInconclusiveOrError``.
    """
    phase = None
    failure_limit = _int_or_string(metric, "failureLimit")
    failure_limit = 0 if failure_limit is None else failure_limit
    if failure_limit >= 0 and c["failed"] > failure_limit:
        phase = FAILED
    inconclusive_limit = _int_or_string(metric, "inconclusiveLimit")
    if c["inconclusive"] > (0 if inconclusive_limit is None else inconclusive_limit):
        phase = INCONCLUSIVE
    error_limit = _int_or_string(metric, "consecutiveErrorLimit")
    if error_limit is None:
        error_limit = DEFAULT_CONSECUTIVE_ERROR_LIMIT
    if c["consecutiveError"] > error_limit:
        phase = ERROR
    return phase


def assess_metric_status(
    metric: Mapping[str, Any], result: Mapping[str, Any], terminating: bool = False
) -> str:
    """Return a metric's phase from its counters.

    The checks, in upstream order (the first that applies wins):

    1. ``result["phase"]`` already completed: it stays.
    2. No measurement yet: ``Pending`` (``Successful`` if the run is
       terminating).
    3. The latest measurement still in flight: ``Running``, even when
       terminating.
    4. The limits, where a later one overrides an earlier one: ``Failed`` if
       ``failed > failureLimit`` (default 0, -1 disables), then
       ``Inconclusive`` if ``inconclusive > inconclusiveLimit`` (default 0),
       then ``Error`` if ``consecutiveError > consecutiveErrorLimit``
       (default 4).
    5. ``consecutiveSuccessLimit`` set (> 0) and reached: ``Successful``.
    6. ``count >= effective_count``: ``Successful``; but if
       ``consecutiveSuccessLimit`` is set (and was not reached) the metric is
       ``Inconclusive``, or ``Failed`` when ``failureLimit`` is -1.
    7. Otherwise the metric goes on: ``Running``, or ``Successful`` if the
       run is terminating.

    Mirrors: ``argoproj/argo-rollouts analysis/analysis.go assessMetricStatus``.

    Args:
        metric: The metric spec in Argo's spelling: ``count``, ``interval``,
            ``failureLimit``, ``inconclusiveLimit``, ``consecutiveErrorLimit``,
            ``consecutiveSuccessLimit`` (ints or numeric strings; absent =
            unset). Other keys are ignored.
        result: The MetricResult counters (``count``, ``successful``,
            ``failed``, ``inconclusive``, ``error``, ``consecutiveError``,
            ``consecutiveSuccess``, ``measurements``), ``lastMeasurement``
            (phase of the latest measurement, ``None`` if none) and optionally
            ``phase`` (the phase stored by the previous assessment).
        terminating: The run is being terminated (a stop was requested, or a
            metric already ended Failed, Error or Inconclusive; see
            :func:`is_terminating`).

    Returns:
        The metric's phase.

    Raises:
        ValueError: on malformed ``metric`` or ``result`` values.

    """
    metric = _metric(metric)
    c = _counters(result)
    if c["phase"] in COMPLETED_PHASES:
        return c["phase"]
    if c["measurements"] == 0:
        return SUCCESSFUL if terminating else PENDING
    if c["lastMeasurement"] not in COMPLETED_PHASES:
        return RUNNING
    phase = _failure_inconclusive_or_error(metric, c)
    if phase is not None:
        return phase
    success_limit = _int_or_string(metric, "consecutiveSuccessLimit")
    success_applicable = success_limit is not None and success_limit > 0
    if success_applicable and c["consecutiveSuccess"] >= success_limit:
        return SUCCESSFUL
    count = effective_count(metric)
    if count is not None and c["count"] >= count:
        failure_limit = _int_or_string(metric, "failureLimit")
        failure_applicable = failure_limit is None or failure_limit >= 0
        if success_applicable:
            return INCONCLUSIVE if failure_applicable else FAILED
        return SUCCESSFUL
    return SUCCESSFUL if terminating else RUNNING


# -------------------------------------------------------------------------------------------
# Run phase


def is_terminating(
    metric_phases: Mapping[str, str], terminate: bool = False, dry_run: Collection[str] = ()
) -> bool:
    """Return whether the run is terminating.

    It is when a stop was requested (``spec.terminate``) or when any metric
    that is not dry-run *already* stored Failed, Error or Inconclusive.

    Mirrors: ``argoproj/argo-rollouts utils/analysis/helpers.go IsTerminating``.

    Args:
        metric_phases: Metric name to the phase stored by the previous
            assessment.
        terminate: ``spec.terminate``.
        dry_run: Names of dry-run metrics.

    Returns:
        ``True`` if no new measurement should start.

    Raises:
        ValueError: on an unknown phase.

    """
    if terminate:
        return True
    return any(
        _phase(phase, f"metric_phases[{name!r}]") in (FAILED, ERROR, INCONCLUSIVE)
        and name not in dry_run
        for name, phase in metric_phases.items()
    )


def assess_run_status(
    metric_phases: Mapping[str, str], terminating: bool = False, dry_run: Collection[str] = ()
) -> str:
    """Return the run's phase from its metrics' phases.

    While any metric is not completed the run is ``Running``; once all are,
    it takes the worst completed phase (:func:`is_worse`). A dry-run metric
    must still complete, but its phase counts as ``Successful``. When the run
    is terminating it ends at once with the worst phase completed so far, or
    ``Successful`` if none has completed.

    An empty mapping gives ``Running`` (``Successful`` when terminating):
    upstream rejects a run with no metrics before it gets here. A run whose
    metrics are *all* dry-run ends ``Successful``; to get that, pass them in
    ``metric_phases`` and name them in ``dry_run`` rather than leaving them out.

    Mirrors: ``argoproj/argo-rollouts analysis/analysis.go assessRunStatus``.

    Args:
        metric_phases: Metric name to its current phase (from
            :func:`assess_metric_status`; ``Pending`` for a metric not yet
            measured).
        terminating: The run is terminating (see :func:`is_terminating`).
        dry_run: Names of dry-run metrics.

    Returns:
        The run's phase.

    Raises:
        ValueError: on an unknown phase.

    """
    worst_phase: str | None = None
    everything_completed = True
    for name, phase in metric_phases.items():
        if not is_completed(_phase(phase, f"metric_phases[{name!r}]")):
            everything_completed = False
        elif name in dry_run:
            if worst_phase is None:
                worst_phase = SUCCESSFUL
        elif worst_phase is None or is_worse(worst_phase, phase):
            worst_phase = phase
    if terminating:
        return SUCCESSFUL if worst_phase is None else worst_phase
    if not everything_completed or worst_phase is None:
        return RUNNING
    return worst_phase


# -------------------------------------------------------------------------------------------
# Timing (Argo's DurationString is Go's time.ParseDuration: simdeploy.rules.go_duration)

def measurement_delay(metric: Mapping[str, Any], last_phase: str) -> float | None:
    """Return the seconds from the end of a measurement to the start of the next.

    After an ``Error`` the next measurement comes after
    :data:`DEFAULT_ERROR_RETRY_INTERVAL_S` (10 s), whatever the metric's
    ``interval``; otherwise after ``interval``. The wait runs from when the
    measurement *finished*. A negative interval means "at once" (0).

    ``None`` when the metric has no interval and the measurement did not
    error: no further measurement is scheduled. With a valid metric that only
    happens once its count is reached, so check :func:`assess_metric_status`
    first: a completed metric takes no more measurements.

    Mirrors: ``argoproj/argo-rollouts analysis/analysis.go
    calculateNextReconcileTime`` and ``generateMetricTasks``.

    Args:
        metric: The metric spec (``interval``).
        last_phase: The completed phase of the measurement just taken.

    Returns:
        The delay in seconds, or ``None``.

    Raises:
        ValueError: on a phase that is not completed or a malformed interval.

    """
    metric = _metric(metric)
    if not is_completed(last_phase):
        raise ValueError(f"last_phase: must be a completed phase, got {last_phase!r}")
    interval = _duration_field(metric, "interval")
    if last_phase == ERROR:
        return DEFAULT_ERROR_RETRY_INTERVAL_S
    if interval is None:
        return None
    return max(0.0, parse_duration(interval))


def first_measurement_delay(metric: Mapping[str, Any]) -> float:
    """Return the seconds from the start of the run to the metric's first measurement.

    ``initialDelay`` if set, else 0 (negative values count as 0).

    Mirrors: ``argoproj/argo-rollouts analysis/analysis.go generateMetricTasks``
    (``InitialDelay``, counted from the run's ``startedAt``).

    Args:
        metric: The metric spec (``initialDelay``).

    Returns:
        The delay in seconds.

    Raises:
        ValueError: on a malformed ``initialDelay``.

    """
    delay = _duration_field(_metric(metric), "initialDelay")
    return 0.0 if delay is None else max(0.0, parse_duration(delay))


def validate_metric(metric: Mapping[str, Any]) -> None:
    """Check a metric's limits, count and durations as Argo does before a run starts.

    Argo puts the whole run in ``Error`` when a metric breaks one of these
    rules; here the first broken rule raises.

    Mirrors: ``argoproj/argo-rollouts utils/analysis/factory.go ValidateMetric``
    (the provider checks are left out).

    Args:
        metric: The metric spec in Argo's spelling.

    Raises:
        ValueError: naming the rule the metric breaks.

    """
    metric = _metric(metric)
    count = _int_or_string(metric, "count") or 0
    failure_limit = _int_or_string(metric, "failureLimit") or 0
    success_limit = _int_or_string(metric, "consecutiveSuccessLimit") or 0
    inconclusive_limit = _int_or_string(metric, "inconclusiveLimit") or 0
    error_limit = _int_or_string(metric, "consecutiveErrorLimit")
    interval = _duration_field(metric, "interval")
    if success_limit < 0:
        raise ValueError("metric.consecutiveSuccessLimit: must be >= 0")
    if failure_limit < -1:
        raise ValueError("metric.failureLimit: must be >= 0, or -1 to disable it")
    if success_limit == 0 and failure_limit == -1:
        raise ValueError("metric: failureLimit and consecutiveSuccessLimit cannot both be disabled")
    if inconclusive_limit < 0:
        raise ValueError("metric.inconclusiveLimit: must be >= 0")
    if error_limit is not None and error_limit < 0:
        raise ValueError("metric.consecutiveErrorLimit: must be >= 0")
    if count > 0:
        if failure_limit >= 0 and count < failure_limit + success_limit:
            raise ValueError(
                f"metric.count: {count} must be >= failureLimit + consecutiveSuccessLimit "
                f"({failure_limit} + {success_limit})"
            )
        if failure_limit < 0 and count < success_limit:
            raise ValueError("metric.count: must be >= consecutiveSuccessLimit")
        if count < inconclusive_limit:
            raise ValueError("metric.count: must be >= inconclusiveLimit")
    if count > 1 and interval is None:
        raise ValueError("metric.interval: must be set when count > 1")
    if interval is not None:
        parse_duration(interval)
    initial_delay = _duration_field(metric, "initialDelay")
    if initial_delay is not None:
        parse_duration(initial_delay)
