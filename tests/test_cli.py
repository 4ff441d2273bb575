"""Tests for the ``simdeploy`` command line: exit codes, one-line errors, output formats.

Exit 0 on success; exit 2 on bad input with exactly one stderr line,
``simdeploy: FILE: field.path: problem``, and no traceback. Runs use the tiny scenario
(conftest ``tiny_mapping``) so the whole file stays fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import simdeploy
from simdeploy.cli import main
from simdeploy.records import OUTCOMES

REPO = Path(simdeploy.__file__).resolve().parent.parent
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))

SUMMARY_KEYS = [
    "downtime_s", "requests_total", "requests_failed", "error_rate", "users_total",
    "users_exposed_new", "users_with_errors", "baseline_pods", "peak_pods",
    "extra_pod_seconds", "extra_cost", "rollout_duration_s", "latency_p50_ms",
    "latency_p99_ms", "outcome",
]


def _write(tmp_path: Path, mapping: Any, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return path


def _strict_json(text: str) -> Any:
    """Parse JSON, refusing NaN/Infinity (which are not JSON)."""
    def refuse(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m simdeploy ARGS`` in a fresh interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    return subprocess.run([sys.executable, "-m", "simdeploy", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _assert_one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert stderr.endswith("\n")
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("simdeploy: ")
    return lines[0]


@pytest.fixture
def tiny_file(tiny_mapping: dict[str, Any], tmp_path: Path) -> Path:
    return _write(tmp_path, tiny_mapping)


@pytest.fixture
def bad_file(tiny_mapping: dict[str, Any], tmp_path: Path) -> Path:
    tiny_mapping["deployment"]["replicaz"] = 3
    return _write(tmp_path, tiny_mapping, "bad.yaml")


# --------------------------------------------------------------------------------------------
# validate


def test_there_are_shipped_scenarios() -> None:
    assert SCENARIOS, "scenarios/*.yaml is empty"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_validate_every_shipped_scenario(scenario: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    assert main(["validate", str(scenario)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"{scenario}: ok (")


def test_validate_ok_lists_name_and_strategies(tiny_file: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tiny_file)]) == 0
    out, _ = capsys.readouterr()
    assert out == f"{tiny_file}: ok (tiny, strategies: recreate, rolling, blue-green, canary)\n"


def test_validate_bad_file(bad_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(bad_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    line = _assert_one_error_line(err)
    assert line == f"simdeploy: {bad_file}: deployment.replicaz: unknown field"


def test_validate_checks_every_file(tiny_file: Path, bad_file: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.yaml"
    assert main(["validate", str(tiny_file), str(bad_file), str(tiny_file), str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out.count(": ok (") == 2
    assert err.splitlines() == [f"simdeploy: {bad_file}: deployment.replicaz: unknown field",
                                f"simdeploy: {missing}: no such file"]
    assert main(["validate", str(tiny_file), str(tiny_file)]) == 0


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["validate", str(missing)]) == 2
    _, err = capsys.readouterr()
    assert _assert_one_error_line(err) == f"simdeploy: {missing}: no such file"


def test_validate_yaml_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nseed: a: b\n", encoding="utf-8")
    assert main(["validate", str(broken)]) == 2
    _, err = capsys.readouterr()
    assert _assert_one_error_line(err).startswith(f"simdeploy: {broken}: line 2, column 8: ")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    assert _assert_one_error_line(err) == (
        "simdeploy: validate: the following arguments are required: FILE "
        "(see 'simdeploy validate --help')")


# --------------------------------------------------------------------------------------------
# run


def test_run_unknown_strategy(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tiny_file), "--strategy", "bogus"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert _assert_one_error_line(err) == (
        f"simdeploy: {tiny_file}: --strategy: no strategy 'bogus' "
        "(known: recreate, rolling, blue-green, canary)"
    )


def test_run_json_summary(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tiny_file), "--strategy", "rolling", "--seed", "3", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    summary = _strict_json(out)
    assert (summary["strategy"], summary["seed"]) == ("rolling", 3)
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["outcome"] == "completed"
    assert summary["baseline_pods"] == 3
    # 50 rps for 120 s: about 6000 requests
    assert 5000 < summary["requests_total"] < 7000
    outcome_counts = {k: v for k, v in summary.items() if k.startswith("requests_")
                      and k[len("requests_"):] in OUTCOMES}
    assert "requests_ok" in outcome_counts
    assert sum(outcome_counts.values()) == summary["requests_total"]


def test_run_defaults_to_first_strategy_and_scenario_seed(
    tiny_mapping: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_mapping["seed"] = 7
    file = _write(tmp_path, tiny_mapping)
    assert main(["run", str(file), "--json"]) == 0
    summary = _strict_json(capsys.readouterr().out)
    assert (summary["strategy"], summary["seed"]) == ("recreate", 7)


def test_run_text_output(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tiny_file), "--strategy", "recreate"]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "tiny: recreate (seed 0)"
    assert [line.split()[0] for line in lines[1:len(SUMMARY_KEYS) + 1]] == SUMMARY_KEYS


def test_run_same_seed_same_summary(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(tiny_file), "--strategy", "canary", "--seed", "5", "--json"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first


# --------------------------------------------------------------------------------------------
# compare


def test_compare_json_one_record_per_strategy(tiny_file: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tiny_file), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    document = _strict_json(out)
    assert (document["scenario"], document["seed"], document["replications"]) == ("tiny", 0, 1)
    records = document["runs"]
    assert [r["strategy"] for r in records] == ["recreate", "rolling", "blue-green", "canary"]
    for record in records:
        assert (record["replication"], record["seed"]) == (0, 0)
        assert set(SUMMARY_KEYS) <= set(record)


def test_compare_replications_use_consecutive_seeds(
    tiny_mapping: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_mapping["strategies"] = {"recreate": {"type": "Recreate"}}
    file = _write(tmp_path, tiny_mapping)
    assert main(["compare", str(file), "--json", "--replications", "2", "--seed", "4"]) == 0
    records = _strict_json(capsys.readouterr().out)["runs"]
    assert [(r["strategy"], r["replication"], r["seed"]) for r in records] == [
        ("recreate", 0, 4), ("recreate", 1, 5),
    ]


def test_compare_table_names_every_strategy(tiny_file: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tiny_file)]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "tiny: 3 replicas, seed 0"
    assert "downtime s" in lines[1]
    body = [line.split()[0] for line in lines[2:lines.index("")]]  # the verdict follows
    assert body == ["recreate", "rolling", "blue-green", "canary"]


def test_compare_zero_replications(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["compare", str(tiny_file), "--replications", "0"])
    assert info.value.code == 2
    _, err = capsys.readouterr()
    assert _assert_one_error_line(err) == (
        "simdeploy: compare: argument --replications: must be between 1 and 1,000,000,000, got 0 "
        "(see 'simdeploy compare --help')")


def test_compare_bad_file(bad_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(bad_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert _assert_one_error_line(err) == (
        f"simdeploy: {bad_file}: deployment.replicaz: unknown field"
    )


# --------------------------------------------------------------------------------------------
# A fresh interpreter: no traceback, exit 2, nothing written


@pytest.mark.parametrize("command", ["validate", "run", "compare"])
def test_subprocess_bad_input_exits_2_without_traceback_or_results(
    bad_file: Path, tmp_path: Path, command: str
) -> None:
    done = _cli([command, bad_file.name], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert _assert_one_error_line(done.stderr) == (
        f"simdeploy: {bad_file.name}: deployment.replicaz: unknown field"
    )
    results = tmp_path / "results"
    assert not results.exists() or not any(results.iterdir())


def test_subprocess_missing_file(tmp_path: Path) -> None:
    done = _cli(["run", "nope.yaml"], cwd=tmp_path)
    assert done.returncode == 2
    assert _assert_one_error_line(done.stderr) == "simdeploy: nope.yaml: no such file"
    assert not (tmp_path / "results").exists()


def test_subprocess_run_ok(tiny_file: Path, tmp_path: Path) -> None:
    done = _cli(["run", tiny_file.name, "--strategy", "blue-green", "--json"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert _strict_json(done.stdout)["strategy"] == "blue-green"


@pytest.mark.parametrize("command", ["run", "compare"])
def test_subprocess_negative_seed_is_bad_input(tiny_file: Path, tmp_path: Path,
                                               command: str) -> None:
    done = _cli([command, tiny_file.name, "--seed", "-1"], cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2


def test_subprocess_non_utf8_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("name: café\n".encode("latin-1"))
    done = _cli(["validate", "latin1.yaml"], cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2


def test_run_scenario_without_service_time(tiny_mapping: dict[str, Any], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    del tiny_mapping["release"]["current"]["serviceTime"]
    file = _write(tmp_path, tiny_mapping)
    assert main(["run", str(file), "--strategy", "recreate", "--json"]) == 0
    assert _strict_json(capsys.readouterr().out)["outcome"] == "completed"
