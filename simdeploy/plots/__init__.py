"""Figures of one run and of a comparison: what a rollout looked like, and what it cost.

Three pictures answer the three questions people ask of a release:

* :func:`plot_timeline` shows *one run unfolding*: the pods of each version (Pending and
  Terminating shaded apart from the rest, because they count against capacity without
  serving), the endpoints the load balancer actually routes to (its lagged view, which is
  where the termination race lives), the traffic share, the failed requests per second and
  the p99 latency, with the rollout's events (release, weight changes, switch, abort, the
  outcome) drawn on every panel so cause and effect line up in time.
* :func:`plot_comparison` puts the strategies side by side, one small bar chart per cost
  (downtime, extra pod-seconds, peak pods, failed requests, users exposed, users with errors,
  rollout duration), bars at the mean over replications and error bars at one standard
  deviation when there is more than one replication.
* :func:`plot_tradeoff` puts each strategy on a plane of two costs and draws the Pareto front
  (the strategies no other strategy beats on both), so the cheap-but-risky and the
  safe-but-expensive choices are visible at once.

The functions build :class:`matplotlib.figure.Figure` objects directly and never touch
``pyplot``: library code must not change the global backend or figure registry. The figures
they return also show themselves in Jupyter (a PNG representation), whether or not the
notebook imported ``pyplot``, and save with ``fig.savefig("x.png")`` or ``"x.svg"``.

Colours are fixed: the current (old) version is always blue and the new one orange, in every
panel and every figure, and each strategy keeps its colour between the comparison and the
trade-off map when both come from the same table.
"""

from __future__ import annotations

from simdeploy.plots._style import VERSION_COLORS
from simdeploy.plots.comparison import COMPARISON_METRICS, plot_comparison, plot_tradeoff
from simdeploy.plots.timeline import plot_timeline

__all__ = [
    "COMPARISON_METRICS",
    "VERSION_COLORS",
    "plot_comparison",
    "plot_timeline",
    "plot_tradeoff",
]
