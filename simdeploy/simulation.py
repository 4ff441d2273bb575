"""One run: build the cluster, the Service and the traffic, release, run, collect.

The phases are explicit (as desmod names them): *build* the model from the scenario and the
run's random streams; *start* the steady state (the current version fully rolled out, Ready
and in every proxy's view at time 0), the traffic, the timeline sampler and the strategy
process, which waits for ``release.at``; *run* until ``duration``; *collect* the records into
a :class:`~simdeploy.results.RunResult`.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import pandas as pd
import simpy

from simdeploy import metrics
from simdeploy.analysis_spec import latency_horizon_s
from simdeploy.budget import check_run_size
from simdeploy.cluster import Cluster
from simdeploy.distributions import Sampler
from simdeploy.dns_switch import DnsClients
from simdeploy.gateway import Gateway
from simdeploy.measurements import LatencyWindows, Provider
from simdeploy.records import OUTCOMES, Recorder
from simdeploy.results import RunResult
from simdeploy.rng import Streams
from simdeploy.routing import Service
from simdeploy.scenario import Canary, Scenario
from simdeploy.strategies import Rollout, roll_out
from simdeploy.target_group import TargetGroups
from simdeploy.tracks import TrackDeployment
from simdeploy.traffic import Arrivals, Workload, assign_segments

__all__ = ["run"]

OLD, NEW = 0, 1


def may_mirror(spec: Any) -> bool:
    """Whether a strategy can copy requests (Flagger's ``mirror``, Argo's setMirrorRoute)."""
    if not isinstance(spec, Canary):
        return False
    flagger = spec.flagger
    return ((flagger is not None and flagger.mirror)
            or any(step.set_mirror_route is not None for step in spec.effective_steps()))


def _sample(env: simpy.Environment, cluster: Cluster, service: Service | Gateway,
            recorder: Recorder, interval_s: float,
            count: int) -> Generator[simpy.Event, Any, None]:
    """Snapshot pod states and endpoints per version at every sample time."""
    n_versions = len(cluster.versions)
    for k in range(count):
        if k:
            yield env.timeout(k * interval_s - env.now)
        rows = {v: [0, 0, 0, 0, 0] for v in range(n_versions)}
        for rs in cluster.replica_sets:  # the ReplicaSets' counters, not a pass over pods
            row = rows[rs.version]
            for i, count in enumerate(rs.counts()):
                row[i] += count
        for v in range(n_versions):
            recorder.samples.append((env.now, v, *rows[v], service.routed_endpoints(v)))


def run(scenario: Scenario, strategy: str | None = None, seed: int | None = None, *,
        keep_requests: bool = False, force: bool = False) -> RunResult:
    """Simulate the release of ``scenario`` with one strategy.

    Args:
        scenario: a validated scenario (see :func:`simdeploy.load_scenario`).
        strategy: the strategy's name in ``scenario.strategies``; None takes the first one.
        seed: the seed of every random draw; None takes ``scenario.seed``.
        keep_requests: also return one row per request (memory grows with traffic).
        force: run even beyond the soft size limits of :mod:`simdeploy.budget`.

    Returns:
        The run's summary, timeline, events and exposure per user segment.

    Raises:
        RunTooLargeError: the run's estimated work or memory is beyond the limits.
    """
    name, spec = scenario.strategy(strategy)
    check_run_size(scenario, scenario.name, force=force, keep_requests=keep_requests)
    seed = scenario.seed if seed is None else seed
    streams = Streams.from_seed(seed)
    env = simpy.Environment()
    versions = [scenario.release.current, scenario.release.new]
    duration = scenario.duration
    replicas = scenario.total_replicas
    n_users = scenario.traffic.users

    # build
    segments = scenario.traffic.segments
    user_segment = (None if segments is None else
                    assign_segments([s.share for s in segments], n_users, streams.segments))
    recorder = Recorder(env, duration, scenario.sample_interval, len(versions), n_users,
                        keep_requests=keep_requests)
    if segments is not None:
        recorder.user_requests = [0] * n_users
        recorder.user_failures = [0] * n_users
    user_segments = None if user_segment is None else user_segment.tolist()
    headers = None if segments is None else [s.headers for s in segments]

    def new_service() -> Service:
        return Service(env, len(versions), scenario.service.policy, scenario.service.stickiness,
                       Sampler(scenario.service.endpoint_propagation_delay, streams.propagation,
                               batch=256),
                       streams.routing, n_users, recorder,
                       user_segment=user_segments, segment_headers=headers)

    tracks: dict[str, TrackDeployment] | None = None
    if scenario.tracks is None:
        service: Service | Gateway = new_service()
        cluster = Cluster(env, scenario.pod, scenario.deployment, versions,
                          scenario.pod_capacity(), service, recorder, streams.pods)
        stable = cluster.replica_set(OLD)
    else:
        track_services = {name: new_service() for name in scenario.tracks}
        production = scenario.production_track
        assert production is not None
        assert scenario.gateway is not None
        cluster = Cluster(env, scenario.pod, scenario.deployment, versions,
                          scenario.pod_capacity(), track_services[production], recorder,
                          streams.pods)
        tracks = {name: TrackDeployment(cluster, name, track_services[name], track.replicas, i)
                  for i, (name, track) in enumerate(scenario.tracks.items())}
        recorder.use_lanes(len(tracks))
        split_by = getattr(spec, "split_by", None) or scenario.gateway.split_by
        service = Gateway(scenario.gateway, track_services, production, split_by,
                          streams.routing, n_users, user_segments, headers or [{}],
                          mirroring=any(may_mirror(t.strategy)
                                        for t in scenario.tracks.values()))
        stable = tracks[production].replica_set(OLD)
    arrivals = Arrivals(scenario.traffic, duration, streams.arrivals, streams.users,
                        user_segment=user_segment)
    workload = Workload(env, arrivals, service, cluster, recorder, versions, scenario.pod, NEW,
                        streams.service, streams.errors, streams.affected)
    cluster.workload = workload
    horizon = latency_horizon_s(spec)
    if horizon is not None:
        recorder.latency_windows = LatencyWindows(len(versions), horizon)
    rollout = Rollout(env, scenario, cluster, service, recorder, stable,  # type: ignore[arg-type]
                      provider=Provider(recorder, OLD, NEW), tracks=tracks)
    if getattr(spec, "dns", None) is not None:
        rollout.dns_clients = DnsClients(spec.dns, n_users, streams.dns)
    if getattr(spec, "external_load_balancer", None) is not None:
        service.target_groups = TargetGroups(spec.external_load_balancer, env, streams.targets)

    # start
    if tracks is None:
        cluster.start_steady(stable, replicas)
    else:
        for track in tracks.values():  # the production track's ReplicaSet is ``stable``
            rs = stable if track.replica_sets else track.replica_set(OLD)
            cluster.start_steady(rs, track.replicas)
    recorder.pod_count(0.0, cluster.pod_count)
    recorder.scheduled_count(0.0, cluster.occupying)
    env.process(roll_out(rollout, spec))
    n_samples = math.ceil(duration / scenario.sample_interval - 1e-9)
    env.process(_sample(env, cluster, service, recorder, scenario.sample_interval, n_samples))
    workload.start()

    # run
    env.run(until=duration)
    workload.finish()
    service.close(duration)
    recorder.latency.close()

    # collect
    # Not finished by the end of the run is "stalled"; whether Kubernetes would already say
    # so (ProgressDeadlineExceeded) is a key of its own.
    outcome = rollout.outcome or "stalled"
    rollout_s = (rollout.finished_at - scenario.release.at
                 if rollout.finished_at is not None else math.nan)
    total = workload.requests_total
    failed = metrics.requests_failed(recorder.outcomes)
    p50, p99 = recorder.latency.percentiles_ms((50, 99))
    extra = metrics.extra_pod_seconds(recorder.pod_counts, replicas, duration)
    extra_scheduled = metrics.extra_pod_seconds(recorder.scheduled_counts, replicas, duration)
    pending = metrics.pending_changes(recorder.pod_counts, recorder.scheduled_counts)
    standing = 0
    if scenario.tracks is not None and scenario.gateway is not None:
        production = scenario.tracks[scenario.production_track or ""].replicas
        standing = replicas - production + scenario.gateway.pods
    detected_s, restored_s = metrics.detection_times(
        recorder.first_new_response_s, recorder.abort_s, service.new_unrouted_since)
    summary: dict[str, Any] = {
        "downtime_s": service.downtime_s,
        "requests_total": total,
        "requests_failed": failed,
        "error_rate": failed / total if total else 0.0,
        "users_total": sum(recorder.user_seen),
        "users_exposed_new": sum(recorder.user_exposed_new),
        "users_with_errors": sum(recorder.user_errored),
        "baseline_pods": replicas,
        "peak_pods": metrics.peak(recorder.pod_counts, replicas),
        "extra_pod_seconds": extra,
        "extra_cost": extra_scheduled / 3600.0 * scenario.cluster.pod_cost_per_hour,
        "rollout_duration_s": rollout_s,
        "latency_p50_ms": p50,
        "latency_p99_ms": p99,
        "outcome": outcome,
        "progress_deadline_exceeded": rollout.deadline_exceeded_ever,
        "peak_pods_scheduled": metrics.peak(recorder.scheduled_counts, replicas),
        "extra_scheduled_pod_seconds": extra_scheduled,
        "peak_pods_pending": metrics.peak(pending, 0),
        "pending_pod_seconds": metrics.extra_pod_seconds(pending, 0, duration),
        "detected_s": detected_s,
        "restored_s": restored_s,
        "requests_failed_new": recorder.requests_failed_new,
        "users_failed_new": sum(recorder.user_failed_new),
        "analysis_verdict": recorder.analysis_verdict,
        "requests_mirrored": recorder.requests_mirrored,
        "requests_mirrored_failed": recorder.requests_mirrored_failed,
        "standing_pods": standing,
        "standing_extra_pod_seconds": standing * duration,
        "users_exposed_before_promotion": (sum(recorder.user_exposed_new)
                                           if recorder.exposed_at_promotion is None
                                           else recorder.exposed_at_promotion),
        **metrics.outcome_counts(recorder.outcomes),
    }
    timeline = metrics.timeline_frame(recorder.samples, recorder.requests_by_bin,
                                      recorder.failed_by_bin, recorder.no_endpoint_by_bin,
                                      recorder.latency.p99_ms,
                                      [v.name for v in versions], scenario.sample_interval)
    requests = None
    if recorder.requests is not None:
        requests = pd.DataFrame(recorder.requests,
                                columns=["id", "user", "arrival_s", "end_s", "version", "outcome"])
        requests["outcome"] = pd.Categorical.from_codes(requests["outcome"], categories=OUTCOMES)
        requests["version"] = pd.Categorical.from_codes(requests["version"],
                                                        categories=[v.name for v in versions])
        requests = requests.sort_values("id", ignore_index=True)
        if segments is not None and user_segment is not None:
            requests["segment"] = pd.Categorical.from_codes(
                user_segment[requests["user"].to_numpy()], categories=[s.name for s in segments])
    names = ["all"] if segments is None else [s.name for s in segments]
    exposure = metrics.segment_frame(names, user_segment, recorder, total)
    over_time = metrics.segment_timeline_frame(names, recorder, duration)
    return RunResult(scenario=scenario.name, strategy=name, seed=seed, summary=summary,
                     timeline=timeline, events=metrics.events_frame(recorder.events),
                     requests=requests, segments=exposure, segment_timeline=over_time)
