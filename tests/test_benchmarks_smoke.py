"""Smoke test of the benchmark: ``python -m benchmarks --quick --json`` runs and is sane.

No timing assertions (the machine may be busy): only that every model ran, reported a positive
rate, and that simdeploy simulated the same traffic as the textbook SimPy model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"textbook", "bare", "steady", "rolling", "canary"}
SIMDEPLOY = ("steady", "rolling", "canary")


def test_quick_benchmark_runs_and_reports_every_model() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["quick"] is True
    models = {m["key"]: m for m in result["models"]}
    assert set(models) == MODELS
    for m in models.values():
        assert m["requests"] > 0, m
        assert m["seconds_best"] > 0, m
        assert m["requests_per_s"] > 0, m
        assert m["ratio_to_textbook"] > 0, m
    textbook = models["textbook"]["requests"]
    for key in (*SIMDEPLOY, "bare"):
        assert abs(models[key]["requests"] - textbook) <= 0.10 * textbook, (key, models[key])
    # the "rolling" figure must come from a run in which a rollout really happened
    assert models["rolling"]["outcome"] == "completed", models["rolling"]


def test_decision_benchmark_runs_and_the_pool_gives_the_same_table() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_decision", "--quick", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["comparison"]["runs"] == 8
    assert result["comparison"]["identical_tables"] == 1.0
    peaks = [row["peak_mib"] for row in result["memory"]]
    assert [row["minutes"] for row in result["memory"]] == [5.0, 20.0, 80.0]
    assert all(p > 0 for p in peaks)
