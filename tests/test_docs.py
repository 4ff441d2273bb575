"""The README's figure is made by code, and that code runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_figure_script_makes_the_figure(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("readme_figure",
                                                  ROOT / "docs" / "readme_figure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "comparison.png"
    assert module.main(["--out", str(out), "--replications", "1"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "docs/comparison.png" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert (ROOT / "docs" / "comparison.png").stat().st_size > 10_000
