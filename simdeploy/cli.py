"""The simdeploy command: validate, run and compare scenarios, write reports.

Exit codes: 0 on success; 2 on bad input (one line on stderr naming the file, the field and
the problem, no traceback); 130 when interrupted (Ctrl-C) and 143 when terminated (SIGTERM),
after removing anything half-written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from simdeploy.errors import ScenarioError

__all__ = ["main"]

_DESCRIPTION = ("Simulate Kubernetes deployment strategies: downtime, extra capacity and "
                "error exposure of a release, offline.")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: clean up what is half-written, then exit 143."""


class _Formatter(argparse.HelpFormatter):
    """Help that shows each option's default, when it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text
                and action.option_strings):
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        """A usage error is bad input too: one line, exit 2."""
        where = self.prog.partition(" ")[2]
        head = f"simdeploy: {where}: " if where else "simdeploy: "
        self.exit(2, f"{head}{message} (see '{self.prog} --help')\n")


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


_positive = _whole_number(1)
_seed = _whole_number(0)


def _parser() -> argparse.ArgumentParser:
    from simdeploy import __version__

    parser = _Parser(prog="simdeploy", description=_DESCRIPTION, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"simdeploy {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                     metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, formatter_class=_Formatter)

    def add_force(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--force", action="store_true",
                         help="run a scenario beyond the size limits (see the README)")

    validate = command("validate", "check scenario files: one line per file")
    validate.add_argument("files", nargs="+", metavar="FILE")
    add_force(validate)
    one = command("run", "simulate one strategy and print every summary number")
    one.add_argument("file", metavar="FILE")
    one.add_argument("--strategy", help="strategy name in the scenario (default: the first)")
    one.add_argument("--seed", type=_seed, help="seed (default: the scenario's)")
    one.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_force(one)
    many = command("compare", "simulate every strategy side by side")
    many.add_argument("file", metavar="FILE")
    many.add_argument("--replications", type=_positive, default=1, help="runs per strategy")
    many.add_argument("--seed", type=_seed, help="first replication's seed (default: the "
                                                 "scenario's)")
    many.add_argument("--json", action="store_true", help="print every run's summary as JSON")
    many.add_argument("--quiet", action="store_true", help="no progress bar")
    add_force(many)
    report = command("report", "write a report folder: HTML page, tables, figures")
    report.add_argument("file", metavar="FILE")
    report.add_argument("--out", required=True, metavar="DIR", help="report folder to write")
    report.add_argument("--replications", type=_positive, default=1, help="runs per strategy")
    report.add_argument("--seed", type=_seed, help="first replication's seed (default: the "
                                                   "scenario's)")
    report.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="format of the timeline table (parquet needs pyarrow)")
    report.add_argument("--quiet", action="store_true", help="no progress bar")
    add_force(report)
    examples = command("scenarios", "list the shipped scenarios, or copy them into a folder")
    examples.add_argument("action", nargs="?", choices=("list", "copy"), default="list",
                          help="what to do")
    examples.add_argument("folder", nargs="?", metavar="DIR", help="where 'copy' writes them")
    command("schema", "print the JSON schema of scenario files")
    return parser


@contextmanager
def _progress(quiet: bool, total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar of ``total`` steps on a terminal's stderr; nothing when quiet or piped."""
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
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _load(file: str, force: bool):
    """The validated scenario of ``file``, refused if a run of it would be too large."""
    from simdeploy.budget import check_run_size
    from simdeploy.scenario import load_scenario

    scenario = load_scenario(file)
    check_run_size(scenario, file, force=force)
    return scenario


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    failed = 0
    for file in args.files:
        try:
            scenario = _load(file, args.force)
        except ScenarioError as exc:
            sys.stderr.write(f"simdeploy: {exc}\n")
            failed += 1
            continue
        out.write(f"{file}: ok ({scenario.name}, strategies: "
                  f"{', '.join(scenario.strategies)})\n")
    return 2 if failed else 0


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from simdeploy.simulation import run

    scenario = _load(args.file, args.force)
    if args.strategy is not None and args.strategy not in scenario.strategies:
        known = ", ".join(scenario.strategies)
        raise ScenarioError(args.file, "--strategy",
                            f"no strategy {args.strategy!r} (known: {known})")
    result = run(scenario, args.strategy, args.seed, force=True)
    if args.json:
        summary = {k: _json_safe(v) for k, v in result.summary.items()}
        out.write(json.dumps({"scenario": scenario.name, "strategy": result.strategy,
                              "seed": result.seed, **summary}, indent=2) + "\n")
        return 0
    out.write(f"{scenario.name}: {result.strategy} (seed {result.seed})\n")
    for key, value in result.summary.items():
        out.write(f"  {key:<28} {value}\n")
    return 0


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    from simdeploy.budget import check_batch_size
    from simdeploy.compare import compare, summary_by_strategy

    scenario = _load(args.file, args.force)
    seed = scenario.seed if args.seed is None else args.seed
    runs = len(scenario.strategies) * args.replications
    check_batch_size(scenario, runs, args.file, force=args.force)
    with _progress(args.quiet or args.json, runs) as progress:
        table = compare(scenario, replications=args.replications, seed=seed, progress=progress,
                        force=True)
    if args.json:
        records = [{k: _json_safe(v) for k, v in row.items()}
                   for row in table.to_dict(orient="records")]
        out.write(json.dumps({"scenario": scenario.name, "seed": seed,
                              "replications": args.replications, "runs": records},
                             indent=2) + "\n")
        return 0
    reps = (f", {args.replications} replications from seed {seed}" if args.replications > 1
            else f", seed {seed}")
    out.write(f"{scenario.name}: {scenario.deployment.replicas} replicas{reps}\n")
    out.write(summary_by_strategy(table).to_string(index=False) + "\n")
    return 0


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from simdeploy.report import (  # matplotlib: only when a report is asked for
        ReportPathError,
        check_out,
        planned_files,
        report_steps,
        write_report,
    )
    from simdeploy.report_folder import clean_stale

    def notice(text: str) -> None:
        sys.stderr.write(f"simdeploy: {text}\n")

    from simdeploy.budget import check_batch_size

    scenario = _load(args.file, args.force)
    check_batch_size(scenario, len(scenario.strategies) * args.replications, args.file,
                     force=args.force, keep_timelines=True)
    if args.format == "parquet":
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise ScenarioError(args.out, "--format", "parquet needs pyarrow "
                                "(pip install pyarrow), or use --format csv")
    try:
        clean_stale(args.out, notice)
        check_out(args.out, planned_files(scenario, args.format))  # before simulating
    except ReportPathError as exc:
        raise ScenarioError(args.out, "--out", str(exc)) from None
    except OSError as exc:
        raise ScenarioError(args.out, "--out", exc.strerror or str(exc)) from None
    try:
        steps = report_steps(scenario, args.replications)
        with _progress(args.quiet, steps) as progress:
            folder = write_report(scenario, args.out, replications=args.replications,
                                  seed=args.seed, source=args.file, progress=progress,
                                  timeline_format=args.format, force=True, notice=notice)
    except ReportPathError as exc:
        raise ScenarioError(args.out, "--out", str(exc)) from None
    except OSError as exc:
        raise ScenarioError(args.out, None,
                            f"cannot write the report: {exc.strerror or exc}") from None
    out.write(f"{folder / 'report.html'}\n")
    return 0


def _scenarios(args: argparse.Namespace, out: TextIO) -> int:
    from simdeploy.examples import copy_scenarios, describe, shipped_scenarios

    if args.action == "list":
        if args.folder is not None:
            raise ScenarioError("scenarios", None, "'list' takes no folder")
        for file in shipped_scenarios():
            out.write(f"{file.name:<22} {describe(file)}\n")
        return 0
    if args.folder is None:
        raise ScenarioError("scenarios copy", None, "name the folder to copy them into")
    try:
        written = copy_scenarios(Path(args.folder))
    except FileExistsError as exc:
        raise ScenarioError(str(exc), None, "already exists: nothing copied") from None
    except OSError as exc:
        raise ScenarioError(args.folder, None, exc.strerror or str(exc)) from None
    for path in written:
        out.write(f"{path}\n")
    return 0


def _schema(_args: argparse.Namespace, out: TextIO) -> int:
    from simdeploy.scenario import Scenario

    out.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")
    return 0


_COMMANDS = {"validate": _validate, "run": _run, "compare": _compare, "report": _report,
             "scenarios": _scenarios, "schema": _schema}


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        args = _parser().parse_args(argv)
        return _COMMANDS[args.command](args, sys.stdout)
    except ScenarioError as exc:
        sys.stderr.write(f"simdeploy: {exc}\n")
        return 2
    except MemoryError:
        sys.stderr.write("simdeploy: out of memory: the run is larger than this machine "
                         "can hold (see the README's size limits)\n")
        return 2
    except _Terminated:
        sys.stderr.write("simdeploy: terminated\n")
        return 143
    except KeyboardInterrupt:
        sys.stderr.write("simdeploy: interrupted\n")
        return 130
    except BrokenPipeError:  # `simdeploy compare ... | head`: the reader has had enough
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
