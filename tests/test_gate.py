"""The health gate (analysis.HealthWatch): threshold, minRequests, sliding window, verdicts.

Most tests drive HealthWatch alone, with a fake recorder whose new-version requests are placed
by hand, so every count the gate sees is known exactly. Thresholds are binary fractions (0, 1/4,
1/2) so that "exactly at the threshold" is exact in floating point too. The end-to-end tests at
the bottom check that a Canary wires the gate to the real recorder the same way.
"""

from __future__ import annotations

from collections.abc import Generator
from types import SimpleNamespace
from typing import Any

import pytest
import simpy
from builders import scenario

import simdeploy as sd
from simdeploy.analysis import HealthWatch
from simdeploy.scenario import HealthGate


class FakeRecorder:
    """New-version requests as (arrival_s, failed); a window counts arrivals in [start, end)."""

    def __init__(self, requests: list[tuple[float, bool]]) -> None:
        self.requests = requests
        self.events: list[tuple[float, str, str, str]] = []
        self.env: simpy.Environment | None = None
        self.abort_decided_s: float | None = None
        self.analysis_verdict = ""

    def new_version_window(self, start_s: float, end_s: float) -> tuple[int, int]:
        inside = [failed for t, failed in self.requests if start_s <= t < end_s]
        return len(inside), sum(inside)

    def event(self, kind: str, version: str, replicas: int, detail: str) -> None:
        assert self.env is not None
        self.events.append((self.env.now, kind, version, detail))

    def decide_abort(self) -> None:
        assert self.env is not None
        if self.abort_decided_s is None:
            self.abort_decided_s = self.env.now


def spread(start_s: float, end_s: float, per_s: int, failed: bool) -> list[tuple[float, bool]]:
    """``per_s`` requests a second, evenly spaced in [start_s, end_s), never on a boundary."""
    n = round((end_s - start_s) * per_s)
    return [(start_s + (i + 0.5) / per_s, failed) for i in range(n)]


def some(start_s: float, end_s: float, total: int, failed: int) -> list[tuple[float, bool]]:
    """``total`` requests evenly spread in [start_s, end_s), the first ``failed`` of them failed."""
    step = (end_s - start_s) / total
    return [(start_s + (i + 0.5) * step, i < failed) for i in range(total)]


class Watched:
    """A rollout process (sleeping for ever until interrupted) watched by a HealthWatch."""

    def __init__(self, gate: HealthGate, requests: list[tuple[float, bool]]) -> None:
        self.env = simpy.Environment()
        self.recorder = FakeRecorder(requests)
        self.recorder.env = self.env
        ctx = SimpleNamespace(env=self.env, recorder=self.recorder,
                              scenario=SimpleNamespace(release=SimpleNamespace(
                                  new=SimpleNamespace(name="v2"))))
        self.interrupted_at: float | None = None
        self.cause: Any = None
        self.passed_at: float | None = None
        self.target = self.env.process(self._rollout())
        self.watch = HealthWatch(ctx, gate, self.target)  # type: ignore[arg-type]
        self.watch.passed.callbacks.append(self._passed)

    def _rollout(self) -> Generator[simpy.Event, Any, None]:
        try:
            yield self.env.timeout(10_000)
        except simpy.Interrupt as interrupt:
            self.interrupted_at = self.env.now
            self.cause = interrupt.cause

    def _passed(self, _event: simpy.Event) -> None:
        self.passed_at = self.env.now

    def run(self, until_s: float) -> Watched:
        self.env.run(until=until_s)
        return self


def gate(max_error_rate: float, *, window: float = 10, interval: float = 10,
         min_requests: int = 4) -> HealthGate:
    return HealthGate(max_error_rate=max_error_rate, window=window, interval=interval,
                      min_requests=min_requests)


# --- threshold: failed / requests > maxErrorRate, strictly -----------------------------------


@pytest.mark.parametrize(("max_error_rate", "requests", "failed"), [
    (0.25, 20, 5),   # 25 % failed, threshold 25 %
    (0.25, 4, 1),
    (0.5, 10, 5),
    (0.0, 20, 0),    # a zero-tolerance gate passes a window without a single failure
    (0.29, 100, 29),  # 0.29 × 100 is 28.999999999999996 in floats: compare the fraction
    (0.57, 100, 57),
])
def test_error_rate_exactly_at_the_threshold_passes_the_check(
        max_error_rate: float, requests: int, failed: int) -> None:
    w = Watched(gate(max_error_rate), some(0, 10, requests, failed)).run(25)
    assert w.interrupted_at is None
    assert w.recorder.events == []
    assert w.passed_at == 10  # the first check saw a whole window, enough requests, healthy


@pytest.mark.parametrize(("max_error_rate", "requests", "failed"), [
    (0.25, 20, 6),   # one failure over 25 %
    (0.25, 4, 2),
    (0.5, 10, 6),
    (0.0, 20, 1),    # zero tolerance: one failure fails
])
def test_one_failure_over_the_threshold_fails_the_check_and_interrupts(
        max_error_rate: float, requests: int, failed: int) -> None:
    w = Watched(gate(max_error_rate), some(0, 10, requests, failed)).run(25)
    assert w.interrupted_at == 10
    assert w.cause == "health gate failed"
    assert w.watch.failed
    assert w.passed_at is None
    assert [(t, kind, version) for t, kind, version, _ in w.recorder.events] == \
        [(10, "analysis_failed", "v2")]
    assert w.recorder.events[0][3].startswith(f"{failed}/{requests} failed")


def test_twice_the_threshold_fails_the_check() -> None:
    # 10 of 20 failed against a 25 % gate: double the allowed rate is far from a pass.
    w = Watched(gate(0.25), some(0, 10, 20, 10)).run(25)
    assert w.interrupted_at == 10


# --- minRequests: fewer requests in the window give no verdict -------------------------------


def test_a_window_one_request_short_of_min_requests_gives_no_verdict() -> None:
    # 9 requests, all failed, minRequests 10: neither failed nor passed, at any check.
    w = Watched(gate(0.25, min_requests=10), some(0, 10, 9, 9)).run(55)
    assert w.interrupted_at is None
    assert w.passed_at is None
    assert w.recorder.events == []


def test_a_window_with_exactly_min_requests_all_failed_fails() -> None:
    w = Watched(gate(0.25, min_requests=10), some(0, 10, 10, 10)).run(55)
    assert w.interrupted_at == 10


def test_a_healthy_window_below_min_requests_does_not_pass() -> None:
    w = Watched(gate(0.25, min_requests=10), some(0, 10, 9, 0)).run(55)
    assert w.passed_at is None
    w = Watched(gate(0.25, min_requests=10), some(0, 10, 10, 0)).run(55)
    assert w.passed_at == 10


# --- the window slides: each check looks at the last `window` seconds only -------------------


def test_failures_in_the_latest_window_fail_the_check_after_a_long_healthy_history() -> None:
    # 100 s healthy at 10/s, then 10 s all failing: the check at 110 s sees [100, 110) with
    # 100 of 100 failed. (Counted from the gate's start it would be 100 of 1100, 9 %.)
    requests = spread(0, 100, 10, False) + spread(100, 110, 10, True)
    w = Watched(gate(0.25, min_requests=20), requests).run(130)
    assert w.interrupted_at == 110
    assert w.passed_at == 10


def test_failures_older_than_the_window_do_not_fail_a_later_check() -> None:
    # [0, 10): 15 requests, all failed, below minRequests 20 → no verdict at 10 s. [10, 60):
    # healthy at 2/s → 20 healthy requests in every later window: the check at 20 s passes and
    # no check ever fails. (Counted from the gate's start, 15 of 35 failed at 20 s: 43 %.)
    requests = some(0, 10, 15, 15) + spread(10, 60, 2, False)
    w = Watched(gate(0.25, min_requests=20), requests).run(65)
    assert w.interrupted_at is None
    assert w.passed_at == 20


def test_window_shorter_than_interval_sees_only_its_own_seconds() -> None:
    # window 5, interval 10: failures in [0, 5) are never looked at; the check at 10 sees
    # [5, 10), healthy. Failures in [15, 20) are seen by the check at 20.
    requests = spread(0, 5, 10, True) + spread(5, 15, 10, False) + spread(15, 20, 10, True)
    w = Watched(gate(0.25, window=5, min_requests=20), requests).run(30)
    assert w.passed_at == 10
    assert w.interrupted_at == 20


def test_gate_passes_only_after_a_whole_window_since_it_started() -> None:
    # window 10, interval 4: the checks at 4 and 8 s are healthy but partial; 12 s passes.
    w = Watched(gate(0.25, interval=4, min_requests=4), spread(0, 40, 10, False)).run(40)
    assert w.passed_at == 12
    assert w.interrupted_at is None


def test_stopped_gate_no_longer_fails() -> None:
    w = Watched(gate(0.25, min_requests=4), spread(0, 40, 10, True))
    w.watch.stop()
    w.run(40)
    assert w.interrupted_at is None
    assert w.recorder.events == []


# --- end to end: a Canary's gate on the real recorder ----------------------------------------


def _gated_canary(error_rate: float, weight: int, health_gate: dict[str, Any],
                  rate_rps: float = 100) -> sd.RunResult:
    return sd.run(scenario(
        duration=120, deployment={"replicas": 4},
        traffic={"arrivals": {"type": "poisson", "rateRps": rate_rps}, "users": 500},
        release={"new": {"name": "v2", "errorRate": error_rate}},
        strategies={"c": {"type": "Canary", "healthGate": health_gate,
                          "steps": [{"setWeight": weight}, {"pause": {"duration": 60}}]}}),
        seed=3)


def test_canary_zero_tolerance_gate_promotes_a_flawless_release() -> None:
    # maxErrorRate 0 and a new version that never fails: every check is exactly at the
    # threshold (0 of n), so the canary is promoted. One failure in a window aborts it.
    g = {"maxErrorRate": 0, "window": 10, "interval": 5, "minRequests": 20}
    assert _gated_canary(0.0, 50, g).summary["outcome"] == "completed"
    assert _gated_canary(0.02, 50, g).summary["outcome"] == "aborted"


def test_canary_gate_aborts_a_release_failing_above_the_threshold() -> None:
    # 30 % errors against a 20 % gate, ~500 canary requests per window: 5 standard errors above.
    g = {"maxErrorRate": 0.2, "window": 10, "interval": 5, "minRequests": 20}
    result = _gated_canary(0.3, 50, g)
    assert result.summary["outcome"] == "aborted"
    # and 10 % errors (5 standard errors below) is promoted
    assert _gated_canary(0.1, 50, g).summary["outcome"] == "completed"


def test_canary_gate_never_judges_a_share_too_small_for_min_requests() -> None:
    # Weight 1 of 50 requests/s: ~5 canary requests per 10 s window, all failing. With
    # minRequests 40 no check reaches a verdict and the broken release is promoted (why a small
    # canary needs a longer window); with minRequests 3 the gate catches it.
    unjudged = _gated_canary(1.0, 1, {"maxErrorRate": 0.1, "window": 10, "interval": 5,
                                      "minRequests": 40}, rate_rps=50)
    assert unjudged.summary["outcome"] == "completed"
    assert (unjudged.events.kind == "analysis_failed").sum() == 0
    caught = _gated_canary(1.0, 1, {"maxErrorRate": 0.1, "window": 10, "interval": 5,
                                    "minRequests": 3}, rate_rps=50)
    assert caught.summary["outcome"] == "aborted"
