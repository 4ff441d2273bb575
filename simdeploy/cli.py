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
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from simdeploy.errors import ScenarioError, shown

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


def _whole_number(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number between ``minimum`` and ``maximum``."""
    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 30 else None
        except ValueError:
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {shown(text)}")
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum} and {maximum:,}, "
                                             f"got {value}")
        return value

    return parse


_positive = _whole_number(1, 10**9)
_seed = _whole_number(0, 2**64 - 1)


def _cores() -> int:
    from simdeploy.execution import available_cores

    return available_cores()


def _setting(text: str) -> tuple[str, list[Any]]:
    """An argparse type: ``PATH=V1,V2,...``, each value read as a YAML scalar.

    ``0``, ``2.5``, ``1e3``, ``25%``, ``5s``, ``true``, ``null`` read as they would in a
    scenario file.
    """
    import yaml

    from simdeploy.errors import shown
    from simdeploy.scenario_file import _StrictLoader

    path, equals, listed = text.partition("=")
    path = path.strip()
    if not equals or not path:
        raise argparse.ArgumentTypeError(f"expected PATH=V1,V2,..., got {shown(text)}")
    values = []
    for item in listed.split(","):
        item = item.strip()
        if not item:
            raise argparse.ArgumentTypeError(f"{path}: an empty value in {shown(listed)}")
        try:
            value = yaml.load(item, Loader=_StrictLoader)
        except yaml.YAMLError:
            raise argparse.ArgumentTypeError(f"{path}: cannot read the value {shown(item)}"
                                             ) from None
        if isinstance(value, (list, dict)):
            raise argparse.ArgumentTypeError(f"{path}: {shown(item)} is not a single value "
                                             "(a number, text, true/false or null)")
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{path}: {shown(item)} is not a finite number")
        values.append(value)
    return path, values


def _level(text: str) -> float:
    """An argparse type: a confidence level strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.95, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (0.95 is 95 %), got {text}")
    return value


def _target(text: str) -> tuple[str, float]:
    """An argparse type: ``METRIC=HALF_WIDTH``, a numeric summary key and a positive number."""
    from simdeploy.statistics import METRICS

    metric, equals, number = text.partition("=")
    metric = metric.strip()
    if not equals:
        raise argparse.ArgumentTypeError(f"expected METRIC=HALF_WIDTH, got {text!r}")
    if metric not in METRICS:
        raise argparse.ArgumentTypeError(f"no numeric summary metric {metric!r} "
                                         f"(e.g. users_with_errors, requests_failed, "
                                         f"extra_scheduled_pod_seconds)")
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the half-width of {metric} must be a number, "
                                         f"got {number!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"the half-width of {metric} must be > 0, got {number}")
    return metric, value


def _add_statistics(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--level", type=_level, default=0.95,
                     help="confidence level of the intervals and of the paired differences")
    sub.add_argument("--baseline", metavar="NAME",
                     help="strategy the others are compared with, seed by seed (default: the "
                          "first)")


def _add_vary(sub: argparse.ArgumentParser, prefix: str = "") -> None:
    sub.add_argument("--vary", type=_setting, action="append", metavar="PATH=V1,V2,...",
                     help=f"{prefix}one knob to vary: a field path in the file's spelling and "
                          "its values, e.g. traffic.arrivals.rateRps=50,200,500 (one knob at a "
                          "time)")


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

    def add_engine(sub: argparse.ArgumentParser) -> None:
        where = sub.add_mutually_exclusive_group()
        where.add_argument("--jobs", type=_positive, metavar="N",
                           help="worker processes (default: the cores available, "
                                f"{_cores()} here; a batch of a second or two runs in this "
                                "process); the answers do not depend on it")
        where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                           help="run on this Dask distributed scheduler's workers (pip "
                                "install 'simdeploy[dask]'; the same simdeploy on every worker)")

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
    many.add_argument("--replications", type=_positive,
                      help="runs per strategy (default: 1); with --target, the first round "
                           "(default: 5)")
    many.add_argument("--seed", type=_seed, help="first replication's seed (default: the "
                                                 "scenario's)")
    many.add_argument("--json", action="store_true", help="print every run's summary as JSON")
    many.add_argument("--quiet", action="store_true",
                      help="no progress bar, and no warning about few replications")
    _add_statistics(many)
    many.add_argument("--target", type=_target, action="append", metavar="METRIC=HALF_WIDTH",
                      help="add replications until this metric's interval half-width is below "
                           "HALF_WIDTH for every strategy (repeatable)")
    many.add_argument("--max-replications", type=_positive, metavar="N",
                      help="with --target: stop at N replications per strategy, met or not "
                           "(default: 100)")
    add_engine(many)
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
    report.add_argument("--set", type=_setting, action="append", metavar="PATH=V1,V2,...",
                        dest="settings",
                        help="also sweep this field path over these values (as simdeploy "
                             "sweep does) and add a Sweep section; repeatable")
    report.add_argument("--detect", metavar="STRATEGY",
                        help="also study how often STRATEGY aborts the bad release and a good "
                             "one (as simdeploy detect does) and add a Detection section")
    report.add_argument("--runs", type=_positive, metavar="N",
                        help="with --detect: runs per knob value and release (default: 100)")
    _add_vary(report, "with --detect: ")
    _add_statistics(report)
    add_engine(report)
    add_force(report)
    grid = command("sweep", "simulate every strategy over a grid of scenario changes")
    grid.add_argument("file", metavar="FILE")
    grid.add_argument("--set", type=_setting, action="append", required=True,
                      metavar="PATH=V1,V2,...", dest="settings",
                      help="a field path in the file's spelling and the values to try, e.g. "
                           "pod.preStopSeconds=0,2,5 or strategies.rolling.maxSurge=25%%,50%% "
                           "(repeatable: every combination is run)")
    grid.add_argument("--replications", type=_positive, default=1,
                      help="runs per variant and strategy")
    grid.add_argument("--seed", type=_seed, help="first replication's seed (default: the "
                                                 "scenario's)")
    grid.add_argument("--out", metavar="DIR",
                      help="sweep folder: each finished run is saved there at once, then "
                           "sweep.csv and figures")
    grid.add_argument("--resume", action="store_true",
                      help="with --out: continue the sweep saved there, making only the "
                           "missing runs")
    grid.add_argument("--json", action="store_true", help="print every run's row as JSON")
    grid.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine(grid)
    add_force(grid)
    study = command("detect", "how often a strategy aborts a bad release, and a good one "
                              "(a detection study)")
    study.add_argument("file", metavar="FILE")
    study.add_argument("--strategy", required=True, metavar="NAME",
                       help="the strategy to study, by its name in the scenario")
    study.add_argument("--runs", type=_positive, default=100,
                       help="runs per knob value and release (bad, good)")
    _add_vary(study)
    study.add_argument("--seed", type=_seed, help="first run's seed (default: the scenario's)")
    study.add_argument("--level", type=_level, default=0.95,
                       help="confidence level of the Wilson intervals")
    study.add_argument("--json", action="store_true",
                       help="print the table's rows and the findings as JSON")
    study.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine(study)
    add_force(study)
    examples = command("scenarios", "list the shipped scenarios, or copy them into a folder")
    examples.add_argument("action", nargs="?", choices=("list", "copy"), default="list",
                          help="what to do")
    examples.add_argument("folder", nargs="?", metavar="DIR", help="where 'copy' writes them")
    command("schema", "print the JSON schema of scenario files")
    baseline = command("baseline", "record the shipped scenarios' answers, or check that a "
                                   "rerun still gives them (exit 1 when a mean moved)")
    baseline.add_argument("action", choices=("update", "check"), help="what to do")
    baseline.add_argument("files", nargs="*", metavar="FILE",
                          help="scenario files (default: every shipped scenario)")
    baseline.add_argument("--dir", default="results/baselines", metavar="DIR",
                          help="where the baselines are")
    baseline.add_argument("--replications", type=_positive, default=4,
                          help="runs per strategy when updating")
    add_engine(baseline)
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


_SERIAL_SECONDS = 2.0
"""Without --jobs, a batch estimated to take less than this runs in this process: starting
workers (a fresh interpreter each) would cost about as much as the runs."""


@contextmanager
def _engine(args: argparse.Namespace, serial_seconds: float) -> Iterator[dict[str, Any]]:
    """Where the runs go, as ``compare``'s ``jobs``/``client`` keywords (--jobs, --scheduler)."""
    if args.scheduler is not None:
        from simdeploy.execution import connect

        client = connect(args.scheduler)
        try:
            yield {"jobs": 1, "client": client}
        finally:
            client.close()
        return
    if args.jobs is not None:
        yield {"jobs": args.jobs, "client": None}
        return
    yield {"jobs": 1 if serial_seconds < _SERIAL_SECONDS else _cores(), "client": None}


def _serial_seconds(scenarios: Sequence[Any], runs_each: int) -> float:
    """The estimated time of ``runs_each`` runs of every scenario, one after the other."""
    from simdeploy.budget import estimate_run

    return sum(estimate_run(s).wall_seconds for s in scenarios) * runs_each


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
    from simdeploy.compare import compare
    from simdeploy.sequential import compare_until
    from simdeploy.statistics import summarize
    from simdeploy.summary_table import (
        interval_legend,
        interval_table,
        noise_warning,
        segment_table,
    )
    from simdeploy.verdict import verdict

    scenario = _load(args.file, args.force)
    baseline = _baseline_strategy(args, scenario)
    seed = scenario.seed if args.seed is None else args.seed
    targets = dict(args.target or [])
    if args.max_replications is not None and not targets:
        raise ScenarioError(args.file, "--max-replications", "only with --target")
    stopped = None
    if targets:
        first = 5 if args.replications is None else args.replications
        cap = 100 if args.max_replications is None else args.max_replications
        if first < 2:
            raise ScenarioError(args.file, "--replications", "with --target the first round "
                                "needs at least 2 replications (one run has no interval)")
        if cap < first:
            raise ScenarioError(args.file, "--max-replications",
                                f"must be >= the first round's {first} replications")
        check_batch_size(scenario, len(scenario.strategies) * cap, args.file, force=args.force)
        with (_engine(args, _serial_seconds([scenario], len(scenario.strategies) * first))
              as engine,
              _progress(args.quiet or args.json, len(scenario.strategies) * first) as progress):
            stopped = compare_until(scenario, targets, args.level, first, cap, seed=seed,
                                    progress=progress, force=True, **engine)
        table, replications = stopped.table, stopped.replications
    else:
        replications = 1 if args.replications is None else args.replications
        runs = len(scenario.strategies) * replications
        check_batch_size(scenario, runs, args.file, force=args.force)
        with (_engine(args, _serial_seconds([scenario], runs)) as engine,
              _progress(args.quiet or args.json, runs) as progress):
            table = compare(scenario, replications=replications, seed=seed, progress=progress,
                            force=True, **engine)
    warning = noise_warning(replications)
    sentences = verdict(table, args.level)
    if args.json:
        records = [{k: _json_safe(v) for k, v in row.items()}
                   for row in table.to_dict(orient="records")]
        summary = [{k: _json_safe(v) for k, v in row.items()} for row in
                   summarize(table, args.level, baseline=baseline).to_dict(orient="records")]
        document = {"scenario": scenario.name, "seed": seed, "replications": replications,
                    "runs": records, "level": args.level, "baseline": baseline,
                    "summary": summary, "verdict": sentences,
                    "warnings": [warning] if warning else []}
        if stopped is not None:
            document["targets"] = {
                "met": stopped.met, "half_widths": targets,
                "widest": {row.metric: {"strategy": row.strategy,
                                        "half_width": _json_safe(row.half_width)}
                           for row in _widest(stopped).itertuples(index=False)}}
        out.write(json.dumps(document, indent=2) + "\n")
        return 0
    if warning and not args.quiet:
        sys.stderr.write(f"simdeploy: warning: {warning}\n")
    reps = (f", {replications} replications from seed {seed}" if replications > 1
            else f", seed {seed}")
    out.write(f"{scenario.name}: {scenario.total_replicas} replicas{reps}\n")
    priced = scenario.cluster.pod_cost_per_hour > 0
    out.write(interval_table(table, args.level, baseline, priced=priced)
              .to_string(index=False, na_rep="–") + "\n")
    for line in interval_legend(table, args.level, baseline):
        out.write(f"  {line}\n")
    if stopped is not None:
        out.write(_targets_line(stopped) + "\n")
    segments = segment_table(table, args.level, baseline)
    if not segments.empty:
        out.write("\nPer user segment:\n"
                  + segments.to_string(index=False, na_rep="–") + "\n")
    out.write("\nVerdict:\n")
    for sentence in sentences:
        # a number and its half-width stay on one line: wrap at ordinary spaces only
        kept = sentence.replace(" ± ", "\u00a0±\u00a0")
        text = textwrap.fill(kept, 100, initial_indent="  ", subsequent_indent="    ")
        out.write(text.replace("\u00a0", " ") + "\n")
    return 0


def _baseline_strategy(args: argparse.Namespace, scenario: Any) -> str:
    """The ``--baseline`` strategy, checked against the scenario's; the first by default."""
    if args.baseline is None:
        return next(iter(scenario.strategies))
    if args.baseline not in scenario.strategies:
        known = ", ".join(scenario.strategies)
        raise ScenarioError(args.file, "--baseline", f"no strategy {args.baseline!r} "
                            f"(known: {known})")
    return args.baseline


def _widest(stopped: Any) -> Any:
    """Per target metric, the strategy with the widest interval (no interval counts widest)."""
    ordered = stopped.widths.sort_values("half_width", na_position="last", kind="stable")
    widest = ordered.groupby("metric", sort=False).tail(1).set_index("metric")
    return widest.loc[list(stopped.targets)].reset_index()  # in the order they were asked


def _targets_line(stopped: Any) -> str:
    """Whether ``compare_until`` met its targets, with the widest interval of each metric."""
    parts = [f"{row.metric} ± {row.half_width:.4g} (target {row.target:g}, {row.strategy})"
             for row in _widest(stopped).itertuples(index=False)]
    state = (f"targets met after {stopped.replications} replications"
             if stopped.met else
             f"targets NOT met at the cap of {stopped.replications} replications")
    return f"{state}: widest " + "; ".join(parts)


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
    baseline = _baseline_strategy(args, scenario)
    check_batch_size(scenario, len(scenario.strategies) * args.replications, args.file,
                     force=args.force, keep_timelines=True)
    factors = _factors(args) if args.settings else None
    variants: list[Any] = []
    if factors:
        from simdeploy.budget import estimate_run
        from simdeploy.sweep import plan_sweep

        seed = scenario.seed if args.seed is None else args.seed
        plan = plan_sweep(scenario, factors, args.replications, seed, force=args.force,
                          source=args.file)  # every variant checked before any run
        variants = [variant.scenario for variant in plan.variants]
        largest = max(variants, key=lambda s: estimate_run(s).wall_seconds)
        check_batch_size(largest, len(plan.tasks), args.file, force=args.force)
    detection = None
    studied: list[Any] = []
    if args.detect is not None:
        runs = 100 if args.runs is None else args.runs
        vary = _vary(args)
        study = _plan_detection(args, scenario, args.detect, runs, vary, args.level)
        studied = [cell for _value, _release, cell in study.cells]
        detection = {"strategy": args.detect, "runs": runs, "vary": vary}
    else:
        for option, given in (("--runs", args.runs), ("--vary", args.vary)):
            if given is not None:
                raise ScenarioError(args.file, option, "only with --detect STRATEGY")
    if args.format == "parquet":
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise ScenarioError(args.out, "--format", "parquet needs pyarrow "
                                "(pip install pyarrow), or use --format csv")
    try:
        clean_stale(args.out, notice)
        # before running
        check_out(args.out, planned_files(scenario, args.format, factors, detection))
    except ReportPathError as exc:
        raise ScenarioError(args.out, "--out", str(exc)) from None
    except OSError as exc:
        raise ScenarioError(args.out, "--out", exc.strerror or str(exc)) from None
    try:
        steps = report_steps(scenario, args.replications, factors, detection)
        serial = _serial_seconds([scenario, *variants],
                                 len(scenario.strategies) * args.replications)
        serial += _serial_seconds(studied, detection["runs"]) if detection else 0.0
        with _engine(args, serial) as engine, _progress(args.quiet, steps) as progress:
            folder = write_report(scenario, args.out, replications=args.replications,
                                  seed=args.seed, source=args.file, progress=progress,
                                  timeline_format=args.format, force=True, notice=notice,
                                  level=args.level, baseline=baseline, sweep=factors,
                                  detection=detection, **engine)
    except ReportPathError as exc:
        raise ScenarioError(args.out, "--out", str(exc)) from None
    except OSError as exc:
        raise ScenarioError(args.out, None,
                            f"cannot write the report: {exc.strerror or exc}") from None
    out.write(f"{folder / 'report.html'}\n")
    return 0


def _factors(args: argparse.Namespace) -> dict[str, list[Any]]:
    """The ``--set PATH=V1,V2`` options as a sweep's grid (a path at most once)."""
    factors: dict[str, list[Any]] = {}
    for path, values in args.settings:
        if path in factors:
            raise ScenarioError(args.file, "--set", f"{path} is set twice: give all its "
                                                    "values in one --set")
        factors[path] = values
    return factors


def _sweep(args: argparse.Namespace, out: TextIO) -> int:
    import pandas as pd

    from simdeploy.budget import check_batch_size, estimate_run
    from simdeploy.compare import summary_by_strategy
    from simdeploy.sweep import plan_sweep, run_plan
    from simdeploy.sweep_folder import open_sweep_folder

    def notice(text: str) -> None:
        sys.stderr.write(f"simdeploy: {text}\n")

    if args.resume and args.out is None:
        raise ScenarioError(args.file, "--resume", "only with --out (the folder to resume)")
    scenario = _load(args.file, args.force)
    factors = _factors(args)
    seed = scenario.seed if args.seed is None else args.seed
    # every variant validated and sized before anything runs or is written
    plan = plan_sweep(scenario, factors, args.replications, seed, force=args.force,
                      source=args.file)
    variants = [variant.scenario for variant in plan.variants]
    largest = max(variants, key=lambda s: estimate_run(s).wall_seconds)
    check_batch_size(largest, len(plan.tasks), args.file, force=args.force)
    total = len(plan.tasks)
    serial = _serial_seconds(variants, len(plan.strategies) * args.replications)
    with _engine(args, serial) as engine:  # a --scheduler is reached before DIR is made
        folder = None
        if args.out is not None:
            try:
                folder = open_sweep_folder(args.out, plan, resume=args.resume,
                                           source=args.file, notice=notice)
            except OSError as exc:
                raise ScenarioError(args.out, "--out", exc.strerror or str(exc)) from None
        try:
            with _progress(args.quiet or args.json, total) as progress:
                rows = run_plan(plan, progress=progress, done=folder.done if folder else None,
                                on_row=folder.record if folder else None, **engine)
            table = plan.table(rows)
            written = folder.finish(table, notice) if folder else None
        except KeyboardInterrupt:
            if folder is not None:
                notice(f"{folder.saved} of {total} runs are saved in {folder.path}: the same "
                       "command with --resume finishes the sweep")
            raise
        except OSError as exc:
            where = args.out if args.out is not None else args.file
            raise ScenarioError(where, None, f"cannot write the sweep: {exc.strerror or exc}"
                                ) from None
        finally:
            if folder is not None:
                folder.close()
    if args.json:
        records = [{k: _json_safe(v) for k, v in row.items()}
                   for row in table.to_dict(orient="records")]
        out.write(json.dumps({"scenario": scenario.name, "seed": seed,
                              "replications": args.replications, "factors": factors,
                              "runs": records}, indent=2) + "\n")
        return 0
    if written is not None:
        out.write(f"{written}\n")
        return 0
    reps = (f"{args.replications} replications from seed {seed}" if args.replications > 1
            else f"seed {seed}")
    out.write(f"{scenario.name}: {len(plan.variants)} variants × {len(plan.strategies)} "
              f"strategies, {reps}\n")
    parts = []
    for variant in plan.variants:
        means = summary_by_strategy(table[table["variant"] == variant.index])
        for column, path in enumerate(factors):
            means.insert(column, path, [variant.values[path]] * len(means))
        parts.append(means)
    out.write(pd.concat(parts, ignore_index=True).to_string(index=False) + "\n")
    return 0


def _vary(args: argparse.Namespace) -> dict[str, list[Any]] | None:
    """The ``--vary PATH=V1,V2`` option as a detection study's knob (one path at most)."""
    if not args.vary:
        return None
    if len(args.vary) > 1:
        paths = ", ".join(path for path, _values in args.vary)
        raise ScenarioError(args.file, "--vary", f"one knob at a time: give one --vary "
                                                 f"(got {paths})")
    path, values = args.vary[0]
    return {path: values}


def _plan_detection(args: argparse.Namespace, scenario: Any, strategy: str, runs: int,
                    vary: dict[str, list[Any]] | None, level: float) -> Any:
    """A detection study's plan, every variant and the whole batch checked before any run."""
    from simdeploy.detection import plan_detection
    from simdeploy.errors import RunTooLargeError

    if strategy not in scenario.strategies:
        known = ", ".join(scenario.strategies)
        where = "--strategy" if args.command == "detect" else "--detect"
        raise ScenarioError(args.file, where, f"no strategy {strategy!r} (known: {known})")
    seed = scenario.seed if args.seed is None else args.seed
    try:
        return plan_detection(scenario, strategy, runs, seed, vary, force=args.force,
                              level=level, source=args.file)
    except RunTooLargeError as exc:
        if exc.location != "runs":
            raise
        raise RunTooLargeError(exc.source, "--runs", exc.problem) from None


def _detect(args: argparse.Namespace, out: TextIO) -> int:
    from simdeploy.detection import detection_findings, detection_text_table, run_detection

    scenario = _load(args.file, args.force)
    vary = _vary(args)
    plan = _plan_detection(args, scenario, args.strategy, args.runs, vary, args.level)
    studied = [cell for _value, _release, cell in plan.cells]
    with (_engine(args, _serial_seconds(studied, args.runs)) as engine,
          _progress(args.quiet or args.json, len(plan.tasks)) as progress):
        table = run_detection(plan, progress=progress, **engine)
    findings = detection_findings(table, args.level)
    if args.json:
        rows = [{k: _json_safe(v) for k, v in row.items()}
                for row in table.to_dict(orient="records")]
        out.write(json.dumps({"scenario": scenario.name, "strategy": args.strategy,
                              "seed": plan.seed, "runs": args.runs, "level": args.level,
                              "vary": vary, "rows": rows, "findings": findings},
                             indent=2) + "\n")
        return 0
    knob = (f", {plan.path} = " + ", ".join(str(v) for v in plan.values)
            if plan.path is not None else "")
    out.write(f"{scenario.name}: {args.strategy}, {args.runs} runs per release from seed "
              f"{plan.seed}{knob}\n")
    out.write(detection_text_table(table).to_string(index=False) + "\n")
    level = f"{100 * args.level:.10g} %"
    for line in (f"P(abort): runs aborted, with the {level} Wilson interval; for the bad "
                 "release (the scenario's) P(catch), for the good one (release.new = "
                 "release.current) P(false abort)",
                 "detect s: first response of the new version → abort, over the aborted "
                 "runs; users: means per run"):
        out.write(textwrap.fill(line, 100, initial_indent="  ", subsequent_indent="    ")
                  + "\n")
    out.write("\nFindings:\n")
    for sentence in findings:
        out.write(textwrap.fill(sentence, 100, initial_indent="  ", subsequent_indent="    ")
                  + "\n")
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
        raise ScenarioError(str(exc.filename or args.folder), None,
                            "already exists: nothing copied") from None
    except OSError as exc:
        raise ScenarioError(args.folder, None, exc.strerror or str(exc)) from None
    for path in written:
        out.write(f"{path}\n")
    return 0


def _schema(_args: argparse.Namespace, out: TextIO) -> int:
    from simdeploy.scenario import Scenario

    out.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")
    return 0


def _baseline(args: argparse.Namespace, out: TextIO) -> int:
    from simdeploy import baseline
    from simdeploy.examples import shipped_scenarios
    from simdeploy.scenario import load_scenario

    if args.files:
        files = [Path(f) for f in args.files]
    else:
        shipped = Path(str(shipped_scenarios()[0])).parent
        files = sorted(shipped.glob("*.yaml"))
    folder = Path(args.dir)
    scenarios = [(file, load_scenario(file)) for file in files]
    stored = {file: folder / f"{file.stem}.json" for file, _ in scenarios}
    if args.action == "check":
        for file, path in stored.items():
            if not path.is_file():
                raise ScenarioError(str(file), None, f"no baseline at {path}: run "
                                    "'simdeploy baseline update' first")
    replications = {file: (args.replications if args.action == "update"
                           else int(baseline.read(path)["replications"]))
                    for file, path in stored.items()}
    every = [s for _, s in scenarios]
    with _engine(args, _serial_seconds(every, max(replications.values()))) as engine:
        all_shifts: list[baseline.Shift] = []
        compared = 0
        for file, scenario in scenarios:
            label = file.name if not args.files else str(file)
            if args.action == "update":
                document = baseline.record(scenario, label, replications[file],
                                           jobs=engine["jobs"])
                baseline.write(document, stored[file])
                out.write(f"{stored[file]}: {len(document['strategies'])} strategies × "
                          f"{replications[file]} replications\n")
                continue
            shifts, count = baseline.check(scenario, baseline.read(stored[file]),
                                           jobs=engine["jobs"])
            all_shifts += shifts
            compared += count
    if args.action == "update":
        return 0
    if all_shifts:
        out.write(baseline.shifts_table(all_shifts) + "\n")
        out.write(f"{len(all_shifts)} of {compared} metric means moved more than "
                  f"{baseline.TOLERANCE_SE:g} standard errors from the baselines in {folder}\n")
        return 1
    out.write(f"{compared} metric means within {baseline.TOLERANCE_SE:g} standard errors of the "
              f"baselines in {folder}\n")
    return 0


_COMMANDS = {"validate": _validate, "run": _run, "compare": _compare, "report": _report,
             "sweep": _sweep, "detect": _detect, "scenarios": _scenarios, "schema": _schema,
             "baseline": _baseline}


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
    except OSError as exc:  # stdout on a full disk, say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.stderr.write(f"simdeploy: cannot write the output: {exc.strerror or exc}\n")
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
