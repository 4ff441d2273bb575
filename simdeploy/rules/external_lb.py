"""Target-group rules of an external load balancer (AWS ALB/NLB), as pure functions.

When blue-green is switched at a load balancer outside the cluster, the pods
are *targets* in a *target group*, and the load balancer, not Kubernetes,
decides which of them get requests. Each target moves through a small state
machine, driven by health checks and by (de)registration:

* ``initial`` -- registered, waiting for its first health check. A new
  target needs **one** passing check to become ``healthy``
  (:func:`time_to_first_traffic`); ``HealthyThresholdCount`` only applies when
  an ``unhealthy`` target recovers (:func:`time_to_recover`). So first traffic
  comes about one interval after registration, not after 5 × 30 s.
* ``healthy`` -- gets new requests.
* ``unhealthy`` -- failed ``UnhealthyThresholdCount`` checks in a row
  (:func:`time_to_out`). It gets no requests, *unless* no target is healthy:
  then the load balancer "fails open" and spreads requests over the
  unhealthy ones (:func:`routable_targets`).
* ``draining`` -- deregistered. No new requests; requests already in flight
  may finish until ``deregistration_delay.timeout_seconds`` (default 300 s)
  expires, and whatever is left then is cut (:func:`draining_outcome`).

The settings come in three sets of defaults that differ: AWS's own
(:data:`AWS_DEFAULT`), and those the AWS Load Balancer Controller (LBC) writes
for an Ingress/ALB (:data:`LBC_ALB_DEFAULT`) and a Service/NLB
(:data:`LBC_NLB_DEFAULT`). The controller adds a propagation delay of its own
(watch → ELB API → load-balancer nodes) for which AWS gives no figure; the old
pods must outlive it *and* the draining (:func:`minimum_old_lifetime_target_group`).

Time is a float in seconds, measured from the event the function names
(registration, death, start of draining). Nothing here uses SimPy or draws
random numbers: where a real load balancer has an unknown phase (when, within
its interval, the first check fires), the caller passes it as ``phase_s``.

Sources (see ``shared/reference/semantics.md`` §6, X1--X8, X15):
``awsdocs/elb-application-load-balancers-user-guide doc_source/target-group-health-checks.md``
("Health check settings", "Target health status"), ``.../load-balancer-target-groups.md``
("Deregistration delay"); ``kubernetes-sigs/aws-load-balancer-controller``
``pkg/ingress/model_builder.go``, ``pkg/service/model_builder.go``,
``docs/guide/ingress/annotations.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from simdeploy.rules.arguments import seconds

__all__ = [
    "AWS_DEFAULT",
    "DEFAULT_DEREGISTRATION_DELAY_S",
    "LBC_ALB_DEFAULT",
    "LBC_NLB_DEFAULT",
    "MAX_DEREGISTRATION_DELAY_S",
    "DrainingOutcome",
    "HealthCheck",
    "TargetHealth",
    "draining_outcome",
    "minimum_old_lifetime_target_group",
    "routable_targets",
    "time_to_first_traffic",
    "time_to_out",
    "time_to_recover",
]

TargetHealth = Literal["initial", "healthy", "unhealthy", "draining", "unused"]
"""The health states a registered target reports (ALB guide "Target health status")."""

_TARGET_HEALTH: frozenset[str] = frozenset(
    {"initial", "healthy", "unhealthy", "draining", "unused"}
)

DEFAULT_DEREGISTRATION_DELAY_S = 300.0
"""AWS's default ``deregistration_delay.timeout_seconds``; the LBC leaves it as is (X2, X5)."""

MAX_DEREGISTRATION_DELAY_S = 3600.0
"""Upper end of the deregistration delay's range, 0--3600 s (X5)."""

# AWS's accepted ranges for target-group health checks (X1).
_INTERVAL_RANGE_S = (5.0, 300.0)
_TIMEOUT_RANGE_S = (2.0, 120.0)
_THRESHOLD_RANGE = (2, 10)


@dataclass(frozen=True)
class HealthCheck:
    """The timing part of a target group's health-check settings.

    AWS accepts an interval of 5--300 s, a timeout of 2--120 s and both
    thresholds in 2--10 (X1). The ALB guide states no rule between timeout and
    interval, and the LBC's own NLB defaults use timeout == interval, so none
    is enforced here.

    Mirrors: ``awsdocs/elb-application-load-balancers-user-guide
    doc_source/target-group-health-checks.md`` "Health check settings".

    Raises:
        ValueError: on a value outside AWS's ranges, or of the wrong type.

    """

    interval_s: float
    """``HealthCheckIntervalSeconds``: time between two checks of one target."""
    timeout_s: float
    """``HealthCheckTimeoutSeconds``: no answer within this is a failed check."""
    healthy_threshold: int
    """``HealthyThresholdCount``: passes in a row for an *unhealthy* target to recover."""
    unhealthy_threshold: int
    """``UnhealthyThresholdCount``: failures in a row that take a target out."""

    def __post_init__(self) -> None:
        """Validate every field against AWS's ranges."""
        for name, (low, high) in (
            ("interval_s", _INTERVAL_RANGE_S),
            ("timeout_s", _TIMEOUT_RANGE_S),
        ):
            value = seconds(getattr(self, name), name)
            if not low <= value <= high:
                raise ValueError(f"{name}: must be in [{low:g}, {high:g}] s, got {value!r}")
        for name in ("healthy_threshold", "unhealthy_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name}: must be an int, got {value!r}")
            low, high = _THRESHOLD_RANGE
            if not low <= value <= high:
                raise ValueError(f"{name}: must be in [{low}, {high}], got {value!r}")

    def check_phase(self, phase_s: float) -> float:
        """Validate ``phase_s``: the offset of the first check, in ``[0, interval_s)``.

        Raises:
            ValueError: if ``phase_s`` is not a number in ``[0, interval_s)``.

        """
        phase_s = seconds(phase_s, "phase_s")
        if phase_s >= self.interval_s:
            raise ValueError(
                f"phase_s: must be < interval_s ({self.interval_s:g}), got {phase_s!r}"
            )
        return phase_s


AWS_DEFAULT = HealthCheck(
    interval_s=30.0, timeout_s=5.0, healthy_threshold=5, unhealthy_threshold=2
)
"""AWS's defaults for instance and ip targets (X1; Lambda targets use 35 s / 30 s)."""

LBC_ALB_DEFAULT = HealthCheck(
    interval_s=15.0, timeout_s=5.0, healthy_threshold=2, unhealthy_threshold=2
)
"""What the LBC writes for an Ingress (ALB) target group (X2,
``pkg/ingress/model_builder.go``; ``docs/guide/ingress/annotations.md``)."""

LBC_NLB_DEFAULT = HealthCheck(
    interval_s=10.0, timeout_s=10.0, healthy_threshold=3, unhealthy_threshold=3
)
"""What the LBC writes for a Service (NLB) target group (X2, ``pkg/service/model_builder.go``)."""


def time_to_first_traffic(
    registration_s: float, check: HealthCheck, phase_s: float, response_s: float = 0.0
) -> float:
    """Return the time from the register call until a new target gets its first request.

    A newly registered target is ``initial`` and needs **one** passing check to
    become ``healthy``; ``healthy_threshold`` does not apply (X3). Registration
    itself (LBC watch + ELB API) takes ``registration_s``; the first check then
    fires ``phase_s`` later, somewhere within one interval, and passes when
    the target answers, ``response_s`` after it was sent. So first traffic
    comes at ``registration_s + phase_s + response_s``, at most one interval
    plus the answer after registration, whatever the thresholds are.

    Mirrors: ``awsdocs/elb-application-load-balancers-user-guide
    doc_source/target-group-health-checks.md`` ("After your target is
    registered, it must pass one health check", paraphrased).

    Args:
        registration_s: Time from the controller's register call until the
            load-balancer nodes know the target (X6 has no AWS figure for it).
        check: The target group's health-check settings.
        phase_s: Offset of the first check after registration, in
            ``[0, check.interval_s)``; a simulation draws it uniformly.
        response_s: How long the target takes to answer the check; it must be
            below ``check.timeout_s`` or the check fails.

    Returns:
        Seconds from the register call to the first request.

    Raises:
        ValueError: on a negative or non-finite time, ``phase_s`` outside
            ``[0, interval)``, or ``response_s >= timeout_s``.

    """
    registration_s = seconds(registration_s, "registration_s")
    phase_s = check.check_phase(phase_s)
    response_s = seconds(response_s, "response_s")
    if response_s >= check.timeout_s:
        raise ValueError(
            f"response_s: a check answered after the timeout ({check.timeout_s:g} s) "
            f"fails, got {response_s!r}"
        )
    return registration_s + phase_s + response_s


def time_to_out(check: HealthCheck, phase_s: float, refused: bool = False) -> float:
    """Return the time from a target's death until the load balancer stops routing to it.

    The first check after the death fires ``phase_s`` later; every check
    then fails, and the ``unhealthy_threshold``-th failure, sent
    ``(unhealthy_threshold - 1)`` intervals after the first, takes the target
    out. A target that hangs is only known to have failed when the check's
    timeout ends; one whose port refuses connections fails at once
    (``refused=True``). With AWS's defaults that is 30--65 s, with the LBC's
    ALB defaults 15--35 s (X4). Until then the dead target keeps receiving
    requests, which fail.

    Mirrors: ``awsdocs/elb-application-load-balancers-user-guide
    doc_source/target-group-health-checks.md`` (``UnhealthyThresholdCount``,
    ``HealthCheckTimeoutSeconds``); semantics.md X4.

    Args:
        check: The target group's health-check settings.
        phase_s: Offset of the first check after the death, in ``[0, interval)``.
        refused: Whether checks fail immediately (connection refused) rather
            than by timing out.

    Returns:
        Seconds from the death to the ``unhealthy`` verdict.

    Raises:
        ValueError: if ``phase_s`` is not in ``[0, interval)``.

    """
    phase_s = check.check_phase(phase_s)
    wait_s = 0.0 if refused else check.timeout_s
    return phase_s + (check.unhealthy_threshold - 1) * check.interval_s + wait_s


def time_to_recover(check: HealthCheck, phase_s: float, response_s: float = 0.0) -> float:
    """Return the time from an ``unhealthy`` target's recovery until it is ``healthy`` again.

    Unlike a new target (:func:`time_to_first_traffic`), a target that was
    marked unhealthy needs ``healthy_threshold`` passes in a row: the last one
    is sent ``(healthy_threshold - 1)`` intervals after the first.

    Mirrors: ``awsdocs/elb-application-load-balancers-user-guide
    doc_source/target-group-health-checks.md`` (``HealthyThresholdCount``: "before
    considering an unhealthy target healthy", paraphrased).

    Args:
        check: The target group's health-check settings.
        phase_s: Offset of the first check after the recovery, in ``[0, interval)``.
        response_s: How long the target takes to answer each check (< timeout).

    Returns:
        Seconds from the recovery to the ``healthy`` verdict.

    Raises:
        ValueError: if ``phase_s`` is not in ``[0, interval)`` or
            ``response_s >= timeout_s``.

    """
    first = time_to_first_traffic(0.0, check, phase_s, response_s)
    return first + (check.healthy_threshold - 1) * check.interval_s


def routable_targets(health: Mapping[str, TargetHealth]) -> tuple[str, ...]:
    """Return the targets that get new requests, in the mapping's order.

    Only ``healthy`` targets get new requests. When none is healthy, the load
    balancer fails open and routes to the ``unhealthy`` ones (X3). ``initial``,
    ``draining`` and ``unused`` targets never get new requests, so a group left
    with only ``initial`` and ``draining`` targets routes nowhere: an outage
    (X7). The guide describes fail-open for a group of *only* unhealthy
    targets; a group mixing unhealthy and initial targets is read the same way
    here (the unhealthy ones get the traffic), which the guide does not state.

    Mirrors: ``awsdocs/elb-application-load-balancers-user-guide
    doc_source/target-group-health-checks.md`` ("If a target group contains only
    unhealthy registered targets ...", paraphrased).

    Args:
        health: Target id → its health state.

    Returns:
        The ids that may receive new requests; empty means every request fails.

    Raises:
        ValueError: on an unknown health state.

    """
    for target, state in health.items():
        if state not in _TARGET_HEALTH:
            raise ValueError(
                f"health[{target!r}]: must be one of {sorted(_TARGET_HEALTH)}, got {state!r}"
            )
    healthy = tuple(t for t, s in health.items() if s == "healthy")
    if healthy:
        return healthy
    return tuple(t for t, s in health.items() if s == "unhealthy")


@dataclass(frozen=True)
class DrainingOutcome:
    """What happens to the requests in flight on a target when it starts draining."""

    completed: int
    """Requests that finished within the deregistration delay."""
    cut: int
    """Requests still running when the delay expired: the load balancer cuts them."""
    ends_s: float
    """Seconds from the start of draining until the target is fully deregistered."""


def draining_outcome(
    deregistration_delay_s: float, request_ends_s: Iterable[float]
) -> DrainingOutcome:
    """Return how draining ends for a target whose in-flight requests end at the given times.

    Once deregistered, a target is ``draining``: it gets no new requests, and
    those in flight may finish until the deregistration delay expires. A
    request that would end exactly at the delay counts as finished. Draining
    ends when the last request has ended or at the delay, whichever comes
    first; a target with nothing in flight leaves at once (X5). The target's
    own process must stay up that long: if it exits first, its requests get
    5xx (that is the caller's concern, see
    :func:`minimum_old_lifetime_target_group`).

    Mirrors: ``awsdocs/elb-application-load-balancers-user-guide
    doc_source/load-balancer-target-groups.md`` "Deregistration delay".

    Args:
        deregistration_delay_s: ``deregistration_delay.timeout_seconds``, 0--3600
            (default :data:`DEFAULT_DEREGISTRATION_DELAY_S`).
        request_ends_s: For each request in flight when draining starts, the
            seconds from then until it would end on its own.

    Returns:
        The counts of completed and cut requests, and when draining ends.

    Raises:
        ValueError: on a delay outside 0--3600 s or a negative end time.

    """
    delay = seconds(deregistration_delay_s, "deregistration_delay_s")
    if delay > MAX_DEREGISTRATION_DELAY_S:
        raise ValueError(
            f"deregistration_delay_s: must be in [0, {MAX_DEREGISTRATION_DELAY_S:g}], "
            f"got {deregistration_delay_s!r}"
        )
    ends = [seconds(e, "request_ends_s[]") for e in request_ends_s]
    completed = sum(1 for e in ends if e <= delay)
    cut = len(ends) - completed
    ends_s = delay if cut else max(ends, default=0.0)
    return DrainingOutcome(completed=completed, cut=cut, ends_s=ends_s)


def minimum_old_lifetime_target_group(
    propagation_s: float,
    deregistration_delay_s: float = DEFAULT_DEREGISTRATION_DELAY_S,
    longest_request_s: float | None = None,
) -> float:
    """Return how long the old pods must live after a target-group switch.

    After the switch, the load-balancer nodes keep sending new requests to
    the old targets until the change has propagated (X6: no AWS figure;
    users measured 25 s to over 2 min). Then the old targets drain for up to
    the deregistration delay (X5). The old pods must serve both, so they must
    live ``propagation_s + deregistration_delay_s`` (X15). If the longest
    request is known, draining ends when it does, so
    ``propagation_s + min(deregistration_delay_s, longest_request_s)`` is
    enough. Argo's default ``scaleDownDelaySeconds`` of 30 s is below this
    for any realistic propagation and the default 300 s delay.

    Mirrors: semantics.md X15 (second half), from ``awsdocs/...
    load-balancer-target-groups.md`` "Deregistration delay" and the LBC issues
    cited in X6.

    Args:
        propagation_s: Time for the switch to reach every load-balancer node.
        deregistration_delay_s: The target group's deregistration delay.
        longest_request_s: The longest request the old version may be
            serving, if bounded; ``None`` means "assume the full delay".

    Returns:
        Seconds after the switch before the old pods may stop.

    Raises:
        ValueError: on a negative or non-finite time, or a delay above 3600 s.

    """
    propagation_s = seconds(propagation_s, "propagation_s")
    delay = seconds(deregistration_delay_s, "deregistration_delay_s")
    if delay > MAX_DEREGISTRATION_DELAY_S:
        raise ValueError(
            f"deregistration_delay_s: must be in [0, {MAX_DEREGISTRATION_DELAY_S:g}], "
            f"got {deregistration_delay_s!r}"
        )
    if longest_request_s is not None:
        delay = min(delay, seconds(longest_request_s, "longest_request_s"))
    return propagation_s + delay
