"""An external load balancer's target groups on the simulation's clock: who gets requests when.

Why a module of its own: when a blue-green is switched at an AWS ALB/NLB in ``ip`` mode
(``BlueGreen.externalLoadBalancer``), the pods are *targets* and the load balancer, not the
Service's selector or kube-proxy, decides which of them get requests. Each target moves
through the states of :mod:`simdeploy.rules.external_lb` (``initial`` → ``healthy``;
``unhealthy``; ``draining``), and this module only puts those pure rules on a clock:

* **Registration.** The AWS Load Balancer Controller (LBC) turns a Service's endpoints into
  targets (``kubernetes-sigs/aws-load-balancer-controller pkg/targetgroupbinding/
  resource_manager.go`` ``reconcileWithIPTargetType``: deregister the targets that lost their
  endpoint, register the new endpoints, in one pass). Every change reaches the load-balancer
  nodes a ``propagation`` delay after it was made (watch → ELB API → nodes, semantics.md X6),
  and changes apply in the order they were made. A new target is ``initial`` until its first
  check passes, ``phase`` (drawn uniformly within one interval from the run's ``targets``
  stream) after registration: :func:`~simdeploy.rules.external_lb.time_to_first_traffic` (X3).
* **Routing.** The listener forwards to one target group; requests go to its
  :func:`~simdeploy.rules.external_lb.routable_targets` (healthy ones, or all unhealthy ones
  when none is healthy: fail-open), picked with the Service's policy
  (:meth:`simdeploy.routing.Service.route_by_targets`). None routable: the request fails as
  ``no_endpoint``.
* **Deregistration.** A deregistered target is ``draining``: no new requests; what is in
  flight may finish until ``deregistrationDelaySeconds``, and what is left then is cut (it
  fails as ``killed``); a target with nothing left in flight leaves at once
  (:func:`~simdeploy.rules.external_lb.draining_outcome`, X5). The simulation does not know
  ahead when a request ends, so a draining target is looked at every :data:`DRAIN_POLL_S`.
  An IP cannot be registered again before its draining is over (X5).
* **Death.** A deleted pod stops answering when SIGTERM comes (``min(preStop, grace)``); its
  target then fails checks and is ``unhealthy``
  :func:`~simdeploy.rules.external_lb.time_to_out` later (checks refused), while the LBC
  deregisters it a propagation delay after the deletion. Requests the load balancer still
  sends it fail (``refused``). The old pods must outlive propagation + draining
  (:func:`~simdeploy.rules.external_lb.minimum_old_lifetime_target_group`, X15).

Two layouts (``targetGroups``):

* ``shared`` (default): one target group behind Argo's *active* Service, the way an LBC
  Ingress → ``activeService`` is set up for an Argo blue-green (argo-rollouts
  ``docs/features/traffic-management/alb.md``). The selector switch changes the Service's
  endpoints, so one LBC pass deregisters blue and registers green: green is ``initial`` for up
  to one interval while blue is already draining, and requests in between find no target
  (X7: pod readiness gates are never added to pods that become backends by a selector change).
* ``perVersion``: each version's pods are in their own target group as soon as they are
  Ready, the listener's forward action moves at the switch (LBC
  ``docs/guide/use_cases/blue_green/index.md``, weighted target groups, X8), and the LBC's
  pod readiness gate (X7) makes a green pod Ready only once its target is healthy: the switch
  waits for every green target to be healthy. Blue's targets stay registered, out of the
  listener, until their pods are deleted.

Not modelled: slow start, instance targets (X8), health checks that fail because the app
answers 5xx (``VersionSpec.unhealthyAfter``), per-node differences in propagation, and the
LBC's own reconcile back-off. Cost: every target state change recomputes the routable list
(O(targets)), which is per pod change, never per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simdeploy.rules.external_lb import (
    TargetHealth,
    draining_outcome,
    routable_targets,
    time_to_first_traffic,
    time_to_out,
)

if TYPE_CHECKING:
    import numpy as np
    import simpy

    from simdeploy.cluster import Pod, ReplicaSet
    from simdeploy.scenario import ExternalLoadBalancer
    from simdeploy.strategies.context import Rollout

__all__ = ["DRAIN_POLL_S", "SHARED", "TargetGroups"]

SHARED = -1
"""The key of the one target group of the ``shared`` layout (version numbers key the others)."""

DRAIN_POLL_S = 0.5
"""How often a draining target is looked at: its draining ends within this of its last
request (the load balancer ends it at once, X5)."""


class TargetGroups:
    """Target groups of one load balancer: each target's state, and the routable targets."""

    def __init__(self, spec: ExternalLoadBalancer, env: simpy.Environment,
                 rng: np.random.Generator) -> None:
        self.spec = spec
        self.env = env
        self.check = spec.health_check_settings()
        """The target groups' health check (:class:`~simdeploy.rules.external_lb.HealthCheck`)."""
        self.shared = spec.target_groups == "shared"
        self._rng = rng
        self.health: dict[int, dict[str, TargetHealth]] = {}
        """Target group → pod name → the target's state."""
        self._pods: dict[str, Pod] = {}
        self._generation: dict[tuple[int, str], int] = {}
        """Bumped when a target is registered or deregistered: older timers are ignored."""
        self.active = SHARED
        """The target group the listener forwards to (as the load-balancer nodes have it)."""
        self.routable: list[Pod] = []
        """The pods that get new requests now; read by the Service on every request."""
        self.registered_at: dict[str, float] = {}
        """Pod name → when its last registration reached the load balancer."""
        self.healthy_at: dict[str, float] = {}
        """Pod name → when its target last became ``healthy``."""
        self.fail_open = False
        """Whether the active group routes to unhealthy targets (none is healthy)."""
        self._lbc_free_at = 0.0
        self._ctx: Rollout | None = None
        self._routing = False
        self._gated = False

    # -- set-up and the strategy's calls ------------------------------------------------------

    def start(self, ctx: Rollout, blue: ReplicaSet) -> None:
        """Blue's pods are the healthy targets of the active group; the load balancer routes."""
        self._ctx = ctx
        group = SHARED if self.shared else blue.version
        self.health[group] = {}
        self.active = group
        for pod in _live_ready(blue):
            self._set(group, pod, "healthy")
            self.registered_at[pod.name] = self.healthy_at[pod.name] = self.env.now
        self._refresh()
        ctx.service.route_by_targets(self)
        self._routing = True

    def gate_open(self, green: ReplicaSet) -> bool:
        """``perVersion``: whether every Ready green pod's target is healthy in green's own
        group, which the LBC's pod readiness gate makes a condition of the pod being Ready
        (X7). Registers the Ready pods it has not seen yet: each one's endpoint reached the
        LBC when it became Ready, and its registration the load balancer a propagation delay
        after that, maybe already in the past. Until the gate opens, a target turning healthy
        is a pod change the controllers see (:meth:`simdeploy.cluster.Cluster.notify`).
        """
        group = green.version
        targets = self.health.setdefault(group, {})
        pods = _live_ready(green)
        for pod in pods:
            if pod.name not in targets:
                since = min(pod.ready_at, self.env.now) + self._propagation()
                self._register(group, pod, since)
        self._gated = not all(targets.get(pod.name) == "healthy" for pod in pods)
        return not self._gated

    def switch_to(self, rs: ReplicaSet) -> None:
        """The switch to ``rs``'s version, made now: the active Service's selector (``shared``)
        or the listener's forward action (``perVersion``), applied after propagation."""
        version = rs.version
        if self.shared:
            self._lbc(lambda: self._reselect(rs))
        else:
            self.health.setdefault(version, {})
            self._lbc(lambda: self._listen(version))

    def pods_deleted(self, rs: ReplicaSet) -> None:
        """``rs`` was just scaled down: its deleted pods stop answering checks, and the LBC
        deregisters them (they left their Service's endpoints)."""
        now = self.env.now
        pod_spec = self._rollout().scenario.pod
        stops = min(pod_spec.pre_stop_seconds, pod_spec.termination_grace_period_seconds)
        for pod in [p for p in rs.pods if p.deleted_at == now]:
            for group, targets in self.health.items():
                state = targets.get(pod.name)
                if state is None or state == "draining":
                    continue
                out = (stops if pod.accepting else 0.0) + time_to_out(
                    self.check, self._phase(), refused=True)
                self._after(out, self._out, group, pod, self._generation[group, pod.name])
                self._lbc(lambda group=group, pod=pod: self._deregister(group, pod))

    # -- the load balancer's side -------------------------------------------------------------

    def _reselect(self, rs: ReplicaSet) -> None:
        """One LBC pass after the active Service's selector moved to ``rs``: deregister the
        other versions' targets, then register ``rs``'s Ready pods (resource_manager.go)."""
        targets = self.health[SHARED]
        version = rs.version
        for name in [n for n, s in targets.items() if s != "draining"]:
            pod = self._pods[name]
            if pod.version != version:
                self._deregister(SHARED, pod)
        for pod in _live_ready(rs):
            state = targets.get(pod.name)
            if state is None or state == "draining":
                self._register(SHARED, pod, self.env.now)
        self._event("target_group", rs, "active Service's targets re-registered")

    def _listen(self, version: int) -> None:
        """The listener forwards to ``version``'s target group from now on."""
        self.active = version
        self._refresh()
        rs = next(r for r in self._rollout().cluster.replica_sets if r.version == version)
        self._event("target_group", rs, "listener forwards to its target group")

    def _register(self, group: int, pod: Pod, since: float) -> None:
        """``pod`` is registered in ``group`` at ``since``; healthy after its first check."""
        now = self.env.now
        key = (group, pod.name)
        if since > now:
            self._after(since - now, self._register, group, pod, since)
            return
        state = self.health[group].get(pod.name)
        if state == "draining":  # an IP is registered again only once its draining is over
            self._after(DRAIN_POLL_S, self._register, group, pod, now + DRAIN_POLL_S)
            return
        if state is not None:
            return
        first = time_to_first_traffic(0.0, self.check, self._phase())
        self.registered_at[pod.name] = since
        if since + first <= now:
            self.healthy_at[pod.name] = since + first
            self._set(group, pod, "healthy")
            return
        self._set(group, pod, "initial")
        self._after(since + first - now, self._first_check, group, pod, self._generation[key])

    def _first_check(self, group: int, pod: Pod, generation: int) -> None:
        if self._generation.get((group, pod.name)) != generation:
            return
        if self.health[group].get(pod.name) != "initial":
            return
        if not pod.accepting:  # it failed: out after the threshold's further checks
            self._after(time_to_out(self.check, 0.0, refused=True), self._out, group, pod,
                        generation)
            return
        self.healthy_at[pod.name] = self.env.now
        self._set(group, pod, "healthy")

    def _out(self, group: int, pod: Pod, generation: int) -> None:
        """Enough failed checks in a row: the target is ``unhealthy``."""
        if self._generation.get((group, pod.name)) != generation:
            return
        if self.health[group].get(pod.name) in ("initial", "healthy"):
            self._set(group, pod, "unhealthy")

    def _deregister(self, group: int, pod: Pod) -> None:
        """``pod`` leaves ``group``: draining until its requests are done or the delay is
        over, whichever comes first; then gone (X5)."""
        state = self.health[group].get(pod.name)
        if state is None or state == "draining":
            return
        key = (group, pod.name)
        self._generation[key] += 1
        self._set(group, pod, "draining")
        self._draining(group, pod, self._generation[key], self.env.now)

    def _draining(self, group: int, pod: Pod, generation: int, since: float) -> None:
        """Look at a draining target: gone once it holds nothing, its requests cut at the delay.

        The simulation does not know ahead when a request ends, so the target is looked at
        every :data:`DRAIN_POLL_S` (only while it drains, never per request).
        """
        if self._generation.get((group, pod.name)) != generation:
            return
        now = self.env.now
        delay = self.spec.deregistration_delay_seconds
        held = pod.busy + len(pod.queue) if not pod.gone else 0
        if held and now - since < delay:
            self._after(min(DRAIN_POLL_S, since + delay - now), self._draining, group, pod,
                        generation, since)
            return
        # every request still held at the delay would end after it: the rule cuts them all
        outcome = draining_outcome(delay, [now - since + DRAIN_POLL_S] * held)
        if outcome.cut:
            ctx = self._rollout()
            workload = ctx.cluster.workload
            if workload is not None:
                workload.kill(pod)
                ctx.cluster.drained(pod)
        self._remove(group, pod)

    # -- bookkeeping --------------------------------------------------------------------------

    def _set(self, group: int, pod: Pod, state: TargetHealth) -> None:
        key = (group, pod.name)
        if pod.name not in self.health[group]:
            self._generation[key] = self._generation.get(key, 0) + 1
        self.health[group][pod.name] = state
        self._pods[pod.name] = pod
        if group == self.active:
            self._refresh()
        if state == "healthy" and self._gated:  # the readiness gate's condition turned true
            self._rollout().cluster.notify()

    def _remove(self, group: int, pod: Pod) -> None:
        self.health[group].pop(pod.name, None)
        if group == self.active:
            self._refresh()

    def _refresh(self) -> None:
        """Recompute the routable targets of the active group (the rules decide)."""
        health = self.health.get(self.active, {})
        self.routable = [self._pods[name] for name in routable_targets(health)]
        fail_open = bool(self.routable) and health[self.routable[0].name] == "unhealthy"
        if fail_open and not self.fail_open:
            self._event("fail_open", None, "no healthy target: routing to the unhealthy ones")
        self.fail_open = fail_open
        if self._routing and self._ctx is not None:
            self._ctx.service.targets_changed()

    def _lbc(self, action: Callable[[], None]) -> None:
        """Apply a change made now once it has reached the load balancer, in order."""
        at = max(self.env.now + self._propagation(), self._lbc_free_at)
        self._lbc_free_at = at
        self._after(at - self.env.now, action)

    def _propagation(self) -> float:
        return float(self.spec.propagation.sample(self._rng, 1)[0])

    def _phase(self) -> float:
        """When, within one interval, a target's next check fires (uniform)."""
        return float(self._rng.random()) * self.check.interval_s

    def _after(self, delay: float, action: Callable[..., None], *args: Any) -> None:
        self.env.timeout(max(delay, 0.0)).callbacks.append(lambda _event: action(*args))

    def _event(self, kind: str, rs: ReplicaSet | None, detail: str) -> None:
        if self._ctx is not None:
            self._ctx.recorder.event(kind, "" if rs is None else rs.name,
                                     len(self.routable), detail)

    def _rollout(self) -> Rollout:
        assert self._ctx is not None, "TargetGroups.start was not called"
        return self._ctx


def _live_ready(rs: ReplicaSet) -> list[Pod]:
    """``rs``'s pods that are Ready and not being deleted (its Service's endpoints)."""
    return [pod for pod in rs.pods if pod.ready and pod.deleted_at is None]
