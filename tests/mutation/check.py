"""Which deliberate bugs does the suite catch? ``python tests/mutation/check.py``.

Each mutant is one small, plausible bug in the model: a line of simdeploy replaced by a wrong
one. For each, the script copies the package and the tests into a temporary folder, applies
the bug there (never to the working tree), runs the test files that should notice it, and
reports ``killed`` (a test failed) or ``SURVIVED``. A survivor is a behaviour no test pins.

Options: ``--only NAME`` (repeatable), ``--all-tests`` (run the whole suite for each mutant:
slow), ``--repo PATH`` (check another checkout, e.g. an older commit's worktree, to compare),
``--jobs N``. It takes a few minutes on two cores, so it is not part of the default CI run.
When the model grows, add the bugs its new behaviour could have to ``MUTANTS``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: in ``file``, ``before`` (which must occur once) becomes ``after``."""

    name: str
    file: str
    before: str
    after: str
    tests: tuple[str, ...]
    """The test files that should catch it (those missing from a checkout are left out)."""


_GATE_TESTS = ("tests/test_gate.py", "tests/test_strategies.py", "tests/test_invariants.py")
_ANALYSIS_TESTS = ("tests/test_analysis_run.py", "tests/test_kayenta_sim.py")
_ROUTING_TESTS = ("tests/test_routing.py", "tests/test_strategies.py",
                  "tests/test_invariants.py")

MUTANTS = (
    Mutant("gate: > becomes >=", "simdeploy/analysis.py",
           "failed / requests > gate.max_error_rate", "failed / requests >= gate.max_error_rate",
           _GATE_TESTS),
    Mutant("gate: threshold doubled", "simdeploy/analysis.py",
           "failed / requests > gate.max_error_rate",
           "failed / requests > 2 * gate.max_error_rate", _GATE_TESTS),
    Mutant("gate: ignores minRequests", "simdeploy/analysis.py",
           "if requests >= gate.min_requests and failed / requests >",
           "if requests and failed / requests >", _GATE_TESTS),
    Mutant("gate: window from the start, not sliding", "simdeploy/analysis.py",
           "new_version_window(env.now - gate.window,", "new_version_window(self._started_s,",
           _GATE_TESTS),
    Mutant("stickiness never records the version", "simdeploy/routing.py",
           "            self._user_version[user] = pod.version", "            pass",
           _ROUTING_TESTS),
    Mutant("sticky user kept on a version no longer routed", "simdeploy/routing.py",
           "if kept >= 0 and self.view[kept] and kept in self._routed:",
           "if kept >= 0 and self.view[kept]:", _ROUTING_TESTS),
    Mutant("least-request picks the busier pod", "simdeploy/routing.py",
           "a.busy + len(a.queue) <= b.busy + len(b.queue)",
           "a.busy + len(a.queue) >= b.busy + len(b.queue)", _ROUTING_TESTS),
    Mutant("least-request ignores the queue", "simdeploy/routing.py",
           "a.busy + len(a.queue) <= b.busy + len(b.queue)", "a.busy <= b.busy",
           _ROUTING_TESTS),
    Mutant("router weights ignored (share follows pods)", "simdeploy/routing.py",
           "version = self.canary_version if draw * 100.0 < w else self.stable_version",
           "c, s = len(self.view[self.canary_version]), len(self.view[self.stable_version])\n"
           "            version = (self.canary_version if draw * (c + s) < c\n"
           "                       else self.stable_version)", _ROUTING_TESTS),
    Mutant("service time doubled", "simdeploy/traffic.py",
           "Timeout(self.env, self._service_time[pod.version].next(), (pod, req))",
           "Timeout(self.env, 2 * self._service_time[pod.version].next(), (pod, req))",
           ("tests/test_analytic.py", "tests/test_invariants.py")),
    Mutant("percent surge rounded +1", "simdeploy/rules/kubernetes.py",
           "return math.ceil(scaled) if round_up else math.floor(scaled)",
           "return math.ceil(scaled) + 1 if round_up else math.floor(scaled)",
           ("tests/test_invariants.py", "tests/test_strategies.py")),
    Mutant("SIGKILL leaves requests in flight", "simdeploy/cluster.py",
           "            self.workload.kill(pod)\n        self._exit(pod)",
           "            pass\n        self._exit(pod)",
           ("tests/test_invariants.py", "tests/test_cluster.py", "tests/test_analytic.py")),
    Mutant("booleans taken as numbers", "simdeploy/distributions.py",
           "        strict=True,", "        strict=False,",
           ("tests/test_bad_input.py", "tests/test_fuzz.py")),
    Mutant("no run-size limit", "simdeploy/budget.py",
           "    if over:\n", "    if False:\n",
           ("tests/test_budget.py", "tests/test_fuzz.py")),
    Mutant("a re-run deletes the user's files", "simdeploy/report_folder.py",
           "            if relative in ours:\n                continue",
           "            continue", ("tests/test_report.py", "tests/test_report_folder.py")),
    Mutant("capacity counted with Pending pods", "simdeploy/compare.py",
           '    "peak_pods_scheduled": "peak pods",', '    "peak_pods": "peak pods",',
           ("tests/test_cli.py", "tests/test_pending.py", "tests/test_report.py",
            "tests/test_cli_conventions.py")),
    # issue 8: analysis
    Mutant("argo: failureLimit counted with >=", "simdeploy/rules/argo_analysis.py",
           'if failure_limit >= 0 and c["failed"] > failure_limit:',
           'if failure_limit >= 0 and c["failed"] >= failure_limit:',
           ("tests/test_rules_argo_analysis.py", "tests/test_analysis_run.py")),
    Mutant("argo: no data is a success, not an Error", "simdeploy/measurements.py",
           "        if requests == 0:\n            return []",
           "        if requests == 0:\n            return [1.0]", _ANALYSIS_TESTS),
    Mutant("argo: first measurement one interval late", "simdeploy/analysis_run.py",
           "yield env.timeout(first_measurement_delay(spec))",
           "yield env.timeout(first_measurement_delay(spec) + (metric.interval or 0))",
           _ANALYSIS_TESTS),
    Mutant("flagger: rollback one check late", "simdeploy/rules/flagger.py",
           "    return failed_checks >= analysis_threshold(analysis)",
           "    return failed_checks > analysis_threshold(analysis)",
           ("tests/test_rules_flagger.py", "tests/test_flagger.py")),
    Mutant("kayenta: tolerance band not scaled by the estimate", "simdeploy/rules/kayenta.py",
           "band = tolerance * abs(interval.estimate)", "band = tolerance",
           ("tests/test_rules_kayenta.py", "tests/test_kayenta_sim.py")),
)


def _copy(repo: Path, into: Path) -> None:
    for name in ("simdeploy", "tests"):
        shutil.copytree(repo / name, into / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo / name, into / name)
    for name in ("scenarios", "docs", "notebooks", "benchmarks", ".ci"):
        if (repo / name).is_symlink():
            (into / name).symlink_to(os.readlink(repo / name))
        elif (repo / name).is_dir():
            shutil.copytree(repo / name, into / name, symlinks=True)


def _run(mutant: Mutant, repo: Path, all_tests: bool) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="simdeploy-mutant-") as tmp:
        copy = Path(tmp)
        _copy(repo, copy)
        target = copy / mutant.file
        text = target.read_text(encoding="utf-8")
        if text.count(mutant.before) != 1:
            return "STALE", f"the line to mutate occurs {text.count(mutant.before)} times"
        target.write_text(text.replace(mutant.before, mutant.after), encoding="utf-8")
        tests = ["tests"] if all_tests else [t for t in mutant.tests if (copy / t).exists()]
        if not tests:
            return "SURVIVED", "(no test file)"
        env = dict(os.environ, PYTHONPATH=str(copy), HYPOTHESIS_PROFILE="ci")
        env.pop("CI", None)
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                               "no:cacheprovider", *tests], cwd=copy, env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return "SURVIVED", ", ".join(tests)
        failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, flags=re.MULTILINE)
        return "killed", failed[0] if failed else f"pytest exit {done.returncode}"


def main(argv: list[str] | None = None) -> int:
    """Run the mutants and print the table; exit 1 if any survived."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="mutants whose name contains NAME")
    parser.add_argument("--all-tests", action="store_true", help="run every test file")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to mutate")
    parser.add_argument("--jobs", type=int, default=2, help="mutants at once")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.only or any(o in m.name for o in args.only)]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda m: _run(m, args.repo.resolve(), args.all_tests),
                                chosen))
    width = max(len(m.name) for m in chosen)
    sys.stdout.write(f"{'mutant':<{width}}  status    caught by\n")
    for mutant, (status, detail) in zip(chosen, results):
        sys.stdout.write(f"{mutant.name:<{width}}  {status:<8}  {detail}\n")
    survived = sum(status != "killed" for status, _ in results)
    sys.stdout.write(f"{len(chosen) - survived} of {len(chosen)} killed\n")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
