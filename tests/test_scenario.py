"""Tests for simdeploy.scenario: loading, defaults, durations, distributions, one-line errors.

Every bad input must become one :class:`ScenarioError` line, ``FILE: field.path: problem``, with
the field path in the YAML (camelCase) spelling and no pydantic internals in it.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simdeploy.distributions import Constant, Exponential, LogNormal, Uniform
from simdeploy.errors import ScenarioError
from simdeploy.scenario import BlueGreen, Canary, RollingUpdate, Scenario, load_scenario

REPO = Path(__file__).resolve().parent.parent
WEB_API = REPO / "scenarios" / "web-api.yaml"

# What pydantic puts into an error location that is not a YAML key: the discriminator tags of
# the tagged unions (strategy ``type``, distribution ``type``, arrivals ``type``) and the
# validator labels of pydantic-core (``function-after[...]``).
PYDANTIC_TAGS = {"Recreate", "RollingUpdate", "BlueGreen", "Canary", "constant", "exponential",
                 "lognormal", "uniform", "poisson", "schedule"}

FIELD_PATH_ONLY = re.compile(r"^[A-Za-z0-9_.\-\[\]]+$")


def _set(mapping: dict[str, Any], keys: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """Set ``mapping[k0][k1]...[kn] = value`` (list indices allowed) and return the mapping."""
    node: Any = mapping
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return mapping


def _write(tmp_path: Path, mapping: Any, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return path


def _error(source: Any) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source)
    return info.value


def _minimal() -> dict[str, Any]:
    """The fewest keys a scenario needs: everything else takes its default."""
    return {
        "name": "minimal",
        "duration": 600,
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 10}},
        "strategies": {
            "recreate": {"type": "Recreate"},
            "rolling": {"type": "RollingUpdate"},
            "blue-green": {"type": "BlueGreen"},
            "canary": {"type": "Canary", "steps": [{"setWeight": 50}]},
        },
    }


# --------------------------------------------------------------------------------------------
# Loading and defaults


def test_web_api_loads_with_units_converted() -> None:
    scenario = load_scenario(WEB_API)

    assert isinstance(scenario, Scenario)
    assert scenario.name == "web-api"
    assert list(scenario.strategies) == ["recreate", "rolling", "blue-green", "canary"]
    assert scenario.duration == 600.0  # "10m"
    assert scenario.deployment.controller_sync_delay == pytest.approx(0.1)  # "100ms"
    assert scenario.pod.readiness_probe.period_seconds == 2.0
    assert scenario.service.endpoint_propagation_delay == Uniform(type="uniform", low=0.5, high=2)
    assert scenario.release.current.warmup == Constant(value=2.0)  # "2s"
    assert isinstance(scenario.strategies["rolling"], RollingUpdate)
    canary = scenario.strategies["canary"]
    assert isinstance(canary, Canary)
    assert [s.set_weight for s in canary.steps if s.set_weight is not None] == [5, 25, 50]


def test_loaded_scenario_is_frozen() -> None:
    scenario = load_scenario(_minimal())
    with pytest.raises(ValueError, match="frozen"):
        scenario.duration = 1.0  # type: ignore[misc]


def test_defaults_follow_the_platform() -> None:
    scenario = load_scenario(_minimal())

    # Kubernetes Deployment / Pod defaults
    assert scenario.deployment.replicas == 1
    assert scenario.deployment.min_ready_seconds == 0.0
    assert scenario.deployment.progress_deadline_seconds == 600.0
    assert scenario.pod.termination_grace_period_seconds == 30.0
    assert scenario.pod.pre_stop_seconds == 0.0
    probe = scenario.pod.readiness_probe
    assert (probe.initial_delay_seconds, probe.period_seconds) == (0.0, 10.0)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)
    rolling = scenario.strategies["rolling"]
    assert isinstance(rolling, RollingUpdate)
    assert (rolling.max_surge, rolling.max_unavailable) == ("25%", "25%")
    # Argo Rollouts defaults
    blue_green = scenario.strategies["blue-green"]
    assert isinstance(blue_green, BlueGreen)
    assert blue_green.scale_down_delay_seconds == 30.0
    assert blue_green.abort_scale_down_delay_seconds == 30.0
    assert blue_green.auto_promotion_seconds == 0.0
    canary = scenario.strategies["canary"]
    assert isinstance(canary, Canary)
    assert (canary.max_surge, canary.max_unavailable) == ("25%", "25%")
    assert canary.scale_down_delay_seconds == 30.0
    # simdeploy's own defaults
    assert scenario.seed == 0
    assert scenario.sample_interval == 1.0
    assert scenario.release.at == 60.0
    assert (scenario.release.current.name, scenario.release.new.name) == ("v1", "v2")
    assert scenario.service.policy == "round-robin"
    assert scenario.cluster.capacity_pods is None
    assert scenario.traffic.users == 10_000


@pytest.mark.parametrize("version", ["current", "new"])
def test_default_service_time_is_an_exponential_distribution(version: str) -> None:
    spec = getattr(load_scenario(_minimal()).release, version)
    assert spec.service_time == Exponential(type="exponential", mean=0.05)


def test_probe_period_defaults_when_only_other_probe_fields_are_set() -> None:
    mapping = _set(_minimal(), ("pod",), {"readinessProbe": {"initialDelaySeconds": 5}})
    probe = load_scenario(mapping).pod.readiness_probe
    assert (probe.initial_delay_seconds, probe.period_seconds) == (5.0, 10.0)


def test_snake_case_names_are_accepted_too() -> None:
    mapping = _set(_minimal(), ("pod",), {"terminationGracePeriodSeconds": 5,
                                          "pre_stop_seconds": 2})
    pod = load_scenario(mapping).pod
    assert (pod.termination_grace_period_seconds, pod.pre_stop_seconds) == (5.0, 2.0)


def test_load_accepts_str_and_path(tiny_mapping: dict[str, Any], tmp_path: Path) -> None:
    path = _write(tmp_path, tiny_mapping)
    assert load_scenario(str(path)) == load_scenario(path) == load_scenario(tiny_mapping)


def test_dump_then_load_round_trips(tiny_mapping: dict[str, Any], tmp_path: Path) -> None:
    for scenario in (load_scenario(WEB_API), load_scenario(tiny_mapping)):
        dumped = scenario.model_dump(by_alias=True, mode="json")
        path = tmp_path / f"{scenario.name}.yaml"
        path.write_text(yaml.safe_dump(dumped), encoding="utf-8")
        assert load_scenario(path) == scenario


def test_json_schema_export() -> None:
    schema = Scenario.model_json_schema(by_alias=True)
    json.dumps(schema)  # serialisable
    assert "strategies" in schema["properties"]
    assert "sampleInterval" in schema["properties"]  # YAML spelling, not sample_interval
    assert set(schema["required"]) == {"name", "duration", "traffic", "strategies"}


# --------------------------------------------------------------------------------------------
# Durations


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("250ms", 0.25),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1.5m", 90.0),
        ("45", 45.0),
        (30, 30.0),
        (2.5, 2.5),
        (0, 0.0),
    ],
)
def test_durations_become_seconds(written: Any, seconds: float) -> None:
    mapping = _set(_minimal(), ("pod",), {"terminationGracePeriodSeconds": written})
    assert load_scenario(mapping).pod.termination_grace_period_seconds == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("5 parsecs", "expected a duration such as 30, '250ms', '30s' or '5m', got '5 parsecs'"),
        ("5d", "expected a duration such as 30, '250ms', '30s' or '5m', got '5d'"),
        ("-5s", "expected a duration such as 30, '250ms', '30s' or '5m', got '-5s'"),
        (-5, "a duration must be a finite number of seconds >= 0, got -5"),
        (float("inf"), "a duration must be a finite number of seconds >= 0, got inf"),
        (True, "expected a duration such as 30, '250ms', '30s' or '5m', got a boolean (true)"),
    ],
)
def test_malformed_duration_names_the_field(written: Any, problem: str) -> None:
    mapping = _set(_minimal(), ("pod",), {"terminationGracePeriodSeconds": written})
    error = _error(mapping)
    assert error.location == "pod.terminationGracePeriodSeconds"
    assert error.problem == problem


# --------------------------------------------------------------------------------------------
# Distributions


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (2, Constant(value=2.0)),
        ("250ms", Constant(value=0.25)),
        ({"type": "constant", "value": "1s"}, Constant(value=1.0)),
        ({"type": "exponential", "mean": "40ms"}, Exponential(type="exponential", mean=0.04)),
        ({"type": "lognormal", "median": 8, "sigma": 0.3},
         LogNormal(type="lognormal", median=8.0, sigma=0.3)),
        ({"type": "uniform", "low": 1, "high": 1}, Uniform(type="uniform", low=1.0, high=1.0)),
    ],
)
def test_distribution_forms(written: Any, expected: Any) -> None:
    mapping = _minimal()
    mapping["release"] = {"current": {"name": "v1", "containerStart": written}}
    assert load_scenario(mapping).release.current.container_start == expected


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ({"type": "lognormal", "median": 0, "sigma": 0.3}, "must be > 0, got 0.0"),
        ({"type": "lognormal", "median": 1, "sigma": -0.1}, "must be >= 0, got -0.1"),
        ({"type": "uniform", "low": 3, "high": 1}, "must be >= low (3 s), got 1 s"),
        ({"type": "gamma", "shape": 2},
         "must be one of 'constant', 'exponential', 'lognormal', 'uniform', got 'gamma'"),
        ({"type": "exponential", "mean": 1, "rate": 2}, "unknown field"),
    ],
)
def test_bad_distribution_names_the_field(written: Any, problem: str) -> None:
    mapping = _minimal()
    mapping["release"] = {"current": {"name": "v1", "containerStart": written}}
    error = _error(mapping)
    assert error.location is not None
    assert error.location.startswith("release.current.containerStart")
    assert problem in error.problem


# --------------------------------------------------------------------------------------------
# Errors: one line, FILE: field.path: problem


# (id, keys to set in the tiny mapping, value, field path in YAML spelling, problem text)
BAD_FIELDS: list[tuple[str, tuple[Any, ...], Any, str, str]] = [
    ("unknown-key", ("deployment", "replicaz"), 3,
     "deployment.replicaz", "unknown field"),
    ("unknown-top-key", ("replicas",), 3, "replicas", "unknown field"),
    ("wrong-type", ("deployment", "replicas"), "three",
     "deployment.replicas", "must be a whole number, got 'three'"),
    ("negative-replicas", ("deployment", "replicas"), -1,
     "deployment.replicas", "must be >= 1, got -1"),
    ("bad-duration", ("pod", "terminationGracePeriodSeconds"), "5 parsecs",
     "pod.terminationGracePeriodSeconds",
     "expected a duration such as 30, '250ms', '30s' or '5m', got '5 parsecs'"),
    ("probe-period-zero", ("pod", "readinessProbe", "periodSeconds"), 0,
     "pod.readinessProbe.periodSeconds", "must be >= 1, got 0.0"),
    ("lognormal-median", ("release", "current", "containerStart"),
     {"type": "lognormal", "median": 0, "sigma": 0.3},
     "release.current.containerStart.median", "must be > 0, got 0.0"),
    ("uniform-order", ("service", "endpointPropagationDelay"),
     {"type": "uniform", "low": 3, "high": 1},
     "service.endpointPropagationDelay.high", "must be >= low (3 s), got 1 s"),
    ("bad-literal", ("service", "stickiness"), "maybe",
     "service.stickiness", "must be one of 'none' or 'user', got 'maybe'"),
    ("same-version-names", ("release", "new", "name"), "v1",
     "release.new.name", "current and new versions need different names"),
    ("schedule-start", ("traffic", "arrivals"),
     {"type": "schedule", "segments": [{"start": 5, "rateRps": 1}]},
     "traffic.arrivals.segments[0].start", "the first segment must start at 0"),
    ("surge-oops", ("strategies", "rolling", "maxSurge"), "oops",
     "strategies.rolling.maxSurge", "must be an int or a percentage like '25%', got 'oops'"),
    ("surge-no-percent", ("strategies", "rolling", "maxSurge"), "25",
     "strategies.rolling.maxSurge", "must be an int or a percentage like '25%', got '25'"),
    ("surge-negative", ("strategies", "rolling", "maxSurge"), -1,
     "strategies.rolling.maxSurge", "must be an int or a percentage like '25%', got -1"),
    ("surge-float", ("strategies", "rolling", "maxSurge"), 2.5,
     "strategies.rolling.maxSurge", "must be an int or a percentage like '25%', got 2.5"),
    ("unknown-strategy-type", ("strategies", "rolling", "type"), "Rolling",
     "strategies.rolling.type",
     "must be one of 'Recreate', 'RollingUpdate', 'BlueGreen', 'Canary', 'Pipeline', "
     "got 'Rolling'"),
    ("step-both", ("strategies", "canary", "steps", 1),
     {"setWeight": 10, "pause": {"duration": 5}},
     "strategies.canary.steps[1]", "Step must have one of the following set: setWeight, pause, "
     "analysis, kayentaStage, setHeaderRoute or setMirrorRoute"),
    ("step-neither", ("strategies", "canary", "steps", 1), {},
     "strategies.canary.steps[1]", "Step must have one of the following set: setWeight, pause, "
     "analysis, kayentaStage, setHeaderRoute or setMirrorRoute"),
    ("pause-without-duration", ("strategies", "canary", "steps", 1), {"pause": {}},
     "strategies.canary.steps[1].pause.duration",
     "a pause without duration waits for a human; give a duration"),
    ("weight-over-100", ("strategies", "canary", "steps", 0), {"setWeight": 101},
     "strategies.canary.steps[0].setWeight", "must be <= 100, got 101"),
    ("steps-and-flagger", ("strategies", "canary", "stepWeight"), 20,
     "strategies.canary.stepWeight",
     "use either steps (Argo) or stepWeight/maxWeight/interval (Flagger)"),
    ("no-steps-at-all", ("strategies", "canary", "steps"), None,
     "strategies.canary", "give steps (Argo) or analysis with stepWeight (Flagger)"),
    ("health-gate-rate", ("strategies", "canary", "healthGate", "maxErrorRate"), 2,
     "strategies.canary.healthGate.maxErrorRate",
     "must be <= 1, got 2"),
    ("no-strategies", ("strategies",), {},
     "strategies", "must not be empty"),
]

PROBLEM_CASES = [pytest.param(*row[1:5], id=row[0]) for row in BAD_FIELDS]
PATH_CASES = [pytest.param(*row[1:5], id=row[0]) for row in BAD_FIELDS]


@pytest.mark.parametrize(("keys", "value", "path", "problem"), PROBLEM_CASES)
def test_bad_field_is_one_line_with_file_and_problem(
    tiny_mapping: dict[str, Any], tmp_path: Path,
    keys: tuple[Any, ...], value: Any, path: str, problem: str,
) -> None:
    file = _write(tmp_path, _set(tiny_mapping, keys, value))
    error = _error(file)
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{file}: ")
    assert error.source == str(file)
    assert message.endswith(f": {error.problem}")
    assert problem in error.problem


@pytest.mark.parametrize(("keys", "value", "path", "problem"), PATH_CASES)
def test_bad_field_names_the_yaml_field_path(
    tiny_mapping: dict[str, Any], tmp_path: Path,
    keys: tuple[Any, ...], value: Any, path: str, problem: str,
) -> None:
    file = _write(tmp_path, _set(tiny_mapping, keys, value))
    error = _error(file)
    assert error.location == path
    assert str(error).startswith(f"{file}: {path}: ")


@pytest.mark.parametrize(("keys", "value", "path", "problem"), PROBLEM_CASES)
def test_field_path_has_no_pydantic_internals(
    tiny_mapping: dict[str, Any], keys: tuple[Any, ...], value: Any, path: str, problem: str,
) -> None:
    error = _error(_set(tiny_mapping, keys, value))
    assert error.location is not None
    assert error.location == "(top level)" or FIELD_PATH_ONLY.match(error.location), (
        error.location)
    for part in re.split(r"[.\[\]]", error.location):
        assert part not in PYDANTIC_TAGS
        assert not part.startswith("function-")
    assert "function-after" not in str(error)


def test_flagger_interval_error_names_interval(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["strategies"]["canary"] = {"type": "Canary", "stepWeight": 20,
                                            "interval": "5 parsecs"}
    error = _error(tiny_mapping)
    assert error.problem == (
        "expected a duration such as 30, '250ms', '30s' or '5m', got '5 parsecs'"
    )
    assert error.location == "strategies.canary.interval"


@pytest.mark.parametrize("name", ["stress", "integration", "floaty", "schedule", "Canary"])
def test_user_strategy_names_stay_in_the_path(tiny_mapping: dict[str, Any], name: str) -> None:
    tiny_mapping["strategies"][name] = {"type": "RollingUpdate", "maxSurge": "oops"}
    assert _error(tiny_mapping).location == f"strategies.{name}.maxSurge"


@pytest.mark.parametrize("strategy", ["rolling", "canary"])
@pytest.mark.parametrize("field", ["maxSurge", "maxUnavailable"])
def test_percentage_problem_does_not_name_another_field(
    tiny_mapping: dict[str, Any], strategy: str, field: str
) -> None:
    tiny_mapping["strategies"][strategy][field] = "oops"
    assert _error(tiny_mapping).problem == "must be an int or a percentage like '25%', got 'oops'"


def test_more_problems_are_counted_on_the_same_line(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["deployment"]["replicaz"] = 3
    tiny_mapping["pod"]["workerz"] = 3
    assert str(_error(tiny_mapping)) == (
        "<mapping>: deployment.replicaz: unknown field (and 1 more problem)"
    )
    tiny_mapping["service"]["polisy"] = "random"
    assert _error(tiny_mapping).problem == "unknown field (and 2 more problems)"


@pytest.mark.parametrize("capacity", [1, 2])
def test_capacity_below_replicas(tiny_mapping: dict[str, Any], capacity: int) -> None:
    tiny_mapping["cluster"]["capacityPods"] = capacity
    error = _error(tiny_mapping)
    assert "\n" not in str(error)
    assert error.problem == f"the cluster holds {capacity} pods, fewer than deployment.replicas (3)"


def test_capacity_equal_to_replicas_is_fine(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["cluster"]["capacityPods"] = 3
    assert load_scenario(tiny_mapping).cluster.capacity_pods == 3


@pytest.mark.parametrize("at", [120, "2m", 500])
def test_release_at_or_after_the_end(tiny_mapping: dict[str, Any], at: Any) -> None:
    tiny_mapping["release"]["at"] = at
    error = _error(tiny_mapping)
    assert error.location == "release.at"
    assert error.problem.startswith("must be before the end of the run (duration 120 s), got ")


def test_release_just_before_the_end_is_fine(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["release"]["at"] = 119.5
    assert load_scenario(tiny_mapping).release.at == 119.5


# --------------------------------------------------------------------------------------------
# Errors before validation: the file itself


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text("name: x\nseed: a: b\nduration: 5\n", encoding="utf-8")
    error = _error(file)
    assert str(error) == (
        f"{file}: line 2, column 8: YAML syntax error: mapping values are not allowed here"
    )


def test_unclosed_flow_sequence_names_a_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text("name: x\nduration: [1\n", encoding="utf-8")
    error = _error(file)
    assert error.location is not None
    assert re.fullmatch(r"line \d+, column \d+", error.location)
    assert error.problem.startswith("YAML syntax error: ")
    assert "\n" not in str(error)


def test_missing_file(tmp_path: Path) -> None:
    file = tmp_path / "nope.yaml"
    assert str(_error(file)) == f"{file}: no such file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    error = _error(tmp_path)
    assert error.source == str(tmp_path)
    assert error.location is None
    assert "\n" not in str(error)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yaml"
    file.write_bytes("name: café\n".encode("latin-1"))
    error = _error(file)
    assert error.source == str(file)


@pytest.mark.parametrize(
    "text", ["- 1\n- 2\n", "just a string\n", "42\n", "", "# only a comment\n"],
    ids=["list", "string", "number", "empty", "comment-only"],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    file = tmp_path / "top.yaml"
    file.write_text(text, encoding="utf-8")
    assert str(_error(file)) == f"{file}: expected a mapping of scenario fields at the top"


# --------------------------------------------------------------------------------------------
# Canary forms


def _weights_and_pauses(canary: Canary) -> list[tuple[int | None, float | None]]:
    return [(s.set_weight, s.pause.duration if s.pause else None)
            for s in canary.effective_steps()]


def test_old_flagger_spelling_moves_into_analysis(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["strategies"]["canary"] = {"type": "Canary", "stepWeight": 20, "maxWeight": 50,
                                            "interval": "30s"}
    canary = load_scenario(tiny_mapping).strategies["canary"]
    assert isinstance(canary, Canary)
    assert canary.flagger is not None
    # Flagger runs its own loop (simdeploy.strategies.flagger), not Argo steps
    assert canary.effective_steps() == []
    assert canary.flagger.as_flagger() == {"interval": "30s", "stepWeight": 20,
                                           "maxWeight": 50, "mirror": False, "metrics": []}


def test_flagger_analysis_is_read_in_flaggers_spelling(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["strategies"]["canary"] = {"type": "Canary", "analysis": {
        "interval": 10, "threshold": 3, "stepWeights": [5, 30], "stepWeightPromotion": 50,
        "mirror": True, "mirrorWeight": 40,
        "metrics": [{"name": "request-duration", "thresholdRange": {"max": 500},
                     "interval": "30s"}]}}
    canary = load_scenario(tiny_mapping).strategies["canary"]
    assert isinstance(canary, Canary)
    assert canary.flagger is not None
    assert canary.flagger.as_flagger() == {
        "interval": "10s", "threshold": 3, "stepWeights": [5, 30], "stepWeightPromotion": 50,
        "mirror": True, "mirrorWeight": 40,
        "metrics": [{"name": "request-duration", "interval": "30s",
                     "thresholdRange": {"max": 500}}]}


def test_argo_steps_are_kept_as_written(tiny_mapping: dict[str, Any]) -> None:
    canary = load_scenario(tiny_mapping).strategies["canary"]
    assert isinstance(canary, Canary)
    assert _weights_and_pauses(canary) == [(20, None), (None, 20.0), (50, None), (None, 20.0)]


def test_mixing_steps_and_flagger_form_is_an_error(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["strategies"]["canary"]["maxWeight"] = 50
    error = _error(tiny_mapping)
    assert error.problem == "use either steps (Argo) or stepWeight/maxWeight/interval (Flagger)"


# --------------------------------------------------------------------------------------------
# Properties

NOT_A_PERCENTAGE = st.one_of(
    st.text(max_size=12).filter(lambda s: re.fullmatch(r"[0-9]+%", s) is None),
    st.from_regex(r"\A-?[0-9]+(\.[0-9]+)?%?\Z").filter(
        lambda s: re.fullmatch(r"[0-9]+%", s) is None),
    st.integers(max_value=-1),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 9), max_size=2),
)
INT_OR_PERCENT = st.one_of(st.integers(0, 1000), st.integers(0, 1000).map(lambda p: f"{p}%"))
# Kubernetes refuses maxUnavailable above 100 %, and both written as zero
UNAVAILABLE = st.one_of(st.integers(0, 1000), st.integers(0, 100).map(lambda p: f"{p}%"))


def _written_zero(value: int | str) -> bool:
    return value in (0, "0%")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(replicas=st.integers(1, 500), surge=INT_OR_PERCENT, unavailable=UNAVAILABLE)
def test_valid_replicas_and_fenceposts_round_trip(
    tiny_mapping: dict[str, Any], replicas: int, surge: int | str, unavailable: int | str
) -> None:
    assume(not (_written_zero(surge) and _written_zero(unavailable)))
    mapping = copy.deepcopy(tiny_mapping)
    mapping["deployment"]["replicas"] = replicas
    mapping["strategies"]["rolling"].update(maxSurge=surge, maxUnavailable=unavailable)
    # through YAML text, as a user would write it
    scenario = load_scenario(yaml.safe_load(yaml.safe_dump(mapping)))
    rolling = scenario.strategies["rolling"]
    assert isinstance(rolling, RollingUpdate)
    assert scenario.deployment.replicas == replicas
    assert (rolling.max_surge, rolling.max_unavailable) == (surge, unavailable)
    assert load_scenario(scenario.model_dump(by_alias=True)) == scenario


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=NOT_A_PERCENTAGE)
def test_anything_else_is_rejected_as_max_surge(tiny_mapping: dict[str, Any], junk: Any) -> None:
    mapping = copy.deepcopy(tiny_mapping)
    mapping["strategies"]["rolling"]["maxSurge"] = junk
    error = _error(mapping)
    assert "\n" not in str(error)
    assert error.location is not None
    assert error.location.endswith("rolling.maxSurge")
    assert "must be an int or a percentage like '25%'" in error.problem
