"""Simulated requests per wall-second: simdeploy against plain SimPy models of the same traffic.

One fixed workload (Poisson 400 requests/s onto 10 pods × 4 workers, exponential service
time with mean 80 ms, unbounded queues: about 80 % utilisation) is simulated by

* ``textbook``: the M/M/c model as the SimPy tutorials write it, one ``env.process`` per
  request holding one of 10 ``simpy.Resource(capacity=4)`` (random routing);
* ``bare``: the same queues driven by callbacks on ``env.timeout`` events, no processes,
  per-pod busy counters and deques (about as fast as SimPy itself goes: the upper reference);
* ``steady``, ``rolling``, ``canary``: ``simdeploy.run`` on the same traffic with no
  rollout, with a RollingUpdate (25 %/25 %) released at 10 % of the run, and with a weighted
  canary released at 10 % of the run.

Every model draws its random numbers from numpy in batches of 4096 (so the generator is not
what is measured). Repetitions are interleaved (round 1 runs every model, then round 2, ...)
and the best (shortest) time of each model is kept, so that the ratios come from one run on a
possibly noisy machine. The figure of merit is simdeploy's requests/s divided by the textbook
model's; the target is ``TARGET_RATIO``.

Run ``python -m benchmarks`` (``--quick`` for a smoke-sized run, ``--json`` for machine-readable
output, ``--profile steady`` for a cProfile of one model).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import platform
import pstats
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

import simdeploy as sd

# The workload -------------------------------------------------------------------------------

RATE_RPS = 400.0
PODS = 10
WORKERS = 4
SERVICE_MEAN_S = 0.080
SEED = 1
BATCH = 4096

FULL_REQUESTS = 300_000
"""Expected arrivals per measured run (duration = FULL_REQUESTS / RATE_RPS = 750 s)."""
QUICK_REQUESTS = 12_000
"""``--quick``: 30 s of simulated traffic, one round."""

TARGET_RATIO = 1.5
"""The goal: simdeploy simulates at least this many times the textbook model's requests/s."""

CONTROLLER_SYNC_S = 0.1


def duration_for(n_requests: int) -> float:
    """Simulated seconds that hold ``n_requests`` arrivals on average."""
    return n_requests / RATE_RPS


def scenario_mapping(variant: str, duration_s: float) -> dict[str, Any]:
    """The fixed benchmark scenario, as :func:`simdeploy.load_scenario` takes it.

    ``steady``: the release is at ``duration - 50 ms``, before the controller's first pass
    (``controllerSyncDelay`` 100 ms later), so no pod changes within the run.
    ``rolling``: RollingUpdate 25 %/25 % released at 10 % of the run.
    ``canary``: weighted canary 25 % → 50 % → promote, released at 10 % of the run.
    """
    version = {
        "serviceTime": {"type": "exponential", "mean": SERVICE_MEAN_S},
        "errorRate": 0.0,
        "containerStart": 2.0,
        "warmup": 2.0,
    }
    if variant == "steady":
        release_at = duration_s - CONTROLLER_SYNC_S / 2
        strategies: dict[str, Any] = {
            "rolling": {"type": "RollingUpdate", "maxSurge": "25%", "maxUnavailable": "25%"},
        }
    elif variant == "rolling":
        release_at = 0.1 * duration_s
        strategies = {
            "rolling": {"type": "RollingUpdate", "maxSurge": "25%", "maxUnavailable": "25%"},
        }
    elif variant == "canary":
        release_at = 0.1 * duration_s
        pause = 0.2 * duration_s
        strategies = {
            "canary": {
                "type": "Canary",
                "trafficRouting": "weighted",
                "steps": [
                    {"setWeight": 25},
                    {"pause": {"duration": pause}},
                    {"setWeight": 50},
                    {"pause": {"duration": pause}},
                ],
            },
        }
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return {
        "name": f"bench-{variant}",
        "description": "benchmark: Poisson 400 rps, 10 pods x 4 workers, exp(80 ms), no limits",
        "seed": SEED,
        "duration": duration_s,
        "sampleInterval": 1.0,
        "deployment": {
            "replicas": PODS,
            "minReadySeconds": 0,
            "progressDeadlineSeconds": 600,
            "controllerSyncDelay": CONTROLLER_SYNC_S,
        },
        "pod": {
            "workers": WORKERS,
            "queueLimit": None,
            "requestTimeout": None,
            "schedulingDelay": 0.5,
            "readinessProbe": {"initialDelaySeconds": 1, "periodSeconds": 2},
            "terminationGracePeriodSeconds": 30,
            "preStopSeconds": 2,  # longer than propagation: the rollout itself drops nothing
        },
        "service": {
            "policy": "round-robin",
            "endpointPropagationDelay": 1.0,
            "stickiness": "none",
        },
        "traffic": {"arrivals": {"type": "poisson", "rateRps": RATE_RPS}, "users": 20_000},
        "release": {
            "at": release_at,
            "current": {"name": "v1", **version},
            "new": {"name": "v2", **version},
        },
        "strategies": strategies,
    }


# Reference models in plain SimPy ------------------------------------------------------------


def _draws(make_batch: Callable[[], np.ndarray]) -> Iterator[Any]:
    """Values one at a time from numpy batches (``next()`` costs a generator resume)."""
    while True:
        yield from make_batch().tolist()


def _streams(seed: int, n_pods: int) -> tuple[Iterator[float], Iterator[float], Iterator[int]]:
    rng = np.random.default_rng(seed)
    gaps = _draws(lambda: rng.exponential(1.0 / RATE_RPS, BATCH))
    services = _draws(lambda: rng.exponential(SERVICE_MEAN_S, BATCH))
    picks = _draws(lambda: rng.integers(0, n_pods, BATCH))
    return gaps, services, picks


def textbook_mmc(duration_s: float, seed: int = SEED, n_pods: int = PODS,
                 workers: int = WORKERS) -> dict[str, Any]:
    """The SimPy-tutorial model: a source process, one process per request, simpy.Resource.

    Returns ``{"requests": completed requests}``.
    """
    gaps, services, picks = _streams(seed, n_pods)
    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=workers) for _ in range(n_pods)]
    completed = 0

    def request(server: simpy.Resource, service_s: float):
        nonlocal completed
        with server.request() as req:
            yield req
            yield env.timeout(service_s)
        completed += 1

    def source():
        while True:
            yield env.timeout(next(gaps))
            env.process(request(servers[next(picks)], next(services)))

    env.process(source())
    env.run(until=duration_s)
    return {"requests": completed}


def bare_callbacks(duration_s: float, seed: int = SEED, n_pods: int = PODS,
                   workers: int = WORKERS) -> dict[str, Any]:
    """The same queues with callbacks on timeouts: no processes, busy counters and deques.

    Returns ``{"requests": completed requests}``.
    """
    gaps, services, picks = _streams(seed, n_pods)
    env = simpy.Environment()
    busy = [0] * n_pods
    queues: list[deque[float]] = [deque() for _ in range(n_pods)]
    completed = 0

    def on_arrival(_event: simpy.Event) -> None:
        env.timeout(next(gaps)).callbacks.append(on_arrival)
        pod = next(picks)
        if busy[pod] < workers:
            busy[pod] += 1
            env.timeout(next(services), pod).callbacks.append(on_done)
        else:
            queues[pod].append(env.now)

    def on_done(event: simpy.Event) -> None:
        nonlocal completed
        completed += 1
        pod = event.value
        queue = queues[pod]
        if queue:
            queue.popleft()
            env.timeout(next(services), pod).callbacks.append(on_done)
        else:
            busy[pod] -= 1

    env.timeout(next(gaps)).callbacks.append(on_arrival)
    env.run(until=duration_s)
    return {"requests": completed}


def simdeploy_run(scenario: sd.Scenario) -> dict[str, Any]:
    """One ``simdeploy.run`` (build, simulate, collect); counts every arrived request."""
    summary = sd.run(scenario, seed=SEED).summary
    return {
        "requests": int(summary["requests_total"]),
        "completed": int(summary["requests_ok"]),
        "failed": int(summary["requests_failed"]),
        "outcome": summary["outcome"],
        "peak_pods": int(summary["peak_pods"]),
        "rollout_duration_s": (None if math.isnan(summary["rollout_duration_s"])
                               else round(float(summary["rollout_duration_s"]), 3)),
    }


# The harness --------------------------------------------------------------------------------


@dataclass
class Model:
    key: str
    label: str
    run: Callable[[], dict[str, Any]]
    seconds: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def best_s(self) -> float:
        return min(self.seconds)

    @property
    def rate(self) -> float:
        return self.info["requests"] / self.best_s


def build_models(n_requests: int) -> list[Model]:
    """Every model of the benchmark, on the same traffic (scenarios validated up front)."""
    duration_s = duration_for(n_requests)
    scenarios = {v: sd.load_scenario(scenario_mapping(v, duration_s))
                 for v in ("steady", "rolling", "canary")}
    return [
        Model("textbook", "textbook M/M/c (process per request, simpy.Resource)",
              lambda: textbook_mmc(duration_s)),
        Model("bare", "bare SimPy callback loop (upper reference)",
              lambda: bare_callbacks(duration_s)),
        Model("steady", "simdeploy, no rollout",
              lambda: simdeploy_run(scenarios["steady"])),
        Model("rolling", "simdeploy, RollingUpdate 25%/25% at 10%",
              lambda: simdeploy_run(scenarios["rolling"])),
        Model("canary", "simdeploy, weighted canary 25→50→100% at 10%",
              lambda: simdeploy_run(scenarios["canary"])),
    ]


def measure(models: list[Model], rounds: int) -> None:
    """Interleave the repetitions: every model once per round."""
    for _ in range(rounds):
        for model in models:
            gc.collect()
            start = time.perf_counter()
            info = model.run()
            model.seconds.append(time.perf_counter() - start)
            if model.info and model.info["requests"] != info["requests"]:
                raise RuntimeError(f"{model.key}: not deterministic across rounds")
            model.info = info


def versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "simpy": simpy.__version__,
        "simdeploy": sd.__version__,
        "machine": platform.machine(),
    }


def report(models: list[Model], rounds: int, n_requests: int, quick: bool) -> dict[str, Any]:
    textbook = next(m for m in models if m.key == "textbook")
    return {
        "benchmark": "requests_per_second",
        "quick": quick,
        "rounds": rounds,
        "workload": {
            "rate_rps": RATE_RPS,
            "duration_s": duration_for(n_requests),
            "expected_requests": n_requests,
            "pods": PODS,
            "workers_per_pod": WORKERS,
            "service_time": f"exponential, mean {SERVICE_MEAN_S * 1000:g} ms",
            "seed": SEED,
        },
        "versions": versions(),
        "target_ratio": TARGET_RATIO,
        "models": [
            {
                "key": m.key,
                "label": m.label,
                "seconds_best": m.best_s,
                "seconds_all": m.seconds,
                "requests_per_s": m.rate,
                "ratio_to_textbook": m.rate / textbook.rate,
                **m.info,
            }
            for m in models
        ],
    }


def print_table(result: dict[str, Any]) -> None:
    v = result["versions"]
    w = result["workload"]
    print("simdeploy benchmark: simulated requests per wall-second")
    print(f"Python {v['python']} ({v['implementation']}, {v['machine']}), numpy {v['numpy']}, "
          f"simpy {v['simpy']}, simdeploy {v['simdeploy']}")
    print(f"workload: Poisson {w['rate_rps']:g} rps for {w['duration_s']:g} s simulated "
          f"(~{w['expected_requests']:,} requests), {w['pods']} pods x {w['workers_per_pod']} "
          f"workers, {w['service_time']}; best of {result['rounds']} interleaved round(s)")
    print()
    header = f"{'model':<53} {'requests':>9} {'best s':>8} {'requests/s':>11} {'x textbook':>11}"
    print(header)
    print("-" * len(header))
    for m in result["models"]:
        print(f"{m['label']:<53} {m['requests']:>9,} {m['seconds_best']:>8.3f} "
              f"{m['requests_per_s']:>11,.0f} {m['ratio_to_textbook']:>10.2f}x")
    print()
    for m in result["models"]:
        if "outcome" in m:
            rollout = ("" if m["rollout_duration_s"] is None
                       else f", rollout took {m['rollout_duration_s']:g} s")
            print(f"  {m['key']}: outcome {m['outcome']}{rollout}, peak {m['peak_pods']} pods, "
                  f"{m['completed']:,} ok, {m['failed']:,} failed")
    target = result["target_ratio"]
    verdicts = ", ".join(
        f"{m['key']} {m['ratio_to_textbook']:.2f}x "
        f"({'meets' if m['ratio_to_textbook'] >= target else 'below'})"
        for m in result["models"] if "outcome" in m
    )
    print(f"target: simdeploy >= {target:g}x textbook per request: {verdicts}")


def profile(models: list[Model], key: str, top: int) -> None:
    model = next((m for m in models if m.key == key), None)
    if model is None:
        raise SystemExit(f"--profile: unknown model {key!r} "
                         f"(known: {', '.join(m.key for m in models)})")
    model.run()  # warm-up (imports, pydantic, first allocations)
    profiler = cProfile.Profile()
    profiler.enable()
    model.run()
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Simulated requests per wall-second: simdeploy vs a textbook SimPy M/M/c.",
    )
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke-sized run: ~{QUICK_REQUESTS:,} requests, 1 round")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved repetitions, best kept (default 3, 1 with --quick)")
    parser.add_argument("--requests", type=int, default=None,
                        help=f"expected requests per run (default {FULL_REQUESTS:,})")
    parser.add_argument("--profile", metavar="MODEL", default=None,
                        help="instead: cProfile one run of MODEL (textbook, bare, steady, "
                             "rolling, canary), top functions by tottime")
    parser.add_argument("--top", type=int, default=25, help="rows of --profile output")
    args = parser.parse_args(argv)

    n_requests = args.requests or (QUICK_REQUESTS if args.quick else FULL_REQUESTS)
    rounds = args.rounds or (1 if args.quick else 3)
    models = build_models(n_requests)
    if args.profile:
        profile(models, args.profile, args.top)
        return 0
    measure(models, rounds)
    result = report(models, rounds, n_requests, args.quick)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
