"""Kayenta's judge inside the simulation: Spinnaker's canary stage, and one judgment on demand.

Kayenta compares the canary (the *experiment*) with a *control* metric by metric, each metric
a series of samples at ``step`` (:meth:`simdeploy.measurements.Provider.series`), and scores
the canary 0-100 (:func:`simdeploy.rules.kayenta.judge`, J1-J12). Here the experiment is the
canary version's traffic and the control the stable version's (the scopes are implicit).

:func:`judge_window` makes one judgment; Argo's Kayenta provider makes one per measurement
(:mod:`simdeploy.analysis_run`). :func:`run_stage` runs Spinnaker's canary analysis stage as
Orca does (``orca-kayenta``, J13-J14): after the warm-up, one judgment at the end of each
interval over a growing (or, with ``lookback``, sliding) window; a score at or below
``marginal`` stops the stage at once, and at the end only the last score counts (above
marginal and at least ``pass``). Each judgment is an event ``kind == "measurement"`` with
``detail`` "Successful" (the stage may go on, or passed) or "Failed" (it fails the stage) and
the score as ``value``.

Kayenta adds tie-breaking noise to two constant series from an unseeded generator (J5). Here
the noise comes from a generator derived from the run: its scenario seed, which judgment this
is, and the judged samples themselves (which depend on the run's seed), so a run is
reproducible and different seeds draw different noise, and no stream of
:class:`simdeploy.rng.Streams` is touched.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from simdeploy.rules.kayenta import (
    ORCA_DEFAULT_MARGINAL,
    ORCA_DEFAULT_PASS,
    MetricClassification,
    judge,
    orca_verdict,
)

if TYPE_CHECKING:
    from simdeploy.analysis_spec import KayentaCanaryConfig, KayentaStage
    from simdeploy.strategies.context import Rollout

__all__ = ["NOISE_SALT", "judge_window", "noise_rng", "run_stage", "track_latency"]

NOISE_SALT = 0x4B_41_59_45_4E_54_41  # "KAYENTA": keeps these seeds apart from the run's streams
"""Mixed into every judgment's noise seed."""

SUCCESSFUL, FAILED = "Successful", "Failed"


def noise_rng(ctx: Rollout, key: tuple[int, ...], experiment: dict[str, list[float]],
              control: dict[str, list[float]]) -> np.random.Generator:
    """The generator of one judgment's tie-breaking noise (see the module's docstring)."""
    digest = 0
    for series in (experiment, control):
        for name in sorted(series):
            digest = zlib.crc32(name.encode(), digest)
            digest = zlib.crc32(np.asarray(series[name], dtype=np.float64).tobytes(), digest)
    seed = getattr(ctx, "seed", None)
    seed = ctx.scenario.seed if seed is None else seed
    entropy = [NOISE_SALT, *_words(seed), *key, digest]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def _words(value: int) -> list[int]:
    """A non-negative int as 32-bit words (a seed may be up to 2**64 - 1)."""
    words = [value & 0xFFFFFFFF]
    value >>= 32
    while value:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
    return words


def track_latency(ctx: Rollout, config: KayentaCanaryConfig, origins: list[float],
                  step_s: float) -> None:
    """Ask the run's latency windows to keep per-step percentiles from each origin on."""
    qs = config.latency_percentiles
    windows = ctx.recorder.latency_windows
    if not qs or windows is None:
        return
    for origin in dict.fromkeys(origins):
        windows.track(origin, step_s, qs, ctx.env.now)


def judge_window(ctx: Rollout, config: KayentaCanaryConfig, start_s: float, end_s: float,
                 step_s: float, key: tuple[int, ...]
                 ) -> tuple[float, dict[str, MetricClassification]]:
    """One Kayenta judgment of ``[start_s, end_s)``: the canary against stable.

    Returns:
        The summary score (0-100) and each metric's classification.
    """
    provider = ctx.provider
    if provider is None:
        raise RuntimeError("a Kayenta judgment needs the run's metrics provider")
    experiment = {m.name: provider.series(m.query, "canary", start_s, end_s, step_s)
                  for m in config.metrics}
    control = {m.name: provider.series(m.query, "stable", start_s, end_s, step_s)
               for m in config.metrics}
    rng = noise_rng(ctx, key, experiment, control)
    return judge(experiment, control, config.configs(), config.classifier.group_weights,
                 rng=rng)


def run_stage(ctx: Rollout, spec: KayentaStage, label: str, key: int = 0
              ) -> Generator[simpy.Event, Any, str]:
    """Spinnaker's canary analysis stage (J13-J14): returns "Successful" or "Failed".

    The windows are Orca's (:func:`simdeploy.rules.kayenta.orca_windows`) from the stage's
    start, in whole seconds; judgment ``i`` runs when its window ends (Orca waits the warm-up,
    then one interval before each run). ``key`` tells this stage's noise apart from other
    stages' in the same run.
    """
    env = ctx.env
    version = ctx.scenario.release.new.name
    started = env.now
    origin = float(math.floor(started))
    windows = spec.windows(origin)
    track_latency(ctx, spec.canary_config, [start for start, _ in windows], spec.step)
    thresholds = spec.score_thresholds
    passing = ORCA_DEFAULT_PASS if thresholds is None else thresholds.pass_
    marginal = ORCA_DEFAULT_MARGINAL if thresholds is None else thresholds.marginal
    ctx.recorder.event("analysis", version, 0, f"{label} started")
    scores: list[float] = []
    phase = SUCCESSFUL
    for run, (start, end) in enumerate(windows, start=1):
        yield env.timeout(max(0.0, started + (end - origin) - env.now))
        score, _ = judge_window(ctx, spec.canary_config, start, end, spec.step, (key, run))
        scores.append(score)
        succeeded, stopped = orca_verdict(scores, passing, marginal)
        last = stopped is not None or run == len(windows)
        phase = SUCCESSFUL if succeeded or (not last and stopped is None) else FAILED
        ctx.recorder.event("measurement", version, 0, phase, value=score)
        if stopped is not None:
            break
    ctx.recorder.event("analysis", version, 0, f"{label} {phase}")
    return phase
