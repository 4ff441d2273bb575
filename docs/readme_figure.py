"""Make the README's comparison figure from a shipped scenario: ``python docs/readme_figure.py``."""

from __future__ import annotations

import argparse
from pathlib import Path

import simdeploy as sd

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Write the figure (``--out``, default docs/comparison.png)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "comparison.png")
    parser.add_argument("--replications", type=int, default=3)
    args = parser.parse_args(argv)
    scenario = sd.load_scenario(ROOT / "scenarios" / "web-api.yaml")
    table = sd.compare(scenario, replications=args.replications, seed=scenario.seed)
    figure = sd.plots.plot_comparison(table, title=f"Strategies compared on {scenario.name}")
    figure.savefig(args.out, dpi=90, bbox_inches="tight")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
