"""The report folder is put in place safely: no user file lost, no symlink replaced, nothing
left behind by SIGINT or SIGTERM, and what a SIGKILL leaves is cleaned up by the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import simdeploy as sd
from simdeploy.cli import main
from simdeploy.report import report_steps, write_report
from simdeploy.report_folder import ReportPathError

REPO = Path(sd.__file__).resolve().parent.parent


def _scenario_file(folder: Path, rate: float = 10, duration: float = 30,
                   strategies: dict | None = None) -> Path:
    mapping = {"name": "one", "duration": duration, "release": {"at": 10},
               "traffic": {"arrivals": {"type": "poisson", "rateRps": rate}},
               "strategies": strategies or {"recreate": {"type": "Recreate"}}}
    path = folder / "one.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_symlink_is_never_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "thesis.txt").write_text("precious")
    link = tmp_path / "out"
    link.symlink_to(target)
    scenario = _scenario_file(tmp_path)
    assert main(["report", str(scenario), "--out", str(link), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"simdeploy: {link}: --out: is a symbolic link: not replacing it\n")
    assert link.is_symlink()
    assert (target / "thesis.txt").read_text() == "precious"
    assert sorted(p.name for p in target.iterdir()) == ["thesis.txt"]


def test_a_user_file_where_the_report_would_write_is_refused_before_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario_file(tmp_path)
    out = tmp_path / "r"
    assert main(["report", str(scenario), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    (out / "timeline.parquet").write_text("the user's own table")
    with pytest.raises(ReportPathError, match=r"holds timeline\.parquet"):
        write_report(sd.load_scenario(scenario), out, timeline_format="parquet")
    assert (out / "timeline.parquet").read_text() == "the user's own table"


def _hold_lock(folder: Path) -> subprocess.Popen[str]:
    """Another process working on ``folder``: it holds the folder's lock until killed."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('locked', flush=True); time.sleep(120)", str(folder)],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    return child


def test_stale_folders_of_killed_runs_are_removed_saying_so(tmp_path: Path) -> None:
    scenario = sd.load_scenario(_scenario_file(tmp_path))
    out = tmp_path / "r"
    stale = tmp_path / f".r.simdeploy-new-{_dead_pid()}-0a1b"
    stale.mkdir()
    (stale / "report.html").write_text("half")
    same_pid = tmp_path / f".r.simdeploy-new-{os.getpid()}-0c0d"  # PID 1 in every container
    same_pid.mkdir()
    other = tmp_path / f".other.simdeploy-new-{_dead_pid()}-0a1b"  # another report's
    other.mkdir()
    alive = tmp_path / f".r.simdeploy-new-{os.getpid()}-0e0f"
    alive.mkdir()
    holder = _hold_lock(alive)
    try:
        said: list[str] = []
        write_report(scenario, out, notice=said.append)
    finally:
        holder.kill()
        holder.wait()
    assert not stale.exists()
    assert not same_pid.exists()
    assert other.exists()
    assert alive.exists()
    assert sorted(said) == sorted([f"removed {stale}, left by an interrupted run",
                                   f"removed {same_pid}, left by an interrupted run"])


def test_a_report_caught_between_the_renames_is_restored(tmp_path: Path) -> None:
    scenario = sd.load_scenario(_scenario_file(tmp_path))
    out = tmp_path / "r"
    write_report(scenario, out)
    (out / "NOTES.md").write_text("mine")
    old = tmp_path / f".r.simdeploy-old-{_dead_pid()}-0a1b"
    out.rename(old)  # as if killed after moving the earlier report aside
    said: list[str] = []
    write_report(scenario, out, notice=said.append)
    assert (out / "NOTES.md").read_text() == "mine"
    assert not old.exists()
    assert said == [f"restored the earlier report {out} from {old.name}, left by an "
                    "interrupted run"]


def test_a_symlinked_figures_folder_is_refused_before_running(tmp_path: Path) -> None:
    scenario = sd.load_scenario(_scenario_file(tmp_path))
    out = write_report(scenario, tmp_path / "r")
    mine = tmp_path / "my-figures"
    (out / "figures").rename(mine)
    (out / "figures").symlink_to(mine)
    with pytest.raises(ReportPathError, match="holds figures as a symbolic link"):
        write_report(scenario, out)
    assert sorted(p.name for p in mine.iterdir())  # untouched


def test_a_failed_report_removes_the_folders_it_created(tmp_path: Path) -> None:
    scenario = sd.load_scenario(_scenario_file(tmp_path))
    with pytest.raises(OSError, match="too long"):
        write_report(scenario, tmp_path / "new1" / "new2" / ("x" * 300))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.yaml"]


def test_figures_are_byte_reproducible(tmp_path: Path) -> None:
    scenario = sd.load_scenario(_scenario_file(tmp_path))
    a = write_report(scenario, tmp_path / "a")
    b = write_report(scenario, tmp_path / "b")
    for figure in sorted((a / "figures").iterdir()):
        assert figure.read_bytes() == (b / "figures" / figure.name).read_bytes(), figure.name
    assert b"<dc:date>" not in (a / "figures" / "comparison.svg").read_bytes()


def test_timeline_has_every_replication_and_the_chosen_format(tmp_path: Path) -> None:
    strategies = {"recreate": {"type": "Recreate"}, "rolling": {"type": "RollingUpdate"}}
    scenario = sd.load_scenario(_scenario_file(tmp_path, strategies=strategies))
    out = write_report(scenario, tmp_path / "r", replications=2, seed=3)
    timeline = pd.read_csv(out / "timeline.csv")
    assert list(timeline.columns[:3]) == ["strategy", "replication", "seed"]
    runs = timeline.groupby(["strategy", "replication", "seed"]).size()
    assert sorted(runs.index) == [("recreate", 0, 3), ("recreate", 1, 4), ("rolling", 0, 3),
                                  ("rolling", 1, 4)]
    assert len(set(runs)) == 1
    assert not (out / "timeline.parquet").exists()


def test_parquet_without_pyarrow_is_bad_input(tmp_path: Path, monkeypatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyarrow" else real(name, *a))
    scenario = _scenario_file(tmp_path)
    out = tmp_path / "r"
    assert main(["report", str(scenario), "--out", str(out), "--format", "parquet"]) == 2
    assert capsys.readouterr().err == (f"simdeploy: {out}: --format: parquet needs pyarrow "
                                       "(pip install pyarrow), or use --format csv\n")
    assert not out.exists()


def test_progress_total_is_right_from_the_start(tmp_path: Path) -> None:
    strategies = {"recreate": {"type": "Recreate"}, "rolling": {"type": "RollingUpdate"}}
    scenario = sd.load_scenario(_scenario_file(tmp_path, strategies=strategies))
    calls: list[tuple[int, int]] = []
    write_report(scenario, tmp_path / "r", replications=2,
                 progress=lambda done, total: calls.append((done, total)))
    total = report_steps(scenario, 2)
    assert total == 2 * 2 + 4  # runs, then comparison, trade-off and two timelines
    assert calls == [(done, total) for done in range(1, total + 1)]


# -- signals, in a fresh interpreter ----------------------------------------------------------


def _start_report(tmp_path: Path, out: Path) -> subprocess.Popen[str]:
    scenario = _scenario_file(tmp_path, rate=3000, duration=600)  # seconds of simulation
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-m", "simdeploy", "report", str(scenario),
                              "--out", str(out), "--quiet"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(".r.simdeploy-new-" in name for name in _hidden(tmp_path)):
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    return child


@pytest.mark.parametrize(("sig", "code", "line"), [
    (signal.SIGINT, 130, "simdeploy: interrupted"),
    (signal.SIGTERM, 143, "simdeploy: terminated"),
])
def test_interrupt_and_terminate_leave_nothing_behind(tmp_path: Path, sig: int, code: int,
                                                      line: str) -> None:
    out = tmp_path / "r"
    child = _start_report(tmp_path, out)
    child.send_signal(sig)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == code
    assert stderr == line + "\n"
    assert stdout == ""
    assert _hidden(tmp_path) == []
    assert not out.exists()


def test_sigkill_leftovers_are_cleaned_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "r"
    child = _start_report(tmp_path, out)
    child.kill()
    child.communicate(timeout=60)
    [left] = _hidden(tmp_path)
    (tmp_path / "small").mkdir()
    small = _scenario_file(tmp_path / "small")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "simdeploy", "report", str(small), "--out",
                           str(out), "--quiet"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"simdeploy: removed {tmp_path / left}, left by an interrupted run\n"
    assert _hidden(tmp_path) == []
    assert json.loads((out / "meta.json").read_text())["scenario"] == "one"
