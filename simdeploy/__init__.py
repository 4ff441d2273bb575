"""simdeploy: how much downtime, extra capacity and error exposure a deployment strategy costs.

A discrete-event (SimPy) model of pods, a Service and user traffic, with Recreate,
RollingUpdate, blue-green and canary strategies that follow the Kubernetes, Argo Rollouts and
Flagger controllers. The five lines a notebook user types::

    import simdeploy as sd
    scenario = sd.load_scenario("scenarios/web-api.yaml")
    result = sd.run(scenario, strategy="canary", seed=1)
    result.summary
    table = sd.compare(scenario, replications=5)
    sd.plots.plot_comparison(table)      # a matplotlib Figure
"""

from __future__ import annotations

from simdeploy.compare import compare
from simdeploy.errors import ScenarioError
from simdeploy.results import RunResult
from simdeploy.scenario import Scenario, load_scenario
from simdeploy.simulation import run

__version__ = "0.1.0"

__all__ = ["RunResult", "Scenario", "ScenarioError", "__version__", "compare", "load_scenario",
           "plots", "report", "run"]


def __getattr__(name: str):
    """``sd.plots`` and ``sd.report`` load matplotlib only when first used."""
    if name in ("plots", "report"):
        import importlib

        return importlib.import_module(f"simdeploy.{name}")
    raise AttributeError(f"module 'simdeploy' has no attribute {name!r}")
