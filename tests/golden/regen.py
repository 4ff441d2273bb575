"""Regenerate the golden summaries of every shipped scenario: ``python tests/golden/regen.py``.

The only way to update ``tests/golden/summaries.json``. Review the diff before committing it:
a changed number is a changed answer. NumPy promises the same random stream only on the same
build (NEP 19), so the file records the NumPy version it was made with, and the golden test
skips on a different major.minor.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

import simdeploy as sd

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("summaries.json")


def summaries() -> dict[str, list[dict]]:
    """Every shipped scenario's comparison at its own seed, one record per strategy."""
    out = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = sd.load_scenario(path)
        table = sd.compare(scenario, seed=scenario.seed)
        records = table.to_dict(orient="records")
        out[path.name] = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in records
        ]
    return out


def main() -> int:
    """Write the golden file."""
    payload = {"numpy": np.__version__, "simdeploy": sd.__version__, "scenarios": summaries()}
    GOLDEN.write_text(json.dumps(payload, indent=1, default=float) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {GOLDEN}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
