"""A report folder a person can open and forward: one HTML page, the tables, the figures.

``write_report`` runs every strategy of a scenario (``replications`` times each, on common
random numbers), and writes into ``out``:

* ``report.html`` — self-contained (figures embedded as PNG data): first the verdict
  (:func:`simdeploy.verdict.verdict`: sentences computed from the numbers, with a visible note
  when fewer than five replications make differences possibly noise), then the per-strategy
  table (the same cells ``simdeploy compare`` prints: mean ± half-width and ``*`` on
  differences from the baseline that are significant, paired by seed), the paired differences
  against the baseline with their unpaired widths, the figures, every run's summary, the
  scenario as run with every default filled in, and the versions and seeds;
* ``summary.csv`` — one row per strategy × replication (the :func:`~simdeploy.compare` table);
* ``timeline.csv`` (or ``timeline.parquet``, by choice, never by what happens to be
  installed) — every run's timeline, with ``strategy``, ``replication`` and ``seed`` columns;
* ``scenario.yaml`` (the effective scenario) and ``meta.json`` (versions, seeds, the files);
* with user segments (``traffic.segments``), ``segments.csv`` (exposure per segment, every
  run) and ``segment_timeline.csv`` (the same per sample interval: ``result.segment_timeline``
  with ``strategy``, ``replication`` and ``seed`` columns), and an *Exposure per segment over
  time* section: when each segment first reached the new version under each strategy, and
  the figure ``figures/segment-timeline.*`` (:func:`simdeploy.plots.plot_segment_timeline`);
* ``figures/*.png`` and ``figures/*.svg`` (SVGs byte-reproducible: no date, fixed ids);
* with ``sweep`` (``simdeploy report --set PATH=V1,V2``), a *Sweep* section: every strategy
  on every variant of the grid (:func:`simdeploy.sweep`, same replications and seeds), what
  the sweep says in sentences (:func:`simdeploy.sweep_summary.sweep_findings`), its table of
  means ± half-widths, its figures (``figures/sweep-*``), and ``sweep.csv``;
* with ``detection`` (``simdeploy report --detect STRATEGY``), a *Detection* section: how
  often the strategy aborts the scenario's (bad) release and a good one, per value of one
  knob (:func:`simdeploy.detection`, from the report's seed), in sentences
  (:func:`simdeploy.detection.detection_findings`), as a table with Wilson intervals, as a
  figure (``figures/detection.*``), and ``detection.csv``.

The folder is put in place all at once, and a re-run keeps what a user added to an earlier
report (:mod:`simdeploy.report_folder`).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import platform
import re
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import simpy
import yaml
from matplotlib.figure import Figure
from pydantic import BaseModel

from simdeploy import plots
from simdeploy.compare import (
    TABLE_COLUMNS,
    comparison_table,
    plan_runs,
    run_result,
    summary_row,
)
from simdeploy.detection import (
    DetectionPlan,
    detection_findings,
    detection_text_table,
    plan_detection,
    run_detection,
)
from simdeploy.execution import execute
from simdeploy.report_folder import (
    ReportPathError,
    check_out,
    clean_stale,
    make_parents,
    new_work_folder,
    publish,
    release,
    remove_created,
    report_files,
)
from simdeploy.scenario import Canary, CanaryStep, Scenario
from simdeploy.statistics import summarize
from simdeploy.summary_table import (
    format_half_width,
    format_interval,
    interval_legend,
    interval_table,
    noise_warning,
    percent,
)
from simdeploy.sweep import SweepPlan, plan_sweep, run_plan
from simdeploy.sweep_summary import (
    sweep_figure_stems,
    sweep_figures,
    sweep_findings,
    sweep_table,
)
from simdeploy.verdict import verdict

__all__ = ["ReportPathError", "check_out", "planned_files", "report_steps", "write_report"]

_SVG_HASH_SALT = "simdeploy"
"""Fixed salt of the ids matplotlib writes into SVGs, so the same figure is the same bytes."""


def versions() -> dict[str, str]:
    """The versions a result depends on (provenance)."""
    from simdeploy import __version__

    return {
        "simdeploy": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": simpy.__version__,
        "pandas": pd.__version__,
        "matplotlib": matplotlib.__version__,
    }


def effective_scenario(scenario: Scenario) -> str:
    """The scenario as run, every default filled in, as YAML with the file's keys.

    Durations are in seconds. The unused alternatives of a canary (a step's ``pause`` beside
    its ``setWeight``, the Flagger fields beside ``steps``) are left out; every other null
    means something (``capacityPods: null`` is no limit) and stays.
    """
    return yaml.safe_dump(_plain(scenario), sort_keys=False, allow_unicode=True)


def _unused_alternative(model: BaseModel, name: str, item: Any) -> bool:
    if isinstance(model, Canary) and name == "scale_down_delay_seconds":
        # Argo refuses the field, even at its default, beside replica routing or a dynamic
        # stable scale: written out, the effective scenario would not load again.
        return model.traffic_routing == "replicas" or model.dynamic_stable_scale
    if item is not None:
        return False
    if isinstance(model, CanaryStep):
        return True
    return isinstance(model, Canary) and name in ("steps", "analysis")


def _plain(value: Any) -> Any:
    """``value`` as YAML-ready data in the file's spelling; it validates back to ``value``."""
    if isinstance(value, BaseModel):
        out = {}
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            if _unused_alternative(value, name, item):
                continue
            out[field.alias or name] = _plain(item)
        return out
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _save(fig: Figure, folder: Path, stem: str) -> str:
    """Write ``stem``.png and ``stem``.svg; return the PNG as base64 for the page.

    Neither file carries a date, and the SVG's ids come from a fixed salt, so the same
    figure gives the same bytes on every run.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})
    (folder / f"{stem}.png").write_bytes(buffer.getvalue())
    svg = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": _SVG_HASH_SALT}):
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    (folder / f"{stem}.svg").write_text(_stable_clip_ids(svg.getvalue().decode("utf-8")),
                                        encoding="utf-8")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


_CLIP_ID = re.compile(r"\bp[0-9a-f]{10}\b")


def _stable_clip_ids(svg: str) -> str:
    """Number clip-path ids in order of appearance.

    matplotlib derives the id of a clip path from the object's memory address
    (``backend_svg.RendererSVG._get_clip_attrs``), which differs between runs.
    """
    names: dict[str, str] = {}
    return _CLIP_ID.sub(lambda m: names.setdefault(m.group(), f"clip{len(names)}"), svg)


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "\n".join(f"<section><h2>{html.escape(h)}</h2>\n{content}\n</section>"
                     for h, content in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
        padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }}
th {{ background: #f3f3f3; }}
td:first-child, th:first-child {{ text-align: left; }}
img {{ max-width: 100%; height: auto; display: block; margin: 0.5rem 0 1.5rem; }}
pre {{ background: #f7f7f7; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }}
.scroll {{ overflow-x: auto; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
{body}
</body>
</html>
"""


def _table_html(frame: pd.DataFrame, table_id: str) -> str:
    return ('<div class="scroll">'
            + frame.to_html(index=False, border=0, table_id=table_id, na_rep="–",
                            float_format=lambda v: f"{v:,.6g}")
            + "</div>")


def _figure_stems(scenario: Scenario,
                  sweep: Mapping[str, Sequence[Any]] | None = None,
                  detection: Mapping[str, Any] | None = None) -> list[str]:
    stems = ["comparison", "tradeoff", *(f"timeline-{name}" for name in scenario.strategies)]
    if scenario.traffic.segments:
        stems.append("segment-timeline")
    stems += [f"sweep-{stem}" for stem in sweep_figure_stems(sweep or {})]
    return stems + (["detection"] if detection else [])


_DETECTION_KEYS = ("strategy", "runs", "vary")
_DETECTION_RUNS = 100
"""Runs per knob value and release of a report's detection study, unless told."""


def _detection_request(detection: Mapping[str, Any]) -> tuple[str, int, Any]:
    """(strategy, runs, vary) of a report's ``detection`` argument."""
    if not isinstance(detection, Mapping) or "strategy" not in detection:
        raise ValueError("detection must be a mapping with a 'strategy' (and optionally "
                         "'runs' and 'vary')")
    unknown = [key for key in detection if key not in _DETECTION_KEYS]
    if unknown:
        raise ValueError(f"detection takes {', '.join(_DETECTION_KEYS)}; not {unknown[0]!r}")
    runs = detection.get("runs")
    return (detection["strategy"], _DETECTION_RUNS if runs is None else runs,
            detection.get("vary"))


def _detection_runs(detection: Mapping[str, Any] | None) -> int:
    """How many runs a report's detection study makes (0 without one)."""
    if not detection:
        return 0
    _strategy, runs, vary = _detection_request(detection)
    values = len(next(iter(vary.values()))) if isinstance(vary, Mapping) and vary else 1
    return 2 * runs * values


def report_steps(scenario: Scenario, replications: int,
                 sweep: Mapping[str, Sequence[Any]] | None = None,
                 detection: Mapping[str, Any] | None = None) -> int:
    """Steps a report's progress counts: every run (the sweep's and the detection study's
    too), then every figure."""
    runs = len(scenario.strategies) * replications
    if sweep:
        runs *= 1 + math.prod(len(values) for values in sweep.values())
    runs += _detection_runs(detection)
    return runs + len(_figure_stems(scenario, sweep, detection))


def planned_files(scenario: Scenario, timeline_format: str = "csv",
                  sweep: Mapping[str, Sequence[Any]] | None = None,
                  detection: Mapping[str, Any] | None = None) -> list[str]:
    """The files a report of ``scenario`` writes, relative to its folder."""
    figures = [f"figures/{stem}.{ext}" for stem in _figure_stems(scenario, sweep, detection)
               for ext in ("png", "svg")]
    tables = (["sweep.csv"] if sweep else []) + (["detection.csv"] if detection else [])
    if scenario.traffic.segments:
        tables += ["segments.csv", "segment_timeline.csv"]
    return ["report.html", "summary.csv", f"timeline.{timeline_format}", "scenario.yaml",
            "meta.json", *tables, *figures]


def write_report(scenario: Scenario, out: str | Path, *, replications: int = 1,
                 seed: int | None = None, source: str | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 timeline_format: str = "csv", force: bool = False,
                 notice: Callable[[str], None] | None = None, level: float = 0.95,
                 baseline: str | None = None, jobs: int = 1, client: Any = None,
                 sweep: Mapping[str, Sequence[Any]] | None = None,
                 detection: Mapping[str, Any] | None = None) -> Path:
    """Run the comparison and write the report folder ``out``.

    ``out`` may exist only as an earlier simdeploy report: what that report wrote is
    replaced, and anything else in the folder is kept.

    Args:
        scenario: the validated scenario.
        out: the report folder; its parent is created if needed.
        replications: runs per strategy (>= 1).
        seed: first replication's seed; None takes ``scenario.seed``.
        source: where the scenario came from (shown in the report).
        progress: called with (steps done, steps in all) after each run and each figure.
        timeline_format: ``"csv"`` or ``"parquet"`` (which needs pyarrow).
        force: run even beyond the soft size limits of :mod:`simdeploy.budget`.
        notice: told, in a sentence, about leftovers of killed runs that were cleaned up.
        level: the confidence level of the intervals, the paired differences and the verdict.
        baseline: the strategy the others are compared with; None takes the first.
        jobs: worker processes for the runs (see :mod:`simdeploy.execution`); 1 runs here.
        client: a ``dask.distributed.Client`` to run them on instead.
        sweep: field path (file spelling) → values: also run every strategy on every
            combination (:func:`simdeploy.sweep`, with the same replications and seeds) and
            add a Sweep section. Every variant is validated before anything runs.
        detection: ``{"strategy": NAME, "runs": N, "vary": {PATH: [values]}}`` (``runs``
            defaults to 100, ``vary`` to none): also run a detection study
            (:func:`simdeploy.detection`, from ``seed``, intervals at ``level``) and add a
            Detection section. Every variant is validated before anything runs.

    Returns:
        The report folder.

    Raises:
        ScenarioError: a swept or varied path or value is not valid, or the detection
            study's strategy is unknown (nothing is written).
    """
    if replications < 1:
        raise ValueError("replications must be >= 1")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    baseline = next(iter(scenario.strategies)) if baseline is None else baseline
    if baseline not in scenario.strategies:
        raise ValueError(f"no strategy {baseline!r} in the scenario")
    if timeline_format not in ("csv", "parquet"):
        raise ValueError("timeline_format is 'csv' or 'parquet'")
    seed = scenario.seed if seed is None else seed
    plan = (plan_sweep(scenario, sweep, replications, seed, force=force, source=source)
            if sweep else None)
    study = None
    if detection:
        strategy, runs, vary = _detection_request(detection)
        study = plan_detection(scenario, strategy, runs, seed, vary, force=force, level=level,
                               source=source)
    out = Path(out).absolute()
    clean_stale(out, notice)
    out = check_out(out, planned_files(scenario, timeline_format, sweep, detection))
    created = make_parents(out)
    work = None
    try:
        work = new_work_folder(out)
        with warnings.catch_warnings():
            # a name with a character the fonts lack (an emoji) is drawn as a box; the
            # warning about it is matplotlib's business, not the report reader's
            warnings.filterwarnings("ignore", message="Glyph .* missing from",
                                    category=UserWarning)
            _write(scenario, work, replications, seed, source, progress, timeline_format,
                   force, level=level, baseline=baseline, jobs=jobs, client=client,
                   plan=plan, study=study)
        umask = os.umask(0)
        os.umask(umask)
        work.chmod(0o777 & ~umask)
        publish(work, out)
    except BaseException:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        remove_created(created)
        raise
    finally:
        if work is not None:
            release(work)
    return out


def _write(scenario: Scenario, work: Path, replications: int, seed: int, source: str | None,
           progress: Callable[[int, int], None] | None, timeline_format: str,
           force: bool, *, level: float = 0.95, baseline: str | None = None,
           jobs: int = 1, client: Any = None, plan: SweepPlan | None = None,
           study: DetectionPlan | None = None) -> None:
    names = list(scenario.strategies)
    total = (report_steps(scenario, replications, plan.factors if plan else None)
             + (len(study.tasks) + 1 if study is not None else 0))
    rows: list[dict[str, Any]] = []
    first: dict[str, Any] = {}
    timelines: list[pd.DataFrame] = []
    tasks = plan_runs(scenario, names, replications, seed, force=force)
    counted = None if progress is None else (lambda done, _runs: progress(done, total))
    results = execute(run_result, tasks, jobs=jobs, client=client, progress=counted)
    exposures: list[pd.DataFrame] = []
    over_time: list[pd.DataFrame] = []
    for task, result in zip(tasks, results):
        replication = task.replication
        rows.append(summary_row(replication, result))
        if scenario.traffic.segments and result.segments is not None:
            exposures.append(result.segments.assign(strategy=result.strategy,
                                                    replication=replication, seed=result.seed))
        if scenario.traffic.segments and result.segment_timeline is not None:
            over_time.append(result.segment_timeline.assign(
                strategy=result.strategy, replication=replication, seed=result.seed))
        timelines.append(result.timeline.assign(strategy=result.strategy,
                                                replication=replication, seed=result.seed))
        if replication == 0:
            first[result.strategy] = result
    table = comparison_table(rows)
    table.to_csv(work / "summary.csv", index=False)
    exposure = None
    if exposures:
        exposure = pd.concat(exposures, ignore_index=True)
        ids = ["strategy", "replication", "seed"]
        exposure = exposure[[*ids, *[c for c in exposure.columns if c not in ids]]]
        exposure.to_csv(work / "segments.csv", index=False)
    segment_timeline = None
    if over_time:
        segment_timeline = pd.concat(over_time, ignore_index=True)
        ids = ["strategy", "replication", "seed"]
        segment_timeline = segment_timeline[
            [*ids, *[c for c in segment_timeline.columns if c not in ids]]]
        segment_timeline.to_csv(work / "segment_timeline.csv", index=False)
    swept = None
    if plan is not None:
        def counted_sweep(done: int, _runs: int) -> None:
            if progress is not None:
                progress(len(rows) + done, total)

        swept = plan.table(run_plan(plan, jobs=jobs, client=client, progress=counted_sweep))
        swept.to_csv(work / "sweep.csv", index=False)
    runs_done = len(rows) + (len(plan.tasks) if plan is not None else 0)
    detected = None
    if study is not None:
        def counted_study(done: int, _runs: int, before: int = runs_done) -> None:
            if progress is not None:
                progress(before + done, total)

        detected = run_detection(study, jobs=jobs, client=client, progress=counted_study)
        detected.to_csv(work / "detection.csv", index=False)
        runs_done += len(study.tasks)
    timeline = pd.concat(timelines, ignore_index=True)
    ids = ["strategy", "replication", "seed"]
    timeline = timeline[[*ids, *[c for c in timeline.columns if c not in ids]]]
    if timeline_format == "parquet":
        timeline.to_parquet(work / "timeline.parquet", index=False)
    else:
        timeline.to_csv(work / "timeline.csv", index=False)
    scenario_yaml = effective_scenario(scenario)
    (work / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
    meta: dict[str, Any] = {
        "scenario": scenario.name, "source": source, "seeds": sorted(set(table["seed"])),
        "replications": replications, "strategies": names, "level": level,
        "baseline": baseline, "versions": versions()}

    figures_dir = work / "figures"
    figures_dir.mkdir()
    figures: list[tuple[str, str, Figure]] = [
        ("comparison", "Strategies side by side",
         plots.plot_comparison(table, title=f"Strategies compared on {scenario.name}")),
        ("tradeoff", "Extra resources against users with errors",
         plots.plot_tradeoff(table, title=f"Trade-off on {scenario.name}", level=level)),
    ]
    figures += [(f"timeline-{name}", f"Timeline: {name} (seed {seed})",
                 plots.plot_timeline(result)) for name, result in first.items()]
    if segment_timeline is not None:
        figures.append(("segment-timeline", f"Exposure per segment over time (seed {seed})",
                        plots.plot_segment_timeline(
                            list(first.values()),
                            title=f"Exposure per segment over time on {scenario.name}")))
    if swept is not None and plan is not None:
        figures += [(f"sweep-{stem}", f"Sweep: {stem}", make())
                    for stem, make in sweep_figures(swept, plan.factors, scenario.name)]
    if detected is not None and study is not None:
        figures.append(("detection", f"Detection: {study.strategy}",
                        plots.plot_detection(detected, title=f"Detection by {study.strategy} "
                                                             f"on {scenario.name}")))
    images = []
    sweep_images = []
    detection_images = []
    segment_images = []
    first_figure = runs_done + 1
    for done, (stem, caption, fig) in enumerate(figures, start=first_figure):
        png = _save(fig, figures_dir, stem)
        if progress is not None:
            progress(done, total)
        shown_in = (sweep_images if stem.startswith("sweep-")
                    else detection_images if stem == "detection"
                    else segment_images if stem == "segment-timeline" else images)
        shown_in.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{png}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    reps = (f"{replications} replications per strategy, seeds {seed}–{seed + replications - 1}"
            if replications > 1 else f"seed {seed}")
    intro = (f"<p>{html.escape(scenario.description or scenario.name)}</p>"
             f"<p>{scenario.total_replicas} replicas; release at "
             f"{scenario.release.at:g} s of a {scenario.duration:g} s run; {html.escape(reps)}. "
             + ("Means over replications ± the half-width of their "
                f"{percent(level)} t-interval; the figures' error bars are standard deviations "
                "and the trade-off's boxes the t-intervals. " if replications > 1 else "")
             + "Capacity counts scheduled pods (those holding resources); pods still waiting "
             "for room are counted apart as pending.</p>")
    legend = "".join(f"<p>{html.escape(line)}</p>"
                     for line in interval_legend(table, level, baseline))
    sections = [
        ("Verdict", _verdict_html(table, replications, level)),
        ("Summary", intro + _table_html(interval_table(
            table, level, baseline, priced=scenario.cluster.pod_cost_per_hour > 0), "summary")
         + legend),
        *_differences_section(table, level, baseline),
        *_segments_section(exposure),
        *_segment_timeline_section(segment_timeline, seed, segment_images),
        ("Figures", "\n".join(images)),
        *_sweep_section(swept, plan, level, sweep_images),
        *_detection_section(detected, study, detection_images),
        ("Every run", _table_html(table, "runs")),
        ("Scenario as run", f"<pre>{html.escape(scenario_yaml)}</pre>"),
        ("Provenance", "<pre>" + html.escape(json.dumps(meta, indent=2)) + "</pre>"),
    ]
    (work / "report.html").write_text(_page(f"simdeploy report: {scenario.name}", sections),
                                      encoding="utf-8")
    # Last: the list of what this report wrote, so that a re-run replaces only these.
    meta["files"] = sorted([*report_files(work), "meta.json"])
    (work / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _segments_section(exposure: pd.DataFrame | None) -> list[tuple[str, str]]:
    """Exposure per user segment and strategy, means over replications (with segments)."""
    if exposure is None or exposure.empty:
        return []
    columns = ["users_total", "users_exposed_new", "users_with_errors", "requests_total",
               "requests_failed"]
    means = exposure.groupby(["strategy", "segment"], sort=False)[columns].mean().reset_index()
    frame = pd.DataFrame({
        "strategy": means["strategy"], "segment": means["segment"],
        "users": means["users_total"].round().astype(int),
        "users on new": means["users_exposed_new"].round().astype(int),
        "share on new": [f"{100 * e / u:.1f} %" if u else "–"
                         for e, u in zip(means["users_exposed_new"], means["users_total"])],
        "users w/ errors": means["users_with_errors"].round().astype(int),
        "failed req": means["requests_failed"].round().astype(int),
    })
    never = [f"{r.segment} under {r.strategy}" for r in means.itertuples()
             if r.users_exposed_new == 0 and r.users_total > 0]
    note = ("<p>Never served by the new version: " + html.escape(", ".join(never)) + ".</p>"
            if never else "")
    text = ("<p>Every user belongs to one segment (<code>traffic.segments</code>); the "
            "numbers are means per run over the replications. The whole table, run by run, "
            "is <code>segments.csv</code>.</p>")
    return [("Exposure per segment", text + _table_html(frame, "segments") + note)]


def _first_new_times(segment_timeline: pd.DataFrame) -> pd.DataFrame:
    """Per run and segment, when a request of the segment first went to the new version.

    Args:
        segment_timeline: ``result.segment_timeline`` rows, with ``strategy``,
            ``replication`` and ``seed`` columns (as ``segment_timeline.csv``).

    Returns:
        ``strategy, replication, seed, segment, first_new_s``: the start of the first
        interval with a request of the segment routed to the new version, NaN if none was.
    """
    keys = ["strategy", "replication", "seed", "segment"]
    reached = segment_timeline["time_s"].where(segment_timeline["requests_new"] > 0)
    return (segment_timeline.assign(first_new_s=reached)
            .groupby(keys, sort=False)["first_new_s"].min().reset_index())


def _first_new_sentence(strategy: str, times: pd.DataFrame) -> str:
    """``under canary, beta: at 40 s; enterprise: never`` (over the runs of one strategy)."""
    parts = []
    for segment, group in times.groupby("segment", sort=False):
        values = group["first_new_s"].to_numpy(dtype=float)
        reached = values[np.isfinite(values)]
        if not len(reached):
            parts.append(f"{segment}: never")
            continue
        low, high = float(reached.min()), float(reached.max())
        text = f"{segment}: at {low:g} s" if low == high else f"{segment}: at {low:g}–{high:g} s"
        if len(reached) < len(values):
            text += f" (never in {len(values) - len(reached)} of {len(values)} runs)"
        parts.append(text)
    return f"under {strategy}, " + "; ".join(parts)


def _segment_timeline_section(segment_timeline: pd.DataFrame | None, seed: int,
                              images: list[str]) -> list[tuple[str, str]]:
    """When each segment first reached the new version, per strategy, and the figure."""
    if segment_timeline is None or segment_timeline.empty:
        return []
    times = _first_new_times(segment_timeline)
    runs = times.groupby("strategy", sort=False)["replication"].nunique().max()
    items = "".join(f"<li>{html.escape(_first_new_sentence(str(name), group))}</li>"
                    for name, group in times.groupby("strategy", sort=False))
    over = f", the range over the {runs} replications" if runs > 1 else ""
    text = ("<p>When a request of each segment first went to the new version (the start of "
            f"its sample interval{over}; <em>never</em>: no request of the segment reached "
            "it):</p>" + f'<ul id="segment-first-new">{items}</ul>'
            + f"<p>The figure shows the runs of seed {seed}: per strategy, the share of each "
            "segment's requests routed to the new version, and its failed requests per "
            "second. Every run, interval by interval, is <code>segment_timeline.csv</code>."
            "</p>")
    return [("Exposure per segment over time", text + "\n".join(images))]


def _sweep_section(swept: pd.DataFrame | None, plan: SweepPlan | None, level: float,
                   images: list[str]) -> list[tuple[str, str]]:
    """The sweep's grid, what it says, its table and its figures (none without a sweep)."""
    if swept is None or plan is None:
        return []
    grid = "; ".join(f"<code>{html.escape(path)}</code> = "
                     + ", ".join(html.escape(_shown_value(v)) for v in values)
                     for path, values in plan.factors.items())
    intro = (f"<p>Every strategy on each of the {len(plan.variants)} combinations of {grid}, "
             f"{plan.replications} replication{'s' if plan.replications != 1 else ''} each "
             "on the comparison's seeds (so two variants are compared seed by seed). "
             "Each cell is the mean ± the half-width of its "
             f"{percent(level)} t-interval; the whole table is <code>sweep.csv</code>.</p>")
    items = "".join(f"<li>{html.escape(s)}</li>" for s in sweep_findings(swept, level))
    return [("Sweep", intro + f'<ul id="sweep-findings">{items}</ul>'
             + _table_html(sweep_table(swept, level), "sweep") + "\n".join(images))]


def _detection_section(detected: pd.DataFrame | None, study: DetectionPlan | None,
                       images: list[str]) -> list[tuple[str, str]]:
    """The detection study: what it is, what it says, its table and figure (none without)."""
    if detected is None or study is None:
        return []
    knob = ""
    if study.path is not None:
        knob = (f", for each value of <code>{html.escape(study.path)}</code> ("
                + ", ".join(html.escape(_shown_value(v)) for v in study.values) + ")")
    level = percent(study.level)
    intro = (f"<p>How often <code>{html.escape(study.strategy)}</code> aborts the scenario's "
             "release (the <em>bad</em> release) and the same rollout of the current version "
             f"under the new version's name (the <em>good</em> release): {study.runs} "
             f"run{'s' if study.runs != 1 else ''} of each{knob}, run <em>r</em> of both "
             f"on seed {study.seed} + <em>r</em> (common random numbers). A run is an abort "
             "when its outcome is <em>aborted</em>. P(abort) is the share of aborted runs "
             f"with its {level} Wilson score interval: the chance of catching the bad "
             "release, and of a false abort of the good one. Time to detect runs from the "
             "new version's first response to the abort decision, over the aborted runs; "
             "users are means per run. The whole table is <code>detection.csv</code>.</p>")
    items = "".join(f"<li>{html.escape(s)}</li>"
                    for s in detection_findings(detected, study.level))
    return [("Detection", intro + f'<ul id="detection-findings">{items}</ul>'
             + _table_html(detection_text_table(detected), "detection") + "\n".join(images))]


def _shown_value(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _verdict_html(table: pd.DataFrame, replications: int, level: float) -> str:
    """The verdict's sentences, after a visible note when there are too few replications."""
    warning = noise_warning(replications)
    note = ""
    if warning:
        text = warning.replace("(use --replications", "(run with --replications")
        note = ('<p class="note" style="background:#fff4d6; border-left:4px solid #d9a400; '
                f'padding:0.5rem 0.75rem"><strong>Note:</strong> {html.escape(text)}.</p>')
    items = "".join(f"<li>{html.escape(s)}</li>" for s in verdict(table, level))
    return f'{note}<ul id="verdict">{items}</ul>'


def _differences_section(table: pd.DataFrame, level: float,
                         baseline: str) -> list[tuple[str, str]]:
    """Each strategy against the baseline, paired by seed, with the unpaired width beside it.

    Only with replications: one run per strategy has no interval.
    """
    if table.groupby("strategy", sort=False).size().min() < 2:
        return []
    keys = [k for k in TABLE_COLUMNS if k != "outcome" and k in table.columns
            and pd.api.types.is_numeric_dtype(table[k]) and table[k].abs().sum() > 0]
    rows = summarize(table, level, baseline=baseline, metrics=keys)
    rows = rows[rows["strategy"] != baseline]
    frame = pd.DataFrame({
        "strategy": rows["strategy"],
        "metric": rows["metric"].map(TABLE_COLUMNS),
        f"difference from {baseline}": [
            _signed_cell(r.metric, r.diff_mean, r.diff_half_width) for r in rows.itertuples()],
        "significant": ["yes" if r.significant else "no" for r in rows.itertuples()],
        "unpaired ±": [format_half_width(r.metric, r.unpaired_half_width)
                       for r in rows.itertuples()],
        "paired / unpaired": rows["paired_over_unpaired"].round(2),
    })
    text = (f"<p>Each strategy minus {html.escape(baseline)}, run by run on the same seed "
            f"(common random numbers): the mean difference ± the half-width of the "
            f"{percent(level)} t-interval of the per-seed differences. <em>significant</em>: "
            "that interval excludes 0. <em>unpaired ±</em> is the Welch half-width of the "
            "same difference had the runs been independent, and <em>paired / unpaired</em> "
            "the ratio of the two widths: below 1, pairing sharpened the comparison.</p>")
    return [(f"Differences from {baseline}", text + _table_html(frame, "differences"))]


def _signed_cell(metric: str, mean: float, half_width: float) -> str:
    if not math.isfinite(mean):
        return "–"
    sign = "+" if mean > 0 else ("−" if mean < 0 else "")
    return sign + format_interval(metric, abs(mean), half_width)
