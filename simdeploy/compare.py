"""Side-by-side runs: every strategy × replication on common random numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from simdeploy.metrics import SUMMARY_KEYS
from simdeploy.scenario import Scenario
from simdeploy.simulation import run

__all__ = ["compare"]


def compare(scenario: Scenario, strategies: Sequence[str] | None = None, replications: int = 1,
            seed: int = 0, *, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run each strategy ``replications`` times and return one row per run.

    Replication ``r`` uses seed ``seed + r`` for every strategy, so all strategies see the same
    arrivals from the same users in that replication (common random numbers).

    Args:
        scenario: the validated scenario.
        strategies: names from ``scenario.strategies``; None runs them all, in file order.
        replications: runs per strategy (>= 1).
        seed: the first replication's seed.
        progress: called with (runs done, runs in all) after each run.

    Returns:
        Columns ``strategy, replication, seed`` then the summary keys.
    """
    if replications < 1:
        raise ValueError("replications must be >= 1")
    names = list(scenario.strategies) if strategies is None else list(strategies)
    for name in names:
        scenario.strategy(name)  # unknown names fail before any run
    rows = []
    total = len(names) * replications
    for name in names:
        for r in range(replications):
            result = run(scenario, name, seed + r)
            rows.append({"strategy": name, "replication": r, "seed": seed + r, **result.summary})
            if progress is not None:
                progress(len(rows), total)
    frame = pd.DataFrame(rows)
    ordered = ["strategy", "replication", "seed", *SUMMARY_KEYS]
    return frame[ordered + [c for c in frame.columns if c not in ordered]]
