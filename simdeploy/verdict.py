"""A verdict computed from the numbers: the few sentences a reader of a comparison wants first.

Nothing here is hand-written per scenario. From a comparison table (one row per strategy ×
replication, :func:`simdeploy.compare`) :func:`verdict` says, with numbers:

* which rollouts did not complete (aborted by a gate or an undo, or stalled), when any did;
* which strategy is cheapest in capacity (extra *scheduled* pod-seconds: pods holding node
  resources above the baseline) and which hurts fewest users (users with at least one failed
  request), naming the strategies that cannot be told apart from the best at the level;
* which trade-offs are real: the strategies on the Pareto front of those two costs, in order
  of capacity, and for each step along it the paired difference (seed by seed, on common
  random numbers: :func:`simdeploy.summarize`) in capacity and in users, significant or not;
  and, for each strategy off the front, the front strategy that is no worse on both;
* what the failures were made of: the shares of refused, 5xx, no-endpoint, overload, killed
  and timed-out requests, per strategy.

"Cannot be told apart" means the paired t-interval of the difference contains 0 at the level;
with one replication per strategy nothing can be tested, and the verdict says so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simdeploy.statistics import summarize
from simdeploy.summary_table import format_interval, percent, replications_of

__all__ = ["CAPACITY", "FAILURE_KINDS", "USERS", "pareto_front", "verdict"]

CAPACITY = "extra_scheduled_pod_seconds"
"""The capacity cost: pod-seconds above the baseline of pods bound to a node."""

USERS = "users_with_errors"
"""The user cost: distinct users with at least one failed request."""

FAILURE_KINDS = {
    "requests_refused": "refused",
    "requests_error": "5xx",
    "requests_no_endpoint": "no endpoint",
    "requests_overload": "overload",
    "requests_killed": "killed",
    "requests_timeout": "timeout",
}
"""The ways a request fails (:data:`simdeploy.records.OUTCOMES`), as the verdict names them."""

_NOUNS = {CAPACITY: "extra scheduled pod-seconds", USERS: "users with errors"}


def verdict(table: pd.DataFrame, level: float = 0.95) -> list[str]:
    """A few sentences on the comparison, each computed from the table.

    Args:
        table: one row per strategy × replication, with the summary columns
            ``extra_scheduled_pod_seconds`` and ``users_with_errors`` (and, for the sentence
            on failures, ``requests_failed`` and the ``requests_<outcome>`` counts).
        level: the confidence level of the intervals and of the paired tests.

    Returns:
        The sentences, in reading order.

    Raises:
        ValueError: the table is empty or lacks the two cost columns.
    """
    if table.empty:
        raise ValueError("the table is empty: nothing to compare")
    for column in ("strategy", CAPACITY, USERS):
        if column not in table.columns:
            raise ValueError(f"the table has no column {column!r}")
    runs = replications_of(table)
    stats = summarize(table, level, metrics=[CAPACITY, USERS])
    means = stats.pivot(index="strategy", columns="metric", values="mean")
    names = [str(n) for n in pd.unique(table["strategy"].astype(str))]
    means = means.reindex(names)
    cell = {(r.strategy, r.metric): format_interval(r.metric, r.mean, r.half_width)
            for r in stats.itertuples(index=False)}
    sentences = []
    unfinished = _unfinished(table, names)
    if unfinished:
        sentences.append(unfinished)
    interval = (f" (mean ± {percent(level)} half-width over {runs} replications)"
                if runs > 1 else "")
    sentences.append(_best(table, names, means, cell, CAPACITY, level, runs,
                           "Cheapest in capacity", interval))
    sentences.append(_best(table, names, means, cell, USERS, level, runs,
                           "Fewest users hurt", ""))
    sentences += _tradeoffs(table, names, means, level, runs)
    detection = _detection(table, names)
    if detection:
        sentences.append(detection)
    failures = _failures(table, names)
    if failures:
        sentences.append(failures)
    return sentences


def pareto_front(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    """Indices of the points no other point matches or beats on both (lower is better).

    Points with a NaN coordinate are never on the front; the indices are in order of ``xs``
    (then ``ys``).
    """
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    known = np.isfinite(x) & np.isfinite(y)
    front = []
    for i in np.flatnonzero(known):
        no_worse = known & (x <= x[i]) & (y <= y[i])
        better = (x < x[i]) | (y < y[i])
        if not (no_worse & better).any():
            front.append(int(i))
    return sorted(front, key=lambda i: (x[i], y[i], i))


def _unfinished(table: pd.DataFrame, names: list[str]) -> str | None:
    if "outcome" not in table.columns:
        return None
    parts = []
    for name in names:
        outcomes = table.loc[table["strategy"].astype(str) == name, "outcome"].astype(str)
        for outcome, count in outcomes.value_counts(sort=False).items():
            if outcome != "completed":
                parts.append(f"{name} {outcome} in {count} of {len(outcomes)} runs")
    if not parts:
        return None
    return ("Not every rollout completed: " + "; ".join(parts)
            + " (aborted: a gate or an undo rolled back; stalled: not finished by the end).")


def _paired(table: pd.DataFrame, new: str, old: str, level: float) -> pd.DataFrame:
    """summarize's rows of ``new`` against ``old``, indexed by metric."""
    rows = summarize(table, level, baseline=old, metrics=[CAPACITY, USERS])
    return rows[rows["strategy"] == new].set_index("metric")


def _best(table: pd.DataFrame, names: list[str], means: pd.DataFrame,
          cell: dict[tuple[str, str], str], metric: str, level: float, runs: int,
          heading: str, interval: str) -> str:
    values = means[metric]
    ranked = [n for n in sorted(names, key=lambda n: (values[n], names.index(n)))
              if math.isfinite(values[n])]
    if not ranked:
        return f"{heading}: no strategy has a value of {_NOUNS[metric]}."
    best = ranked[0]
    text = f"{heading}: {best}, {cell[(best, metric)]} {_NOUNS[metric]}{interval}"
    if metric == USERS and "users_total" in table.columns:
        users = float(table.loc[table["strategy"].astype(str) == best, "users_total"].mean())
        if users > 0:
            text += f", of {users:,.0f} users ({100 * values[best] / users:.2g} %)"
    ties, rest = [], []
    for name in ranked[1:]:
        diff = _paired(table, name, best, level).loc[metric] if runs > 1 else None
        if diff is not None and not diff["significant"]:
            ties.append(f"{name} ({cell[(name, metric)]}; paired difference "
                        f"{_signed(metric, diff['diff_mean'], diff['diff_half_width'])})")
        elif diff is None and values[name] == values[best]:
            ties.append(name)
        else:
            rest.append(f"{name} {cell[(name, metric)]}")
    if ties and runs > 1:
        text += (f". Not distinguishable from it at {percent(level)}: " + ", ".join(ties))
    elif ties:
        text += ". Tied with it: " + ", ".join(ties)
    if rest:
        text += ". Then " + ", ".join(rest)
    return text + "."


def _signed(metric: str, mean: float, half_width: float) -> str:
    text = format_interval(metric, abs(mean), half_width)
    if text.startswith("0 ") or text.startswith("0.0 "):
        return text
    return ("+" if mean > 0 else "−") + text


def _tradeoffs(table: pd.DataFrame, names: list[str], means: pd.DataFrame, level: float,
               runs: int) -> list[str]:
    xs, ys = means[CAPACITY].to_numpy(float), means[USERS].to_numpy(float)
    front = [names[i] for i in pareto_front(xs, ys)]
    if not front:
        return []
    sentences = []
    if len(front) == 1:
        head = (f"{front[0]} is the only strategy on the Pareto front of capacity against "
                "users hurt: no other is as cheap or as safe.")
    else:
        head = ("On the Pareto front of capacity against users hurt, from cheapest to safest: "
                + " → ".join(front) + ".")
    if runs < 2:
        head += (" With one replication per strategy no difference can be tested at "
                 f"{percent(level)}; these are single runs.")
        return [head]
    sentences.append(head)
    steps = []
    for cheap, safe in itertools.pairwise(front):
        diff = _paired(table, safe, cheap, level)
        cost, spared = diff.loc[CAPACITY], diff.loc[USERS]
        steps.append(f"{safe} over {cheap}: {_difference(cost, spared)} — "
                     + _judge(bool(cost["significant"]), bool(spared["significant"]), level))
    if steps:
        sentences.append(f"Trade-offs along the front (paired by seed, {percent(level)}): "
                         + "; ".join(steps) + ".")
    off = [n for n in names if n not in front and math.isfinite(means.loc[n, CAPACITY])
           and math.isfinite(means.loc[n, USERS])]
    for name in off:
        winner = next(f for f in front if means.loc[f, CAPACITY] <= means.loc[name, CAPACITY]
                      and means.loc[f, USERS] <= means.loc[name, USERS])
        diff = _paired(table, name, winner, level)
        cost, users = diff.loc[CAPACITY], diff.loc[USERS]
        if cost["significant"] and users["significant"]:
            how = "significant on both"
        elif cost["significant"] or users["significant"]:
            how = f"significant on {'capacity' if cost['significant'] else 'users hurt'} only"
        else:
            how = (f"neither significant at {percent(level)}: the two cannot be told apart")
        sentences.append(f"{name} is off the front, {winner} being no worse on both: {name} "
                         f"has {_difference(cost, users)}, {how}.")
    return sentences


def _difference(cost: pd.Series, users: pd.Series) -> str:
    """'+X ± h extra scheduled pod-seconds and −Y ± h users with errors'."""
    return (f"{_signed(CAPACITY, cost['diff_mean'], cost['diff_half_width'])} extra scheduled "
            f"pod-seconds and {_signed(USERS, users['diff_mean'], users['diff_half_width'])} "
            "users with errors")


def _judge(capacity: bool, users: bool, level: float) -> str:
    if capacity and users:
        return f"a real trade-off, both differences significant at {percent(level)}"
    if capacity:
        return "the capacity is a real cost, the users spared are within the noise"
    if users:
        return "the users spared are real, the extra capacity is within the noise"
    return "neither difference is significant: the two cannot be told apart"


def _detection(table: pd.DataFrame, names: list[str]) -> str | None:
    """How fast each strategy's analysis (or undo) caught the release, and whom v2 failed.

    Only when some run aborted after the new version had answered (``detected_s``)."""
    if "detected_s" not in table.columns or not table["detected_s"].notna().any():
        return None
    parts = []
    for name in names:
        rows = table[table["strategy"].astype(str) == name]
        caught = rows["detected_s"].dropna()
        failed = float(rows["users_failed_new"].mean()) if "users_failed_new" in rows else 0.0
        users = f"{failed:,.0f} users failed by the new version"
        if caught.empty:
            parts.append(f"{name} never aborted ({users})")
            continue
        share = "" if len(caught) == len(rows) else f" in {len(caught)} of {len(rows)} runs"
        parts.append(f"{name} aborted {caught.mean():,.0f} s after the new version's first "
                     f"response{share} ({users})")
    return "Detection: " + "; ".join(parts) + "."


def _failures(table: pd.DataFrame, names: list[str]) -> str | None:
    kinds = [k for k in FAILURE_KINDS if k in table.columns]
    if "requests_failed" not in table.columns or not kinds:
        return None
    parts = []
    for name in names:
        rows = table[table["strategy"].astype(str) == name]
        failed = float(pd.to_numeric(rows["requests_failed"], errors="coerce").sum())
        per_run = failed / len(rows)
        if failed == 0:
            parts.append(f"{name} none")
            continue
        shares = sorted(((float(rows[k].sum()) / failed, FAILURE_KINDS[k]) for k in kinds),
                        key=lambda s: -s[0])
        words = ", ".join(f"{_share(share)} {label}" for share, label in shares if share > 0)
        parts.append(f"{name} {per_run:,.0f} per run ({words})")
    return "Failed requests: " + "; ".join(parts) + "."


def _share(fraction: float) -> str:
    pct = 100 * fraction
    return "<1 %" if pct < 0.5 else f"{pct:.0f} %"
