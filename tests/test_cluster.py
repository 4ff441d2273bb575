"""Pod lifecycle details: probes, an app that goes bad, restarts, Pending on a full cluster."""

from __future__ import annotations

import itertools

import pytest
from builders import scenario

import simdeploy as sd
from simdeploy.cluster import ready_offset


@pytest.mark.parametrize(
    ("warmup", "initial", "period", "success", "expected"),
    [
        (3.0, 1.0, 2.0, 1, 3.0),   # ticks at 1, 3: up at 3 → Ready at 3
        (3.1, 1.0, 2.0, 1, 5.0),   # just missed the tick at 3
        (0.5, 1.0, 2.0, 1, 1.0),   # up before the first probe
        (3.0, 1.0, 2.0, 3, 7.0),   # three passes in a row: 3, 5, 7
        (10.0, 0.0, 10.0, 1, 10.0),
    ],
)
def test_ready_offset_is_a_probe_tick(warmup, initial, period, success, expected) -> None:
    assert ready_offset(warmup, initial, period, success) == pytest.approx(expected)


def _unhealthy(liveness: dict | None) -> sd.Scenario:
    pod = {"readinessProbe": {"initialDelaySeconds": 0, "periodSeconds": 5,
                              "failureThreshold": 3},
           "livenessProbe": liveness}
    return scenario(
        duration=45, deployment={"replicas": 2}, pod=pod,
        service={"endpointPropagationDelay": 1.0},
        traffic={"arrivals": {"type": "poisson", "rateRps": 200}},
        release={"at": 44.5,
                 "current": {"name": "v1", "unhealthyAfter": 20, "warmup": 3}},
        strategies={"r": {"type": "Recreate"}},
    )


def test_readiness_failure_threshold_without_liveness_leaves_pods_out() -> None:
    # Bad at 20 s; probe ticks every 5 s fail at 20, 25, 30 → NotReady at 30, out of the
    # proxies' view at 31. Nothing restarts the app: no endpoint from then on.
    result = sd.run(_unhealthy(None))
    s = result.summary
    assert s["downtime_s"] == pytest.approx(45 - 31)
    assert s["requests_error"] == pytest.approx(200 * 11, rel=0.15)
    assert s["requests_no_endpoint"] == pytest.approx(200 * 14, rel=0.15)
    assert (result.events.kind == "restart").sum() == 0


def test_liveness_restarts_the_container_and_readiness_brings_it_back() -> None:
    # Liveness (every 5 s, 2 failures) restarts at 25; the pod leaves the view at 26,
    # warms up for 3 s, passes the readiness tick at 30 and is back in the view at 31.
    result = sd.run(_unhealthy({"initialDelaySeconds": 0, "periodSeconds": 5,
                                "failureThreshold": 2}), keep_requests=True)
    s = result.summary
    requests = result.requests[result.requests.arrival_s < 44.5]  # before the release
    restarts = result.events[result.events.kind == "restart"]
    assert len(restarts) == 2
    assert restarts.time_s.tolist() == pytest.approx([25.0, 25.0])
    assert s["downtime_s"] == pytest.approx(5.0)
    assert s["requests_error"] == pytest.approx(200 * 5, rel=0.15)
    # between the restart (25) and the proxies dropping the pod (26)
    assert (requests.outcome == "refused").sum() == pytest.approx(200 * 1, rel=0.3)
    assert s["requests_no_endpoint"] == pytest.approx(200 * 5, rel=0.15)


def test_crash_looping_release_gets_backoff_between_restarts() -> None:
    s = scenario(
        duration=200, deployment={"replicas": 1},
        pod={"readinessProbe": {"initialDelaySeconds": 0, "periodSeconds": 1,
                                "failureThreshold": 1},
             "livenessProbe": {"periodSeconds": 1, "failureThreshold": 1}},
        release={"new": {"name": "v2", "unhealthyAfter": 1, "warmup": 1}},
        strategies={"r": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0}},
    )
    result = sd.run(s)
    times = result.events[result.events.kind == "restart"].time_s.tolist()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # restart k waits 0, 10, 20, 40 s before the container starts again, then the same cycle
    # (warm-up, bad after 1 s, a probe tick): the gaps grow by the back-off differences
    assert len(gaps) >= 4
    assert [b - a for a, b in itertools.pairwise(gaps[:4])] == pytest.approx([10, 10, 20], abs=1e-6)


def test_pods_beyond_capacity_wait_pending() -> None:
    s = scenario(duration=60, deployment={"replicas": 4}, cluster={"capacityPods": 5},
                 sampleInterval=0.5,
                 strategies={"bg": {"type": "BlueGreen"}})
    result = sd.run(s)
    tl = result.timeline
    green = tl[(tl.version == "v2") & (tl.time_s == 11)]
    assert green.pods.item() == 4
    assert green.pending.item() == 3  # one slot free: one green pod runs, three wait
    assert result.summary["outcome"] == "stalled"  # not finished by the end of the run
    assert not result.summary["progress_deadline_exceeded"]  # 60 s run, 600 s deadline


def test_cpu_and_memory_requests_set_the_capacity() -> None:
    by_cpu = scenario(cluster={"allocatable": {"cpu": "2500m"}},
                      pod={"resources": {"requests": {"cpu": "500m"}}})
    assert by_cpu.pod_capacity() == 5
    both = scenario(cluster={"capacityPods": 10, "allocatable": {"cpu": 8, "memory": "6Gi"}},
                    pod={"resources": {"requests": {"cpu": 1, "memory": "1Gi"}}})
    assert both.pod_capacity() == 6
    assert scenario().pod_capacity() is None
