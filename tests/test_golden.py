"""The shipped scenarios keep giving the same answers (regression check).

Regenerate with ``python tests/golden/regen.py`` only when a change of answer is intended.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).with_name("golden")))
from regen import GOLDEN, summaries

golden = json.loads(GOLDEN.read_text(encoding="utf-8"))


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def test_goldens_were_made_with_this_numpy() -> None:
    """NumPy promises the same stream only on the same build (NEP 19): the test extra pins the
    NumPy the goldens were made with, so a moved NumPy fails here instead of skipping."""
    assert np.__version__ == golden["numpy"], (
        f"golden summaries were made with numpy {golden['numpy']}, this is {np.__version__}: "
        "install the pinned test extra, or regenerate with tests/golden/regen.py and review")


@pytest.mark.skipif(
    _major_minor(np.__version__) != _major_minor(golden["numpy"]),
    reason=f"golden summaries were made with numpy {golden['numpy']}; "
    f"numpy {np.__version__} may draw another stream (NEP 19)",
)
def test_shipped_scenarios_give_the_golden_answers() -> None:
    now = summaries()
    assert sorted(now) == sorted(golden["scenarios"])
    for name, records in golden["scenarios"].items():
        assert len(now[name]) == len(records), name
        for expected, got in zip(records, now[name]):
            for key, value in expected.items():
                actual = got[key]
                where = f"{name} {expected['strategy']} {key}"
                if value is None:
                    assert actual is None, where
                elif isinstance(value, float):
                    assert actual == pytest.approx(value, rel=1e-9, abs=1e-9), where
                else:
                    assert actual == value, where
