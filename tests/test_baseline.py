"""Regression-checked answers: ``simdeploy baseline`` records means and catches a model change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from simdeploy import baseline
from simdeploy.cli import main


@pytest.fixture
def tiny_file(tiny_mapping: dict[str, Any], tmp_path: Path) -> Path:
    tiny_mapping["strategies"] = {k: tiny_mapping["strategies"][k] for k in ("rolling", "canary")}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_mapping), encoding="utf-8")
    return path


def test_a_rerun_matches_and_a_model_change_fails(tiny_file: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "baselines"
    args = [str(tiny_file), "--dir", str(folder), "--jobs", "1"]
    assert main(["baseline", "update", *args, "--replications", "3"]) == 0
    document = json.loads((folder / "tiny.json").read_text())
    assert document["replications"] == 3
    assert {"simdeploy", "numpy", "simpy", "python"} <= set(document["versions"])
    rolling = document["strategies"]["rolling"]
    assert rolling["requests_failed"]["n"] == 3
    assert rolling["users_with_errors"]["detectable_shift"] >= 0
    capsys.readouterr()

    assert main(["baseline", "check", *args]) == 0
    assert capsys.readouterr().out.endswith(f"within 4 standard errors of the baselines in "
                                            f"{folder}\n")

    # a deliberate model change: every pod serves three times slower
    from simdeploy import traffic

    def slow_service(self: Any, pod: Any, req: tuple) -> None:
        from simpy.events import Timeout

        pod.inflight[req[0]] = req
        Timeout(self.env, 3 * self._service_time[pod.version].next(),
                (pod, req)).callbacks.append(self._on_done)

    monkeypatch.setattr(traffic.Workload, "_serve", slow_service)
    assert main(["baseline", "check", *args]) == 1
    out = capsys.readouterr().out
    assert "latency_p50_ms" in out
    assert "metric means moved more than 4 standard errors" in out


def test_check_without_a_baseline_is_bad_input(tiny_file: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "check", str(tiny_file), "--dir", str(tmp_path / "none")]) == 2
    assert "no baseline at" in capsys.readouterr().err


def test_standard_errors_of_a_shift() -> None:
    old = {"mean": 10.0, "std": 2.0, "n": 4}
    assert baseline._standard_errors(old, {"mean": 10.0, "std": 2.0, "n": 4}) == 0
    # se = sqrt(4/4 + 4/4) = sqrt(2)
    assert baseline._standard_errors(old, {"mean": 14.0, "std": 2.0, "n": 4}) == \
        pytest.approx(4 / 2**0.5)
    fixed = {"mean": 13.0, "std": 0.0, "n": 4}
    assert baseline._standard_errors(fixed, dict(fixed)) == 0
    assert baseline._standard_errors(fixed, {"mean": 14.0, "std": 0.0, "n": 4}) == float("inf")
