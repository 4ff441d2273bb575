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

Every cost here is per pod change, not per pod: runs must scale linearly in replicas (a
Deployment of 10,000 pods is rare but real). A ReplicaSet keeps its status counts
(``status.replicas``, ``readyReplicas``, ``availableReplicas``) up to date as its pods change,
the way the ReplicaSet controller's ``calculateStatus`` reports them (``kubernetes
pkg/controller/replicaset/replica_set_utils.go``), rather than recounting its pods whenever a
controller looks; the counts change only in this module, the one writer of a pod's
``ready``, ``available`` and ``deleted_at``. A scale-down picks its victims from a heap kept in
deletion-rank order instead of sorting every pod, and removing a pod from its ReplicaSet or
from the pending queue does not search a list.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import simpy
from simpy.events import Timeout

from simdeploy.distributions import Sampler

if TYPE_CHECKING:
    from simdeploy.records import Recorder
    from simdeploy.routing import Service
    from simdeploy.scenario import DeploymentSpec, PodSpec, VersionSpec
    from simdeploy.traffic import Workload

__all__ = ["Cluster", "Pod", "ReplicaSet", "WorkQueue", "ready_offset"]

MIN_TERM_TO_KILL_S = 2.0
"""SIGTERM always gets at least 2 s before SIGKILL, even when preStop used up the grace period
(``kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer``,
``minimumGracePeriodInSeconds``)."""


def _call_at(event: Timeout) -> None:
    """Timeout callback of :meth:`Cluster._at`: the value is (action, pod, epoch)."""
    action, pod, epoch = event._value
    action(pod, epoch)


def _call_with(event: Timeout) -> None:
    """Timeout callback: the value is (function, argument)."""
    function, argument = event._value
    function(argument)


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
        "lane",
        "name",
        "queue",
        "rank_stamp",
        "ready",
        "ready_at",
        "replica_set",
        "restarts",
        "scheduled",
        "serial",
        "started",
        "started_at",
        "version",
        "wanted_in_view",
    )

    def __init__(self, name: str, replica_set: ReplicaSet, now: float, serial: int) -> None:
        self.name = name
        self.replica_set = replica_set
        self.serial = serial
        """Creation order within the ReplicaSet (ties of :meth:`deletion_rank` go by it)."""
        self.rank_stamp = 0
        """Bumped when the pod gets a new deletion-order heap entry; older ones are stale."""
        self.version = replica_set.version
        self.lane = replica_set.lane
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
    """A ReplicaSet: desired replicas (spec), the pods it owns, of one version, and its status.

    The status counts are kept by :class:`Cluster` as pod flags change, so reading them is
    O(1) however many pods there are; ``pods`` is an insertion-ordered set (a dict with None
    values): iteration is in creation order and removal does not search.
    """

    def __init__(self, cluster: Cluster, version: int, revision: int,
                 service: Service | None = None, track: str | None = None,
                 lane: int | None = None) -> None:
        self.cluster = cluster
        self.version = version
        self.revision = revision
        self.lane = version if lane is None else lane
        """Where its pods' requests count for health gates (:meth:`simdeploy.records.Recorder.
        lane_window`): the version, or with tracks the (track, version) pair."""
        self.service = cluster.service if service is None else service
        """The Service whose endpoints the pods become (a track's own ClusterIP Service)."""
        self.track = track
        """The Deployment (track) this ReplicaSet belongs to; None: the scenario's only one."""
        self.spec = 0
        self.pods: dict[Pod, None] = {}
        """The pods that exist (Terminating included), oldest first."""
        self._serial = 0
        self._active = 0
        self._unscheduled = 0
        self._ready = 0
        self._available = 0
        self._ranks: list[tuple[tuple, int, int, Pod]] = []
        """Heap of (deletion rank, serial, stamp, pod), the rank a lower bound of the pod's;
        entries whose stamp is no longer the pod's, or whose pod is being deleted, are stale."""

    @property
    def name(self) -> str:
        """The version label this ReplicaSet runs (after its track's name, if any)."""
        name = self.cluster.version_names[self.version]
        return name if self.track is None else f"{self.track}-{name}"

    @property
    def status_replicas(self) -> int:
        """Pods that exist and are not terminating (``controller_utils.go IsPodActive``)."""
        return self._active

    @property
    def ready(self) -> int:
        """Ready pods not being deleted."""
        return self._ready

    @property
    def available(self) -> int:
        """Pods Ready for at least minReadySeconds, not being deleted."""
        return self._available

    def counts(self) -> tuple[int, int, int, int, int]:
        """(pods, Pending, Ready, available, Terminating) now, without a pass over the pods.

        Pods include Pending and Terminating ones; Ready and available count live pods only.
        """
        pods = len(self.pods)
        return (pods, self._unscheduled, self._ready, self._available, pods - self._active)

    def scale(self, replicas: int, reason: str = "") -> None:
        """Set spec.replicas and let the ReplicaSet controller create or delete pods."""
        if replicas < 0:
            raise ValueError("replicas must be >= 0")
        if replicas == self.spec:
            return
        self.spec = replicas
        self.cluster.recorder.event("scale", self.name, replicas, reason)
        surplus = self._active - replicas
        if surplus > 0:
            for pod in self._lowest_ranked(surplus):
                self.cluster.delete_pod(pod)
        for _ in range(-surplus):
            self.cluster.create_pod(self)
        self.cluster.notify()

    def new_pod_name(self) -> str:
        """A unique pod name within this ReplicaSet."""
        self._serial += 1
        return f"{self.name}-r{self.revision}-{self._serial}"

    # -- deletion order -----------------------------------------------------------------------

    def rank_lowered(self, pod: Pod) -> None:
        """``pod`` is new, or its deletion rank went down (not Ready any more, restarted).

        Each active pod has one valid heap entry, whose rank is at most the pod's own: a rank
        that goes up (scheduled, started, Ready) needs nothing now, as its entry is put back at
        its current rank when it reaches the top. A rank that goes down must move up at once.
        """
        pod.rank_stamp += 1
        heapq.heappush(self._ranks, (pod.deletion_rank(), pod.serial, pod.rank_stamp, pod))
        if len(self._ranks) > 2 * self._active + 64:
            self._compact_ranks()

    def _compact_ranks(self) -> None:
        """Drop the stale entries (amortised O(1) per push: the heap stays O(active pods))."""
        self._ranks = [entry for entry in self._ranks
                       if entry[3].deleted_at is None and entry[2] == entry[3].rank_stamp]
        heapq.heapify(self._ranks)

    def _lowest_ranked(self, count: int) -> list[Pod]:
        """The ``count`` active pods to delete first, in order.

        The same pods, in the same order, as sorting the active pods by
        :meth:`Pod.deletion_rank` (a stable sort: ties go by creation order, the serial here),
        which is what the ReplicaSet controller does on every scale-down (``kubernetes
        pkg/controller/replicaset/replica_set.go getPodsToDelete``); sorting them all here made
        each scale-down O(pods). They are taken off the heap: the caller deletes them.
        """
        chosen: list[Pod] = []
        ranks = self._ranks
        while len(chosen) < count:
            rank, serial, stamp, pod = heapq.heappop(ranks)
            if pod.deleted_at is not None or stamp != pod.rank_stamp:
                continue  # stale
            current = pod.deletion_rank()
            if current != rank:  # it went up since: back in at its current rank
                heapq.heappush(ranks, (current, serial, stamp, pod))
                continue
            chosen.append(pod)
        return chosen


class WorkQueue:
    """A controller's work queue, reduced to what the simulation needs: has anything changed
    since the controller's last pass?

    Changes made while a pass runs (its own scaling included) requeue the controller, and
    several changes before a pass collapse into one, as with client-go's work queue.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._dirty = False
        self._waiters: list[simpy.Event] = []

    def changed(self) -> simpy.Event:
        """An event that fires at the next change not yet :meth:`observed`."""
        event = self.env.event()
        if self._dirty:
            event.succeed()
        else:
            self._waiters.append(event)
        return event

    def observed(self) -> None:
        """A pass starts: it sees every change made so far."""
        self._dirty = False

    def mark(self) -> None:
        """Something changed: wake the waiting controller."""
        self._dirty = True
        waiters, self._waiters = self._waiters, []
        for event in waiters:
            event.succeed()


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
        self._work = WorkQueue(env)
        self._listeners: list[Callable[[], None]] = []
        self._scheduling = Sampler(pod_spec.scheduling_delay, rng_pods, batch=256)
        self._container_start = [Sampler(v.container_start, rng_pods, batch=256) for v in versions]
        self._warmup = [Sampler(v.warmup, rng_pods, batch=256) for v in versions]
        self._unhealthy_after = [
            None if v.unhealthy_after is None else Sampler(v.unhealthy_after, rng_pods, batch=64)
            for v in versions
        ]

    # -- ReplicaSets and notifications ------------------------------------------------------

    def replica_set(self, version: int, service: Service | None = None,
                    track: str | None = None, lane: int | None = None) -> ReplicaSet:
        """Create an empty ReplicaSet for ``version`` with the next revision number (of its
        track), whose pods become endpoints of ``service`` (default: the cluster's) and count
        in ``lane`` (default: the version)."""
        revision = 1 + max((rs.revision for rs in self.replica_sets if rs.track == track),
                           default=0)
        rs = ReplicaSet(self, version, revision, service, track, lane)
        self.replica_sets.append(rs)
        return rs

    def changed(self) -> simpy.Event:
        """An event that fires at the next change not yet :meth:`observed` (controller watch)."""
        return self._work.changed()

    def observed(self) -> None:
        """A controller pass starts: it sees every change made so far."""
        self._work.observed()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every pod or ReplicaSet change."""
        self._listeners.append(listener)

    def notify(self) -> None:
        """Record a change, wake the waiting controller and tell the listeners."""
        self._work.mark()
        for listener in self._listeners:
            listener()

    # -- creation -----------------------------------------------------------------------------

    def start_steady(self, rs: ReplicaSet, replicas: int) -> None:
        """Put ``replicas`` pods of ``rs`` in place at time 0: running, Ready, in the view.

        The endpoints reach the Service in one batch (one pool rebuild, not one per pod).
        """
        rs.spec = replicas
        pods = []
        for _ in range(replicas):
            pod = self._add_pod(rs)
            pod.scheduled = pod.started = pod.accepting = True
            self._set_readiness(pod, True, True)
            pod.started_at = pod.ready_at = self.env.now - 3600.0
            rs.rank_lowered(pod)
            self.occupying += 1
            pod.in_view = pod.wanted_in_view = True
            pods.append(pod)
            unhealthy_after = self._unhealthy_after[pod.version]
            if unhealthy_after is not None:
                self._at(unhealthy_after.next(), self._on_unhealthy, pod)
        rs.service.add_endpoints(pods)

    def _add_pod(self, rs: ReplicaSet) -> Pod:
        name = rs.new_pod_name()
        pod = Pod(name, rs, self.env.now, rs._serial)
        rs.pods[pod] = None
        rs._active += 1
        self.pod_count += 1
        self.recorder.pod_count(self.env.now, self.pod_count)
        return pod

    def create_pod(self, rs: ReplicaSet) -> Pod:
        """A new Pending pod; it starts once the cluster has room for it."""
        pod = self._add_pod(rs)
        rs._unscheduled += 1
        rs.rank_lowered(pod)
        self.pending.append(pod)
        self._schedule_pending()
        return pod

    def _set_readiness(self, pod: Pod, ready: bool, available: bool) -> None:
        """The one place that sets ``pod.ready`` and ``pod.available``; keeps the counts."""
        if pod.deleted_at is None:  # a terminating pod is no longer counted
            rs = pod.replica_set
            rs._ready += ready - pod.ready
            rs._available += available - pod.available
        pod.ready = ready
        pod.available = available

    def _has_room(self) -> bool:
        return self.capacity_pods is None or self.occupying < self.capacity_pods

    def _schedule_pending(self) -> None:
        """Bind waiting pods in creation order while there is room.

        A pod deleted while Pending stays in the queue (removing it would search the queue)
        and is skipped here.
        """
        while self.pending and self._has_room():
            pod = self.pending.popleft()
            if pod.deleted_at is not None:
                continue
            self.occupying += 1
            self.recorder.scheduled_count(self.env.now, self.occupying)
            pod.scheduled = True
            pod.replica_set._unscheduled -= 1
            delay = self._scheduling.next() + self._container_start[pod.version].next()
            self._at(delay, self._on_started, pod)

    def _at(self, delay: float, action: Callable[[Pod, int], None], pod: Pod) -> None:
        """Run ``action(pod, epoch)`` after ``delay``; the epoch lets it see a restart.

        The call rides on the timeout's value, not in a closure: a lambda and its cells are
        four more objects per timer for the garbage collector to trace, and a rollout of n
        pods keeps O(n) timers pending.
        """
        Timeout(self.env, delay, (action, pod, pod.epoch)).callbacks.append(_call_at)

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
        pod.ready_at = self.env.now
        min_ready = self.deployment.min_ready_seconds
        self._set_readiness(pod, True, pod.available or min_ready <= 0)
        self._want_in_view(pod, True)
        if min_ready > 0:
            self._at(min_ready, self._on_available, pod)
        unhealthy_after = self._unhealthy_after[pod.version]
        if unhealthy_after is not None:
            self._at(unhealthy_after.next(), self._on_unhealthy, pod)
        self.notify()

    def _on_available(self, pod: Pod, epoch: int) -> None:
        if not self._stale(pod, epoch) and pod.ready:
            self._set_readiness(pod, True, True)
            self.notify()

    def _want_in_view(self, pod: Pod, wanted: bool) -> None:
        """Ask the proxies to add or drop the endpoint; they apply the latest wish, late."""
        pod.wanted_in_view = wanted
        pod.replica_set.service.propagate(self._apply_view, pod)

    def _apply_view(self, pod: Pod) -> None:
        if pod.wanted_in_view and not pod.in_view and not pod.gone:
            pod.in_view = True
            pod.replica_set.service.add_endpoint(pod)
        elif not pod.wanted_in_view and pod.in_view:
            pod.in_view = False
            pod.replica_set.service.remove_endpoint(pod)

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
        self._set_readiness(pod, False, False)
        pod.replica_set.rank_lowered(pod)
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
        pod.replica_set.rank_lowered(pod)
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
        self._set_readiness(pod, False, False)
        pod.deleted_at = self.env.now
        pod.replica_set._active -= 1
        if not pod.scheduled:  # still in self.pending: _schedule_pending skips it
            pod.replica_set._unscheduled -= 1
            self._exit(pod)
            return
        self._want_in_view(pod, False)
        if not pod.started:
            self._exit(pod)
            return
        grace = self.pod_spec.termination_grace_period_seconds
        term_at = min(self.pod_spec.pre_stop_seconds, grace)
        kill_at = max(grace, term_at + MIN_TERM_TO_KILL_S)
        Timeout(self.env, term_at, (self._sigterm, pod)).callbacks.append(_call_with)
        Timeout(self.env, kill_at, (self._sigkill, pod)).callbacks.append(_call_with)

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
        del pod.replica_set.pods[pod]
        self.pod_count -= 1
        self.recorder.pod_count(self.env.now, self.pod_count)
        self._schedule_pending()
        self.notify()
