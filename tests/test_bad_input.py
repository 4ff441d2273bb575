"""The edges of input: files that are not scenarios, values that are not numbers, names that
would break a file name or a figure. Each must be one line naming the file, the field and the
problem, in the project's words."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from simdeploy.errors import ScenarioError
from simdeploy.scenario import load_scenario
from simdeploy.scenario_file import MAX_DEPTH, MAX_FILE_BYTES

PYDANTIC_WORDS = re.compile(r"Input should|instance of|discriminator|Unable to extract|"
                            r"Dictionary should|function-after|pydantic")


def _error(source: Any) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source)
    error = info.value
    assert "\n" not in str(error)
    assert PYDANTIC_WORDS.search(str(error)) is None, str(error)
    return error


def _file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "s.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- the file ---------------------------------------------------------------------------------


def test_yaml_nested_thousands_deep(tmp_path: Path) -> None:
    error = _error(_file(tmp_path, "name: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert "nested too deeply" in error.problem


def test_yaml_nested_beyond_the_limit_but_parseable(tmp_path: Path) -> None:
    depth = MAX_DEPTH + 5
    error = _error(_file(tmp_path, "name: " + "[" * depth + "]" * depth + "\n"))
    assert error.problem == f"nested too deeply (more than {MAX_DEPTH} levels)"


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    error = _error(_file(tmp_path, "\n".join(lines) + "\n"))
    assert "more than 100,000 values" in error.problem


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    text = ("name: x\nduration: 60\ntraffic: {arrivals: {type: poisson, rateRps: 1}}\n"
            "strategies:\n  a: {type: Recreate}\n  a: {type: RollingUpdate}\n")
    error = _error(_file(tmp_path, text))
    assert error.location == "line 6, column 3"
    assert error.problem == "YAML syntax error: duplicate key 'a'"


def test_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    text = ("name: x\nduration: 600\ntraffic: {arrivals: {type: poisson, rateRps: 1}}\n"
            "strategies:\n  a: &b {type: RollingUpdate, maxSurge: 1}\n"
            "  c: {<<: *b, maxSurge: 2}\n")
    assert load_scenario(_file(tmp_path, text)).strategies["c"].max_surge == 2


def test_endless_device_is_not_read_forever() -> None:
    error = _error("/dev/zero")
    assert error.problem == f"larger than {MAX_FILE_BYTES // 1024} KiB: not a scenario file"


def test_a_directory(tmp_path: Path) -> None:
    assert _error(tmp_path).problem == "is a directory, not a scenario file"


def test_empty_file(tmp_path: Path) -> None:
    assert _error(_file(tmp_path, "")).problem == "expected a mapping of scenario fields at the top"


def test_nul_bytes(tmp_path: Path) -> None:
    assert "YAML syntax error" in _error(_file(tmp_path, b"name: a\x00b\n")).problem


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("keys", "value", "problem"), [
    (("traffic", "arrivals", "rateRps"), float("inf"), "must be a finite number, got inf"),
    (("traffic", "arrivals", "rateRps"), float("nan"), "not a number (NaN)"),
    (("traffic", "arrivals", "rateRps"), True, "must be a number, got a boolean (true)"),
    (("traffic", "arrivals", "rateRps"), 10**400, "must be a number, got 1000000"),
    (("release", "new", "errorRate"), True, "must be a number, got a boolean (true)"),
    (("release", "new", "errorRate"), float("nan"), "not a number (NaN)"),
    (("deployment", "replicas"), True, "must be a whole number, got a boolean (true)"),
    (("deployment", "replicas"), 3.0, "must be a whole number, got 3.0"),
    (("deployment", "replicas"), "3", "must be a whole number, got '3'"),
    (("traffic", "users"), [1], "must be a whole number, got a list"),
    (("duration",), float("inf"), "a duration must be a finite number of seconds >= 0, got inf"),
    (("duration",), 10**400, "a duration must be a finite number of seconds >= 0, got 1000"),
    (("duration",), float("nan"),
     "a duration must be a finite number of seconds >= 0, got not a number (NaN)"),
    (("pod",), [1, 2], "must be a mapping of fields, got a list"),
    (("cluster",), "big", "must be a mapping of fields, got 'big'"),
    (("service", "policy"), None, "must be one of 'round-robin', 'random' or 'least-request', "
                                  "got null"),
])
def test_values_that_are_not_what_the_field_holds(tiny_mapping: dict[str, Any],
                                                  keys: tuple[str, ...], value: Any,
                                                  problem: str) -> None:
    node = tiny_mapping
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    error = _error(tiny_mapping)
    assert error.location == ".".join(keys)
    assert error.problem.startswith(problem)


def test_union_names_the_wrong_field_inside_it(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["release"]["new"]["unhealthyAfter"] = {"type": "uniform", "low": "6m",
                                                        "high": "2m"}
    error = _error(tiny_mapping)
    assert (error.location, error.problem) == ("release.new.unhealthyAfter.high",
                                               "must be >= low (360 s), got 120 s")


def test_missing_type_names_the_type_field(tiny_mapping: dict[str, Any]) -> None:
    del tiny_mapping["traffic"]["arrivals"]["type"]
    error = _error(tiny_mapping)
    assert error.location == "traffic.arrivals.type"
    assert error.problem == "is missing (it says which kind this is)"


def test_sample_interval_longer_than_the_run(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["sampleInterval"] = "3m"
    error = _error(tiny_mapping)
    assert (error.location, error.problem) == ("sampleInterval",
                                               "must not be longer than the run (duration 120 s)")


def test_schedule_segment_after_the_end(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["traffic"]["arrivals"] = {"type": "schedule", "segments": [
        {"start": 0, "rateRps": 5}, {"start": 60, "rateRps": 9}, {"start": 120, "rateRps": 1}]}
    error = _error(tiny_mapping)
    assert error.location == "traffic.arrivals.segments[2].start"
    assert error.problem == "starts at 120 s, not before the end of the run (duration 120 s)"


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "a/b", "x$\\frac{$", "nul\x00name", "../up", ".hidden",
                                  "-dash", "a" * 64, "tab\tname", "sp ace"])
def test_strategy_names_that_cannot_be_file_names(tiny_mapping: dict[str, Any],
                                                  name: str) -> None:
    tiny_mapping["strategies"] = {name: {"type": "Recreate"}}
    error = _error(tiny_mapping)
    assert error.problem.startswith("a strategy name is 1 to 63 letters, digits")
    assert "\x00" not in str(error)
    assert "\t" not in str(error)


@pytest.mark.parametrize("name", ["rolling", "blue-green", "canary_5.v2", "A" * 63, "0"])
def test_strategy_names_that_are_fine(tiny_mapping: dict[str, Any], name: str) -> None:
    tiny_mapping["strategies"] = {name: {"type": "Recreate"}}
    assert list(load_scenario(tiny_mapping).strategies) == [name]


@pytest.mark.parametrize(("keys", "value", "problem"), [
    (("name",), "", "must not be empty"),
    (("name",), "   ", "must not be empty"),
    (("name",), "two\nlines", "must be one line without control characters"),
    (("release", "new", "name"), "", "must not be empty"),
    (("release", "current", "name"), "v\x001", "must be one line without control characters"),
    (("name",), "n" * 101, "must be at most 100 characters, got 101"),
])
def test_empty_or_multiline_names(tiny_mapping: dict[str, Any], keys: tuple[str, ...],
                                  value: str, problem: str) -> None:
    node = tiny_mapping
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    error = _error(tiny_mapping)
    assert (error.location, error.problem) == (".".join(keys), problem)


def test_non_string_strategy_name(tiny_mapping: dict[str, Any]) -> None:
    tiny_mapping["strategies"] = {5: {"type": "Recreate"}}
    error = _error(copy.deepcopy(tiny_mapping))
    assert error.location == "strategies.5"
    assert error.problem == "must be a text string, got 5"
