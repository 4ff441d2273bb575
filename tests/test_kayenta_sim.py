"""Kayenta's judge inside the simulation: Spinnaker's canary stage and Argo's Kayenta provider.

The judge itself (J1-J12) is tested on its own in test_rules_kayenta.py. Here the simulation
must feed it the right series (one sample per step, canary against stable), over the right
windows at the right times (Orca's growing windows, J13; Argo's sliding ones, J17), and react
to the score as each runner does (J14: stop at or below marginal, only the last score counts
at the end; J16: the truncated score is Successful, Inconclusive or Failed).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import simpy

import simdeploy as sd
from simdeploy import kayenta_stage
from simdeploy.errors import ScenarioError
from simdeploy.measurements import LatencyWindows, Provider, series_buckets
from simdeploy.records import GATE_BINS_PER_S, Recorder
from simdeploy.report import effective_scenario

ERRORS = {"name": "errors", "query": "error-rate", "groups": ["errors"],
          "analysisConfigurations": {"canary": {"direction": "increase", "critical": True}}}
P99 = {"name": "p99", "query": "latency-p99", "groups": ["latency"],
       "analysisConfigurations": {"canary": {"direction": "increase"}}}


def _config(*metrics: dict[str, Any], weights: dict[str, float] | None = None
            ) -> dict[str, Any]:
    config: dict[str, Any] = {"metrics": [copy.deepcopy(m) for m in metrics or (ERRORS, P99)]}
    config["classifier"] = {"groupWeights": weights or {"errors": 50, "latency": 50}}
    return config


def _stage(weight: int = 50, **fields: Any) -> dict[str, Any]:
    stage = {"lifetime": "10m", "interval": "5m", "step": "30s", "canaryConfig": _config(),
             **fields}
    return {"type": "Canary", "steps": [{"setWeight": weight}, {"kayentaStage": stage},
                                        {"setWeight": 100}]}


def _argo(weight: int = 50, *, metric: dict[str, Any] | None = None,
          on_inconclusive: str = "abort", **kayenta: Any) -> dict[str, Any]:
    provider = {"threshold": {"pass": 95, "marginal": 75}, "step": "30s",
                "canaryConfig": _config(), **kayenta}
    fields = {"interval": "5m", "count": 2, "initialDelay": "5m"} if metric is None else metric
    analysis = {"metrics": [{"name": "kayenta", **fields, "provider": {"kayenta": provider}}],
                "onInconclusive": on_inconclusive}
    return {"type": "Canary", "steps": [{"setWeight": weight}, {"analysis": analysis},
                                        {"setWeight": 100}]}


def _run(mapping: dict[str, Any], strategy: dict[str, Any], *, error_rate: float = 0.0,
         rate: float = 50.0, duration: float = 700.0, seed: int = 0) -> sd.RunResult:
    mapping = copy.deepcopy(mapping)
    mapping["duration"] = duration
    mapping["traffic"]["arrivals"]["rateRps"] = rate
    mapping["release"]["new"]["errorRate"] = error_rate
    mapping["release"]["current"]["errorRate"] = 0.0
    mapping["strategies"] = {"s": strategy}
    return sd.run(sd.load_scenario(mapping), seed=seed)


def _rows(result: sd.RunResult, kind: str) -> pd.DataFrame:
    return result.events[result.events.kind == kind]


def _started(result: sd.RunResult) -> float:
    started = _rows(result, "analysis")
    return float(started[started.detail.str.endswith("started")].time_s.iloc[0])


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace the judge's score: each judgment takes the next value of the list."""
    scores: list[float] = []

    def judge(experiment: Any, control: Any, configs: Any, weights: Any, **_: Any) -> Any:
        assert set(experiment) == set(control) == {c.name for c in configs}
        return scores.pop(0), {}

    monkeypatch.setattr(kayenta_stage, "judge", judge)
    return scores


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, float, float, float]]:
    """Record every series the judge asks for: (query, version, start, end, step)."""
    calls: list[tuple[str, str, float, float, float]] = []
    original = Provider.series

    def series(self: Provider, query: str, version: str, start_s: float, end_s: float,
               step_s: float) -> list[float]:
        calls.append((query, version, start_s, end_s, step_s))
        return original(self, query, version, start_s, end_s, step_s)

    monkeypatch.setattr(Provider, "series", series)
    return calls


# --------------------------------------------------------------------------------------------
# (a) a bad release fails, a good one passes, under both forms


@pytest.mark.parametrize("form", ["spinnaker", "argo"])
def test_a_bad_release_scores_low_and_aborts(tiny_mapping: dict[str, Any], form: str) -> None:
    strategy = _stage() if form == "spinnaker" else _argo()
    result = _run(tiny_mapping, strategy, error_rate=0.2)
    measured = _rows(result, "measurement")
    # the errors metric is critical and High: the score is 0 at the first judgment
    assert measured.value.tolist() == [0.0]
    assert measured.detail.tolist() == ["Failed"]
    assert result.summary["outcome"] == "aborted"
    assert result.summary["analysis_verdict"] == "Failed"
    abort = _rows(result, "abort")
    assert abort.time_s.tolist() == pytest.approx(measured.time_s.tolist())
    # the first judgment comes 5 minutes after the start (Argo: + its 15 s poll)
    delay = 300.0 if form == "spinnaker" else 315.0
    assert measured.time_s.iloc[0] - _started(result) == pytest.approx(delay)
    assert 290.0 < result.summary["detected_s"] < 320.0


@pytest.mark.parametrize("form", ["spinnaker", "argo"])
def test_a_good_release_scores_high_and_passes(tiny_mapping: dict[str, Any], form: str) -> None:
    strategy = _stage() if form == "spinnaker" else _argo()
    result = _run(tiny_mapping, strategy)
    measured = _rows(result, "measurement")
    assert measured.detail.tolist() == ["Successful"] * 2
    assert (measured.value >= 95).all()
    assert result.summary["outcome"] == "completed"
    assert result.summary["analysis_verdict"] == "Successful"
    # the step blocks: the canary is promoted only after the last judgment
    weights = _rows(result, "weight")
    assert weights.weight.tolist() == [50, 100]
    assert weights.time_s.iloc[1] > measured.time_s.iloc[-1]


def test_a_non_critical_failure_weighs_by_its_group(tiny_mapping: dict[str, Any]) -> None:
    # errors High (not critical) and p99 Pass, equal weights: 50 points; Argo's threshold
    # {pass: 95, marginal: 50} makes that Inconclusive, which aborts by default
    errors = copy.deepcopy(ERRORS)
    errors["analysisConfigurations"]["canary"]["critical"] = False
    strategy = _argo(threshold={"pass": 95, "marginal": 50}, canaryConfig=_config(errors, P99))
    result = _run(tiny_mapping, strategy, error_rate=0.2)
    measured = _rows(result, "measurement")
    assert measured.value.tolist() == [50.0]
    assert measured.detail.tolist() == ["Inconclusive"]
    assert result.summary["analysis_verdict"] == "Inconclusive"
    assert result.summary["outcome"] == "aborted"


# --------------------------------------------------------------------------------------------
# (b) Spinnaker's stage: windows, timing, the early stop and the last score


def test_stage_judges_growing_windows_at_warmup_plus_each_interval(
        tiny_mapping: dict[str, Any], windows: list[tuple[str, str, float, float, float]]
) -> None:
    strategy = _stage(beginCanaryAnalysisAfter="1m")
    result = _run(tiny_mapping, strategy, duration=800)
    start = _started(result)
    measured = _rows(result, "measurement")
    assert (measured.time_s - start).tolist() == pytest.approx([60 + 300, 60 + 600])
    origin = math.floor(start)
    judged = sorted({(s, e, step) for _, _, s, e, step in windows})
    assert judged == [(origin + 60, origin + 360, 30.0), (origin + 60, origin + 660, 30.0)]
    # every metric of both versions, each window
    assert len(windows) == 2 * 2 * 2
    assert {(q, v) for q, v, *_ in windows} == {(q, v) for q in ("error-rate", "latency-p99")
                                                for v in ("canary", "stable")}


def test_stage_lookback_slides_the_window(
        tiny_mapping: dict[str, Any], windows: list[tuple[str, str, float, float, float]]
) -> None:
    result = _run(tiny_mapping, _stage(lookback="5m"))
    origin = math.floor(_started(result))
    judged = sorted({(s, e) for _, _, s, e, _ in windows})
    assert judged == [(origin, origin + 300), (origin + 300, origin + 600)]
    assert result.summary["outcome"] == "completed"


@pytest.mark.parametrize(("scores", "details", "outcome"), [
    ([50.0, 100.0], ["Failed"], "aborted"),                 # <= marginal: stop at once
    ([49.99, 100.0], ["Failed"], "aborted"),
    ([60.0, 80.0], ["Successful", "Successful"], "completed"),  # below pass goes on
    ([90.0, 70.0], ["Successful", "Failed"], "aborted"),    # only the last score counts
])
def test_stage_stops_at_marginal_and_judges_the_last_score(
        tiny_mapping: dict[str, Any], scripted: list[float], scores: list[float],
        details: list[str], outcome: str) -> None:
    scripted.extend(scores)
    result = _run(tiny_mapping, _stage())  # default thresholds 75/50
    measured = _rows(result, "measurement")
    assert measured.detail.tolist() == details
    assert measured.value.tolist() == scores[:len(details)]
    assert result.summary["outcome"] == outcome
    if outcome == "aborted":
        assert _rows(result, "abort").time_s.tolist() == pytest.approx(
            [measured.time_s.iloc[-1]])
        assert result.summary["analysis_verdict"] == "Failed"


def test_stage_score_thresholds_are_the_scenarios(tiny_mapping: dict[str, Any],
                                                  scripted: list[float]) -> None:
    scripted.extend([80.0, 80.0])
    result = _run(tiny_mapping, _stage(scoreThresholds={"pass": 95, "marginal": 75}))
    assert _rows(result, "measurement").detail.tolist() == ["Successful", "Failed"]
    assert result.summary["outcome"] == "aborted"


# --------------------------------------------------------------------------------------------
# (c) Argo's provider: truncation, Inconclusive, windows, Error


@pytest.mark.parametrize(("score", "phase"), [
    (81.0, "Successful"),
    (80.99, "Inconclusive"),   # int(80.99) = 80 < pass 81
    (75.0, "Inconclusive"),    # = marginal: Inconclusive here, a failure in Orca
    (74.99, "Failed"),
])
def test_argo_truncates_the_score_against_its_thresholds(
        tiny_mapping: dict[str, Any], scripted: list[float], score: float, phase: str) -> None:
    scripted.extend([score] * 2)
    result = _run(tiny_mapping, _argo(threshold={"pass": 81, "marginal": 75}))
    measured = _rows(result, "measurement")
    assert measured.detail.iloc[0] == phase
    assert measured.value.iloc[0] == score
    assert result.summary["analysis_verdict"] == phase
    assert result.summary["outcome"] == ("completed" if phase == "Successful" else "aborted")


def test_argo_inconclusive_promotes_when_the_scenario_says_so(
        tiny_mapping: dict[str, Any], scripted: list[float]) -> None:
    scripted.extend([80.0, 80.0])
    result = _run(tiny_mapping, _argo(threshold={"pass": 95, "marginal": 75},
                                      on_inconclusive="promote"))
    assert _rows(result, "measurement").detail.tolist() == ["Inconclusive"]
    assert result.summary["outcome"] == "completed"


@pytest.mark.parametrize("lookback", [False, True])
def test_argo_windows_slide_by_interval_or_grow_from_the_run_start(
        tiny_mapping: dict[str, Any], windows: list[tuple[str, str, float, float, float]],
        lookback: bool) -> None:
    result = _run(tiny_mapping, _argo(lookback=lookback))
    start = _started(result)
    asked = [t - 15.0 for t in _rows(result, "measurement").time_s]  # the judgments' times
    assert asked == pytest.approx([start + 300, start + 615])
    judged = sorted({(s, e) for _, _, s, e, _ in windows})
    if lookback:
        expected = [(math.floor(start), math.floor(t)) for t in asked]
    else:
        expected = [(math.floor(t - 300), math.floor(t)) for t in asked]
    assert judged == expected


def test_argo_without_interval_or_lookback_is_an_error(tiny_mapping: dict[str, Any]) -> None:
    # J17: the start is now - "" (no interval), which does not parse: Error, retried every 10 s
    result = _run(tiny_mapping, _argo(metric={"initialDelay": "1m"}))
    measured = _rows(result, "measurement")
    assert measured.detail.tolist() == ["Error"] * 5
    assert measured.value.isna().all()
    assert result.summary["analysis_verdict"] == "Error"
    assert result.summary["outcome"] == "aborted"


# --------------------------------------------------------------------------------------------
# (d) no data


@pytest.mark.parametrize("form", ["spinnaker", "argo"])
def test_no_canary_traffic_is_nodata_and_scores_zero(tiny_mapping: dict[str, Any],
                                                     form: str) -> None:
    # weight 0: every canary sample is NaN, both metrics Nodata (>= 50 %): score 0 (J11)
    strategy = _stage(weight=0) if form == "spinnaker" else _argo(weight=0)
    result = _run(tiny_mapping, strategy)
    measured = _rows(result, "measurement")
    assert measured.value.tolist() == [0.0]
    assert measured.detail.tolist() == ["Failed"]
    assert result.summary["outcome"] == "aborted"


# --------------------------------------------------------------------------------------------
# (e) determinism


def test_the_same_seed_gives_the_same_judgments(tiny_mapping: dict[str, Any]) -> None:
    strategy = _stage()
    first = _run(tiny_mapping, strategy, seed=3)
    second = _run(tiny_mapping, strategy, seed=3)
    pd.testing.assert_frame_equal(first.events, second.events)
    assert first.summary == second.summary


def test_the_noise_generator_is_derived_from_the_run(tiny_mapping: dict[str, Any]) -> None:
    scenario = sd.load_scenario(tiny_mapping)

    class Ctx:
        pass

    ctx: Any = Ctx()
    ctx.scenario = scenario
    data = {"m": [1.0, 1.0]}
    draw = kayenta_stage.noise_rng(ctx, (0, 1), data, data).random()
    assert kayenta_stage.noise_rng(ctx, (0, 1), data, data).random() == draw
    assert kayenta_stage.noise_rng(ctx, (0, 2), data, data).random() != draw
    assert kayenta_stage.noise_rng(ctx, (0, 1), {"m": [2.0, 2.0]}, data).random() != draw
    ctx.seed = 7
    assert kayenta_stage.noise_rng(ctx, (0, 1), data, data).random() != draw


# --------------------------------------------------------------------------------------------
# series


def _recorder(duration: float = 200.0) -> Recorder:
    return Recorder(simpy.Environment(), duration, 1.0, 2, 10)


def test_series_are_per_step_with_nan_where_no_request() -> None:
    recorder = _recorder()
    for second in range(0, 20):  # stable: 10 requests a second, 1 failed, for 20 s
        recorder.requests_fine[0][second * GATE_BINS_PER_S] = 10
        recorder.failed_fine[0][second * GATE_BINS_PER_S] = 1
    provider = Provider(recorder, 0, 1)
    assert provider.series("error-rate", "stable", 0, 25, 10) == pytest.approx(
        [0.1, 0.1, math.nan], nan_ok=True)
    assert provider.series("success-rate", "stable", 0, 20, 10) == pytest.approx([0.9, 0.9])
    assert provider.series("request-count", "stable", 0, 30, 10) == [100.0, 100.0, 0.0]
    assert all(math.isnan(v) for v in provider.series("error-rate", "canary", 0, 30, 10))
    assert series_buckets(0, 25, 10) == [(0, 10), (10, 20), (20, 25)]


def test_latency_series_are_kept_per_step_beyond_the_horizon() -> None:
    # a 10 s horizon, a grid of 10 s steps from 5 s: after 200 s the grid answers for the whole
    # run, exactly as the raw latencies would, while only ~12 s of raw latencies are kept
    windows = LatencyWindows(2, horizon_s=10.0)
    everything = LatencyWindows(2, horizon_s=1e9)
    windows.track(5.0, 10.0, (50.0, 99.0), now=0.0)
    rng = np.random.default_rng(0)
    for tenth in range(2000):
        now = tenth / 10
        for version in (0, 1):
            if version == 1 and 50 <= now < 70:
                continue  # no canary response for 20 s
            latency = float(rng.lognormal(-3, 0.5))
            windows.add(version, now, latency)
            everything.add(version, now, latency)
    windows.add(0, 200.0, 0.05)  # a new second closes the last bucket
    assert len(windows._seconds[0]) <= 13
    for version in (0, 1):
        for q in (50.0, 99.0):
            got = windows.series_ms(version, 5, 195, 10, q)
            assert got == pytest.approx(everything.series_ms(version, 5, 195, 10, q),
                                        nan_ok=True)
    assert math.isnan(windows.series_ms(1, 55, 65, 10, 99.0)[0])
    with pytest.raises(RuntimeError, match="track"):
        windows.series_ms(0, 0, 100, 10, 99.0)  # not on the grid, and gone


# --------------------------------------------------------------------------------------------
# (f) the schema


BAD = [
    ({"kayentaStage": {"lifetime": "90s"}},
     "steps[1].kayentaStage.lifetime", "must be whole minutes"),
    ({"kayentaStage": {"step": "1500ms"}},
     "steps[1].kayentaStage.step", "must be whole seconds"),
    ({"kayentaStage": {"scoreThresholds": {"pass": 95}}},
     "steps[1].kayentaStage.scoreThresholds.marginal", "required field is missing"),
    ({"kayentaStage": {"canaryConfig": {"metrics": [ERRORS, ERRORS]}}},
     "steps[1].kayentaStage.canaryConfig.metrics[1].name", "duplicate name 'errors'"),
    ({"kayentaStage": {"canaryConfig": {"metrics": [
        {"name": "e", "query": "error-rate",
         "analysisConfigurations": {"canary": {"direction": "up"}}}]}}},
     "steps[1].kayentaStage.canaryConfig.metrics[0].analysisConfigurations.canary.direction",
     "must be one of 'increase', 'decrease' or 'either'"),
    ({"kayentaStage": {"canaryConfig": {"metrics": [
        {"name": "e", "query": "error-rate", "analysisConfigurations": {"canary": {
            "outliers": {"strategy": "remove", "outlierFactor": 0}}}}]}}},
     "steps[1].kayentaStage.canaryConfig.metrics[0].analysisConfigurations.canary.outliers"
     ".outlierFactor", "must be > 0"),
    ({"kayentaStage": {}, "pause": {"duration": 5}},
     "steps[1]", "Step must have one of the following set: setWeight, pause, analysis, "
                 "kayentaStage, setHeaderRoute or setMirrorRoute"),
    ({"kayenta": {"threshold": {"pass": 95.5, "marginal": 75}}},
     "steps[1].analysis.metrics[0].provider.kayenta.threshold.pass", "must be a whole number"),
    ({"kayenta": {"threshold": None}},
     "steps[1].analysis.metrics[0].provider.kayenta.threshold", "required field is missing"),
    ({"kayenta": {"lookback": "yes"}},
     "steps[1].analysis.metrics[0].provider.kayenta.lookback", "must be true or false"),
    ({"kayenta": {}, "simulation": {"query": "error-rate"}},
     "steps[1].analysis.metrics[0].provider", "give exactly one provider"),
]


@pytest.mark.parametrize(("change", "path", "problem"), BAD,
                         ids=[f"{i}-{row[1].rsplit('.', 1)[-1]}" for i, row in enumerate(BAD)])
def test_a_bad_kayenta_field_is_one_line_with_its_path(
        tiny_mapping: dict[str, Any], change: dict[str, Any], path: str, problem: str) -> None:
    if "kayentaStage" in change:
        strategy = _stage()
        step = strategy["steps"][1]
        step["kayentaStage"].update(change.pop("kayentaStage"))
        step.update(change)
    else:
        strategy = _argo()
        provider = strategy["steps"][1]["analysis"]["metrics"][0]["provider"]
        for key, value in change.pop("kayenta").items():
            if value is None:
                del provider["kayenta"][key]
            else:
                provider["kayenta"][key] = value
        provider.update(change)
    tiny_mapping["strategies"] = {"s": strategy}
    with pytest.raises(ScenarioError) as info:
        sd.load_scenario(tiny_mapping)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.location == f"strategies.s.{path}"
    assert problem in info.value.problem


def test_the_effective_scenario_loads_again(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["strategies"] = {"spinnaker": _stage(scoreThresholds={"pass": 95,
                                                                       "marginal": 75}),
                                  "argo": _argo(lookback=True)}
    scenario = sd.load_scenario(tiny_mapping)
    again = sd.load_scenario(__import__("yaml").safe_load(effective_scenario(scenario)))
    assert again == scenario
