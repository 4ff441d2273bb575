"""Sequential stopping: replicate until the intervals are as narrow as asked.

How many replications are enough depends on how noisy the answer is, which is known only once
some runs are in. :func:`compare_until` therefore runs in rounds: a first round of
``min_replications`` runs per strategy, then more rounds, every strategy each round, until the
half-width of every chosen metric's t-interval is below its target for every strategy, or the
cap is reached (the absolute-precision procedure of Law, *Simulation Modeling and Analysis*,
chapter 9, "obtaining a specified precision"). The seeds follow :func:`simdeploy.compare`'s
scheme, ``seed + r`` for replication ``r``, so the table after ``N`` replications is the one
``compare(..., replications=N)`` returns, and strategies still share their arrivals seed by
seed.

A round adds as many replications as the widest interval suggests are missing (the half-width
shrinks like ``1/sqrt(n)``, so ``n · (half-width / target)²`` would be enough if the spread
stayed put), but at most as many as already done, so that one noisy early estimate cannot
commit the run to far more replications than it needs. Stopping on a data-dependent rule
makes the final interval's coverage slightly less than nominal, a known and small effect for
targets met after a handful of rounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from simdeploy.compare import compare
from simdeploy.scenario import Scenario
from simdeploy.statistics import METRICS, summarize

__all__ = ["SequentialComparison", "compare_until"]


@dataclass(frozen=True)
class SequentialComparison:
    """What :func:`compare_until` ran and whether the targets were met.

    Attributes:
        table: one row per strategy × replication, as :func:`simdeploy.compare` returns.
        replications: runs per strategy at the end.
        met: True when every target was met for every strategy.
        targets: metric → largest accepted half-width.
        level: the intervals' confidence level.
        widths: one row per strategy and target metric (:func:`simdeploy.summarize`'s
            columns) with ``target`` and ``met`` added.
    """

    table: pd.DataFrame
    replications: int
    met: bool
    targets: dict[str, float]
    level: float
    widths: pd.DataFrame

    def unmet(self) -> pd.DataFrame:
        """The rows of :attr:`widths` whose half-width is not yet below the target."""
        return self.widths[~self.widths["met"]]


def compare_until(scenario: Scenario, targets: Mapping[str, float], level: float = 0.95,
                  min_replications: int = 5, max_replications: int = 100,
                  strategies: Sequence[str] | None = None, seed: int = 0, *,
                  progress: Callable[[int, int], None] | None = None,
                  **options: Any) -> SequentialComparison:
    """Add replications until every target half-width is met, or the cap.

    Args:
        scenario: the validated scenario.
        targets: metric → the half-width it must get below, e.g. ``{"users_with_errors": 20,
            "extra_scheduled_pod_seconds": 5}`` (units of the metric).
        level: the t-intervals' confidence level.
        min_replications: the first round (at least 2: one run has no interval).
        max_replications: the cap; the result says whether the targets were met by then.
        strategies: names from ``scenario.strategies``; None runs them all, in file order.
        seed: the first replication's seed; replication ``r`` uses ``seed + r``.
        progress: called with (runs done, runs planned so far) after each run; the planned
            total grows as rounds are added.
        **options: passed on to :func:`simdeploy.compare` for every round (``force``, ...).

    Returns:
        The table, how many replications it holds, and whether (and by how much) each target
        was met.

    Raises:
        ValueError: no targets, a target that is not a positive number or names no numeric
            summary metric, or replication bounds out of order.
    """
    if not targets:
        raise ValueError("give at least one target: {metric: half-width}")
    for metric, target in targets.items():
        if metric not in METRICS:
            raise ValueError(f"no numeric summary metric {metric!r} (known: {', '.join(METRICS)})")
        if not (isinstance(target, int | float) and not isinstance(target, bool)
                and math.isfinite(target) and target > 0):
            raise ValueError(f"the target of {metric!r} must be a positive number, got {target!r}")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    if min_replications < 2:
        raise ValueError("min_replications must be >= 2 (one run has no interval)")
    if max_replications < min_replications:
        raise ValueError("max_replications must be >= min_replications")
    names = list(scenario.strategies) if strategies is None else list(strategies)
    goals = {str(k): float(v) for k, v in targets.items()}
    tables: list[pd.DataFrame] = []
    done = 0
    batch = min_replications
    while True:
        tables.append(_round(scenario, names, done, batch, seed, progress, options))
        done += batch
        table = pd.concat(tables, ignore_index=True)
        table = table.sort_values(["strategy", "replication"], key=_strategy_order(names),
                                  kind="stable", ignore_index=True)
        widths = _widths(table, goals, level)
        met = bool(widths["met"].all())
        if met or done >= max_replications:
            return SequentialComparison(table, done, met, goals, level, widths)
        batch = min(_needed(widths, done) - done, done, max_replications - done)
        batch = max(batch, 1)


def _round(scenario: Scenario, names: list[str], done: int, batch: int, seed: int,
           progress: Callable[[int, int], None] | None,
           options: dict[str, Any]) -> pd.DataFrame:
    """Replications ``done`` … ``done + batch - 1`` of every strategy, numbered as such."""
    if progress is not None:
        before, planned = len(names) * done, len(names) * (done + batch)

        def counted(runs: int, _total: int) -> None:
            progress(before + runs, planned)
    else:
        counted = None
    table = compare(scenario, names, replications=batch, seed=seed + done, progress=counted,
                    **options)
    table["replication"] = table["replication"] + done
    return table


def _strategy_order(names: list[str]) -> Callable[[pd.Series], pd.Series]:
    order = {name: i for i, name in enumerate(names)}

    def key(column: pd.Series) -> pd.Series:
        return column.map(order) if column.name == "strategy" else column

    return key


def _widths(table: pd.DataFrame, targets: dict[str, float], level: float) -> pd.DataFrame:
    widths = summarize(table, level, metrics=list(targets))
    widths["target"] = widths["metric"].map(targets)
    widths["met"] = widths["half_width"] < widths["target"]  # NaN (too few values) is not met
    return widths


def _needed(widths: pd.DataFrame, done: int) -> int:
    """Replications the widest unmet interval suggests, were its spread to stay put."""
    unmet = widths[~widths["met"]]
    ratios = (unmet["half_width"] / unmet["target"]).to_numpy(dtype=float)
    if len(ratios) == 0 or not all(math.isfinite(r) for r in ratios):
        return 2 * done  # no estimate yet (runs without a value): double
    return math.ceil(done * max(ratios) ** 2)
