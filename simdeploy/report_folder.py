"""Putting a report folder in place: all at once, and without losing anything a user put there.

A report is written into a hidden sibling folder and renamed into place at the end, so a
failure or a kill never leaves half a report (desmod's workspace rule, STYLE.md §3.7). A
re-run replaces an earlier report, but only what simdeploy wrote into it: the earlier
report's ``meta.json`` lists its files, and anything else in the folder (a user's
``NOTES.md``, a sub-folder of their own) is hard-linked (copied where links are not
possible) into the new report before the swap, so it is never deleted. A symbolic link is
never replaced, nor a folder that is not a report.

The hidden folders are named ``.NAME.simdeploy-new-PID-XXXX`` (being written) and
``.NAME.simdeploy-old-PID-XXXX`` (the earlier report, between the two renames of the swap).
The run that made one holds an advisory lock (``flock``) on it while it works; the kernel
drops the lock when the process dies, however it dies, so a hidden folder nobody holds was
left by a killed run (a PID would not tell: in a container every run may be PID 1). The next
run for the same folder removes it, and puts an earlier report back if the kill came between
the renames.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["ReportPathError", "check_folder_path", "check_out", "clean_stale", "make_parents",
           "new_work_folder",
           "publish", "release", "remove_created", "report_files"]

_held: dict[Path, int] = {}
"""Folders this process holds the lock of, and the descriptors that hold it."""


def _try_lock(path: Path) -> int | None:
    """A descriptor holding ``path``'s lock, or None when another process holds it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _hold(path: Path) -> None:
    fd = _try_lock(path)
    if fd is None:
        raise ReportPathError(f"{path} is being written by another run")
    _held[path] = fd


def release(path: Path) -> None:
    """Give up the lock this process holds on ``path`` (if any)."""
    fd = _held.pop(path, None)
    if fd is not None:
        os.close(fd)

_LEGACY_FILES = re.compile(r"(report\.html|summary\.csv|timeline\.(csv|parquet)|scenario\.yaml|"
                           r"meta\.json|figures/(comparison|tradeoff|timeline-[^/]+)\.(png|svg))")
"""What reports written before ``meta.json`` listed its files contained."""


class ReportPathError(ValueError):
    """``--out`` names something a report must not replace."""


def _hidden(out: Path, kind: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(out.name)}\.simdeploy-{kind}-(\d+)-[0-9a-f]+")


def make_parents(out: Path) -> list[Path]:
    """Create ``out``'s missing parent folders; the ones created, outermost first."""
    missing = [p for p in reversed(out.parents) if not p.exists()]
    for folder in missing:
        folder.mkdir()
    return missing


def remove_created(created: list[Path]) -> None:
    """Remove the folders :func:`make_parents` created, if still empty (a failed run)."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def new_work_folder(out: Path) -> Path:
    """A fresh hidden sibling of ``out`` to write the new report into."""
    work = out.parent / f".{out.name}.simdeploy-new-{os.getpid()}-{secrets.token_hex(4)}"
    work.mkdir()
    _hold(work)
    return work


def check_folder_path(out: str | Path, what: str, doing: str) -> Path:
    """``out`` as an absolute path, if it can name a folder of results at all.

    Raises:
        ReportPathError: ``out`` is the current folder, lies under a file, is a symbolic
            link or a file (``what`` names the folder's kind and ``doing`` the verb).
    """
    out = Path(out).absolute()
    if out.name in ("", ".", "..") or out == Path.cwd():
        raise ReportPathError(f"name a folder for the {what}, not the current one")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise ReportPathError(f"{parent} is not a directory")
    if out.is_symlink():
        raise ReportPathError(f"is a symbolic link: not {doing} it")
    if out.exists() and not out.is_dir():
        raise ReportPathError(f"exists and is not a folder: not {doing} it")
    return out


def check_out(out: str | Path, will_write: Iterable[str] = ()) -> Path:
    """The report folder, if writing it cannot destroy anything but an earlier report.

    Args:
        out: the folder to write.
        will_write: relative paths the new report will write; a user's file at one of them
            would be overwritten, so it is refused.

    Raises:
        ReportPathError: ``out`` is a symbolic link, a file, a folder that is not a
            simdeploy report, the current folder, lies under a file, or holds a file of the
            user's where the report would write.
    """
    out = check_folder_path(out, "report", "replacing")
    if out.exists():
        ours = _files_of_report(out)
        if ours is None:
            if any(out.iterdir()):
                raise ReportPathError("exists and is not a simdeploy report: not replacing it")
            return out
        for relative in will_write:
            path = out / relative
            for parent in reversed(Path(relative).parents[:-1]):
                if (out / parent).is_symlink():
                    raise ReportPathError(f"holds {parent.as_posix()} as a symbolic link, where "
                                          "the report writes a folder: move it away first")
            if relative not in ours and (path.exists() or path.is_symlink()):
                raise ReportPathError(f"holds {relative}, which is not from an earlier report "
                                      "and would be overwritten: move it away first")
    return out


def _files_of_report(folder: Path) -> set[str] | None:
    """The files simdeploy wrote into ``folder`` (relative, POSIX), or None if not a report."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or "simdeploy" not in meta.get("versions", {}):
        return None
    files = meta.get("files")
    if isinstance(files, list) and all(isinstance(f, str) for f in files):
        return set(files)
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if _LEGACY_FILES.fullmatch(p.relative_to(folder).as_posix())}


def report_files(work: Path) -> list[str]:
    """Every file under ``work``, relative and POSIX, sorted: the new report's manifest."""
    return sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())


def publish(work: Path, out: Path) -> None:
    """Swap ``work`` in as ``out``, carrying over every file of ``out`` simdeploy did not write.

    If the last rename fails, the earlier report is put back.
    """
    old = None
    if out.exists():
        ours = _files_of_report(out) or set()
        _carry_over(out, work, ours)
        old = out.parent / f".{out.name}.simdeploy-old-{os.getpid()}-{secrets.token_hex(4)}"
        _hold(out)  # the lock follows the folder through the rename
        out.rename(old)
        _held[old] = _held.pop(out)
    try:
        work.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
            release(old)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
        release(old)


def _carry_over(old: Path, new: Path, ours: set[str]) -> None:
    """Link (or copy) into ``new`` every entry of ``old`` that is not one of ``ours``."""
    for dirpath, dirnames, filenames in os.walk(old, followlinks=False):
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            source = here / name
            relative = source.relative_to(old).as_posix()
            target = new / relative
            if source.is_dir() and not source.is_symlink():
                target.mkdir(parents=True, exist_ok=True)  # descended into by os.walk
                continue
            if relative in ours:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target, follow_symlinks=False)
            except OSError:
                if source.is_symlink():
                    os.symlink(os.readlink(source), target)
                else:
                    shutil.copy2(source, target)


def clean_stale(out: str | Path, notice: Callable[[str], None] | None = None) -> None:
    """Remove the hidden folders that killed runs left beside ``out``, saying so.

    A folder whose process still runs is left alone (another report may be on its way). An
    earlier report caught between the two renames of a swap is put back as ``out``.
    """
    out = Path(out).absolute()
    parent = out.parent
    if not parent.is_dir():
        return
    patterns = {kind: _hidden(out, kind) for kind in ("new", "old")}
    for entry in sorted(parent.iterdir()):
        for kind, pattern in patterns.items():
            if pattern.fullmatch(entry.name) is None or entry.is_symlink() or entry in _held:
                continue
            fd = _try_lock(entry)
            if fd is None:  # its run is still working
                continue
            try:
                if kind == "old" and not out.exists() and not out.is_symlink():
                    entry.rename(out)
                    _say(notice, f"restored the earlier report {out} from {entry.name}, "
                                 "left by an interrupted run")
                else:
                    shutil.rmtree(entry, ignore_errors=True)
                    _say(notice, f"removed {entry}, left by an interrupted run")
            finally:
                os.close(fd)


def _say(notice: Callable[[str], None] | None, text: str) -> None:
    if notice is not None:
        notice(text)
