"""The rollout context: what a strategy process works with, and what it reports.

A rollout that makes no progress for ``progressDeadlineSeconds`` is reported ``stalled``: an
event is recorded and the controller keeps trying, as Kubernetes does (deployment.md
"Failed Deployment"; ``kubernetes pkg/controller/deployment/progress.go`` and
``deployment_util.go DeploymentProgressing, DeploymentTimedOut``). Time spent in a timed pause
does not count toward the deadline (Kubernetes sets the paused condition to Unknown, and Argo
Rollouts does the same for its pauses).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

if TYPE_CHECKING:
    from simdeploy.cluster import Cluster, ReplicaSet
    from simdeploy.dns_switch import DnsClients
    from simdeploy.measurements import Provider
    from simdeploy.records import Recorder
    from simdeploy.routing import Service
    from simdeploy.scenario import Scenario
    from simdeploy.tracks import TrackDeployment

__all__ = ["Rollout"]


@dataclass
class Rollout:
    """What a strategy process works with, and what it reports."""

    env: simpy.Environment
    scenario: Scenario
    cluster: Cluster
    service: Service
    recorder: Recorder
    stable: ReplicaSet
    """The ReplicaSet running the current version when the release starts."""
    new_version: int = 1
    provider: Provider | None = None
    """Answers analysis queries (:mod:`simdeploy.measurements`)."""
    dns_clients: DnsClients | None = None
    """Every user's DNS cache, for a blue-green switched by DNS."""
    tracks: dict[str, TrackDeployment] | None = None
    """The scenario's tracks, for a pipeline over them (None: one Deployment)."""
    track: str | None = None
    """The track this context updates (a pipeline's stage); None: the scenario's Deployment."""
    track_replicas: int | None = None
    """The track's spec.replicas (None: ``deployment.replicas``)."""
    undo_to: ReplicaSet | None = None
    """A rollback: the existing ReplicaSet to scale back up instead of creating a new one."""
    outcome: str | None = None
    finished_at: float | None = None
    deadline_exceeded: bool = False
    """The Progressing condition is false now (ProgressDeadlineExceeded)."""
    deadline_exceeded_ever: bool = False
    paused: bool = False
    watching_deadline: bool = True
    last_progress_s: float = 0.0
    on_deadline: list[Callable[[], None]] = field(default_factory=list)
    """Called when the progress deadline is exceeded (Argo's ``progressDeadlineAbort``, an
    undo on ``ProgressDeadlineExceeded``)."""
    _progress_counts: tuple[int, int, int, int] = field(default=(0, 0, 0, 0))
    _wake: simpy.Event | None = None

    @property
    def replicas(self) -> int:
        """The Deployment's spec.replicas (the track's, in a pipeline's stage)."""
        if self.track_replicas is not None:
            return self.track_replicas
        return self.scenario.deployment.replicas

    def next_pass(self) -> Generator[simpy.Event, Any, None]:
        """Wait for a change the controller has not seen, then its sync delay."""
        yield self.cluster.changed()
        yield self.env.timeout(self.scenario.deployment.controller_sync_delay)
        self.cluster.observed()

    def wait_until(self, condition: Callable[[], bool]) -> Generator[simpy.Event, Any, None]:
        """Controller passes until ``condition()`` holds."""
        while not condition():
            yield from self.next_pass()

    def pause(self, seconds: float) -> Generator[simpy.Event, Any, None]:
        """A timed pause; it does not count toward the progress deadline."""
        self.recorder.event("pause", self.scenario.release.new.name, 0, f"{seconds:g}s")
        self.paused = True
        try:
            yield self.env.timeout(seconds)
        finally:
            self.paused = False
            self.touch_progress()

    # -- progress deadline ------------------------------------------------------------------

    def touch_progress(self) -> None:
        """Progress was made now (or a pause ended): the deadline starts again."""
        self.last_progress_s = self.env.now
        self.deadline_exceeded = False  # the Progressing condition turns true again
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def observe_progress(self) -> None:
        """Cluster listener: progress is any rise in updated/ready/available or fall in old.

        It runs after every pod change, so it reads the ReplicaSets' status counts, which the
        cluster keeps up to date (O(ReplicaSets), never a pass over the pods: that made a
        rollout O(replicas²), issue 6).
        """
        if self.outcome is not None:
            return
        updated = ready = available = old = 0
        for rs in self.cluster.replica_sets:
            if rs.version == self.new_version:
                updated += rs.status_replicas
            else:
                old += rs.status_replicas
            ready += rs.ready
            available += rs.available
        u0, o0, r0, a0 = self._progress_counts
        self._progress_counts = (updated, old, ready, available)
        if updated > u0 or old < o0 or ready > r0 or available > a0:
            self.touch_progress()

    def watch_deadline(self) -> Generator[simpy.Event, Any, None]:
        """Report ``progress_deadline_exceeded`` when no progress came for the deadline."""
        deadline = self.scenario.deployment.progress_deadline_seconds
        while self.outcome is None and self.watching_deadline:
            due = self.last_progress_s + deadline
            if not self.paused and self.env.now <= due:
                yield self.env.timeout(due - self.env.now + 1e-6)
                continue
            if not self.paused and not self.deadline_exceeded:
                self.deadline_exceeded = self.deadline_exceeded_ever = True
                self.recorder.event("progress_deadline_exceeded", self.scenario.release.new.name,
                                    0, f"no progress for {deadline:g}s")
                for listener in self.on_deadline:
                    listener()
            self._wake = self.env.event()  # paused, or past the deadline: wait for progress
            yield self._wake
            self._wake = None

    def abort_on_deadline(self, process: simpy.Process) -> None:
        """Interrupt ``process`` (the rollout) when the progress deadline is exceeded."""
        def listener() -> None:
            if process.is_alive and self.outcome is None:
                self.recorder.decide_abort()
                process.interrupt("progress deadline exceeded")

        self.on_deadline.append(listener)

    def promoted(self) -> None:
        """The new version is fully promoted: what remains is clean-up, not progress."""
        self.mark_promotion()
        self.watching_deadline = False
        self.touch_progress()

    def mark_promotion(self) -> None:
        """The controller decides now that the new version goes to every user: count who had
        it before (``users_exposed_before_promotion``, once per run). In a pipeline only the
        production track's own rollout promotes (an undo never does)."""
        if self.track not in (None, self.scenario.production_track) or self.new_version != 1:
            return
        if self.recorder.exposed_at_promotion is None:
            self.recorder.exposed_at_promotion = sum(self.recorder.user_exposed_new)

    def finish(self, outcome: str) -> str:
        """Record the end of the rollout (of a track's update: ``track_<outcome>``, the track
        in ``detail``, so that the run's own outcome event stays the pipeline's)."""
        self.outcome = outcome
        self.finished_at = self.env.now
        if self.track is None:
            self.recorder.event(outcome, self.scenario.release.new.name, 0, "")
        else:
            self.recorder.event(f"track_{outcome}", self.version_name, 0, self.track)
        return outcome

    @property
    def version_name(self) -> str:
        """The label of the version this context rolls out."""
        release = self.scenario.release
        return release.new.name if self.new_version == 1 else release.current.name
