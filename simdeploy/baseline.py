"""Regression-checked answers: recorded per-strategy means, and a statistical check against them.

A golden file says "this exact float changed", which any NumPy upgrade does (NumPy promises
the same stream only on the same build). A baseline instead records, for each scenario, each
strategy's mean, standard deviation and number of replications of every numeric summary
metric. ``check`` reruns the same replications and flags a metric whose new mean is more
than :data:`TOLERANCE_SE` standard errors of the difference away from the recorded one —
a model change moves answers by far more than that, a new random stream almost never does.

With the same NumPy the rerun is identical and every shift is exactly 0; a metric with no
spread (peak pods, say) must then match to 1e-9.
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simdeploy.compare import compare
from simdeploy.scenario import Scenario

__all__ = ["HEADLINE_METRICS", "TOLERANCE_SE", "Shift", "check", "read", "record", "shifts_table",
           "versions", "write"]

TOLERANCE_SE = 4.0
"""How many standard errors a mean may move. Four keep a false alarm, over the ~1,000 metric
means of the shipped scenarios on a new random stream, to a few percent."""

HEADLINE_METRICS = ("downtime_s", "requests_failed", "users_with_errors",
                    "extra_scheduled_pod_seconds", "rollout_duration_s", "latency_p99_ms")
"""The metrics whose detectable shift the baseline states (its power)."""

_SKIPPED = {"replication", "seed", "baseline_pods"}


def versions() -> dict[str, str]:
    """The versions the recorded numbers came from."""
    import simpy

    from simdeploy import __version__

    return {"simdeploy": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "simpy": simpy.__version__}


def _numeric_metrics(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in _SKIPPED and c != "strategy"
            and pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(
                table[c])]


def record(scenario: Scenario, source: str, replications: int, *, seed: int | None = None,
           jobs: int = 1, progress: Callable[[int, int], None] | None = None
           ) -> dict[str, Any]:
    """Run the comparison and return the baseline document of ``scenario``."""
    seed = scenario.seed if seed is None else seed
    table = compare(scenario, replications=replications, seed=seed, jobs=jobs,
                    progress=progress)
    strategies: dict[str, Any] = {}
    for name, group in table.groupby("strategy", sort=False):
        metrics = {}
        for metric in _numeric_metrics(table):
            values = group[metric].astype(float).dropna()
            n = len(values)
            std = float(values.std(ddof=1)) if n > 1 else 0.0
            metrics[metric] = {"mean": float(values.mean()) if n else None, "std": std, "n": n}
            if metric in HEADLINE_METRICS and n > 1:
                # the smallest shift of the mean a rerun of as many replications flags
                metrics[metric]["detectable_shift"] = TOLERANCE_SE * std * math.sqrt(2 / n)
        strategies[str(name)] = metrics
    return {"scenario": scenario.name, "source": source, "seed": seed,
            "replications": replications, "tolerance_se": TOLERANCE_SE,
            "versions": versions(), "strategies": strategies}


@dataclass(frozen=True)
class Shift:
    """One metric mean that moved beyond the tolerance."""

    scenario: str
    strategy: str
    metric: str
    recorded: float | None
    now: float | None
    standard_errors: float


def check(scenario: Scenario, recorded: dict[str, Any], *, jobs: int = 1,
          progress: Callable[[int, int], None] | None = None) -> tuple[list[Shift], int]:
    """Rerun ``recorded``'s replications; the shifts beyond tolerance, and how many compared."""
    fresh = record(scenario, recorded.get("source", ""), int(recorded["replications"]),
                   seed=int(recorded["seed"]), jobs=jobs, progress=progress)
    tolerance = float(recorded.get("tolerance_se", TOLERANCE_SE))
    shifts: list[Shift] = []
    compared = 0
    for strategy in sorted(set(recorded["strategies"]) | set(fresh["strategies"])):
        old_metrics = recorded["strategies"].get(strategy)
        new_metrics = fresh["strategies"].get(strategy)
        if old_metrics is None or new_metrics is None:
            shifts.append(Shift(scenario.name, strategy, "(strategy)", None, None, math.inf))
            continue
        for metric, old in old_metrics.items():
            new = new_metrics.get(metric)
            compared += 1
            moved = _standard_errors(old, new)
            if moved > tolerance:
                shifts.append(Shift(scenario.name, strategy, metric, old.get("mean"),
                                    None if new is None else new.get("mean"), moved))
    return shifts, compared


def _standard_errors(old: dict[str, Any], new: dict[str, Any] | None) -> float:
    """|new mean − old mean| in standard errors of the difference (inf past 1e-9 at no spread)."""
    if new is None or (old["mean"] is None) != (new["mean"] is None):
        return math.inf
    if old["mean"] is None:
        return 0.0
    diff = abs(new["mean"] - old["mean"])
    se = math.sqrt(old["std"] ** 2 / max(old["n"], 1) + new["std"] ** 2 / max(new["n"], 1))
    if se == 0:
        return 0.0 if diff <= 1e-9 * max(1.0, abs(old["mean"])) else math.inf
    return diff / se


def write(document: dict[str, Any], path: Path) -> None:
    """Write a baseline document (stable key order, one metric per line for readable diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def read(path: Path) -> dict[str, Any]:
    """A baseline document."""
    return json.loads(path.read_text(encoding="utf-8"))


def shifts_table(shifts: list[Shift]) -> str:
    """The shifts as a readable table."""
    frame = pd.DataFrame([{"scenario": s.scenario, "strategy": s.strategy, "metric": s.metric,
                           "recorded": s.recorded, "now": s.now,
                           "shift (SE)": s.standard_errors} for s in shifts])
    return frame.to_string(index=False, float_format=lambda v: f"{v:,.6g}")
