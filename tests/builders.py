"""Small scenario mappings for tests, with deep overrides."""

from __future__ import annotations

import copy
from typing import Any

import simdeploy

BASE: dict[str, Any] = {
    "name": "test",
    "duration": 60,
    "sampleInterval": 1,
    "deployment": {"replicas": 4, "controllerSyncDelay": 0.1},
    "pod": {
        "workers": 8,
        "queueLimit": None,
        "schedulingDelay": 0.5,
        "readinessProbe": {"initialDelaySeconds": 1, "periodSeconds": 2},
        "terminationGracePeriodSeconds": 30,
        "preStopSeconds": 0,
    },
    "service": {"policy": "random", "endpointPropagationDelay": 1.0},
    "traffic": {"arrivals": {"type": "poisson", "rateRps": 50}, "users": 500},
    "release": {
        "at": 10,
        "current": {"name": "v1", "serviceTime": {"type": "exponential", "mean": 0.01},
                    "containerStart": 2, "warmup": 3},
        "new": {"name": "v2", "serviceTime": {"type": "exponential", "mean": 0.01},
                "containerStart": 2, "warmup": 3},
    },
    "strategies": {"rolling": {"type": "RollingUpdate"}},
}


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``overrides`` merged in, nested mappings merged key by key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "strategies":
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def scenario(**overrides: Any) -> simdeploy.Scenario:
    """A validated scenario: BASE with ``overrides``."""
    return simdeploy.load_scenario(merge(BASE, overrides))


def with_ab_segments(mapping: dict[str, Any]) -> dict[str, Any]:
    """``mapping`` with a beta segment (header ``x-canary: yes``, 20 %) and an enterprise one,
    and two strategies: Flagger's A/B on the beta header, and Recreate."""
    mapping["traffic"]["segments"] = [
        {"name": "beta", "share": 0.2, "headers": {"x-canary": "yes"}},
        {"name": "enterprise", "share": 0.8, "headers": {}}]
    mapping["strategies"] = {
        "ab": {"type": "Canary", "analysis": {"interval": "10s", "iterations": 50,
                                              "match": [{"headers": {"x-canary":
                                                                     {"exact": "yes"}}}]}},
        "recreate": {"type": "Recreate"}}
    return mapping
