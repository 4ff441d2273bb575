"""Canary in stages, as Argo Rollouts runs its ``steps`` (and Flagger's weights, written as steps).

Two ways to give the canary its share (``argo-rollouts utils/replicaset/canary.go``):

* ``weighted`` — a traffic router (service mesh or ingress) splits exactly. The canary gets
  ``ceil(weight * replicas / 100)`` pods and the stable ReplicaSet stays at full size unless
  ``dynamicStableScale`` (``CalculateReplicaCountsForTrafficRoutedCanary``), so peak pods reach
  replicas + canary. A new weight is sent to the router only when the canary pods it needs are
  available (``rollout/trafficrouting.go``: the previous weight is kept until the canary
  ReplicaSet is at its desired count), and with dynamicStableScale the stable side shrinks only
  after traffic has moved.
* ``replicas`` — no router: the Service selects both versions and the share follows pod
  counts, approximated with whole pods within maxSurge/maxUnavailable
  (``CalculateReplicaCountsForBasicCanary``); a step is done when both ReplicaSets are at their
  targets (``AtDesiredReplicaCountsForCanary``).

``splitBy: user`` hashes users into the canary (a header/cookie canary: "5 % of users"), so a
user never flips back and forth; with replica routing it makes the Service keep each user on
their first version. After the last step the canary is promoted (``sync.go promoteStable``);
the old stable is removed after ``scaleDownDelaySeconds`` with a router, at once otherwise.
A failed health gate aborts (A13): traffic goes back to stable and the canary is scaled down
(after ``abortScaleDownDelaySeconds`` with a router).

With a router, ``setHeaderRoute`` sends matching requests 100 % to the canary and
``setMirrorRoute`` copies ``percentage`` % of the matching requests to it (semantics.md T8,
T9); both steps complete at once, and the managed routes are removed at promotion or abort.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simdeploy.analysis import HealthWatch
from simdeploy.analysis_run import (
    AnalysisRun,
    interrupt_on_bad_end,
    record_verdict,
    stops_rollout,
)
from simdeploy.kayenta_stage import SUCCESSFUL, run_stage
from simdeploy.rules.argo import (
    approximate_weighted_counts,
    basic_canary_replica_counts,
    traffic_routed_canary_counts,
)
from simdeploy.rules.kubernetes import resolve_fenceposts

if TYPE_CHECKING:
    from simdeploy.analysis_spec import ArgoAnalysis, KayentaStage
    from simdeploy.cluster import ReplicaSet
    from simdeploy.scenario import Canary, SetHeaderRoute, SetMirrorRoute
    from simdeploy.strategies.context import Rollout

__all__ = ["roll_out"]

Steps = Generator[simpy.Event, Any, None]


class _CanaryRun:
    """The two ReplicaSets, the routing mode and the weight the router currently applies."""

    def __init__(self, ctx: Rollout, spec: Canary) -> None:
        self.ctx = ctx
        self.spec = spec
        self.n = ctx.replicas
        self.stable: ReplicaSet = ctx.stable
        self.canary: ReplicaSet = ctx.cluster.replica_set(ctx.new_version)
        self.weighted = spec.traffic_routing == "weighted"
        self.by_user = spec.split_by == "user"
        self.weight = 0
        self.background: AnalysisRun | None = None
        """Argo's background analysis, once its starting step is reached."""
        self.header_routed = False
        """A ``setHeaderRoute`` is in place."""
        self.mirror_routes: dict[str, tuple[list[dict[str, Any]], int]] = {}
        """The ``setMirrorRoute`` routes in place: name → (match blocks, percentage)."""

    # -- analysis ---------------------------------------------------------------------------

    def start_background(self, spec: ArgoAnalysis) -> None:
        """Start the background analysis; a failed run interrupts the rollout (A20)."""
        self.background = run = AnalysisRun(self.ctx, spec, "background analysis")
        self.ctx.env.process(interrupt_on_bad_end(self.ctx, run, self.ctx.env.active_process))

    def inline(self, spec: ArgoAnalysis, index: int) -> Steps:
        """An analysis step: the step waits for the run and aborts on a bad end (A20)."""
        run = AnalysisRun(self.ctx, spec, f"step {index} analysis")
        try:
            phase = yield run.done
        except simpy.Interrupt:
            run.stop()
            raise
        if stops_rollout(phase, spec):
            self.ctx.recorder.decide_abort()
            raise _AnalysisAbortError(f"step {index} analysis {phase}")

    def kayenta_stage(self, spec: KayentaStage, index: int) -> Steps:
        """Spinnaker's canary analysis stage as a step: it blocks, and a failure aborts."""
        label = f"step {index} kayentaStage"
        phase = yield from run_stage(self.ctx, spec, label, key=index)
        record_verdict(self.ctx, phase)
        if phase != SUCCESSFUL:
            self.ctx.recorder.decide_abort()
            raise _AnalysisAbortError(f"{label} {phase}")

    def header_route(self, spec: SetHeaderRoute) -> None:
        """Argo's ``setHeaderRoute``: matching requests go 100 % to the canary, whatever the
        weight; the step completes at once (semantics.md T8, A3). Istio makes each
        ``{headerName, headerValue}`` its own match entry, so they are alternatives
        (``rollout/trafficrouting/istio/istio.go createHeaderRoute``)."""
        ctx = self.ctx
        if spec.match:
            match = [{"headers": {m.header_name: m.header_value.as_match()}}
                     for m in spec.match]
            ctx.recorder.event("route", self.canary.name, 0, f"setHeaderRoute {spec.name}")
            ctx.service.set_header_route(match, self.canary.version)
            self.header_routed = True
        else:
            self.remove_header_route(f"setHeaderRoute {spec.name} removed")

    def remove_header_route(self, why: str) -> None:
        """A ``setHeaderRoute`` step without ``match`` removes the header route (T8)."""
        if self.header_routed:
            self.ctx.recorder.event("route", self.canary.name, 0, why)
            self.ctx.service.clear_header_route()
            self.header_routed = False

    def mirror_route(self, spec: SetMirrorRoute) -> None:
        """Argo's ``setMirrorRoute``: a copy of ``percentage`` % of the matching requests goes
        to the canary, the requests themselves follow the weights; a step without ``match``
        removes the route of that name; the step completes at once (semantics.md T9, A3).

        Argo's Istio reconciler puts the route, named, above the others, with the weighted
        route's destinations and ``mirror`` + ``mirrorPercentage`` (argoproj/argo-rollouts
        rollout/trafficrouting/istio/istio.go SetMirrorRoute, createMirrorRoute), so several
        mirror routes may be in place at once; the first in ``managedRoutes`` order that a
        request matches decides (``orderRoutes``). Simplifications: a header route in place
        wins over a mirror route whatever their order, and, as for Flagger's mirror, only
        requests the weights send to the stable are copied (Istio would copy the matching
        requests sent to the canary too, a second request on the canary).
        """
        name = spec.name
        if spec.match:
            self.mirror_routes[name] = ([m.as_match() for m in spec.match], spec.percentage)
            detail = f"setMirrorRoute {name} ({spec.percentage}% copied)"
        elif name in self.mirror_routes:
            del self.mirror_routes[name]
            detail = f"setMirrorRoute {name} removed"
        else:  # nothing of that name to remove
            return
        self.ctx.recorder.event("route", self.canary.name, 0, detail)
        order = {route.name: i for i, route in enumerate(self.spec.managed_routes or [])}
        in_order = sorted(self.mirror_routes, key=lambda n: order.get(n, len(order)))
        self.ctx.service.set_mirror_routes([self.mirror_routes[n] for n in in_order])

    def remove_managed_routes(self, why: str) -> None:
        """Managed routes are removed at the end of the rollout and on abort, all in one row
        (T8, T9; argo-rollouts ``RemoveManagedRoutes``)."""
        if not self.header_routed and not self.mirror_routes:
            return
        self.ctx.recorder.event("route", self.canary.name, 0, why)
        if self.header_routed:
            self.ctx.service.clear_header_route()
            self.header_routed = False
        if self.mirror_routes:
            self.ctx.service.set_mirror_routes([])
            self.mirror_routes = {}

    def stop_analysis(self) -> None:
        """An abort ends the background run too."""
        if self.background is not None:
            self.background.stop()

    # -- weighted (traffic router) ----------------------------------------------------------

    def route(self, weight: int) -> simpy.Event:
        if weight != self.weight:  # a weight row is a change of the routed weight
            self.ctx.recorder.event("weight", self.canary.name, weight, "router weight",
                                    weight=weight)
        self.weight = weight
        return self.ctx.service.set_weights(self.stable.version, self.canary.version, weight,
                                            split_by_user=self.by_user)

    def _counts(self, weight: int, stable_weight: int) -> tuple[int, int]:
        return traffic_routed_canary_counts(self.n, weight, self.spec.dynamic_stable_scale,
                                            stable_weight=stable_weight)

    def weighted_step(self, weight: int) -> Steps:
        """Grow what must grow, move traffic once it is available, then shrink the rest."""
        canary, stable = self._counts(weight, 100 - self.weight)
        if canary > self.canary.spec:
            self.canary.scale(canary, f"setWeight {weight}")
        if stable > self.stable.spec:
            self.stable.scale(stable, "dynamicStableScale: stable back up")
        yield from self.ctx.wait_until(
            lambda: self.canary.available >= canary and self.stable.available >= stable
        )
        if weight != self.weight:
            yield self.route(weight)
        canary, stable = self._counts(weight, 100 - weight)
        if canary < self.canary.spec:
            self.canary.scale(canary, f"setWeight {weight}")
        if stable < self.stable.spec:
            self.stable.scale(stable, "dynamicStableScale: traffic moved")

    # -- replica ratio (no router) ----------------------------------------------------------

    def replica_step(self, weight: int) -> Steps:
        """Controller passes toward Argo's whole-pod approximation of ``weight``."""
        self.ctx.recorder.event("weight", self.canary.name, weight, "by replica ratio",
                                weight=weight)
        self.weight = weight
        spec, n = self.spec, self.n
        surge, _ = resolve_fenceposts(spec.max_surge, spec.max_unavailable, n)
        target_canary, target_stable = approximate_weighted_counts(n, weight, surge)
        while True:
            canary, stable = basic_canary_replica_counts(
                n, weight, spec.max_surge, spec.max_unavailable,
                self.stable.spec, self.stable.available, self.canary.spec, self.canary.available,
            )
            # Argo reconciles the stable ReplicaSet first, then the canary (A9).
            self.stable.scale(stable, f"weight {weight}")
            self.canary.scale(canary, f"weight {weight}")
            if (self.canary.spec == target_canary and self.canary.available >= target_canary
                    and self.stable.spec == target_stable
                    and self.stable.status_replicas == target_stable):
                return
            yield from self.ctx.next_pass()

    def step(self, weight: int) -> Steps:
        """Run one ``setWeight`` step in the configured routing mode."""
        if self.weighted:
            yield from self.weighted_step(weight)
        else:
            yield from self.replica_step(weight)

    # -- the end ----------------------------------------------------------------------------

    def promote(self) -> Steps:
        """All steps done: the canary becomes stable; the old stable goes (A6, A12)."""
        ctx = self.ctx
        ctx.recorder.event("promote", self.canary.name, self.n, "all steps done")
        ctx.mark_promotion()
        if not self.weighted:
            yield from self.replica_step(100)
            ctx.service.primary = self.canary.version
            return
        self.canary.scale(self.n, "promote: canary to full size")
        yield from ctx.wait_until(lambda: self.canary.available >= self.n)
        yield self.route(100)
        self.remove_managed_routes("promoted: managed routes removed")
        ctx.service.primary = self.canary.version
        ctx.promoted()
        if self.background is not None:  # the rollout is complete: the run is terminated
            self.background.stop()
        if not self.spec.dynamic_stable_scale:
            yield ctx.env.timeout(self.spec.scale_down_delay_seconds)
        self.stable.scale(0, "promoted: old stable to 0")

    def abort(self, reason: str) -> Steps:
        """Traffic back to stable, stable back to full size, canary scaled down (A11, A13)."""
        ctx = self.ctx
        ctx.recorder.event("abort", self.canary.name, 0, reason)
        ctx.service.primary = self.stable.version
        if not self.weighted:
            yield from self.replica_step(0)
            return
        if self.spec.dynamic_stable_scale:
            yield from self._drain_to_stable()
            return
        yield self.route(0)
        if self.spec.abort_scale_down_delay_seconds > 0:  # 0: keep the canary up (Argo)
            yield ctx.env.timeout(self.spec.abort_scale_down_delay_seconds)
            self.canary.scale(0, "abort: canary to 0")

    def _drain_to_stable(self) -> Steps:
        """dynamicStableScale abort: traffic follows stable's availability back (A11).

        The canary keeps the pods its remaining weight needs; as stable pods become available,
        the weight steps down and the canary shrinks, freeing room for the next stable pod.
        """
        n = self.n
        self.stable.scale(n, "abort: stable back to full size")
        while self.weight > 0:
            needed, _ = self._counts(self.weight, 100 - self.weight)
            if self.canary.spec > needed:  # a step was still scaling up: give the room back
                self.canary.scale(needed, "abort: canary down to its current weight")
            stable_share = (100 * self.stable.available) // n
            weight = min(self.weight, 100 - stable_share)
            if weight < self.weight:
                yield self.route(weight)
                canary, _ = self._counts(weight, 100 - weight)
                self.canary.scale(canary, "abort: canary follows its weight down")
            else:
                yield from self.ctx.next_pass()
        self.canary.scale(0, "abort: canary to 0")


def roll_out(ctx: Rollout, spec: Canary) -> Generator[simpy.Event, Any, str]:
    """Run the steps with the health gate watching, then promote, or abort on a failed gate.

    A canary without steps is Flagger's, and runs Flagger's loop
    (:mod:`simdeploy.strategies.flagger`).
    """
    if spec.flagger is not None:
        from simdeploy.strategies import flagger

        return (yield from flagger.roll_out(ctx, spec))
    run = _CanaryRun(ctx, spec)
    if spec.progress_deadline_abort:
        ctx.abort_on_deadline(ctx.env.active_process)
    if run.weighted:  # the router's route to stable existed before the release
        ctx.service.set_weights(run.stable.version, run.canary.version, 0,
                                split_by_user=run.by_user, at_once=True)
    elif run.by_user:
        ctx.service.keep_user_versions()
    watch = None
    if spec.health_gate is not None:
        watch = HealthWatch(ctx, spec.health_gate, ctx.env.active_process)
    background = spec.argo_analysis
    start = 0 if background is None or background.starting_step is None \
        else background.starting_step
    try:
        for index, step in enumerate(spec.effective_steps()):
            if background is not None and index == start:
                run.start_background(background)
            if step.set_weight is not None:
                yield from run.step(step.set_weight)
            elif step.pause is not None and step.pause.duration is not None:
                yield from ctx.pause(step.pause.duration)
            elif step.analysis is not None:
                yield from run.inline(step.analysis, index)
            elif step.kayenta_stage is not None:
                yield from run.kayenta_stage(step.kayenta_stage, index)
            elif step.set_header_route is not None:
                run.header_route(step.set_header_route)
            elif step.set_mirror_route is not None:
                run.mirror_route(step.set_mirror_route)
        if background is not None and run.background is None:  # startingStep == len(steps)
            run.start_background(background)
        if watch is not None:
            watch.stop()
    except (simpy.Interrupt, _AnalysisAbortError) as stop:
        reason = stop.cause if isinstance(stop, simpy.Interrupt) else str(stop)
        run.stop_analysis()
        run.remove_managed_routes("abort: managed routes removed")
        if watch is not None:
            watch.stop()
        yield from run.abort(str(reason))
        return ctx.finish("aborted")
    yield from run.promote()
    return ctx.finish("completed")


class _AnalysisAbortError(Exception):
    """An inline analysis ended badly: the rollout aborts."""

