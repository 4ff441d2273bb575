"""An Argo Rollouts AnalysisRun inside the simulation: measurements on the clock, phases by rule.

Each metric takes its first measurement when the run starts plus ``initialDelay``, then one
every ``interval`` (10 s after an Error, whatever the interval), until its ``count`` is reached
or the run ends (``argoproj/argo-rollouts analysis/analysis.go generateMetricTasks,
calculateNextReconcileTime``); a measurement here is instantaneous, so ``failureLimit: 2``
fails on the third failed measurement, at start + initialDelay + 2 × interval. A measurement
asks the simulation's provider (:mod:`simdeploy.measurements`) and is judged by the metric's
conditions; the counters, the metric's phase and the run's phase follow
:mod:`simdeploy.rules.argo_analysis` (A17–A19). The run ends as soon as a metric that is not a
dry run completes Failed, Error or Inconclusive (``IsTerminating``), or when every metric has
completed; a run that is stopped (the rollout moved past it) turns its running metrics
Successful.

Each measurement is an event ``kind == "measurement"`` with the phase as ``detail`` and the
measured value (``result[0]``, NaN for an empty result) as ``value``.

A metric with the Kayenta provider (J16-J17) makes one judgment per measurement
(:func:`simdeploy.kayenta_stage.judge_window`) over ``[now - interval, now]``, or ``[run
start, now]`` with ``lookback``; its conditions are not used. Argo posts the judgment and
reads the score at its first poll, 15 s later (``resumeDelay``), so the phase (the score
truncated to an int against ``threshold``) is recorded then, with the score as ``value``, and
the next measurement is an interval after that. A window Argo cannot build (no interval and
no lookback) is an Error at once.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simdeploy.kayenta_stage import judge_window, track_latency
from simdeploy.rules.argo_analysis import (
    COMPLETED_PHASES,
    ERROR,
    FAILED,
    INCONCLUSIVE,
    PENDING,
    RUNNING,
    SUCCESSFUL,
    assess_metric_status,
    assess_run_status,
    evaluate_result,
    first_measurement_delay,
    is_terminating,
    is_worse,
    measurement_delay,
    record_measurement,
)
from simdeploy.rules.kayenta import (
    ARGO_RESUME_DELAY_S,
    KayentaMeasurementError,
    argo_kayenta_phase,
    argo_kayenta_window,
)

if TYPE_CHECKING:
    from simdeploy.analysis_spec import AnalysisMetric, ArgoAnalysis
    from simdeploy.strategies.context import Rollout

__all__ = ["AnalysisRun", "interrupt_on_bad_end", "record_verdict", "stops_rollout"]

_EMPTY_COUNTERS: dict[str, Any] = {
    "count": 0, "successful": 0, "failed": 0, "inconclusive": 0, "error": 0,
    "consecutiveError": 0, "consecutiveSuccess": 0, "measurements": 0,
    "lastMeasurement": None,
}


def stops_rollout(phase: str, spec: ArgoAnalysis) -> bool:
    """Whether a run that ended in ``phase`` aborts the rollout.

    Failed and Error abort (A20, ``argo-rollouts rollout/analysis.go``). Inconclusive makes
    Argo pause for a human (``InconclusiveAnalysis``); a simulation has none, so it aborts
    unless the analysis says ``onInconclusive: promote``.
    """
    return phase in (FAILED, ERROR) or (phase == INCONCLUSIVE and spec.on_inconclusive == "abort")


def interrupt_on_bad_end(ctx: Rollout, run: AnalysisRun,
                         target: simpy.Process) -> Generator[simpy.Event, Any, None]:
    """A process: interrupt ``target`` (the rollout) when ``run`` ends badly while it runs.

    The abort is decided at the measurement that ended the run.
    """
    phase = yield run.done
    if stops_rollout(phase, run.spec) and target.is_alive and ctx.outcome is None:
        ctx.recorder.decide_abort()
        target.interrupt(f"{run.label} {phase}")


def record_verdict(ctx: Rollout, phase: str) -> None:
    """Fold one analysis outcome into the run's ``analysis_verdict`` (the worst one counts)."""
    current = ctx.recorder.analysis_verdict
    if not current or is_worse(current, phase):
        ctx.recorder.analysis_verdict = phase


class AnalysisRun:
    """One AnalysisRun: its metrics measured on the simulation clock.

    ``done`` fires with the run's final phase (Successful, Failed, Error or Inconclusive).
    """

    def __init__(self, ctx: Rollout, spec: ArgoAnalysis, label: str) -> None:
        self.ctx = ctx
        self.spec = spec
        self.label = label
        env = ctx.env
        self.done = env.event()
        self.phase = RUNNING
        self._metrics = {m.name: m for m in spec.metrics}
        self._argo = {m.name: m.as_argo() for m in spec.metrics}
        self._counters = {m.name: dict(_EMPTY_COUNTERS) for m in spec.metrics}
        self._phases = {m.name: PENDING for m in spec.metrics}
        self._dry_run = frozenset(m.name for m in spec.metrics if m.dry_run)
        self.started_at = env.now
        self._judgments = dict.fromkeys(self._metrics, 0)
        for metric in spec.metrics:
            kayenta = metric.provider.kayenta
            if kayenta is not None and kayenta.lookback:  # growing windows: kept step by step
                track_latency(ctx, kayenta.canary_config, [math.floor(env.now)], kayenta.step)
        self._processes = [env.process(self._measure(m)) for m in spec.metrics]
        ctx.recorder.event("analysis", ctx.scenario.release.new.name, 0, f"{label} started")

    def stop(self) -> None:
        """The rollout no longer needs the run: running metrics end Successful (A18)."""
        if self.done.triggered:
            return
        self._finish(assess_run_status(self._phases, terminating=True, dry_run=self._dry_run))

    def _measure(self, metric: AnalysisMetric) -> Generator[simpy.Event, Any, None]:
        env = self.ctx.env
        name = metric.name
        spec = self._argo[name]
        yield env.timeout(first_measurement_delay(spec))
        while not self.done.triggered:
            if metric.provider.kayenta is not None:
                phase, value = yield from self._judge(metric)
                if self.done.triggered:  # the run ended while Kayenta judged
                    return
            else:
                query = metric.provider.simulation
                result = self.ctx.provider.query(query.query, query.version, query.window,
                                                 env.now)
                phase = evaluate_result(result, metric.success_condition,
                                        metric.failure_condition)
                value = result[0] if result else math.nan
            counters = self._counters[name] = record_measurement(self._counters[name], phase)
            self.ctx.recorder.event("measurement", self.ctx.scenario.release.new.name, 0,
                                    phase, value=value)
            self._phases[name] = assess_metric_status(spec, counters)
            self._assess()
            if self.done.triggered or self._phases[name] in COMPLETED_PHASES:
                return
            delay = measurement_delay(spec, phase)
            if delay is None:
                return
            yield env.timeout(delay)

    def _judge(self, metric: AnalysisMetric) -> Generator[simpy.Event, Any, tuple[str, float]]:
        """One Kayenta measurement: (phase, score), the phase known a poll later (J16-J17)."""
        kayenta = metric.provider.kayenta
        env = self.ctx.env
        try:
            start, end = argo_kayenta_window(env.now, self.started_at, metric.interval,
                                             kayenta.lookback)
        except KayentaMeasurementError:
            return ERROR, math.nan
        self._judgments[metric.name] += 1
        key = (zlib.crc32(f"{self.label}/{metric.name}".encode()), self._judgments[metric.name])
        score, _ = judge_window(self.ctx, kayenta.canary_config, start, end, kayenta.step, key)
        yield env.timeout(ARGO_RESUME_DELAY_S)
        threshold = kayenta.threshold
        return argo_kayenta_phase(score, threshold.pass_, threshold.marginal), score

    def _assess(self) -> None:
        terminating = is_terminating(self._phases, dry_run=self._dry_run)
        phase = assess_run_status(self._phases, terminating=terminating, dry_run=self._dry_run)
        if phase in COMPLETED_PHASES:
            self._finish(phase)

    def _finish(self, phase: str) -> None:
        self.phase = phase
        record_verdict(self.ctx, phase)
        self.ctx.recorder.event("analysis", self.ctx.scenario.release.new.name, 0,
                                f"{self.label} {phase}")
        self.done.succeed(phase)

    @property
    def succeeded(self) -> bool:
        """The run ended Successful."""
        return self.done.triggered and self.phase == SUCCESSFUL
