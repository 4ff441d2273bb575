"""Runs cost O(replicas): start-up and whole rollouts do not grow quadratically (issue 6).

No wall-clock timing here (the machine may be busy). Instead the work is counted, which is
deterministic: the Python lines simdeploy executes in a run (a line-counting trace on the
package's own files), at a size and at four times that size. A linear run executes about
four times as many lines; a per-change pass over every pod (recounting a ReplicaSet's pods,
rebuilding the endpoint pool, sorting every pod for a scale-down) makes it about sixteen times.
Then the bookkeeping that makes it linear is checked against the plain recount it replaces,
at every change: the ReplicaSet status counts, the deletion order, the endpoint pool.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from builders import BASE, merge

import simdeploy as sd
from simdeploy.cluster import Cluster, Pod, ReplicaSet
from simdeploy.routing import Service

PACKAGE = str(Path(sd.__file__).resolve().parent)
ROOT = Path(__file__).resolve().parents[1]

STRATEGIES: dict[str, dict[str, Any]] = {
    "recreate": {"type": "Recreate"},
    "rolling": {"type": "RollingUpdate", "maxSurge": "25%", "maxUnavailable": "25%"},
    "blue-green": {"type": "BlueGreen", "scaleDownDelaySeconds": 10},
    "canary-weighted": {"type": "Canary", "trafficRouting": "weighted",
                        "scaleDownDelaySeconds": 10,
                        "steps": [{"setWeight": 25}, {"pause": {"duration": 5}},
                                  {"setWeight": 50}]},
    "canary-replicas": {"type": "Canary", "trafficRouting": "replicas",
                        "steps": [{"setWeight": 25}, {"pause": {"duration": 5}},
                                  {"setWeight": 50}]},
}


def _scenario(replicas: int, strategy: str, **overrides: Any) -> sd.Scenario:
    """Little traffic, pods that become Ready one at a time (random start and propagation)."""
    version = {"containerStart": {"type": "lognormal", "median": 3, "sigma": 0.3},
               "warmup": 2}
    mapping = merge(BASE, {
        "duration": 150,
        "sampleInterval": 10,
        "deployment": {"replicas": replicas},
        "service": {"policy": "round-robin",
                    "endpointPropagationDelay": {"type": "uniform", "low": 0.5, "high": 2}},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 2}, "users": 100},
        "release": {"at": 5, "current": version, "new": version},
        "strategies": {strategy: STRATEGIES[strategy]},
    })
    return sd.load_scenario(merge(mapping, overrides))


def _lines_executed(scenario: sd.Scenario) -> tuple[int, str]:
    """Python lines executed in simdeploy's own files during one run, and its outcome."""
    count = 0

    def local(_frame, event, _arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame, _event, _arg):
        return local if frame.f_code.co_filename.startswith(PACKAGE) else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        result = sd.run(scenario)
    finally:
        sys.settrace(previous)
    return count, result.summary["outcome"]


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_work_grows_linearly_with_replicas(strategy: str) -> None:
    small, small_outcome = _lines_executed(_scenario(100, strategy))
    large, large_outcome = _lines_executed(_scenario(400, strategy))
    assert small_outcome == large_outcome == "completed"
    # linear: about 4x (a little less: some work does not depend on replicas); quadratic: ~16x
    assert large / small < 4.4, (small, large)


def test_start_up_work_grows_linearly_with_replicas() -> None:
    def startup(replicas: int) -> sd.Scenario:  # released after the end: no rollout
        return _scenario(replicas, "rolling", duration=20, release={"at": 19.95})

    small, _ = _lines_executed(startup(500))
    large, _ = _lines_executed(startup(2000))
    assert large / small < 4.4, (small, large)


def test_pool_is_rebuilt_per_selector_change_not_per_endpoint(monkeypatch) -> None:
    rebuilds = []
    original = Service._refresh

    def counting(self: Service) -> None:
        rebuilds.append(1)
        original(self)

    monkeypatch.setattr(Service, "_refresh", counting)
    counts = []
    for replicas in (50, 200):
        rebuilds.clear()
        assert sd.run(_scenario(replicas, "blue-green")).summary["outcome"] == "completed"
        counts.append(len(rebuilds))
    # start-up (one batch), the pre-release selector and the switch: not one per endpoint
    assert counts[0] == counts[1] <= 4, counts


# -- the incremental bookkeeping equals the recount it replaces ---------------------------------


def _recount(rs: ReplicaSet) -> tuple[int, int, int]:
    live = [p for p in rs.pods if p.deleted_at is None]
    return (len(live), sum(p.ready for p in live), sum(p.available for p in live))


def _sample_row(rs: ReplicaSet) -> tuple[int, int, int, int, int]:
    """A timeline row counted pod by pod, as ``simulation._sample`` does."""
    pods = list(rs.pods)
    return (len(pods), sum(not p.scheduled for p in pods),
            sum(p.ready and p.deleted_at is None for p in pods),
            sum(p.available and p.deleted_at is None for p in pods),
            sum(p.deleted_at is not None for p in pods))


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("variant", ["plain", "tight", "leaky", "min-ready", "random"])
def test_bookkeeping_matches_a_recount_at_every_change(monkeypatch, strategy: str,
                                                       variant: str) -> None:
    overrides: dict[str, Any] = {
        "plain": {},
        "tight": {"cluster": {"capacityPods": 13}},
        "leaky": {"release": {"new": {"unhealthyAfter": {"type": "uniform", "low": 3,
                                                         "high": 30}}},
                  "pod": {"livenessProbe": {"initialDelaySeconds": 2, "periodSeconds": 2,
                                            "failureThreshold": 2}}},
        "min-ready": {"deployment": {"minReadySeconds": 3}},
        "random": {"service": {"policy": "least-request", "stickiness": "user"}},
    }[variant]
    checks = {"notify": 0, "scale_down": 0, "endpoints": 0}
    notify, lowest = Cluster.notify, ReplicaSet._lowest_ranked
    add, remove = Service.add_endpoint, Service.remove_endpoint

    def checked_notify(self: Cluster) -> None:
        for rs in self.replica_sets:
            assert (rs.status_replicas, rs.ready, rs.available) == _recount(rs)
            assert rs.counts() == _sample_row(rs)
        checks["notify"] += 1
        notify(self)

    def checked_lowest(self: ReplicaSet, count: int) -> list[Pod]:
        live = [p for p in self.pods if p.deleted_at is None]
        expected = sorted(live, key=Pod.deletion_rank)[:count]
        chosen = lowest(self, count)
        assert chosen == expected
        checks["scale_down"] += 1
        return chosen

    def check_pool(service: Service) -> None:
        if not service.weighted:
            assert service.pool == [p for v in service._routed for p in service.view[v]]
        checks["endpoints"] += 1

    def checked_add(self: Service, pod: Pod) -> None:
        add(self, pod)
        check_pool(self)

    def checked_remove(self: Service, pod: Pod) -> None:
        remove(self, pod)
        check_pool(self)

    monkeypatch.setattr(Cluster, "notify", checked_notify)
    monkeypatch.setattr(ReplicaSet, "_lowest_ranked", checked_lowest)
    monkeypatch.setattr(Service, "add_endpoint", checked_add)
    monkeypatch.setattr(Service, "remove_endpoint", checked_remove)
    outcome = sd.run(_scenario(9, strategy, **overrides), seed=3).summary["outcome"]
    assert checks["notify"] > 0
    assert checks["endpoints"] > 0
    if outcome == "completed":  # every strategy ends by scaling the old version down
        assert checks["scale_down"] > 0


def test_scaling_benchmark_runs() -> None:
    """``python -m benchmarks.bench_startup`` runs (tiny sizes; no timing asserted)."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_startup", "--sizes", "20,40", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [m["model"] for m in result["models"]] == ["startup", "rolling", "blue-green",
                                                      "canary"]
    for m in result["models"]:
        assert [row["replicas"] for row in m["sizes"]] == [20, 40]
        assert all(row["seconds"] > 0 for row in m["sizes"])
