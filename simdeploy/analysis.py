"""A simple health gate: abort when the new version's error rate over a window is too high.

It plays the part of an Argo Rollouts AnalysisRun or a Flagger ``request-success-rate``
check, reduced to one rule: every ``interval``, look at the requests charged to the new
version in the last ``window``; with at least ``minRequests`` of them, a failed fraction above
``maxErrorRate`` fails the check, and a failed check aborts the rollout (Argo's default
``failureLimit`` 0, ``argo-rollouts analysis/analysis.go assessMetricStatus``; Flagger's
default ``threshold`` 1, ``fluxcd/flagger pkg/controller/scheduler.go``). Fewer requests give
no verdict, which is why a small canary share needs a longer window to catch a bad release.
A check passes when it saw a whole window since the gate started, with enough requests and a
low enough error rate; blue-green keeps blue until then (post-promotion analysis,
``argo-rollouts rollout/bluegreen.go scaleDownOldReplicaSetsForBlueGreen``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simdeploy.analysis_run import record_verdict

if TYPE_CHECKING:
    from simdeploy.scenario import HealthGate
    from simdeploy.strategies.context import Rollout

__all__ = ["HealthWatch"]


class HealthWatch:
    """Checks the gate periodically and interrupts the rollout process when it fails."""

    def __init__(self, ctx: Rollout, gate: HealthGate, target: simpy.Process,
                 lane: int | None = None) -> None:
        self.ctx = ctx
        self.gate = gate
        self.target = target
        if lane is None and getattr(ctx, "track", None) is not None:  # a track: its own lane
            lane = ctx.cluster.lane(ctx.new_version)  # type: ignore[attr-defined]
        self.lane = lane
        """Judge only one lane's requests (a track's pods of the new version: a pipeline
        stage's gate, or a track's own strategy's), and only those since the gate started;
        None: the new version's, over the whole window."""
        self.failed = False
        self.passed = ctx.env.event()
        """Fires at the first check that saw a full window with enough requests, all healthy."""
        self._started_s = ctx.env.now
        self._full_from_s = ctx.env.now
        """A full window for :attr:`passed` counts from here (the gate's start by default)."""
        self._active = True
        ctx.env.process(self._watch())

    def count_full_window_from(self, start_s: float) -> None:
        """Pass only after a whole window from ``start_s`` (a pipeline stage: from the end of
        its track's update, not from a window mostly before the new pods served)."""
        self._full_from_s = start_s

    def stop(self) -> None:
        """The rollout has moved past the analysed phase: the gate never failed."""
        self._active = False
        if not self.failed:
            record_verdict(self.ctx, "Successful")  # the worst outcome of all analyses counts

    def _watch(self) -> Generator[simpy.Event, Any, None]:
        env, gate = self.ctx.env, self.gate
        while True:
            yield env.timeout(gate.interval)
            if not self._active or not self.target.is_alive:
                return
            seen_s = gate.window  # a stage's gate looks no further back than the stage
            if self.lane is None:
                requests, failed = self.ctx.recorder.new_version_window(env.now - gate.window,
                                                                        env.now)
            else:
                seen_s = min(gate.window, env.now - self._started_s)
                requests, failed = self.ctx.recorder.lane_window(self.lane, env.now - seen_s,
                                                                 env.now)
            # the fraction, not failed > rate × requests: 0.29 × 100 is 28.999999999999996 in
            # floating point, which would fail a window of exactly 29 failures in 100
            if requests >= gate.min_requests and failed / requests > gate.max_error_rate:
                self.failed = True
                self.ctx.recorder.decide_abort()
                record_verdict(self.ctx, "Failed")
                self.ctx.recorder.event(
                    "analysis_failed", self.ctx.scenario.release.new.name, 0,
                    f"{failed}/{requests} failed in {seen_s:g}s > {gate.max_error_rate:g}",
                )
                self.target.interrupt("health gate failed")
                return
            full_window = env.now - self._full_from_s >= gate.window - 1e-9
            if full_window and requests >= gate.min_requests and not self.passed.triggered:
                self.passed.succeed()
