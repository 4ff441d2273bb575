"""Pure functions from a run's records to its numbers: downtime, resources, exposure, latency.

Nothing here touches the simulation; each function takes what the recorder wrote and returns
a number or a DataFrame, so every metric can be tested on hand-built inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simdeploy.records import OK, OUTCOMES, UNFINISHED

if TYPE_CHECKING:
    from simdeploy.records import Recorder

__all__ = [
    "SUMMARY_KEYS",
    "extra_pod_seconds",
    "peak",
    "pending_changes",
    "requests_failed",
]

SUMMARY_KEYS = (
    "downtime_s",
    "requests_total",
    "requests_failed",
    "error_rate",
    "users_total",
    "users_exposed_new",
    "users_with_errors",
    "baseline_pods",
    "peak_pods",
    "extra_pod_seconds",
    "extra_cost",
    "rollout_duration_s",
    "latency_p50_ms",
    "latency_p99_ms",
    "outcome",
    "progress_deadline_exceeded",
    "peak_pods_scheduled",
    "extra_scheduled_pod_seconds",
    "peak_pods_pending",
    "pending_pod_seconds",
    "detected_s",
    "restored_s",
    "requests_failed_new",
    "users_failed_new",
    "analysis_verdict",
    "requests_mirrored",
    "requests_mirrored_failed",
    "standing_pods",
    "standing_extra_pod_seconds",
    "users_exposed_before_promotion",
)
"""The keys every summary has, in this order; ``requests_<outcome>`` counts follow them.

Exposure attributable to the release: ``detected_s`` is the time from the new version's first
response to the abort (or undo) decision, ``restored_s`` from that decision until the proxies
send the new version nothing, both NaN without an abort; ``requests_failed_new`` and
``users_failed_new`` count the failures served by the new version and the users who had one;
``analysis_verdict`` is the phase the rollout's analysis ended in (``Successful``, ``Failed``,
``Inconclusive``, ``Error``), or empty when the strategy has none; ``requests_mirrored`` counts
the copies of requests a mirroring route sent to the canary and ``requests_mirrored_failed``
those the canary failed: no user saw them, so they are in no other count.

``users_exposed_before_promotion`` is the blast radius of a progressive release: the users
served by the new version before the decision to give it to everyone (the ``promote`` event
of a canary after its last step or of Flagger, blue-green's switch, the end of a
RollingUpdate, Recreate's new pods; in a pipeline the production track's own promotion); for
a release never promoted (aborted or stalled before it), every user it reached.

Standing capacity: with tracks, ``baseline_pods`` is every track's replicas and the rollout's
``extra_pod_seconds`` are above that; ``standing_pods`` are the pods the topology runs beyond
the production track all the time (the other tracks, and the routing tier's declared pods),
and ``standing_extra_pod_seconds`` their pod-seconds over the run (0 without tracks)."""


def extra_pod_seconds(changes: Sequence[tuple[float, int]], baseline: int, end_s: float) -> float:
    """Integral over [0, end_s] of the pods above ``baseline``.

    ``changes`` is the step function as (time, new level) pairs in time order; the level
    before the first change is taken as ``baseline``.
    """
    total = 0.0
    level, since = baseline, 0.0
    for time_s, count in changes:
        time_s = min(time_s, end_s)
        total += max(0, level - baseline) * (time_s - since)
        level, since = count, time_s
    total += max(0, level - baseline) * (end_s - since)
    return total


def peak(changes: Sequence[tuple[float, int]], baseline: int) -> int:
    """Largest level of the step function (the baseline if it never changed)."""
    return max([baseline, *(count for _, count in changes)])


def pending_changes(pods: Sequence[tuple[float, int]],
                    scheduled: Sequence[tuple[float, int]]) -> list[tuple[float, int]]:
    """The step function of Pending pods (existing, not yet bound to a node).

    Both inputs are (time, new level) step functions in time order that start at the same
    level; the result is their difference, one change per time at which either changed.
    """
    merged = sorted([(t, 0, i, n) for i, (t, n) in enumerate(pods)]
                    + [(t, 1, i, n) for i, (t, n) in enumerate(scheduled)])
    level = [0, 0]
    base: list[int | None] = [None, None]
    out: list[tuple[float, int]] = []
    for time_s, which, _, count in merged:
        if base[which] is None:
            base[which] = count
        level[which] = count
        pending = max(0, level[0] - level[1]) if None not in base else 0
        if out and out[-1][0] == time_s:
            out[-1] = (time_s, pending)
        else:
            out.append((time_s, pending))
    return out


def requests_failed(outcomes: Sequence[int]) -> int:
    """Requests whose outcome is a failure (neither ok nor unfinished)."""
    return sum(count for i, count in enumerate(outcomes) if i not in (OK, UNFINISHED))


def outcome_counts(outcomes: Sequence[int]) -> dict[str, int]:
    """``requests_<outcome>`` → count, for every outcome."""
    return {f"requests_{name}": int(outcomes[i]) for i, name in enumerate(OUTCOMES)}


EVENT_COLUMNS = ("time_s", "kind", "version", "replicas", "detail", "weight", "value")
"""The columns of ``result.events``: ``weight`` is the new version's routed weight (0–100) on
the rows that change it (empty elsewhere), ``value`` an analysis measurement's value."""


def detection_times(first_new_response_s: float, abort_s: float,
                    new_unrouted_since_s: float) -> tuple[float, float]:
    """(``detected_s``, ``restored_s``) from when the new version first answered, when the
    rollout decided to abort, and since when the proxies have sent it nothing.

    NaN without an abort; ``detected_s`` NaN too when the new version never answered before
    the decision, ``restored_s`` NaN when the proxies still send it traffic at the end, and 0
    when they already sent it none when the decision came.
    """
    if math.isnan(abort_s):
        return math.nan, math.nan
    detected = abort_s - first_new_response_s if first_new_response_s <= abort_s else math.nan
    restored = max(0.0, new_unrouted_since_s - abort_s)  # NaN stays NaN
    if math.isnan(new_unrouted_since_s):
        restored = math.nan
    return detected, restored


SEGMENT_COLUMNS = ("segment", "users_total", "users_exposed_new", "users_with_errors",
                   "requests_total", "requests_failed")
"""The columns of ``result.segments``: exposure per user segment."""


def segment_frame(names: Sequence[str], user_segment: np.ndarray | None, recorder: Recorder,
                  requests_total: int) -> pd.DataFrame:
    """One row per user segment: its users who sent a request, saw the new version, had a
    failure, and its requests and failed requests (mirrored copies are no one's).

    Without segments (``user_segment`` None) one row, ``all``, holds the run's totals.
    """
    if user_segment is None or recorder.user_requests is None:
        rows = [{"segment": names[0], "users_total": sum(recorder.user_seen),
                 "users_exposed_new": sum(recorder.user_exposed_new),
                 "users_with_errors": sum(recorder.user_errored),
                 "requests_total": requests_total,
                 "requests_failed": requests_failed(recorder.outcomes)}]
        return pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))
    n = len(names)

    def per_segment(values: Sequence[int] | bytes) -> np.ndarray:
        weights = np.frombuffer(values, dtype=np.uint8) if isinstance(values, (bytes, bytearray)) \
            else np.asarray(values, dtype=np.int64)
        return np.bincount(user_segment, weights=weights, minlength=n).astype(np.int64)

    return pd.DataFrame({
        "segment": list(names),
        "users_total": per_segment(recorder.user_seen),
        "users_exposed_new": per_segment(recorder.user_exposed_new),
        "users_with_errors": per_segment(recorder.user_errored),
        "requests_total": per_segment(recorder.user_requests),
        "requests_failed": per_segment(recorder.user_failures or [0] * len(user_segment)),
    })


SEGMENT_TIMELINE_COLUMNS = ("time_s", "segment", "requests", "requests_new", "requests_failed",
                            "users_exposed_new_cum")
"""The columns of ``result.segment_timeline``: exposure per user segment over time."""


def segment_timeline_frame(names: Sequence[str], recorder: Recorder,
                           duration_s: float) -> pd.DataFrame | None:
    """One row per sample interval and user segment (time first, segments in file order).

    ``requests`` arrived in ``[time_s, time_s + interval)``, ``requests_new`` of them were
    routed to a pod of the new version, ``requests_failed`` failed in the interval, and
    ``users_exposed_new_cum`` is how many of the segment's users had had a response from the
    new version by the interval's end. The intervals are the timeline's; counts at the very
    end of the run (a failure at ``duration``) go to the last one, so every column sums to
    the segment's row of ``result.segments``. None without segments (nothing was counted).
    """
    if recorder.segment_requests_by_bin is None:
        return None
    interval = recorder.sample_interval_s
    n_rows = max(1, math.ceil(duration_s / interval - 1e-9))

    def binned(counts: Sequence[Sequence[int]] | None) -> np.ndarray:
        """segments × rows, whatever lies past the last row folded into it."""
        array = np.asarray(counts, dtype=np.int64).reshape(len(names), -1)
        out = array[:, :n_rows].copy()
        out[:, -1] += array[:, n_rows:].sum(axis=1)
        return out

    requests = binned(recorder.segment_requests_by_bin)
    exposed = binned(recorder.segment_exposed_by_bin).cumsum(axis=1)
    return pd.DataFrame({
        "time_s": np.repeat(np.arange(n_rows) * interval, len(names)),
        "segment": np.tile(np.asarray(list(names), dtype=object), n_rows),
        "requests": requests.T.ravel(),
        "requests_new": binned(recorder.segment_new_by_bin).T.ravel(),
        "requests_failed": binned(recorder.segment_failed_by_bin).T.ravel(),
        "users_exposed_new_cum": exposed.T.ravel(),
    }, columns=list(SEGMENT_TIMELINE_COLUMNS))


def events_frame(events: Sequence[tuple]) -> pd.DataFrame:
    """The rollout's events as a DataFrame (:data:`EVENT_COLUMNS`)."""
    frame = pd.DataFrame(events, columns=list(EVENT_COLUMNS))
    frame["weight"] = pd.array([None if w is None else w for w in frame["weight"]],
                               dtype="Float64")
    return frame.astype({"time_s": float, "replicas": int, "value": float})


def timeline_frame(samples: Sequence[tuple], requests_by_bin: Sequence[Sequence[int]],
                   failed_by_bin: Sequence[Sequence[int]],
                   no_endpoint_by_bin: Sequence[Sequence[int]],
                   p99_ms_by_bin: Sequence[Sequence[float]], version_names: Sequence[str],
                   sample_interval_s: float) -> pd.DataFrame:
    """One row per sample interval and version: pod states, endpoints, requests, failures.

    Pod columns are the state at ``time_s``; ``endpoints`` are the version's endpoints in the
    proxies' view while the Service sends the version traffic (0 otherwise: a green fleet
    before the switch, a canary at weight 0); ``requests`` are those charged to the version
    that arrived in ``[time_s, time_s + interval)``, ``failed`` those that failed in it, of
    which ``no_endpoint`` found no endpoint at all (charged to the version the Service
    considered live, though no pod saw them), and
    ``latency_p99_ms`` the 99th percentile of the successful responses that ended in it
    (NaN when there were none).
    """
    columns = ["time_s", "version", "pods", "pending", "ready", "available", "terminating",
               "endpoints"]
    frame = pd.DataFrame(samples, columns=columns)
    index = np.rint(frame["time_s"].to_numpy() / sample_interval_s).astype(int)
    version_index = frame["version"].to_numpy()
    frame["requests"] = [requests_by_bin[v][k] for v, k in zip(version_index, index)]
    frame["failed"] = [failed_by_bin[v][k] for v, k in zip(version_index, index)]
    frame["no_endpoint"] = [no_endpoint_by_bin[v][k] for v, k in zip(version_index, index)]
    frame["latency_p99_ms"] = [p99_ms_by_bin[v][k] for v, k in zip(version_index, index)]
    frame["version"] = pd.Categorical.from_codes(version_index, categories=list(version_names))
    return frame
