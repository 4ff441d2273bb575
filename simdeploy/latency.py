"""Response times, kept in memory that does not grow with the simulated duration.

A run used to keep every successful request's latency until the end, then group them by
timeline interval for the per-interval p99: about 75 bytes per simulated request at the peak,
so a long run ran out of memory for nothing. Two facts make a stream enough:

* responses complete in simulated-time order, so the latencies of one timeline interval all
  arrive before those of the next: the interval's exact p99 is computed when the next one
  starts, and its latencies are dropped;
* the whole run's p50 and p99 only need the distribution, which a log-bucketed histogram keeps
  to a relative resolution of 1e-4 in a fixed ~2 MiB (HdrHistogram's idea, with numpy).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import numpy as np

__all__ = ["LatencyRecorder", "histogram_percentiles"]

_LOW_S = 1e-6
"""Latencies below 1 µs share the first bucket (their exact minimum is kept)."""
_HIGH_S = 1e6
_STEP = math.log1p(1e-4)
"""Bucket width in log space: relative resolution 1e-4."""
_N_BUCKETS = math.ceil(math.log(_HIGH_S / _LOW_S) / _STEP) + 1


class LatencyRecorder:
    """Per-interval p99 per version, exact, and a whole-run latency histogram.

    The per-request path appends to :attr:`current` (one list per version) after calling
    :meth:`roll` when the interval changes; everything else happens once per interval.
    """

    __slots__ = ("bin", "current", "histogram", "max_s", "min_s", "n", "p99_ms")

    def __init__(self, n_versions: int, n_bins: int) -> None:
        self.bin = 0
        """The timeline interval whose latencies :attr:`current` holds."""
        self.current = [array("d") for _ in range(n_versions)]
        self.p99_ms = [[math.nan] * n_bins for _ in range(n_versions)]
        """p99 of the successful responses that completed in each interval, per version."""
        self.histogram = np.zeros(_N_BUCKETS, dtype=np.int64)
        self.n = 0
        self.min_s = math.inf
        self.max_s = -math.inf

    def roll(self, new_bin: int) -> None:
        """The interval ``new_bin`` starts: close the current one."""
        self.close()
        self.bin = new_bin

    def close(self) -> None:
        """Compute the current interval's p99s and fold its latencies into the histogram."""
        for version, values in enumerate(self.current):
            if not values:
                continue
            data = np.frombuffer(values, dtype=np.float64)
            self.p99_ms[version][self.bin] = float(np.percentile(data, 99)) * 1000.0
            self.n += len(data)
            self.min_s = min(self.min_s, float(data.min()))
            self.max_s = max(self.max_s, float(data.max()))
            buckets, counts = np.unique(_bucket(data), return_counts=True)
            self.histogram[buckets] += counts
            self.current[version] = array("d")

    def percentiles_ms(self, qs: Sequence[float]) -> list[float]:
        """Whole-run percentiles (0–100) of the latencies, ms; NaN when there were none."""
        return histogram_percentiles(self.histogram, self.n, self.min_s, self.max_s, qs)


def _bucket(latencies_s: np.ndarray) -> np.ndarray:
    clipped = np.clip(latencies_s, _LOW_S, _HIGH_S)
    return np.minimum((np.log(clipped / _LOW_S) / _STEP).astype(np.int64), _N_BUCKETS - 1)


def _representative_s(bucket: int) -> float:
    """The geometric middle of a bucket; 1 µs for the first, which holds everything below
    (so a latency under 1 µs is read to within 1 µs)."""
    if bucket == 0:
        return _LOW_S
    return _LOW_S * math.exp((bucket + 0.5) * _STEP)


def histogram_percentiles(histogram: np.ndarray, n: int, min_s: float, max_s: float,
                          qs: Sequence[float]) -> list[float]:
    """Percentiles (ms) as numpy's default (linear) method would give on the raw sample.

    The order statistics at ranks ⌊h⌋ and ⌈h⌉ (h = (n − 1)·q/100) are read from the buckets
    that hold them and interpolated, each within a relative 1e-4 of the true value; the
    smallest and the largest are exact.
    """
    if n == 0:
        return [math.nan for _ in qs]
    cumulative = np.cumsum(histogram)

    def order_statistic(rank: int) -> float:
        if rank == 0:
            return min_s  # the extremes are kept exactly
        if rank == n - 1:
            return max_s
        bucket = int(np.searchsorted(cumulative, rank + 1))
        return min(max(_representative_s(bucket), min_s), max_s)

    out = []
    for q in qs:
        h = (n - 1) * q / 100.0
        low, high = math.floor(h), math.ceil(h)
        a, b = order_statistic(low), order_statistic(high)
        out.append((a + (h - low) * (b - a)) * 1000.0)
    return out
