"""The analysis schema: Argo's and Flagger's spelling, Argo's wording, one-line errors."""

from __future__ import annotations

from typing import Any

import pytest

import simdeploy as sd
from simdeploy.analysis_spec import ArgoAnalysis, FlaggerAnalysis, latency_horizon_s
from simdeploy.errors import ScenarioError


def _metric(**fields: Any) -> dict[str, Any]:
    return {"name": "m", "successCondition": "result[0] >= 0.95",
            "provider": {"simulation": {"query": "success-rate"}}, **fields}


def _load(tiny_mapping: dict[str, Any], strategy: dict[str, Any]) -> Any:
    tiny_mapping["strategies"] = {"s": strategy}
    return sd.load_scenario(tiny_mapping).strategies["s"]


def test_analysis_beside_steps_is_argo_and_without_steps_is_flagger(tiny_mapping) -> None:
    argo = _load(tiny_mapping, {"type": "Canary", "steps": [{"setWeight": 10}],
                                "analysis": {"startingStep": 1, "metrics": [_metric()]}})
    assert isinstance(argo.analysis, ArgoAnalysis)
    assert argo.argo_analysis is argo.analysis
    assert argo.flagger is None
    flagger = _load(tiny_mapping, {"type": "Canary", "analysis": {
        "interval": "1m", "threshold": 5, "maxWeight": 50, "stepWeight": 10,
        "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 99}}]}})
    assert isinstance(flagger.analysis, FlaggerAnalysis)
    assert flagger.flagger.as_flagger() == {
        "interval": "60s", "threshold": 5, "maxWeight": 50, "stepWeight": 10, "mirror": False,
        "metrics": [{"name": "request-success-rate", "interval": "60s",
                     "thresholdRange": {"min": 99.0}}]}


def test_the_old_top_level_flagger_fields_move_into_analysis(tiny_mapping) -> None:
    old = _load(tiny_mapping, {"type": "Canary", "stepWeight": 20, "maxWeight": 60,
                               "interval": "30s"})
    assert old.flagger == FlaggerAnalysis(step_weight=20, max_weight=60, interval=30.0)


@pytest.mark.parametrize(("strategy", "message"), [
    ({"type": "Canary", "steps": [{"setWeight": 10}], "analysis": {"stepWeight": 5}},
     "strategies.s.analysis.stepWeight: is Flagger's: beside steps, analysis is Argo's "
     "background analysis {startingStep, metrics}"),
    ({"type": "Canary", "analysis": {"startingStep": 1, "metrics": []}},
     "strategies.s.analysis.startingStep: is Argo's: without steps, analysis is Flagger's "
     "{interval, threshold, stepWeight, maxWeight, metrics}"),
    ({"type": "Canary", "stepWeight": 10, "analysis": {"stepWeight": 5}},
     "strategies.s.stepWeight: give the Flagger fields inside analysis, not beside it"),
    ({"type": "Canary", "steps": [{"setWeight": 10}], "stepWeight": 10},
     "strategies.s.stepWeight: use either steps (Argo) or stepWeight/maxWeight/interval "
     "(Flagger)"),
    ({"type": "Canary"}, "strategies.s: give steps (Argo) or analysis with stepWeight "
                         "(Flagger)"),
    ({"type": "Canary", "analysis": {"maxWeight": 50}},
     "strategies.s.analysis.stepWeight: give stepWeight or stepWeights (a progressive "
     "canary), or iterations (blue/green)"),
    ({"type": "Canary", "steps": [{"setWeight": 10}],
      "analysis": {"startingStep": 2, "metrics": [_metric()]}},
     "strategies.s.analysis.startingStep: must be at most the number of steps (1), got 2"),
    # argo-rollouts utils/analysis/factory.go ValidateMetrics / ValidateMetric, their words
    ({"type": "Canary", "steps": [{"analysis": {"metrics": [_metric(), _metric()]}}]},
     "strategies.s.steps[0].analysis.metrics[1].name: duplicate name 'm'"),
    ({"type": "Canary", "steps": [{"analysis": {"metrics": [_metric(count=3)]}}]},
     "strategies.s.steps[0].analysis.metrics[0].interval: interval must be specified when "
     "count > 1"),
    ({"type": "Canary", "steps": [{"analysis": {"metrics": [
        _metric(count=2, interval="1m", failureLimit=3)]}}]},
     "strategies.s.steps[0].analysis.metrics[0].count: count (2) must be >= failureLimit + "
     "consecutiveSuccessLimit (3 + 0) if both >= 0"),
    ({"type": "Canary", "steps": [{"analysis": {"metrics": [_metric(failureLimit=-1)]}}]},
     "strategies.s.steps[0].analysis.metrics[0].failureLimit: failureLimit and "
     "consecutiveSuccessLimit cannot both be disabled"),
    ({"type": "Canary", "steps": [{"analysis": {"metrics": [_metric(failureLimit=-2)]}}]},
     "strategies.s.steps[0].analysis.metrics[0].failureLimit: must be >= -1, got -2"),
    ({"type": "Canary", "steps": [{"analysis": {"metrics": []}}]},
     "strategies.s.steps[0].analysis.metrics: must not be empty"),
    ({"type": "Canary", "steps": [{"setWeight": 5, "analysis": {"metrics": [_metric()]}}]},
     "strategies.s.steps[0]: Step must have one of the following set: setWeight, pause, "
     "analysis, kayentaStage, setHeaderRoute or setMirrorRoute"),
    ({"type": "BlueGreen", "prePromotionAnalysis": {"metrics": [
        {"name": "m", "provider": {"simulation": {"query": "p99"}}}]}},
     "strategies.s.prePromotionAnalysis.metrics[0].provider.simulation.query: must be one of "
     "'success-rate', 'error-rate', 'request-count', 'latency-p50', 'latency-p90', "
     "'latency-p95' or 'latency-p99', got 'p99'"),
    ({"type": "BlueGreen", "postPromotionAnalysis": {"metrics": [
        {"name": "m", "provider": {}}]}},
     "strategies.s.postPromotionAnalysis.metrics[0].provider: give exactly one provider: "
     "simulation or kayenta"),
    ({"type": "Canary", "steps": [{"analysis": {"metrics": [_metric(dryRun="yes")]}}]},
     "strategies.s.steps[0].analysis.metrics[0].dryRun: must be true or false, got 'yes'"),
])
def test_bad_analysis_is_one_line_naming_the_field(tiny_mapping, strategy: dict[str, Any],
                                                    message: str) -> None:
    with pytest.raises(ScenarioError) as error:
        _load(tiny_mapping, strategy)
    assert str(error.value) == f"<mapping>: {message}"


def test_a_condition_that_does_not_parse_still_loads(tiny_mapping) -> None:
    """Argo judges a condition when it measures (an Error phase), so loading accepts it."""
    loaded = _load(tiny_mapping, {"type": "Canary", "steps": [
        {"analysis": {"metrics": [_metric(successCondition="result[0] >=")]}}]})
    assert loaded.steps[0].analysis.metrics[0].success_condition == "result[0] >="


def test_latency_windows_are_kept_only_as_far_back_as_a_query_looks(tiny_mapping) -> None:
    plain = _load(tiny_mapping, {"type": "Canary", "steps": [
        {"analysis": {"metrics": [_metric()]}}]})
    assert latency_horizon_s(plain) is None
    latency = _metric(name="p99", provider={"simulation": {"query": "latency-p99",
                                                           "window": "2m"}})
    slow = _load(tiny_mapping, {"type": "BlueGreen",
                                "postPromotionAnalysis": {"metrics": [_metric(), latency]}})
    assert latency_horizon_s(slow) == 120.0
    flagger = _load(tiny_mapping, {"type": "Canary", "analysis": {"stepWeight": 10, "metrics": [
        {"name": "request-duration", "thresholdRange": {"max": 500}, "interval": "30s"}]}})
    assert latency_horizon_s(flagger) == 30.0


def test_the_effective_scenario_of_an_analysis_loads_again(tiny_mapping) -> None:
    from simdeploy.report import effective_scenario

    tiny_mapping["strategies"] = {
        "argo": {"type": "Canary", "steps": [{"setWeight": 10}, {"analysis": {
            "metrics": [_metric(interval="1m", count=2)]}}],
            "analysis": {"startingStep": 1, "metrics": [_metric()]}},
        "flagger": {"type": "Canary", "stepWeight": 10},
        "bg": {"type": "BlueGreen", "prePromotionAnalysis": {"metrics": [_metric()]}},
    }
    scenario = sd.load_scenario(tiny_mapping)
    import yaml

    again = sd.load_scenario(yaml.safe_load(effective_scenario(scenario)))
    assert again == scenario


@pytest.mark.parametrize(("text", "seconds"), [("1m30s", 90.0), ("1h0m0s", 3600.0),
                                               ("2m0.5s", 120.5), ("500ms", 0.5)])
def test_go_compound_durations_read_as_argo_and_flagger_write_them(tiny_mapping, text: str,
                                                                  seconds: float) -> None:
    loaded = _load(tiny_mapping, {"type": "Canary", "steps": [{"analysis": {"metrics": [
        _metric(interval=text, count=2)]}}]})
    assert loaded.steps[0].analysis.metrics[0].interval == seconds


def test_a_malformed_compound_duration_is_one_line(tiny_mapping) -> None:
    with pytest.raises(ScenarioError) as error:
        _load(tiny_mapping, {"type": "Canary", "steps": [{"analysis": {"metrics": [
            _metric(interval="1m30", count=2)]}}]})
    assert str(error.value) == (
        "<mapping>: strategies.s.steps[0].analysis.metrics[0].interval: expected a duration "
        "such as 30, '250ms', '30s' or '5m', got '1m30'")
