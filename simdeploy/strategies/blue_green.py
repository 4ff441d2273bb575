"""Blue-green, as Argo Rollouts runs it: green beside blue, one switch, blue kept for a while.

``argo-rollouts rollout/bluegreen.go``, ``rollout/service.go reconcileActiveService`` and
docs/features/bluegreen.md: the new (green) ReplicaSet is created beside the stable (blue) one,
which stays at full size; at ``previewReplicaCount`` first if set. When green is fully
available the rollout may pause (``autoPromotionSeconds``), green is scaled to full size, and
once it is saturated the active Service's selector switches to green — all traffic at once,
applied by the proxies after the propagation delay. Blue is kept ``scaleDownDelaySeconds``
(default 30) so that late traffic and an instant rollback still have somewhere to go, then
scaled to 0. With a health gate (post-promotion analysis), blue also stays until the gate has
passed a full window; a failure switches the Service back to blue and scales green down after
``abortScaleDownDelaySeconds`` (0: never, as in Argo).

Switched at an external load balancer (``externalLoadBalancer``), the selector change reaches
the traffic through an AWS target group instead of kube-proxy (:mod:`simdeploy.target_group`):
the LBC re-registers the active Service's targets, or the listener moves to green's target
group, a propagation delay later, and blue's targets drain for the deregistration delay. The
scale-down delay still counts from the selector change, so blue may die while the load
balancer still sends it requests (semantics.md X6, X15).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simdeploy.analysis import HealthWatch
from simdeploy.analysis_run import AnalysisRun, interrupt_on_bad_end, stops_rollout

if TYPE_CHECKING:
    from simdeploy.cluster import ReplicaSet
    from simdeploy.scenario import BlueGreen
    from simdeploy.strategies.context import Rollout

__all__ = ["roll_out"]


class _PrePromotionFailedError(Exception):
    """The pre-promotion analysis ended badly."""


def _prepare_green(ctx: Rollout, spec: BlueGreen, green: ReplicaSet,
                   preview: int) -> Generator[simpy.Event, Any, None]:
    """Green available, the pre-promotion analysis passed, the pause over, green at full size.

    argo-rollouts rollout/bluegreen.go: the switch waits for the pre-promotion run; a bad end
    aborts with blue still active (green never saw user traffic).
    """
    n = ctx.replicas
    yield from ctx.wait_until(lambda: green.available >= preview)
    if spec.pre_promotion_analysis is not None:
        pre = AnalysisRun(ctx, spec.pre_promotion_analysis, "pre-promotion analysis")
        try:
            phase = yield pre.done
        except simpy.Interrupt:
            pre.stop()
            raise
        if stops_rollout(phase, spec.pre_promotion_analysis):
            ctx.recorder.decide_abort()
            raise _PrePromotionFailedError(f"pre-promotion analysis {phase}")
    if spec.auto_promotion_seconds > 0:
        yield from ctx.pause(spec.auto_promotion_seconds)
    if preview < n:
        green.scale(n, "green to full size before promotion")
        yield from ctx.wait_until(lambda: green.available >= n)


def roll_out(ctx: Rollout, spec: BlueGreen) -> Generator[simpy.Event, Any, str]:
    """Bring green up beside blue, switch the Service, keep blue for the scale-down delay."""
    env, n = ctx.env, ctx.replicas
    blue = ctx.stable
    # The active Service has always selected blue's pod-template-hash.
    ctx.service.select((blue.version,), at_once=True)
    targets = ctx.service.target_groups if spec.external_load_balancer is not None else None
    if targets is not None:  # from now on the load balancer's target group routes
        targets.start(ctx, blue)
    green = ctx.cluster.replica_set(ctx.new_version)
    preview = min(spec.preview_replica_count or n, n)
    green.scale(preview, "green (preview)" if preview < n else "green")
    if spec.progress_deadline_abort:
        ctx.abort_on_deadline(env.active_process)
    try:
        yield from _prepare_green(ctx, spec, green, preview)
        if targets is not None and not targets.shared:
            # green's own target group, with the LBC's readiness gate: Ready once healthy (X7)
            gate = targets
            yield from ctx.wait_until(lambda: gate.gate_open(green))
    except (simpy.Interrupt, _PrePromotionFailedError) as stop:
        # blue never stopped serving: the abort only takes green away
        reason = stop.cause if isinstance(stop, simpy.Interrupt) else str(stop)
        ctx.recorder.event("abort", green.name, 0, str(reason))
        green.scale(0, "abort: scale green down")
        if targets is not None:
            targets.pods_deleted(green)
        return ctx.finish("aborted")
    # The scale-down delay counts from the selector change, not from the proxies applying it.
    ctx.recorder.event("promote", green.name, n, "green is promoted")
    ctx.recorder.event("switch", green.name, n, "active Service selector → green")
    ctx.recorder.event("weight", green.name, n, "selector switch", weight=100)
    if spec.dns is not None:  # the record moves now; each client follows with its cache
        ctx.service.switch_by_dns(green.version, ctx.dns_clients.switch_times(env.now))
    elif targets is not None:  # the LBC re-registers, or the listener moves, after propagation
        targets.switch_to(green)
    else:
        ctx.service.select((green.version,))
    ctx.service.primary = green.version
    ctx.promoted()
    watch = None
    if spec.health_gate is not None:
        watch = HealthWatch(ctx, spec.health_gate, env.active_process)
    post = None
    if spec.post_promotion_analysis is not None:
        post = AnalysisRun(ctx, spec.post_promotion_analysis, "post-promotion analysis")
        env.process(interrupt_on_bad_end(ctx, post, env.active_process))
    try:
        waits = [env.timeout(spec.scale_down_delay_seconds)]
        if watch is not None:
            waits.append(watch.passed)
        if post is not None:
            waits.append(post.done)
        yield env.all_of(waits)
    except simpy.Interrupt as interrupt:
        if post is not None:
            post.stop()
        if watch is not None:
            watch.stop()
        reason = interrupt.cause or "post-promotion gate failed"
        ctx.recorder.event("abort", green.name, 0, f"{reason}: switch back")
        ctx.recorder.event("weight", green.name, 0, "selector back to blue", weight=0)
        if spec.dns is not None:
            ctx.service.switch_by_dns(blue.version, ctx.dns_clients.switch_times(env.now))
        elif targets is not None:
            targets.switch_to(blue)
        else:
            ctx.service.select((blue.version,))
        ctx.service.primary = blue.version
        if spec.abort_scale_down_delay_seconds > 0:  # 0: keep green up for a look (Argo)
            yield env.timeout(spec.abort_scale_down_delay_seconds)
            green.scale(0, "abort: scale green down")
            if targets is not None:
                targets.pods_deleted(green)
        return ctx.finish("aborted")
    if watch is not None:
        watch.stop()
    blue.scale(0, "scale-down delay over: blue to 0")
    if targets is not None:  # blue dies whether or not the load balancer is done with it
        targets.pods_deleted(blue)
    return ctx.finish("completed")

