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

and, to read a replicated table: ``sd.summarize(table, baseline="rolling")`` (means,
t-intervals and paired differences), ``sd.verdict(table)`` (sentences computed from the
numbers) and ``sd.compare_until(scenario, {"users_with_errors": 20})`` (replicate until the
intervals are that narrow).

``sd.sweep(scenario, {"pod.preStopSeconds": [0, 2, 5]}, replications=5, jobs=4)`` runs every
strategy over a grid of scenario changes (``scenario.with_overrides``) into one tidy table.
"""

from __future__ import annotations

import os as _os
import sys as _sys


def _started_as_the_command() -> bool:
    """Whether this interpreter runs the ``simdeploy`` command (console script or ``-m``)."""
    argv = list(getattr(_sys, "orig_argv", _sys.argv))
    if "-m" in argv[:-1] and argv[argv.index("-m") + 1] == "simdeploy":
        return True
    return bool(_sys.argv) and _os.path.basename(_sys.argv[0]) == "simdeploy"


try:
    from simdeploy.compare import compare
    from simdeploy.detection import detection
    from simdeploy.errors import ScenarioError
    from simdeploy.results import RunResult
    from simdeploy.scenario import Scenario, load_scenario
    from simdeploy.sequential import SequentialComparison, compare_until
    from simdeploy.simulation import run
    from simdeploy.statistics import summarize
    from simdeploy.sweep import sweep
    from simdeploy.verdict import verdict
except KeyboardInterrupt:
    # Ctrl-C while the command is still importing: the command's one line and exit 130
    # (cli.main handles it from then on); a library import re-raises as usual.
    if not _started_as_the_command():
        raise
    _sys.stderr.write("simdeploy: interrupted\n")
    raise SystemExit(130) from None

__version__ = "0.1.0"

__all__ = ["RunResult", "Scenario", "ScenarioError", "SequentialComparison", "__version__",
           "compare", "compare_until", "detection", "load_scenario", "plots", "report", "run",
           "summarize", "sweep", "verdict"]


def __getattr__(name: str):
    """``sd.plots`` and ``sd.report`` load matplotlib only when first used."""
    if name in ("plots", "report"):
        import importlib

        return importlib.import_module(f"simdeploy.{name}")
    raise AttributeError(f"module 'simdeploy' has no attribute {name!r}")
