"""What a decision-grade answer costs: a full comparison serial vs on two workers, and the
peak memory of one run against its simulated duration.

```
python -m benchmarks.bench_decision            # 4 strategies × 20 replications of a 30-minute
                                               # 200 rps web-api, --jobs 1 and 2; memory at
                                               # 10, 40 and 160 simulated minutes (~8 min)
python -m benchmarks.bench_decision --quick    # 4 × 2 replications of 5 minutes; 5/20/80 min
```

Both measurements are ratios taken in one run (the machine is shared and noisy): the parallel
speed-up is serial time / pooled time of the same table, and memory growth is the peak RSS of
a run at 4× and 16× the duration over the peak at 1×, each run in a fresh interpreter so
peaks do not mix.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import simdeploy as sd

ROOT = Path(__file__).resolve().parents[1]

_MEMORY_PROBE = """
import resource, sys
import simdeploy as sd
base = sd.load_scenario(sys.argv[1]).model_dump(by_alias=True, mode="json")
base.update(duration=float(sys.argv[2]) * 60,
            traffic={"arrivals": {"type": "poisson", "rateRps": 200}, "users": 20000})
result = sd.run(sd.load_scenario(base), "rolling", force=True)
# VmHWM is this program's own peak; ru_maxrss keeps the peak of the parent it was forked from
# (Linux carries it across exec), which after a comparison is the parent's, not the run's
try:
    status = open("/proc/self/status").read()
    kib = int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")))
except (OSError, StopIteration):
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(result.summary["requests_total"], kib)
"""


def _web_api(minutes: float) -> sd.Scenario:
    base = sd.load_scenario(ROOT / "scenarios" / "web-api.yaml").model_dump(by_alias=True,
                                                                            mode="json")
    base.update(duration=minutes * 60,
                traffic={"arrivals": {"type": "poisson", "rateRps": 200}, "users": 20000})
    return sd.load_scenario(base)


def comparison_cost(minutes: float, replications: int) -> dict[str, float]:
    """Wall seconds of the same comparison with one and two worker processes."""
    scenario = _web_api(minutes)
    out: dict[str, float] = {}
    tables = {}
    for jobs in (1, 2):
        start = time.perf_counter()
        tables[jobs] = sd.compare(scenario, replications=replications, jobs=jobs)
        out[f"jobs_{jobs}_s"] = time.perf_counter() - start
    same = tables[1].equals(tables[2])
    out["speed_up"] = out["jobs_1_s"] / out["jobs_2_s"]
    out["runs"] = float(len(tables[1]))
    out["identical_tables"] = float(same)
    return out


def memory_growth(minutes: list[float]) -> list[dict[str, float]]:
    """Peak RSS (MiB) of one run per simulated duration, each in a fresh interpreter."""
    rows = []
    for m in minutes:
        done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE,
                               str(ROOT / "scenarios" / "web-api.yaml"), str(m)],
                              capture_output=True, text=True, check=True)
        requests, kib = done.stdout.split()
        rows.append({"minutes": m, "requests": float(requests), "peak_mib": int(kib) / 1024})
    for row in rows:
        row["x_first"] = row["peak_mib"] / rows[0]["peak_mib"]
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print both measurements (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small version (seconds)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    minutes, replications = (5.0, 2) if args.quick else (30.0, 20)
    durations = [5.0, 20.0, 80.0] if args.quick else [10.0, 40.0, 160.0]
    cost = comparison_cost(minutes, replications)
    memory = memory_growth(durations)
    if args.json:
        print(json.dumps({"comparison": cost, "memory": memory}, indent=2))
        return 0
    print(f"comparison: {cost['runs']:.0f} runs of a {minutes:g}-minute 200 rps web-api: "
          f"--jobs 1 {cost['jobs_1_s']:.1f} s, --jobs 2 {cost['jobs_2_s']:.1f} s, "
          f"speed-up {cost['speed_up']:.2f}x, identical tables: {bool(cost['identical_tables'])}")
    for row in memory:
        print(f"memory: {row['minutes']:>5g} simulated min, {row['requests']:>10,.0f} requests, "
              f"peak {row['peak_mib']:.1f} MiB ({row['x_first']:.2f}x the shortest)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
