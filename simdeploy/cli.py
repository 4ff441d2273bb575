"""The ``simdeploy`` command: validate, run, compare scenarios and write reports.

Exit codes: 0 on success, 2 on bad input (one line on stderr naming the file, the field and
the problem; no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import pandas as pd

from simdeploy.compare import compare, summary_by_strategy
from simdeploy.errors import ScenarioError
from simdeploy.scenario import load_scenario
from simdeploy.simulation import run

__all__ = ["main"]

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
    many.add_argument("--quiet", action="store_true", help="no progress bar")
    report = commands.add_parser("report", help="write an HTML report with figures and tables")
    report.add_argument("file", metavar="FILE")
    report.add_argument("--out", required=True, metavar="DIR", help="report folder to write")
    report.add_argument("--replications", type=int, default=1, help="runs per strategy")
    report.add_argument("--seed", type=int, help="first replication's seed (default: scenario's)")
    report.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


@contextmanager
def _progress(quiet: bool, total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar of ``total`` runs on a terminal's stderr; nothing when quiet or piped."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc="simulating", total=total, unit="run", file=sys.stderr, leave=False,
              mininterval=0) as bar:
        def update(done: int, steps: int) -> None:
            if bar.total != steps:
                bar.total = steps
            bar.update(done - bar.n)

        yield update


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def format_table(table: pd.DataFrame) -> str:
    """A readable per-strategy table (means over replications, outcome counts)."""
    return summary_by_strategy(table).to_string(index=False)


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
    runs = len(scenario.strategies) * args.replications
    with _progress(args.quiet or args.json, runs) as progress:
        table = compare(scenario, replications=args.replications, seed=seed, progress=progress)
    if args.json:
        records = [{k: _json_safe(v) for k, v in row.items()}
                   for row in table.to_dict(orient="records")]
        out.write(json.dumps(records, indent=2) + "\n")
        return
    reps = f", {args.replications} replications from seed {seed}" if args.replications > 1 \
        else f", seed {seed}"
    out.write(f"{scenario.name}: {scenario.deployment.replicas} replicas{reps}\n")
    out.write(format_table(table) + "\n")


def _report(args: argparse.Namespace, out: TextIO) -> None:
    from simdeploy.report import ReportPathError, check_out, write_report  # matplotlib: lazily

    scenario = load_scenario(args.file)
    if args.replications < 1:
        raise ScenarioError(args.file, "--replications", "must be >= 1")
    try:
        check_out(args.out)  # before simulating: fail fast, write nothing
    except ReportPathError as exc:
        raise ScenarioError(args.out, "--out", str(exc)) from None

    try:
        with _progress(args.quiet, len(scenario.strategies) * args.replications) as progress:
            folder = write_report(scenario, args.out, replications=args.replications,
                                  seed=args.seed, source=args.file, progress=progress)
    except OSError as exc:
        raise ScenarioError(args.out, None,
                            f"cannot write the report: {exc.strerror or exc}") from None
    out.write(f"{folder / 'report.html'}\n")


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
        elif args.command == "compare":
            _compare(args, out)
        else:
            _report(args, out)
    except ScenarioError as exc:
        sys.stderr.write(f"simdeploy: {exc}\n")
        return 2
    return 0
