"""RollingUpdate: the Kubernetes deployment controller's own algorithm, pass by pass.

Each controller pass (``kubernetes pkg/controller/deployment/rolling.go rolloutRolling``)
first gets or creates the new ReplicaSet (created already at the size
``NewRSNewReplicas`` allows), then tries to scale the new ReplicaSet up
(``reconcileNewReplicaSet``); if that changed anything the pass ends. Otherwise it tries to
scale old ReplicaSets down (``reconcileOldReplicaSets``: unhealthy pods first, and a budget
that the new ReplicaSet's unavailable pods use up). A pass moves one side only. Passes are
triggered by pod and ReplicaSet changes, after the controller's sync delay. The arithmetic
lives in :mod:`simdeploy.rules.kubernetes`.

``kubectl rollout undo`` during the rollout puts the previous template back, so the ReplicaSet
of the current version becomes the "new" one again and the release's ReplicaSet becomes old
(deployment.md "Rolling Back a Deployment"; ``rolling.go`` ``reconcileOldReplicaSets``
comment, case 1). No new ReplicaSet is created. Kubernetes never undoes by itself (a
``ProgressDeadlineExceeded`` condition only reports); someone does it: at a time
(``undoAfter``), when a pipeline's ``kubectl rollout status`` fails on the deadline
(``undoOnProgressDeadline``), or when monitoring sees the new version fail (``healthGate``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simdeploy.analysis import HealthWatch
from simdeploy.rules.kubernetes import new_rs_new_replicas, plan_old_scale_down

if TYPE_CHECKING:

    from simdeploy.cluster import ReplicaSet
    from simdeploy.scenario import RollingUpdate
    from simdeploy.strategies.context import Rollout

__all__ = ["roll_out"]


def _complete(replicas: int, new: ReplicaSet, all_rs: list[ReplicaSet]) -> bool:
    """``deployment_util.go DeploymentComplete``: updated, total and available all at spec."""
    return (
        new.status_replicas == replicas
        and sum(rs.status_replicas for rs in all_rs) == replicas
        and sum(rs.available for rs in all_rs) == replicas
    )


def roll_out(ctx: Rollout, spec: RollingUpdate) -> Generator[simpy.Event, Any, str]:
    """Reconcile passes until the Deployment is complete (or undone and complete again)."""
    env = ctx.env
    n = ctx.replicas
    cluster = ctx.cluster
    stable = ctx.stable
    undo_at = None if spec.undo_after is None else env.now + spec.undo_after
    new: ReplicaSet | None = ctx.undo_to  # a pipeline's rollback scales the old one back up
    undone = False
    why = "kubectl rollout undo"
    watch = None
    if spec.undo_on_progress_deadline:
        ctx.abort_on_deadline(env.active_process)
    if spec.health_gate is not None:
        watch = HealthWatch(ctx, spec.health_gate, env.active_process)
    yield env.timeout(ctx.scenario.deployment.controller_sync_delay)
    cluster.observed()
    while True:
        if undo_at is not None and not undone and env.now >= undo_at:
            undone = True
            if watch is not None:
                watch.stop()
            ctx.recorder.decide_abort()
            ctx.recorder.event("undo", stable.name, stable.spec, why)
            new = stable
            ctx.touch_progress()
        all_rs = cluster.replica_sets
        if new is None:
            new = cluster.replica_set(ctx.new_version)
            size = new_rs_new_replicas(n, spec.max_surge, 0, sum(rs.spec for rs in all_rs))
            new.scale(size, "new ReplicaSet created")
            changed = False  # creating the new ReplicaSet does not end the pass
        else:
            changed = _reconcile_new(n, spec, new, all_rs)
        if not changed:
            old = [rs for rs in all_rs if rs is not new]
            targets = plan_old_scale_down(
                n, spec.max_surge, spec.max_unavailable, new.spec, new.available,
                [(rs.spec, rs.available) for rs in old],
            )
            for rs, target in zip(old, targets):
                if target != rs.spec:
                    rs.scale(target, "scale down old")
                    changed = True
        if not changed and _complete(n, new, all_rs):
            if watch is not None:
                watch.stop()
            ctx.service.primary = new.version
            if not undone:  # no promotion step: the update's end gives it to everyone
                ctx.mark_promotion()
            return ctx.finish("aborted" if undone else "completed")
        wake = [cluster.changed()]
        if undo_at is not None and not undone:
            wake.append(env.timeout(max(0.0, undo_at - env.now)))
        try:
            yield env.any_of(wake)
            yield env.timeout(ctx.scenario.deployment.controller_sync_delay)
        except simpy.Interrupt as interrupt:  # the gate failed or the deadline passed
            if not undone:
                undo_at = env.now  # the next pass undoes
                why = f"kubectl rollout undo: {interrupt.cause}"
        cluster.observed()


def _reconcile_new(n: int, spec: RollingUpdate, new: ReplicaSet, all_rs: list[ReplicaSet]) -> bool:
    """``rolling.go reconcileNewReplicaSet``; True when it scaled the new ReplicaSet."""
    if new.spec == n:
        return False
    if new.spec > n:
        new.scale(n, "scale new down to replicas")
        return True
    target = new_rs_new_replicas(n, spec.max_surge, new.spec, sum(rs.spec for rs in all_rs))
    if target == new.spec:
        return False
    new.scale(target, "scale new up")
    return True
