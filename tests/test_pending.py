"""Pending pods: not yet bound to a node, they hold no resources, and are their own figure."""

from __future__ import annotations

import pytest

from simdeploy import metrics
from simdeploy.scenario import load_scenario
from simdeploy.simulation import run


def test_pending_is_the_difference_of_the_two_step_functions() -> None:
    pods = [(0.0, 3), (1.0, 5), (4.0, 4), (6.0, 3)]
    scheduled = [(0.0, 3), (2.0, 4), (4.0, 3), (6.0, 3)]
    # 0–1: 0, 1–2: 2, 2–4: 1, 4–6: 1, 6–: 0
    assert metrics.pending_changes(pods, scheduled) == [
        (0.0, 0), (1.0, 2), (2.0, 1), (4.0, 1), (6.0, 0)]
    changes = metrics.pending_changes(pods, scheduled)
    assert metrics.peak(changes, 0) == 2
    assert metrics.extra_pod_seconds(changes, 0, 10.0) == pytest.approx(2 + 2 + 2)


def test_blue_green_in_a_full_cluster_holds_no_extra_resources() -> None:
    scenario = load_scenario({
        "name": "full", "duration": 300, "sampleInterval": 5,
        "deployment": {"replicas": 4}, "cluster": {"capacityPods": 4},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 5}},
        "release": {"at": 10},
        "strategies": {"bg": {"type": "BlueGreen"}},
    })
    summary = run(scenario).summary
    assert summary["peak_pods"] == 8
    assert summary["peak_pods_scheduled"] == 4
    assert summary["peak_pods_pending"] == 4
    assert summary["extra_scheduled_pod_seconds"] == 0
    assert summary["pending_pod_seconds"] == pytest.approx(summary["extra_pod_seconds"])
    assert summary["pending_pod_seconds"] == pytest.approx(4 * 290, rel=0.01)


def test_the_cost_column_shows_when_pods_are_priced_even_at_zero_cost() -> None:
    from simdeploy.compare import compare, summary_by_strategy

    scenario = load_scenario({
        "name": "full", "duration": 60, "deployment": {"replicas": 2},
        "cluster": {"capacityPods": 2, "podCostPerHour": 1.0},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 5}}, "release": {"at": 10},
        "strategies": {"bg": {"type": "BlueGreen"}}})
    table = compare(scenario)
    assert table.extra_cost.tolist() == [0.0]  # nothing scheduled beyond the replicas
    assert "extra cost" in summary_by_strategy(table, priced=True).columns
    assert "extra cost" not in summary_by_strategy(table).columns
