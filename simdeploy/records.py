"""What a run writes down while it runs: plain counters, lists and tuples, nothing derived.

Metrics are computed afterwards from these (``metrics.py``), so the per-request path only
bumps a counter or appends a float. Time-weighted quantities (pods above baseline) are kept
as a step function: the time of each change and the new level.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from simdeploy.latency import LatencyRecorder

if TYPE_CHECKING:
    import simpy

__all__ = ["OUTCOMES", "Recorder"]

OUTCOMES = ("ok", "error", "refused", "no_endpoint", "overload", "killed", "timeout", "unfinished")
"""Every request ends in exactly one of these.

ok: served; error: the app answered 5xx (the version's error rate); refused: routed to a pod that
no longer accepts connections; no_endpoint: the Service had no endpoint for it; overload: the
pod's queue was full; killed: cut by SIGKILL at the end of the grace period; timeout: took longer
than the request timeout; unfinished: still queued or in flight when the run ended.
"""
OK, ERROR, REFUSED, NO_ENDPOINT, OVERLOAD, KILLED, TIMEOUT, UNFINISHED = range(len(OUTCOMES))
GATE_BINS_PER_S = 10
"""Resolution of the counts a health gate reads, independent of the timeline's interval."""


class Recorder:
    """Append-only record of one run."""

    def __init__(self, env: simpy.Environment, duration_s: float, sample_interval_s: float,
                 n_versions: int, n_users: int, keep_requests: bool = False) -> None:
        self.env = env
        self.sample_interval_s = sample_interval_s
        n_bins = math.ceil(duration_s / sample_interval_s) + 1
        self.n_bins = n_bins
        self.requests_by_bin = [[0] * n_bins for _ in range(n_versions)]
        """Requests routed to each version, by arrival interval."""
        self.failed_by_bin = [[0] * n_bins for _ in range(n_versions)]
        """Failed requests charged to each version, by the interval of the failure."""
        self.no_endpoint_by_bin = [[0] * n_bins for _ in range(n_versions)]
        """Of those, the requests that found no endpoint (charged to the Service's primary
        version: no pod of any version saw them)."""
        n_fine = math.ceil(duration_s * GATE_BINS_PER_S) + 1
        self.requests_fine = [[0] * n_fine for _ in range(n_versions)]
        """Requests that reached a pod of each version, by arrival, per 0.1 s: what a health
        gate or an analysis query looks at (requests that found no endpoint never reached a
        version)."""
        self.failed_fine = [[0] * n_fine for _ in range(n_versions)]
        """Of those, the failures, by the time of the failure, per 0.1 s."""
        self.lanes_of_version = [[v] for v in range(n_versions)]
        """The rows of ``requests_fine``/``failed_fine`` each version's pods count in (one per
        version; one per track and version with tracks, :meth:`use_lanes`)."""
        self.new_version = n_versions - 1
        """The version a release brings (the last)."""
        self.requests_failed_new = 0
        """Failures served by the new version (refused, 5xx, overload, killed, timeout)."""
        self.user_failed_new = bytearray(n_users)
        """Users with at least one failure served by the new version."""
        self.first_new_response_s = math.nan
        """When the new version first answered (a success or a 5xx)."""
        self.abort_s = math.nan
        """When the rollout decided to abort (or undo); NaN if it never did."""
        self.analysis_verdict = ""
        """The phase the rollout's analysis ended in (Argo's spelling), "" without analysis."""
        self.exposed_at_promotion: int | None = None
        """Users served by the new version when it was promoted to everyone (None: not yet)."""
        self.requests_mirrored = 0
        """Copies of user requests a mirroring route sent to the canary (never user requests)."""
        self.requests_mirrored_failed = 0
        """Of those, the copies the canary failed (their responses are thrown away)."""
        self.latency_windows = None
        """Recent latencies per version (:class:`simdeploy.measurements.LatencyWindows`), kept
        only when an analysis asks for latency percentiles."""
        self.outcomes = [0] * len(OUTCOMES)
        self.latency = LatencyRecorder(n_versions, n_bins)
        """Successful responses' latencies: per-interval p99 and a whole-run histogram."""
        self.user_seen = bytearray(n_users)
        self.user_exposed_new = bytearray(n_users)
        self.user_errored = bytearray(n_users)
        self.user_requests: list[int] | None = None
        """With traffic segments: each user's requests and failures (``result.segments``)."""
        self.user_failures: list[int] | None = None
        self.segment_requests_by_bin: list[list[int]] | None = None
        """With traffic segments (:meth:`track_segments`), per segment and arrival interval:
        its requests (``result.segment_timeline``); None without segments."""
        self.segment_new_by_bin: list[list[int]] | None = None
        """Of those, the requests routed to a pod of the new version."""
        self.segment_failed_by_bin: list[list[int]] | None = None
        """Per segment: failed requests, by the interval of the failure."""
        self.segment_exposed_by_bin: list[list[int]] | None = None
        """Per segment: users whose first response from the new version came in the interval."""
        self.events: list[tuple[float, str, str, int, str, float | None, float]] = []
        self.pod_counts: list[tuple[float, int]] = []
        self.scheduled_counts: list[tuple[float, int]] = []
        """Pods bound to a node (holding resources: Terminating yes, Pending no)."""
        self.samples: list[tuple] = []
        self.requests: list[tuple] | None = [] if keep_requests else None
        """With ``keep_requests``: (id, user, arrival_s, end_s, version, outcome) per request."""

    def track_segments(self, n_segments: int) -> None:
        """Keep the per-segment counts by interval (only a run with traffic segments does)."""
        self.segment_requests_by_bin = [[0] * self.n_bins for _ in range(n_segments)]
        self.segment_new_by_bin = [[0] * self.n_bins for _ in range(n_segments)]
        self.segment_failed_by_bin = [[0] * self.n_bins for _ in range(n_segments)]
        self.segment_exposed_by_bin = [[0] * self.n_bins for _ in range(n_segments)]

    def event(self, kind: str, version: str, replicas: int, detail: str, *,
              weight: float | None = None, value: float = math.nan) -> None:
        """A rollout event (scale, weight, switch, abort, measurement, ...).

        ``weight`` is the new version's routed weight (0–100) where the event sets it;
        ``value`` a measured value (an analysis measurement).
        """
        self.events.append((self.env.now, kind, version, replicas, detail, weight, value))

    def pod_count(self, time_s: float, count: int) -> None:
        """The number of existing pods (Pending and Terminating included) changed."""
        self.pod_counts.append((time_s, count))

    def scheduled_count(self, time_s: float, count: int) -> None:
        """The number of pods bound to a node changed."""
        self.scheduled_counts.append((time_s, count))

    def use_lanes(self, n_tracks: int) -> None:
        """Count the health-gate bins per (track, version) pair: lane ``track × versions +
        version`` (a run with tracks), so that a pipeline stage's gate reads its own track."""
        n_versions = len(self.lanes_of_version)
        n_fine = len(self.requests_fine[0])
        self.requests_fine = [[0] * n_fine for _ in range(n_tracks * n_versions)]
        self.failed_fine = [[0] * n_fine for _ in range(n_tracks * n_versions)]
        self.lanes_of_version = [[t * n_versions + v for t in range(n_tracks)]
                                 for v in range(n_versions)]

    def window(self, version: int, start_s: float, end_s: float) -> tuple[int, int]:
        """(requests, failed) of ``version``'s pods in [start_s, end_s), to 0.1 s."""
        requests = failed = 0
        for lane in self.lanes_of_version[version]:
            r, f = self.lane_window(lane, start_s, end_s)
            requests += r
            failed += f
        return requests, failed

    def lane_window(self, lane: int, start_s: float, end_s: float) -> tuple[int, int]:
        """(requests, failed) of one lane's pods in [start_s, end_s), to 0.1 s."""
        requests = self.requests_fine[lane]
        lo = max(0, round(start_s * GATE_BINS_PER_S))
        hi = min(len(requests), max(lo, round(end_s * GATE_BINS_PER_S)))
        return sum(requests[lo:hi]), sum(self.failed_fine[lane][lo:hi])

    def new_version_window(self, start_s: float, end_s: float) -> tuple[int, int]:
        """(requests, failed) of the new version in [start_s, end_s), to 0.1 s."""
        return self.window(self.new_version, start_s, end_s)

    def decide_abort(self) -> None:
        """The rollout decided now to abort or undo (the first decision counts)."""
        if math.isnan(self.abort_s):
            self.abort_s = self.env.now
