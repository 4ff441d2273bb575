"""Sweeps: the same comparison over a grid of scenario changes, as one tidy table.

``sweep(scenario, {"pod.preStopSeconds": [0, 2, 5], "strategies.rolling.maxSurge": ["25%",
"50%"]}, replications=5)`` makes every combination of the values (the full factorial: here 3 ×
2 = 6 *variants*), each a scenario changed by :meth:`Scenario.with_overrides
<simdeploy.scenario.Scenario.with_overrides>` and validated again, and runs every strategy of
every variant ``replications`` times. Replication ``r`` draws from seed ``seed + r`` in every
variant and every strategy, so all of them see the same requests from the same users
(common random numbers): a difference between two variants is the change, not the luck of
the draw.

The answer is one row per variant × strategy × replication: a ``variant`` number, one column
per swept path holding its value, then the columns of :func:`simdeploy.compare`. Each run is
a task that carries its seed, so the table is the same whether it was made in this process,
on ``jobs`` processes or on a Dask cluster (:mod:`simdeploy.execution`), and whether it was
made at once or resumed after a kill (``simdeploy sweep --out DIR --resume``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from simdeploy.budget import check_batch_size, check_run_size, estimate_run
from simdeploy.compare import RunTask, comparison_table, run_row
from simdeploy.errors import ScenarioError, described, shown
from simdeploy.execution import execute
from simdeploy.scenario import Scenario

__all__ = ["SweepPlan", "Variant", "plan_sweep", "sweep"]


@dataclass(frozen=True)
class Variant:
    """One point of the grid: the values set, and the scenario they make."""

    index: int
    values: dict[str, Any]
    """Swept path → the value as given."""
    scenario: Scenario


@dataclass(frozen=True)
class SweepPlan:
    """Every run of a sweep, in the table's order: variant, then strategy, then replication."""

    scenario: Scenario
    factors: dict[str, list[Any]]
    variants: list[Variant]
    strategies: list[str]
    replications: int
    seed: int
    tasks: list[RunTask]
    task_variants: list[int]
    """The variant of each task."""

    def identity(self, index: int) -> dict[str, Any]:
        """What names task ``index``: its variant, strategy, replication and seed."""
        task = self.tasks[index]
        return {"task": index, "variant": self.task_variants[index], "strategy": task.strategy,
                "replication": task.replication, "seed": task.seed}

    def definition(self) -> dict[str, Any]:
        """Everything the sweep's answers depend on, as JSON data (to resume it safely)."""
        from simdeploy.execution import _versions
        from simdeploy.report import _plain

        return _json_data({
            "scenario": _plain(self.scenario),
            "factors": [[path, values] for path, values in self.factors.items()],
            "strategies": self.strategies,
            "replications": self.replications,
            "seed": self.seed,
            "versions": _versions(),
        })

    def table(self, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """The tidy table of the rows of every task (in task order)."""
        if len(rows) != len(self.tasks):
            raise ValueError(f"{len(rows)} rows for {len(self.tasks)} tasks")
        frame = comparison_table([plain_row(row) for row in rows])
        front = {"variant": self.task_variants}
        for path in self.factors:
            front[path] = [self.variants[v].values[path] for v in self.task_variants]
        ids = pd.DataFrame(front)
        if len(set(ids.columns) & set(frame.columns)):
            raise ValueError("a swept path has the name of a table column")
        return pd.concat([ids, frame], axis=1)


def plan_sweep(scenario: Scenario, factors: Mapping[str, Sequence[Any]], replications: int = 1,
               seed: int | None = None, *, strategies: Sequence[str] | None = None,
               force: bool = False, source: str | None = None) -> SweepPlan:
    """Expand the grid, validate every variant and its size, and list the runs.

    Raises:
        ScenarioError: a path or value is not valid in some variant (the message names the
            path and the variant's values), or a variant's runs would be too large.
    """
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"replications must be a whole number >= 1, got {replications!r}")
    source = scenario.name if source is None else source
    seed = scenario.seed if seed is None else seed
    grid = _factors(factors, source)
    names = list(scenario.strategies) if strategies is None else list(strategies)
    if not names:
        raise ScenarioError(source, "strategies", "no strategy to run")
    variants: list[Variant] = []
    for index, combination in enumerate(itertools.product(*grid.values())):
        values = dict(zip(grid, combination))
        try:
            changed = scenario.with_overrides(values, source=source)
        except ScenarioError as exc:
            raise ScenarioError(source, exc.location,
                                f"{exc.problem}{_in_variant(values, exc.problem)}") from None
        for name in names:
            changed.strategy(name)  # a sweep may not remove a strategy it runs
        check_run_size(changed, source, force=force)
        variants.append(Variant(index, values, changed))
    # the whole batch is sized before its plan is built: the plan alone grows with it
    largest = max((v.scenario for v in variants), key=lambda s: estimate_run(s).wall_seconds)
    check_batch_size(largest, len(variants) * len(names) * replications, source, force=force)
    tasks: list[RunTask] = []
    task_variants: list[int] = []
    for variant in variants:
        for name in names:
            for r in range(replications):
                tasks.append(RunTask(variant.scenario, name, r, seed + r, force))
                task_variants.append(variant.index)
    return SweepPlan(scenario, grid, variants, names, replications, seed, tasks, task_variants)


def run_plan(plan: SweepPlan, *, jobs: int = 1, client: Any = None,
             progress: Callable[[int, int], None] | None = None,
             done: Mapping[int, Mapping[str, Any]] | None = None,
             on_row: Callable[[int, dict[str, Any]], None] | None = None
             ) -> list[dict[str, Any]]:
    """The row of every task of ``plan``, in task order, running only those not ``done``.

    Args:
        plan: the sweep.
        jobs: worker processes; 1 runs here.
        client: a ``dask.distributed.Client`` to run on instead.
        progress: called with (runs finished, runs in all), counting the ``done`` ones.
        done: rows already made, by task index (a resumed sweep).
        on_row: called with (task index, row) as each new row is made, in this process.
    """
    done = dict(done or {})
    missing = [i for i in range(len(plan.tasks)) if i not in done]
    total = len(plan.tasks)
    already = total - len(missing)

    def count(finished: int, _n: int) -> None:
        if progress is not None:
            progress(already + finished, total)

    def store(position: int, row: dict[str, Any]) -> None:
        row = plain_row(row)
        done[missing[position]] = row
        if on_row is not None:
            on_row(missing[position], row)

    if progress is not None and already:
        progress(already, total)
    execute(run_row, [plan.tasks[i] for i in missing], jobs=jobs, client=client,
            progress=count, on_result=store)
    return [dict(done[i]) for i in range(total)]


def sweep(scenario: Scenario, factors: Mapping[str, Sequence[Any]], replications: int = 1,
          seed: int | None = None, jobs: int | None = None, client: Any = None,
          progress: Callable[[int, int], None] | None = None, *,
          strategies: Sequence[str] | None = None, force: bool = False) -> pd.DataFrame:
    """Run every strategy on every combination of ``factors``; one row per run.

    Args:
        scenario: the validated scenario.
        factors: field path (file spelling, e.g. ``"pod.preStopSeconds"``) → the values to
            try; every combination is a variant.
        replications: runs per variant and strategy; replication ``r`` uses seed
            ``seed + r`` everywhere (common random numbers).
        seed: the first replication's seed; None takes ``scenario.seed``.
        jobs: worker processes on this machine; None or 1 runs here, one run after the
            other. The table does not depend on it.
        client: a ``dask.distributed.Client``; the runs go to its workers.
        progress: called with (runs done, runs in all) after each run.
        strategies: the strategies to run; None runs them all, in file order.
        force: run even beyond the soft size limits of :mod:`simdeploy.budget`.

    Returns:
        ``variant``, one column per swept path, then ``strategy, replication, seed`` and the
        summary keys; variant-major, then strategy, then replication.

    Raises:
        ScenarioError: a path or value is not valid (nothing has run yet).
    """
    plan = plan_sweep(scenario, factors, replications, seed, strategies=strategies,
                      force=force)
    rows = run_plan(plan, jobs=1 if jobs is None else jobs, client=client, progress=progress)
    return plan.table(rows)


def value_key(value: Any) -> Any:
    """A hashable stand-in for a swept (or varied) value: lists and mappings included."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    if hasattr(value, "item"):  # a NumPy scalar
        return value.item()
    return value


def plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with Python scalars only (as it reads back from JSON): NumPy's become Python's."""
    return {key: value.item() if hasattr(value, "item") else value
            for key, value in row.items()}


def _factors(factors: Mapping[str, Sequence[Any]], source: str) -> dict[str, list[Any]]:
    if not isinstance(factors, Mapping) or not factors:
        raise ScenarioError(source, None, "a sweep needs at least one field path and its "
                                          "values, e.g. {'pod.preStopSeconds': [0, 2, 5]}")
    grid: dict[str, list[Any]] = {}
    for path, values in factors.items():
        if not isinstance(path, str) or not path:
            raise ScenarioError(source, None, f"not a field path: {shown(path)}")
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
            raise ScenarioError(source, path, f"the values to sweep must be a list, got "
                                              f"{described(values)}")
        if not values:
            raise ScenarioError(source, path, "no values to sweep")
        if path == "seed":
            raise ScenarioError(source, path, "the runs' seeds are the sweep's seed plus the "
                                              "replication: sweep --replications instead")
        seen: set[str] = set()
        for value in values:
            try:
                key = json.dumps(value, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError):
                raise ScenarioError(source, path, f"{shown(value)} is not plain data (numbers, "
                                                  "text, true/false, null, lists, mappings)"
                                    ) from None
            if key in seen:
                raise ScenarioError(source, path, f"{shown(value)} is given twice")
            seen.add(key)
        grid[path] = list(values)
    return grid


def _in_variant(values: Mapping[str, Any], problem: str) -> str:
    if len(values) < 2 or " (with " in problem:
        return ""
    return " (in the variant " + ", ".join(f"{p} = {shown(v)}" for p, v in values.items()) + ")"


def _json_data(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), to compare definitions."""
    return json.loads(json.dumps(value, allow_nan=False))
