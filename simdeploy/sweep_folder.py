"""A sweep's results folder: every finished run saved at once, so a killed sweep loses nothing.

``simdeploy sweep FILE --set ... --out DIR`` keeps in ``DIR``:

* ``sweep.json`` — what the sweep is (the effective scenario, the swept paths and values,
  the strategies, replications, seed, and the simdeploy, NumPy and SimPy versions), written
  before any run;
* ``scenario.yaml`` — the effective scenario the variants start from;
* ``tasks.jsonl`` — one line per finished run (its variant, strategy, replication, seed and
  summary row), appended and flushed to disk (``fsync``) as each run finishes;
* at the end, ``sweep.csv`` (the tidy table) and ``figures/*.png|svg``.

``--resume`` reads ``tasks.jsonl`` back and runs only what is missing, after checking that
``sweep.json`` describes the same sweep (a different scenario, grid, seed or version would
mix answers of two questions, so it is refused). A line half-written when the sweep was
killed is dropped and its run made again.

The same safety rules as reports (:mod:`simdeploy.report_folder`): ``--out`` never writes
into a symbolic link, a file, the current folder, or a folder that is not a sweep (an empty
folder is fine), and a new folder appears all at once with its ``sweep.json``. One sweep at a
time writes into a folder (a lock on ``tasks.jsonl``, released even by SIGKILL).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from simdeploy.errors import ScenarioError, shown
from simdeploy.report_folder import (
    ReportPathError,
    check_folder_path,
    clean_stale,
    new_work_folder,
    release,
)
from simdeploy.sweep import SweepPlan

__all__ = ["KIND", "SweepFolder", "open_sweep_folder"]

KIND = "simdeploy sweep"
"""``sweep.json``'s ``kind``: what makes a folder a sweep's."""

_IDENTITY = ("task", "variant", "strategy", "replication", "seed")


class SweepFolder:
    """An open sweep folder: the runs already saved, and where new ones go."""

    def __init__(self, path: Path, plan: SweepPlan, done: dict[int, dict[str, Any]],
                 fd: int) -> None:
        self.path = path
        """The folder."""
        self.plan = plan
        self.done = done
        """Rows saved by an earlier, interrupted run of the same sweep, by task index."""
        self._fd = fd

    @property
    def saved(self) -> int:
        """Runs saved so far."""
        return len(self.done)

    def record(self, index: int, row: dict[str, Any]) -> None:
        """Append task ``index``'s row to ``tasks.jsonl`` and put it on disk before returning."""
        line = json.dumps({**self.plan.identity(index), "row": row}, separators=(",", ":"))
        data = (line + "\n").encode("utf-8")
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        os.fsync(self._fd)
        self.done[index] = row

    def finish(self, table: pd.DataFrame,
               notice: Callable[[str], None] | None = None) -> Path:
        """Write the figures, then ``sweep.csv`` (last, in one rename); return its path.

        Figures (PNG and SVG, the same bytes on every run): each swept path against the
        headline metrics (:func:`~simdeploy.plots.plot_sweep`), and with two swept paths a
        map of users with errors and of extra pod-seconds
        (:func:`~simdeploy.plots.plot_sweep_heatmap`).
        """
        from simdeploy.report import _save
        from simdeploy.sweep_summary import sweep_figures

        folder = self.path / "figures"
        folder.mkdir(exist_ok=True)
        for stem, make in sweep_figures(table, self.plan.factors, self.plan.scenario.name):
            try:
                figure = make()
            except ValueError as exc:  # e.g. too many panels: the table is still whole
                if notice is not None:
                    notice(f"no figure {stem}: {exc}")
                continue
            _save(figure, folder, stem)
        target = self.path / "sweep.csv"
        for stale in self.path.glob(".sweep.csv.simdeploy-tmp-*"):  # a kill's; the folder is ours
            stale.unlink(missing_ok=True)
        _replace(target, table.to_csv(index=False).encode("utf-8"))
        return target

    def close(self) -> None:
        """Release the folder (and its lock)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def open_sweep_folder(out: str | Path, plan: SweepPlan, *, resume: bool = False,
                      source: str | None = None,
                      notice: Callable[[str], None] | None = None) -> SweepFolder:
    """Create the sweep folder ``out``, or, with ``resume``, open the one a killed sweep left.

    Raises:
        ScenarioError: ``out`` must not be written (see the module's docstring), holds a
            sweep already (without ``resume``) or a different one (with it), or another
            sweep is writing into it.
    """
    out = Path(out).absolute()
    where = str(out)

    def refuse(problem: str, location: str = "--out") -> ScenarioError:
        return ScenarioError(where, location, problem)

    try:
        check_folder_path(out, "sweep", "writing into")
    except ReportPathError as exc:
        raise refuse(str(exc)) from None
    clean_stale(out, notice)
    definition = plan.definition()
    if out.exists() and any(out.iterdir()):
        meta = _read_meta(out)
        if meta is None:
            raise refuse("exists and is not a simdeploy sweep: not writing into it")
        if not resume:
            saved = _count_lines(out / "tasks.jsonl")
            raise refuse(f"holds a sweep already ({saved} of {meta.get('tasks', '?')} runs "
                         "saved): --resume to continue it, or choose another folder")
        difference = _first_difference(meta.get("definition"), definition)
        if difference:
            raise refuse(f"holds a different sweep ({difference}): not resuming it; "
                         "choose another folder", "--resume")
        fd = _lock(out / "tasks.jsonl", refuse)
        try:
            done = _read_rows(out / "tasks.jsonl", fd, plan, notice)
        except BaseException:
            os.close(fd)
            raise
        return SweepFolder(out, plan, done, fd)
    if resume and notice is not None:
        notice(f"nothing to resume in {out}: starting the sweep")
    _create(out, plan, definition, source)
    return SweepFolder(out, plan, {}, _lock(out / "tasks.jsonl", refuse))


def _create(out: Path, plan: SweepPlan, definition: dict[str, Any], source: str | None) -> None:
    """Put ``out`` in place all at once, holding its ``sweep.json`` and an empty log."""
    from simdeploy.report import effective_scenario

    out.parent.mkdir(parents=True, exist_ok=True)
    work = new_work_folder(out)
    try:
        meta = {"kind": KIND, "source": source, "scenario": plan.scenario.name,
                "tasks": len(plan.tasks), "variants": len(plan.variants),
                "definition": definition}
        _write_synced(work / "sweep.json", (json.dumps(meta, indent=2) + "\n").encode())
        _write_synced(work / "scenario.yaml", effective_scenario(plan.scenario).encode())
        _write_synced(work / "tasks.jsonl", b"")
        umask = os.umask(0)
        os.umask(umask)
        work.chmod(0o777 & ~umask)
        if out.exists():
            out.rmdir()  # empty (checked): replaced by the new folder
        work.rename(out)
    except BaseException:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        release(work)
    _sync_dir(out.parent)


def _lock(log: Path, refuse: Callable[..., ScenarioError]) -> int:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise refuse("another simdeploy sweep is writing into it") from None
    return fd


def _read_meta(folder: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("kind") == KIND else None


def _count_lines(log: Path) -> int:
    try:
        return log.read_bytes().count(b"\n")
    except OSError:
        return 0


def _read_rows(log: Path, fd: int, plan: SweepPlan,
               notice: Callable[[str], None] | None) -> dict[int, dict[str, Any]]:
    """The saved rows by task index; a half-written last line is cut off the file."""
    data = log.read_bytes()
    whole = data.rfind(b"\n") + 1
    if whole < len(data):
        os.ftruncate(fd, whole)  # the line a kill interrupted: its run is made again
        os.fsync(fd)
    done: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(data[:whole].splitlines(), start=1):
        try:
            record = json.loads(line)
            index = record["task"]
            if (not isinstance(index, int) or not 0 <= index < len(plan.tasks)
                    or {k: record[k] for k in _IDENTITY} != plan.identity(index)
                    or not isinstance(record["row"], dict)):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            if notice is not None:
                notice(f"line {number} of {log} is not a run of this sweep: ignored, "
                       "its run is made again")
            continue
        done.setdefault(index, record["row"])
    return done


def _first_difference(there: Any, here: Any, path: str = "") -> str | None:
    """Where two sweep definitions first differ, in words; None if they are the same."""
    if isinstance(there, dict) and isinstance(here, dict):
        for key in [*here, *(k for k in there if k not in here)]:
            if key not in there or key not in here:
                return f"{path}{key}: only {'here' if key in here else 'there'}"
            found = _first_difference(there[key], here[key], f"{path}{key}.")
            if found:
                return found
        return None
    if isinstance(there, list) and isinstance(here, list):
        if len(there) != len(here):
            return f"{path.rstrip('.')}: {len(there)} items there, {len(here)} here"
        for i, (a, b) in enumerate(zip(there, here)):
            found = _first_difference(a, b, f"{path.rstrip('.')}[{i}].")
            if found:
                return found
        return None
    if there != here or type(there) is not type(here):
        return f"{path.rstrip('.')}: {shown(there)} there, {shown(here)} here"
    return None


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` all at once: a temporary sibling, synced, then renamed over it."""
    temporary = path.with_name(f".{path.name}.simdeploy-tmp-{os.getpid()}")
    try:
        _write_synced(temporary, data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _sync_dir(folder: Path) -> None:
    """Put a rename in ``folder`` on disk (POSIX; a no-op elsewhere)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
