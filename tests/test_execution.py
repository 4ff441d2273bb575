"""Running runs here, on a process pool or on Dask: same answers, in task order, no leftovers."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from typing import Any

import pandas as pd
import pytest

import simdeploy as sd
from simdeploy.compare import plan_runs, run_row
from simdeploy.execution import EngineError, available_cores, connect, execute


@pytest.fixture
def tiny(tiny_mapping):
    return sd.load_scenario(tiny_mapping)


def test_compare_is_the_same_table_on_one_process_and_on_two(tiny) -> None:
    serial = sd.compare(tiny, replications=2, seed=3)
    pooled = sd.compare(tiny, replications=2, seed=3, jobs=2)
    pd.testing.assert_frame_equal(serial, pooled)
    assert list(serial["seed"]) == [3, 4] * len(tiny.strategies)


def test_results_come_in_task_order_and_callbacks_count_finished_tasks(tiny) -> None:
    # the first task is the longest (a 4× longer run), so on two workers it finishes late
    long = tiny.with_overrides({"duration": 480})
    tasks = [*plan_runs(long, ["canary"], 1, 0), *plan_runs(tiny, ["recreate"], 4, 0)]
    seen: list[int] = []
    counts: list[tuple[int, int]] = []
    rows = execute(run_row, tasks, jobs=2, progress=lambda d, n: counts.append((d, n)),
                   on_result=lambda i, row: seen.append(i))
    assert [(row["strategy"], row["seed"]) for row in rows] == [
        ("canary", 0), ("recreate", 0), ("recreate", 1), ("recreate", 2), ("recreate", 3)]
    assert sorted(seen) == list(range(len(tasks)))
    assert counts == [(k, len(tasks)) for k in range(1, len(tasks) + 1)]
    # NaN (no abort: no detected_s) is never equal to itself, so compare as frames
    assert pd.DataFrame(rows).equals(pd.DataFrame([run_row(task) for task in tasks]))


def test_serial_execution_calls_back_after_each_task(tiny) -> None:
    tasks = plan_runs(tiny, ["recreate", "rolling"], 2, 5)
    seen: list[int] = []
    rows = execute(run_row, tasks, on_result=lambda i, _row: seen.append(i))
    assert seen == [0, 1, 2, 3]
    assert [r["seed"] for r in rows] == [5, 6, 5, 6]


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_jobs_must_be_a_positive_whole_number(jobs: Any) -> None:
    with pytest.raises(ValueError, match="jobs must be"):
        execute(abs, [1], jobs=jobs)


def _no_workers_left() -> bool:
    """No worker process is left, give or take one the pool was still starting when it
    stopped: that one finds its pool gone and exits within moments."""
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


def test_a_worker_that_dies_is_an_engine_error_not_a_hang() -> None:
    with pytest.raises(EngineError, match="a worker process died"):
        execute(os._exit, [3, 3, 3], jobs=2)
    assert _no_workers_left()


def test_an_interrupt_stops_the_workers_at_once(tiny) -> None:
    tasks = plan_runs(tiny, None, 3, 0)

    def interrupt(done: int, _total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(run_row, tasks, jobs=2, progress=interrupt)
    assert _no_workers_left()


def test_a_task_that_fails_raises_its_error(tiny) -> None:
    tasks = plan_runs(tiny, ["recreate"], 1, 0)
    broken = [tasks[0], tasks[0].__class__(tiny, "no-such-strategy", 0, 0)]
    with pytest.raises(sd.ScenarioError, match="no strategy 'no-such-strategy'"):
        execute(run_row, broken, jobs=2)


def test_importing_sets_no_start_method_and_starts_no_process() -> None:
    code = ("import multiprocessing, simdeploy, simdeploy.execution, simdeploy.sweep;"
            "print(multiprocessing.get_start_method(allow_none=True),"
            " len(multiprocessing.active_children()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["None", "0"]


def test_available_cores_counts_this_process_s_cores() -> None:
    cores = available_cores()
    assert cores >= 1
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))


def test_without_dask_the_scheduler_option_says_how_to_get_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(EngineError, match=r"pip install 'simdeploy\[dask\]'"):
        connect("tcp://127.0.0.1:8786")


def test_an_unreachable_scheduler_is_one_line() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(EngineError) as caught:
        connect("tcp://127.0.0.1:1", timeout=0.5)
    assert str(caught.value).startswith("tcp://127.0.0.1:1: --scheduler: cannot reach")
    assert "\n" not in str(caught.value)


class _FakeClient:
    """Answers what ``execute`` asks a client before submitting anything."""

    class scheduler:  # noqa: N801 - the attribute a Client has
        address = "tcp://10.0.0.1:8786"

    def __init__(self, versions: dict[str, str]) -> None:
        self.versions = versions
        self.submitted = 0

    def scheduler_info(self) -> dict[str, Any]:
        return {"workers": {"tcp://10.0.0.2:4000": {}}}

    def run(self, fn):
        return {"tcp://10.0.0.2:4000": self.versions}

    def submit(self, *args, **kwargs):
        self.submitted += 1
        raise AssertionError("nothing may be submitted to mismatched workers")


def test_dask_workers_with_other_versions_are_refused_before_any_run(tiny) -> None:
    from simdeploy.execution import _versions

    theirs = {**_versions(), "numpy": "1.0.0"}
    client = _FakeClient(theirs)
    with pytest.raises(EngineError, match=r"runs numpy 1\.0\.0 \(here .*\): its answers would "
                                          "differ"):
        execute(run_row, plan_runs(tiny, ["recreate"], 1, 0), client=client)
    assert client.submitted == 0
