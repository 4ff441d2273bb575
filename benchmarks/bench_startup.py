"""Wall time against replicas: start-up and whole rollouts must cost O(replicas), not O(replicas²).

Issue 6: start-up alone took 1.7 s at 1,000 replicas and 28 s at 10,000, because every pod
added at time 0 rebuilt the Service's endpoint pool, and every pod change made the progress
watcher and the controllers recount every pod. This benchmark times one ``simdeploy.run`` per
model and size, with little traffic (so that pods, not requests, are what is measured):

* ``startup``: the current version's pods put in place, Ready and in the view, then a short
  run in which nothing changes (the release comes after the last controller pass);
* ``rolling``: a whole RollingUpdate 25 %/25 %;
* ``blue-green``: a whole blue-green rollout (green at full size beside blue, switch, blue to 0);
* ``canary``: a whole weighted canary 25 % → 50 % → promote, the old stable scaled to 0.

Pods start with a lognormal container start time and endpoint changes propagate after a
uniform delay, so pods become Ready one at a time as in a real rollout (which is what makes a
per-change O(replicas) cost show up as O(replicas²) in all).

The figure of merit is the **marginal time per replica**: (time at n − time at a 10-replica
run of the same model) / (n − 10), which takes out the fixed cost of building a run and
collecting its frames. ``ratio`` divides it by the smallest size's: linear scaling keeps it
near 1 as the size grows, quadratic scaling multiplies it by the growth of n (×4 from 1,000 to
4,000). ``exponent`` is the slope of log(time) against log(n) from the previous size: 1 for
linear, 2 for quadratic.

What is left above linear at the largest sizes is CPython's cyclic garbage collector: its full
collections walk every live object, and a bigger heap misses the CPU caches more. ``--no-gc``
turns the collector off during the timed runs to show simdeploy's own work alone (the
simulator creates no garbage cycles that matter within one run).

Run ``python -m benchmarks.bench_startup`` (``--quick`` for a smoke-sized run, ``--sizes`` to
choose the sizes, ``--json`` for machine-readable output, ``--profile MODEL`` for a cProfile of
one run at the largest size).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import pstats
import sys
import time
from typing import Any

import simdeploy as sd
from benchmarks.bench_requests_per_second import versions

SIZES = (1_000, 4_000, 16_000)
QUICK_SIZES = (200, 800)
BASE_REPLICAS = 10
"""The size whose time is taken as the fixed cost of a run."""
MODELS = ("startup", "rolling", "blue-green", "canary")
SEED = 0
RATE_RPS = 20.0
"""Little traffic: about 20 requests per simulated second whatever the size."""
STARTUP_DURATION_S = 10.0
ROLLOUT_DURATION_S = 300.0
RELEASE_AT_S = 10.0
CONTROLLER_SYNC_S = 0.1


def scenario_mapping(model: str, replicas: int) -> dict[str, Any]:
    """The benchmark scenario for ``model`` at ``replicas``, as :func:`simdeploy.load_scenario`
    takes it."""
    version = {
        "serviceTime": {"type": "lognormal", "median": 0.08, "sigma": 0.5},
        "errorRate": 0.0,
        "containerStart": {"type": "lognormal", "median": 3.0, "sigma": 0.3},
        "warmup": 2.0,
    }
    rolling = {"type": "RollingUpdate", "maxSurge": "25%", "maxUnavailable": "25%"}
    strategies: dict[str, dict[str, Any]] = {
        "startup": rolling,
        "rolling": rolling,
        "blue-green": {"type": "BlueGreen", "scaleDownDelaySeconds": 30},
        "canary": {
            "type": "Canary",
            "trafficRouting": "weighted",
            "scaleDownDelaySeconds": 30,
            "steps": [
                {"setWeight": 25},
                {"pause": {"duration": 20}},
                {"setWeight": 50},
                {"pause": {"duration": 20}},
            ],
        },
    }
    if model not in strategies:
        raise ValueError(f"unknown model {model!r} (known: {', '.join(MODELS)})")
    if model == "startup":
        # released after the end of the controller's first sync delay: nothing ever changes
        duration = STARTUP_DURATION_S
        release_at = duration - CONTROLLER_SYNC_S / 2
    else:
        duration = ROLLOUT_DURATION_S
        release_at = RELEASE_AT_S
    return {
        "name": f"bench-startup-{model}-{replicas}",
        "description": "benchmark: wall time against replicas, little traffic",
        "seed": SEED,
        "duration": duration,
        "sampleInterval": 5.0,
        "deployment": {
            "replicas": replicas,
            "minReadySeconds": 0,
            "progressDeadlineSeconds": 600,
            "controllerSyncDelay": CONTROLLER_SYNC_S,
        },
        "pod": {
            "workers": 8,
            "queueLimit": 50,
            "requestTimeout": 10,
            "schedulingDelay": 0.5,
            "readinessProbe": {"initialDelaySeconds": 2, "periodSeconds": 2},
            "terminationGracePeriodSeconds": 30,
            "preStopSeconds": 2,
        },
        "service": {
            "policy": "round-robin",
            "endpointPropagationDelay": {"type": "uniform", "low": 0.5, "high": 2.0},
            "stickiness": "none",
        },
        "traffic": {"arrivals": {"type": "poisson", "rateRps": RATE_RPS}, "users": 10_000},
        "release": {
            "at": release_at,
            "current": {"name": "v1", **version},
            "new": {"name": "v2", **version},
        },
        "strategies": {model: strategies[model]},
    }


def timed_run(model: str, replicas: int, rounds: int, collect: bool = True) -> dict[str, Any]:
    """Best wall time of ``rounds`` runs of ``model`` at ``replicas``, and what the run did.

    ``collect=False`` disables the cyclic garbage collector during each timed run.
    """
    scenario = sd.load_scenario(scenario_mapping(model, replicas))
    best = math.inf
    summary: dict[str, Any] = {}
    for _ in range(rounds):
        gc.collect()
        if not collect:
            gc.disable()
        try:
            start = time.perf_counter()
            summary = sd.run(scenario, seed=SEED).summary
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    expected = "stalled" if model == "startup" else "completed"
    if summary["outcome"] != expected:
        raise RuntimeError(f"{model} at {replicas} replicas: outcome {summary['outcome']!r}, "
                           f"expected {expected!r}")
    return {
        "replicas": replicas,
        "seconds": best,
        "outcome": summary["outcome"],
        "peak_pods": int(summary["peak_pods"]),
        "requests": int(summary["requests_total"]),
    }


def measure(models: tuple[str, ...], sizes: tuple[int, ...], rounds: int,
            collect: bool = True) -> dict[str, Any]:
    """Every model at the base size and at every size; derived per-replica figures."""
    out = []
    for model in models:
        base = timed_run(model, BASE_REPLICAS, rounds, collect)
        rows = [timed_run(model, n, rounds, collect) for n in sizes]
        first = None
        previous = None
        for row in rows:
            n = row["replicas"]
            marginal = max(row["seconds"] - base["seconds"], 0.0) / (n - BASE_REPLICAS)
            row["us_per_replica"] = 1e6 * row["seconds"] / n
            row["marginal_us_per_replica"] = 1e6 * marginal
            if first is None:
                first = marginal
            row["ratio"] = marginal / first if first > 0 else None  # None: lost in noise
            row["exponent"] = (
                math.log(row["seconds"] / previous["seconds"])
                / math.log(n / previous["replicas"])
                if previous is not None else None
            )
            previous = row
        out.append({"model": model, "base": base, "sizes": rows})
    return {
        "benchmark": "startup_scaling",
        "rounds": rounds,
        "gc": collect,
        "base_replicas": BASE_REPLICAS,
        "traffic_rps": RATE_RPS,
        "versions": versions(),
        "models": out,
    }


def print_table(result: dict[str, Any]) -> None:
    v = result["versions"]
    print("simdeploy benchmark: wall time against replicas (start-up and whole rollouts)")
    print(f"Python {v['python']} ({v['implementation']}, {v['machine']}), numpy {v['numpy']}, "
          f"simpy {v['simpy']}, simdeploy {v['simdeploy']}; best of {result['rounds']} "
          f"round(s); {result['traffic_rps']:g} requests/s"
          f"{'' if result['gc'] else '; cyclic GC off'}")
    print()
    header = (f"{'model':<11} {'replicas':>9} {'seconds':>9} {'us/replica':>11} "
              f"{'marginal us':>12} {'ratio':>7} {'exponent':>9}")
    print(header)
    print("-" * len(header))
    for m in result["models"]:
        base = m["base"]
        print(f"{m['model']:<11} {base['replicas']:>9,} {base['seconds']:>9.3f} "
              f"{'(fixed cost of a run)':>41}")
        for row in m["sizes"]:
            exponent = "" if row["exponent"] is None else f"{row['exponent']:.2f}"
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
            print(f"{'':<11} {row['replicas']:>9,} {row['seconds']:>9.3f} "
                  f"{row['us_per_replica']:>11.1f} {row['marginal_us_per_replica']:>12.1f} "
                  f"{ratio:>7} {exponent:>9}")
    print()
    print("linear: ratio stays near 1 and exponent near 1; quadratic: ratio grows with n, "
          "exponent near 2")


def profile(model: str, replicas: int, top: int) -> None:
    scenario = sd.load_scenario(scenario_mapping(model, replicas))
    profiler = cProfile.Profile()
    profiler.enable()
    sd.run(scenario, seed=SEED)
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_startup",
        description="Wall time of start-up and of whole rollouts against replicas.",
    )
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke-sized run: {', '.join(map(str, QUICK_SIZES))} replicas")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                        default=None,
                        help=f"replicas, comma-separated (default "
                             f"{','.join(map(str, SIZES))})")
    parser.add_argument("--models", type=lambda s: tuple(s.split(",")), default=MODELS,
                        help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--rounds", type=int, default=1, help="runs per point, best kept")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-gc", action="store_true",
                        help="disable the cyclic garbage collector during the timed runs")
    parser.add_argument("--profile", metavar="MODEL", default=None,
                        help="instead: cProfile one run of MODEL at the largest size")
    parser.add_argument("--top", type=int, default=25, help="rows of --profile output")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    if min(sizes) <= BASE_REPLICAS:
        parser.error(f"--sizes: every size must be above {BASE_REPLICAS}")
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"--models: unknown {', '.join(sorted(unknown))}")
    if args.profile:
        profile(args.profile, max(sizes), args.top)
        return 0
    result = measure(tuple(args.models), tuple(sorted(sizes)), args.rounds,
                     collect=not args.no_gc)
    result["quick"] = args.quick
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
