"""The model against results known in closed form: Erlang C, Recreate downtime, the preStop race."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import scenario

import simdeploy as sd


def erlang_c_mean_response(arrival_rps: float, service_rate: float, servers: int) -> float:
    """Mean time in system of an M/M/c queue (Erlang C waiting + one service)."""
    a = arrival_rps / service_rate
    rho = a / servers
    assert rho < 1
    top = a**servers / math.factorial(servers) / (1 - rho)
    bottom = sum(a**k / math.factorial(k) for k in range(servers)) + top
    p_wait = top / bottom
    return p_wait / (servers * service_rate - arrival_rps) + 1 / service_rate


@pytest.mark.parametrize(("pods", "workers", "utilisation"), [(4, 2, 0.7), (2, 4, 0.75)])
def test_mean_response_time_matches_erlang_c(pods: int, workers: int, utilisation: float) -> None:
    # Random routing splits a Poisson stream into independent Poisson streams, so every pod
    # is an M/M/c queue with c = workers and λ/pods arrivals per second.
    mean_service = 0.01
    rate = utilisation * pods * workers / mean_service
    s = scenario(
        duration=301,
        deployment={"replicas": pods},
        pod={"workers": workers, "queueLimit": None},
        service={"policy": "random"},
        traffic={"arrivals": {"type": "poisson", "rateRps": rate}},
        release={"at": 300, "current": {"name": "v1",
                                        "serviceTime": {"type": "exponential",
                                                        "mean": mean_service}}},
        strategies={"steady": {"type": "Recreate"}},
    )
    means = []
    for seed in (1, 2):  # two independent runs halve the variance of a heavily correlated mean
        requests = sd.run(s, seed=seed, keep_requests=True).requests
        steady = requests[(requests.arrival_s > 10) & (requests.arrival_s < 300)]
        assert (steady.outcome == "ok").all()
        means.append(float((steady.end_s - steady.arrival_s).mean()))
    measured = float(np.mean(means))
    expected = erlang_c_mean_response(rate / pods, 1 / mean_service, workers)
    assert measured == pytest.approx(expected, rel=0.03)


def test_time_average_in_service_is_arrival_rate_times_mean_service_time() -> None:
    # With far more workers than requests in a pod, nobody queues, so the time-average number
    # of requests in the system is the busy workers, λ·E[S] with λ and E[S] as the scenario
    # states them (300 rps × 50 ms = 15). Measured from the run's arrival and end times; the
    # expected value comes from the inputs, not from the same arrays.
    s = scenario(duration=201, release={"at": 200,
                                        "current": {"name": "v1", "serviceTime": {
                                            "type": "exponential", "mean": 0.05}}},
                 pod={"workers": 200, "queueLimit": None},
                 strategies={"r": {"type": "Recreate"}},
                 traffic={"arrivals": {"type": "poisson", "rateRps": 300}})
    requests = sd.run(s, seed=1, keep_requests=True).requests
    t = np.linspace(10, 190, 36001)
    arrived = np.searchsorted(np.sort(requests.arrival_s.to_numpy()), t)
    left = np.searchsorted(np.sort(requests.end_s.to_numpy()), t)
    busy = float((arrived - left).mean())
    assert busy == pytest.approx(300 * 0.05, rel=0.04)


# --- Recreate: downtime in closed form ------------------------------------------------------
#
# With constant timings and no traffic, old pods are deleted at R + d (controller sync delay
# d), exit at SIGTERM, which comes after preStop p (cut off at the grace period when it
# overruns it), and the controller creates the new pods one sync delay later. A new pod
# is scheduled after s, its container runs after c, and the first readiness probe at or after
# the app is up (warm-up w) passes: probes at initialDelay + k * period after the container
# starts. Both the removal of the old endpoints and the arrival of the new ones reach the
# proxies one propagation delay late, so that delay cancels out:
#     downtime = exit + d + s + c + ready_offset, measured from the deletion.


@pytest.mark.parametrize(
    ("pre_stop", "grace", "warmup", "initial", "period", "expected"),
    [
        # exit + d + s + c + ready offset, worked by hand (d 0.1, s 0.5, c 2):
        (0.0, 30.0, 3.0, 1.0, 2.0, 5.6),    # 0 + 2.6 + 3 (probes at 1, 3: ready at 3)
        (5.0, 30.0, 3.0, 1.0, 2.0, 10.6),   # preStop delays SIGTERM by 5 s: 5 + 2.6 + 3
        (10.0, 3.0, 0.5, 1.0, 10.0, 6.6),   # preStop cut off at grace 3: 3 + 2.6 + 1 (probe at 1)
        (0.0, 30.0, 7.5, 0.0, 2.5, 10.1),   # probes at 0, 2.5, 5, 7.5: 0 + 2.6 + 7.5
    ],
)
def test_recreate_downtime_closed_form(pre_stop: float, grace: float, warmup: float,
                                       initial: float, period: float, expected: float) -> None:
    d, s, c = 0.1, 0.5, 2.0
    scn = scenario(
        deployment={"replicas": 3, "controllerSyncDelay": d},
        pod={"schedulingDelay": s, "preStopSeconds": pre_stop,
             "terminationGracePeriodSeconds": grace,
             "readinessProbe": {"initialDelaySeconds": initial, "periodSeconds": period}},
        traffic={"arrivals": {"type": "poisson", "rateRps": 0}},
        release={"new": {"name": "v2", "containerStart": c, "warmup": warmup}},
        strategies={"recreate": {"type": "Recreate"}},
    )
    result = sd.run(scn)
    assert result.summary["downtime_s"] == pytest.approx(expected)
    # complete once every new pod is available and the controller has seen it
    assert result.summary["rollout_duration_s"] == pytest.approx(d + expected + d)
    assert result.summary["peak_pods"] == 3
    assert result.summary["outcome"] == "completed"


# --- RollingUpdate: the termination race ----------------------------------------------------
#
# maxSurge 1, maxUnavailable 0, constant propagation delay D, controller sync delay δ. When
# new pod k becomes available (Ready at t), the controller deletes one old pod at t + δ. With no
# preStop hook the old pod refuses connections at once, but the proxies keep sending it its
# share until t + δ + D. Its share is 1/N of the traffic while the view holds N endpoints, and
# 1/(N+1) from t + D, when new pod k reaches the view. So each replaced pod costs
#     λ · ((D − δ)/N + δ/(N + 1))
# refused requests, and the rollout about λ · (D − δ + δ·N/(N+1)), as long as pods start more
# slowly than D (the windows then never overlap). A preStop sleep ≥ D closes the window.


def _race_scenario(pre_stop: float, rate: float, pods: int, prop: float, sync: float):
    return scenario(
        duration=120,
        deployment={"replicas": pods, "controllerSyncDelay": sync},
        pod={"workers": 50, "preStopSeconds": pre_stop},
        service={"policy": "random", "endpointPropagationDelay": prop},
        traffic={"arrivals": {"type": "poisson", "rateRps": rate}},
        strategies={"rolling": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0}},
    )


def test_rolling_without_prestop_fails_rate_times_delay() -> None:
    rate, pods, prop, sync = 1000.0, 10, 2.0, 0.1
    expected = rate * (prop - sync + sync * pods / (pods + 1))
    refused = [sd.run(_race_scenario(0.0, rate, pods, prop, sync), seed=seed).summary
               for seed in range(3)]
    mean_refused = np.mean([r["requests_refused"] for r in refused])
    assert all(r["outcome"] == "completed" for r in refused)
    # three runs of a Poisson count with mean ≈ 2000: the standard error is ≈ 26
    assert mean_refused == pytest.approx(expected, rel=0.05)
    assert all(r["requests_failed"] == r["requests_refused"] for r in refused)


@pytest.mark.parametrize("pre_stop", [2.0, 5.0])
def test_rolling_with_prestop_at_least_propagation_fails_nothing(pre_stop: float) -> None:
    summary = sd.run(_race_scenario(pre_stop, 1000.0, 10, 2.0, 0.1), seed=0).summary
    assert summary["outcome"] == "completed"
    assert summary["requests_total"] > 100_000
    assert summary["requests_failed"] == 0


def test_short_prestop_only_shrinks_the_window() -> None:
    rate, pods, prop, sync, pre_stop = 1000.0, 10, 2.0, 0.1, 1.0
    # SIGTERM comes p seconds after the deletion: the refusing window is D − p long and
    # the new pod is already in the view during it (it arrived at t + D − δ < t + p + ...).
    summary = sd.run(_race_scenario(pre_stop, rate, pods, prop, sync), seed=0).summary
    window_start, window_end, new_in_view = pre_stop, prop, prop - sync
    expected_per_pod = rate * (
        max(0.0, min(window_end, new_in_view) - window_start) / pods
        + (window_end - max(window_start, new_in_view)) / (pods + 1)
    )
    assert summary["requests_refused"] == pytest.approx(pods * expected_per_pod, rel=0.1)
