"""Inputs the platforms' own API validation refuses are refused here too, in their words.

Kubernetes: kubernetes/kubernetes pkg/apis/apps/validation/validation.go
(ValidateRollingUpdateDeployment, ValidateDeploymentSpec, ValidateDeploymentStrategy).
Argo Rollouts: argoproj/argo-rollouts pkg/apis/rollouts/validation/validation.go
(ValidateRolloutStrategyCanary). Flagger has no validating webhook; its controller clamps
the analysis interval to 10 s (pkg/apis/flagger/v1beta1/canary.go GetAnalysisInterval).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from simdeploy.errors import ScenarioError
from simdeploy.scenario import Canary, load_scenario


def _error(mapping: dict[str, Any]) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(mapping)
    return info.value


def _with(tiny_mapping: dict[str, Any], strategy: dict[str, Any]) -> dict[str, Any]:
    mapping = copy.deepcopy(tiny_mapping)
    mapping["strategies"] = {"s": strategy}
    return mapping


@pytest.mark.parametrize(("surge", "unavailable"), [(0, 0), ("0%", 0), (0, "0%"), ("0%", "0%")])
def test_deployment_surge_and_unavailable_both_zero(tiny_mapping: dict[str, Any], surge: Any,
                                                    unavailable: Any) -> None:
    error = _error(_with(tiny_mapping, {"type": "RollingUpdate", "maxSurge": surge,
                                        "maxUnavailable": unavailable}))
    assert error.location == "strategies.s.maxUnavailable"
    assert error.problem == "may not be 0 when `maxSurge` is 0"


def test_zero_surge_with_some_unavailable_is_fine(tiny_mapping: dict[str, Any]) -> None:
    load_scenario(_with(tiny_mapping, {"type": "RollingUpdate", "maxSurge": 0,
                                       "maxUnavailable": 1}))


@pytest.mark.parametrize("unavailable", ["101%", "250%"])
def test_deployment_unavailable_over_100_percent(tiny_mapping: dict[str, Any],
                                                 unavailable: str) -> None:
    error = _error(_with(tiny_mapping, {"type": "RollingUpdate",
                                        "maxUnavailable": unavailable}))
    assert (error.location, error.problem) == ("strategies.s.maxUnavailable",
                                               "must not be greater than 100%")


def test_kubernetes_caps_neither_surge_percentages_nor_plain_ints(
        tiny_mapping: dict[str, Any]) -> None:
    load_scenario(_with(tiny_mapping, {"type": "RollingUpdate", "maxSurge": "200%",
                                       "maxUnavailable": "100%"}))
    load_scenario(_with(tiny_mapping, {"type": "RollingUpdate", "maxSurge": 50,
                                       "maxUnavailable": 50}))


@pytest.mark.parametrize(("deadline", "min_ready"), [(10, 10), (5, 10), ("1m", "2m")])
def test_progress_deadline_must_exceed_min_ready(tiny_mapping: dict[str, Any], deadline: Any,
                                                 min_ready: Any) -> None:
    tiny_mapping["deployment"].update(progressDeadlineSeconds=deadline, minReadySeconds=min_ready)
    error = _error(tiny_mapping)
    assert (error.location, error.problem) == ("deployment.progressDeadlineSeconds",
                                               "must be greater than minReadySeconds")


@pytest.mark.parametrize("key", ["maxSurge", "maxUnavailable"])
def test_recreate_takes_no_rolling_parameters(tiny_mapping: dict[str, Any], key: str) -> None:
    error = _error(_with(tiny_mapping, {"type": "Recreate", key: 1}))
    assert (error.location, error.problem) == (
        f"strategies.s.{key}", "may not be specified when strategy `type` is 'Recreate'")


def test_argo_canary_surge_and_unavailable_both_zero(tiny_mapping: dict[str, Any]) -> None:
    error = _error(_with(tiny_mapping, {"type": "Canary", "steps": [{"setWeight": 50}],
                                        "maxSurge": "0%", "maxUnavailable": 0}))
    assert (error.location, error.problem) == (
        "strategies.s.maxSurge", "MaxSurge and MaxUnavailable both can not be zero")


def test_argo_caps_no_canary_percentage(tiny_mapping: dict[str, Any]) -> None:
    load_scenario(_with(tiny_mapping, {"type": "Canary", "steps": [{"setWeight": 50}],
                                       "maxUnavailable": "150%"}))


def test_argo_scale_down_delay_needs_traffic_routing(tiny_mapping: dict[str, Any]) -> None:
    canary = {"type": "Canary", "steps": [{"setWeight": 50}], "trafficRouting": "replicas"}
    load_scenario(_with(tiny_mapping, canary))  # the default delay is not "set"
    error = _error(_with(tiny_mapping, {**canary, "scaleDownDelaySeconds": 60}))
    assert (error.location, error.problem) == (
        "strategies.s.scaleDownDelaySeconds",
        "Canary scaleDownDelaySeconds can only be used with traffic routing")


def test_argo_dynamic_stable_scale_rules(tiny_mapping: dict[str, Any]) -> None:
    base = {"type": "Canary", "steps": [{"setWeight": 50}], "dynamicStableScale": True}
    load_scenario(_with(tiny_mapping, base))
    error = _error(_with(tiny_mapping, {**base, "trafficRouting": "replicas"}))
    assert (error.location, error.problem) == (
        "strategies.s.dynamicStableScale",
        "Canary dynamicStableScale can only be used with traffic routing")
    error = _error(_with(tiny_mapping, {**base, "scaleDownDelaySeconds": 10}))
    assert (error.location, error.problem) == (
        "strategies.s.dynamicStableScale",
        "Canary dynamicStableScale cannot be used with scaleDownDelaySeconds")


def test_argo_accepts_preview_replicas_above_replicas(tiny_mapping: dict[str, Any]) -> None:
    """Argo's validation has no rule for previewReplicaCount (unlike what one might expect)."""
    load_scenario(_with(tiny_mapping, {"type": "BlueGreen", "previewReplicaCount": 10}))


@pytest.mark.parametrize(("interval", "seconds"), [(1, 10.0), ("5s", 10.0), (30, 30.0)])
def test_flagger_interval_is_at_least_ten_seconds(interval: Any, seconds: float) -> None:
    """flagger GetAnalysisInterval clamps the interval; the old top-level spelling is read."""
    from simdeploy.rules.flagger import analysis_interval

    canary = Canary.model_validate({"type": "Canary", "stepWeight": 50, "interval": interval})
    assert canary.flagger is not None
    assert analysis_interval(canary.flagger.as_flagger()) == seconds
