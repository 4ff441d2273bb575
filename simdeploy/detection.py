"""Detection studies: how often a strategy catches a bad release, and how often it cries wolf.

A canary with a health gate (or an analysis) is a statistical test run on live traffic: it
looks at a few hundred requests of the new version and decides. Like any test it has two
error rates, and a rollout plan is only as good as both:

* **P(catch)**: the probability that a *bad* release (the scenario's ``release.new``) is
  aborted, the test's power; the time it took (``detected_s``, from the new version's first
  response to the abort decision) and the users it hurt meanwhile come with it;
* **P(false abort)**: the probability that a *good* release is aborted anyway. The good
  release is the scenario with ``release.new`` replaced by a copy of ``release.current``
  under the new version's name: the same software shipped again, so any abort is noise.

:func:`detection` runs both releases ``runs`` times each, on common random numbers (run
``r`` of either release draws from seed ``seed + r``, so both see the same users and the
same requests), optionally for each value of one knob (``vary``: the traffic rate, a canary
weight, the gate's interval or threshold), changed with :meth:`Scenario.with_overrides
<simdeploy.scenario.Scenario.with_overrides>` exactly as a sweep changes it, and run on the
same runner (:mod:`simdeploy.execution`). Each proportion comes with its Wilson score
interval (:func:`wilson_interval`), which, unlike the textbook p ± z·√(p(1−p)/n), keeps
its coverage near 0 % and 100 %, exactly where a good gate's answers are.

An abort is a run whose ``outcome`` is ``"aborted"``, whatever aborted it (a health gate
today, an AnalysisRun or Flagger's checks alike), so the study reads only the run summary.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simdeploy.budget import check_batch_size, check_run_size, estimate_run
from simdeploy.compare import RunTask, run_row
from simdeploy.errors import RunTooLargeError, ScenarioError, described, shown
from simdeploy.execution import execute
from simdeploy.scenario import Scenario
from simdeploy.sweep import value_key

__all__ = [
    "DETECTION_COLUMNS",
    "RELEASES",
    "DetectionPlan",
    "detection",
    "detection_findings",
    "detection_text_table",
    "good_release",
    "knob_columns",
    "plan_detection",
    "run_detection",
    "wilson_interval",
]

RELEASES = ("bad", "good")
"""The two releases of a study: the scenario's new version, and the current one renamed."""

DETECTION_COLUMNS = ("release", "runs", "aborts", "p_abort", "p_abort_lo", "p_abort_hi",
                     "detect_s_mean", "users_failed_new_mean", "users_with_errors_mean",
                     "restored_s_mean", "detect_s_p90")
"""The columns of a detection table after the knob's own column (when a knob is varied).

``runs`` counts the runs of one knob value and release; ``aborts`` those that ended
``aborted``; ``p_abort`` is their share with its Wilson interval ``[p_abort_lo, p_abort_hi]``;
``detect_s_mean`` and ``detect_s_p90`` the mean and 90th percentile of ``detected_s`` over
the aborted runs, ``restored_s_mean`` the mean time from the abort decision until the new
version got no more traffic (all NaN without an abort); ``users_failed_new_mean`` the users
per run who had a failure served by the new version and ``users_with_errors_mean`` those who
had any failure, over every run."""

CATCH_TARGET = 0.95
"""The catch rate :func:`detection_findings` asks of a setting, with at most…"""
FALSE_ABORT_LIMIT = 0.05
"""…this rate of false aborts."""


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion: (low, high).

    With p̂ = successes / n and z the two-sided normal quantile of ``level``, the interval is
    the set of p for which |p̂ − p| ≤ z·√(p(1 − p)/n), the score test not rejecting, namely

        (p̂ + z²/2n ± z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n).

    Unlike the Wald interval p̂ ± z·√(p̂(1 − p̂)/n) it never collapses to a point at 0 or
    n successes (0 of 10 gives (0, 0.278) at 95 %, not (0, 0)) and its coverage stays close
    to ``level`` for small n and for p near 0 or 1 (E. B. Wilson, "Probable inference, the
    law of succession, and statistical inference", JASA 22, 1927; L. D. Brown, T. T. Cai and
    A. DasGupta, "Interval estimation for a binomial proportion", Statistical Science 16,
    2001, who recommend it for n < 40 and as a default).

    Args:
        successes: the count of successes, 0 ≤ successes ≤ n.
        n: the number of trials; 0 gives (NaN, NaN).
        level: the confidence level, between 0 and 1.

    Raises:
        ValueError: counts that are not whole numbers in range, or a level outside (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = successes / n
    z2n = z * z / n
    center = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    # at 0 (or n) successes the bound is exactly 0 (or 1); rounding must not move it
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return low, high


def good_release(scenario: Scenario, *, source: str | None = None) -> Scenario:
    """``scenario`` with a good release: ``release.new`` a copy of ``release.current``.

    The copy keeps the new version's name, so the rollout is the same rollout of the same
    software under a new name: whatever aborts it is a false alarm.
    """
    from simdeploy.report import _plain  # the effective data, as with_overrides reads it

    current = _plain(scenario.release.current)
    current["name"] = scenario.release.new.name
    return scenario.with_overrides({"release.new": current}, source=source)


@dataclass(frozen=True)
class DetectionPlan:
    """Every run of a detection study, in the table's order: knob value, release, run."""

    scenario: Scenario
    strategy: str
    path: str | None
    """The varied field path, or None when nothing is varied."""
    values: list[Any]
    """The knob's values, in the order given (``[None]`` without a knob)."""
    cells: list[tuple[Any, str, Scenario]]
    """(knob value, release, the scenario run) per row of the table."""
    runs: int
    seed: int
    level: float
    tasks: list[RunTask]

    def table(self, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """The detection table from the summary row of every task (in task order)."""
        if len(rows) != len(self.tasks):
            raise ValueError(f"{len(rows)} rows for {len(self.tasks)} tasks")
        out = []
        for index, (value, release, _scenario) in enumerate(self.cells):
            cell = pd.DataFrame(list(rows[index * self.runs:(index + 1) * self.runs]))
            row: dict[str, Any] = {} if self.path is None else {self.path: value}
            row["release"] = release
            row.update(_aggregate(cell, self.level))
            out.append(row)
        table = pd.DataFrame(out)
        for column in ("runs", "aborts"):
            table[column] = table[column].astype("int64")
        return table


def plan_detection(scenario: Scenario, strategy: str, runs: int = 100, seed: int = 0,
                   vary: Mapping[str, Sequence[Any]] | None = None, *, force: bool = False,
                   level: float = 0.95, source: str | None = None) -> DetectionPlan:
    """Validate a study and list its runs; nothing runs.

    Every knob value makes a bad and a good scenario, each validated and sized here, so a
    bad path or value is refused before the first run, as is a study that would take too
    long (:func:`simdeploy.budget.check_batch_size`, unless ``force``).

    Raises:
        ScenarioError: an unknown strategy, more than one varied path, a path or value that
            is not valid, or a run or a study that would be too large (one line each).
        ValueError: ``runs`` not a whole number >= 1, or a level outside (0, 1).
    """
    from simdeploy.sweep import plan_sweep

    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a whole number >= 1, got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    source = scenario.name if source is None else source
    if not isinstance(strategy, str) or strategy not in scenario.strategies:
        known = ", ".join(scenario.strategies)
        raise ScenarioError(source, "strategies", f"no strategy {shown(strategy)} "
                                                  f"(known: {known})")
    path: str | None = None
    if vary is None:
        values: list[Any] = [None]
        bad = [scenario]
        check_run_size(scenario, source, force=force)
    else:
        if not isinstance(vary, Mapping) or not vary:
            raise ScenarioError(source, None, "vary takes one field path and its values, e.g. "
                                              "{'traffic.arrivals.rateRps': [50, 200]}, got "
                                              f"{described(vary)}")
        if len(vary) > 1:
            raise ScenarioError(source, None, "one knob at a time: vary takes one field path, "
                                              f"got {len(vary)} ({', '.join(map(str, vary))})")
        path = next(iter(vary))
        if path == "seed":
            raise ScenarioError(source, path, "the runs' seeds are the study's seed plus the "
                                              "run number: vary something else")
        # the sweep's checks: a list of distinct plain values, each variant valid and sized
        plan = plan_sweep(scenario, vary, 1, seed, strategies=[strategy], force=force,
                          source=source)
        values = [variant.values[path] for variant in plan.variants]
        bad = [variant.scenario for variant in plan.variants]
    cells: list[tuple[Any, str, Scenario]] = []
    for value, changed in zip(values, bad):
        try:
            good = good_release(changed, source=source)
        except ScenarioError as exc:
            where = "" if path is None else f" (at {path} = {shown(value)})"
            raise ScenarioError(source, exc.location, f"the good release: {exc.problem}{where}"
                                ) from None
        check_run_size(good, source, force=force)
        cells += [(value, "bad", changed), (value, "good", good)]
    largest = max((cell for _v, _release, cell in cells),
                  key=lambda s: estimate_run(s).wall_seconds)
    try:  # before the list of runs is made: it could be too large to hold
        check_batch_size(largest, len(cells) * runs, source, force=force)
    except RunTooLargeError as exc:
        raise RunTooLargeError(exc.source, "runs", exc.problem) from None
    tasks = [RunTask(cell, strategy, r, seed + r, force) for _v, _release, cell in cells
             for r in range(runs)]
    return DetectionPlan(scenario, strategy, path, values, cells, runs, seed, level, tasks)


def run_detection(plan: DetectionPlan, *, jobs: int = 1, client: Any = None,
                  progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Make every run of ``plan`` (here, on ``jobs`` processes or on Dask) → its table."""
    rows = execute(run_row, plan.tasks, jobs=jobs, client=client, progress=progress)
    return plan.table(rows)


def detection(scenario: Scenario, strategy: str, runs: int = 100, seed: int = 0,
              vary: Mapping[str, Sequence[Any]] | None = None, *, jobs: int | None = None,
              client: Any = None, progress: Callable[[int, int], None] | None = None,
              force: bool = False, level: float = 0.95) -> pd.DataFrame:
    """How often ``strategy`` aborts a bad release and a good one, per value of one knob.

    Args:
        scenario: the validated scenario; its ``release.new`` is the bad release.
        strategy: the strategy's name in ``scenario.strategies``.
        runs: runs per knob value and release; run ``r`` uses seed ``seed + r`` for both
            releases (common random numbers).
        seed: the first run's seed.
        vary: one field path (the file's spelling, e.g. ``"traffic.arrivals.rateRps"``) →
            the values to try; None studies the scenario as it is.
        jobs: worker processes on this machine; None or 1 runs here. The table does not
            depend on it.
        client: a ``dask.distributed.Client``; the runs go to its workers.
        progress: called with (runs done, runs in all) after each run.
        force: run even beyond the soft size limits of :mod:`simdeploy.budget`.
        level: the confidence level of the Wilson intervals.

    Returns:
        One row per knob value × release (``bad`` then ``good``): the knob's column (named
        by its path, when varied), then :data:`DETECTION_COLUMNS`.

    Raises:
        ScenarioError: an unknown strategy, more than one path, a path or value that is not
            valid (nothing has run yet).
    """
    plan = plan_detection(scenario, strategy, runs, seed, vary, force=force, level=level)
    return run_detection(plan, jobs=1 if jobs is None else jobs, client=client,
                         progress=progress)


def knob_columns(table: pd.DataFrame) -> list[str]:
    """The varied paths of a detection table: its columns before ``release`` (none or one)."""
    columns = list(table.columns)
    if "release" not in columns or "p_abort" not in columns:
        raise ValueError("not a detection table: it needs 'release' and 'p_abort' columns "
                         "(as simdeploy.detection returns)")
    return columns[:columns.index("release")]


def detection_findings(table: pd.DataFrame, level: float = 0.95) -> list[str]:
    """Sentences an architect can act on, computed from a detection table.

    One per knob value: how often the bad release is caught (with its interval), how soon,
    how many users it hurt, and how often the good release is aborted; then the smallest
    knob value that catches at least 95 % of bad releases with at most 5 % false aborts, if
    one does (by the point estimates, with a warning when the intervals do not bear it out).

    Args:
        table: a detection table (:func:`detection`).
        level: the level the table's intervals were made at (for the wording only).
    """
    knobs = knob_columns(table)
    path = knobs[0] if knobs else None
    name = _short(path) if path is not None else None
    ci = f"{100 * level:.10g} % CI"
    sentences: list[str] = []
    cells = _cells(table, path)
    for value, bad, good in cells:
        where = f"At {name} = {_label(value)}" if path is not None else "In this scenario"
        text = f"{where} the bad release is "
        if bad is None:
            text += "not run"
        elif bad.aborts == 0:
            text += f"never caught in {bad.runs} runs ({ci} {_range(bad)})"
        else:
            text += (f"caught in {'every one' if bad.aborts == bad.runs else _pct(bad.p_abort)}"
                     f" of {bad.runs} runs ({ci} {_range(bad)})")
            if math.isfinite(bad.detect_s_mean):
                text += f", {_seconds(bad.detect_s_mean)} after its first response on average"
        if bad is not None and math.isfinite(bad.users_failed_new_mean):
            text += (f"; {_users(bad.users_failed_new_mean)} per run had a request fail on "
                     "the new version")
        if good is not None:
            if good.aborts == 0:
                text += f"; the good release is never aborted ({ci} {_range(good)})"
            else:
                text += (f"; the good release is aborted in {_pct(good.p_abort)} ({ci} "
                         f"{_range(good)}), a false alarm")
        sentences.append(text + ".")
    sentences += _recommendation(cells, name, ci)
    if len(table) and int(table["aborts"].sum()) == 0:
        sentences.append("No run was aborted, bad release or good: at these settings the "
                         "strategy does not stop this release (has it a healthGate or an "
                         "analysis that can fire?).")
    return sentences


def detection_text_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as people read it: counts as integers, P(abort) as percent with its interval.

    Columns: the knob, ``release``, ``runs``, ``aborts``, ``P(abort)`` ("45 % (35–55 %)"),
    ``detect s`` (mean over aborted runs), ``detect s p90``, ``users failed on new`` and
    ``users w/ errors`` (means per run); "–" where there is no value.
    """
    knobs = knob_columns(table)
    out = pd.DataFrame({column: [_label(v) for v in table[column]] for column in knobs})
    out["release"] = table["release"].astype(str).to_numpy()
    out["runs"] = table["runs"].astype(int).to_numpy()
    out["aborts"] = table["aborts"].astype(int).to_numpy()
    out["P(abort)"] = [f"{_pct(r.p_abort)} ({_range(r)})"
                       for r in table.itertuples(index=False)]
    out["detect s"] = [_number(v) for v in table["detect_s_mean"]]
    if "detect_s_p90" in table.columns:
        out["detect s p90"] = [_number(v) for v in table["detect_s_p90"]]
    out["users failed on new"] = [_number(v, 1) for v in table["users_failed_new_mean"]]
    if "users_with_errors_mean" in table.columns:
        out["users w/ errors"] = [_number(v, 1) for v in table["users_with_errors_mean"]]
    return out


# --------------------------------------------------------------------------------------------


def _aggregate(cell: pd.DataFrame, level: float) -> dict[str, Any]:
    """The counts, rates and means of one knob value and release."""
    aborted = (cell["outcome"].astype(str) == "aborted").to_numpy()
    n = len(cell)
    aborts = int(aborted.sum())
    low, high = wilson_interval(aborts, n, level)
    detected = pd.to_numeric(cell["detected_s"], errors="coerce").to_numpy(float)[aborted]
    detected = detected[np.isfinite(detected)]
    restored = pd.to_numeric(cell["restored_s"], errors="coerce").to_numpy(float)[aborted]
    restored = restored[np.isfinite(restored)]
    return {
        "runs": n,
        "aborts": aborts,
        "p_abort": aborts / n,
        "p_abort_lo": low,
        "p_abort_hi": high,
        "detect_s_mean": float(detected.mean()) if detected.size else math.nan,
        "users_failed_new_mean": float(pd.to_numeric(cell["users_failed_new"]).mean()),
        "users_with_errors_mean": float(pd.to_numeric(cell["users_with_errors"]).mean()),
        "restored_s_mean": float(restored.mean()) if restored.size else math.nan,
        "detect_s_p90": float(np.percentile(detected, 90)) if detected.size else math.nan,
    }


def _cells(table: pd.DataFrame, path: str | None) -> list[tuple[Any, Any, Any]]:
    """(knob value, bad row, good row) per knob value, in the table's order."""
    order: list[tuple[Any, Any]] = []
    rows: dict[Any, dict[str, Any]] = {}
    values = [None] * len(table) if path is None else list(table[path])
    for value, row in zip(values, table.itertuples(index=False)):
        key = value_key(value)
        if key not in rows:
            order.append((key, value))
            rows[key] = {}
        rows[key][str(row.release)] = row
    return [(value, rows[key].get("bad"), rows[key].get("good")) for key, value in order]


def _recommendation(cells: list[tuple[Any, Any, Any]], name: str | None, ci: str) -> list[str]:
    """Which knob value meets the targets (catch ≥ 95 %, false aborts ≤ 5 %), if any."""
    complete = [(v, b, g) for v, b, g in cells if b is not None and g is not None]
    if not complete:
        return []
    goal = (f"catches the bad release in at least {_pct(CATCH_TARGET)} of runs with at most "
            f"{_pct(FALSE_ABORT_LIMIT)} false aborts")
    meeting = [(v, b, g) for v, b, g in complete
               if b.p_abort >= CATCH_TARGET and g.p_abort <= FALSE_ABORT_LIMIT]
    if name is None:
        _v, bad, good = complete[0]
        if not meeting:
            return [f"This setting does not meet the usual bar: it {_missed(bad, good)}."]
        return [f"This setting {goal}{_unsure(bad, good, ci)}."]
    if not meeting:
        best = max(complete, key=lambda c: (c[1].p_abort, -c[2].p_abort))
        return [f"No {name} tried {goal}; the best catch rate is {_pct(best[1].p_abort)}, at "
                f"{name} = {_label(best[0])}, with {_pct(best[2].p_abort)} false aborts."]
    numeric = all(_is_number(v) for v, _b, _g in meeting)
    value, bad, good = min(meeting, key=lambda c: float(c[0])) if numeric else meeting[0]
    which = "smallest" if numeric else "first"
    return [f"The {which} {name} that {goal} is {_label(value)} (caught {bad.aborts} of "
            f"{bad.runs}, {ci} {_range(bad)}; false aborts {good.aborts} of {good.runs}, "
            f"{ci} {_range(good)}){_unsure(bad, good, ci)}."]


def _missed(bad: Any, good: Any) -> str:
    parts = []
    if bad.p_abort < CATCH_TARGET:
        parts.append(f"catches the bad release in {_pct(bad.p_abort)} of runs (the bar: "
                     f"{_pct(CATCH_TARGET)})")
    if good.p_abort > FALSE_ABORT_LIMIT:
        parts.append(f"aborts the good release in {_pct(good.p_abort)} of runs (the bar: at "
                     f"most {_pct(FALSE_ABORT_LIMIT)})")
    return " and ".join(parts)


def _unsure(bad: Any, good: Any, ci: str) -> str:
    """A warning when the intervals do not rule out missing the targets."""
    if bad.p_abort_lo >= CATCH_TARGET and good.p_abort_hi <= FALSE_ABORT_LIMIT:
        return ""
    return (f"; with {min(bad.runs, good.runs)} runs the {ci}s still reach "
            f"{_pct(min(bad.p_abort_lo, CATCH_TARGET))} caught and "
            f"{_pct(max(good.p_abort_hi, FALSE_ABORT_LIMIT))} false aborts, so more runs "
            "would be needed to be sure")


def _short(path: str) -> str:
    """The last key of a path, as a sentence names the knob (``rateRps``)."""
    return path.rsplit(".", 1)[-1]


def _pct(p: float) -> str:
    """A proportion in percent: whole percents, one decimal near (but not at) 0 and 100."""
    if not math.isfinite(p):
        return "–"
    value = 100 * p
    if 0 < value < 1 or 99 < value < 100:
        return f"{value:.1f} %"
    return f"{value:.0f} %"


def _range(row: Any) -> str:
    low, high = _pct(row.p_abort_lo), _pct(row.p_abort_hi)
    if low == "–":
        return "–"
    return f"{low.removesuffix(' %')}–{high}"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _users(value: float) -> str:
    shown_value = f"{value:.0f}" if value >= 10 or value == round(value) else f"{value:.1f}"
    return f"{shown_value} user{'' if shown_value == '1' else 's'}"


def _number(value: Any, digits: int = 1) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(value):
        return "–"
    return f"{value:,.{digits}f}"


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)) and math.isfinite(float(value)))




def _label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)
