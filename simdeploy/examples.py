"""The shipped scenarios, reachable from any install (they are package data).

``simdeploy scenarios`` lists them and ``simdeploy scenarios copy DIR`` writes them out, so a
user who installed simdeploy from a wheel has the documented examples to start from.
"""

from __future__ import annotations

import errno
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import yaml

__all__ = ["copy_scenarios", "shipped_scenarios"]


def shipped_scenarios() -> list[Traversable]:
    """The shipped scenario files, by name."""
    folder = resources.files("simdeploy") / "scenarios"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")),
                  key=lambda f: f.name)


def describe(file: Traversable) -> str:
    """The scenario's ``description`` (one line), or its name."""
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    return str(data.get("description") or data.get("name") or file.name)


def copy_scenarios(destination: Path) -> list[Path]:
    """Write every shipped scenario into ``destination`` (created if needed).

    Nothing is overwritten: if any file is already there, nothing is written at all.

    Raises:
        FileExistsError: a scenario file of that name is already in ``destination``.
        OSError: the folder cannot be created or written.
    """
    if destination.exists() and not destination.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(destination))
    files = shipped_scenarios()
    targets = [destination / f.name for f in files]
    for target in targets:
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, "already exists", str(target))
    destination.mkdir(parents=True, exist_ok=True)
    for file, target in zip(files, targets):
        with target.open("x", encoding="utf-8") as out:  # never replaces a file
            out.write(file.read_text(encoding="utf-8"))
    return targets
