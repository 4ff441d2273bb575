"""The Service (routing.Service): least-request picks, user stickiness, router weights.

Unit tests build a Service on a bare simpy.Environment with stand-in pods that carry only what
routing reads (version, busy, queue), so the loads are set by hand. End-to-end tests read the
per-request rows of a run (``keep_requests=True``): which version served which user, when.
Expected shares are hard-coded from probability, not from the code: two independent uniform
choices among k pods, or the router weight itself.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import simpy
from builders import scenario

import simdeploy as sd
from simdeploy.distributions import uniform_stream
from simdeploy.routing import Service


class StubPod:
    """What routing reads from a pod: its version, requests in service and waiting."""

    def __init__(self, version: int, busy: int = 0, queued: int = 0) -> None:
        self.version = version
        self.busy = busy
        self.queue = [None] * queued


class StubRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int, str]] = []

    def event(self, kind: str, version: str, replicas: int, detail: str) -> None:
        self.events.append((kind, version, replicas, detail))


def service(policy: str, pods: list[StubPod], *, stickiness: str = "none",
            n_users: int = 10, seed: int = 0) -> Service:
    svc = Service(simpy.Environment(), 2, policy, stickiness,
                  uniform_stream(np.random.default_rng(99)), np.random.default_rng(seed),
                  n_users, StubRecorder())  # type: ignore[arg-type]
    for pod in pods:
        svc.add_endpoint(pod)  # type: ignore[arg-type]
    return svc


def shares(svc: Service, pods: list[StubPod], n: int, user: int = 0) -> list[float]:
    counts = dict.fromkeys(map(id, pods), 0)
    for _ in range(n):
        counts[id(svc.route(user))] += 1
    return [counts[id(p)] / n for p in pods]


# --- least-request: the less loaded of two random choices ------------------------------------


@pytest.mark.parametrize(("loads", "expected"), [
    # (busy, queued) per pod, loads all different. Two independent uniform choices among 3
    # pods, the less loaded wins: the heaviest only when both land on it (1/9), the middle one
    # when both land on it or on it and the heaviest (3/9), the lightest otherwise (5/9).
    ([(2, 0), (2, 1), (2, 2)], [5 / 9, 3 / 9, 1 / 9]),   # busy equal, only the queue differs
    ([(0, 0), (1, 0), (2, 0)], [5 / 9, 3 / 9, 1 / 9]),   # no queues, busy differs
    ([(3, 0), (1, 1), (0, 4)], [3 / 9, 5 / 9, 1 / 9]),   # loads 3, 2, 4: busy alone misleads
])
def test_least_request_picks_the_less_loaded_of_two_random_choices(
        loads: list[tuple[int, int]], expected: list[float]) -> None:
    pods = [StubPod(0, busy, queued) for busy, queued in loads]
    got = shares(service("least-request", pods), pods, 18_000)
    # standard error at 5/9 with 18 000 picks is 0.0037: a tolerance of 4 of them
    assert got == pytest.approx(expected, abs=0.015)


def test_least_request_counts_queued_requests_when_busy_is_equal() -> None:
    # Both pods have every worker busy; one has 3 requests waiting. It is picked only when both
    # choices land on it: 1/4 of the time (not 1/2, not 3/4).
    idle_queue, long_queue = StubPod(0, busy=8, queued=0), StubPod(0, busy=8, queued=3)
    got = shares(service("least-request", [idle_queue, long_queue]), [idle_queue, long_queue],
                 20_000)
    assert got[1] == pytest.approx(0.25, abs=0.015)


def _mean_latency_s(policy: str, seed: int) -> float:
    # 4 single-worker pods, exponential service 0.1 s, 36 requests/s: 90 % utilisation, no
    # rollout (the release comes at the very end and is not measured).
    s = scenario(duration=1000, deployment={"replicas": 4},
                 pod={"workers": 1, "queueLimit": None},
                 service={"policy": policy},
                 traffic={"arrivals": {"type": "poisson", "rateRps": 36}, "users": 500},
                 release={"at": 999, "current": {"name": "v1", "serviceTime":
                                                 {"type": "exponential", "mean": 0.1}}},
                 strategies={"r": {"type": "Recreate"}})
    rows = sd.run(s, seed=seed, keep_requests=True).requests
    ok = rows[(rows.outcome == "ok") & (rows.arrival_s < 990)]
    assert len(ok) > 30_000
    return float((ok.end_s - ok.arrival_s).mean())


@pytest.mark.parametrize("seed", [0, 1])
def test_least_request_beats_random_at_high_utilisation(seed: int) -> None:
    # Random routing makes each pod an M/M/1 queue at ρ = 0.9: mean response 0.1/(1 − 0.9)
    # = 1.0 s. Least-request (two choices) keeps queues short: ≈ 0.4 s here (0.33–0.45 s
    # over 12 seeds, random 0.84–1.19 s).
    random = _mean_latency_s("random", seed)
    least = _mean_latency_s("least-request", seed)
    assert random == pytest.approx(1.0, rel=0.3)
    assert least < 0.6
    assert least < 0.6 * random


# --- stickiness, unit level ------------------------------------------------------------------


def test_sticky_user_keeps_the_first_version_while_both_are_routed() -> None:
    pods = [StubPod(0), StubPod(1)]
    svc = service("random", pods, stickiness="user", n_users=50)
    for user in range(50):
        versions = {svc.route(user).version for _ in range(20)}  # type: ignore[union-attr]
        assert len(versions) == 1
    # without stickiness the same pool sends a user to both versions
    free = service("random", pods, n_users=50)
    assert {free.route(0).version for _ in range(20)} == {0, 1}  # type: ignore[union-attr]


def test_sticky_user_moves_when_the_selector_drops_their_version() -> None:
    # The old version still has endpoints, but the Service no longer selects it.
    pods = [StubPod(0), StubPod(1)]
    svc = service("random", pods, stickiness="user", n_users=50)
    first = [svc.route(user).version for user in range(50)]  # type: ignore[union-attr]
    assert set(first) == {0, 1}
    svc.select((1,), at_once=True)
    assert {svc.route(user).version for user in range(50)} == {1}  # type: ignore[union-attr]
    # and having moved, they stay on 1 when both are selected again
    svc.select((0, 1), at_once=True)
    assert {svc.route(user).version for user in range(50)} == {1}  # type: ignore[union-attr]


# --- stickiness, end to end ------------------------------------------------------------------


def _versions_by_user(rows: pd.DataFrame) -> pd.Series:
    served = rows[rows.outcome != "no_endpoint"].sort_values(["arrival_s", "id"])
    return served.groupby("user", observed=True).version.agg(lambda v: list(v.astype(str)))


def _changes(versions: list[str]) -> int:
    return sum(a != b for a, b in itertools.pairwise(versions))


def test_sticky_users_change_version_at_most_once_during_a_rolling_update() -> None:
    # A user stays on v1 while v1 has endpoints, then moves to v2 for good: every user's
    # sequence of versions is v1…v1 v2…v2 (or one version), never back and forth. (Users seen
    # before the release all stay on v1 to the end; the many first seen during the rollout
    # are the ones spread over both versions.)
    s = scenario(duration=60, deployment={"replicas": 4},
                 service={"policy": "random", "stickiness": "user"},
                 traffic={"arrivals": {"type": "poisson", "rateRps": 100}, "users": 3000},
                 release={"at": 2},
                 strategies={"r": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0}})
    rows = sd.run(s, seed=2, keep_requests=True).requests
    by_user = _versions_by_user(rows)
    assert by_user.map(lambda v: v == sorted(v)).all()  # never v2 then v1
    assert by_user.map(_changes).max() == 1
    # both versions were served side by side for a while, to many returning users
    v2_from = rows[rows.version == "v2"].arrival_s.min()
    v1_until = rows[rows.version == "v1"].arrival_s.max()
    overlap = rows[(rows.arrival_s > v2_from) & (rows.arrival_s < v1_until)]
    assert v1_until - v2_from > 5
    assert (overlap.groupby("user", observed=True).size() >= 2).sum() > 200
    assert set(overlap.version.astype(str)) == {"v1", "v2"}
    late = rows[rows.arrival_s > v1_until]
    assert set(late.version.astype(str)) == {"v2"}


def _weighted_canary(**extra: Any) -> sd.RunResult:
    return sd.run(scenario(
        duration=90, deployment={"replicas": 4},
        service={"policy": "random", "stickiness": "user", "endpointPropagationDelay": 1.0},
        traffic={"arrivals": {"type": "poisson", "rateRps": 100}, "users": 4000},
        release={"at": 2, **extra.pop("release", {})},
        strategies={"c": {"type": "Canary", "splitBy": "request",
                          "steps": [{"setWeight": 30}, {"pause": {"duration": 40}}],
                          **extra}}), seed=1, keep_requests=True)


def test_sticky_users_keep_one_version_in_a_weighted_canary_by_request() -> None:
    result = _weighted_canary()
    ev = result.events
    weights = ev[ev.kind == "weight"]
    assert list(weights.replicas) == [30, 100]
    start, end = weights.time_s.iloc[0] + 1.0, weights.time_s.iloc[1]
    rows = result.requests
    phase = rows[(rows.arrival_s > start) & (rows.arrival_s < end)]
    per_user = phase.groupby("user", observed=True).version.nunique()
    assert per_user.max() == 1
    # non-vacuous: many users came back during the phase, some of them on the canary
    returning = phase.groupby("user", observed=True).size() >= 2
    on_v2 = phase[phase.version == "v2"].user.unique()
    assert returning.sum() > 500
    assert returning[returning.index.isin(on_v2)].sum() > 100


def test_sticky_users_follow_the_blue_green_switch_once_it_has_propagated() -> None:
    # Every user was pinned to blue before the switch; blue keeps its pods 30 s longer.
    # After the selector change reaches the proxies (1 s), no request goes to blue.
    s = scenario(duration=60, deployment={"replicas": 4},
                 service={"policy": "random", "stickiness": "user",
                          "endpointPropagationDelay": 1.0},
                 traffic={"arrivals": {"type": "poisson", "rateRps": 100}, "users": 300},
                 strategies={"bg": {"type": "BlueGreen", "scaleDownDelaySeconds": 30}})
    result = sd.run(s, seed=0, keep_requests=True)
    ev = result.events
    switch = float(ev[ev.kind == "switch"].time_s.iloc[0])
    blue_gone = float(ev[(ev.kind == "scale") & (ev.version == "v1")].time_s.iloc[0])
    assert blue_gone == pytest.approx(switch + 30)
    rows = result.requests
    after = rows[(rows.arrival_s > switch + 1.0 + 1e-9) & (rows.arrival_s < blue_gone)]
    assert len(after) > 2000
    assert set(after.version.astype(str)) == {"v2"}
    before = rows[rows.arrival_s < switch]
    assert set(before.version.astype(str)) == {"v1"}


def test_sticky_canary_users_go_back_to_stable_after_an_abort() -> None:
    # A bad canary is aborted; with abortScaleDownDelaySeconds 0 its pods stay up, yet once
    # weight 0 reaches the proxies (1 s) every user, canary users included, is on v1.
    result = _weighted_canary(release={"new": {"name": "v2", "errorRate": 0.5}},
                              abortScaleDownDelaySeconds=0,
                              healthGate={"maxErrorRate": 0.1, "window": 5, "interval": 5,
                                          "minRequests": 20})
    assert result.summary["outcome"] == "aborted"
    ev = result.events
    abort = float(ev[ev.kind == "abort"].time_s.iloc[0])
    rows = result.requests
    after = rows[rows.arrival_s > abort + 1.0 + 1e-9]
    assert set(after.version.astype(str)) == {"v1"}
    canary_users = set(rows[(rows.arrival_s < abort) & (rows.version == "v2")].user)
    returned = set(after[after.user.isin(canary_users)].user)
    assert len(returned) > 50
    tl = result.timeline
    assert (tl[(tl.time_s > abort + 5) & (tl.version == "v2")].available == 2).all()  # kept


# --- router weights: the canary's share is its weight, whatever its pod count ----------------


@pytest.mark.parametrize(("weight", "canary_pods", "expected_share"), [
    (50, 5, 0.50),   # 5 canary pods beside 10 stable: pod ratio 1/3, weight 1/2
    (5, 1, 0.05),    # 1 canary pod beside 10 stable: pod ratio 1/11 ≈ 0.091, weight 0.05
])
def test_weighted_canary_share_is_the_router_weight_not_the_pod_ratio(
        weight: int, canary_pods: int, expected_share: float) -> None:
    result = sd.run(scenario(
        duration=80, deployment={"replicas": 10},
        service={"policy": "random", "endpointPropagationDelay": 1.0},
        traffic={"arrivals": {"type": "poisson", "rateRps": 200}, "users": 1000},
        strategies={"c": {"type": "Canary", "trafficRouting": "weighted",
                          "steps": [{"setWeight": weight}, {"pause": {"duration": 40}}]}}),
        seed=0, keep_requests=True)
    ev = result.events
    weights = ev[ev.kind == "weight"]
    assert list(weights.replicas) == [weight, 100]
    promote = ev[(ev.kind == "scale") & (ev.version == "v2") & (ev.replicas == 10)]
    start, end = weights.time_s.iloc[0] + 1.0, float(promote.time_s.iloc[0])
    assert end - start > 39
    tl = result.timeline
    during = tl[(tl.time_s > start) & (tl.time_s < end)].set_index(["time_s", "version"]).pods
    assert set(during.xs("v2", level="version")) == {canary_pods}
    assert set(during.xs("v1", level="version")) == {10}
    rows = result.requests
    phase = rows[(rows.arrival_s > start) & (rows.arrival_s < end)]
    n = len(phase)
    assert n > 7000
    share = (phase.version == "v2").sum() / n
    # within 3 standard errors of the weight: a seed fails this 0.3 % of the time
    assert share == pytest.approx(expected_share,
                                  abs=3 * math.sqrt(expected_share * (1 - expected_share) / n))
