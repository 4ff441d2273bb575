"""Sweeps: with_overrides, the factorial table, any engine the same, and nothing lost to a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import simdeploy as sd
from simdeploy.cli import main
from simdeploy.examples import shipped_scenarios
from simdeploy.metrics import SUMMARY_KEYS
from simdeploy.sweep import plan_sweep, run_plan

GRID = {"pod.preStopSeconds": [0, 2, 5], "strategies.rolling.maxSurge": ["25%", "50%"]}


@pytest.fixture
def tiny(tiny_mapping):
    return sd.load_scenario(tiny_mapping)


@pytest.fixture
def tiny_file(tiny_mapping, tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_mapping, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# with_overrides


def test_with_overrides_changes_the_paths_and_nothing_else(tiny) -> None:
    changed = tiny.with_overrides({"pod.preStopSeconds": "5s",
                                   "strategies.rolling.maxSurge": "50%",
                                   "strategies.canary.steps[2].setWeight": 60})
    assert changed.pod.pre_stop_seconds == 5.0
    assert changed.strategies["rolling"].max_surge == "50%"
    assert changed.strategies["canary"].steps[2].set_weight == 60
    assert tiny.pod.pre_stop_seconds == 0.0  # the original is left as it was
    assert changed.model_copy(update={
        "pod": tiny.pod, "strategies": tiny.strategies}) == tiny


def test_snake_case_and_dotted_strategy_names_find_their_field(tiny_mapping) -> None:
    tiny_mapping["strategies"]["rolling.v2"] = {"type": "RollingUpdate"}
    scenario = sd.load_scenario(tiny_mapping)
    changed = scenario.with_overrides({"pod.pre_stop_seconds": 3,
                                       "strategies.rolling.v2.maxSurge": 2})
    assert changed.pod.pre_stop_seconds == 3.0
    assert changed.strategies["rolling.v2"].max_surge == 2
    assert changed.strategies["rolling"].max_surge == "25%"


def test_an_optional_part_left_out_can_be_set_field_by_field(tiny) -> None:
    assert tiny.pod.liveness_probe is None
    changed = tiny.with_overrides({"pod.livenessProbe.periodSeconds": 4})
    assert changed.pod.liveness_probe.period_seconds == 4.0
    assert changed.pod.liveness_probe.failure_threshold == 3  # the default, filled in


@pytest.mark.parametrize("path", [p.name for p in shipped_scenarios()])
def test_no_override_gives_back_the_same_scenario(path: str) -> None:
    scenario = sd.load_scenario(next(p for p in shipped_scenarios() if p.name == path))
    assert scenario.with_overrides({}) == scenario


@pytest.mark.parametrize(("overrides", "message"), [
    ({"pod.preStopSecs": 1},
     "tiny: pod.preStopSecs: unknown field (did you mean preStopSeconds?)"),
    ({"pods.workers": 1}, "tiny: pods: unknown field (did you mean pod?)"),
    ({"pod.workers.max": 1}, "tiny: pod.workers.max: pod.workers is 4, not a mapping of fields"),
    ({"strategies.canary.steps[9].setWeight": 1},
     "tiny: strategies.canary.steps[9].setWeight: strategies.canary.steps has 4 items"),
    ({"pod..workers": 1}, "tiny: not a field path (keys separated by '.', list items as [0]): "
                          "'pod..workers'"),
])
def test_a_bad_path_is_one_line_naming_it(tiny, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(sd.ScenarioError) as caught:
        tiny.with_overrides(overrides)
    assert str(caught.value) == message


@pytest.mark.parametrize(("overrides", "message"), [
    ({"pod.preStopSeconds": -1},
     "tiny: pod.preStopSeconds: a duration must be a finite number of seconds >= 0, got -1"),
    ({"strategies.rolling.maxSurge": "lots"},
     "tiny: strategies.rolling.maxSurge: must be an int or a percentage like '25%', "
     "got 'lots'"),
    ({"pod.workers": True}, "tiny: pod.workers: must be a whole number, got a boolean (true)"),
    # a rule between two fields names the one at fault, and the change behind it
    ({"duration": 5}, "tiny: release.at: must be before the end of the run (duration 5 s), "
                      "got 10 s (with duration = 5)"),
])
def test_a_bad_value_is_one_line_naming_the_path(tiny, overrides: dict[str, Any],
                                                 message: str) -> None:
    with pytest.raises(sd.ScenarioError) as caught:
        tiny.with_overrides(overrides, source="tiny")
    assert str(caught.value) == message


# --------------------------------------------------------------------------------------------
# the factorial table


def test_the_grid_is_every_combination_in_order_with_tidy_columns(tiny) -> None:
    names = ["recreate", "rolling"]
    table = sd.sweep(tiny, GRID, replications=2, seed=7, strategies=names)
    assert len(table) == 3 * 2 * len(names) * 2
    assert list(table.columns[:6]) == ["variant", *GRID, "strategy", "replication", "seed"]
    assert set(SUMMARY_KEYS) <= set(table.columns)
    grid = table.drop_duplicates("variant")[["variant", *GRID]]
    assert grid.values.tolist() == [[0, 0, "25%"], [1, 0, "50%"], [2, 2, "25%"], [3, 2, "50%"],
                                    [4, 5, "25%"], [5, 5, "50%"]]
    assert table["strategy"].tolist()[:4] == ["recreate", "recreate", "rolling", "rolling"]
    # common random numbers: replication r has seed 7 + r in every variant and strategy
    assert (table["seed"] == 7 + table["replication"]).all()


def test_each_variant_runs_its_own_scenario(tiny) -> None:
    table = sd.sweep(tiny, {"pod.preStopSeconds": [0, 5]}, strategies=["recreate"])
    # Recreate's downtime spans the old pods' preStop: 5 s more of it, 5 s more downtime
    zero, five = table["downtime_s"].tolist()
    assert five - zero == pytest.approx(5.0, abs=0.5)
    single = sd.compare(tiny.with_overrides({"pod.preStopSeconds": 5}), ["recreate"])
    assert table.iloc[1]["downtime_s"] == single.iloc[0]["downtime_s"]


def test_every_variant_is_checked_before_anything_runs(tiny) -> None:
    progress: list[int] = []
    with pytest.raises(sd.ScenarioError) as caught:
        sd.sweep(tiny, {"strategies.rolling.maxSurge": [1, 0],
                        "strategies.rolling.maxUnavailable": [1, 0]},
                 progress=lambda d, _n: progress.append(d))
    assert str(caught.value) == (
        "tiny: strategies.rolling.maxUnavailable: may not be 0 when `maxSurge` is 0 (in the "
        "variant strategies.rolling.maxSurge = 0, strategies.rolling.maxUnavailable = 0)")
    assert progress == []


@pytest.mark.parametrize(("factors", "message"), [
    ({}, "a sweep needs at least one field path"),
    ({"pod.preStopSeconds": 5}, "pod.preStopSeconds: the values to sweep must be a list"),
    ({"pod.preStopSeconds": []}, "pod.preStopSeconds: no values to sweep"),
    ({"pod.preStopSeconds": [1, 1]}, "pod.preStopSeconds: 1 is given twice"),
    ({"seed": [1, 2]}, "seed: the runs' seeds are the sweep's seed plus the replication"),
])
def test_a_bad_grid_is_refused(tiny, factors: dict[str, Any], message: str) -> None:
    with pytest.raises(sd.ScenarioError, match=message.replace("(", r"\(")):
        sd.sweep(tiny, factors)


def test_a_resumed_plan_runs_only_the_missing_tasks(tiny) -> None:
    plan = plan_sweep(tiny, {"pod.preStopSeconds": [0, 2]}, strategies=["recreate"],
                      replications=2)
    full = run_plan(plan)
    made: list[int] = []
    counts: list[int] = []
    again = run_plan(plan, done={0: full[0], 2: full[2]}, on_row=lambda i, _r: made.append(i),
                     progress=lambda d, _n: counts.append(d))
    assert made == [1, 3]
    assert counts == [2, 3, 4]
    assert again == full


# --------------------------------------------------------------------------------------------
# the same table on any engine


def test_the_table_is_the_same_on_one_process_two_and_a_dask_cluster(tiny) -> None:
    distributed = pytest.importorskip("distributed")
    grid = {"pod.preStopSeconds": [0, 2], "strategies.rolling.maxSurge": ["25%", "50%"]}
    names = ["recreate", "rolling"]
    serial = sd.sweep(tiny, grid, replications=2, jobs=1, strategies=names)
    pooled = sd.sweep(tiny, grid, replications=2, jobs=2, strategies=names)
    pd.testing.assert_frame_equal(serial, pooled)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        on_dask = sd.sweep(tiny, grid, replications=2, client=client, strategies=names)
        compared = sd.compare(tiny, names, replications=2, client=client)
    pd.testing.assert_frame_equal(serial, on_dask)
    pd.testing.assert_frame_equal(compared, sd.compare(tiny, names, replications=2))


# --------------------------------------------------------------------------------------------
# the command: one-line errors, a folder that loses nothing


@pytest.mark.parametrize(("setting", "message"), [
    ("pod.preStopSecs=1", "simdeploy: {file}: pod.preStopSecs: unknown field (did you mean "
                          "preStopSeconds?)"),
    ("pod.preStopSeconds=-1", "simdeploy: {file}: pod.preStopSeconds: a duration must be a "
                              "finite number of seconds >= 0, got -1"),
    ("pod.preStopSeconds=2,2", "simdeploy: {file}: pod.preStopSeconds: 2 is given twice"),
])
def test_a_bad_set_is_one_line_and_exit_2(tiny_file: Path, capsys, setting: str,
                                          message: str) -> None:
    assert main(["sweep", str(tiny_file), "--set", setting, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == message.format(file=tiny_file) + "\n"


@pytest.mark.parametrize(("setting", "message"), [
    ("pod.preStopSeconds", "expected PATH=V1,V2,..., got 'pod.preStopSeconds'"),
    ("=1,2", "expected PATH=V1,V2,..., got '=1,2'"),
    ("pod.preStopSeconds=1,,2", "pod.preStopSeconds: an empty value in '1,,2'"),
    ("pod.workers={a: 1}", "pod.workers: '{a: 1}' is not a single value (a number, text, "
                           "true/false or null)"),
    ("pod.workers=[1", "pod.workers: cannot read the value '[1'"),
    ("pod.preStopSeconds=.inf", "pod.preStopSeconds: '.inf' is not a finite number"),
])
def test_a_malformed_set_is_a_usage_error(tiny_file: Path, capsys, setting: str,
                                          message: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sweep", str(tiny_file), "--set", setting])
    assert caught.value.code == 2
    assert capsys.readouterr().err == (f"simdeploy: sweep: argument --set: {message} (see "
                                       "'simdeploy sweep --help')\n")


def test_set_values_read_as_yaml_scalars(tiny_file: Path, capsys) -> None:
    assert main(["sweep", str(tiny_file), "--set", "pod.preStopSeconds=0,2.5,1500ms",
                 "--set", "service.stickiness=none", "--json", "--quiet"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["factors"] == {"pod.preStopSeconds": [0, 2.5, "1500ms"],
                                   "service.stickiness": ["none"]}
    values = sorted({(r["variant"], r["pod.preStopSeconds"]) for r in document["runs"]})
    assert values == [(0, 0), (1, 2.5), (2, "1500ms")]


def test_a_path_set_twice_is_refused(tiny_file: Path, capsys) -> None:
    assert main(["sweep", str(tiny_file), "--set", "pod.workers=1", "--set", "pod.workers=2"]) == 2
    assert capsys.readouterr().err == (f"simdeploy: {tiny_file}: --set: pod.workers is set "
                                       "twice: give all its values in one --set\n")


def test_out_never_writes_into_what_is_not_a_sweep(tiny_file: Path, tmp_path: Path,
                                                   capsys) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    link = tmp_path / "link"
    link.symlink_to(mine)
    for out, problem in ((mine, "exists and is not a simdeploy sweep: not writing into it"),
                         (link, "is a symbolic link: not writing into it")):
        assert main(["sweep", str(tiny_file), "--set", "pod.workers=2", "--out", str(out)]) == 2
        assert capsys.readouterr().err == f"simdeploy: {out}: --out: {problem}\n"
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_sweep_folder_is_continued_only_by_the_same_sweep(tiny_file: Path, tmp_path: Path,
                                                           capsys) -> None:
    out = tmp_path / "results" / "sweep"
    command = ["sweep", str(tiny_file), "--set", "pod.workers=2,4", "--out", str(out),
               "--quiet", "--jobs", "1"]
    assert main(command) == 0
    assert capsys.readouterr().out == f"{out / 'sweep.csv'}\n"
    assert main(command) == 2
    assert capsys.readouterr().err == (f"simdeploy: {out}: --out: holds a sweep already (8 of 8 "
                                       "runs saved): --resume to continue it, or choose another "
                                       "folder\n")
    assert main([*command, "--resume", "--replications", "2"]) == 2
    assert capsys.readouterr().err == (f"simdeploy: {out}: --resume: holds a different sweep "
                                       "(replications: 1 there, 2 here): not resuming it; "
                                       "choose another folder\n")
    assert main([*command[:3], "pod.workers=2,3", *command[4:], "--resume"]) == 2
    assert "factors[0][1][1]: 4 there, 3 here" in capsys.readouterr().err
    before = (out / "tasks.jsonl").read_bytes()
    assert main([*command, "--resume"]) == 0  # finished: nothing is run again
    assert (out / "tasks.jsonl").read_bytes() == before
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == ["by-pod.workers.png", "by-pod.workers.svg"]


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie has exited: only its parent's bookkeeping is left


def test_a_killed_sweep_resumes_to_the_same_table_without_redoing_runs(tiny_mapping,
                                                                      tmp_path: Path) -> None:
    tiny_file = tmp_path / "two.yaml"
    tiny_mapping["strategies"] = {k: tiny_mapping["strategies"][k] for k in ("recreate",
                                                                             "rolling")}
    tiny_file.write_text(yaml.safe_dump(tiny_mapping), encoding="utf-8")
    out = tmp_path / "killed"
    sets = ["--set", "pod.preStopSeconds=0,2,5", "--set", "strategies.rolling.maxSurge=25%,50%"]
    command = [sys.executable, "-m", "simdeploy", "sweep", str(tiny_file), *sets,
               "--replications", "3", "--quiet", "--out", str(out)]
    total = 3 * 2 * 2 * 3
    child = subprocess.Popen([*command, "--jobs", "2"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    log = out / "tasks.jsonl"
    workers: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if log.exists() and log.read_bytes().count(b"\n") >= 6:
            break
        time.sleep(0.02)
    if sys.platform.startswith("linux"):
        workers = _children(child.pid)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    kept = log.read_bytes()
    saved = kept.count(b"\n")
    assert 6 <= saved < total
    # the workers go with the process that started them: no orphans keep computing
    deadline = time.monotonic() + 15
    while workers and not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(pid) for pid in workers)
    # a line half-written by the kill is dropped and its run made again
    with log.open("ab") as stream:
        stream.write(b'{"task": 35, "variant": 5, "strat')

    # resumed on one process: the engine changes nothing either
    resumed = subprocess.run([*command, "--resume", "--jobs", "1"], capture_output=True,
                             text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    lines = log.read_bytes()
    assert lines.startswith(kept[:kept.rfind(b"\n") + 1])  # nothing saved was touched
    tasks = [json.loads(line)["task"] for line in lines.splitlines()]
    assert sorted(tasks) == list(range(total))  # each run made exactly once

    fresh = tmp_path / "fresh"
    assert main(["sweep", str(tiny_file), *sets, "--replications", "3", "--quiet", "--jobs",
                 "1", "--out", str(fresh)]) == 0
    assert (out / "sweep.csv").read_bytes() == (fresh / "sweep.csv").read_bytes()
    for figure in (fresh / "figures").iterdir():
        assert (out / "figures" / figure.name).read_bytes() == figure.read_bytes()
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == total
    assert list(table.columns[:3]) == ["variant", "pod.preStopSeconds",
                                       "strategies.rolling.maxSurge"]


# --------------------------------------------------------------------------------------------
# figures


def test_sweep_figures_draw_a_band_per_strategy_and_a_map_per_strategy(tiny) -> None:
    table = sd.sweep(tiny, GRID, replications=2, strategies=["recreate", "rolling"])
    fig = sd.plots.plot_sweep(table, "pod.preStopSeconds", ["downtime_s", "users_with_errors"])
    axes = fig.get_axes()
    assert len(axes) == 2 * 2  # two metrics × two values of maxSurge
    assert [ax.get_title() for ax in axes[:2]] == ["maxSurge = 25%", "maxSurge = 50%"]
    gids = {artist.get_gid() for ax in axes for artist in ax.get_children()}
    assert {"line:recreate", "line:rolling", "band:recreate", "band:rolling"} <= gids
    heat = sd.plots.plot_sweep_heatmap(table, metric="downtime_s")
    panels = [ax for ax in heat.get_axes() if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["recreate", "rolling"]
    cells = [t.get_text() for t in panels[0].texts]
    assert len(cells) == 3 * 2
    with pytest.raises(ValueError, match=r"'pod\.workers' is not swept"):
        sd.plots.plot_sweep(table, "pod.workers")


def test_sweep_figures_draw_values_as_written(tiny) -> None:
    table = sd.sweep(tiny, {"release.new.name": ["v$2$", "v3"]}, strategies=["recreate"])
    fig = sd.plots.plot_sweep(table, metrics="downtime_s")
    labels = [t.get_text() for t in fig.get_axes()[0].get_xticklabels()]
    assert labels == [r"v\$2\$", "v3"]  # escaped: drawn literally, never as mathtext
    fig.savefig(os.devnull, format="png")


def test_a_sweep_too_large_to_plan_is_refused_before_its_plan_is_built(tiny_file: Path,
                                                                       capsys) -> None:
    # 10⁸ replications × 4 strategies × 2 variants: the task list alone would take gigabytes
    code = main(["sweep", str(tiny_file), "--set", "pod.preStopSeconds=0,5", "--replications",
                 str(10**8), "--force", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "too many runs: 800,000,000; at most 1,000,000 in one batch, not even with --force" \
        in err
