"""The size of a run, estimated before it starts, and the limits a run must stay within.

A scenario can be perfectly valid and still ask for more than a machine can give: a day of
traffic at 10,000 requests/s, ten million users, a timeline sampled every millisecond for a
month. Such a run would run out of memory part-way (a ``MemoryError`` after minutes), or run
for hours. So before a run is built its work and memory are estimated from the scenario
alone, and a run beyond the limits below is refused with the estimate in the message. The
soft limits may be passed on purpose (``force=True``, ``--force`` on the command line); the
memory the machine has may not.

The per-item byte costs were measured on CPython 3.11 (peak RSS of runs of growing size).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from simdeploy.errors import RunTooLargeError
from simdeploy.scenario import Scenario, Schedule

__all__ = [
    "MAX_BATCH_SECONDS",
    "MAX_MEMORY_BYTES",
    "MAX_REQUESTS",
    "MAX_TIMELINE_ROWS",
    "RunEstimate",
    "check_batch_size",
    "check_run_size",
    "estimate_run",
]

MAX_REQUESTS = 50_000_000
"""Simulated requests in one run (about 5 minutes at the benchmarked ~180k requests/s)."""
MAX_TIMELINE_ROWS = 5_000_000
"""Timeline rows (sample intervals × versions) in one run."""
MAX_MEMORY_BYTES = 4 * 2**30
"""Estimated memory of one run."""

MAX_BATCH_SECONDS = 4 * 3600
"""Estimated wall time of all the runs of one command (``compare``, ``report``)."""

MAX_RUNS = 1_000_000
"""Runs in one batch, even with ``--force``: the plan of a batch alone (a task per run) would
take gigabytes past this, before anything runs."""

_BYTES_PER_REQUEST = 40
"""Measured peak growth per simulated request (latencies are streamed, see simdeploy.latency;
what remains is the event heap and allocator slack), with a margin."""
_BYTES_PER_HELD_REQUEST = 150
"""A request a pod holds (in flight or queued): its tuple, its timer, its queue slot."""
_BYTES_PER_KEPT_REQUEST = 300
"""``keep_requests``: a tuple per request, then a DataFrame row."""
_BYTES_PER_USER = 60
"""Three flag bytes, a routing bucket (a Python float in a list), a sticky version slot."""
_BYTES_PER_TIMELINE_ROW = 400
"""Per-interval counters, the sample tuple, and the timeline frame's row."""
_BYTES_PER_SIMULATED_SECOND = 200
"""The health gate's 0.1 s request and failure counters."""
_BYTES_PER_POD = 3000
"""A pod, its queue and its timers; a rollout has up to about three times the replicas."""
_REQUESTS_PER_WALL_SECOND = 150_000
_SECONDS_PER_RUN = 0.05
"""Building a run and its frames, whatever its size."""


@dataclass(frozen=True)
class RunEstimate:
    """What one run of a scenario will cost, estimated from the scenario alone."""

    requests: float
    """Expected simulated requests (arrival rate integrated over the run)."""
    users: int
    pods: int
    """Pods a rollout may hold at once (old, new and terminating), an upper estimate."""
    timeline_rows: float
    memory_bytes: float
    wall_seconds: float

    def describe(self) -> str:
        """One line: the estimate in human units."""
        return (f"about {_count(self.requests)} simulated requests, "
                f"{_count(self.timeline_rows)} timeline rows, {_count(self.users)} users, "
                f"~{_bytes(self.memory_bytes)} of memory and "
                f"~{_duration(self.wall_seconds)} per run")


def estimate_run(scenario: Scenario, *, keep_requests: bool = False) -> RunEstimate:
    """The work and memory of one run of ``scenario`` (any strategy)."""
    duration = scenario.duration
    requests = _expected_requests(scenario)
    n_versions = 2
    rows = (duration / scenario.sample_interval + 1) * n_versions
    pods = 3 * scenario.total_replicas
    per_request = _BYTES_PER_REQUEST + (_BYTES_PER_KEPT_REQUEST if keep_requests else 0)
    # Requests held at once (in flight or queued) cost memory until they end: at most what
    # the pods can hold, and with an unbounded queue, in the worst case, every request.
    queue = scenario.pod.queue_limit
    held = requests if queue is None else min(
        requests, 2 * scenario.total_replicas * (scenario.pod.workers + queue))
    memory = (requests * per_request + held * _BYTES_PER_HELD_REQUEST
              + scenario.traffic.users * _BYTES_PER_USER
              + rows * _BYTES_PER_TIMELINE_ROW + duration * _BYTES_PER_SIMULATED_SECOND
              + pods * _BYTES_PER_POD)
    wall = (_SECONDS_PER_RUN + requests / _REQUESTS_PER_WALL_SECOND + rows / 200_000
            + pods / 20_000)
    return RunEstimate(requests=requests, users=scenario.traffic.users, pods=pods,
                       timeline_rows=rows, memory_bytes=memory, wall_seconds=wall)


def check_run_size(scenario: Scenario, source: str, *, force: bool = False,
                   keep_requests: bool = False) -> RunEstimate:
    """Refuse a run beyond the limits, naming the field that makes it large.

    Args:
        scenario: the validated scenario.
        source: where it came from, for the message.
        force: go past the soft limits (never past the machine's memory).
        keep_requests: the run keeps one row per request.

    Raises:
        RunTooLargeError: one line with the estimate, the limit and the way around it.
    """
    estimate = estimate_run(scenario, keep_requests=keep_requests)
    physical = _physical_memory_bytes()
    hard = 0.75 * physical if physical else math.inf
    if estimate.memory_bytes > hard:
        raise RunTooLargeError(source, _culprit(scenario, estimate),
                               f"run too large: {estimate.describe()}; this machine has "
                               f"{_bytes(physical)} of memory, so not even with --force")
    if force:
        return estimate
    over = []
    if estimate.requests > MAX_REQUESTS:
        over.append(f"{MAX_REQUESTS:,} requests")
    if estimate.timeline_rows > MAX_TIMELINE_ROWS:
        over.append(f"{MAX_TIMELINE_ROWS:,} timeline rows")
    if estimate.memory_bytes > MAX_MEMORY_BYTES:
        over.append(f"{_bytes(MAX_MEMORY_BYTES)} of memory")
    if over:
        raise RunTooLargeError(source, _culprit(scenario, estimate),
                               f"run too large: {estimate.describe()}; the limit is "
                               f"{' and '.join(over)} per run (--force to run it anyway)")
    return estimate


def check_batch_size(scenario: Scenario, runs: int, source: str, *, force: bool = False,
                     keep_timelines: bool = False) -> None:
    """Refuse a batch of ``runs`` runs (strategies × replications) that would take too long.

    Args:
        scenario: the validated scenario.
        runs: how many runs the command makes.
        source: where the scenario came from, for the message.
        force: go past the time limit (never past the machine's memory).
        keep_timelines: every run's timeline is kept until the end (a report).

    Raises:
        RunTooLargeError: one line with the estimate, the limit and the way around it.
    """
    if runs > MAX_RUNS:
        raise RunTooLargeError(source, "--replications",
                               f"too many runs: {runs:,}; at most {MAX_RUNS:,} in one batch, "
                               "not even with --force")
    estimate = estimate_run(scenario)
    seconds = runs * estimate.wall_seconds
    kept = runs * estimate.timeline_rows * _BYTES_PER_TIMELINE_ROW if keep_timelines else 0.0
    physical = _physical_memory_bytes()
    if physical and kept + estimate.memory_bytes > 0.75 * physical:
        raise RunTooLargeError(source, "--replications",
                               f"too many runs: {runs:,} runs keep ~{_bytes(kept)} of timelines;"
                               f" this machine has {_bytes(physical)} of memory, so not even "
                               "with --force")
    if not force and (seconds > MAX_BATCH_SECONDS or kept > MAX_MEMORY_BYTES):
        raise RunTooLargeError(source, "--replications",
                               f"too many runs: {runs:,} runs of {estimate.describe()}, "
                               f"~{_duration(seconds)} in all; the limit is "
                               f"{_duration(MAX_BATCH_SECONDS)} and {_bytes(MAX_MEMORY_BYTES)} "
                               "of kept timelines (--force to run them anyway)")


def _expected_requests(scenario: Scenario) -> float:
    arrivals = scenario.traffic.arrivals
    duration = scenario.duration
    if not isinstance(arrivals, Schedule):
        return arrivals.rate_rps * duration
    total = 0.0
    segments = arrivals.segments
    for i, segment in enumerate(segments):
        end = segments[i + 1].start if i + 1 < len(segments) else duration
        total += segment.rate_rps * max(0.0, min(end, duration) - segment.start)
    return total


def _culprit(scenario: Scenario, estimate: RunEstimate) -> str:
    """The field whose value contributes most of the estimated memory."""
    parts = {
        "traffic.arrivals": estimate.requests * _BYTES_PER_REQUEST,
        "traffic.users": estimate.users * _BYTES_PER_USER,
        "sampleInterval": estimate.timeline_rows * _BYTES_PER_TIMELINE_ROW,
        "duration": scenario.duration * _BYTES_PER_SIMULATED_SECOND,
        ("deployment.replicas" if scenario.tracks is None else "tracks"):
            estimate.pods * _BYTES_PER_POD,
    }
    if estimate.requests > MAX_REQUESTS:
        parts["traffic.arrivals"] = math.inf
    return max(parts, key=lambda k: parts[k])


def _physical_memory_bytes() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0.0


def _count(value: float) -> str:
    if value >= 1e12:
        return f"{value:.2g}"
    return f"{value:,.0f}"


def _bytes(value: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if value >= size:
            return f"{value / size:,.3g} {unit}"
    return f"{value / 2**10:.3g} KiB"


def _duration(seconds: float) -> str:
    if seconds >= 86400 * 365:
        return f"{seconds / (86400 * 365):.2g} years"
    if seconds >= 86400:
        return f"{seconds / 86400:.3g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.2g} s"
