"""Latencies in memory flat in the simulated duration: exact per-interval p99, and whole-run
percentiles from a log-bucketed histogram within its 1e-4 resolution."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import simdeploy as sd
from simdeploy.latency import LatencyRecorder


def test_per_interval_p99_is_exact_against_the_raw_requests(tiny_mapping: dict[str, Any]
                                                            ) -> None:
    result = sd.run(sd.load_scenario(tiny_mapping), "canary", seed=2, keep_requests=True)
    ok = result.requests[result.requests.outcome == "ok"]
    expected = (ok.assign(bin=np.floor(ok.end_s).astype(int),
                          latency_ms=(ok.end_s - ok.arrival_s) * 1000)
                .groupby(["bin", "version"], observed=True).latency_ms
                .quantile(0.99))
    timeline = result.timeline.dropna(subset=["latency_p99_ms"])
    got = timeline.set_index([timeline.time_s.round().astype(int), "version"]).latency_p99_ms
    assert len(got) == len(expected) > 100
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key


@example(data=[0.0, 0.0, 1.0], q=50)  # below 1 µs: within 1 µs (a case random search found)
@given(data=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=300),
       q=st.sampled_from([0, 1, 25, 50, 90, 99, 99.9, 100]))
def test_whole_run_percentiles_within_the_resolution(data: list[float], q: float) -> None:
    recorder = LatencyRecorder(1, 4)
    for i, value in enumerate(data):
        bin_index = min(3, i * 4 // len(data))
        if bin_index != recorder.bin:
            recorder.roll(bin_index)
        recorder.current[0].append(value)
    recorder.close()
    [got] = recorder.percentiles_ms([q])
    expected = float(np.percentile(np.asarray(data), q)) * 1000
    # within 1e-4 relative of the order statistics (and exact at 0 and below 1 µs)
    assert got == pytest.approx(expected, rel=2e-4, abs=1e-3)


def test_a_run_with_no_success_has_no_percentiles() -> None:
    recorder = LatencyRecorder(2, 3)
    recorder.close()
    assert all(math.isnan(v) for v in recorder.percentiles_ms([50, 99]))
    assert all(math.isnan(v) for row in recorder.p99_ms for v in row)


def test_memory_holds_one_interval_at_a_time() -> None:
    recorder = LatencyRecorder(2, 1000)
    size = recorder.histogram.nbytes
    rng = np.random.default_rng(0)
    for k in range(1, 1000):
        for v in (0, 1):
            recorder.current[v].extend(rng.lognormal(-3, 1, 200).tolist())
        recorder.roll(k)
        assert all(len(values) == 0 for values in recorder.current)
    assert recorder.histogram.nbytes == size
    assert recorder.n == 999 * 400
