"""Argo Rollouts canary arithmetic: how a traffic weight becomes pod counts.

An Argo Rollouts canary runs two ReplicaSets side by side: the *stable* one
(the version in production) and the *canary* (the new version). Each
``setWeight`` step names the share of traffic the canary should get. How that
share is reached depends on whether a traffic router is configured:

* **Basic canary** (no ``trafficRouting``). The Service selects stable and
  canary pods alike, so traffic follows the pod count. The weight is
  approximated with whole pods (:func:`approximate_weighted_counts`: 10 pods
  at 41 % give 4 canary / 6 stable), and the controller moves toward that
  target within ``maxSurge``/``maxUnavailable``, scaling the stable RS up
  first and only draining one side as far as availability allows
  (:func:`basic_canary_replica_counts`).
* **Traffic-routed canary**. A mesh or ingress splits traffic by weight, so
  the canary only needs ``ceil(weight * replicas / 100)`` pods
  (:func:`traffic_weight_to_replicas`) and the stable RS stays at full size
  unless ``dynamicStableScale`` is on (:func:`traffic_routed_canary_counts`).
  ``maxSurge`` does not limit these counts.

Everything here is pure integer arithmetic: no SimPy, no pods. Each function
names the upstream function it mirrors as ``repo path FunctionName``; paths
are in ``argoproj/argo-rollouts``, read at commit 9f8d111d (v1.10.0-rc1+70).
"""

from __future__ import annotations

import math

from simdeploy.rules.kubernetes import IntOrPercent, resolve_fenceposts

__all__ = [
    "DEFAULT_MAX_SURGE",
    "DEFAULT_MAX_UNAVAILABLE",
    "approximate_weighted_counts",
    "assess_metric_status",
    "assess_run_status",
    "basic_canary_replica_counts",
    "evaluate_result",
    "traffic_routed_canary_counts",
    "traffic_weight_to_replicas",
]

DEFAULT_MAX_SURGE = "25%"
"""Argo's default canary ``maxSurge`` (``"25"``, which Argo reads as 25 %)."""

DEFAULT_MAX_UNAVAILABLE = "25%"
"""Argo's default canary ``maxUnavailable`` (``"25"``, which Argo reads as 25 %)."""


def _count(value: object, name: str) -> int:
    """Check that a count or weight is a non-negative int (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: must be a non-negative int, got {value!r}")
    return value


def _weight(value: object, name: str, max_weight: int = 100) -> int:
    """Check that a traffic weight is an int in ``[0, max_weight]``."""
    value = _count(value, name)
    if value > max_weight:
        raise ValueError(f"{name}: must be at most {max_weight}, got {value!r}")
    return value


def _max_weight(value: object) -> int:
    """Check that ``max_weight`` is a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"max_weight: must be a positive int, got {value!r}")
    return value


def traffic_weight_to_replicas(replicas: int, weight: int, max_weight: int = 100) -> int:
    """Return the pods needed to serve ``weight`` out of ``max_weight`` of traffic.

    ``ceil(weight * replicas / max_weight)``: any share of traffic gets at
    least one pod, and 0 weight gets none. ``weight`` may exceed
    ``max_weight`` (``setCanaryScale.weight`` can ask for more than 100 %).

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go
    trafficWeightToReplicas`` (exported as ``TrafficWeightToReplicas`` in older
    releases).

    Args:
        replicas: The Rollout's ``spec.replicas``.
        weight: The traffic weight, a non-negative int.
        max_weight: The weight that means "all traffic" (``maxTrafficWeight``,
            default 100).

    Returns:
        A non-negative pod count.

    Raises:
        ValueError: on a negative count or weight, or a non-positive
            ``max_weight``.

    """
    replicas = _count(replicas, "replicas")
    weight = _count(weight, "weight")
    max_weight = _max_weight(max_weight)
    return math.ceil(float(weight) * float(replicas) / float(max_weight))


def _floor_ceiling_tied(weight: int, max_weight: int, total: int) -> bool:
    """Whether ``total * weight / max_weight`` ends in exactly .5.

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go floorCeilingTied``.
    """
    fraction, _ = math.modf(float(total) * (float(weight) / float(max_weight)))
    return fraction == 0.5


def _weight_delta(weight: int, max_weight: int, canary: int, total: int) -> float:
    """Distance between the weight ``canary/total`` gives and the one wanted.

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go weightDelta``.
    """
    actual = float(canary * max_weight) / float(total)
    return abs(actual - float(weight))


def approximate_weighted_counts(
    replicas: int, weight: int, max_surge: int, max_weight: int = 100
) -> tuple[int, int]:
    """Approximate a canary weight with whole canary and stable pods.

    Candidates ``(canary, total)`` are ``(ceil, n)`` and ``(floor, n)`` of
    ``n * weight / max_weight``, plus the same pair with total ``n + 1`` when
    ``max_surge > 0``. The candidate whose ``canary / total`` is closest to the
    weight wins; on equal distance the earlier candidate wins, and when
    floor and ceiling are exactly tied (a fraction of .5) only the ceiling is
    offered. A canary count of 0 is allowed only for weight 0 or
    ``max_weight``, or for one replica without surge; and the ceiling at total
    ``n`` is offered only if it leaves a stable pod, unless zero is allowed.
    So any weight strictly between 0 and ``max_weight`` on two or more pods
    (surge included) keeps at least one canary *and* one stable pod.

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go
    approximateWeightedCanaryStableReplicaCounts``.

    Args:
        replicas: The Rollout's ``spec.replicas``.
        weight: The desired canary weight, in ``[0, max_weight]``.
        max_surge: The already resolved surge count (a non-negative int).
        max_weight: The weight meaning "all traffic" (default 100).

    Returns:
        ``(canary, stable)``; they sum to ``replicas`` or ``replicas + 1``
        (the latter only when ``max_surge > 0``).

    Raises:
        ValueError: on a negative count, a weight out of range or a
            non-positive ``max_weight``.

    """
    max_weight = _max_weight(max_weight)
    replicas = _count(replicas, "replicas")
    weight = _weight(weight, "weight", max_weight)
    max_surge = _count(max_surge, "max_surge")
    if replicas == 0:
        return 0, 0

    ceil_count = math.ceil(float(replicas * weight) / float(max_weight))
    floor_count = math.floor(float(replicas * weight) / float(max_weight))
    tied = _floor_ceiling_tied(weight, max_weight, replicas)
    zero_allowed = weight == max_weight or weight == 0 or (replicas == 1 and max_surge == 0)

    options: list[tuple[int, int]] = []
    if ceil_count < replicas or zero_allowed:
        options.append((ceil_count, replicas))
    if not tied and (floor_count != 0 or zero_allowed):
        options.append((floor_count, replicas))
    if max_surge > 0:
        options.append((ceil_count, replicas + 1))
        surge_tied = _floor_ceiling_tied(weight, max_weight, replicas + 1)
        if not surge_tied and (floor_count != 0 or zero_allowed):
            options.append((floor_count, replicas + 1))

    if not options:  # upstream: "should not get here"
        return 0, replicas

    best = options[0]
    best_delta = _weight_delta(weight, max_weight, *best)
    for option in options[1:]:
        delta = _weight_delta(weight, max_weight, *option)
        if delta < best_delta:
            best, best_delta = option, delta
    canary, total = best
    return canary, total - canary


def _replicas_for_scale_down(spec: int, available: int, ignore_availability: bool) -> int:
    """Replicas of one RS that count toward the scale-down room.

    The spec when the RS is already shrinking (``spec < available``) or when
    availability is ignored, else the available count.

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go GetReplicasForScaleDown``.
    """
    if spec < available:
        return spec
    if ignore_availability:
        return spec
    return available


def _scale_down_drained(drain_spec: int, desired: int, scale_down: int, drain_count: int) -> int:
    """Shrink the RS being drained toward its target by at most ``scale_down``.

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go
    calculateScaleDownReplicaCount``.
    """
    if drain_spec > desired:
        return max(desired, drain_spec - scale_down)
    return drain_count


def _adjust_within_limits(
    drain_available: int,
    adjust_available: int,
    drain_count: int,
    adjust_count: int,
    max_allowed: int,
    min_available: int,
) -> tuple[int, int]:
    """Trim the pair back under ``max_allowed`` without losing availability.

    The RS being adjusted is first cut back so the pair fits under
    ``max_allowed``; any available pods that cut would remove are given back
    as far as ``min_available`` requires, and the drained RS pays for them.

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go adjustReplicaWithinLimits``.

    Returns:
        ``(drain_count, adjust_count)``.

    """
    over = max(0, adjust_count + drain_count - max_allowed)
    total_available = min(drain_available, drain_count)
    adjust_count -= over
    total_available += min(adjust_available, adjust_count)
    lost_available = max(0, adjust_available - adjust_count)
    still_needed = max(0, min_available - total_available)
    adjust_count += min(lost_available, still_needed)
    over = max(0, adjust_count + drain_count - max_allowed)
    drain_count -= over
    return drain_count, adjust_count


def basic_canary_replica_counts(
    replicas: int,
    weight: int,
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    stable_spec: int,
    stable_available: int,
    canary_spec: int,
    canary_available: int,
) -> tuple[int, int]:
    """Return the next (canary, stable) specs of a basic canary step.

    Covers one stable and one canary RS with no older RSs (the usual shape;
    upstream also drains older RSs first and targets the new RS at all
    replicas when there is no distinct stable RS).

    1. The target comes from :func:`approximate_weighted_counts`.
    2. Scale up within ``maxAllowed = replicas + maxSurge`` minus the current
       spec sum: the **stable RS first**, then the canary, each at most to its
       target.
    3. Scale down: with ``minAvailable = replicas - maxUnavailable``, the
       direction is *increasing* when the canary target is at least the
       canary spec. The scale-down room counts the canary's *available* pods
       and the stable's *spec* when increasing (the other way round when
       decreasing; an RS with ``spec < available`` counts its spec). If the
       room exceeds ``minAvailable``, the RS being drained (stable when
       increasing, canary when decreasing) shrinks toward its target by the
       excess, and ``adjustReplicaWithinLimits`` then trims the other RS back
       under ``maxAllowed`` without going below ``minAvailable``.

    The fence posts follow the Kubernetes rules (:func:`resolve_fenceposts`:
    surge rounds up, unavailable down, never both 0, unavailable capped at
    ``replicas`` and 0 when ``replicas`` is 0). ``None`` means Argo's default,
    25 %, as ``defaults.GetMaxSurgeOrDefault`` returns ``"25"`` for an unset
    field. Unlike Argo, a bare number string such as ``"25"`` is rejected.

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go
    CalculateReplicaCountsForBasicCanary`` and ``adjustReplicaWithinLimits``;
    fence posts from ``argoproj/argo-rollouts utils/replicaset/replicaset.go
    MaxSurge, MaxUnavailable`` and ``utils/defaults/defaults.go
    GetMaxSurgeOrDefault, GetMaxUnavailableOrDefault``.

    Args:
        replicas: The Rollout's ``spec.replicas``.
        weight: The current ``setWeight``, in ``[0, 100]`` (100 after
            promotion or with ``promoteFull``, 0 while aborted).
        max_surge: An int, ``"N%"`` or ``None`` (25 %).
        max_unavailable: An int, ``"N%"`` or ``None`` (25 %).
        stable_spec: ``spec.replicas`` of the stable RS.
        stable_available: ``status.availableReplicas`` of the stable RS.
        canary_spec: ``spec.replicas`` of the canary RS.
        canary_available: ``status.availableReplicas`` of the canary RS.

    Returns:
        ``(canary, stable)``: the specs to set on the canary and stable RS.

    Raises:
        ValueError: on a malformed fence post, a negative count or a weight
            out of range.

    """
    replicas = _count(replicas, "replicas")
    weight = _weight(weight, "weight")
    stable_spec = _count(stable_spec, "stable_spec")
    stable_available = _count(stable_available, "stable_available")
    canary_spec = _count(canary_spec, "canary_spec")
    canary_available = _count(canary_available, "canary_available")
    surge, unavailable = resolve_fenceposts(
        DEFAULT_MAX_SURGE if max_surge is None else max_surge,
        DEFAULT_MAX_UNAVAILABLE if max_unavailable is None else max_unavailable,
        replicas,
    )
    unavailable = 0 if replicas == 0 else min(unavailable, replicas)

    desired_canary, desired_stable = approximate_weighted_counts(replicas, weight, surge)
    canary, stable = canary_spec, stable_spec

    max_allowed = replicas + surge
    scale_up = max_allowed - (canary_spec + stable_spec)
    if stable_spec < desired_stable and scale_up > 0:
        if stable_spec + scale_up < desired_stable:
            stable = stable_spec + scale_up
            scale_up = 0
        else:
            stable = desired_stable
            scale_up -= desired_stable - stable_spec
    if canary_spec < desired_canary and scale_up > 0:
        canary = min(canary_spec + scale_up, desired_canary)

    minimum = replicas - unavailable
    increasing = desired_canary >= canary_spec
    room = _replicas_for_scale_down(
        canary_spec, canary_available, not increasing
    ) + _replicas_for_scale_down(stable_spec, stable_available, increasing)
    if room <= minimum:
        return canary, stable
    scale_down = room - minimum

    if not increasing:
        canary = _scale_down_drained(canary_spec, desired_canary, scale_down, canary)
        canary, stable = _adjust_within_limits(
            canary_available, stable_available, canary, stable, max_allowed, minimum
        )
    else:
        stable = _scale_down_drained(stable_spec, desired_stable, scale_down, stable)
        stable, canary = _adjust_within_limits(
            stable_available, canary_available, stable, canary, max_allowed, minimum
        )
    return canary, stable


def traffic_routed_canary_counts(
    replicas: int,
    weight: int,
    dynamic_stable_scale: bool = False,
    stable_weight: int | None = None,
) -> tuple[int, int]:
    """Return (canary, stable) specs for a canary behind a traffic router.

    The canary gets ``ceil(weight * replicas / 100)`` pods (none at weight 0).
    The stable RS stays at ``replicas`` for the whole update, so the peak is
    ``replicas + canary`` pods, unless ``dynamicStableScale`` is on: then the
    stable gets ``max(ceil((100 - weight) * n / 100),
    ceil(stable_weight * n / 100))``, where ``stable_weight`` is the weight
    the router currently sends to stable. It shrinks only once traffic has
    actually moved away from it.

    Simplified: ``setCanaryScale``, ``minPodsPerReplicaSet``, a custom
    ``maxTrafficWeight`` and the abort-time hold on the canary are left out.

    Mirrors: ``argoproj/argo-rollouts utils/replicaset/canary.go
    CalculateReplicaCountsForTrafficRoutedCanary``.

    Args:
        replicas: The Rollout's ``spec.replicas``.
        weight: The desired canary weight, in ``[0, 100]``.
        dynamic_stable_scale: ``canary.dynamicStableScale``.
        stable_weight: The stable weight currently set on the router, in
            ``[0, 100]``; defaults to ``100 - weight`` (traffic already moved).
            Used only with ``dynamic_stable_scale``.

    Returns:
        ``(canary, stable)`` pod counts.

    Raises:
        ValueError: on a negative count or a weight out of range.

    """
    replicas = _count(replicas, "replicas")
    weight = _weight(weight, "weight")
    if stable_weight is None:
        stable_weight = 100 - weight
    stable_weight = _weight(stable_weight, "stable_weight")
    canary = traffic_weight_to_replicas(replicas, weight)
    if not dynamic_stable_scale:
        return canary, replicas
    stable = max(
        traffic_weight_to_replicas(replicas, 100 - weight),
        traffic_weight_to_replicas(replicas, stable_weight),
    )
    return canary, stable


# The analysis rules (A17-A19) live in argo_analysis; re-exported here under the pinned names.
from simdeploy.rules.argo_analysis import (  # noqa: E402
    assess_metric_status,
    assess_run_status,
    evaluate_result,
)
