"""Student-t intervals, paired and unpaired differences, against hand-computed values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from simdeploy.statistics import summarize, t_interval, welch_half_width


def test_t_interval_matches_the_table() -> None:
    # n = 5, variance 2.5: t(0.975, 4) = 2.776445 (any t table), half-width t·sqrt(2.5 / 5)
    values = [8.0, 9.0, 10.0, 11.0, 12.0]
    mean, half = t_interval(values, 0.95)
    assert mean == pytest.approx(10.0)
    assert half == pytest.approx(2.776445 * math.sqrt(0.5), rel=1e-5)
    # 90 %: t(0.95, 4) = 2.131847
    assert t_interval(values, 0.90)[1] == pytest.approx(2.131847 * math.sqrt(0.5), rel=1e-5)


def test_one_value_has_no_interval_and_nan_is_left_out() -> None:
    assert t_interval([3.0])[0] == 3.0
    assert math.isnan(t_interval([3.0])[1])
    mean, half = t_interval([1.0, math.nan, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(12.706205 * math.sqrt(2) / math.sqrt(2), rel=1e-5)
    assert all(math.isnan(v) for v in t_interval([math.nan]))


def test_level_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="level"):
        t_interval([1.0, 2.0], 95)


# ---------------------------------------------------------------------------------------------
# summarize: intervals per strategy, paired differences against a baseline


def _hand_table() -> pd.DataFrame:
    """Two strategies on seeds 0–3, rows shuffled (pairing must go by seed, not by row)."""
    a = {"users_with_errors": [10, 12, 14, 20], "rollout_duration_s": [5.0, 6.0, 7.0, 8.0],
         "peak_pods_scheduled": [5, 5, 6, 6], "extra_scheduled_pod_seconds": [0.0] * 4}
    b = {"users_with_errors": [13, 14, 18, 23], "rollout_duration_s": [6.0, math.nan, 9.0, 9.0],
         "peak_pods_scheduled": [5, 6, 6, 5], "extra_scheduled_pod_seconds": [10.0] * 4}
    rows = [{"strategy": name, "replication": seed, "seed": seed, "outcome": "completed",
             "progress_deadline_exceeded": False,
             **{key: values[seed] for key, values in columns.items()}}
            for name, columns in (("a", a), ("b", b)) for seed in range(4)]
    order = [7, 2, 5, 0, 4, 3, 6, 1]  # b's seed 3 first, a and b interleaved
    return pd.DataFrame([rows[i] for i in order])


def _row(frame: pd.DataFrame, strategy: str, metric: str) -> pd.Series:
    (index,) = frame.index[(frame["strategy"] == strategy) & (frame["metric"] == metric)]
    return frame.loc[index]


def test_summarize_means_and_intervals_per_strategy() -> None:
    frame = summarize(_hand_table())
    assert list(frame.columns) == ["strategy", "metric", "n", "mean", "std", "half_width",
                                   "low", "high"]
    # strategies in the table's order of appearance: b's row comes first
    assert list(pd.unique(frame["strategy"])) == ["b", "a"]
    row = _row(frame, "b", "users_with_errors")
    # b: 13, 14, 18, 23: mean 17, s² = (16 + 9 + 1 + 36) / 3 = 62/3, t(0.975, 3) = 3.182446
    assert row["n"] == 4
    assert row["mean"] == pytest.approx(17.0)
    assert row["std"] == pytest.approx(math.sqrt(62 / 3))
    assert row["half_width"] == pytest.approx(3.182446 * math.sqrt(62 / 3) / 2, rel=1e-6)
    assert (row["low"], row["high"]) == pytest.approx((17 - row["half_width"],
                                                       17 + row["half_width"]))
    # a run without a value is left out, and n says so
    row = _row(frame, "b", "rollout_duration_s")
    assert (row["n"], row["mean"]) == (3, pytest.approx(8.0))


def test_summarize_default_metrics_are_the_numeric_summary_columns() -> None:
    table = _hand_table().assign(requests_refused=3, requests_total=100, note="x")
    metrics = list(pd.unique(summarize(table)["metric"]))
    assert metrics == ["users_with_errors", "rollout_duration_s", "peak_pods_scheduled",
                       "extra_scheduled_pod_seconds", "requests_refused", "requests_total"]
    assert "outcome" not in metrics  # a category
    assert "progress_deadline_exceeded" not in metrics  # a boolean
    assert list(pd.unique(summarize(table, metrics=["requests_refused"])["metric"])) == [
        "requests_refused"]


def test_summarize_pairs_by_seed_against_the_baseline() -> None:
    frame = summarize(_hand_table(), baseline="a")
    row = _row(frame, "b", "users_with_errors")
    # per-seed differences b − a: 3, 2, 4, 3: mean 3, s² = 2/3
    assert row["diff_n"] == 4
    assert row["diff_mean"] == pytest.approx(3.0)
    assert row["diff_half_width"] == pytest.approx(1.299228, rel=1e-6)  # 3.182446·√(2/3)/2
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((3 - 1.299228, 3 + 1.299228),
                                                                rel=1e-6)
    assert row["significant"]
    # unpaired (Welch): s_a² = 56/3, s_b² = 62/3, se = √((56/3 + 62/3) / 4) = 3.135815,
    # Welch–Satterthwaite df = 9.8333² / ((14/3)² / 3 + (31/6)² / 3) = 5.9845,
    # t(0.975, 5.9845) = 2.448446 (between t(5) = 2.5706 and t(6) = 2.4469)
    assert row["unpaired_half_width"] == pytest.approx(2.448446 * 3.135815, rel=1e-5)
    assert row["paired_over_unpaired"] == pytest.approx(1.299228 / (2.448446 * 3.135815),
                                                        rel=1e-5)


def test_summarize_leaves_out_seeds_without_a_value_and_flags_only_what_excludes_zero() -> None:
    frame = summarize(_hand_table(), baseline="a")
    # b has no duration on seed 1: pairs on seeds 0, 2, 3, differences 1, 2, 1: mean 4/3,
    # s² = 1/3, t(0.975, 2) = 4.302653, half-width 4.302653·√(1/3)/√3 = 4.302653/3
    row = _row(frame, "b", "rollout_duration_s")
    assert row["diff_n"] == 3
    assert row["diff_mean"] == pytest.approx(4 / 3)
    assert row["diff_half_width"] == pytest.approx(4.302653 / 3, rel=1e-6)
    assert not row["significant"]  # 1.33 ± 1.43 contains 0
    # differences 0, 1, 0, −1: mean 0, not significant
    row = _row(frame, "b", "peak_pods_scheduled")
    assert row["diff_mean"] == 0
    assert not row["significant"]
    # a constant difference of 10: a zero-width interval that excludes 0
    row = _row(frame, "b", "extra_scheduled_pod_seconds")
    assert (row["diff_mean"], row["diff_half_width"]) == (10.0, 0.0)
    assert row["significant"]
    assert row["unpaired_half_width"] == 0.0
    assert math.isnan(row["paired_over_unpaired"])
    # the baseline has no difference from itself
    base = frame[frame["strategy"] == "a"]
    assert base["diff_mean"].isna().all()
    assert not base["significant"].any()
    assert (base["diff_n"] == 0).all()


def test_summarize_refuses_what_it_cannot_pair() -> None:
    table = _hand_table()
    with pytest.raises(ValueError, match="no strategy 'c'"):
        summarize(table, baseline="c")
    with pytest.raises(ValueError, match="more than one run with seed"):
        summarize(pd.concat([table, table]), baseline="a")
    with pytest.raises(ValueError, match="no column 'nope'"):
        summarize(table, metrics=["nope"])
    with pytest.raises(ValueError, match="level"):
        summarize(table, level=95)


def test_welch_half_width_edges() -> None:
    assert math.isnan(welch_half_width([1.0], [1.0, 2.0]))
    assert welch_half_width([1.0, 1.0], [2.0, 2.0]) == 0.0
    # equal sizes and variances: df = 2(n − 1), the pooled interval
    assert welch_half_width([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]) == pytest.approx(
        2.776445 * math.sqrt(2 / 3), rel=1e-6)


@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=2,
                max_size=12),
       st.randoms(use_true_random=False))
def test_paired_half_width_is_the_one_sample_half_width_of_the_differences(
        pairs: list[tuple[float, float]], rng: Any) -> None:
    seeds = list(range(100, 100 + len(pairs)))
    rows = ([{"strategy": "base", "seed": s, "users_with_errors": b}
             for s, (b, _) in zip(seeds, pairs)]
            + [{"strategy": "other", "seed": s, "users_with_errors": o}
               for s, (_, o) in zip(seeds, pairs)])
    rng.shuffle(rows)
    frame = summarize(pd.DataFrame(rows), 0.9, baseline="base")
    row = _row(frame, "other", "users_with_errors")
    d = np.array([o - b for b, o in pairs])
    expected = stats.t.ppf(0.95, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert row["diff_n"] == len(d)
    assert row["diff_mean"] == pytest.approx(d.mean(), abs=1e-9)
    assert row["diff_half_width"] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert row["significant"] == bool(abs(d.mean()) > expected)
