"""The command line follows conventions: --version, help with defaults and no markup, counts as
integers, the shipped scenarios and the schema reachable from any install."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

import simdeploy as sd
from simdeploy.cli import main

REPO = Path(sd.__file__).resolve().parent.parent
SHIPPED = sorted(p.name for p in (REPO / "simdeploy" / "scenarios").glob("*.yaml"))


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"simdeploy {sd.__version__}\n"


@pytest.mark.parametrize("command", [[], ["validate"], ["run"], ["compare"], ["report"],
                                     ["scenarios"], ["schema"]])
def test_help_has_no_markup_and_shows_defaults(command: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text
    assert ":func:" not in text
    assert ":mod:" not in text
    if command in (["compare"], ["report"]):
        assert "runs per strategy (default: 1)" in text
    if command == ["report"]:
        assert "(default: csv)" in text


def test_compare_table_prints_counts_as_integers(tiny_mapping: dict[str, Any], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump(tiny_mapping), encoding="utf-8")
    assert main(["compare", str(file), "--replications", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[1]
    for line in lines[2:6]:
        for column in ("failed req", "users on new", "users w/ errors", "peak pods"):
            end = header.index(column) + len(column)  # columns are right-aligned
            # replicated: "mean ± half-width", both whole, maybe marked significant
            assert re.search(r"\s\d+ ± \d+\*?$", line[:end]), (column, line[:end])


def test_requests_table_names_the_versions(tiny_mapping: dict[str, Any]) -> None:
    result = sd.run(sd.load_scenario(tiny_mapping), "rolling", keep_requests=True)
    assert set(result.requests.version.astype(str)) == {"v1", "v2"}


def test_scenarios_lists_the_shipped_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == SHIPPED
    assert "Stateless web API" in out


def test_scenarios_copy_writes_them_and_never_overwrites(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "examples"
    assert main(["scenarios", "copy", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == SHIPPED
    for name in SHIPPED:
        assert (folder / name).read_bytes() == (REPO / "scenarios" / name).read_bytes()
        sd.load_scenario(folder / name)
    capsys.readouterr()
    (folder / "web-api.yaml").write_text("mine")
    (folder / "jvm-service.yaml").unlink()
    assert main(["scenarios", "copy", str(folder)]) == 2
    assert capsys.readouterr().err == (
        f"simdeploy: {folder / SHIPPED[0]}: already exists: nothing copied\n")
    assert (folder / "web-api.yaml").read_text() == "mine"
    assert not (folder / "jvm-service.yaml").exists()


def test_schema_is_the_scenario_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json.loads(json.dumps(sd.Scenario.model_json_schema(by_alias=True)))
    assert "sampleInterval" in schema["properties"]


@pytest.mark.slow
def test_a_built_wheel_carries_the_scenarios(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("simdeploy-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n.split("/")[-1] for n in names
                  if n.startswith("simdeploy/scenarios/")) == SHIPPED
