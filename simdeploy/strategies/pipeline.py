"""Pipeline: a release promoted track by track (internal → free → paid → production).

Bitmovin's multi-stage canary (semantics.md T1–T5) runs every service as standing tracks,
each its own Deployment, and a new build is deployed to one track after the other, "after some
time" in a stage "without abnormal behaviour" (T4). The post gives neither durations nor
automatic gates; a pipeline here makes them explicit: each stage

1. records a ``stage`` event (``detail`` the track, ``replicas`` the stage's index) and
   updates its track with the track's own strategy (RollingUpdate at Kubernetes' defaults
   unless the track says otherwise: :mod:`simdeploy.strategies` run unchanged inside a
   :class:`~simdeploy.tracks.TrackDeployment`);
2. soaks for ``soak``;
3. checks its gate: a ``healthGate`` reads the requests the stage's own track served with the
   new version since the stage started (its lane, :meth:`simdeploy.tracks.TrackDeployment.
   lane`: a canary track is judged on its own traffic, not on the tracks before it), watched
   from the update's start to the end of the soak; as for blue-green's post-promotion check,
   the stage waits until it has seen one whole window with enough requests, so a stage is
   never passed on no evidence. An Argo analysis runs from the end of the update through the
   soak (a failure ends the soak at once); one whose metrics all stop by themselves (a
   ``count``, or no ``interval``) is waited for, as an inline analysis step is (argo-rollouts
   ``rollout/analysis.go``); otherwise it is terminated at the end of the soak, its running
   metrics ending Successful (A18), which is why such a metric must measure once within the
   soak (:class:`~simdeploy.scenario.PipelineStage`). A stage that passes records
   ``stage_passed``.

A failed gate, or a track whose own update aborts (its own analysis, health gate or progress
deadline), fails the stage (``stage_failed``) and the pipeline rolls back every track it has
touched: the track being updated is interrupted and undoes itself as its strategy does (where
the strategy takes no interrupt, as Recreate or an abort already under way, its update stops
there); a track already updated, stopped mid-way, or left on the new version by its own
rollback (Flagger rolls back its canary, not a primary it has already promoted) gets
``kubectl rollout undo``
(``rollback`` event, the track in ``detail``): its previous ReplicaSet scaled back up by the
RollingUpdate rules, at the track's ``maxSurge``/``maxUnavailable`` when it has them and
Kubernetes' 25 %/25 % otherwise (a Recreate track is recreated), all tracks at once; its
Service selects both versions during the undo, as a plain Deployment's Service does. The
pipeline's outcome is ``completed`` when every stage passed and ``aborted`` after a rollback.
Tracks the pipeline never reached are never touched, so their users never see the new
version.

Each track's update has its own progress deadline (``deployment.progressDeadlineSeconds``);
soaking is not lack of progress, so the pipeline itself watches none.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simdeploy.analysis import HealthWatch
from simdeploy.analysis_run import AnalysisRun, stops_rollout
from simdeploy.scenario import Canary, HealthGate, Recreate, RollingUpdate
from simdeploy.strategies.context import Rollout

if TYPE_CHECKING:
    from simdeploy.analysis_spec import ArgoAnalysis
    from simdeploy.scenario import Pipeline, PipelineStage, TrackSpec, TrackStrategy
    from simdeploy.tracks import TrackDeployment

__all__ = ["roll_out"]

OLD, NEW = 0, 1
INTERRUPTED = "interrupted"
"""What :func:`_update` returns when the pipeline stopped a track's update mid-way."""


class _StageFailedError(Exception):
    """A stage's track update ended without completing."""


def _topology(ctx: Rollout) -> tuple[dict[str, TrackDeployment], dict[str, TrackSpec]]:
    """The run's tracks and their specs (the scenario schema gives a Pipeline both)."""
    tracks, specs = ctx.tracks, ctx.scenario.tracks
    if tracks is None or specs is None:
        raise ValueError("a Pipeline needs tracks")
    return tracks, specs


def _track_context(ctx: Rollout, track: TrackDeployment, new_version: int) -> Rollout:
    """The context a track's own strategy works in: its ReplicaSets, its Service."""
    live = [rs for rs in track.replica_sets if rs.spec > 0 and rs.version != new_version]
    stable = live[0] if live else track.replica_sets[0]
    tctx = Rollout(ctx.env, ctx.scenario, track, track.service, ctx.recorder,  # type: ignore[arg-type]
                   stable, new_version, ctx.provider, track=track.name,
                   track_replicas=track.replicas, last_progress_s=ctx.env.now)

    def deadline_passed() -> None:
        ctx.deadline_exceeded_ever = True

    tctx.on_deadline.append(deadline_passed)
    return tctx


def _update(tctx: Rollout, spec: TrackStrategy) -> Generator[simpy.Event, Any, str]:
    """A process: one track's update by its own strategy (as :func:`simdeploy.strategies.
    roll_out` starts one, without waiting for the release time)."""
    from simdeploy.strategies import REGISTRY

    tctx.cluster.subscribe(tctx.observe_progress)
    tctx.observe_progress()
    tctx.env.process(tctx.watch_deadline())
    try:
        outcome = yield from REGISTRY[spec.type](tctx, spec)
    except simpy.Interrupt:
        # The pipeline rolled back where the strategy takes no interrupt (Recreate, a sync
        # delay, an abort already under way): the update stops here, and the pipeline undoes
        # the track from wherever it stands.
        if tctx.outcome is None:
            tctx.finish("aborted")
        return INTERRUPTED
    return outcome


def _undo_spec(spec: TrackStrategy) -> RollingUpdate | Recreate:
    """How ``kubectl rollout undo`` rolls a track back: by its own surge rules if it has some."""
    if isinstance(spec, Recreate):
        return spec
    if isinstance(spec, RollingUpdate | Canary):
        return RollingUpdate(type="RollingUpdate", max_surge=spec.max_surge,
                             max_unavailable=spec.max_unavailable)
    return RollingUpdate(type="RollingUpdate")


def _undo(ctx: Rollout, track: TrackDeployment,
          spec: TrackStrategy) -> Generator[simpy.Event, Any, str]:
    """A process: roll an updated track back to the current version."""
    old = [rs for rs in track.replica_sets if rs.version == OLD]
    tctx = _track_context(ctx, track, OLD)
    tctx.undo_to = old[0] if old else None
    ctx.recorder.event("rollback", tctx.version_name, track.replicas, track.name)
    track.service.clear_header_route()  # routes an interrupted canary may have left
    track.service.set_mirror_routes([])
    track.service.select((OLD, NEW))
    outcome = yield from _update(tctx, _undo_spec(spec))
    return outcome


def ends_by_itself(gate: ArgoAnalysis) -> bool:
    """Whether every metric of ``gate`` stops measuring on its own: it has a ``count``, or no
    ``interval`` (one measurement, argo-rollouts ``analysis.go``; semantics A18)."""
    return all((m.count or 0) > 0 or m.interval is None for m in gate.metrics)


def _soak(ctx: Rollout, seconds: float,
          run: AnalysisRun | None) -> Generator[simpy.Event, Any, None]:
    """Wait ``seconds``; an analysis gate that fails meanwhile ends the soak at once."""
    env = ctx.env
    end = env.now + seconds
    while env.now < end:
        if run is None or run.done.triggered:
            yield env.timeout(end - env.now)
            return
        yield env.any_of([env.timeout(end - env.now), run.done])
        if run.done.triggered and stops_rollout(run.phase, run.spec):
            return


def _stage(ctx: Rollout, index: int, stage: PipelineStage,
           running: dict[str, simpy.Process]) -> Generator[simpy.Event, Any, None]:
    """Update, soak and gate one stage. A failed update or analysis gate raises; a failed
    health gate interrupts the pipeline's process."""
    env = ctx.env
    tracks, specs = _topology(ctx)
    track = tracks[stage.track]
    spec = specs[stage.track].strategy
    ctx.recorder.event("stage", ctx.scenario.release.new.name, index, stage.track)
    gate = stage.gate
    watch = None
    if isinstance(gate, HealthGate):  # the stage's own track, from the stage's start
        watch = HealthWatch(ctx, gate, env.active_process, lane=track.lane(NEW))
    run = None
    try:
        process = running[stage.track] = env.process(_update(_track_context(ctx, track, NEW),
                                                             spec))
        outcome = yield process
        if outcome != "completed":
            raise _StageFailedError(f"{stage.track} update {outcome}")
        if watch is not None:  # the evidence it waits for is of the updated track
            watch.count_full_window_from(env.now)
        if gate is not None and not isinstance(gate, HealthGate):
            run = AnalysisRun(ctx, gate, f"{stage.track} gate")
        yield from _soak(ctx, stage.soak, run)
        if watch is not None and not watch.passed.triggered:
            yield watch.passed
        if run is not None and not run.done.triggered and ends_by_itself(run.spec):
            yield run.done
    finally:
        if watch is not None:
            watch.stop()
        if run is not None:
            run.stop()
    if run is not None and stops_rollout(run.phase, run.spec):
        raise _StageFailedError(f"{stage.track} gate {run.phase}")
    ctx.recorder.event("stage_passed", ctx.scenario.release.new.name, index, stage.track)


def roll_out(ctx: Rollout, spec: Pipeline) -> Generator[simpy.Event, Any, str]:
    """Run the stages in order; on a failure, roll back every track touched."""
    _topology(ctx)
    ctx.watching_deadline = False
    running: dict[str, simpy.Process] = {}
    index = 0
    try:
        for index, stage in enumerate(spec.stages):
            yield from _stage(ctx, index, stage, running)
    except (simpy.Interrupt, _StageFailedError) as failure:
        why = failure.cause if isinstance(failure, simpy.Interrupt) else str(failure)
        ctx.recorder.decide_abort()
        ctx.recorder.event("stage_failed", ctx.scenario.release.new.name, index,
                           spec.stages[index].track)
        ctx.recorder.event("abort", ctx.scenario.release.new.name, 0, str(why))
        yield from _roll_back(ctx, running)
        return ctx.finish("aborted")
    return ctx.finish("completed")  # the production track's own rollout marked its promotion


def _roll_back(ctx: Rollout, running: dict[str, simpy.Process]) -> Generator[simpy.Event, Any,
                                                                            None]:
    """Stop the update in progress (it undoes itself) and undo every track updated."""
    env = ctx.env
    tracks, specs = _topology(ctx)
    for process in running.values():
        if process.is_alive:
            process.interrupt("pipeline rolled back")
    undos = []
    for name, process in running.items():
        outcome = yield from _wait(process)
        track = tracks[name]
        # A strategy that aborted after its promotion may leave the new version in place
        # (Flagger rolls back the canary, not the primary it has already updated).
        left_new = any(rs.version == NEW and rs.spec > 0 for rs in track.replica_sets)
        if outcome in ("completed", INTERRUPTED) or left_new:
            undos.append(env.process(_undo(ctx, track, specs[name].strategy)))
    if undos:
        yield from _wait(env.all_of(undos))


def _wait(event: simpy.Event) -> Generator[simpy.Event, Any, Any]:
    """Wait for ``event``; a late interrupt (a gate that failed as the stage ended) is
    nothing more to do: the rollback is already under way."""
    while True:
        try:
            return (yield event)
        except simpy.Interrupt:
            continue
