"""Pods, ReplicaSets and the cluster they run on: the pod lifecycle, as the kubelet lives it.

A pod goes Pending (waiting for room on the cluster, then for the scheduler) → its container
starts (image pull + start) → the app warms up → the readiness probe notices it is up, at a
probe tick, not at once → Ready (it becomes a Service endpoint once the change has propagated)
→ Available ``minReadySeconds`` later (only then does the Deployment controller count it,
``kubernetes pkg/api/v1/pod/util.go IsPodAvailable``) → and finally Terminating.

Deletion starts two things at the same time (Kubernetes docs, pod-lifecycle.md "Termination of
Pods"): the endpoint is taken out of load balancing, which every proxy applies only after an
endpoint-propagation delay; and the kubelet runs the ``preStop`` hook, sends SIGTERM (the app
stops accepting connections and drains what it has), and sends SIGKILL when
``terminationGracePeriodSeconds`` has passed since the deletion. A preStop hook that overruns
the grace period is cut off at it, and SIGTERM then still gets 2 s before SIGKILL. Requests
the proxies still send to a pod that no longer accepts connections fail; requests cut by
SIGKILL fail. A terminating pod keeps its slot on the cluster until it exits, but the
controllers stop counting it at once.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import simpy

from simdeploy.distributions import Sampler

if TYPE_CHECKING:
    from simdeploy.records import Recorder
    from simdeploy.routing import Service
    from simdeploy.scenario import DeploymentSpec, PodSpec, VersionSpec
    from simdeploy.traffic import Workload

__all__ = ["Cluster", "Pod", "ReplicaSet", "ready_offset"]

MIN_TERM_TO_KILL_S = 2.0
"""SIGTERM always gets at least 2 s before SIGKILL, even when preStop used up the grace period
(``kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer``,
``minimumGracePeriodInSeconds``)."""


def ready_offset(warmup_s: float, initial_delay_s: float, period_s: float,
                 success_threshold: int) -> float:
    """Seconds from container start until the readiness probe has seen the app up.

    Probes run at ``initialDelaySeconds + k * periodSeconds`` after the container starts;
    the first one at or after the app is up succeeds, and ``successThreshold`` consecutive
    successes make the pod Ready.
    """
    late = warmup_s - initial_delay_s
    ticks = max(0, math.ceil(late / period_s - 1e-12))
    return initial_delay_s + (ticks + success_threshold - 1) * period_s


class Pod:
    """One pod: its lifecycle flags, and the requests it holds (queue and in-flight)."""

    __slots__ = (
        "accepting",
        "available",
        "busy",
        "created_at",
        "deleted_at",
        "draining",
        "epoch",
        "gone",
        "healthy",
        "in_view",
        "inflight",
        "name",
        "queue",
        "ready",
        "ready_at",
        "replica_set",
        "restarts",
        "scheduled",
        "started",
        "started_at",
        "version",
        "wanted_in_view",
    )

    def __init__(self, name: str, replica_set: ReplicaSet, now: float) -> None:
        self.name = name
        self.replica_set = replica_set
        self.version = replica_set.version
        self.created_at = now
        self.scheduled = False
        self.started = False
        self.ready = False
        self.ready_at = math.inf
        self.available = False
        self.deleted_at: float | None = None
        self.gone = False
        self.started_at = math.inf
        self.accepting = False
        """Whether the app takes new connections (up, and not yet sent SIGTERM)."""
        self.healthy = True
        """False once the app has gone bad: it answers every request with a 5xx."""
        self.draining = False
        self.epoch = 0
        """Container starts so far; callbacks of an earlier container are ignored."""
        self.restarts = 0
        self.in_view = False
        self.wanted_in_view = False
        self.busy = 0
        self.queue: deque = deque()
        self.inflight: dict[int, tuple] = {}

    def deletion_rank(self) -> tuple:
        """Sort key: lowest is deleted first (``controller_utils.go ActivePodsWithRanks.Less``).

        Unscheduled before scheduled, not started before running, not-ready before ready,
        the shortest time Ready first, then the newest.
        """
        return (self.scheduled, self.started, self.ready, -self.ready_at, -self.created_at)


class ReplicaSet:
    """A ReplicaSet: desired replicas (spec) and the pods it owns, of one version."""

    def __init__(self, cluster: Cluster, version: int, revision: int) -> None:
        self.cluster = cluster
        self.version = version
        self.revision = revision
        self.spec = 0
        self.pods: list[Pod] = []
        self._serial = 0

    @property
    def name(self) -> str:
        """The version label this ReplicaSet runs."""
        return self.cluster.version_names[self.version]

    @property
    def status_replicas(self) -> int:
        """Pods that exist and are not terminating (``controller_utils.go IsPodActive``)."""
        return sum(1 for p in self.pods if p.deleted_at is None)

    @property
    def ready(self) -> int:
        """Ready pods not being deleted."""
        return sum(1 for p in self.pods if p.ready and p.deleted_at is None)

    @property
    def available(self) -> int:
        """Pods Ready for at least minReadySeconds, not being deleted."""
        return sum(1 for p in self.pods if p.available and p.deleted_at is None)

    def scale(self, replicas: int, reason: str = "") -> None:
        """Set spec.replicas and let the ReplicaSet controller create or delete pods."""
        if replicas < 0:
            raise ValueError("replicas must be >= 0")
        if replicas == self.spec:
            return
        self.spec = replicas
        self.cluster.recorder.event("scale", self.name, replicas, reason)
        active = [p for p in self.pods if p.deleted_at is None]
        surplus = len(active) - replicas
        if surplus > 0:
            for pod in sorted(active, key=Pod.deletion_rank)[:surplus]:
                self.cluster.delete_pod(pod)
        for _ in range(-surplus):
            self.cluster.create_pod(self)
        self.cluster.notify()

    def new_pod_name(self) -> str:
        """A unique pod name within this ReplicaSet."""
        self._serial += 1
        return f"{self.name}-r{self.revision}-{self._serial}"


class Cluster:
    """All pods, the room they need, and their lifecycle timers."""

    def __init__(
        self,
        env: simpy.Environment,
        pod_spec: PodSpec,
        deployment: DeploymentSpec,
        versions: list[VersionSpec],
        capacity_pods: int | None,
        service: Service,
        recorder: Recorder,
        rng_pods,
    ) -> None:
        self.env = env
        self.pod_spec = pod_spec
        self.deployment = deployment
        self.versions = versions
        self.version_names = [v.name for v in versions]
        self.capacity_pods = capacity_pods
        self.service = service
        self.recorder = recorder
        self.workload: Workload | None = None
        self.replica_sets: list[ReplicaSet] = []
        self.pending: deque[Pod] = deque()
        self.occupying = 0
        self.pod_count = 0
        self._dirty = False
        self._waiters: list[simpy.Event] = []
        self._listeners: list[Callable[[], None]] = []
        self._scheduling = Sampler(pod_spec.scheduling_delay, rng_pods, batch=256)
        self._container_start = [Sampler(v.container_start, rng_pods, batch=256) for v in versions]
        self._warmup = [Sampler(v.warmup, rng_pods, batch=256) for v in versions]
        self._unhealthy_after = [
            None if v.unhealthy_after is None else Sampler(v.unhealthy_after, rng_pods, batch=64)
            for v in versions
        ]

    # -- ReplicaSets and notifications ------------------------------------------------------

    def replica_set(self, version: int) -> ReplicaSet:
        """Create an empty ReplicaSet for ``version`` with the next revision number."""
        revision = 1 + max((rs.revision for rs in self.replica_sets), default=0)
        rs = ReplicaSet(self, version, revision)
        self.replica_sets.append(rs)
        return rs

    def changed(self) -> simpy.Event:
        """An event that fires at the next change not yet :meth:`observed` (controller watch).

        Like a controller's work queue: changes made while a pass runs (its own scaling
        included) requeue the controller, and several changes before a pass collapse into one.
        """
        event = self.env.event()
        if self._dirty:
            event.succeed()
        else:
            self._waiters.append(event)
        return event

    def observed(self) -> None:
        """A controller pass starts: it sees every change made so far."""
        self._dirty = False

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every pod or ReplicaSet change."""
        self._listeners.append(listener)

    def notify(self) -> None:
        """Record a change, wake the waiting controller and tell the listeners."""
        self._dirty = True
        waiters, self._waiters = self._waiters, []
        for event in waiters:
            event.succeed()
        for listener in self._listeners:
            listener()

    # -- creation -----------------------------------------------------------------------------

    def start_steady(self, rs: ReplicaSet, replicas: int) -> None:
        """Put ``replicas`` pods of ``rs`` in place at time 0: running, Ready, in the view."""
        rs.spec = replicas
        for _ in range(replicas):
            pod = self._add_pod(rs)
            pod.scheduled = pod.started = pod.ready = pod.available = pod.accepting = True
            pod.started_at = pod.ready_at = self.env.now - 3600.0
            self.occupying += 1
            pod.in_view = pod.wanted_in_view = True
            self.service.add_endpoint(pod)
            unhealthy_after = self._unhealthy_after[pod.version]
            if unhealthy_after is not None:
                self._at(unhealthy_after.next(), self._on_unhealthy, pod)

    def _add_pod(self, rs: ReplicaSet) -> Pod:
        pod = Pod(rs.new_pod_name(), rs, self.env.now)
        rs.pods.append(pod)
        self.pod_count += 1
        self.recorder.pod_count(self.env.now, self.pod_count)
        return pod

    def create_pod(self, rs: ReplicaSet) -> Pod:
        """A new Pending pod; it starts once the cluster has room for it."""
        pod = self._add_pod(rs)
        self.pending.append(pod)
        self._schedule_pending()
        return pod

    def _has_room(self) -> bool:
        return self.capacity_pods is None or self.occupying < self.capacity_pods

    def _schedule_pending(self) -> None:
        while self.pending and self._has_room():
            pod = self.pending.popleft()
            self.occupying += 1
            self.recorder.scheduled_count(self.env.now, self.occupying)
            pod.scheduled = True
            delay = self._scheduling.next() + self._container_start[pod.version].next()
            self._at(delay, self._on_started, pod)

    def _at(self, delay: float, action: Callable[[Pod, int], None], pod: Pod) -> None:
        """Run ``action(pod, epoch)`` after ``delay``; the epoch lets it see a restart."""
        epoch = pod.epoch
        self.env.timeout(delay).callbacks.append(lambda _e: action(pod, epoch))

    def _stale(self, pod: Pod, epoch: int) -> bool:
        return pod.deleted_at is not None or pod.epoch != epoch

    # -- start-up and readiness ---------------------------------------------------------------

    def _on_started(self, pod: Pod, epoch: int) -> None:
        """The container runs: the app warms up, the probes start counting."""
        if self._stale(pod, epoch):
            return
        pod.started = True
        pod.started_at = self.env.now
        self.notify()
        warmup = self._warmup[pod.version].next()
        self._at(warmup, self._on_app_up, pod)
        if not self.versions[pod.version].becomes_ready:
            return
        probe = self.pod_spec.readiness_probe
        offset = ready_offset(warmup, probe.initial_delay_seconds, probe.period_seconds,
                              probe.success_threshold)
        self._at(offset, self._on_ready, pod)

    def _on_app_up(self, pod: Pod, epoch: int) -> None:
        if not self._stale(pod, epoch):
            pod.accepting = True

    def _on_ready(self, pod: Pod, epoch: int) -> None:
        if self._stale(pod, epoch):
            return
        pod.ready = True
        pod.ready_at = self.env.now
        self._want_in_view(pod, True)
        min_ready = self.deployment.min_ready_seconds
        if min_ready > 0:
            self._at(min_ready, self._on_available, pod)
        else:
            pod.available = True
        unhealthy_after = self._unhealthy_after[pod.version]
        if unhealthy_after is not None:
            self._at(unhealthy_after.next(), self._on_unhealthy, pod)
        self.notify()

    def _on_available(self, pod: Pod, epoch: int) -> None:
        if not self._stale(pod, epoch) and pod.ready:
            pod.available = True
            self.notify()

    def _want_in_view(self, pod: Pod, wanted: bool) -> None:
        """Ask the proxies to add or drop the endpoint; they apply the latest wish, late."""
        pod.wanted_in_view = wanted
        self.service.propagate(lambda: self._apply_view(pod))

    def _apply_view(self, pod: Pod) -> None:
        if pod.wanted_in_view and not pod.in_view and not pod.gone:
            pod.in_view = True
            self.service.add_endpoint(pod)
        elif not pod.wanted_in_view and pod.in_view:
            pod.in_view = False
            self.service.remove_endpoint(pod)

    # -- an app that goes bad: readiness and liveness probes ----------------------------------

    def _probe_failure_noticed(self, pod: Pod, initial_delay_s: float, period_s: float,
                               failure_threshold: int) -> float:
        """Delay until ``failure_threshold`` consecutive probe ticks have failed, from now."""
        base = pod.started_at + initial_delay_s
        now = self.env.now
        first = base + max(0, math.ceil((now - base) / period_s - 1e-12)) * period_s
        return first + (failure_threshold - 1) * period_s - now

    def _on_unhealthy(self, pod: Pod, epoch: int) -> None:
        """The app answers 5xx from now on; the probes will notice at their ticks."""
        if self._stale(pod, epoch):
            return
        pod.healthy = False
        probe = self.pod_spec.readiness_probe
        self._at(self._probe_failure_noticed(pod, probe.initial_delay_seconds,
                                             probe.period_seconds, probe.failure_threshold),
                 self._on_unready, pod)
        liveness = self.pod_spec.liveness_probe
        if liveness is not None:
            self._at(self._probe_failure_noticed(pod, liveness.initial_delay_seconds,
                                                 liveness.period_seconds,
                                                 liveness.failure_threshold),
                     self._restart, pod)

    def _on_unready(self, pod: Pod, epoch: int) -> None:
        """Readiness failed ``failureThreshold`` times: out of the endpoints, not available."""
        if self._stale(pod, epoch) or not pod.ready:
            return
        pod.ready = False
        pod.available = False
        self._want_in_view(pod, False)
        self.notify()

    def _restart(self, pod: Pod, epoch: int) -> None:
        """Liveness failed: the kubelet kills the container and starts it again, with back-off.

        The first restart is immediate, then 10 s doubling up to 300 s (the kubelet's
        CrashLoopBackOff; Kubernetes pod-lifecycle.md "Container restart policy").
        """
        if self._stale(pod, epoch):
            return
        self._on_unready(pod, epoch)
        pod.epoch += 1
        pod.restarts += 1
        pod.accepting = False
        pod.healthy = True
        pod.started = False
        if self.workload is not None:
            self.workload.kill(pod)
        backoff = 0.0 if pod.restarts == 1 else min(10.0 * 2 ** (pod.restarts - 2), 300.0)
        self.recorder.event("restart", pod.replica_set.name, pod.restarts, pod.name)
        self._at(backoff, self._on_started, pod)
        self.notify()

    # -- deletion -----------------------------------------------------------------------------

    def delete_pod(self, pod: Pod) -> None:
        """Start the termination race: endpoint removal and preStop → SIGTERM → SIGKILL."""
        if pod.deleted_at is not None:
            return
        pod.deleted_at = self.env.now
        pod.ready = False
        pod.available = False
        if not pod.scheduled:
            self.pending.remove(pod)
            self._exit(pod)
            return
        self._want_in_view(pod, False)
        if not pod.started:
            self._exit(pod)
            return
        grace = self.pod_spec.termination_grace_period_seconds
        term_at = min(self.pod_spec.pre_stop_seconds, grace)
        kill_at = max(grace, term_at + MIN_TERM_TO_KILL_S)
        self.env.timeout(term_at).callbacks.append(lambda _e: self._sigterm(pod))
        self.env.timeout(kill_at).callbacks.append(lambda _e: self._sigkill(pod))

    def _sigterm(self, pod: Pod) -> None:
        if pod.gone:
            return
        pod.accepting = False
        pod.draining = True
        if pod.busy == 0 and not pod.queue:
            self._exit(pod)

    def _sigkill(self, pod: Pod) -> None:
        if pod.gone:
            return
        pod.accepting = False
        if self.workload is not None:
            self.workload.kill(pod)
        self._exit(pod)

    def drained(self, pod: Pod) -> None:
        """Called by the workload when a pod has finished its last request."""
        if pod.draining and not pod.gone:
            self._exit(pod)

    def _exit(self, pod: Pod) -> None:
        pod.gone = True
        pod.accepting = False
        if pod.scheduled:
            self.occupying -= 1
            self.recorder.scheduled_count(self.env.now, self.occupying)
        pod.replica_set.pods.remove(pod)
        self.pod_count -= 1
        self.recorder.pod_count(self.env.now, self.pod_count)
        self._schedule_pending()
        self.notify()
