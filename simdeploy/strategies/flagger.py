"""Flagger's canary loop: one tick per ``analysis.interval``, a primary and a canary Deployment.

Flagger (``fluxcd/flagger pkg/controller/scheduler.go advanceCanary``; semantics.md F1–F16)
does not run a list of steps: it copies the target Deployment into ``<name>-primary``, which
serves every user, and keeps the target itself (the *canary*) at zero replicas. A timer fires
every interval, the first time when the new revision is detected, and each firing runs one
ordered checklist (:mod:`simdeploy.rules.flagger` holds the arithmetic, this module the
objects and the clock):

1. the primary must be ready, then (once the analysis runs) the canary; not ready but
   retriable ends the tick, a passed progress deadline rolls back (F3);
2. the detection tick only scales the canary from 0 to ``replicas`` and sets ``Progressing``;
   the weights do not move (F2);
3. ``Promoting`` moves traffic back to the primary once the primary has rolled out the new
   spec; ``Finalising`` scales the canary to 0 and ends ``Succeeded`` (F9);
4. ``failedChecks >= threshold`` rolls back: all traffic to the primary, canary to 0,
   ``Failed`` (F12, F13);
5. the first analysed tick checks no metric (F8); later ones check each metric, and the first
   failure adds one to ``failedChecks`` and ends the tick (F11, F12);
6. the canary advances by one step (overshooting ``maxWeight``, F6, F7), or, once at
   ``maxWeight``, the primary's spec is replaced and the phase becomes ``Promoting``; with
   ``iterations`` (no ``match``) the tick counts iterations blue/green style instead (F15);
   with ``iterations`` and ``match`` it is A/B testing (F14, T10): the tick sends the
   requests whose headers match to the canary (100 %, a header route; the rest stay on the
   primary) and adds one iteration, and once iterations reach ``analysis.iterations`` it
   promotes.

So with a detection tick at t₀ and interval I, a canary whose checks keep failing with
threshold N rolls back at t₀ + (N + 2)·I: t₀ scales it up, t₀ + I runs the pre-rollout tick
and gives it its first weight, t₀ + 2I … t₀ + (N + 1)I fail N checks, and t₀ + (N + 2)I sees
``failedChecks == N`` at its start. The same holds under A/B, the pre-rollout tick setting the
header route (iteration 1) instead of a weight. A passing A/B canary with K iterations: t₀
detects, t₀ + I (pre-rollout) routes the matching requests and counts iteration 1, t₀ + 2I …
t₀ + K·I count iterations 2 … K, t₀ + (K + 1)I promotes (Promoting), the first tick after the
primary's rollout removes the header route (Finalising, at t₀ + (K + 2)I when the rollout
fits in one interval) and the next one scales the canary to 0 (Succeeded).

Mapping onto simdeploy. The primary is the stable ReplicaSet and, once promoted, a second
ReplicaSet of the new version that the primary's own rolling update creates (Kubernetes'
default 25 %/25 %, :mod:`simdeploy.rules.kubernetes`); the canary is a third ReplicaSet. The
mesh splits by weight between the primary's and the canary's Services, but the simulation's
Service routes by *version*: while the primary holds pods of both versions (during its
rollout) the new version's weight is the canary's route weight plus the primary's share
spread over the primary's Ready pods, as its Service pools them, and it is re-set after each
of the primary's reconcile passes. When the route sends the canary nothing after promotion,
the canary's pods leave the proxies' view (they serve nothing until Finalising removes them),
as the mesh would stop sending them requests. ``mirror: true`` replaces the first weighted
step by one tick of mirroring (F16): the primary keeps 100 % and a copy of ``mirrorWeight``
percent (default 100) of the requests goes to the canary (:meth:`Service.mirror`).

Events: ``phase`` rows (detail: the phase), ``measurement`` rows (detail ``Successful`` or
``Failed``, ``value`` the measured value, NaN for "no values"), ``weight`` rows for every
change of the canary's route weight (Flagger's ``canaryWeight``; an A/B header route is not
one), ``route`` rows when an A/B header route is set or removed (detail: the match),
``mirror`` rows, ``abort`` when a rollback is decided. The requests' headers are their
users' segment's (``traffic.segments``; :meth:`Service.set_header_route`).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simdeploy.analysis import HealthWatch
from simdeploy.rules.flagger import (
    TOTAL_WEIGHT,
    ab_testing_action,
    analysis_interval,
    blue_green_action,
    canary_ready_threshold,
    canary_route,
    deployment_strategy,
    is_deployment_ready,
    metric_check_failed,
    metric_interval,
    next_promotion_weights,
    next_step_weight,
    primary_ready_threshold,
    primary_stuck_action,
    promotion_next_phase,
    runs_metric_checks,
    should_rollback,
    status_on_phase_change,
)
from simdeploy.rules.kubernetes import new_rs_new_replicas, plan_old_scale_down

if TYPE_CHECKING:
    from simdeploy.analysis_spec import FlaggerAnalysis
    from simdeploy.cluster import ReplicaSet
    from simdeploy.scenario import Canary
    from simdeploy.strategies.context import Rollout

__all__ = ["PRIMARY_MAX_SURGE", "PRIMARY_MAX_UNAVAILABLE", "roll_out"]

PRIMARY_MAX_SURGE = "25%"
"""The primary Deployment's rolling update: Kubernetes' default maxSurge (the primary copies
the target's strategy, which a Canary scenario does not spell out)."""
PRIMARY_MAX_UNAVAILABLE = "25%"
"""And Kubernetes' default maxUnavailable."""

_QUERIES = {"request-success-rate": ("success-rate", 100.0),
            "request-duration": ("latency-p99", 1.0)}
"""Flagger's built-in metric → the simulation's query and the factor to Flagger's unit
(percent of non-5xx responses; p99 in milliseconds)."""

_ANALYSED = ("Progressing", "Promoting", "Finalising")
"""Phases in which a tick goes on past ``checkCanaryStatus`` (WaitingPromotion needs a webhook)."""


def _complete(spec: int, replica_sets: list[ReplicaSet], updated: ReplicaSet | None) -> bool:
    """``deployment_util.go DeploymentComplete``: updated, total and available all at spec."""
    return (updated is not None and updated.status_replicas == spec
            and sum(rs.status_replicas for rs in replica_sets) == spec
            and sum(rs.available for rs in replica_sets) == spec)


class _FlaggerRun:
    """One Canary object: its status, its route, and the two Deployments it drives."""

    def __init__(self, ctx: Rollout, analysis: FlaggerAnalysis) -> None:
        self.ctx = ctx
        self.analysis = analysis.as_flagger()
        self.interval = analysis_interval(self.analysis)
        self.strategy = deployment_strategy(self.analysis)
        self.n = ctx.replicas
        self.name = ctx.scenario.release.new.name
        self.primary_old: ReplicaSet = ctx.stable
        self.primary_new: ReplicaSet | None = None
        """The primary's ReplicaSet of the new version, created by its rolling update."""
        self.canary: ReplicaSet = ctx.cluster.replica_set(ctx.new_version)
        self.phase = "Succeeded"
        """The Canary's status.phase: the previous release went through."""
        self.failed_checks = 0
        self.iterations = 0
        self.primary_weight = TOTAL_WEIGHT
        self.canary_weight = 0
        self.mirrored = False
        mirror_weight = self.analysis.get("mirrorWeight") or 0
        self.mirror_percent = float(mirror_weight) if mirror_weight > 0 else 100.0
        self.generation = 1
        """The primary Deployment's metadata.generation (bumped when it is promoted)."""
        self.observed_generation = 1
        self._applied: tuple[float, float] | None = None
        self.watch: HealthWatch | None = None
        self.match: list[dict[str, Any]] = list(self.analysis.get("match") or [])
        """A/B testing's header match (Flagger/Istio spelling)."""
        self.header_routed = False
        """Whether the A/B header route to the canary is set."""

    # -- the route ----------------------------------------------------------------------------

    def start(self) -> None:
        """The mesh's route to the primary existed before the release."""
        self.ctx.service.set_weights(self.primary_old.version, self.canary.version, 0,
                                     at_once=True)
        self._applied = (0.0, 0.0)

    def new_version_share(self) -> float:
        """The new version's share of requests, in percent, for the version-routed Service.

        The canary gets its route weight; the primary's weight is spread over the primary's
        Ready pods, of either version, as its Service would pool them.
        """
        share = float(self.canary_weight)
        if self.primary_new is not None:
            old, new = self.primary_old.ready, self.primary_new.ready
            if old + new:
                share += self.primary_weight * new / (old + new)
        return min(float(TOTAL_WEIGHT), share)

    def apply_route(self) -> simpy.Event | None:
        """Send the route to the proxies if the version split or the mirror changed."""
        route = (self.new_version_share(), self.mirror_percent if self.mirrored else 0.0)
        if route == self._applied:
            return None
        self._applied = route
        return self.ctx.service.set_weights(self.primary_old.version, self.canary.version,
                                            route[0], mirror_percent=route[1])

    def route(self, primary: int, canary: int, mirrored: bool, reason: str) -> None:
        """``SetRoutes(primary, canary, mirrored)``: one change of the mesh's route."""
        rec = self.ctx.recorder
        if canary != self.canary_weight:
            rec.event("weight", self.name, canary, reason, weight=canary)
        if mirrored != self.mirrored:
            rec.event("mirror", self.name, 0,
                      f"{self.mirror_percent:g}% copied to the canary" if mirrored else "off")
        self.primary_weight, self.canary_weight, self.mirrored = primary, canary, mirrored
        self.apply_route()
        if canary == 0 and self.phase in ("Promoting", "Finalising"):
            self.ctx.service.propagate(self._unroute_canary)

    def header_route(self, on: bool, reason: str) -> None:
        """A/B: the route's match rule sends matching requests to the canary (100 %), or no
        longer does (``SetRoutes`` with ``analysis.match``); a ``route`` event either way."""
        if on == self.header_routed:
            return
        self.header_routed = on
        service = self.ctx.service
        if on:
            self.ctx.recorder.event("route", self.name, 0,
                                    f"{_describe(self.match)} → canary 100%: {reason}")
            service.set_header_route(self.match, self.canary.version)
        else:
            self.ctx.recorder.event("route", self.name, 0, f"header route removed: {reason}")
            service.clear_header_route()

    def _unroute_canary(self) -> None:
        """The route gives the canary nothing: the proxies stop sending its pods requests.

        The Service routes by version, and the promoted primary runs the same version as the
        canary, so the canary's pods leave the proxies' view instead (they stay up).
        """
        service = self.ctx.service
        for pod in list(self.canary.pods):
            pod.wanted_in_view = False
            if pod.in_view:
                pod.in_view = False
                service.remove_endpoint(pod)

    # -- status -------------------------------------------------------------------------------

    def set_phase(self, phase: str) -> None:
        """``SetStatusPhase``: record the phase; the status counters follow its rule."""
        self.phase = phase
        _, self.iterations = status_on_phase_change(self.analysis, phase, self.canary_weight,
                                                    self.iterations)
        self.ctx.recorder.event("phase", self.name, 0, phase)

    def _conditions(self, complete: bool) -> list[dict[str, str]]:
        """A Deployment still rolling out with no progress for its deadline says so (K24)."""
        if complete or not self.ctx.deadline_exceeded:
            return []
        return [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]

    def _status(self, replica_sets: list[ReplicaSet], updated: ReplicaSet | None, spec: int,
                generation: int, observed: int) -> dict[str, Any]:
        """A Deployment's status in its JSON spelling, from its ReplicaSets' counts."""
        return {
            "generation": generation, "observedGeneration": observed,
            "replicas": sum(rs.status_replicas for rs in replica_sets),
            "updatedReplicas": updated.status_replicas if updated is not None else 0,
            "readyReplicas": sum(rs.ready for rs in replica_sets),
            "availableReplicas": sum(rs.available for rs in replica_sets),
            "conditions": self._conditions(_complete(spec, replica_sets, updated)),
        }

    def _primary_sets(self) -> tuple[list[ReplicaSet], ReplicaSet | None]:
        """The primary's ReplicaSets and its updated one (the stable one before promotion)."""
        if self.generation == 1:
            return [self.primary_old], self.primary_old
        if self.primary_new is None:
            return [self.primary_old], None
        return [self.primary_old, self.primary_new], self.primary_new

    def primary_ready(self) -> tuple[bool, bool]:
        """``IsPrimaryReady``."""
        sets, updated = self._primary_sets()
        status = self._status(sets, updated, self.n, self.generation, self.observed_generation)
        return is_deployment_ready(status, self.n,
                                   ready_threshold_percent=primary_ready_threshold(self.analysis))

    def canary_ready(self) -> tuple[bool, bool]:
        """``IsCanaryReady``."""
        status = self._status([self.canary], self.canary, self.canary.spec, 1, 1)
        return is_deployment_ready(status, self.canary.spec,
                                   ready_threshold_percent=canary_ready_threshold(self.analysis))

    def idle(self) -> bool:
        """Both Deployments complete: nothing is rolling out, so no progress deadline runs."""
        return (_complete(self.n, *self._primary_sets())
                and _complete(self.canary.spec, [self.canary], self.canary))

    # -- one tick -----------------------------------------------------------------------------

    def tick(self) -> str | None:
        """One run of ``advanceCanary``; returns the rollout's outcome once it has one."""
        ready, retriable = self.primary_ready()
        if not ready:
            if retriable:
                return None
            if primary_stuck_action(self.phase) == "fail-promotion":
                return self.fail_promotion()
            return self.rollback("primary: progress deadline exceeded")
        if self.phase not in _ANALYSED:  # checkCanaryStatus: a new revision (F2)
            self.canary.scale(self.n, "canary: new revision detected, scaled from zero")
            self.set_phase("Progressing")
            return None
        ready, retriable = self.canary_ready()
        if not ready:
            return None if retriable else self.rollback("canary: progress deadline exceeded")
        if self.phase == "Promoting":
            self.promotion_traffic_shift()
            return None
        if self.phase == "Finalising":
            self.canary.scale(0, "canary: promotion finished, scaled to zero")
            self.set_phase("Succeeded")
            self.ctx.recorder.analysis_verdict = "Successful"
            return self.ctx.finish("completed")
        if should_rollback(self.failed_checks, self.analysis, self.phase):
            return self.rollback(f"failed checks threshold reached {self.failed_checks}")
        if runs_metric_checks(self.analysis, self.canary_weight, self.iterations,
                              self.mirrored) and not self.metrics_pass():
            self.failed_checks += 1
            return None
        if self.strategy == "blue-green":
            self.blue_green()
        elif self.strategy == "ab-testing":
            self.ab_testing()
        elif next_step_weight(self.analysis, self.canary_weight) > 0:
            self.advance()
        return None

    def metrics_pass(self) -> bool:
        """``runBuiltinMetricChecks``: each metric in order; the first failure ends the checks."""
        ctx = self.ctx
        for metric in self.analysis["metrics"]:
            query, factor = _QUERIES[metric["name"]]
            values = ctx.provider.query(query, "canary", metric_interval(metric), ctx.env.now)
            value = values[0] * factor if values else None
            failed = metric_check_failed(metric, value)
            ctx.recorder.event("measurement", self.name, 0, "Failed" if failed else "Successful",
                               value=math.nan if value is None else value)
            if failed:
                return False
        return True

    def advance(self) -> None:
        """``runCanary``: one weight step (or the mirroring tick), or promote at maxWeight."""
        route = canary_route(self.analysis, self.canary_weight, self.mirrored)
        if route is None:
            self.promote()
            return
        primary, canary, mirrored = route
        if (primary, canary, mirrored) != (self.primary_weight, self.canary_weight,
                                           self.mirrored):
            self.route(primary, canary, mirrored, f"canary weight {canary}")

    def blue_green(self) -> None:
        """``runBlueGreen``: iterations with no user traffic, then all traffic, then promote."""
        action = blue_green_action(self.analysis, self.iterations)
        if action == "iterate":
            if self.analysis.get("mirror") and not self.mirrored:
                self.route(TOTAL_WEIGHT, 0, True, "mirror during the iterations")
            self.iterations += 1
        elif action == "route-to-canary":
            self.route(0, TOTAL_WEIGHT, False, "all traffic to the canary")
            self.iterations += 1
        else:
            self.promote()

    def ab_testing(self) -> None:
        """``runAB``: matching requests to the canary and one more iteration, or promote."""
        action = ab_testing_action(self.analysis, self.iterations)
        if action == "iterate":
            self.header_route(True, "A/B iterations start")
            self.iterations += 1
        elif action == "promote":
            self.promote()

    # -- promotion and rollback ---------------------------------------------------------------

    def promote(self) -> None:
        """Copy the canary's spec to the primary (its rolling update starts) → Promoting."""
        if self.watch is not None:
            self.watch.stop()
        self.ctx.recorder.event("promote", self.name, self.n, "primary spec ← canary spec")
        self.ctx.mark_promotion()
        self.generation += 1
        self.set_phase("Promoting")
        self.ctx.env.process(self.roll_primary())

    def promotion_traffic_shift(self) -> None:
        """``runPromotionTrafficShift``: the primary is ready; traffic goes back to it."""
        before = self.primary_weight
        primary, canary = next_promotion_weights(self.analysis, before)
        following = promotion_next_phase(self.analysis, before)
        if (primary, canary) != (self.primary_weight, self.canary_weight):
            self.route(primary, canary, False, f"primary weight {primary}")
        if self.header_routed:  # A/B: the matching requests go back to the primary too
            self.header_route(False, "promotion: all traffic to the primary")
            self.ctx.service.propagate(self._unroute_canary)
        if following == "Finalising":
            self.set_phase("Finalising")
            self.ctx.promoted()

    def rollback(self, reason: str) -> str:
        """``rollback``: 100/0 to the primary, canary to 0, Failed (F13)."""
        ctx = self.ctx
        ctx.recorder.decide_abort()
        ctx.recorder.event("abort", self.name, 0, reason)
        if self.watch is not None:
            self.watch.stop()
        self.route(TOTAL_WEIGHT, 0, False, "rollback: all traffic to the primary")
        self.header_route(False, "rollback: all traffic to the primary")
        self.canary.scale(0, "canary: rolled back, scaled to zero")
        self.set_phase("Failed")
        ctx.recorder.analysis_verdict = "Failed"
        return ctx.finish("aborted")

    def fail_promotion(self) -> str:
        """The promoted primary will not become ready: all traffic to the canary, Failed."""
        self.ctx.recorder.event("abort", self.name, 0, "primary: promotion failed")
        self.route(0, TOTAL_WEIGHT, False, "promotion failed: all traffic to the canary")
        self.set_phase("Failed")
        return self.ctx.finish("aborted")

    def roll_primary(self) -> Generator[simpy.Event, Any, None]:
        """The primary Deployment's controller: reconcile passes until its rollout is complete.

        Kubernetes' rolling update (``rolling.go rolloutRolling``) over the primary's two
        ReplicaSets only; the canary is another Deployment. After each pass the route is
        re-set, as the primary's Ready pods of each version change.
        """
        ctx, env, cluster, n = self.ctx, self.ctx.env, self.ctx.cluster, self.n
        delay = ctx.scenario.deployment.controller_sync_delay
        old = self.primary_old
        yield env.timeout(delay)
        cluster.observed()
        new = self.primary_new = cluster.replica_set(ctx.new_version)
        self.observed_generation = self.generation
        new.scale(new_rs_new_replicas(n, PRIMARY_MAX_SURGE, 0, old.spec),
                  "primary: new ReplicaSet created")
        changed = False  # creating the new ReplicaSet does not end the pass
        while True:
            if not changed:
                (target,) = plan_old_scale_down(n, PRIMARY_MAX_SURGE, PRIMARY_MAX_UNAVAILABLE,
                                                new.spec, new.available,
                                                [(old.spec, old.available)])
                if target != old.spec:
                    old.scale(target, "primary: scale down old")
                    changed = True
            self.apply_route()
            if not changed and _complete(n, [old, new], new):
                ctx.service.primary = new.version
                return
            yield cluster.changed()
            yield env.timeout(delay)
            cluster.observed()
            changed = self._reconcile_new(new, old)

    def _reconcile_new(self, new: ReplicaSet, old: ReplicaSet) -> bool:
        """``rolling.go reconcileNewReplicaSet``; True when it scaled the new ReplicaSet."""
        n = self.n
        if new.spec == n:
            return False
        if new.spec > n:
            new.scale(n, "primary: scale new down to replicas")
            return True
        target = new_rs_new_replicas(n, PRIMARY_MAX_SURGE, new.spec, new.spec + old.spec)
        if target == new.spec:
            return False
        new.scale(target, "primary: scale new up")
        return True

    # -- the progress deadline ----------------------------------------------------------------

    def track_idle(self) -> None:
        """Cluster listener: a complete Deployment has no progress deadline (Kubernetes checks
        it only while a rollout is in progress), so while both are complete the rollout's
        deadline is suspended, and a Deployment that starts rolling again has made progress."""
        ctx = self.ctx
        if ctx.outcome is not None:
            return
        idle = self.idle()
        if idle != ctx.paused:
            ctx.paused = idle
            if not idle:
                ctx.touch_progress()


def _describe(match: list[dict[str, Any]]) -> str:
    """``x-user exact 'beta' and cookie regex '...' or ...``: a match in one line."""
    return " or ".join(
        " and ".join(f"{name} {kind} {value!r}" for name, condition
                     in alternative.get("headers", {}).items()
                     for kind, value in condition.items()) or "every request"
        for alternative in match)


def roll_out(ctx: Rollout, spec: Canary) -> Generator[simpy.Event, Any, str]:
    """Run Flagger's loop from the detection of the new revision (now) to Succeeded or Failed."""
    if spec.flagger is None:
        raise ValueError("a canary with steps is Argo's: simdeploy.strategies.canary runs it")
    run = _FlaggerRun(ctx, spec.flagger)
    run.start()
    ctx.cluster.subscribe(run.track_idle)
    if spec.health_gate is not None:
        run.watch = HealthWatch(ctx, spec.health_gate, ctx.env.active_process)
    while True:
        outcome = run.tick()
        if outcome is not None:
            return outcome
        run.track_idle()
        try:
            yield ctx.env.timeout(run.interval)
        except simpy.Interrupt:
            return run.rollback("health gate failed")
