"""Running many independent runs: in this process, on all cores, or on a Dask cluster.

A comparison or a sweep is a list of *tasks*, each one run (a scenario, a strategy, a
replication and the seed it draws every random number from). A task's answer depends on the
task alone, never on which process ran it or when, so :func:`execute` returns the same
answers in the same order (the tasks' order, not the order they finished in) whether it runs
them

* one after the other in this process (``jobs=1``, the default),
* on a local pool of ``jobs`` worker processes, or
* on Dask distributed (``client=``), for work that outgrows one machine.

Worker processes are *spawned*: each starts a fresh interpreter and imports simdeploy, rather
than being forked from this one. A fork copies whatever the parent holds: threads that were
running (a notebook's kernel threads, a progress bar's monitor, a Dask client's event loop,
which a fork leaves deadlocked), matplotlib's and SimPy's module state, open files. A spawned
worker inherits none of it and behaves the same on Linux, macOS and Windows; it costs about
half a second of imports per worker, once per pool, against runs that take about a second
each. The start method is chosen per pool (a multiprocessing context), never set for the
whole program, and nothing happens at import.

As with any multiprocessing, a *script* that calls ``execute`` with ``jobs > 1`` must do so
under ``if __name__ == "__main__":`` (a spawned worker imports the script); notebooks and
the ``simdeploy`` command need nothing.

Workers ignore Ctrl-C (this process stops them), and exit when this process dies, even by
SIGKILL, so a killed comparison leaves no orphans computing for nobody.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from simdeploy.errors import ScenarioError

__all__ = ["START_METHOD", "EngineError", "available_cores", "connect", "execute"]

START_METHOD = "spawn"
"""How local workers start (see the module's docstring for why not ``fork``)."""

_T = TypeVar("_T")
_R = TypeVar("_R")


class EngineError(ScenarioError):
    """The runs cannot be run where asked: no Dask, an unreachable scheduler, mismatched
    workers, a worker process that died."""


def available_cores() -> int:
    """The CPU cores this process may use (its affinity mask, not the machine's count)."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if count is not None:
        return max(1, count() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def execute(fn: Callable[[_T], _R], tasks: Sequence[_T], *, jobs: int = 1,
            client: Any = None, progress: Callable[[int, int], None] | None = None,
            on_result: Callable[[int, _R], None] | None = None) -> list[_R]:
    """``[fn(task) for task in tasks]``, on ``jobs`` processes or a Dask cluster.

    Args:
        fn: a module-level function (workers import it by name), pure in its task.
        tasks: picklable tasks.
        jobs: worker processes on this machine; 1 runs the tasks here, one after the other.
        client: a ``dask.distributed.Client``; the tasks run on its workers (``jobs`` is
            then not used).
        progress: called with (tasks finished, tasks in all) as each finishes.
        on_result: called with (task's index, its result) as each finishes, in the order
            they finish, in this process (to save each result as soon as it exists).

    Returns:
        The results in the order of ``tasks``.

    Raises:
        EngineError: a worker process died, or the Dask workers run other versions.
        Exception: what ``fn`` raised for the first task that failed; the rest are stopped.
    """
    tasks = list(tasks)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a whole number >= 1, got {jobs!r}")
    results: list[Any] = [None] * len(tasks)
    finished = _Finished(len(tasks), results, progress, on_result)
    if client is not None:
        _on_dask(fn, tasks, client, finished)
    elif jobs == 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            finished(i, fn(task))
    else:
        _on_pool(fn, tasks, min(jobs, len(tasks)), finished)
    return results


class _Finished:
    """Stores a finished task's result and tells the callbacks."""

    def __init__(self, total: int, results: list[Any],
                 progress: Callable[[int, int], None] | None,
                 on_result: Callable[[int, Any], None] | None) -> None:
        self.total = total
        self.done = 0
        self.results = results
        self.progress = progress
        self.on_result = on_result

    def __call__(self, index: int, result: Any) -> None:
        self.results[index] = result
        self.done += 1
        if self.on_result is not None:
            self.on_result(index, result)
        if self.progress is not None:
            self.progress(self.done, self.total)


# --------------------------------------------------------------------------------------------
# a local process pool


def _on_pool(fn: Callable[[Any], Any], tasks: list[Any], workers: int,
             finished: _Finished) -> None:
    context = multiprocessing.get_context(START_METHOD)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_start_worker)
    pending: dict[Future[Any], int] = {}
    queued = iter(range(len(tasks)))
    ahead = 2 * workers  # tasks handed out at once: workers never wait, memory stays flat

    started: dict[int, Any] = {}
    """Every worker process the pool started: a broken pool forgets its own."""

    def hand_out() -> None:
        for i in queued:
            pending[pool.submit(fn, tasks[i])] = i
            started.update(getattr(pool, "_processes", None) or {})
            if len(pending) >= ahead:
                return

    try:
        hand_out()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=pending.__getitem__):
                index = pending.pop(future)
                finished(index, future.result())
            hand_out()
    except BrokenProcessPool as exc:
        _stop(pool, started.values())
        what = ("a worker process died (killed, or out of memory)"
                if "terminated abruptly" in str(exc) else f"the worker processes failed ({exc})")
        raise EngineError("--jobs", None, f"{what} after {finished.done} of {finished.total} "
                                          "runs") from None
    except BaseException:
        _stop(pool, started.values())
        raise
    pool.shutdown(wait=True)


def _stop(pool: ProcessPoolExecutor, started: Iterable[Any] = ()) -> None:
    """Stop the workers now, mid-run: their runs are thrown away."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    processes = {id(p): p for p in started}
    processes.update({id(p): p for p in (getattr(pool, "_processes", None) or {}).values()})
    processes = list(processes.values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


def _start_worker() -> None:
    """In each worker: leave Ctrl-C to the parent, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), daemon=True,
                         name="simdeploy-parent-watch").start()


def _exit_with_parent(sentinel: int) -> None:
    from multiprocessing.connection import wait as wait_for

    wait_for([sentinel])  # ready when the parent has exited, however it ended
    os._exit(1)


# --------------------------------------------------------------------------------------------
# Dask distributed


def connect(address: str, timeout: float = 10.0) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address`` (``tcp://host:8786``).

    Raises:
        EngineError: Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError:
        raise EngineError(address, "--scheduler", "needs Dask distributed: pip install "
                                                  "'simdeploy[dask]'") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EngineError(address, "--scheduler", f"cannot reach the Dask scheduler: {reason}"
                          ) from None


def _on_dask(fn: Callable[[Any], Any], tasks: list[Any], client: Any,
             finished: _Finished) -> None:
    from distributed import as_completed

    _check_workers(client)
    futures = [client.submit(fn, task, pure=False) for task in tasks]
    index = {future.key: i for i, future in enumerate(futures)}
    try:
        for future in as_completed(futures, loop=client.loop):  # not the default client's
            finished(index[future.key], future.result())
            future.release()
    except BaseException:
        client.cancel(futures)
        raise


def _check_workers(client: Any, wait_s: float = 60.0) -> None:
    """Refuse workers whose simdeploy, NumPy or SimPy differ from ours: their answers would."""
    where = str(getattr(client.scheduler, "address", None) or "dask")
    if not client.scheduler_info().get("workers"):
        try:
            client.wait_for_workers(1, timeout=wait_s)
        except TimeoutError:
            raise EngineError(where, "--scheduler", f"no Dask worker joined within "
                                                    f"{wait_s:g} s") from None
    try:
        found = client.run(_versions)
    except Exception as exc:
        raise EngineError(where, "--scheduler", "a Dask worker cannot run simdeploy "
                          f"({type(exc).__name__}: {exc}); install it there") from None
    ours = _versions()
    for worker, theirs in sorted(found.items()):
        if theirs != ours:
            differ = ", ".join(f"{k} {theirs.get(k)} (here {v})" for k, v in ours.items()
                               if theirs.get(k) != v)
            raise EngineError(where, "--scheduler", f"the Dask worker {worker} runs {differ}: "
                                                    "its answers would differ")


def _versions() -> dict[str, str]:
    """What a run's answer depends on, besides its task."""
    import numpy as np
    import simpy

    from simdeploy import __version__

    return {"simdeploy": __version__, "numpy": np.__version__, "simpy": simpy.__version__}
