"""Recreate: every old pod is gone before any new pod is created.

Kubernetes ``pkg/controller/deployment/recreate.go rolloutRecreate``: scale every active old
ReplicaSet to 0 in one step; wait while any old pod still runs — Terminating pods included
(``oldPodsRunning``), so the whole grace period of the slowest pod is waited out; only then
create the new ReplicaSet at full size. The gap is downtime by design.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import simpy

    from simdeploy.scenario import Recreate
    from simdeploy.strategies.context import Rollout

__all__ = ["roll_out"]


def roll_out(ctx: Rollout, spec: Recreate) -> Generator[simpy.Event, Any, str]:
    """Scale old to 0, wait until its pods have exited, then create all new pods."""
    del spec
    yield ctx.env.timeout(ctx.scenario.deployment.controller_sync_delay)
    old = ctx.stable
    old.scale(0, "recreate: scale old to 0")
    yield from ctx.wait_until(lambda: not old.pods)
    new = ctx.cluster.replica_set(ctx.new_version)
    new.scale(ctx.replicas, "recreate: old pods gone")
    ctx.mark_promotion()  # every user gets the new version from its first pod on
    ctx.service.primary = ctx.new_version
    yield from ctx.wait_until(lambda: new.available >= ctx.replicas)
    return ctx.finish("completed")
