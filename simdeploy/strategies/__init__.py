"""Deployment strategies: each one a SimPy process that acts as its real controller would.

A strategy is a generator function ``roll_out(ctx, spec)`` that scales ReplicaSets and moves
traffic through the :class:`~simdeploy.strategies.context.Rollout` context, and returns
``"completed"`` or ``"aborted"``. It never reads the future: it waits for pod and ReplicaSet
changes (``ctx.next_pass()``), as a controller waits for watch events, and decides from
counts, as the real one does.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from simdeploy.strategies import blue_green, canary, pipeline, recreate, rolling
from simdeploy.strategies.context import Rollout

__all__ = ["REGISTRY", "Rollout", "roll_out"]

REGISTRY: dict[str, Callable[[Rollout, Any], Generator[simpy.Event, Any, str]]] = {
    "Recreate": recreate.roll_out,
    "RollingUpdate": rolling.roll_out,
    "BlueGreen": blue_green.roll_out,
    "Canary": canary.roll_out,
    "Pipeline": pipeline.roll_out,
}
"""Strategy ``type`` in the scenario → its ``roll_out`` generator function."""


def roll_out(ctx: Rollout, spec: Any) -> Generator[simpy.Event, Any, str]:
    """Start the strategy named by ``spec.type`` at the release time."""
    yield ctx.env.timeout(ctx.scenario.release.at)
    ctx.recorder.event("release", ctx.scenario.release.new.name, ctx.replicas, spec.type)
    ctx.last_progress_s = ctx.env.now
    ctx.cluster.subscribe(ctx.observe_progress)
    ctx.observe_progress()
    ctx.env.process(ctx.watch_deadline())
    outcome = yield from REGISTRY[spec.type](ctx, spec)
    return outcome
