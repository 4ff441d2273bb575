"""Run-size estimates and limits: a run beyond them is refused before it starts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import simdeploy as sd
from simdeploy import budget
from simdeploy.errors import RunTooLargeError


def test_expected_requests_match_a_run(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["traffic"]["arrivals"] = {"type": "schedule", "segments": [
        {"start": 0, "rateRps": 20}, {"start": 30, "rateRps": 100}, {"start": 90, "rateRps": 0}]}
    scenario = sd.load_scenario(tiny_mapping)
    estimate = budget.estimate_run(scenario)
    assert estimate.requests == 20 * 30 + 100 * 60
    actual = sd.run(scenario, "recreate").summary["requests_total"]
    assert actual == pytest.approx(estimate.requests, rel=0.05)
    assert estimate.timeline_rows == (120 / 1 + 1) * 2


def _big(tiny_mapping: dict[str, Any], **traffic: Any) -> sd.Scenario:
    mapping = copy.deepcopy(tiny_mapping)
    mapping["traffic"].update(traffic)
    return sd.load_scenario(mapping)


def test_too_many_requests_is_refused_unless_forced(tiny_mapping: dict[str, Any]) -> None:
    scenario = _big(tiny_mapping, arrivals={"type": "poisson", "rateRps": 1_000_000})
    with pytest.raises(RunTooLargeError) as info:
        budget.check_run_size(scenario, "f.yaml")
    assert str(info.value).startswith("f.yaml: traffic.arrivals: run too large: about "
                                      "120,000,000 simulated requests")
    assert str(info.value).endswith("per run (--force to run it anyway)")
    with pytest.raises(RunTooLargeError):
        sd.run(scenario)  # the API refuses too
    assert budget.check_run_size(scenario, "f.yaml", force=True).requests == 1.2e8


def test_beyond_the_machine_is_refused_even_when_forced(tiny_mapping: dict[str, Any]) -> None:
    scenario = _big(tiny_mapping, users=2**31 - 1)  # the most Kubernetes-sized int allowed
    with pytest.raises(RunTooLargeError, match="not even with --force") as info:
        budget.check_run_size(scenario, "f.yaml", force=True)
    assert info.value.location == "traffic.users"


def test_too_many_runs_is_refused_unless_forced(tiny_mapping: dict[str, Any]) -> None:
    scenario = sd.load_scenario(tiny_mapping)
    budget.check_batch_size(scenario, 100, "f.yaml")
    with pytest.raises(RunTooLargeError, match="too many runs: 1,000,000 runs"):
        budget.check_batch_size(scenario, 1_000_000, "f.yaml")
    budget.check_batch_size(scenario, 1_000_000, "f.yaml", force=True)
    # past MAX_RUNS the plan alone would exhaust memory: refused even when forced
    with pytest.raises(RunTooLargeError, match="at most 1,000,000 in one batch, not even"):
        budget.check_batch_size(scenario, 1_000_001, "f.yaml", force=True)


def test_shipped_scenarios_are_well_inside_the_limits() -> None:
    for path in sorted((Path(sd.__file__).parent / "scenarios").glob("*.yaml")):
        estimate = budget.estimate_run(sd.load_scenario(path))
        assert estimate.requests < budget.MAX_REQUESTS / 10, path.name
        assert estimate.memory_bytes < budget.MAX_MEMORY_BYTES / 10, path.name
