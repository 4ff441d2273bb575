"""Shared test fixtures and Hypothesis profiles.

Profiles: ``ci`` (no deadline, bounded and derandomized so CI is reproducible; the default
when the ``CI`` variable is set, as ``.ci/run`` sees it), ``dev`` (the default elsewhere: no
deadline, Hypothesis' usual random search, so every local run tries new examples) and
``explore`` (ten times as many examples, for a scheduled or pre-release run). Pick one with
``HYPOTHESIS_PROFILE=explore pytest``.

Under ``CI`` a skipped test fails: a test that cannot run there (no Chromium, NumPy moved
under the golden answers) must say so loudly, not pass silently.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.register_profile("explore", deadline=None, max_examples=400)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE",
                                     "ci" if os.environ.get("CI") else "dev"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """In CI, a skip is a failure (with the skip's reason)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {reason}"


@pytest.fixture
def tiny_mapping() -> dict[str, Any]:
    """A small valid scenario mapping, fresh for every test (mutate it freely).

    Shaped like ``scenarios/web-api.yaml`` (YAML key spelling, all four strategy types) but
    with 3 replicas, 120 s of simulated time, 50 requests/s and the release at 10 s, so a
    run of every strategy takes well under a second.
    """
    return {
        "name": "tiny",
        "description": "web-api in miniature, for tests",
        "seed": 0,
        "duration": 120,
        "sampleInterval": "1s",
        "deployment": {
            "replicas": 3,
            "minReadySeconds": 0,
            "progressDeadlineSeconds": 600,
            "controllerSyncDelay": "100ms",
        },
        "pod": {
            "workers": 4,
            "queueLimit": 50,
            "requestTimeout": "10s",
            "schedulingDelay": "500ms",
            "readinessProbe": {
                "initialDelaySeconds": 2,
                "periodSeconds": 2,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            "terminationGracePeriodSeconds": 30,
            "preStopSeconds": 0,
        },
        "cluster": {"capacityPods": None, "podCostPerHour": 0.05},
        "service": {
            "policy": "round-robin",
            "endpointPropagationDelay": {"type": "uniform", "low": 0.5, "high": 2},
            "stickiness": "none",
        },
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 50}, "users": 1000},
        "release": {
            "at": "10s",
            "current": {
                "name": "v1",
                "serviceTime": {"type": "lognormal", "median": "80ms", "sigma": 0.5},
                "errorRate": 0.001,
                "containerStart": {"type": "lognormal", "median": "3s", "sigma": 0.3},
                "warmup": "2s",
            },
            "new": {
                "name": "v2",
                "serviceTime": {"type": "lognormal", "median": "75ms", "sigma": 0.5},
                "errorRate": 0.001,
                "containerStart": {"type": "lognormal", "median": "3s", "sigma": 0.3},
                "warmup": "2s",
            },
        },
        "strategies": {
            "recreate": {"type": "Recreate"},
            "rolling": {"type": "RollingUpdate", "maxSurge": "25%", "maxUnavailable": "25%"},
            "blue-green": {"type": "BlueGreen", "scaleDownDelaySeconds": 30},
            "canary": {
                "type": "Canary",
                "trafficRouting": "weighted",
                "steps": [
                    {"setWeight": 20},
                    {"pause": {"duration": "20s"}},
                    {"setWeight": 50},
                    {"pause": {"duration": "20s"}},
                ],
                "healthGate": {"maxErrorRate": 0.05, "window": "30s", "interval": "10s",
                               "minRequests": 20},
            },
        },
    }
