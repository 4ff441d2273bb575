"""Sequential stopping: replicate until the intervals are narrow enough, or the cap."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import simdeploy as sd
from simdeploy import sequential


def _one_strategy(tiny_mapping: dict[str, Any]) -> sd.Scenario:
    tiny_mapping["duration"] = 40
    tiny_mapping["strategies"] = {"rolling": tiny_mapping["strategies"]["rolling"],
                                  "recreate": {"type": "Recreate"}}
    return sd.load_scenario(tiny_mapping)


def test_stops_after_the_first_round_when_the_target_is_met(
        tiny_mapping: dict[str, Any]) -> None:
    scenario = _one_strategy(tiny_mapping)
    done = sd.compare_until(scenario, {"latency_p50_ms": 1e9}, min_replications=2,
                            max_replications=5, seed=3)
    assert (done.met, done.replications) == (True, 2)
    assert_frame_equal(done.table, sd.compare(scenario, replications=2, seed=3))
    assert done.widths["met"].all()
    assert list(done.widths["strategy"]) == ["rolling", "recreate"]


def test_stops_at_the_cap_with_the_same_table_as_one_comparison(
        tiny_mapping: dict[str, Any]) -> None:
    scenario = _one_strategy(tiny_mapping)
    done = sd.compare_until(scenario, {"latency_p50_ms": 1e-9}, min_replications=2,
                            max_replications=3)
    assert (done.met, done.replications) == (False, 3)
    # rounds of 2 then 1 replications: seeds 0, 1 then 2, numbered on, strategies in order
    assert_frame_equal(done.table, sd.compare(scenario, replications=3))
    assert len(done.unmet()) == 2
    assert (done.unmet()["half_width"] > 1e-9).all()


class _FakeRuns:
    """compare() stand-in: one strategy whose metric is +1 on even seeds and −1 on odd."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, scenario: Any, strategies: list[str], replications: int, seed: int,
                 progress: Any = None, **options: Any) -> pd.DataFrame:
        self.calls.append((seed, replications))
        rows = [{"strategy": name, "replication": r, "seed": seed + r,
                 "latency_p50_ms": 1.0 if (seed + r) % 2 == 0 else -1.0}
                for name in strategies for r in range(replications)]
        if progress is not None:
            for i in range(len(rows)):
                progress(i + 1, len(rows))
        return pd.DataFrame(rows)


class _Scenario:
    strategies: ClassVar[dict[str, None]] = {"only": None}


def _half_width(n: int) -> float:
    from scipy import stats

    values = [1.0 if s % 2 == 0 else -1.0 for s in range(n)]
    mean = sum(values) / n
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return stats.t.ppf(0.975, n - 1) * spread / math.sqrt(n)


def test_rounds_grow_from_the_widest_interval_until_the_target_is_met(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeRuns()
    monkeypatch.setattr(sequential, "compare", fake)
    seen: list[tuple[int, int]] = []
    done = sequential.compare_until(_Scenario(), {"latency_p50_ms": 0.3}, min_replications=5,
                                    max_replications=100,
                                    progress=lambda d, t: seen.append((d, t)))
    # half-width at 5 runs: t(0.975, 4) 2.776 · s 1.095 / √5 = 1.360, so 5 · (1.360/0.3)²
    # ≈ 103 wanted, but a round at most doubles: 5 → 10 (0.754) → 20 (0.480) → 40 (0.324),
    # then 40 · (0.324/0.3)² = 46.6 → 47 (0.297 < 0.3), a last round of 7
    starts = [seed for seed, _ in fake.calls]
    sizes = [size for _, size in fake.calls]
    assert starts == [sum(sizes[:i]) for i in range(len(sizes))]  # each round at the next seed
    assert sizes == [5, 5, 10, 20, 7]
    assert done.met
    assert done.replications == sum(sizes)
    assert _half_width(done.replications) < 0.3
    before = done.replications - sizes[-1]
    assert _half_width(before) >= 0.3  # it did not stop late...
    assert list(done.table["seed"]) == list(range(done.replications))
    assert seen[-1] == (done.replications, done.replications)  # progress counts every run
    assert all(d <= t for d, t in seen)


def test_the_cap_bounds_the_last_round(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeRuns()
    monkeypatch.setattr(sequential, "compare", fake)
    done = sequential.compare_until(_Scenario(), {"latency_p50_ms": 0.01}, min_replications=4,
                                    max_replications=11)
    assert [size for _, size in fake.calls] == [4, 4, 3]
    assert (done.met, done.replications) == (False, 11)


@pytest.mark.parametrize(("targets", "bounds", "message"), [
    ({}, (5, 10), "at least one target"),
    ({"users_with_errors": 0}, (5, 10), "positive number"),
    ({"users_with_errors": math.nan}, (5, 10), "positive number"),
    ({"outcome": 1}, (5, 10), "no numeric summary metric 'outcome'"),
    ({"users_with_errors": 1}, (1, 10), "min_replications must be >= 2"),
    ({"users_with_errors": 1}, (5, 4), "max_replications must be >= min_replications"),
])
def test_bad_requests_fail_before_any_run(targets: dict[str, float], bounds: tuple[int, int],
                                          message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeRuns()
    monkeypatch.setattr(sequential, "compare", fake)
    with pytest.raises(ValueError, match=message):
        sequential.compare_until(_Scenario(), targets, min_replications=bounds[0],
                                 max_replications=bounds[1])
    assert fake.calls == []
