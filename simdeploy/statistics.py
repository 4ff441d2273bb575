"""Confidence intervals for replicated runs, and paired differences on common random numbers.

A single seeded run is an anecdote; ``replications`` runs per strategy give a mean and a
Student-t interval around it (the runs are independent: each replication has its own seed).
Student's t quantile comes from SciPy (``scipy.stats.t.ppf``): the one numerical routine here
we would otherwise write by hand.

Strategies are not independent of each other, though: :func:`simdeploy.compare` gives every
strategy the same seed in a replication, so they all see the same requests from the same users
(common random numbers). The difference between two strategies is then best estimated seed by
seed: the per-seed differences cancel the noise both runs share (a busy minute, an unlucky
user), and their one-sample t-interval is usually much narrower than the two-sample (Welch)
interval that ignores the pairing (Law, *Simulation Modeling and Analysis*, §10.2 and §11.2;
Banks et al., *Discrete-Event System Simulation*, "common random numbers").
:func:`summarize` gives both, and their ratio, so the gain from pairing is visible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from simdeploy.metrics import SUMMARY_KEYS
from simdeploy.records import OUTCOMES

__all__ = ["DIFF_COLUMNS", "METRICS", "SUMMARY_COLUMNS", "numeric_metrics", "summarize",
           "t_interval", "welch_half_width"]

METRICS = (*(k for k in SUMMARY_KEYS
              if k not in ("outcome", "progress_deadline_exceeded", "analysis_verdict")),
           *(f"requests_{o}" for o in OUTCOMES))
"""The numeric summary keys: what can be averaged and given an interval."""

SUMMARY_COLUMNS = ("strategy", "metric", "n", "mean", "std", "half_width", "low", "high")
"""The columns of :func:`summarize`'s rows, without a baseline."""

DIFF_COLUMNS = ("diff_n", "diff_mean", "diff_half_width", "diff_low", "diff_high", "significant",
                "unpaired_half_width", "paired_over_unpaired")
"""The columns :func:`summarize` adds against a baseline."""

def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """(mean, half-width) of the two-sided Student-t interval at ``level``.

    NaN values (a run that never finished has no rollout duration) are left out; with fewer
    than two values left the half-width is NaN (no interval from one run).
    """
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    if len(data) == 0:
        return math.nan, math.nan
    mean = float(data.mean())
    if len(data) < 2:
        return mean, math.nan
    spread = float(data.std(ddof=1))
    quantile = float(stats.t.ppf(0.5 + level / 2, len(data) - 1))
    return mean, quantile * spread / math.sqrt(len(data))


def welch_half_width(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> float:
    """Half-width of the Welch (unequal-variance, unpaired) t-interval of ``mean(a) - mean(b)``.

    The standard error is ``sqrt(s_a²/n_a + s_b²/n_b)`` and the degrees of freedom are
    Welch–Satterthwaite's. NaN values are left out; NaN when either side has fewer than two
    values; 0 when both sides are constant.
    """
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if len(x) < 2 or len(y) < 2:
        return math.nan
    vx, vy = float(x.var(ddof=1)) / len(x), float(y.var(ddof=1)) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0:
        return 0.0
    share_x, share_y = vx / (vx + vy), vy / (vx + vy)  # shares: no underflow of tiny squares
    df = 1 / (share_x**2 / (len(x) - 1) + share_y**2 / (len(y) - 1))
    return float(stats.t.ppf(0.5 + level / 2, df)) * se


def numeric_metrics(table: pd.DataFrame) -> list[str]:
    """The numeric summary columns of a comparison table, in the table's order.

    Every summary key (:data:`simdeploy.metrics.SUMMARY_KEYS`) and ``requests_<outcome>``
    count that the table has and that holds numbers; booleans (``progress_deadline_exceeded``),
    the ``outcome`` and identifier columns (``strategy``, ``replication``, ``seed``) are not
    metrics.
    """
    types = pd.api.types
    return [c for c in table.columns if c in METRICS
            and types.is_numeric_dtype(table[c]) and not types.is_bool_dtype(table[c])]


def summarize(table: pd.DataFrame, level: float = 0.95, baseline: str | None = None,
              metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per strategy and metric: mean and t-interval, and the paired difference.

    Each row has ``strategy, metric, n, mean, std, half_width, low, high``: the mean over the
    strategy's replications with the Student-t interval at ``level`` (``low``/``high`` are the
    mean ∓ ``half_width``). Runs without a value (``rollout_duration_s`` is NaN when a rollout
    never finished) are left out, and ``n`` says how many runs are left; with fewer than two
    the interval is NaN.

    With ``baseline`` (a strategy name) each row also has the difference *strategy − baseline*
    estimated on common random numbers: the runs of the two strategies with the same ``seed``
    (or, in a table without seeds, the same ``replication``) are paired, and the one-sample
    t-interval of the per-seed differences gives ``diff_mean``, ``diff_half_width``,
    ``diff_low``, ``diff_high``; ``diff_n`` counts the pairs (a seed where either run has no
    value is left out). ``significant`` is True when that interval excludes 0.
    ``unpaired_half_width`` is the Welch half-width of the same difference from the same runs,
    ignoring the pairing, and ``paired_over_unpaired`` the ratio of the two half-widths: how
    much narrower pairing makes the interval (0.2 means five times narrower). The baseline's
    own rows have NaN differences and ``significant`` False.

    Args:
        table: one row per strategy × replication, as :func:`simdeploy.compare` returns.
        level: the intervals' confidence level, between 0 and 1.
        baseline: the strategy the others are compared with, or None for no differences.
        metrics: the columns to summarize; None takes every numeric summary column
            (:func:`numeric_metrics`).

    Returns:
        A tidy DataFrame: strategies in the table's order, metrics in the given order.

    Raises:
        ValueError: the level is not a fraction, a column or the baseline is missing, or a
            strategy has two runs with the same seed (a table of several scenarios or
            variants: summarize one at a time).
    """
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    if "strategy" not in table.columns:
        raise ValueError("the table needs a 'strategy' column (as compare() returns)")
    chosen = numeric_metrics(table) if metrics is None else list(metrics)
    missing = [m for m in chosen if m not in table.columns]
    if missing:
        raise ValueError(f"the table has no column {missing[0]!r}")
    strategies = table["strategy"].astype(str)
    names = [str(n) for n in pd.unique(strategies)]
    if baseline is not None and baseline not in names:
        raise ValueError(f"no strategy {baseline!r} in the table (strategies: {', '.join(names)})")
    key = "seed" if "seed" in table.columns else "replication"
    if baseline is not None and key not in table.columns:
        raise ValueError("pairing needs a 'seed' or 'replication' column")
    groups = {name: table[strategies == name] for name in names}
    if baseline is not None:
        for name, group in groups.items():
            repeated = group[key][group[key].duplicated()]
            if len(repeated):
                raise ValueError(f"strategy {name!r} has more than one run with {key} "
                                 f"{repeated.iloc[0]}: summarize one scenario or variant at "
                                 "a time")
    rows = []
    for name, group in groups.items():
        for metric in chosen:
            values = pd.to_numeric(group[metric], errors="coerce").astype(float)
            data = values.dropna().to_numpy()
            mean, half = t_interval(data, level)
            std = float(data.std(ddof=1)) if len(data) > 1 else math.nan
            row = {"strategy": name, "metric": metric, "n": len(data), "mean": mean,
                   "std": std, "half_width": half, "low": mean - half, "high": mean + half}
            if baseline is not None:
                row |= _difference(values.set_axis(group[key].to_numpy()),
                                   _by_key(groups[baseline], metric, key),
                                   level, name == baseline)
            rows.append(row)
    columns = [*SUMMARY_COLUMNS, *(DIFF_COLUMNS if baseline is not None else ())]
    frame = pd.DataFrame(rows, columns=columns)
    frame["n"] = frame["n"].astype(int)
    if baseline is not None:
        frame["diff_n"] = frame["diff_n"].astype(int)
        frame["significant"] = frame["significant"].astype(bool)
    return frame


def _by_key(group: pd.DataFrame, metric: str, key: str) -> pd.Series:
    values = pd.to_numeric(group[metric], errors="coerce").astype(float)
    return values.set_axis(group[key].to_numpy())


def _difference(values: pd.Series, base: pd.Series, level: float,
                is_baseline: bool) -> dict[str, float | int | bool]:
    """The paired and unpaired intervals of mean(values) − mean(base), paired by index."""
    nothing = {"diff_n": 0, "diff_mean": math.nan, "diff_half_width": math.nan,
               "diff_low": math.nan, "diff_high": math.nan, "significant": False,
               "unpaired_half_width": math.nan, "paired_over_unpaired": math.nan}
    if is_baseline:
        return nothing
    shared = values.index.intersection(base.index)
    a, b = values.loc[shared].to_numpy(), base.loc[shared].to_numpy()
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    if len(a) == 0:
        return nothing
    mean, half = t_interval(a - b, level)
    unpaired = welch_half_width(a, b, level)
    low, high = mean - half, mean + half
    return {"diff_n": len(a), "diff_mean": mean, "diff_half_width": half, "diff_low": low,
            "diff_high": high, "significant": bool(low > 0 or high < 0),
            "unpaired_half_width": unpaired,
            "paired_over_unpaired": half / unpaired if unpaired > 0 else math.nan}
