"""Fuzzing the command line with broken scenarios: exit 0 or 2, one line, never a traceback,
never a hang, never the machine's memory.

Two parts: Hypothesis mutates a valid scenario anywhere in its tree (odd values, removed and
unknown keys) and runs ``validate`` — and ``run`` when the result is valid and small — in
this process under an alarm and an address-space cap; a hand-written corpus of the cases
reported in the hardening issue runs ``simdeploy run`` in a fresh interpreter under a timeout
and a memory cap.
"""

from __future__ import annotations

import copy
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdeploy as sd
from simdeploy.budget import estimate_run
from simdeploy.cli import main

REPO = Path(sd.__file__).resolve().parent.parent
MEMORY_CAP_BYTES = 3 * 2**30
"""Address space a fuzzed command may use beyond what the test process already has."""
TIMEOUT_S = 30


class _TimedOutError(Exception):
    pass


@contextmanager
def _limits(seconds: int) -> Iterator[None]:
    """An alarm after ``seconds`` and an address-space cap, both lifted afterwards."""
    def alarm(_signum: int, _frame: Any) -> None:
        raise _TimedOutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    in_use = _address_space_bytes()
    cap = in_use + MEMORY_CAP_BYTES
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, previous)


def _address_space_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _check_one_line(code: int, err: str, file: Path) -> None:
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert err.endswith("\n"), err
        assert lines[0].startswith(f"simdeploy: {file}: "), err
    else:
        assert err == ""


# -- Hypothesis over the scenario tree --------------------------------------------------------

ODD_SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(-(10**6), 10**6), st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-300, 1e308, -0.0, 0.5, 1e30]),
    st.text(max_size=8),
    st.sampled_from(["", " ", "x$\\frac{$", "a/b", "nul\x00", "1e30", "5m", "250ms", "25%",
                     "-1%", "150%", ".inf", "0%", "true", "Canary", "uniform", "ülø", "\n"]),
)
ODD_VALUES = st.recursive(
    ODD_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["type", "value", "mean", "x",
                                                             "rateRps", "name"]),
                                            inner, max_size=3)),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated_scenarios(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    mapping = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(mapping)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = mapping
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(ODD_VALUES)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["bogus", "replicas", "type", "x" * 3]))] = \
                draw(ODD_VALUES)
    return mapping


def _small_enough(path: Path) -> bool:
    scenario = sd.load_scenario(path)
    estimate = estimate_run(scenario)
    return (estimate.requests < 30_000 and estimate.timeline_rows < 20_000
            and scenario.deployment.replicas <= 50 and scenario.duration <= 3600)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_scenarios_give_exit_0_or_one_line(tiny_mapping: dict[str, Any], data: Any,
                                                  tmp_path_factory: pytest.TempPathFactory,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    mapping = data.draw(mutated_scenarios(tiny_mapping))
    file = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    file.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    with _limits(TIMEOUT_S):
        code = main(["validate", str(file)])
        _check_one_line(code, capsys.readouterr().err, file)
        if code == 0 and _small_enough(file):
            strategy = data.draw(st.sampled_from(list(sd.load_scenario(file).strategies)))
            code = main(["run", str(file), "--strategy", strategy, "--json"])
            _, err = capsys.readouterr()
            _check_one_line(code, err, file)


# -- the hand-written corpus ------------------------------------------------------------------

TINY = ("name: t\nduration: 120\nrelease: {at: 10}\n"
        "traffic: {arrivals: {type: poisson, rateRps: 5}}\n"
        "strategies: {r: {type: RollingUpdate}}\n")


def _tiny(**replace: str) -> str:
    """The tiny scenario with whole top-level lines replaced (key → YAML text)."""
    lines = {line.split(":")[0]: line for line in TINY.splitlines()}
    lines.update({k: f"{k}: {v}" for k, v in replace.items()})
    return "\n".join(lines.values()) + "\n"


BILLION_LAUGHS = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]) + "\n"

# (id, file text or a device path, extra args, a piece of the expected error line)
CORPUS: list[tuple[str, str, list[str], str]] = [
    ("deep-yaml", "name: " + "[" * 20000 + "]" * 20000 + "\n", [], "nested too deeply"),
    ("duration-1e30", _tiny(duration="1.0e30"), [], "run too large"),
    ("duration-1e30-forced", _tiny(duration="1.0e30"), ["--force"], "not even with --force"),
    ("huge-users", _tiny(traffic="{arrivals: {type: poisson, rateRps: 5}, users: 2000000000}"),
     [], "traffic.users: run too large"),
    ("huge-users-forced",
     _tiny(traffic="{arrivals: {type: poisson, rateRps: 5}, users: 2000000000}"), ["--force"],
     "not even with --force"),
    ("users-beyond-int32", _tiny(traffic="{arrivals: {type: poisson, rateRps: 5}, "
                                         "users: 100000000000}"), [],
     "traffic.users: must be <= 2147483647"),
    ("threshold-astronomical", TINY + "pod: {readinessProbe: {successThreshold: 1" + "0" * 400
     + "}}\n", [], "pod.readinessProbe.successThreshold: must be <= 2147483647"),
    ("surge-astronomical", _tiny(strategies="{r: {type: RollingUpdate, maxSurge: '1" + "0" * 5000
                                            + "%'}}"), [], "must be at most 2147483647"),
    ("integer-beyond-python", TINY + "seed: 1" + "0" * 5000 + "\n", [], "YAML value error"),
    ("probe-period-tiny", TINY + "pod: {readinessProbe: {periodSeconds: 1.0e-320}}\n", [],
     "pod.readinessProbe.periodSeconds: must be >= 1"),
    ("impossible-date", _tiny(name="2024-02-30"), [], "YAML value error"),
    ("bad-hex", TINY + "seed: 0x_\n", [], "YAML value error"),
    ("float-tag", _tiny(duration="!!float abc"), [], "YAML value error"),
    ("bool-tag", _tiny(duration="!!bool maybe"), [], "YAML value error"),
    ("timestamp-tag", _tiny(duration="!!timestamp abc"), [], "YAML value error"),
    ("map-tag-on-a-list", _tiny(duration="!!map [1]"), [], "YAML syntax error"),
    ("set-tag", _tiny(duration="!!set [a]"), [], "simdeploy: "),
    ("python-tag", _tiny(name="!!python/object:os.system ls"), [], "YAML syntax error"),
    ("timestamp-name", _tiny(name="2024-02-03"), [], "name: must be a text string"),
    ("binary-name", _tiny(name="!!binary aGVsbG8="), [], "name: must be a text string"),
    ("huge-key", TINY + "? " + "k" * 200000 + "\n: 1\n", [], "kkk…: unknown field"),
    ("huge-duration", _tiny(duration="100000h"), [], "run too large"),
    ("tiny-sample-interval", _tiny(sampleInterval="0.000001"), [], "sampleInterval: run too"),
    ("rate-inf", _tiny(traffic="{arrivals: {type: poisson, rateRps: .inf}}"), [],
     "traffic.arrivals.rateRps: must be a finite number, got inf"),
    ("rate-1e309", _tiny(traffic="{arrivals: {type: poisson, rateRps: 1.0e309}}"), [],
     "traffic.arrivals.rateRps: must be a finite number"),
    ("rate-huge", _tiny(traffic="{arrivals: {type: poisson, rateRps: 1.0e12}}"), [],
     "traffic.arrivals: run too large"),
    ("rate-nan", _tiny(traffic="{arrivals: {type: poisson, rateRps: .nan}}"), [],
     "not a number (NaN)"),
    ("strategy-nul", _tiny(strategies='{"r\\0": {type: Recreate}}'), [],
     "a strategy name is 1 to 63"),
    ("strategy-tex", _tiny(strategies="{'x$\\frac{$': {type: Recreate}}"), [],
     "a strategy name is 1 to 63"),
    ("strategy-slash", _tiny(strategies="{'a/b': {type: Recreate}}"), [],
     "a strategy name is 1 to 63"),
    ("both-zero", _tiny(strategies="{r: {type: RollingUpdate, maxSurge: 0, maxUnavailable: 0}}"),
     [], "strategies.r.maxUnavailable: may not be 0 when `maxSurge` is 0"),
    ("unavailable-150", _tiny(strategies="{r: {type: RollingUpdate, maxUnavailable: 150%}}"), [],
     "must not be greater than 100%"),
    ("deadline-not-after-min-ready",
     _tiny(deployment="{minReadySeconds: 30, progressDeadlineSeconds: 30}"), [],
     "deployment.progressDeadlineSeconds: must be greater than minReadySeconds"),
    ("bool-error-rate", _tiny(release="{at: 10, new: {name: v2, errorRate: true}}"), [],
     "release.new.errorRate: must be a number, got a boolean (true)"),
    ("bool-replicas", _tiny(deployment="{replicas: yes}"), [], "must be a whole number"),
    ("duplicate-strategy", TINY + "strategies: {s: {type: Recreate}}\n", [], "duplicate key"),
    ("sample-interval-too-long", _tiny(sampleInterval="3m"), [],
     "sampleInterval: must not be longer than the run"),
    ("segment-after-end", _tiny(traffic="{arrivals: {type: schedule, segments: [{start: 0, "
                                        "rateRps: 1}, {start: 150, rateRps: 2}]}}"), [],
     "traffic.arrivals.segments[1].start: starts at 150 s"),
    ("empty-name", _tiny(name="''"), [], "name: must not be empty"),
    ("empty-version-name", _tiny(release="{at: 10, new: {name: ''}}"), [], "must not be empty"),
    ("union-blames-field", _tiny(release="{at: 10, new: {name: v2, unhealthyAfter: {type: uniform, "
                                         "low: 6m, high: 2m}}}"), [],
     "release.new.unhealthyAfter.high: must be >= low"),
    ("missing-type", _tiny(strategies="{r: {maxSurge: 1}}"), [], "strategies.r.type: is missing"),
    ("unknown-type", _tiny(strategies="{r: {type: Rolling}}"), [], "strategies.r.type: must be"),
    ("cluster-a-list", TINY + "cluster: [1, 2]\n", [], "cluster: must be a mapping of fields"),
    ("billion-laughs", BILLION_LAUGHS, [], "more than 100,000 values"),
    ("dev-zero", "/dev/zero", [], "larger than 1024 KiB"),
    ("empty-file", "", [], "expected a mapping of scenario fields"),
    ("not-utf8", "name: caf\xe9\n", [], "not a UTF-8 text file"),
    ("recreate-with-surge", _tiny(strategies="{r: {type: Recreate, maxSurge: 1}}"), [],
     "may not be specified when strategy `type` is 'Recreate'"),
    ("argo-both-zero", _tiny(strategies="{c: {type: Canary, steps: [{setWeight: 5}], "
                                        "maxSurge: 0, maxUnavailable: 0}}"), [],
     "MaxSurge and MaxUnavailable both can not be zero"),
    ("gate-interval-tiny", _tiny(strategies="{c: {type: Canary, steps: [{setWeight: 5}], "
                                            "healthGate: {maxErrorRate: 0.1, interval: 1e-9}}}"),
     [], "healthGate.interval"),
]


def _limit_child_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES + 2**30, resource.RLIM_INFINITY))


@pytest.mark.parametrize(("text", "extra", "expected"),
                         [pytest.param(*case[1:], id=case[0]) for case in CORPUS])
def test_corpus_of_broken_inputs(tmp_path: Path, text: str, extra: list[str],
                                 expected: str) -> None:
    if text.startswith("/dev/"):
        file = Path(text)
    else:
        file = tmp_path / "s.yaml"
        file.write_bytes(text.encode("latin-1") if "\xe9" in text else text.encode("utf-8"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "simdeploy", "run", str(file), *extra],
                          capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                          preexec_fn=_limit_child_memory, check=False)
    assert done.returncode == 2, done.stderr
    _check_one_line(done.returncode, done.stderr, file)
    assert len(done.stderr) < 1000 + len(str(file))  # values and keys are quoted short
    assert expected in done.stderr, done.stderr
    assert done.stdout == ""


def test_the_corpus_covers_every_case_of_the_issue() -> None:
    """The issue's list of reproduced cases is in the corpus, by name: keep both in step."""
    reported = {"deep-yaml", "duration-1e30", "huge-users", "huge-duration",
                "tiny-sample-interval", "dev-zero", "strategy-nul", "strategy-tex", "rate-inf",
                "rate-1e309", "both-zero", "unavailable-150", "deadline-not-after-min-ready",
                "bool-error-rate", "duplicate-strategy", "sample-interval-too-long",
                "segment-after-end", "empty-name", "union-blames-field", "missing-type",
                "cluster-a-list"}
    assert reported <= {case[0] for case in CORPUS}


# -- broken arguments -------------------------------------------------------------------------

ARGUMENTS: list[tuple[str, list[str], str]] = [
    ("replications-huge", ["compare", "{file}", "--replications", "1000000"], "too many runs"),
    ("replications-word", ["compare", "{file}", "--replications", "many"],
     "expected a whole number"),
    ("replications-zero", ["report", "{file}", "--out", "{tmp}/r", "--replications", "0"],
     "must be between 1 and"),
    ("seed-negative", ["run", "{file}", "--seed", "-3"], "must be between 0 and"),
    ("replications-astronomical", ["compare", "{file}", "--replications", "9" * 400],
     "expected a whole number"),
    ("seed-float", ["run", "{file}", "--seed", "1.5"], "expected a whole number"),
    ("unknown-strategy", ["run", "{file}", "--strategy", "nope"], "no strategy 'nope'"),
    ("out-name-too-long", ["report", "{file}", "--out", "{tmp}/" + "x" * 300],
     "File name too long"),
    ("out-under-a-file", ["report", "{file}", "--out", "{file}/r"], "is not a directory"),
    ("format-unknown", ["report", "{file}", "--out", "{tmp}/r", "--format", "xlsx"],
     "invalid choice"),
    ("copy-into-a-file", ["scenarios", "copy", "{file}"], "Not a directory"),
    ("no-command", [], "required"),
]


@pytest.mark.parametrize(("args", "expected"),
                         [pytest.param(*case[1:], id=case[0]) for case in ARGUMENTS])
def test_broken_arguments_give_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        args: list[str], expected: str) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(TINY, encoding="utf-8")
    argv = [a.format(file=file, tmp=tmp_path) for a in args]
    with _limits(TIMEOUT_S):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
    _, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("simdeploy: "), err
    assert expected in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
