"""User traffic and how pods serve it: the per-request path of the simulation.

Arrivals are open-loop Poisson, at a constant rate or a piecewise-constant rate schedule.
Their times are generated in numpy chunks by inverting the cumulative rate (a unit-rate
Poisson process mapped through Λ⁻¹), and each request belongs to a user drawn from the
population. Both come from their own random streams, so every strategy run with one seed sees
the same requests from the same users.

With ``traffic.segments`` every user belongs to one segment, drawn once per run from the
``segments`` stream (:func:`assign_segments`), and each request first draws a segment, with
probability ∝ share × rateMultiplier (among segments that have users), then a user of that
segment uniformly. Without segments a request's user is uniform over the population, drawn
exactly as before segments existed.

A pod serves with ``workers`` requests at a time and a FIFO queue of ``queueLimit`` behind
them (an M/M/c/K station when the service time is exponential). A request is one tuple
``(id, user, arrival_s)``; the whole path is callbacks on SimPy timeouts, with no process per
request, and every request ends in exactly one outcome of :data:`simdeploy.records.OUTCOMES`.

A mirroring route (Flagger's ``mirror: true``; Argo's ``setMirrorRoute``, for the users it
matches) copies requests to a canary pod. The copy takes a worker or a queue slot there like
any request, and counts in the canary's own metrics (what an analysis reads), but no user
waits for it: it has no outcome, and its failures are counted apart
(``requests_mirrored_failed``). A copy's id is negative, which is how the serving path tells
it from a user request.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from simpy.events import Timeout

from simdeploy.distributions import Sampler, uniform_stream
from simdeploy.records import (
    ERROR,
    GATE_BINS_PER_S,
    KILLED,
    NO_ENDPOINT,
    OK,
    OVERLOAD,
    REFUSED,
    TIMEOUT,
    UNFINISHED,
)

if TYPE_CHECKING:
    import simpy

    from simdeploy.cluster import Cluster, Pod
    from simdeploy.records import Recorder
    from simdeploy.routing import Service
    from simdeploy.scenario import PodSpec, TrafficSpec, VersionSpec

__all__ = ["Arrivals", "Workload", "assign_segments"]


def assign_segments(shares: list[float], n_users: int, rng: np.random.Generator) -> np.ndarray:
    """Each user's segment: user ``u`` is in segment ``i`` with probability ``shares[i]``.

    One uniform draw per user from ``rng`` (the run's ``segments`` stream), so the assignment
    is a function of the seed alone: the same users in the same segments for every strategy.
    """
    return np.searchsorted(_cumulative(np.asarray(shares, dtype=float)), rng.random(n_users),
                           side="right")


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """Normalised cumulative weights, exactly 1 from the last positive weight on, so that a
    uniform draw in [0, 1) never lands past it (nor on a trailing zero weight)."""
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[np.flatnonzero(weights)[-1]:] = 1.0
    return cumulative


class Arrivals:
    """Arrival times (seconds) and user ids, generated in chunks until the end of the run."""

    def __init__(self, spec: TrafficSpec, duration_s: float, rng_arrivals: np.random.Generator,
                 rng_users: np.random.Generator, chunk: int = 16384,
                 user_segment: np.ndarray | None = None) -> None:
        arrivals = spec.arrivals
        if arrivals.type == "poisson":
            starts, rates = [0.0], [arrivals.rate_rps]
        else:
            starts = [s.start for s in arrivals.segments]
            rates = [s.rate_rps for s in arrivals.segments]
        breaks = [s for s in starts if s < duration_s] + [duration_s]
        rates = rates[: len(breaks) - 1]
        cumulative = [0.0]
        for (a, b), rate in zip(itertools.pairwise(breaks), rates):
            cumulative.append(cumulative[-1] + rate * (b - a))
        self._breaks = np.asarray(breaks)
        self._cumulative = np.asarray(cumulative)
        self._unit_clock = 0.0
        self._rng_arrivals = rng_arrivals
        self._rng_users = rng_users
        self.n_users = spec.users
        """The population the requests come from."""
        self._chunk = chunk
        self.exhausted = self._cumulative[-1] <= 0
        self._by_segment: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.user_segment: np.ndarray | None = None
        """Each user's segment (``traffic.segments``); None without segments."""
        self.n_segments = 0
        if spec.segments is not None:
            if user_segment is None:
                raise ValueError("traffic.segments needs each user's segment (assign_segments)")
            self._by_segment = _segment_draw(spec, user_segment)
            self.user_segment = user_segment
            self.n_segments = len(spec.segments)

    def _draw_users(self, n: int) -> np.ndarray:
        """The users of ``n`` requests (uniform, or segment first, then user within it)."""
        if self._by_segment is None:
            return self._rng_users.integers(0, self.n_users, n)
        cumulative, members, offsets, counts = self._by_segment
        rng = self._rng_users
        segment = np.searchsorted(cumulative, rng.random(n), side="right")
        count = counts[segment]
        within = np.minimum((rng.random(n) * count).astype(np.int64), count - 1)
        return members[offsets[segment] + within]

    def next_chunk(self) -> tuple[list[float], list[int]]:
        """The next arrival times and their users (empty lists once the run is over)."""
        if self.exhausted:
            return [], []
        unit = self._rng_arrivals.exponential(1.0, self._chunk).cumsum() + self._unit_clock
        self._unit_clock = float(unit[-1])
        inside = unit[unit < self._cumulative[-1]]
        if len(inside) < len(unit):
            self.exhausted = True
        times = np.interp(inside, self._cumulative, self._breaks)
        users = self._draw_users(len(times))
        return times.tolist(), users.tolist()


def _segment_draw(spec: TrafficSpec, user_segment: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :meth:`Arrivals._draw_users` needs: the cumulative request probability of each
    segment (share × rateMultiplier, 0 for a segment that drew no user), the users ordered by
    segment, where each segment starts in that order, and how many users each has."""
    segments = spec.segments or []
    counts = np.bincount(user_segment, minlength=len(segments)).astype(np.int64)
    weights = np.array([s.share * s.rate_multiplier for s in segments], dtype=float)
    weights[counts == 0] = 0.0
    if weights.sum() <= 0:  # the users that exist all have multiplier 0: send alike
        weights = counts.astype(float)
    cumulative = _cumulative(weights)
    members = np.argsort(user_segment, kind="stable")
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    return cumulative, members, offsets, counts


class Workload:
    """Dispatches each arrival to an endpoint and runs the pods' queues."""

    def __init__(
        self,
        env: simpy.Environment,
        arrivals: Arrivals,
        service: Service,
        cluster: Cluster,
        recorder: Recorder,
        versions: list[VersionSpec],
        pod_spec: PodSpec,
        new_version: int,
        rng_service: np.random.Generator,
        rng_errors: np.random.Generator,
        rng_affected: np.random.Generator | None = None,
    ) -> None:
        self.env = env
        self.arrivals = arrivals
        self.service = service
        self.cluster = cluster
        self.recorder = recorder
        self.new_version = new_version
        self.workers = pod_spec.workers
        self.queue_limit = pod_spec.queue_limit if pod_spec.queue_limit is not None else math.inf
        self.timeout_s = pod_spec.request_timeout if pod_spec.request_timeout else math.inf
        self._service_time = [Sampler(v.service_time, rng_service) for v in versions]
        self._error_rate = [v.error_rate for v in versions]
        self._coin = uniform_stream(rng_errors)
        self._partial = [_partial_error_rate(v, arrivals.n_users, rng_affected)
                         for v in versions]
        """Per version, None, or the error rate of a request by ``req`` (``affected``)."""
        self._inv_dt = 1.0 / recorder.sample_interval_s
        self._times: list[float] = []
        self._users: list[int] = []
        self._pos = 0
        self._next_id = 0
        self._next_copy_id = -1
        self._log = recorder.requests
        # With segments, each user's row of the per-segment counts by interval (one list
        # index per count on the request path); None without segments, at no cost.
        self._seg_requests: list[list[int]] | None = None
        self._seg_new: list[list[int]] | None = None
        self._seg_failed: list[list[int]] | None = None
        self._seg_exposed: list[list[int]] | None = None
        if arrivals.user_segment is not None:
            recorder.track_segments(arrivals.n_segments)
            of_user = arrivals.user_segment.tolist()
            self._seg_requests = [recorder.segment_requests_by_bin[s] for s in of_user]
            self._seg_new = [recorder.segment_new_by_bin[s] for s in of_user]
            self._seg_failed = [recorder.segment_failed_by_bin[s] for s in of_user]
            self._seg_exposed = [recorder.segment_exposed_by_bin[s] for s in of_user]

    def start(self) -> None:
        """Schedule the first arrival."""
        self._schedule_next()

    def _schedule_next(self) -> None:
        if self._pos >= len(self._times):
            self._times, self._users = self.arrivals.next_chunk()
            self._pos = 0
            if not self._times:
                return
        delay = self._times[self._pos] - self.env._now
        Timeout(self.env, delay if delay > 0 else 0.0).callbacks.append(self._on_arrival)

    # -- the per-request path ---------------------------------------------------------------

    def _on_arrival(self, _event: Timeout) -> None:
        now = self.env._now
        user = self._users[self._pos]
        self._pos += 1
        rid = self._next_id
        self._next_id = rid + 1
        self._schedule_next()
        rec = self.recorder
        rec.user_seen[user] = 1
        if rec.user_requests is not None:
            rec.user_requests[user] += 1
        pod = self.service.route(user)
        if pod is not None and self.service.mirroring:
            self._mirror(pod, user, now)
        if self._seg_requests is not None:
            self._count_segment(user, pod, now)
        req = (rid, user, now)
        if pod is None:
            version = self.service.primary
            k = int(now * self._inv_dt)
            rec.requests_by_bin[version][k] += 1
            rec.no_endpoint_by_bin[version][k] += 1
            self._fail(req, version, NO_ENDPOINT, now)
            return
        rec.requests_by_bin[pod.version][int(now * self._inv_dt)] += 1
        rec.requests_fine[pod.lane][int(now * GATE_BINS_PER_S)] += 1
        if not pod.accepting:
            self._fail(req, pod.version, REFUSED, now, pod.lane)
        elif not pod.healthy:
            self._fail_answered(req, pod.version, now, pod.lane)
        elif pod.busy < self.workers:
            pod.busy += 1
            self._serve(pod, req)
        elif len(pod.queue) < self.queue_limit:
            pod.queue.append(req)
        else:
            self._fail(req, pod.version, OVERLOAD, now, pod.lane)

    def _count_segment(self, user: int, pod: Pod | None, now: float) -> None:
        """With segments: the request in its user's segment's interval, and whether it went to
        a pod of the new version."""
        k = int(now * self._inv_dt)
        self._seg_requests[user][k] += 1  # type: ignore[index]
        if pod is not None and pod.version == self.new_version:
            self._seg_new[user][k] += 1  # type: ignore[index]

    def _mirror(self, routed: Pod, user: int, now: float) -> None:
        """Send a copy of a request routed to ``routed`` to a canary pod, if the route says so."""
        pod = self.service.mirror(routed, user)
        if pod is None:
            return
        rec = self.recorder
        rec.requests_mirrored += 1
        rec.requests_fine[pod.lane][int(now * GATE_BINS_PER_S)] += 1
        req = (self._next_copy_id, user, now)
        self._next_copy_id -= 1
        if not pod.accepting or not pod.healthy:
            self._copy_failed(pod.lane, now)
        elif pod.busy < self.workers:
            pod.busy += 1
            self._serve(pod, req)
        elif len(pod.queue) < self.queue_limit:
            pod.queue.append(req)
        else:
            self._copy_failed(pod.lane, now)

    def _copy_failed(self, lane: int, at_s: float) -> None:
        """A mirrored copy failed: only the canary's metrics and the mirror counters see it."""
        rec = self.recorder
        rec.requests_mirrored_failed += 1
        fine = rec.failed_fine[lane]
        fine[min(int(at_s * GATE_BINS_PER_S), len(fine) - 1)] += 1

    def _serve(self, pod: Pod, req: tuple) -> None:
        pod.inflight[req[0]] = req
        Timeout(self.env, self._service_time[pod.version].next(), (pod, req)).callbacks.append(
            self._on_done
        )

    def _on_done(self, event: Timeout) -> None:
        pod, req = event._value
        if pod.inflight.pop(req[0], None) is None:
            return  # already failed by SIGKILL
        now = self.env._now
        version = pod.version
        latency = now - req[2]
        if req[0] < 0:  # a mirrored copy: its response is thrown away
            if latency > self.timeout_s:
                self._copy_failed(pod.lane, req[2] + self.timeout_s)
            elif self._coin.next() < self._error_rate[version] or not pod.healthy:
                self._copy_failed(pod.lane, now)
            elif self.recorder.latency_windows is not None:
                self.recorder.latency_windows.add(version, now, latency)
        elif latency > self.timeout_s:
            self._fail(req, version, TIMEOUT, req[2] + self.timeout_s, pod.lane)
        elif (self._coin.next() < (self._error_rate[version] if self._partial[version] is None
                                   else self._partial[version](req))
              or not pod.healthy):
            self._fail_answered(req, version, now, pod.lane)
        else:
            rec = self.recorder
            rec.outcomes[OK] += 1
            latencies = rec.latency
            k = int(now * self._inv_dt)
            if k != latencies.bin:  # responses complete in time order: the interval is over
                latencies.roll(k)
            latencies.current[version].append(latency)
            if rec.latency_windows is not None:
                rec.latency_windows.add(version, now, latency)
            if version == self.new_version:
                if self._seg_exposed is not None and not rec.user_exposed_new[req[1]]:
                    self._seg_exposed[req[1]][k] += 1
                rec.user_exposed_new[req[1]] = 1
                if rec.first_new_response_s != rec.first_new_response_s:  # NaN: the first
                    rec.first_new_response_s = now
            if self._log is not None:
                self._log.append((req[0], req[1], req[2], now, version, OK))
        if pod.queue:
            self._serve(pod, pod.queue.popleft())
        else:
            pod.busy -= 1
            if pod.draining and pod.busy == 0:
                self.cluster.drained(pod)

    def _fail_answered(self, req: tuple, version: int, now: float, lane: int) -> None:
        """The app answered with a 5xx: a failure, and still a response from ``version``."""
        if version == self.new_version:
            rec = self.recorder
            if self._seg_exposed is not None and not rec.user_exposed_new[req[1]]:
                self._seg_exposed[req[1]][min(int(now * self._inv_dt), rec.n_bins - 1)] += 1
            rec.user_exposed_new[req[1]] = 1
            if rec.first_new_response_s != rec.first_new_response_s:  # NaN: the first
                rec.first_new_response_s = now
        self._fail(req, version, ERROR, now, lane)

    def _fail(self, req: tuple, version: int, outcome: int, at_s: float, lane: int = -1) -> None:
        """Count a failed request: charged to ``version``, and in the health-gate counts to
        its pod's ``lane`` (:attr:`simdeploy.cluster.ReplicaSet.lane`; -1: no pod saw it)."""
        rec = self.recorder
        rec.outcomes[outcome] += 1
        k = min(int(at_s * self._inv_dt), rec.n_bins - 1)
        rec.failed_by_bin[version][k] += 1
        if self._seg_failed is not None:
            self._seg_failed[req[1]][k] += 1
        if outcome != NO_ENDPOINT:
            fine = rec.failed_fine[lane]
            fine[min(int(at_s * GATE_BINS_PER_S), len(fine) - 1)] += 1
            if version == self.new_version:
                rec.requests_failed_new += 1
                rec.user_failed_new[req[1]] = 1
        rec.user_errored[req[1]] = 1
        if rec.user_failures is not None:
            rec.user_failures[req[1]] += 1
        if self._log is not None:
            self._log.append((req[0], req[1], req[2], at_s, version, outcome))

    # -- lifecycle hooks --------------------------------------------------------------------

    def kill(self, pod: Pod) -> None:
        """SIGKILL: everything the pod holds, in flight or queued, fails now.

        A request whose client had already given up counts as a timeout, at that moment.
        """
        now = self.env.now
        for req in list(pod.inflight.values()) + list(pod.queue):
            overdue = now - req[2] > self.timeout_s
            if req[0] < 0:
                self._copy_failed(pod.lane, req[2] + self.timeout_s if overdue else now)
            elif overdue:
                self._fail(req, pod.version, TIMEOUT, req[2] + self.timeout_s, pod.lane)
            else:
                self._fail(req, pod.version, KILLED, now, pod.lane)
        pod.inflight.clear()
        pod.queue.clear()
        pod.busy = 0

    def finish(self) -> None:
        """At the end of the run: requests still held are timeouts if overdue, else unfinished."""
        rec = self.recorder
        now = self.env.now
        for rs in self.cluster.replica_sets:
            for pod in rs.pods:
                for req in list(pod.inflight.values()) + list(pod.queue):
                    if req[0] < 0:  # a mirrored copy has no outcome
                        continue
                    if now - req[2] > self.timeout_s:
                        self._fail(req, pod.version, TIMEOUT, req[2] + self.timeout_s, pod.lane)
                        continue
                    rec.outcomes[UNFINISHED] += 1
                    if self._log is not None:
                        self._log.append((req[0], req[1], req[2], math.nan, pod.version,
                                          UNFINISHED))

    @property
    def requests_total(self) -> int:
        """Requests that have arrived so far."""
        return self._next_id


def _partial_error_rate(version: VersionSpec, n_users: int,
                        rng: np.random.Generator | None) -> Callable[[tuple], float] | None:
    """The error rate of each request of a version whose regression hits only a share.

    ``affected: {users: s}`` picks the hit users once per run (from the run's ``affected``
    stream, so the same users for every strategy of a seed); ``{requests: s}`` draws per request.
    None when the version fails alike for everyone.
    """
    affected = version.affected
    if affected is None:
        return None
    if rng is None:
        raise ValueError("a partial regression needs the run's 'affected' stream")
    base, hit = version.error_rate, affected.error_rate
    if affected.users is not None:
        rates = np.where(rng.random(n_users) < affected.users, hit, base).tolist()
        return lambda req: rates[req[1]]
    share = affected.requests
    coin = uniform_stream(rng)
    return lambda _req: hit if coin.next() < share else base
