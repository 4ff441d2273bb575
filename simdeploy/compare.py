"""Side-by-side runs: every strategy × replication on common random numbers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from simdeploy.execution import execute
from simdeploy.metrics import SUMMARY_KEYS
from simdeploy.results import RunResult
from simdeploy.scenario import Scenario
from simdeploy.simulation import run

__all__ = [
    "COUNT_KEYS",
    "SEGMENT_METRICS",
    "TABLE_COLUMNS",
    "RunTask",
    "compare",
    "comparison_table",
    "plan_runs",
    "run_result",
    "run_row",
    "runs",
    "segment_column",
    "segment_columns",
    "summary_by_strategy",
    "summary_row",
]

TABLE_COLUMNS = {
    "outcome": "outcome",
    "downtime_s": "downtime s",
    "requests_failed": "failed req",
    "error_rate": "error %",
    "users_exposed_new": "users on new",
    "users_exposed_before_promotion": "before promotion",
    "users_with_errors": "users w/ errors",
    "users_failed_new": "users failed by new",
    "detected_s": "detected s",
    "peak_pods_scheduled": "peak pods",
    "extra_scheduled_pod_seconds": "extra pod·s",
    "peak_pods_pending": "peak pending",
    "extra_cost": "extra cost",
    "rollout_duration_s": "rollout s",
    "latency_p99_ms": "p99 ms",
}
"""Summary key → column label of the per-strategy table (CLI and report).

Capacity is what holds resources: scheduled pods (Terminating ones included); pods that
never got room are Pending, shown in their own column when there were any. ``extra cost``
shows when the scenario prices pods (``cluster.podCostPerHour``)."""

COUNT_KEYS = frozenset({"requests_failed", "users_exposed_new", "users_with_errors",
                        "users_exposed_before_promotion",
                        "users_failed_new", "peak_pods_scheduled", "peak_pods_pending"})
"""Columns that count things: printed as whole numbers."""
_SHOWN_WHEN_NONZERO = frozenset({"peak_pods_pending", "extra_cost"})
_SHOWN_WHEN_ABORTED = frozenset({"users_failed_new", "detected_s"})
_SHOWN_WHEN_PROMOTED_EARLY = "users_exposed_before_promotion"
"""Shown when some strategy promoted the new version while users were still to reach it
(the count differs from ``users_exposed_new``): how many saw it before everyone did."""
"""Shown when some run aborted after the new version answered (``detected_s`` is a number):
then who the new version failed, and how long it took to notice, are the question."""


SEGMENT_METRICS = ("users_exposed_new", "users_with_errors")
"""The summary keys the comparison table also has per user segment, when the scenario has
``traffic.segments``: a column ``users_exposed_new[enterprise]`` per segment and key
(:func:`segment_column`), from ``result.segments``. Without segments there are none, so the
table of a scenario without segments is as it always was."""

_SEGMENT_COLUMN = re.compile(r"^(" + "|".join(SEGMENT_METRICS) + r")\[(.*)\]$", re.DOTALL)


def segment_column(metric: str, segment: str) -> str:
    """The comparison table's column of ``metric`` in ``segment``: ``metric[segment]``."""
    return f"{metric}[{segment}]"


def segment_columns(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(column, metric, segment) of each per-segment column of ``table``, in its order."""
    found = []
    for column in table.columns:
        match = _SEGMENT_COLUMN.match(str(column))
        if match:
            found.append((str(column), match.group(1), match.group(2)))
    return found


def runs(scenario: Scenario, strategies: Sequence[str] | None = None, replications: int = 1,
         seed: int = 0, *, force: bool = False) -> Iterator[tuple[int, RunResult]]:
    """Yield (replication, result) for each strategy × replication, strategies in order.

    Replication ``r`` uses seed ``seed + r`` for every strategy, so all strategies see the same
    arrivals from the same users in that replication (common random numbers).
    """
    if replications < 1:
        raise ValueError("replications must be >= 1")
    names = list(scenario.strategies) if strategies is None else list(strategies)
    for name in names:
        scenario.strategy(name)  # unknown names fail before any run
    for name in names:
        for r in range(replications):
            yield r, run(scenario, name, seed + r, force=force)


def summary_row(replication: int, result: RunResult) -> dict[str, Any]:
    """One row of the comparison table: the summary, and with user segments the
    :data:`SEGMENT_METRICS` of each segment (``users_exposed_new[enterprise]``)."""
    row = {"strategy": result.strategy, "replication": replication, "seed": result.seed,
           **result.summary}
    if result.segment_timeline is not None and result.segments is not None:
        for exposure in result.segments.itertuples(index=False):
            for metric in SEGMENT_METRICS:
                row[segment_column(metric, str(exposure.segment))] = int(getattr(exposure,
                                                                                 metric))
    return row


@dataclass(frozen=True)
class RunTask:
    """One run to make: it carries its seed, so its answer is the same wherever it runs."""

    scenario: Scenario
    strategy: str
    replication: int
    seed: int
    force: bool = False


def plan_runs(scenario: Scenario, strategies: Sequence[str] | None = None,
              replications: int = 1, seed: int = 0, *, force: bool = False) -> list[RunTask]:
    """The runs of a comparison: each strategy (in order) × replication ``r``, seed ``seed + r``.

    Unknown strategy names fail here, before any run.
    """
    if replications < 1:
        raise ValueError("replications must be >= 1")
    names = list(scenario.strategies) if strategies is None else list(strategies)
    for name in names:
        scenario.strategy(name)
    return [RunTask(scenario, name, r, seed + r, force) for name in names
            for r in range(replications)]


def run_row(task: RunTask) -> dict[str, Any]:
    """Make one run; its row of the comparison table (a task for :func:`execute`)."""
    return summary_row(task.replication, run_result(task))


def run_result(task: RunTask) -> RunResult:
    """Make one run; its whole result (a task for :func:`execute`)."""
    return run(task.scenario, task.strategy, task.seed, force=task.force)


def comparison_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows of :func:`summary_row` as the comparison table, identifier columns first."""
    frame = pd.DataFrame(list(rows))
    ordered = ["strategy", "replication", "seed", *SUMMARY_KEYS]
    return frame[ordered + [c for c in frame.columns if c not in ordered]]


def compare(scenario: Scenario, strategies: Sequence[str] | None = None, replications: int = 1,
            seed: int = 0, *, progress: Callable[[int, int], None] | None = None,
            force: bool = False, jobs: int = 1, client: Any = None) -> pd.DataFrame:
    """Run each strategy ``replications`` times and return one row per run.

    Args:
        scenario: the validated scenario.
        strategies: names from ``scenario.strategies``; None runs them all, in file order.
        replications: runs per strategy (>= 1); replication ``r`` uses seed ``seed + r`` for
            every strategy (common random numbers).
        seed: the first replication's seed.
        progress: called with (runs done, runs in all) after each run.
        force: run even beyond the soft size limits of :mod:`simdeploy.budget`.
        jobs: worker processes (see :mod:`simdeploy.execution`); 1 runs here. The table is
            the same whatever the number.
        client: a ``dask.distributed.Client`` to run on instead.

    Returns:
        Columns ``strategy, replication, seed`` then the summary keys.
    """
    tasks = plan_runs(scenario, strategies, replications, seed, force=force)
    rows = execute(run_row, tasks, jobs=jobs, client=client, progress=progress)
    return comparison_table(rows)


def summary_by_strategy(table: pd.DataFrame, *, priced: bool = False) -> pd.DataFrame:
    """One row per strategy: the means over replications, and the outcomes seen.

    Counts are whole numbers (a mean over replications rounded); the pending column appears
    only when some run had pending pods, the cost column when the scenario prices pods
    (``priced``: ``cluster.podCostPerHour`` is set) or some run had a cost.
    """
    rows = []
    aborted = "detected_s" in table and bool(table["detected_s"].notna().any())
    early = (_SHOWN_WHEN_PROMOTED_EARLY in table
             and bool((table[_SHOWN_WHEN_PROMOTED_EARLY] != table["users_exposed_new"]).any()))
    shown = {key: label for key, label in TABLE_COLUMNS.items()
             if (key in _SHOWN_WHEN_ABORTED and aborted)
             or (key == _SHOWN_WHEN_PROMOTED_EARLY and early)
             or (key not in _SHOWN_WHEN_ABORTED and key != _SHOWN_WHEN_PROMOTED_EARLY
                 and (key not in _SHOWN_WHEN_NONZERO or (key == "extra_cost" and priced)
                      or (key in table and table[key].abs().sum() > 0)))}
    for name, group in table.groupby("strategy", sort=False):
        row: dict[str, Any] = {"strategy": name}
        for key, label in shown.items():
            if key in COUNT_KEYS:
                row[label] = round(float(group[key].mean()))
            elif key == "outcome":
                counts = group["outcome"].value_counts()
                row[label] = ", ".join(
                    f"{k}" if len(group) == 1 else f"{k}×{v}" for k, v in counts.items()
                )
            elif key == "error_rate":
                row[label] = round(100 * group[key].mean(), 3)
            elif key == "extra_cost":
                row[label] = float(f"{group[key].mean():.3g}")
            else:
                row[label] = round(float(group[key].mean()), 1)
        rows.append(row)
    return pd.DataFrame(rows)
