"""CI runs every test: under ``CI`` a skip fails (tests/conftest.py), and .ci/run refuses to go
on without the Chromium the browser test needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _pytest(folder: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(folder)], capture_output=True, text=True, env=env, timeout=120,
                          check=False, cwd=folder)


def test_a_skip_fails_under_ci_and_only_there(tmp_path: Path) -> None:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_skipping.py").write_text(
        "import pytest\n\ndef test_needs_a_browser():\n    pytest.skip('no browser')\n",
        encoding="utf-8")
    local = _pytest(tmp_path, ci=False)
    assert local.returncode == 0, local.stdout
    assert "1 skipped" in local.stdout
    ci = _pytest(tmp_path, ci=True)
    assert ci.returncode == 1, ci.stdout
    assert "skipped in CI, which must run every test: Skipped: no browser" in ci.stdout


def test_ci_fails_when_chromium_cannot_be_installed(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "apt-get"
    fake.write_text("#!/bin/sh\nexit 100\n", encoding="utf-8")
    fake.chmod(0o755)
    done = subprocess.run(["/bin/bash", str(HERE.parent / ".ci" / "chromium")],
                          env={"PATH": str(bin_dir)}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "chromium could not be installed" in done.stderr
    assert "bash .ci/chromium" in (HERE.parent / ".ci" / "run").read_text(encoding="utf-8")
