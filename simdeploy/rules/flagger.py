"""Flagger canary analysis: the pure rules behind one tick of its control loop.

Flagger runs a progressive delivery as a *clock*, not as a list of steps. On
initialisation it copies the target Deployment into ``<name>-primary``, points
the apex Service at the primary and scales the target (the *canary*) to zero.
When the target's pod spec changes, one timer per Canary fires every
``analysis.interval`` (default 60 s, at least 10 s, :func:`analysis_interval`)
and each firing runs the same ordered checklist:

1. **Gates.** The primary must be ready, then the canary
   (:func:`is_deployment_ready`). Not ready but *retriable* means "try again
   next tick"; not retriable (a progress deadline passed) means roll back, or,
   while the primary is rolling out the promoted spec, mark the promotion
   failed and send all traffic to the canary (:func:`primary_stuck_action`).
2. **Restart.** A new revision during the analysis puts the weights back to
   100/0 and zeroes the counters (:func:`revision_change_restarts`).
3. **Promotion in progress.** ``Promoting`` moves traffic back to the primary
   (:func:`next_promotion_weights`, :func:`promotion_next_phase`);
   ``Finalising`` scales the canary to zero and ends ``Succeeded``.
4. **Rollback.** Once ``failedChecks`` reaches ``threshold`` the canary is
   rolled back (:func:`should_rollback`). The count is cumulative: a later
   good tick does not lower it.
5. **Checks.** The first analysed tick runs only the pre-rollout webhooks;
   later ticks check the metrics (:func:`runs_metric_checks`,
   :func:`metric_check_failed`). A failed check adds one to ``failedChecks``
   and ends the tick without moving traffic.
6. **Advance**, by strategy (:func:`deployment_strategy`): a progressive
   canary moves at most one weight step (:func:`next_step_weight`,
   :func:`advance_canary_weights`, :func:`canary_route`) and promotes once it
   has reached :func:`max_weight` (it may overshoot it: stepWeight 20 with
   maxWeight 50 goes 0, 20, 40, 60, then promotes); A/B testing and
   blue/green count ``iterations`` instead (:func:`ab_testing_action`,
   :func:`blue_green_action`).

Everything here is plain arithmetic on the Canary's ``analysis`` mapping, in
Flagger's YAML spelling (``interval``, ``threshold``, ``maxWeight``,
``stepWeight``, ``stepWeights``, ``stepWeightPromotion``, ``iterations``,
``match``, ``mirror``, ``metrics``...): no SimPy, no pods. Each function names
the upstream function it mirrors as ``repo path FunctionName``; paths are in
``fluxcd/flagger``, read at 15bd6ad5 (v1.44.0). Weights are percentages of a
total of 100 (``scheduler.go totalWeight``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any, Literal

from simdeploy.rules.go_duration import parse_duration

__all__ = [
    "DEFAULT_ANALYSIS_INTERVAL_S",
    "DEFAULT_KUBERNETES_ITERATIONS",
    "DEFAULT_METRIC_INTERVAL",
    "DEFAULT_PROGRESS_DEADLINE_S",
    "DEFAULT_READY_THRESHOLD",
    "MIN_ANALYSIS_INTERVAL_S",
    "PHASES",
    "TOTAL_WEIGHT",
    "Strategy",
    "ab_testing_action",
    "advance_canary_weights",
    "analysis_interval",
    "analysis_threshold",
    "blue_green_action",
    "canary_ready_threshold",
    "canary_route",
    "deployment_strategy",
    "is_deployment_ready",
    "kubernetes_provider_analysis",
    "max_weight",
    "metric_check_failed",
    "metric_interval",
    "next_promotion_weights",
    "next_step_weight",
    "parse_duration",
    "primary_ready_threshold",
    "primary_stuck_action",
    "promotion_next_phase",
    "revision_change_restarts",
    "runs_metric_checks",
    "should_rollback",
    "status_on_phase_change",
]

PHASES = (
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
"""Canary phases, in Flagger's spelling (``pkg/apis/flagger/v1beta1/status.go CanaryPhase``)."""

TOTAL_WEIGHT = 100
"""The weight meaning "all traffic" (``pkg/controller/scheduler.go totalWeight``)."""

DEFAULT_ANALYSIS_INTERVAL_S = 60.0
"""``analysis.interval`` when unset (``pkg/apis/flagger/v1beta1/canary.go AnalysisInterval``)."""

MIN_ANALYSIS_INTERVAL_S = 10.0
"""Shorter intervals are raised to this (``canary.go GetAnalysisInterval``)."""

DEFAULT_METRIC_INTERVAL = "1m"
"""A metric's query window when its ``interval`` is unset (``canary.go MetricInterval``)."""

DEFAULT_PROGRESS_DEADLINE_S = 600
"""``spec.progressDeadlineSeconds`` when unset (``canary.go ProgressDeadlineSeconds``)."""

DEFAULT_READY_THRESHOLD = 100
"""Primary/canary ready threshold in percent when unset (``canary.go PrimaryReadyThreshold``)."""

DEFAULT_KUBERNETES_ITERATIONS = 10
"""Iterations forced on the ``kubernetes`` provider when fewer than 1 are set
(``pkg/controller/scheduler.go advanceCanary``)."""

Strategy = Literal["canary", "blue-green", "ab-testing"]
"""The three values :func:`deployment_strategy` returns (``canary.go DeploymentStrategy*``)."""


_BUILTIN_METRICS = ("request-success-rate", "request-duration")


# --------------------------------------------------------------------------------------------
# input checks


def _mapping(value: object, name: str) -> Mapping[str, Any]:
    """Return ``value`` as a mapping; ``None`` is an empty one (no analysis given)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: must be a mapping, got {value!r}")
    return value


def _int(value: object, name: str, low: int | None = 0, high: int | None = None) -> int:
    """Check that ``value`` is an int in ``[low, high]`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: must be an int, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name}: must be at least {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name}: must be at most {high}, got {value!r}")
    return value


def _field(analysis: Mapping[str, Any], key: str, high: int | None = None) -> int:
    """Read a non-negative int field of ``analysis``; missing or ``None`` is 0 (Go's zero)."""
    value = analysis.get(key)
    if value is None:
        return 0
    return _int(value, key, 0, high)


def _weight(value: object, name: str) -> int:
    """Check that a traffic weight is an int in ``[0, TOTAL_WEIGHT]``."""
    return _int(value, name, 0, TOTAL_WEIGHT)


def _step_weights(analysis: Mapping[str, Any]) -> list[int]:
    """Read ``stepWeights``: a list of non-negative ints (values above 100 are allowed)."""
    raw = analysis.get("stepWeights")
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise ValueError(f"stepWeights: must be a list of ints, got {raw!r}")
    return [_int(w, f"stepWeights[{i}]") for i, w in enumerate(raw)]


def _number(value: object, name: str) -> float:
    """Check that ``value`` is a real number (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}: must be a number, got {value!r}")
    return float(value)


def _trunc(value: float) -> float:
    """Truncate toward zero like Go's float-to-int conversion (infinities pass through)."""
    return float(math.trunc(value)) if math.isfinite(value) else value


def _float32(value: float) -> float:
    """Round a float to the nearest IEEE single-precision value (Go's ``float32``)."""
    return struct.unpack("f", struct.pack("f", value))[0]


# --------------------------------------------------------------------------------------------
# durations and defaults


def analysis_interval(analysis: Mapping[str, Any] | None) -> float:
    """Return the seconds between two ticks of the analysis.

    Unset or empty means 60 s; anything shorter than 10 s (zero and negative
    durations included) is raised to 10 s. A number is taken as seconds (the
    scenario file's spelling). Upstream falls back to 60 s for a string Go
    cannot parse; here that is a ``ValueError``, because a typo that silently
    turns into a minute would skew every simulated time.

    Mirrors: ``fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go GetAnalysisInterval``.

    Args:
        analysis: The Canary's ``analysis`` mapping (``None`` for none).

    Returns:
        The interval in seconds, at least 10.

    Raises:
        ValueError: on a malformed interval.

    """
    raw = _mapping(analysis, "analysis").get("interval")
    if raw is None or raw == "":
        return DEFAULT_ANALYSIS_INTERVAL_S
    seconds = _number(raw, "interval") if not isinstance(raw, str) else parse_duration(raw)
    if not math.isfinite(seconds):
        raise ValueError(f"interval: must be finite, got {raw!r}")
    return max(MIN_ANALYSIS_INTERVAL_S, seconds)


def analysis_threshold(analysis: Mapping[str, Any] | None) -> int:
    """Return how many failed checks roll the canary back.

    ``threshold`` when it is above 0, else 1 (so an unset threshold rolls back
    on the first failure).

    Mirrors: ``fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go GetAnalysisThreshold``.

    Raises:
        ValueError: on a negative or non-int threshold.

    """
    threshold = _field(_mapping(analysis, "analysis"), "threshold")
    return threshold if threshold > 0 else 1


def primary_ready_threshold(analysis: Mapping[str, Any] | None) -> int:
    """Return ``primaryReadyThreshold`` in percent; 100 only when it is *absent*.

    The field is a pointer upstream, so an explicit 0 stays 0 (any number of
    available pods is then enough).

    Mirrors: ``fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go
    GetAnalysisPrimaryReadyThreshold``.

    Raises:
        ValueError: on a negative or non-int value.

    """
    value = _mapping(analysis, "analysis").get("primaryReadyThreshold")
    return DEFAULT_READY_THRESHOLD if value is None else _int(value, "primaryReadyThreshold")


def canary_ready_threshold(analysis: Mapping[str, Any] | None) -> int:
    """Return ``canaryReadyThreshold`` in percent; 100 only when it is *absent*.

    Mirrors: ``fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go
    GetAnalysisCanaryReadyThreshold``.

    Raises:
        ValueError: on a negative or non-int value.

    """
    value = _mapping(analysis, "analysis").get("canaryReadyThreshold")
    return DEFAULT_READY_THRESHOLD if value is None else _int(value, "canaryReadyThreshold")


def metric_interval(metric: Mapping[str, Any]) -> float:
    """Return a metric's query window in seconds (``"1m"`` when unset).

    Upstream never parses this string: it is pasted into the PromQL range
    selector (``[{{ interval }}]``). It is read here with the Go grammar of
    :func:`parse_duration`, which covers the CRD's ``^[0-9]+(m|s)`` forms; a
    number is taken as seconds.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler_metrics.go
    runBuiltinMetricChecks`` (defaulting) and ``pkg/apis/flagger/v1beta1/canary.go
    GetMetricInterval``.

    Raises:
        ValueError: on a malformed interval or a non-mapping metric.

    """
    raw = _mapping(metric, "metric").get("interval")
    if raw is None or raw == "":
        raw = DEFAULT_METRIC_INTERVAL
    seconds = _number(raw, "interval") if not isinstance(raw, str) else parse_duration(raw)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"interval: must be a positive duration, got {raw!r}")
    return seconds


# --------------------------------------------------------------------------------------------
# strategy


def deployment_strategy(analysis: Mapping[str, Any] | None) -> Strategy:
    """Return which of Flagger's three strategies an analysis describes.

    ``iterations > 0`` with a non-empty ``match`` is A/B testing;
    ``iterations > 0`` without ``match`` is blue/green; anything else
    (``stepWeight``/``stepWeights``/``maxWeight``, or nothing at all) is a
    progressive canary. ``match`` without iterations is ignored. The
    ``kubernetes`` provider first rewrites the analysis
    (:func:`kubernetes_provider_analysis`); callers apply that, as upstream does.

    Mirrors: ``fluxcd/flagger pkg/apis/flagger/v1beta1/canary.go DeploymentStrategy``.

    Raises:
        ValueError: on a negative or non-int ``iterations``.

    """
    analysis = _mapping(analysis, "analysis")
    iterations = _field(analysis, "iterations")
    if iterations > 0 and analysis.get("match"):
        return "ab-testing"
    if iterations > 0:
        return "blue-green"
    return "canary"


def kubernetes_provider_analysis(analysis: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the analysis as the ``kubernetes`` provider runs it: always blue/green.

    Plain Kubernetes Services cannot split traffic by weight or by header, so
    Flagger drops ``match`` and, when ``iterations`` is below 1, sets it to 10.
    Upstream does this in memory on every tick, after the checks and before it
    picks the strategy. The input is not modified.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go advanceCanary``
    ("use blue/green strategy for kubernetes provider").

    Raises:
        ValueError: on a negative or non-int ``iterations``.

    """
    adjusted = dict(_mapping(analysis, "analysis"))
    adjusted.pop("match", None)
    if _field(adjusted, "iterations") < 1:
        adjusted["iterations"] = DEFAULT_KUBERNETES_ITERATIONS
    return adjusted


# --------------------------------------------------------------------------------------------
# progressive canary weights


def max_weight(analysis: Mapping[str, Any] | None) -> int:
    """Return the canary weight at which the analysis promotes.

    With ``stepWeights`` it is the last entry, capped at 100; otherwise
    ``maxWeight`` when above 0, else 100. A ``maxWeight`` above 100 can never
    be reached (the canary weight is capped at 100), so such a canary stalls
    at 100 % and never promotes.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go maxWeight``.

    Raises:
        ValueError: on negative or non-int weights.

    """
    analysis = _mapping(analysis, "analysis")
    steps = _step_weights(analysis)
    if steps:
        return min(TOTAL_WEIGHT, steps[-1])
    configured = _field(analysis, "maxWeight")
    return configured if configured > 0 else TOTAL_WEIGHT


def next_step_weight(analysis: Mapping[str, Any] | None, canary_weight: int) -> int:
    """Return how much weight the next advance adds to the canary.

    * ``stepWeight > 0``, or no ``stepWeights``: the step is ``stepWeight``
      (0 when both are unset, which stops a canary from ever advancing).
    * Otherwise, with ``room = 100 - canary_weight``: 1 when there is no room
      (any positive step leads to promotion); ``min(room, stepWeights[0])``
      at weight 0; ``min(room, stepWeights[i+1] - canary_weight)`` when the
      weight equals ``stepWeights[i]`` (first match, last entry excluded);
      ``room`` in any other case. With a ``stepWeights`` list that is not
      increasing the result can be 0 or negative, and the canary then stays
      where it is.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go nextStepWeight``.

    Args:
        analysis: The Canary's ``analysis`` mapping.
        canary_weight: The canary's current weight, in ``[0, 100]``.

    Returns:
        The step, in weight points.

    Raises:
        ValueError: on a weight out of range or malformed weights.

    """
    analysis = _mapping(analysis, "analysis")
    canary_weight = _weight(canary_weight, "canary_weight")
    step = _field(analysis, "stepWeight", TOTAL_WEIGHT)
    steps = _step_weights(analysis)
    if step > 0 or not steps:
        return step
    room = TOTAL_WEIGHT - canary_weight
    if room == 0:
        return 1
    if canary_weight == 0:
        return min(room, steps[0])
    for current, following in pairwise(steps):
        if current == canary_weight:
            return min(room, following - canary_weight)
    return room


def advance_canary_weights(
    analysis: Mapping[str, Any] | None, canary_weight: int
) -> tuple[int, int] | None:
    """Return the ``(primary, canary)`` weights after one progressive-canary advance.

    Below :func:`max_weight` the canary gains :func:`next_step_weight`, capped
    at 100, and the primary gets the rest. The check is ``canary < maxWeight``
    *before* the step, so the canary can overshoot maxWeight: stepWeight 20
    with maxWeight 50 goes 0, 20, 40, 60. At or above maxWeight the result is
    ``None``: time to promote (after the confirm-promotion webhooks, the
    primary's spec is replaced by the canary's and the phase becomes
    ``Promoting``). When the step is 0 or negative upstream does neither, so
    the weights come back unchanged and the canary never promotes.

    Mirroring is ignored here; see :func:`canary_route`.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go runCanary`` (and the
    ``nextStepWeight > 0`` guard in ``advanceCanary``).

    Args:
        analysis: The Canary's ``analysis`` mapping.
        canary_weight: The canary's current weight, in ``[0, 100]``; the
            primary is assumed to hold the rest.

    Returns:
        ``(primary, canary)``, summing to 100, or ``None`` to promote.

    Raises:
        ValueError: on a weight out of range or malformed weights.

    """
    step = next_step_weight(analysis, canary_weight)
    if step <= 0:
        return TOTAL_WEIGHT - canary_weight, canary_weight
    if canary_weight >= max_weight(analysis):
        return None
    canary = min(TOTAL_WEIGHT, canary_weight + step)
    return TOTAL_WEIGHT - canary, canary


def canary_route(
    analysis: Mapping[str, Any] | None, canary_weight: int, mirrored: bool = False
) -> tuple[int, int, bool] | None:
    """Return ``(primary, canary, mirrored)`` after one canary advance, mirroring included.

    With ``mirror: true`` and the canary at weight 0, the first advance is a
    *mirroring* tick: the route stays 100/0 but a copy of each request goes
    to the canary (``mirrored`` becomes true; its responses are dropped). The
    next advance switches mirroring off and gives the canary its first real
    step (90/10 with stepWeight 10). Without mirroring this is
    :func:`advance_canary_weights` with ``mirrored`` passed through.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go runCanary``.

    Args:
        analysis: The Canary's ``analysis`` mapping.
        canary_weight: The canary's current weight, in ``[0, 100]``.
        mirrored: Whether the current route mirrors traffic to the canary.

    Returns:
        The new route, or ``None`` when it is time to promote.

    Raises:
        ValueError: on a weight out of range or malformed weights.

    """
    analysis = _mapping(analysis, "analysis")
    step = next_step_weight(analysis, canary_weight)
    if step <= 0:
        return TOTAL_WEIGHT - canary_weight, canary_weight, mirrored
    if canary_weight >= max_weight(analysis):
        return None
    if analysis.get("mirror") and canary_weight == 0:
        if not mirrored:
            return TOTAL_WEIGHT, 0, True
        return TOTAL_WEIGHT - step, step, False
    canary = min(TOTAL_WEIGHT, canary_weight + step)
    return TOTAL_WEIGHT - canary, canary, mirrored


def next_promotion_weights(
    analysis: Mapping[str, Any] | None, primary_weight: int
) -> tuple[int, int]:
    """Return ``(primary, canary)`` after one ``Promoting`` tick moves traffic back.

    By then the primary runs the promoted spec and is ready (the tick gate
    waits for its rollout, while the canary keeps its share). With
    ``stepWeightPromotion`` 0 all traffic returns to the primary at once;
    otherwise the primary gains ``stepWeightPromotion`` per tick up to 100 and
    the canary loses as much down to 0. If the canary already has no traffic
    the weights stay as they are (see :func:`promotion_next_phase` for the
    phase this leaves). The ``kubernetes`` provider skips this step entirely.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go runPromotionTrafficShift``.

    Args:
        analysis: The Canary's ``analysis`` mapping.
        primary_weight: The primary's current weight, in ``[0, 100]``; the
            canary is assumed to hold the rest.

    Returns:
        ``(primary, canary)``, summing to 100.

    Raises:
        ValueError: on a weight out of range or a malformed ``stepWeightPromotion``.

    """
    analysis = _mapping(analysis, "analysis")
    primary_weight = _weight(primary_weight, "primary_weight")
    step = _field(analysis, "stepWeightPromotion", TOTAL_WEIGHT)
    if step == 0:
        return TOTAL_WEIGHT, 0
    canary_weight = TOTAL_WEIGHT - primary_weight
    if canary_weight <= 0:
        return primary_weight, canary_weight
    return min(TOTAL_WEIGHT, primary_weight + step), max(0, canary_weight - step)


def promotion_next_phase(
    analysis: Mapping[str, Any] | None, primary_weight: int, provider: str | None = None
) -> Literal["Promoting", "Finalising"]:
    """Return the phase a ``Promoting`` tick leaves the canary in.

    ``Finalising`` once all traffic is back on the primary: at once for the
    ``kubernetes`` provider or with ``stepWeightPromotion`` 0, else on the
    tick whose step brings the primary to 100. Upstream only moves on when it
    actually shifted weight, so a canary that entered ``Promoting`` with no
    traffic (for example ``stepWeights`` ending in 0) and a positive
    ``stepWeightPromotion`` stays ``Promoting`` for ever.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go runPromotionTrafficShift``.

    Args:
        analysis: The Canary's ``analysis`` mapping.
        primary_weight: The primary's weight *before* this tick, in ``[0, 100]``.
        provider: The mesh provider (``"kubernetes"``, ``"istio"``...), or ``None``.

    Raises:
        ValueError: on a weight out of range or a malformed ``stepWeightPromotion``.

    """
    analysis = _mapping(analysis, "analysis")
    primary_weight = _weight(primary_weight, "primary_weight")
    if provider == "kubernetes" or _field(analysis, "stepWeightPromotion", TOTAL_WEIGHT) == 0:
        return "Finalising"
    if primary_weight >= TOTAL_WEIGHT:
        return "Promoting"
    primary, _ = next_promotion_weights(analysis, primary_weight)
    return "Finalising" if primary == TOTAL_WEIGHT else "Promoting"


# --------------------------------------------------------------------------------------------
# iterations: A/B testing and blue/green


def ab_testing_action(
    analysis: Mapping[str, Any] | None, iterations: int
) -> Literal["iterate", "promote"] | None:
    """Return what an A/B tick does once its checks have passed.

    ``"iterate"`` while ``status.iterations`` is below ``analysis.iterations``:
    requests that match the headers/cookies go to the canary (the route reads
    0/100; all other traffic stays on the primary) and ``iterations`` grows by
    one. ``"promote"`` when they are equal. So N iterations take N ticks and
    promotion happens on the next one. ``None`` (nothing happens) above that.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go runAB``.

    Raises:
        ValueError: on negative or non-int iteration counts.

    """
    target = _field(_mapping(analysis, "analysis"), "iterations")
    iterations = _int(iterations, "iterations")
    if target > iterations:
        return "iterate"
    if target == iterations:
        return "promote"
    return None


def blue_green_action(
    analysis: Mapping[str, Any] | None, iterations: int
) -> Literal["iterate", "route-to-canary", "promote"]:
    """Return what a blue/green tick does once its checks have passed.

    ``"iterate"`` while ``status.iterations`` is below ``analysis.iterations``:
    users stay on the primary (with ``mirror: true`` and a provider other than
    ``kubernetes``, requests are mirrored to the canary throughout) and
    ``iterations`` grows by one. When they are equal, ``"route-to-canary"``:
    all traffic goes to the canary (not for the ``kubernetes`` provider, which
    cannot switch) and ``iterations`` goes one above the target. Above it,
    ``"promote"``. So N iterations take N ticks, then one switch tick, then
    the promotion tick.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go runBlueGreen``.

    Raises:
        ValueError: on negative or non-int iteration counts.

    """
    target = _field(_mapping(analysis, "analysis"), "iterations")
    iterations = _int(iterations, "iterations")
    if target > iterations:
        return "iterate"
    if target == iterations:
        return "route-to-canary"
    return "promote"


# --------------------------------------------------------------------------------------------
# checks and rollback


def runs_metric_checks(
    analysis: Mapping[str, Any] | None, canary_weight: int, iterations: int, mirrored: bool
) -> bool:
    """Whether a tick checks metrics (``True``) or runs the pre-rollout webhooks (``False``).

    The first analysed tick, with canary weight 0 and no iterations yet, has
    no canary traffic to measure, so it runs the pre-rollout webhooks instead.
    The exception is a tick whose route already mirrors traffic to the
    canary with ``mirror: true``: that one checks metrics. Either way a
    failure adds one to ``failedChecks``.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go advanceCanary``
    ("skip check if no traffic is routed or mirrored to canary").

    Raises:
        ValueError: on a weight out of range or a negative iteration count.

    """
    analysis = _mapping(analysis, "analysis")
    canary_weight = _weight(canary_weight, "canary_weight")
    iterations = _int(iterations, "iterations")
    first_tick = canary_weight == 0 and iterations == 0
    return not (first_tick and not (bool(analysis.get("mirror")) and mirrored))


def _outside_range(
    value: float, threshold_range: Mapping[str, Any], to_unit: Callable[[float], float]
) -> bool:
    """Whether ``value`` lies below ``min`` or above ``max`` (each optional)."""
    low = threshold_range.get("min")
    high = threshold_range.get("max")
    if low is not None and value < to_unit(_number(low, "thresholdRange.min")):
        return True
    return high is not None and value > to_unit(_number(high, "thresholdRange.max"))


def metric_check_failed(metric: Mapping[str, Any], value: float | None) -> bool:
    """Whether one metric value fails its check.

    * ``value`` ``None`` or NaN is "no values found" (the query returned no
      sample, typically because the canary got no traffic): a failure.
    * When ``thresholdRange`` is present it alone decides, failing below
      ``min`` or above ``max`` (each optional); ``threshold`` is then ignored.
    * Otherwise ``request-success-rate`` (percent of non-5xx responses) fails
      when ``value < threshold``; ``request-duration`` (P99 in ms) and custom
      metrics (``query`` or ``templateRef``) fail when ``value > threshold``.
      An unset threshold is 0, so a ``request-duration`` check without one
      fails on any latency of 1 ms or more.
    * ``request-duration`` compares whole milliseconds: the measured value and
      the threshold/range bounds are each truncated toward zero first
      (500.9 ms against a 500 ms threshold passes).
    * A metric that is neither built in nor has a ``query`` or ``templateRef``
      always fails ("no usable metrics template and query").

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler_metrics.go
    runBuiltinMetricChecks, runMetricChecks``; the millisecond truncation is
    in ``pkg/metrics/observers/*.go GetRequestDuration``; NaN handling in
    ``pkg/metrics/providers/prometheus.go RunQuery``.

    Args:
        metric: One entry of ``analysis.metrics`` (``name``, ``threshold``,
            ``thresholdRange``, ``query``, ``templateRef``, ``interval``).
        value: The measured value, or ``None`` when the query found none.

    Returns:
        ``True`` when the check fails.

    Raises:
        ValueError: on a malformed metric or a non-numeric value.

    """
    metric = _mapping(metric, "metric")
    name = metric.get("name", "")
    threshold = _number(metric.get("threshold") or 0, "threshold")
    threshold_range = metric.get("thresholdRange")
    if threshold_range is not None:
        threshold_range = _mapping(threshold_range, "thresholdRange")
    builtin = name in _BUILTIN_METRICS
    if not builtin and not metric.get("query") and not metric.get("templateRef"):
        return True
    if value is None:
        return True
    value = _number(value, "value")
    if math.isnan(value):
        return True

    if name == "request-duration":
        measured = _trunc(value)
        if threshold_range is not None:
            return _outside_range(measured, threshold_range, _trunc)
        return measured > _trunc(threshold)
    if threshold_range is not None:
        return _outside_range(value, threshold_range, float)
    if name == "request-success-rate":
        return value < threshold
    return value > threshold


def should_rollback(
    failed_checks: int, analysis: Mapping[str, Any] | None, phase: str = "Progressing"
) -> bool:
    """Whether a tick rolls the canary back because too many checks failed.

    True when ``failedChecks >= threshold`` (:func:`analysis_threshold`) in
    phase ``Progressing`` or ``WaitingPromotion``. The test runs at the start
    of a tick, before that tick's checks, so the failure that reaches the
    threshold is acted on one interval later. ``failedChecks`` only grows
    during an analysis; it is reset by a new revision, never by a good tick.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go advanceCanary``
    ("check if the number of failed checks reached the threshold").

    Args:
        failed_checks: ``status.failedChecks``.
        analysis: The Canary's ``analysis`` mapping.
        phase: The canary's current phase (one of :data:`PHASES`).

    Raises:
        ValueError: on a negative count or an unknown phase.

    """
    failed_checks = _int(failed_checks, "failed_checks")
    if phase not in PHASES:
        raise ValueError(f"phase: must be one of {', '.join(PHASES)}, got {phase!r}")
    if phase not in ("Progressing", "WaitingPromotion"):
        return False
    return failed_checks >= analysis_threshold(analysis)


def revision_change_restarts(phase: str) -> bool:
    """Whether a new canary revision restarts the analysis in this phase.

    In ``Progressing`` and ``WaitingPromotion`` a changed pod spec (or tracked
    ConfigMap/Secret) sends all traffic back to the primary and resets the
    status to ``Progressing`` with weight, failedChecks and iterations at 0.
    In ``Promoting``/``Finalising`` the change waits until the promotion is
    over and is then picked up as a new rollout.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go hasCanaryRevisionChanged``.

    Raises:
        ValueError: on an unknown phase.

    """
    if phase not in PHASES:
        raise ValueError(f"phase: must be one of {', '.join(PHASES)}, got {phase!r}")
    return phase in ("Progressing", "WaitingPromotion")


def primary_stuck_action(phase: str) -> Literal["rollback", "fail-promotion"]:
    """Return what Flagger does when the primary is not ready and will not recover.

    Normally it rolls back (100/0 to the primary, canary scaled to 0,
    ``Failed``). In ``Promoting`` and ``Finalising`` the primary is rolling
    out the *new* spec, so the canary is the only healthy copy: Flagger marks
    the canary ``Failed`` but routes all traffic to the canary (0/100, status
    weight 100) and leaves it running.

    Mirrors: ``fluxcd/flagger pkg/controller/scheduler.go advanceCanary`` and
    ``handleFailedPromotion`` (flagger#1898).

    Raises:
        ValueError: on an unknown phase.

    """
    if phase not in PHASES:
        raise ValueError(f"phase: must be one of {', '.join(PHASES)}, got {phase!r}")
    return "fail-promotion" if phase in ("Promoting", "Finalising") else "rollback"


def status_on_phase_change(
    analysis: Mapping[str, Any] | None, phase: str, canary_weight: int, iterations: int
) -> tuple[int, int]:
    """Return the status ``(canaryWeight, iterations)`` after the phase is set to ``phase``.

    Entering any phase other than ``Progressing``, ``Waiting`` or
    ``Promoting`` zeroes both; ``WaitingPromotion`` sets iterations to
    ``analysis.iterations - 1`` instead. These are the *status* fields; the
    router's weights are set separately (a blue/green canary keeps 100 % of
    the traffic through ``Promoting``).

    Mirrors: ``fluxcd/flagger pkg/canary/status.go setStatusPhase``.

    Raises:
        ValueError: on an unknown phase or out-of-range counts.

    """
    if phase not in PHASES:
        raise ValueError(f"phase: must be one of {', '.join(PHASES)}, got {phase!r}")
    canary_weight = _weight(canary_weight, "canary_weight")
    iterations = _int(iterations, "iterations")
    if phase in ("Progressing", "Waiting", "Promoting"):
        return canary_weight, iterations
    if phase == "WaitingPromotion":
        return 0, _field(_mapping(analysis, "analysis"), "iterations") - 1
    return 0, 0


# --------------------------------------------------------------------------------------------
# readiness


def _condition(conditions: list[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    """Return the first condition of type ``kind``, or ``None``."""
    for condition in conditions:
        if condition.get("type") == kind:
            return condition
    return None


def is_deployment_ready(
    status: Mapping[str, Any],
    spec_replicas: int | None,
    progress_deadline_seconds: int = DEFAULT_PROGRESS_DEADLINE_S,
    ready_threshold_percent: int = DEFAULT_READY_THRESHOLD,
) -> tuple[bool, bool]:
    """Return ``(ready, retriable)`` for the primary or canary Deployment.

    In order:

    1. ``observedGeneration < generation``: not ready, retriable (the
       controller has not seen the latest spec yet; nothing else is looked at).
    2. If there is a ``Progressing`` condition and the ``Available`` condition
       is ``False`` with reason ``MinimumReplicasUnavailable`` and was updated
       *more than* ``progress_deadline_seconds`` ago, later "not ready"
       answers are not retriable. This alone never makes a Deployment not
       ready.
    3. A ``Progressing`` condition with reason ``ProgressDeadlineExceeded``
       (whatever its status): not ready, not retriable.
    4. ``updatedReplicas < spec_replicas`` (skipped when ``spec_replicas`` is
       ``None``): not ready.
    5. ``replicas > updatedReplicas`` (old pods remain): not ready.
    6. ``availableReplicas < int(updatedReplicas * threshold / 100)``: not
       ready. The product is computed in single precision and truncated, so
       100 updated pods at 53 % need 52 available, not 53.

    ``readyReplicas`` is never consulted; availability (Ready for
    ``minReadySeconds``) is what counts. For the primary, upstream also meant
    to refuse a Deployment scaled to 0, but that test compares two pointers
    and never fires, so the primary's rule is exactly this one with
    ``primaryReadyThreshold``.

    Mirrors: ``fluxcd/flagger pkg/canary/deployment_ready.go isDeploymentReady``
    (called by ``IsPrimaryReady`` and ``IsCanaryReady``).

    Args:
        status: The Deployment's ``status`` in its JSON spelling, plus
            ``generation`` (from metadata): ``generation``,
            ``observedGeneration``, ``replicas``, ``updatedReplicas``,
            ``readyReplicas``, ``availableReplicas`` (missing counts are 0)
            and ``conditions``, a list of ``{type, status, reason,
            secondsSinceUpdate}``. A missing ``secondsSinceUpdate`` is Go's
            zero time, i.e. infinitely long ago.
        spec_replicas: The Deployment's ``spec.replicas``, or ``None`` if unset.
        progress_deadline_seconds: The Canary's ``progressDeadlineSeconds``.
        ready_threshold_percent: ``primaryReadyThreshold`` or
            ``canaryReadyThreshold`` (:func:`primary_ready_threshold`).

    Returns:
        ``(ready, retriable)``; ``retriable`` is always true when ready.

    Raises:
        ValueError: on negative counts or malformed conditions.

    """
    status = _mapping(status, "status")
    generation = _int(status.get("generation") or 0, "generation", None)
    observed = _int(status.get("observedGeneration") or 0, "observedGeneration", None)
    replicas = _int(status.get("replicas") or 0, "replicas")
    updated = _int(status.get("updatedReplicas") or 0, "updatedReplicas")
    available_count = _int(status.get("availableReplicas") or 0, "availableReplicas")
    if spec_replicas is not None:
        spec_replicas = _int(spec_replicas, "spec_replicas")
    deadline = _int(progress_deadline_seconds, "progress_deadline_seconds")
    threshold = _int(ready_threshold_percent, "ready_threshold_percent")
    raw_conditions = status.get("conditions") or []
    if isinstance(raw_conditions, (str, bytes, Mapping)):
        raise ValueError(f"conditions: must be a list, got {raw_conditions!r}")
    conditions = [_mapping(c, f"conditions[{i}]") for i, c in enumerate(raw_conditions)]

    if generation > observed:
        return False, True

    retriable = True
    progressing = _condition(conditions, "Progressing")
    if progressing is not None:
        available = _condition(conditions, "Available")
        if (
            available is not None
            and available.get("status") == "False"
            and available.get("reason") == "MinimumReplicasUnavailable"
        ):
            since = available.get("secondsSinceUpdate")
            if since is None:
                retriable = False
            else:
                retriable = not _number(since, "secondsSinceUpdate") > deadline

    ratio = _float32(_float32(float(threshold)) / _float32(100.0))
    needed = math.trunc(_float32(_float32(float(updated)) * ratio))

    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return False, False
    if spec_replicas is not None and updated < spec_replicas:
        return False, retriable
    if replicas > updated:
        return False, retriable
    if available_count < needed:
        return False, retriable
    return True, True
