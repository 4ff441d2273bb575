"""Kubernetes Deployment controller arithmetic for the RollingUpdate strategy.

A Deployment rolls out a new pod template by owning two kinds of ReplicaSet
(RS): the *new* RS, whose template matches the Deployment, and zero or more
*old* ones. Each reconcile pass of the controller moves the rollout one step:

1. **Scale up** the new RS, limited only by the *spec* total of all RSs:
   ``Σ spec <= replicas + maxSurge`` (:func:`new_rs_new_replicas`). Whether
   the new pods are ready does not matter here.
2. Only if step 1 changed nothing, **scale down** old RSs, limited by
   availability: never below ``replicas - maxUnavailable`` available pods
   (:func:`plan_old_scale_down`). Unavailable old pods go first, and the
   unavailable pods of the *new* RS use up the budget, so a crash-looping new
   version cannot drain the old one.

``maxSurge`` and ``maxUnavailable`` are each an absolute count or a percentage
of ``replicas``. Percentages round surge **up** and unavailable **down**; if
both come out as 0, unavailable becomes 1 (:func:`resolve_fenceposts`). With 3
replicas at the default 25 %/25 % that gives surge 1 and unavailable 0, so the
rollout goes new→1, old→2, new→2, old→1, new→3, old→0.

Everything here is pure integer arithmetic on ``spec``/``available`` counts:
no SimPy, no pods. Each function names the upstream function it mirrors as
``repo path FunctionName``. ``kubernetes/kubernetes`` was read at commit
95f08499 (about v1.33), the intstr helpers in ``kubernetes/apimachinery``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = [
    "IntOrPercent",
    "max_surge",
    "max_unavailable",
    "min_available",
    "new_rs_new_replicas",
    "plan_old_scale_down",
    "resolve_fenceposts",
]

IntOrPercent = int | str | None
"""A Kubernetes ``IntOrString`` fence post: ``3``, ``"25%"``, or ``None`` (counts as 0)."""

_PERCENT = re.compile(r"[0-9]+%")


def _count(value: object, name: str) -> int:
    """Check that a replica count is a non-negative int (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: must be a non-negative int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name}: must be a non-negative int, got {value!r}")
    return value


def _scaled_value(value: IntOrPercent, total: int, round_up: bool, name: str) -> int:
    """Resolve one int-or-percent value against ``total``.

    ``None`` counts as 0 (``intstr.ValueOrDefault(x, FromInt(0))``). An int is
    taken as is. A string must be digits followed by ``%``; it becomes
    ``ceil`` or ``floor`` of ``p * total / 100``, computed in floating point as
    upstream does. A string without ``%`` (``"25"``) is an error, unlike in
    the deprecated ``GetValueFromIntOrPercent`` that Argo Rollouts still uses.

    Negative values and signs (``-5``, ``"-5%"``, ``"+5%"``) are rejected here:
    upstream ``intstr`` would parse them, but API validation
    (``ValidateNonnegativeIntOrPercent``, ``IsValidPercent``) never lets them
    reach the controller.

    Mirrors: ``kubernetes/apimachinery pkg/util/intstr/intstr.go
    GetScaledValueFromIntOrPercent``.

    Raises:
        ValueError: if the value is not ``None``, a non-negative int, or a
            string like ``"25%"``.

    """
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"{name}: must be an int or a percentage like '25%', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{name}: must not be negative, got {value!r}")
        return value
    if isinstance(value, str):
        if _PERCENT.fullmatch(value) is None:
            raise ValueError(f"{name}: must be an int or a percentage like '25%', got {value!r}")
        scaled = float(int(value[:-1])) * float(total) / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    raise ValueError(f"{name}: must be an int or a percentage like '25%', got {value!r}")


def resolve_fenceposts(
    max_surge: IntOrPercent, max_unavailable: IntOrPercent, replicas: int
) -> tuple[int, int]:
    """Resolve ``maxSurge`` and ``maxUnavailable`` to pod counts.

    A percentage is taken of ``replicas``; surge rounds **up** and unavailable
    rounds **down**. ``None`` counts as 0. If both resolve to 0 (for example
    ``0%``/``0%``, or surge 0 with 25 % of 1–3 replicas), unavailable becomes
    1 so that a rollout can always make progress even when surge pods cannot
    be scheduled. Surge is not capped; unavailable is capped only later, in
    :func:`max_unavailable`.

    Mirrors: ``kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
    ResolveFenceposts`` (Argo Rollouts has the same rule in
    ``argoproj/argo-rollouts utils/replicaset/replicaset.go
    resolveFenceposts``).

    Args:
        max_surge: Extra pods allowed above ``replicas``: an int, ``"N%"`` or
            ``None``.
        max_unavailable: Pods allowed to be unavailable: an int, ``"N%"`` or
            ``None``.
        replicas: The Deployment's ``spec.replicas``.

    Returns:
        ``(surge, unavailable)`` as non-negative ints, never both 0.

    Raises:
        ValueError: on a malformed value (``"oops"``, ``"25"``, ``"-5%"``,
            negative ints, bools, floats) or a negative ``replicas``.

    """
    replicas = _count(replicas, "replicas")
    surge = _scaled_value(max_surge, replicas, True, "maxSurge")
    unavailable = _scaled_value(max_unavailable, replicas, False, "maxUnavailable")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_unavailable(max_surge: IntOrPercent, max_unavailable: IntOrPercent, replicas: int) -> int:
    """Return how many pods a rolling update may take out of service.

    This is the resolved unavailable fence post (with the both-zero rule),
    capped at ``replicas``, and 0 when ``replicas`` is 0.

    Mirrors: ``kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
    MaxUnavailable`` (the RollingUpdate branch; Recreate gives 0).

    Args:
        max_surge: An int, ``"N%"`` or ``None``.
        max_unavailable: An int, ``"N%"`` or ``None``.
        replicas: The Deployment's ``spec.replicas``.

    Returns:
        An int in ``[0, replicas]``.

    Raises:
        ValueError: on a malformed fence post or replica count.

    """
    return _max_unavailable(max_surge, max_unavailable, replicas)


def _max_unavailable(
    surge_value: IntOrPercent, unavailable_value: IntOrPercent, replicas: int
) -> int:
    """Implement :func:`max_unavailable` without the parameter shadowing."""
    # Resolve first so malformed values fail even when replicas == 0.
    _, unavailable = resolve_fenceposts(surge_value, unavailable_value, replicas)
    if replicas == 0:
        return 0
    return min(unavailable, replicas)


def min_available(max_surge: IntOrPercent, max_unavailable: IntOrPercent, replicas: int) -> int:
    """Return how many pods must stay available during a rolling update.

    ``replicas - MaxUnavailable``; old RSs are never scaled down below it.

    Mirrors: ``kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
    MinAvailable`` (the RollingUpdate branch; Recreate gives 0).

    Args:
        max_surge: An int, ``"N%"`` or ``None``.
        max_unavailable: An int, ``"N%"`` or ``None``.
        replicas: The Deployment's ``spec.replicas``.

    Returns:
        An int in ``[0, replicas]``.

    Raises:
        ValueError: on a malformed fence post or replica count.

    """
    return replicas - _max_unavailable(max_surge, max_unavailable, replicas)


def max_surge(max_surge: IntOrPercent, max_unavailable: IntOrPercent, replicas: int) -> int:
    """Return how many pods above ``replicas`` a rolling update may create.

    The resolved surge fence post, rounded up and not capped.

    Mirrors: ``kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
    MaxSurge`` (the RollingUpdate branch; Recreate gives 0).

    Args:
        max_surge: An int, ``"N%"`` or ``None``.
        max_unavailable: An int, ``"N%"`` or ``None``; it matters only for
            validation, since surge is never changed by the both-zero rule.
        replicas: The Deployment's ``spec.replicas``.

    Returns:
        A non-negative int.

    Raises:
        ValueError: on a malformed fence post or replica count.

    """
    return resolve_fenceposts(max_surge, max_unavailable, replicas)[0]


def new_rs_new_replicas(
    replicas: int, max_surge: IntOrPercent, new_rs_spec: int, all_rs_spec_sum: int
) -> int:
    """Return the size the new RS should be scaled to in this pass.

    Scale-up is limited by the **spec** total only:
    ``maxTotal = replicas + ceil(maxSurge)``. If ``all_rs_spec_sum >=
    maxTotal`` the new RS keeps its size; otherwise it grows by
    ``min(maxTotal - all_rs_spec_sum, replicas - new_rs_spec)``, so it never
    goes above ``replicas``.

    ``maxSurge`` is resolved on its own here, *without* the both-zero rule of
    :func:`resolve_fenceposts` (which only ever changes the unavailable side
    anyway). The early returns of ``reconcileNewReplicaSet`` (no change when
    ``new_rs_spec == replicas``, scale *down* to ``replicas`` when
    ``new_rs_spec > replicas``) are the caller's job and are not applied here.

    Mirrors: ``kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
    NewRSNewReplicas`` (the RollingUpdate branch).

    Args:
        replicas: The Deployment's ``spec.replicas``.
        max_surge: An int, ``"N%"`` or ``None`` (0).
        new_rs_spec: ``spec.replicas`` of the new RS.
        all_rs_spec_sum: Σ ``spec.replicas`` over all RSs, the new one
            included.

    Returns:
        The new RS's target ``spec.replicas``.

    Raises:
        ValueError: on a malformed ``max_surge`` or a negative count.

    """
    replicas = _count(replicas, "replicas")
    new_rs_spec = _count(new_rs_spec, "new_rs_spec")
    all_rs_spec_sum = _count(all_rs_spec_sum, "all_rs_spec_sum")
    surge = _scaled_value(max_surge, replicas, True, "maxSurge")
    max_total = replicas + surge
    if all_rs_spec_sum >= max_total:
        return new_rs_spec
    scale_up = min(max_total - all_rs_spec_sum, replicas - new_rs_spec)
    return new_rs_spec + scale_up


def plan_old_scale_down(
    replicas: int,
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    new_spec: int,
    new_available: int,
    old: Sequence[tuple[int, int]],
) -> list[int]:
    """Plan the old-side scale-down of one rolling-update pass.

    1. Nothing happens if the old RSs hold no spec replicas. Otherwise the
       budget is ``maxScaledDown = Σspec(all) - minAvailable -
       (new_spec - new_available)``: unavailable pods of the new RS eat into
       it. Nothing happens if it is ``<= 0``.
    2. *Cleanup* (``cleanupUnhealthyReplicas``): walking the old RSs oldest
       first, remove up to ``spec - available`` replicas from each until the
       budget is used up. Removing pods that are not available cannot lower
       availability.
    3. *Healthy scale-down* (``scaleDownOldReplicaSetsForRollingUpdate``):
       recount ``available`` over the new RS and the old RSs that were active
       (spec > 0) when the pass began. If it is above ``minAvailable``,
       remove up to ``available - minAvailable`` replicas, oldest RS first,
       each as far as 0. As upstream, this step's limit is
       ``available - minAvailable`` alone; it is *not* additionally capped by
       what is left of the step-1 budget. (As long as every old RS has
       ``available <= spec`` the combined removal cannot exceed the budget
       anyway.) Cleanup leaves each RS with ``spec >= available``, so the
       availability counted here is unchanged by it.

    If an active old RS reached by the cleanup loop reports more available
    pods than its spec (a lagging status), upstream rejects the would-be
    "scale up" with an error and ends the pass: the cleanups already made
    stand and step 3 does not run. This function does the same instead of
    raising.

    Mirrors: ``kubernetes/kubernetes pkg/controller/deployment/rolling.go
    reconcileOldReplicaSets``, ``cleanupUnhealthyReplicas`` and
    ``scaleDownOldReplicaSetsForRollingUpdate``.

    Args:
        replicas: The Deployment's ``spec.replicas``.
        max_surge: An int, ``"N%"`` or ``None``.
        max_unavailable: An int, ``"N%"`` or ``None``.
        new_spec: ``spec.replicas`` of the new RS.
        new_available: ``status.availableReplicas`` of the new RS.
        old: ``(spec, available)`` of each old RS, **oldest first** (upstream
            sorts by creation time).

    Returns:
        The new ``spec.replicas`` of each old RS, in the order given. It equals
        the input specs when nothing is scaled.

    Raises:
        ValueError: on a malformed fence post or a negative count.

    """
    replicas = _count(replicas, "replicas")
    new_spec = _count(new_spec, "new_spec")
    new_available = _count(new_available, "new_available")
    specs: list[int] = []
    availables: list[int] = []
    for index, (spec, available) in enumerate(old):
        specs.append(_count(spec, f"old[{index}].spec"))
        availables.append(_count(available, f"old[{index}].available"))
    minimum = replicas - _max_unavailable(max_surge, max_unavailable, replicas)

    old_spec_sum = sum(specs)
    if old_spec_sum == 0:
        return specs
    budget = (old_spec_sum + new_spec) - minimum - (new_spec - new_available)
    if budget <= 0:
        return specs

    # Only active old RSs (spec > 0) take part (FilterActiveReplicaSets).
    active = [i for i, spec in enumerate(specs) if spec > 0]
    active_specs = [specs[i] for i in active]
    active_availables = [availables[i] for i in active]
    active_specs, _, ok = _cleanup_unhealthy_replicas(active_specs, active_availables, budget)
    if ok:
        active_specs, _ = _scale_down_old_replica_sets_for_rolling_update(
            active_specs, active_availables, new_available, minimum
        )
    for i, spec in zip(active, active_specs, strict=True):
        specs[i] = spec
    return specs


def _cleanup_unhealthy_replicas(
    specs: list[int], availables: list[int], max_cleanup: int
) -> tuple[list[int], int, bool]:
    """Remove unavailable replicas from old RSs, oldest first, within a budget.

    Mirrors: ``kubernetes/kubernetes pkg/controller/deployment/rolling.go
    cleanupUnhealthyReplicas``.

    Args:
        specs: ``spec.replicas`` of the old RSs, oldest first.
        availables: ``status.availableReplicas`` of the same RSs.
        max_cleanup: The most replicas that may be removed in total.

    Returns:
        ``(new_specs, removed, ok)``. ``ok`` is False when an RS reporting
        more available pods than its spec was reached; upstream returns an
        error there, keeping the scale-downs made so far.

    """
    specs = list(specs)
    removed = 0
    for i, (spec, available) in enumerate(zip(specs, availables, strict=True)):
        if removed >= max_cleanup:
            break
        if spec == 0 or spec == available:
            continue
        if available > spec:
            return specs, removed, False
        count = min(max_cleanup - removed, spec - available)
        specs[i] = spec - count
        removed += count
    return specs, removed, True


def _scale_down_old_replica_sets_for_rolling_update(
    specs: list[int], availables: list[int], other_available: int, minimum: int
) -> tuple[list[int], int]:
    """Scale old RSs down, oldest first, while availability stays above minimum.

    The limit is ``available - minimum``, where ``available`` sums the given
    old RSs' available counts and ``other_available`` (the new RS). Each RS
    may go as far as 0, whatever its own availability.

    Mirrors: ``kubernetes/kubernetes pkg/controller/deployment/rolling.go
    scaleDownOldReplicaSetsForRollingUpdate``.

    Args:
        specs: ``spec.replicas`` of the old RSs, oldest first.
        availables: ``status.availableReplicas`` of the same RSs.
        other_available: Available pods of the other RSs counted (the new RS).
        minimum: ``MinAvailable`` of the Deployment.

    Returns:
        ``(new_specs, removed)``.

    """
    specs = list(specs)
    available = other_available + sum(availables)
    if available <= minimum:
        return specs, 0
    limit = available - minimum
    removed = 0
    for i, spec in enumerate(specs):
        if removed >= limit:
            break
        if spec == 0:
            continue
        count = min(spec, limit - removed)
        specs[i] = spec - count
        removed += count
    return specs, removed
