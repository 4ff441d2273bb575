"""Confidence intervals for replicated runs.

A single seeded run is an anecdote; ``replications`` runs per strategy give a mean and a
Student-t interval around it (the runs are independent: each replication has its own seed).
Student's t quantile comes from SciPy (``scipy.stats.t.ppf``): the one numerical routine here
we would otherwise write by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["t_interval"]


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
