"""The result of one run: its summary numbers, its timeline and its events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["RunResult"]


@dataclass(frozen=True)
class RunResult:
    """One strategy, one seed.

    Attributes:
        scenario: the scenario name.
        strategy: the strategy's name in the scenario.
        seed: the seed the run drew every random number from.
        summary: downtime, resources, exposure, latency and outcome (see ``SUMMARY_KEYS``).
        timeline: one row per sample interval and version.
        events: every scale, weight change, switch, pause, abort, deadline and the outcome.
        requests: one row per request when the run was asked to keep them, else None.
        segments: one row per user segment (``traffic.segments``; a single ``all`` row
            without segments): ``segment, users_total, users_exposed_new,
            users_with_errors, requests_total, requests_failed``.
        segment_timeline: with ``traffic.segments``, one row per sample interval and segment
            (:data:`simdeploy.metrics.SEGMENT_TIMELINE_COLUMNS`): ``time_s, segment,
            requests, requests_new, requests_failed, users_exposed_new_cum`` (requests that
            arrived in the interval, of which routed to the new version; failures in it;
            the segment's users served by the new version so far). None without segments:
            unlike ``segments`` there is no ``all`` row, since a run without segments
            counts nothing per interval beyond its ``timeline``.
    """

    scenario: str
    strategy: str
    seed: int
    summary: dict[str, Any]
    timeline: pd.DataFrame
    events: pd.DataFrame
    requests: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    segment_timeline: pd.DataFrame | None = None
