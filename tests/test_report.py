"""The report folder: complete, consistent with compare, atomic, and readable in a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from builders import with_ab_segments

import simdeploy as sd
from simdeploy.cli import main
from simdeploy.report import write_report
from simdeploy.summary_table import interval_table


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.tables: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "table":
            self.tables.append(attrs.get("id", ""))


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[sd.Scenario, Path]:
    mapping = {
        "name": "small", "description": "a small report", "duration": 90,
        "deployment": {"replicas": 3},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 40}, "users": 200},
        "release": {"at": 10},
        "strategies": {"recreate": {"type": "Recreate"},
                       "rolling": {"type": "RollingUpdate"},
                       "bg": {"type": "BlueGreen", "scaleDownDelaySeconds": 10}},
    }
    folder = tmp_path_factory.mktemp("scn")
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return sd.load_scenario(path), path


@pytest.fixture(scope="module")
def one_strategy(tmp_path_factory) -> Path:
    """A one-strategy scenario file, for tests about folders rather than content."""
    mapping = {"name": "one", "duration": 30, "release": {"at": 10},
               "traffic": {"arrivals": {"type": "poisson", "rateRps": 10}},
               "strategies": {"recreate": {"type": "Recreate"}}}
    path = tmp_path_factory.mktemp("one") / "one.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(small, tmp_path_factory) -> Path:
    scenario, path = small
    out = tmp_path_factory.mktemp("out") / "results" / "demo"
    return write_report(scenario, out, replications=2, seed=5, source=str(path))


def test_report_folder_has_every_file(report: Path) -> None:
    names = {p.relative_to(report).as_posix() for p in report.rglob("*")}
    assert {"report.html", "summary.csv", "scenario.yaml", "meta.json", "figures"} <= names
    assert "timeline.csv" in names or "timeline.parquet" in names
    for stem in ("comparison", "tradeoff", "timeline-recreate", "timeline-rolling",
                 "timeline-bg"):
        assert (report / "figures" / f"{stem}.png").stat().st_size > 1000
        assert (report / "figures" / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_summary_matches_compare(report: Path, small) -> None:
    scenario, _ = small
    written = pd.read_csv(report / "summary.csv")
    fresh = sd.compare(scenario, replications=2, seed=5)
    assert list(written.strategy) == list(fresh.strategy)
    for key in ("requests_total", "requests_failed", "peak_pods", "users_with_errors"):
        assert written[key].tolist() == fresh[key].tolist()
    assert written.downtime_s.tolist() == pytest.approx(fresh.downtime_s.tolist())


def test_html_is_self_contained_with_table_figures_scenario_and_versions(report, small) -> None:
    scenario, _ = small
    text = (report / "report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert len(page.images) == 5
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert {"summary", "runs"} <= set(page.tables)
    # the table shows the same cells as `simdeploy compare`: mean ± half-width
    cells = interval_table(sd.compare(scenario, replications=2, seed=5))
    start = text.index('id="summary"')
    summary_html = text[start:text.index("</table>", start)]
    for column in ("failed req", "users w/ errors", "peak pods", "extra pod·s"):
        for value in cells[column]:
            assert " ± " in value
            assert f"<td>{value}</td>" in summary_html, (column, value)
    effective = yaml.safe_load((report / "scenario.yaml").read_text())
    assert effective["pod"]["terminationGracePeriodSeconds"] == 30  # defaults filled in
    assert sd.load_scenario(effective) == scenario
    meta = json.loads((report / "meta.json").read_text())
    assert meta["seeds"] == [5, 6]
    assert {"simdeploy", "numpy", "simpy", "python"} <= set(meta["versions"])
    for word in ("numpy", "simpy", "terminationGracePeriodSeconds"):
        assert word in text


def test_report_opens_with_the_verdict_and_notes_few_replications(report, small) -> None:
    import html

    from simdeploy.verdict import verdict

    scenario, _ = small
    first = next(iter(scenario.strategies))  # the baseline by default
    text = (report / "report.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2>(.*?)</h2>", text)
    assert headings[:3] == ["Verdict", "Summary", f"Differences from {first}"]
    verdict_html = text[text.index("<h2>Verdict</h2>"):text.index("<h2>Summary</h2>")]
    assert ("<strong>Note:</strong> only 2 replications per strategy: differences between "
            "strategies may be noise") in verdict_html
    for sentence in verdict(sd.compare(scenario, replications=2, seed=5)):
        assert f"<li>{html.escape(sentence)}</li>" in verdict_html
    assert f"* differs from {first} at 95 %" in text  # the summary table's legend
    assert 'id="differences"' in text
    meta = json.loads((report / "meta.json").read_text())
    assert (meta["level"], meta["baseline"]) == (0.95, first)
    with pytest.raises(ValueError, match="no strategy 'nope'"):
        write_report(scenario, report.parent / "other", replications=2, baseline="nope")


def test_a_failure_leaves_nothing_half_written(small, tmp_path, monkeypatch) -> None:
    scenario, _ = small
    out = tmp_path / "results" / "broken"

    def boom(*_args, **_kwargs):
        raise RuntimeError("figure failed")

    monkeypatch.setattr("simdeploy.plots.plot_tradeoff", boom)
    with pytest.raises(RuntimeError):
        write_report(scenario, out)
    assert list(tmp_path.iterdir()) == []  # nor the folder it created for it


def test_an_earlier_report_is_replaced_but_not_what_the_user_added(one_strategy,
                                                                    tmp_path) -> None:
    scenario = sd.load_scenario(one_strategy)
    out = tmp_path / "r"
    write_report(scenario, out)
    (out / "figures" / "timeline-old.png").write_text("ours, from a strategy since removed")
    meta = json.loads((out / "meta.json").read_text())
    meta["files"].append("figures/timeline-old.png")
    (out / "meta.json").write_text(json.dumps(meta))
    (out / "NOTES.md").write_text("my notes")
    (out / "mine" / "deep").mkdir(parents=True)
    (out / "mine" / "deep" / "data.txt").write_text("kept")
    (out / "figures" / "annotated.png").write_text("my own figure")
    write_report(scenario, out)
    assert (out / "NOTES.md").read_text() == "my notes"
    assert (out / "mine" / "deep" / "data.txt").read_text() == "kept"
    assert (out / "figures" / "annotated.png").read_text() == "my own figure"
    assert not (out / "figures" / "timeline-old.png").exists()  # ours: replaced
    assert (out / "report.html").exists()
    files = json.loads((out / "meta.json").read_text())["files"]
    assert "NOTES.md" not in files
    assert "report.html" in files
    assert "meta.json" in files
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    assert out.stat().st_mode & 0o055 == 0o055 & ~_umask()  # readable by others, as umask allows


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("make", ["file", "foreign-folder", "under-a-file", "cwd"])
def test_out_never_replaces_what_is_not_a_report(one_strategy, tmp_path, capsys, monkeypatch,
                                                  make) -> None:
    precious = tmp_path / "mine"
    if make == "file":
        precious.write_text("thesis")
        out = precious
    elif make == "foreign-folder":
        precious.mkdir()
        (precious / "thesis.txt").write_text("thesis")
        out = precious
    elif make == "under-a-file":
        precious.write_text("thesis")
        out = precious / "sub"
    else:
        precious.mkdir()
        monkeypatch.chdir(precious)
        out = Path(".")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["report", str(one_strategy), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--out" in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if precious.is_file():
        assert precious.read_text() == "thesis"


def test_an_empty_folder_may_receive_a_report(one_strategy, tmp_path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    write_report(sd.load_scenario(one_strategy), out)
    assert (out / "report.html").exists()


def test_cli_report_writes_and_bad_input_writes_nothing(one_strategy, tmp_path, capsys) -> None:
    path = one_strategy
    assert main(["report", str(path), "--out", str(tmp_path / "results" / "x"), "--quiet"]) == 0
    assert capsys.readouterr().out.strip().endswith("report.html")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration: 10\ntraffic: {arrivals: {type: poisson, rateRps: -1}}\n"
                   "strategies: {r: {type: Recreate}}\n")
    assert main(["report", str(bad), "--out", str(tmp_path / "results" / "y")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "traffic.arrivals.rateRps" in err
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["x"]


def test_progress_is_quiet_when_not_on_a_terminal(small, tmp_path) -> None:
    _, path = small
    done = subprocess.run(
        [sys.executable, "-m", "simdeploy", "compare", str(path)],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )
    # no progress bar; only the one-line warning that one replication may be noise
    assert done.stderr == ("simdeploy: warning: only 1 replication per strategy: differences "
                           "between strategies may be noise (use --replications 5 or more)\n")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_a_real_browser(report: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian package 'chromium'; .ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with playwright.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=browser,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            page = chromium.new_page()
            page.goto((report / "report.html").as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.complete, i.naturalWidth])"
            )
            rows = page.locator("table#summary tbody tr").count()
            heading = page.locator("h1").inner_text()
        finally:
            chromium.close()
    assert len(images) == 5
    assert all(complete and width > 100 for complete, width in images)
    assert rows == 3
    assert "small" in heading


def test_progress_bar_on_a_terminal_unless_quiet(one_strategy, tmp_path) -> None:
    pty = pytest.importorskip("pty")
    fcntl = pytest.importorskip("fcntl")
    termios = pytest.importorskip("termios")
    import os
    import select
    import struct

    def stderr_of(*extra: str) -> str:
        """Run compare with stderr on a pseudo-terminal; return what it wrote there."""
        leader, follower = pty.openpty()
        # a terminal 100 columns wide (a fresh pseudo-terminal reports 0 × 0)
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        subprocess.run([sys.executable, "-m", "simdeploy", "compare", str(one_strategy),
                        "--replications", "3", *extra],
                       stdout=subprocess.DEVNULL, stderr=follower, check=True, cwd=tmp_path)
        chunks = []
        while select.select([leader], [], [], 0.2)[0]:
            chunks.append(os.read(leader, 65536))
        os.close(follower)
        os.close(leader)
        return b"".join(chunks).decode(errors="replace")

    shown = stderr_of()
    assert "simulating" in shown
    assert "3/3" in shown
    assert stderr_of("--quiet") == ""


# --------------------------------------------------------------------------------------------
# the Sweep section (report --set)


def test_a_report_with_a_sweep_has_its_section_table_figures_and_csv(small, tmp_path,
                                                                     capsys) -> None:
    scenario, path = small
    out = tmp_path / "swept"
    code = main(["report", str(path), "--out", str(out), "--replications", "2", "--seed", "3",
                 "--quiet", "--jobs", "1", "--set", "pod.preStopSeconds=0,5",
                 "--set", "strategies.rolling.maxSurge=25%,50%"])
    assert code == 0, capsys.readouterr().err
    factors = {"pod.preStopSeconds": [0, 5], "strategies.rolling.maxSurge": ["25%", "50%"]}
    expected = sd.sweep(scenario, factors, replications=2, seed=3)
    written = pd.read_csv(out / "sweep.csv", keep_default_na=False, na_values=[""])
    assert len(written) == len(expected) == 4 * 3 * 2
    for column in ("variant", "strategy", "seed", "users_with_errors", "requests_failed"):
        assert written[column].tolist() == expected[column].tolist(), column
    figures = sorted(p.name for p in (out / "figures").glob("sweep-*.png"))
    assert figures == ["sweep-by-pod.preStopSeconds.png",
                       "sweep-by-strategies.rolling.maxSurge.png",
                       "sweep-map-extra_scheduled_pod_seconds.png",
                       "sweep-map-users_with_errors.png"]
    text = (out / "report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert "sweep" in page.tables
    section = text[text.index("<h2>Sweep</h2>"):]
    assert "4 combinations" in section
    assert "2 replications each" in section
    assert section.count('<figure><img alt="Sweep: ') == 4
    findings = re.findall(r"<li>(.*?)</li>", section[:section.index("</ul>")])
    assert any(line.startswith("rolling: ") for line in findings)
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert "sweep.csv" in meta["files"]


def test_a_bad_swept_path_in_a_report_writes_nothing(one_strategy, tmp_path, capsys) -> None:
    out = tmp_path / "never"
    code = main(["report", str(one_strategy), "--out", str(out), "--quiet",
                 "--set", "pod.preStopSecs=0,5"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "pod.preStopSecs" in err
    assert not out.exists()


def _swept(values_by_variant: dict[int, list[float]], other: list[float]) -> pd.DataFrame:
    rows = []
    for variant, values in values_by_variant.items():
        for seed, value in enumerate(values):
            rows.append({"variant": variant, "pod.preStopSeconds": [0, 5][variant],
                         "strategy": "rolling", "replication": seed, "seed": seed,
                         "users_with_errors": value, "extra_scheduled_pod_seconds": 10.0})
            rows.append({"variant": variant, "pod.preStopSeconds": [0, 5][variant],
                         "strategy": "bg", "replication": seed, "seed": seed,
                         "users_with_errors": other[seed] + variant,
                         "extra_scheduled_pod_seconds": 10.0})
    return pd.DataFrame(rows)


def test_sweep_findings_pair_variants_by_seed() -> None:
    from simdeploy.sweep_summary import sweep_findings

    # rolling: 5 s of preStop removes 100 ± 1 users per seed, on a spread of hundreds between
    # seeds: paired, certain; bg: +1 user per seed on a large spread: paired, also certain,
    # since the difference is exactly 1 every time.
    base = [300.0, 800.0, 150.0, 620.0]
    rolling = {0: base, 1: [v - 100 + d for v, d in zip(base, [1, -1, 0, 1])]}
    lines = sweep_findings(_swept(rolling, [10.0, 400.0, 90.0, 700.0]))
    assert lines[0].startswith("rolling: users w/ errors 368 at pod.preStopSeconds = 5, 468 at "
                               "pod.preStopSeconds = 0 (difference 100 ± ")
    assert "significant at 95 %" in lines[0]
    assert "not significant" not in lines[0]
    assert "bg: users w/ errors 300 at pod.preStopSeconds = 0, 301 at" in lines[1]
    assert lines[-1] == "The swept values do not change extra pod·s of rolling and bg."
    # the same rolling numbers with the seeds shuffled in one variant: no pairing left
    shuffled = {0: base, 1: [v - 100 for v in (base[2], base[3], base[0], base[1])]}
    noisy = sweep_findings(_swept(shuffled, [10.0, 400.0, 90.0, 700.0]))
    assert "not significant at 95 %" in noisy[0]


def test_sweep_findings_with_one_replication_test_nothing() -> None:
    from simdeploy.sweep_summary import sweep_findings

    lines = sweep_findings(_swept({0: [5.0], 1: [3.0]}, [1.0]))
    assert "significant" not in lines[0]
    assert lines[-1].startswith("One replication per variant: no difference is tested")


def test_a_scenario_with_segments_reports_exposure_per_segment(tiny_mapping, tmp_path) -> None:
    scenario = sd.load_scenario(with_ab_segments(tiny_mapping))
    out = write_report(scenario, tmp_path / "seg", replications=2, seed=1)
    exposure = pd.read_csv(out / "segments.csv")
    assert set(exposure.strategy) == {"ab", "recreate"}
    assert exposure.groupby(["strategy", "replication"]).size().eq(2).all()
    text = (out / "report.html").read_text(encoding="utf-8")
    section = text[text.index("<h2>Exposure per segment</h2>"):]
    section = section[:section.index("</section>")]
    page = _Page()
    page.feed(section)
    assert page.tables == ["segments"]
    # A/B with 50 iterations of 10 s never promotes in a 120 s run: only the beta users'
    # requests reach the canary; Recreate moves everyone
    never = section[section.index("Never served by the new version"):]
    assert "enterprise under ab" in never
    assert "beta under ab" not in never
    assert "recreate" not in never
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert "segments.csv" in meta["files"]
