"""Figures of one run and of a comparison: what a rollout looked like, and what it cost.

Three pictures answer the three questions people ask of a release:

* :func:`plot_timeline` shows *one run unfolding*: the pods of each version (Pending and
  Terminating shaded apart from the rest, because they count against capacity without
  serving), the endpoints the load balancer actually routes to (its lagged view, which is
  where the termination race lives), the traffic share, the failed requests per second and
  the p99 latency, with the rollout's events (release, weight changes, switch, abort, the
  outcome) drawn on every panel so cause and effect line up in time.
* :func:`plot_comparison` puts the strategies side by side, one small bar chart per cost
  (downtime, extra scheduled pod-seconds, peak scheduled pods, peak Pending pods, failed
  requests, users exposed, users with errors, rollout duration, and the extra cost when the
  scenario prices pods), bars at the mean over replications and error bars at one standard
  deviation when there is more than one replication. Capacity counts the pods the cluster
  actually scheduled; pods left Pending for want of room are shown apart.
* :func:`plot_tradeoff` puts each strategy on a plane of two costs and draws the Pareto front
  (the strategies no other strategy beats on both), so the cheap-but-risky and the
  safe-but-expensive choices are visible at once. Labels never overlap.
* :func:`plot_sweep` and :func:`plot_sweep_heatmap` read a sweep (:func:`simdeploy.sweep`):
  a cost against one swept setting with interval bands per strategy, and a map of a cost over
  two settings, one panel per strategy.
* :func:`plot_segment_timeline` reads runs of a scenario with user segments
  (``traffic.segments``): per strategy, the share of each segment's requests on the new
  version over time and each segment's failed requests, so who got the release when is seen.

The functions build :class:`matplotlib.figure.Figure` objects directly and never touch
``pyplot``: library code must not change the global backend or figure registry. The figures
they return also show themselves in Jupyter (a PNG representation), whether or not the
notebook imported ``pyplot``, and save with ``fig.savefig("x.png")`` or ``"x.svg"``.

Colours are fixed: the current (old) version is always blue and the new one orange, in every
panel and every figure, and each strategy keeps its colour by name (:func:`strategy_colors`)
in every figure and every report, whatever the order of the strategies. Names of strategies,
scenarios and versions are drawn as written, never parsed as mathtext or TeX.
"""

from __future__ import annotations

from simdeploy.plots._style import (
    STRATEGY_COLORS,
    VERSION_COLORS,
    strategy_color,
    strategy_colors,
)
from simdeploy.plots.comparison import COMPARISON_METRICS, COST_METRIC, plot_comparison
from simdeploy.plots.detection import plot_detection
from simdeploy.plots.segments import SEGMENT_COLORS, plot_segment_timeline
from simdeploy.plots.sweep import SWEEP_METRICS, plot_sweep, plot_sweep_heatmap
from simdeploy.plots.timeline import plot_timeline
from simdeploy.plots.tradeoff import plot_tradeoff

__all__ = [
    "COMPARISON_METRICS",
    "COST_METRIC",
    "SEGMENT_COLORS",
    "STRATEGY_COLORS",
    "SWEEP_METRICS",
    "VERSION_COLORS",
    "plot_comparison",
    "plot_detection",
    "plot_segment_timeline",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_timeline",
    "plot_tradeoff",
    "strategy_color",
    "strategy_colors",
]
