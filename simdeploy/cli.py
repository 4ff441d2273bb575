"""The ``simdeploy`` command: validate, run and compare scenarios.

Exit codes: 0 on success, 2 on bad input (one line on stderr naming the file, the field and
the problem; no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import pandas as pd

from simdeploy.compare import compare
from simdeploy.errors import ScenarioError
from simdeploy.scenario import load_scenario
from simdeploy.simulation import run

__all__ = ["main"]

TABLE_COLUMNS = {
    "outcome": "outcome",
    "downtime_s": "downtime s",
    "requests_failed": "failed req",
    "error_rate": "error %",
    "users_exposed_new": "users on new",
    "users_with_errors": "users w/ errors",
    "peak_pods": "peak pods",
    "extra_pod_seconds": "extra pod·s",
    "rollout_duration_s": "rollout s",
    "latency_p99_ms": "p99 ms",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's usage errors are bad input too
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="simdeploy", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    validate = commands.add_parser("validate", help="check scenario files")
    validate.add_argument("files", nargs="+", metavar="FILE")
    one = commands.add_parser("run", help="simulate one strategy")
    one.add_argument("file", metavar="FILE")
    one.add_argument("--strategy", help="strategy name in the scenario (default: the first)")
    one.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    one.add_argument("--json", action="store_true", help="print the summary as JSON")
    many = commands.add_parser("compare", help="simulate every strategy side by side")
    many.add_argument("file", metavar="FILE")
    many.add_argument("--replications", type=int, default=1, help="runs per strategy")
    many.add_argument("--seed", type=int, help="first replication's seed (default: scenario's)")
    many.add_argument("--json", action="store_true", help="print every run's summary as JSON")
    return parser


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def format_table(table: pd.DataFrame) -> str:
    """A readable per-strategy table (means over replications, outcome counts)."""
    rows = []
    for name, group in table.groupby("strategy", sort=False):
        row: dict[str, Any] = {"strategy": name}
        for key, label in TABLE_COLUMNS.items():
            if key == "outcome":
                counts = group["outcome"].value_counts()
                row[label] = ", ".join(
                    f"{k}" if len(group) == 1 else f"{k}×{v}" for k, v in counts.items()
                )
            elif key == "error_rate":
                row[label] = round(100 * group[key].mean(), 3)
            else:
                row[label] = round(float(group[key].mean()), 1)
        rows.append(row)
    return pd.DataFrame(rows).to_string(index=False)


def _run(args: argparse.Namespace, out: TextIO) -> None:
    scenario = load_scenario(args.file)
    if args.strategy is not None and args.strategy not in scenario.strategies:
        known = ", ".join(scenario.strategies)
        raise ScenarioError(args.file, "--strategy",
                            f"no strategy {args.strategy!r} (known: {known})")
    result = run(scenario, args.strategy, args.seed)
    if args.json:
        summary = {k: _json_safe(v) for k, v in result.summary.items()}
        out.write(json.dumps({"strategy": result.strategy, "seed": result.seed, **summary},
                             indent=2) + "\n")
        return
    out.write(f"{scenario.name}: {result.strategy} (seed {result.seed})\n")
    for key, value in result.summary.items():
        out.write(f"  {key:<22} {value}\n")


def _compare(args: argparse.Namespace, out: TextIO) -> None:
    scenario = load_scenario(args.file)
    if args.replications < 1:
        raise ScenarioError(args.file, "--replications", "must be >= 1")
    seed = scenario.seed if args.seed is None else args.seed
    table = compare(scenario, replications=args.replications, seed=seed)
    if args.json:
        records = [{k: _json_safe(v) for k, v in row.items()}
                   for row in table.to_dict(orient="records")]
        out.write(json.dumps(records, indent=2) + "\n")
        return
    reps = f", {args.replications} replications from seed {seed}" if args.replications > 1 \
        else f", seed {seed}"
    out.write(f"{scenario.name}: {scenario.deployment.replicas} replicas{reps}\n")
    out.write(format_table(table) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    out = sys.stdout
    try:
        if getattr(args, "seed", None) is not None and args.seed < 0:
            raise ScenarioError(getattr(args, "file", ""), "--seed", "must be >= 0")
        if args.command == "validate":
            for file in args.files:
                scenario = load_scenario(file)
                out.write(f"{file}: ok ({scenario.name}, strategies: "
                          f"{', '.join(scenario.strategies)})\n")
        elif args.command == "run":
            _run(args, out)
        else:
            _compare(args, out)
    except ScenarioError as exc:
        sys.stderr.write(f"simdeploy: {exc}\n")
        return 2
    return 0
