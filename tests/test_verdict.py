"""The verdict, the interval table and what `simdeploy compare` prints with them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from simdeploy.cli import main
from simdeploy.summary_table import format_interval, interval_table
from simdeploy.verdict import pareto_front, verdict


def _table() -> pd.DataFrame:
    """Four strategies on seeds 0–4, numbers chosen so each sentence can be worked by hand."""
    columns = {  # capacity (extra scheduled pod·s), users with errors
        "cheap": ([0, 0, 0, 0, 0], [100, 110, 90, 105, 95]),
        "middle": ([10, 11, 9, 10, 10], [50, 60, 40, 55, 45]),
        "safe": ([100, 101, 99, 100, 100], [20, 30, 10, 25, 15]),
        "twin": ([100, 102, 98, 101, 99], [22, 27, 14, 24, 18]),
    }
    rows = []
    for name, (capacity, users) in columns.items():
        for seed in range(5):
            failed = users[seed]
            kinds = ({"requests_refused": 0.6 * failed, "requests_error": 0.3 * failed,
                      "requests_no_endpoint": 0.1 * failed} if name == "cheap"
                     else {"requests_refused": 0, "requests_error": failed,
                           "requests_no_endpoint": 0})
            rows.append({"strategy": name, "replication": seed, "seed": seed,
                         "outcome": "aborted" if (name, seed) == ("twin", 4) else "completed",
                         "extra_scheduled_pod_seconds": float(capacity[seed]),
                         "users_with_errors": users[seed], "users_total": 1000,
                         "requests_failed": failed, "requests_overload": 0,
                         "requests_killed": 0, "requests_timeout": 0, **kinds})
    return pd.DataFrame(rows)


def test_verdict_sentences_from_a_hand_built_table() -> None:
    # t(0.975, 4) = 2.776445; half-width = t · s / √5
    # capacity: middle and safe s = √(2/4) → 0.878; twin s = √(10/4) → 1.963
    # users: safe and middle and cheap s = √62.5 → 9.82 (printed rounded up: 10); twin s = √26
    # → 6.33 (7); twin − safe per seed 2, −3, 4, −1, 3: mean 1, s = √8.5 → 3.62 (4)
    # capacity twin − safe: 0, 1, −1, 1, −1: mean 0, s = 1 → 1.24
    assert verdict(_table()) == [
        "Not every rollout completed: twin aborted in 1 of 5 runs (aborted: a gate or an undo "
        "rolled back; stalled: not finished by the end).",
        "Cheapest in capacity: cheap, 0.0 ± 0.0 extra scheduled pod-seconds (mean ± 95 % "
        "half-width over 5 replications). Then middle 10.0 ± 0.9, safe 100.0 ± 0.9, "
        "twin 100.0 ± 2.0.",
        "Fewest users hurt: safe, 20 ± 10 users with errors, of 1,000 users (2 %). Not "
        "distinguishable from it at 95 %: twin (21 ± 7; paired difference +1 ± 4). Then "
        "middle 50 ± 10, cheap 100 ± 10.",
        "On the Pareto front of capacity against users hurt, from cheapest to safest: "
        "cheap → middle → safe.",
        "Trade-offs along the front (paired by seed, 95 %): middle over cheap: +10.0 ± 0.9 "
        "extra scheduled pod-seconds and −50 ± 0 users with errors — a real trade-off, both "
        "differences significant at 95 %; safe over middle: +90.0 ± 0.0 extra scheduled "
        "pod-seconds and −30 ± 0 users with errors — a real trade-off, both differences "
        "significant at 95 %.",
        "twin is off the front, safe being no worse on both: twin has 0.0 ± 1.2 extra "
        "scheduled pod-seconds and +1 ± 4 users with errors, neither significant at 95 %: the "
        "two cannot be told apart.",
        "Failed requests: cheap 100 per run (60 % refused, 30 % 5xx, 10 % no endpoint); "
        "middle 50 per run (100 % 5xx); safe 20 per run (100 % 5xx); twin 21 per run "
        "(100 % 5xx).",
    ]


def test_verdict_judges_a_step_that_is_real_on_one_axis_only() -> None:
    table = _table()
    table = table[table["strategy"] != "twin"].copy()
    # safe now spares middle's users only by noise: −1, −12, +9, −6, +4 from middle's, mean
    # −1.2, s = √(270.8/4) = 8.23, half-width 2.776445 · 8.23 / √5 = 10.2 (printed 11)
    safe = table["strategy"] == "safe"
    table.loc[safe, "users_with_errors"] = [50 - 1, 60 - 12, 40 + 9, 55 - 6, 45 + 4]
    sentences = verdict(table)
    step = next(s for s in sentences if s.startswith("Trade-offs along the front"))
    assert ("safe over middle: +90.0 ± 0.0 extra scheduled pod-seconds and −1 ± 11 users "
            "with errors — the capacity is a real cost, the users spared are within the "
            "noise") in step


def test_verdict_of_single_runs_tests_nothing_and_says_so() -> None:
    table = _table()
    table = table[table["replication"] == 0]
    sentences = verdict(table)
    assert sentences[0].startswith("Cheapest in capacity: cheap, 0.0 extra scheduled "
                                   "pod-seconds. Then middle 10.0")
    assert "±" not in " ".join(sentences[:3])
    assert sentences[2] == (
        "On the Pareto front of capacity against users hurt, from cheapest to safest: cheap → "
        "middle → safe. With one replication per strategy no difference can be tested at "
        "95 %; these are single runs.")
    assert not any("significant" in s for s in sentences)


def test_verdict_needs_the_two_costs() -> None:
    with pytest.raises(ValueError, match="users_with_errors"):
        verdict(_table().drop(columns="users_with_errors"))
    with pytest.raises(ValueError, match="empty"):
        verdict(_table().iloc[:0])


def test_pareto_front_in_order_of_the_first_cost() -> None:
    assert pareto_front([5, 0, 10, 6, 5], [5, 10, 0, 6, 5]) == [1, 0, 4, 2]
    assert pareto_front([1, float("nan")], [1, 0]) == [0]


def test_interval_cells_round_counts_as_whole_numbers_and_mark_differences() -> None:
    assert format_interval("users_with_errors", 20.4, 9.1) == "20 ± 10"  # half-width rounded up
    assert format_interval("users_with_errors", 20.4, 0.0) == "20 ± 0"
    assert format_interval("users_with_errors", 3.0, 0.2) == "3 ± 1"  # never "± 0" if not 0
    assert format_interval("error_rate", 0.01234, 0.0005) == "1.234 ± 0.050"
    assert format_interval("downtime_s", 4.04, float("nan")) == "4.0"
    assert format_interval("extra_cost", 0.00145, 1.6e-19) == "0.00145 ± 0"  # float dust
    assert format_interval("extra_cost", 0.00145, 0.0002) == "0.00145 ± 0.0002"
    full = _table().assign(downtime_s=0.0, error_rate=0.0, users_exposed_new=900,
                           peak_pods_scheduled=3, peak_pods_pending=0, extra_cost=0.0,
                           rollout_duration_s=10.0, latency_p99_ms=100.0)
    cells = interval_table(full, baseline="cheap").set_index("strategy")
    assert cells.loc["cheap", "users w/ errors"] == "100 ± 10"  # the baseline: no mark
    assert cells.loc["middle", "users w/ errors"] == "50 ± 10*"
    assert cells.loc["middle", "extra pod·s"] == "10.0 ± 0.9*"
    assert cells.loc["middle", "peak pods"] == "3 ± 0"  # no difference: no mark
    cells = interval_table(full, baseline="safe").set_index("strategy")
    assert cells.loc["twin", "users w/ errors"] == "21 ± 7"  # +1 ± 4: not significant
    single = interval_table(full[full["replication"] == 0])
    assert single["users w/ errors"].tolist() == [100, 50, 20, 22]  # bare whole numbers


# ---------------------------------------------------------------------------------------------
# the command line


@pytest.fixture
def small_file(tiny_mapping: dict[str, Any], tmp_path: Path) -> Path:
    tiny_mapping["duration"] = 40
    tiny_mapping["strategies"] = {"recreate": {"type": "Recreate"},
                                  "rolling": tiny_mapping["strategies"]["rolling"]}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(tiny_mapping), encoding="utf-8")
    return path


def test_compare_prints_intervals_marks_a_legend_the_verdict_and_a_warning(
        small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(small_file), "--replications", "3", "--baseline",
                 "rolling", "--level", "0.9"]) == 0
    out, err = capsys.readouterr()
    assert err == ("simdeploy: warning: only 3 replications per strategy: differences between "
                   "strategies may be noise (use --replications 5 or more)\n")
    lines = out.splitlines()
    assert lines[0] == "tiny: 3 replicas, 3 replications from seed 0"
    assert re.search(r"\d+ ± \d+", lines[2])
    assert "  ± half-width of the 90 % t-interval of the mean over 3 replications" in lines
    assert ("  * differs from rolling at 90 % (paired by seed: the interval of the per-seed "
            "differences excludes 0)") in lines
    assert "Verdict:" in lines
    verdict_text = out[out.index("Verdict:"):]
    assert "Cheapest in capacity: recreate" in verdict_text
    assert "90 %" in verdict_text
    assert main(["compare", str(small_file), "--replications", "3", "--quiet"]) == 0
    assert capsys.readouterr().err == ""  # --quiet: no warning either


def test_compare_json_adds_the_summary_and_the_verdict(
        small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(small_file), "--replications", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # JSON carries its warning inside
    document = json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert list(document)[:4] == ["scenario", "seed", "replications", "runs"]
    assert len(document["runs"]) == 4
    assert (document["level"], document["baseline"]) == (0.95, "recreate")
    assert document["warnings"] == ["only 2 replications per strategy: differences between "
                                    "strategies may be noise (use --replications 5 or more)"]
    rows = {(r["strategy"], r["metric"]): r for r in document["summary"]}
    row = rows[("rolling", "users_with_errors")]
    assert {"n", "mean", "half_width", "diff_mean", "diff_half_width", "significant",
            "unpaired_half_width", "paired_over_unpaired"} <= set(row)
    assert row["n"] == 2
    assert rows[("recreate", "users_with_errors")]["diff_mean"] is None  # the baseline
    assert ("rolling", "outcome") not in rows
    assert document["verdict"][0].startswith("Cheapest in capacity:")


def test_compare_until_targets_from_the_command_line(
        small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(small_file), "--target", "latency_p50_ms=1e9",
                 "--replications", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "tiny: 3 replicas, 2 replications from seed 0" in out
    assert re.search(r"^targets met after 2 replications: widest latency_p50_ms ± [\d.]+ "
                     r"\(target 1e\+09, \w+\)$", out, re.MULTILINE)
    assert main(["compare", str(small_file), "--target", "latency_p50_ms=1e-9",
                 "--replications", "2", "--max-replications", "3", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["replications"] == 3
    assert document["targets"]["met"] is False
    assert document["targets"]["half_widths"] == {"latency_p50_ms": 1e-9}
    assert [r["seed"] for r in document["runs"]] == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "outcome=3"], "argument --target: no numeric summary metric 'outcome'"),
    (["--target", "users_with_errors"], "expected METRIC=HALF_WIDTH"),
    (["--target", "users_with_errors=-1"], "must be > 0"),
    (["--level", "95"], "argument --level: must be between 0 and 1"),
    (["--max-replications", "9"], "--max-replications: only with --target"),
    (["--baseline", "nope"], "--baseline: no strategy 'nope' (known: recreate, rolling)"),
    (["--target", "users_with_errors=5", "--replications", "1"], "at least 2 replications"),
])
def test_bad_statistics_flags_are_one_line_errors(small_file: Path, args: list[str],
                                                  message: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["compare", str(small_file), *args])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
