"""What an analysis can measure: the simulation's metrics provider, queried like Prometheus.

A real canary analysis asks a metrics backend a question about the last minute or so (the
success rate of the canary's requests, its p99 latency) and gets back a *vector*: one value
per matching series, or none at all when no request was seen. Argo Rollouts hands that vector
to the condition as ``result`` (``metricproviders/prometheus/prometheus.go processResponse``:
``result[0]`` is the first series' value), and Flagger treats "no values" as a failed check
(``fluxcd/flagger pkg/controller/scheduler_metrics.go runBuiltinMetricChecks``). So low traffic
produces the Error and Inconclusive results real users see, and simdeploy's provider keeps
that shape: :meth:`Provider.query` returns ``[value]`` or ``[]``.

Queries (``query``), over the window ``[now − window, now)``:

* ``request-count`` — requests that reached a pod of the version (by arrival);
* ``success-rate`` / ``error-rate`` — failed requests over requests, as fractions 0–1: a
  failure is any outcome but success that a pod of the version gave (5xx, refused, overload,
  killed, timeout), as a mesh's proxy reports it; requests that found no endpoint never
  reached a version and are not counted;
* ``latency-p50`` … ``latency-p99`` — percentiles of the version's successful responses that
  completed in the window, in milliseconds.

``version`` is ``canary`` (the new version), ``stable`` (the current one) or
``canary-minus-stable`` (their difference, empty unless both have a value).

A Kayenta judge (:mod:`simdeploy.kayenta_stage`) reads *series* instead: one value per step
of a window (:meth:`Provider.series`), as a metrics store answers a range query at a
``step``. A bucket without requests is NaN (so Kayenta's ``nanStrategy`` decides), except for
``request-count``, which is 0. Latency series over long windows would need every latency of
hours; instead the judge registers its grid of buckets when it starts
(:meth:`LatencyWindows.track`) and :class:`LatencyWindows` closes each bucket's percentiles
into a compact per-version series as the run passes the bucket's end, keeping raw latencies
only for its horizon (at least one step).
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from simdeploy.records import Recorder

__all__ = ["LATENCY_QUERIES", "QUERIES", "VERSIONS", "LatencyWindows", "Provider",
           "series_buckets"]

LATENCY_QUERIES = {"latency-p50": 50.0, "latency-p90": 90.0, "latency-p95": 95.0,
                   "latency-p99": 99.0}
"""Latency queries and the percentile each one reads."""

QUERIES = ("success-rate", "error-rate", "request-count", *LATENCY_QUERIES)
"""Every query the simulation provider answers."""

VERSIONS = ("canary", "stable", "canary-minus-stable")
"""Whose requests a query reads."""


def series_buckets(start_s: float, end_s: float, step_s: float) -> list[tuple[float, float]]:
    """The buckets ``[start + k·step, min(start + (k+1)·step, end))`` of a range query; the
    last one is shorter when the window is not a whole number of steps."""
    if step_s <= 0:
        raise ValueError(f"step must be > 0, got {step_s!r}")
    n = max(0, math.ceil((end_s - start_s) / step_s - 1e-9))
    return [(start_s + k * step_s, min(start_s + (k + 1) * step_s, end_s)) for k in range(n)]


class _Grid:
    """Per-step percentiles of every version, closed bucket by bucket: ``values[v][k]`` holds
    the percentiles (ms, in the order of ``qs``; NaN without latencies) of bucket
    ``[origin + k·step, origin + (k+1)·step)``, or None when its latencies were gone when it
    closed."""

    __slots__ = ("closed", "origin", "qs", "step", "values")

    def __init__(self, origin: int, step: int, qs: tuple[float, ...], n_versions: int) -> None:
        self.origin = origin
        self.step = step
        self.qs = qs
        self.closed = 0
        self.values: list[list[tuple[float, ...] | None]] = [[] for _ in range(n_versions)]

    @property
    def next_end(self) -> int:
        return self.origin + (self.closed + 1) * self.step


class LatencyWindows:
    """The recent successful responses' latencies of each version, a second at a time.

    Kept only when some analysis asks for a latency percentile, and only for ``horizon_s``
    (the longest window asked): memory follows the window, not the run. A Kayenta judge that
    needs percentiles over a longer window registers a grid of step buckets (:meth:`track`);
    each bucket's percentiles are computed once, when the run is past the bucket's end and
    before its latencies are dropped (the horizon must be at least one step).
    """

    __slots__ = ("_evicted_to", "_grids", "_next_close", "_seconds", "horizon_s")

    def __init__(self, n_versions: int, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self._seconds: list[deque[tuple[int, array]]] = [deque() for _ in range(n_versions)]
        self._evicted_to = [-(2**62)] * n_versions
        """Per version: the seconds before this one were dropped."""
        self._grids: list[_Grid] = []
        self._next_close = math.inf

    def add(self, version: int, now: float, latency_s: float) -> None:
        """A response of ``version`` completed at ``now`` after ``latency_s``."""
        second = int(now)
        seconds = self._seconds[version]
        if not seconds or seconds[-1][0] != second:
            if second >= self._next_close:
                self._close(second)  # before anything is dropped
            seconds.append((second, array("d")))
            oldest = second - math.ceil(self.horizon_s) - 1
            while seconds and seconds[0][0] < oldest:
                self._evicted_to[version] = seconds.popleft()[0] + 1
        seconds[-1][1].append(latency_s)

    def track(self, origin_s: float, step_s: float, qs: tuple[float, ...], now: float) -> None:
        """Keep per-step percentiles ``qs`` of every version from ``origin_s`` on.

        ``origin_s`` is floored and ``step_s`` must be whole seconds, at most the horizon.
        Buckets that have already ended are closed now, from the latencies still kept.
        """
        step = int(step_s)
        if step != step_s or step < 1:
            raise ValueError(f"a latency series' step must be whole seconds, got {step_s!r}")
        if step > self.horizon_s + 1e-9:
            raise ValueError(f"step {step_s:g}s is longer than the latency horizon "
                             f"{self.horizon_s:g}s")
        origin = math.floor(origin_s)
        qs = tuple(sorted(set(qs)))
        for grid in self._grids:
            if (grid.step == step and grid.origin <= origin
                    and (origin - grid.origin) % step == 0 and set(qs) <= set(grid.qs)):
                return
        self._grids.append(_Grid(origin, step, qs, len(self._seconds)))
        self._next_close = min(self._next_close, self._grids[-1].next_end)
        self._close(math.floor(now))

    def _close(self, second: int) -> None:
        """Close every grid bucket that ends at or before ``second``."""
        for grid in self._grids:
            while grid.next_end <= second:
                start = grid.origin + grid.closed * grid.step
                end = start + grid.step
                for version, values in enumerate(grid.values):
                    values.append(self._percentiles(version, start, end, grid.qs))
                grid.closed += 1
        self._next_close = min((g.next_end for g in self._grids), default=math.inf)

    def _percentiles(self, version: int, start: int, end: int,
                     qs: tuple[float, ...]) -> tuple[float, ...] | None:
        """Percentiles (ms) of the latencies completed in whole seconds [start, end); NaN
        when there were none; None when some of them were already dropped."""
        if start < self._evicted_to[version]:
            return None
        data = self._data(version, start, end)
        if data is None:
            return (math.nan,) * len(qs)
        return tuple(float(v) * 1000.0 for v in np.percentile(data, qs))

    def _data(self, version: int, first: int, last: int) -> np.ndarray | None:
        chunks = [np.frombuffer(values, dtype=np.float64)
                  for second, values in self._seconds[version] if first <= second < last]
        if not chunks:
            return None
        data = np.concatenate(chunks)
        return data if len(data) else None

    def percentile_ms(self, version: int, start_s: float, end_s: float,
                      q: float) -> float | None:
        """The ``q``-th percentile (ms) of the latencies completed in [start_s, end_s), or
        None when there were none. Resolution: whole seconds at the window's edges."""
        data = self._data(version, math.floor(start_s), math.ceil(end_s))
        if data is None:
            return None
        return float(np.percentile(data, q)) * 1000.0

    def series_ms(self, version: int, start_s: float, end_s: float, step_s: float,
                  q: float) -> list[float]:
        """The ``q``-th percentile (ms) of each step bucket of [start_s, end_s), NaN where no
        latency completed: from a tracked grid where one holds the bucket, else from the
        latencies still kept (the same numbers either way).

        Raises:
            RuntimeError: a bucket's latencies are gone and no grid holds it (the judge did
                not :meth:`track` it, or the horizon is too short).
        """
        out = []
        for start, end in series_buckets(start_s, end_s, step_s):
            value = self._from_grid(version, start, end, q)
            if value is None:
                first = math.floor(start)
                if first < self._evicted_to[version]:
                    raise RuntimeError(f"latencies from {first}s on are no longer kept; "
                                       "a Kayenta judge must track its latency series")
                found = self.percentile_ms(version, start, end, q)
                value = math.nan if found is None else found
            out.append(value)
        return out

    def _from_grid(self, version: int, start: float, end: float, q: float) -> float | None:
        for grid in self._grids:
            k, rest = divmod(start - grid.origin, grid.step)
            if (rest == 0 and k >= 0 and end - start == grid.step and k < grid.closed
                    and q in grid.qs):
                values = grid.values[version][int(k)]
                if values is not None:
                    return values[grid.qs.index(q)]
        return None


class Provider:
    """Answers analysis queries from what the run has recorded so far."""

    def __init__(self, recorder: Recorder, stable_version: int = 0,
                 canary_version: int = 1) -> None:
        self.recorder = recorder
        self.versions = {"stable": stable_version, "canary": canary_version}

    def query(self, query: str, version: str, window_s: float, now: float) -> list[float]:
        """The query's vector over ``[now − window_s, now)``: ``[value]``, or ``[]``."""
        if version == "canary-minus-stable":
            canary = self.query(query, "canary", window_s, now)
            stable = self.query(query, "stable", window_s, now)
            return [canary[0] - stable[0]] if canary and stable else []
        index = self.versions[version]
        start = max(0.0, now - window_s)
        if query in LATENCY_QUERIES:
            windows = self.recorder.latency_windows
            if windows is None:
                raise RuntimeError("latency queries need the run's latency windows")
            value = windows.percentile_ms(index, start, now, LATENCY_QUERIES[query])
            return [] if value is None else [value]
        requests, failed = self.recorder.window(index, start, now)
        if requests == 0:
            return []
        if query == "request-count":
            return [float(requests)]
        rate = min(1.0, failed / requests)
        if query == "error-rate":
            return [rate]
        if query == "success-rate":
            return [1.0 - rate]
        raise ValueError(f"unknown query {query!r}")

    def series(self, query: str, version: str, start_s: float, end_s: float,
               step_s: float) -> list[float]:
        """The query's value in each ``step_s`` bucket of ``[start_s, end_s)``
        (:func:`series_buckets`), as a metrics store answers a range query.

        ``error-rate`` / ``success-rate`` are NaN in a bucket without requests,
        ``request-count`` is 0 there, and ``latency-pXX`` (ms) is NaN where no successful
        response completed. ``canary-minus-stable`` subtracts bucket by bucket.
        """
        if version == "canary-minus-stable":
            canary = self.series(query, "canary", start_s, end_s, step_s)
            stable = self.series(query, "stable", start_s, end_s, step_s)
            return [c - s for c, s in zip(canary, stable, strict=True)]
        index = self.versions[version]
        if query in LATENCY_QUERIES:
            windows = self.recorder.latency_windows
            if windows is None:
                raise RuntimeError("latency queries need the run's latency windows")
            return windows.series_ms(index, start_s, end_s, step_s, LATENCY_QUERIES[query])
        if query not in ("request-count", "error-rate", "success-rate"):
            raise ValueError(f"unknown query {query!r}")
        out = []
        for start, end in series_buckets(start_s, end_s, step_s):
            requests, failed = self.recorder.window(index, max(0.0, start), max(0.0, end))
            if query == "request-count":
                out.append(float(requests))
            elif requests == 0:
                out.append(math.nan)
            else:
                rate = min(1.0, failed / requests)
                out.append(rate if query == "error-rate" else 1.0 - rate)
        return out
