"""simdeploy: how much downtime, extra capacity and error exposure a deployment strategy costs.

A discrete-event (SimPy) model of pods, a Service and user traffic, with Recreate,
RollingUpdate, blue-green and canary strategies that follow the Kubernetes, Argo Rollouts and
Flagger controllers. The five lines a notebook user types::

    import simdeploy as sd
    scenario = sd.load_scenario("scenarios/web-api.yaml")
    result = sd.run(scenario, strategy="canary", seed=1)
    result.summary
    table = sd.compare(scenario, replications=5)
"""

from __future__ import annotations

from simdeploy.compare import compare
from simdeploy.errors import ScenarioError
from simdeploy.results import RunResult
from simdeploy.scenario import Scenario, load_scenario
from simdeploy.simulation import run

__version__ = "0.1.0"

__all__ = ["RunResult", "Scenario", "ScenarioError", "__version__", "compare", "load_scenario",
           "run"]
