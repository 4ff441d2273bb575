"""Each strategy against the behaviour of its real controller (rules cited in the modules)."""

from __future__ import annotations

import pytest
from builders import scenario

import simdeploy as sd


def scales(result: sd.RunResult) -> list[tuple[str, int]]:
    ev = result.events
    return [(r.version, r.replicas) for r in ev[ev.kind == "scale"].itertuples()]


def event_time(result: sd.RunResult, kind: str, version: str | None = None) -> float:
    ev = result.events
    rows = ev[(ev.kind == kind) & ((ev.version == version) if version else True)]
    assert len(rows), f"no {kind} event"
    return float(rows.time_s.iloc[0])


# --- RollingUpdate --------------------------------------------------------------------------


def test_kubernetes_docs_sequence_three_replicas_default_surge() -> None:
    # deployment.md: 3 replicas at 25 %/25 % go new→1, old→2, new→2, old→1, new→3, old→0.
    s = scenario(deployment={"replicas": 3},
                 strategies={"r": {"type": "RollingUpdate", "maxSurge": "25%",
                                   "maxUnavailable": "25%"}})
    result = sd.run(s)
    assert scales(result) == [("v2", 1), ("v1", 2), ("v2", 2), ("v1", 1), ("v2", 3), ("v1", 0)]
    assert result.summary["outcome"] == "completed"
    # replicas + surge = 3 + ceil(0.75) = 4 exactly (old pods drain at once: no lingering)
    assert result.summary["peak_pods"] == 4


def test_first_pass_creates_new_and_scales_old_when_budget_allows() -> None:
    # 10 replicas, surge 3, unavailable 2: the new ReplicaSet is created at 3 and, in the same
    # pass, old goes to 8 (budget 13 − 8 − 3 = 2); the next pass brings new to 5.
    s = scenario(deployment={"replicas": 10}, strategies={"r": {"type": "RollingUpdate"}})
    result = sd.run(s)
    assert scales(result)[:3] == [("v2", 3), ("v1", 8), ("v2", 5)]
    assert result.summary["peak_pods"] == 10 + 3  # replicas + ceil(25 % of 10)
    assert result.summary["peak_pods_scheduled"] == 13


def test_rolling_update_never_ready_release_stalls_without_rollback() -> None:
    s = scenario(
        duration=120,
        deployment={"replicas": 4, "progressDeadlineSeconds": 30},
        release={"new": {"name": "v2", "becomesReady": False}},
        strategies={"r": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 1}},
    )
    result = sd.run(s)
    assert result.summary["outcome"] == "stalled"
    # the deadline counts from the last progress: the new ReplicaSet's last scale-up
    last_scale = float(result.events[result.events.kind == "scale"].time_s.max())
    assert event_time(result, "progress_deadline_exceeded") == pytest.approx(last_scale + 30,
                                                                             abs=1e-3)
    # no rollback: the old ReplicaSet holds replicas − maxUnavailable, serving every request
    assert scales(result) == [("v2", 1), ("v1", 3), ("v2", 2)]
    assert result.summary["downtime_s"] == 0
    late = result.timeline[result.timeline.time_s > 60]
    assert (late[late.version == "v1"].available == 3).all()


def test_undo_during_rollout_returns_to_the_old_replicaset() -> None:
    s = scenario(
        duration=120,
        deployment={"replicas": 4},
        release={"new": {"name": "v2", "becomesReady": False}},
        strategies={"r": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 1,
                          "undoAfter": 20}},
    )
    result = sd.run(s)
    assert result.summary["outcome"] == "aborted"
    assert event_time(result, "undo") == pytest.approx(30.0, abs=0.2)
    final = result.timeline[result.timeline.time_s == result.timeline.time_s.max()]
    assert final.set_index("version").loc["v1", "available"] == 4
    assert final.set_index("version").loc["v2", "pods"] == 0
    # undo reuses the old ReplicaSet; no third ReplicaSet appears
    assert set(result.events[result.events.kind == "scale"].version) == {"v1", "v2"}


def test_full_cluster_with_no_unavailability_deadlocks() -> None:
    # capacity for exactly the replicas: the surge pod stays Pending, and with maxUnavailable 0
    # nothing old may go, so the rollout cannot move (K13/K14).
    base = {"duration": 200, "deployment": {"replicas": 4, "progressDeadlineSeconds": 60},
            "cluster": {"capacityPods": 4}}
    stuck = sd.run(scenario(**base, strategies={"r": {"type": "RollingUpdate", "maxSurge": 1,
                                                      "maxUnavailable": 0}}))
    assert stuck.summary["outcome"] == "stalled"
    moving = sd.run(scenario(**base, strategies={"r": {"type": "RollingUpdate", "maxSurge": 1,
                                                       "maxUnavailable": 1}}))
    assert moving.summary["outcome"] == "completed"
    assert moving.summary["peak_pods"] == 5  # the surge pod exists, Pending


# --- Recreate -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grace", "pre_stop", "killed_after"),
    [
        (5, 0, 5),     # SIGTERM at once, SIGKILL at the grace period
        (30, 29, 31),  # preStop ends 1 s before the grace period: SIGTERM still gets 2 s
        (3, 10, 5),    # preStop cut off at the grace period, then 2 s
    ],
)
def test_recreate_waits_for_the_grace_period_and_kills_in_flight_requests(
        grace: float, pre_stop: float, killed_after: float) -> None:
    # kubelet killContainer: preStop within the grace period, then SIGTERM with what is left
    # of it, at least 2 s (minimumGracePeriodInSeconds), then SIGKILL.
    s = scenario(
        deployment={"replicas": 2, "controllerSyncDelay": 0.1},
        pod={"terminationGracePeriodSeconds": grace, "preStopSeconds": pre_stop, "workers": 4},
        traffic={"arrivals": {"type": "poisson", "rateRps": 2}},
        release={"current": {"name": "v1", "serviceTime": 60}},
        strategies={"r": {"type": "Recreate"}},
    )
    result = sd.run(s)
    assert event_time(result, "scale", "v2") == pytest.approx(10 + 0.1 + killed_after + 0.1)
    assert result.summary["requests_killed"] > 0
    assert result.summary["peak_pods"] == 2


# --- Blue-green -----------------------------------------------------------------------------


def test_blue_green_switch_and_scale_down_delay() -> None:
    s = scenario(duration=90, deployment={"replicas": 4},
                 strategies={"bg": {"type": "BlueGreen", "scaleDownDelaySeconds": 30}})
    result = sd.run(s)
    switch = event_time(result, "switch")
    assert event_time(result, "scale", "v1") == pytest.approx(switch + 30)
    assert result.summary["peak_pods"] == 8
    assert result.summary["downtime_s"] == 0
    assert result.summary["requests_failed"] == 0  # blue keeps serving until every proxy moved
    tl = result.timeline
    before = tl[(tl.time_s < switch) & (tl.version == "v2")]
    assert before.requests.sum() == 0  # green had no user traffic before the switch


def test_blue_green_preview_replicas_then_full_size() -> None:
    s = scenario(duration=90, deployment={"replicas": 4},
                 strategies={"bg": {"type": "BlueGreen", "previewReplicaCount": 1,
                                    "autoPromotionSeconds": 10}})
    result = sd.run(s)
    assert [r for r in scales(result) if r[0] == "v2"] == [("v2", 1), ("v2", 4)]
    assert event_time(result, "pause") < event_time(result, "switch")


def test_blue_green_post_promotion_gate_switches_back() -> None:
    s = scenario(
        duration=120, deployment={"replicas": 4},
        release={"new": {"name": "v2", "errorRate": 0.5}},
        strategies={"bg": {"type": "BlueGreen", "scaleDownDelaySeconds": 60,
                           "healthGate": {"maxErrorRate": 0.1, "window": 10, "interval": 5}}},
    )
    result = sd.run(s)
    assert result.summary["outcome"] == "aborted"
    assert event_time(result, "abort") < event_time(result, "switch") + 60
    assert ("v1", 0) not in scales(result)  # blue was never scaled down
    assert scales(result)[-1] == ("v2", 0)


# --- Canary ---------------------------------------------------------------------------------


def _canary(**canary):
    return {"c": {"type": "Canary", **canary}}


def test_weighted_canary_keeps_stable_full_and_shifts_weights_in_order() -> None:
    s = scenario(duration=200, deployment={"replicas": 10},
                 strategies=_canary(steps=[{"setWeight": 10}, {"pause": {"duration": 20}},
                                           {"setWeight": 50}, {"pause": {"duration": 20}}]))
    result = sd.run(s)
    ev = result.events
    assert list(ev[ev.kind == "weight"].replicas) == [10, 50, 100]
    assert [r for r in scales(result) if r[0] == "v2"] == [("v2", 1), ("v2", 5), ("v2", 10)]
    assert scales(result)[-1] == ("v1", 0)
    assert result.summary["peak_pods"] == 20
    assert result.summary["outcome"] == "completed"
    tl = result.timeline
    during = tl[(tl.time_s > event_time(result, "weight") + 3)
                & (tl.time_s < ev[ev.kind == "weight"].time_s.iloc[1])]
    share = during[during.version == "v2"].requests.sum() / during.requests.sum()
    assert share == pytest.approx(0.10, abs=0.03)


def test_dynamic_stable_scale_shrinks_stable_after_traffic_moves() -> None:
    s = scenario(duration=200, deployment={"replicas": 10},
                 strategies=_canary(dynamicStableScale=True,
                                    steps=[{"setWeight": 30}, {"pause": {"duration": 20}}]))
    result = sd.run(s)
    assert ("v1", 7) in scales(result)
    assert result.summary["peak_pods"] < 20


def test_replica_ratio_canary_uses_argo_whole_pod_counts() -> None:
    # Argo docs: 10 replicas at 41 % → 4 canary / 6 stable.
    s = scenario(duration=200, deployment={"replicas": 10},
                 strategies=_canary(trafficRouting="replicas",
                                    steps=[{"setWeight": 41}, {"pause": {"duration": 100}}]))
    result = sd.run(s)
    tl = result.timeline
    mid = tl[tl.time_s == 80].set_index("version")
    assert (mid.loc["v2", "pods"], mid.loc["v1", "pods"]) == (4, 6)


def test_canary_by_user_exposes_the_weight_share_of_users() -> None:
    steps = [{"setWeight": 5}, {"pause": {"duration": 300}}]
    common = {"duration": 120, "deployment": {"replicas": 10},
              "traffic": {"arrivals": {"type": "poisson", "rateRps": 200}, "users": 2000}}
    by_user = sd.run(scenario(**common, strategies=_canary(splitBy="user", steps=steps)))
    by_request = sd.run(scenario(**common, strategies=_canary(splitBy="request", steps=steps)))
    users = by_user.summary["users_total"]
    assert by_user.summary["users_exposed_new"] / users == pytest.approx(0.05, abs=0.015)
    # ~10 requests per user over the canary phase: most users see the new version once
    assert by_request.summary["users_exposed_new"] / users > 0.25


def test_pauses_do_not_count_toward_the_progress_deadline() -> None:
    s = scenario(duration=300, deployment={"replicas": 4, "progressDeadlineSeconds": 30},
                 strategies=_canary(steps=[{"setWeight": 25}, {"pause": {"duration": 100}},
                                           {"setWeight": 50}, {"pause": {"duration": 100}}]))
    result = sd.run(s)
    assert result.summary["outcome"] == "completed"
    assert (result.events.kind == "progress_deadline_exceeded").sum() == 0
    assert result.summary["rollout_duration_s"] > 200


def test_flagger_form_runs_flaggers_loop() -> None:
    # The old top-level spelling is read into analysis and runs Flagger's loop (F1-F9): one
    # step per 10 s tick after the detection tick, promotion at maxWeight (the primary rolls
    # out while the canary keeps 50), then all traffic back to the primary (weight 0).
    s = scenario(duration=200, deployment={"replicas": 4},
                 strategies=_canary(stepWeight=25, maxWeight=50, interval=10))
    result = sd.run(s)
    ev = result.events
    assert list(ev[ev.kind == "weight"].replicas) == [25, 50, 0]
    assert list(ev[ev.kind == "weight"].time_s[:2]) == [20.0, 30.0]
    assert result.summary["outcome"] == "completed"


def test_canary_gate_limits_exposure_to_a_bad_release() -> None:
    # The reason canaries exist: the same bad release hurts far fewer users.
    common = {"duration": 300, "deployment": {"replicas": 10},
              "traffic": {"arrivals": {"type": "poisson", "rateRps": 200}, "users": 5000},
              "release": {"new": {"name": "v2", "errorRate": 0.3}}}
    gate = {"maxErrorRate": 0.05, "window": 20, "interval": 10, "minRequests": 20}
    canary = sd.run(scenario(**common, strategies=_canary(
        splitBy="user", healthGate=gate,
        steps=[{"setWeight": 5}, {"pause": {"duration": 60}}, {"setWeight": 50},
               {"pause": {"duration": 60}}])))
    rolling = sd.run(scenario(**common, strategies={"r": {"type": "RollingUpdate"}}))
    assert canary.summary["outcome"] == "aborted"
    assert rolling.summary["outcome"] == "completed"
    assert canary.summary["users_with_errors"] < 0.1 * rolling.summary["users_with_errors"]
    assert scales(canary)[-1] == ("v2", 0)
    weights = canary.events[canary.events.kind == "weight"]
    assert list(weights.replicas) == [5, 0]  # never reached 50: aborted in the first pause


# --- aborts, gates and ordering (regressions found in review) -------------------------------


def test_abort_weight_is_not_overtaken_by_an_older_weight_in_flight() -> None:
    # With random propagation the abort's weight 0 can reach the proxies before the weight 50
    # sent a second earlier; the older change must be dropped, not applied last.
    s = scenario(duration=150, deployment={"replicas": 4},
                 service={"policy": "random",
                          "endpointPropagationDelay": {"type": "exponential", "mean": 3}},
                 traffic={"arrivals": {"type": "poisson", "rateRps": 100}, "users": 500},
                 release={"new": {"name": "v2", "errorRate": 0.15}},
                 strategies=_canary(abortScaleDownDelaySeconds=5,
                                    healthGate={"maxErrorRate": 0.1, "window": 3,
                                                "interval": 0.5, "minRequests": 3},
                                    steps=[{"setWeight": 10}, {"setWeight": 50},
                                           {"setWeight": 90}, {"pause": {"duration": 30}}]))
    result = sd.run(s, seed=40, keep_requests=True)
    assert result.summary["outcome"] == "aborted"
    late = result.requests[result.requests.arrival_s > 60]
    assert len(late) > 5000
    assert set(late.outcome.astype(str)) <= {"ok", "unfinished"}


@pytest.mark.parametrize("interval", [10, 15])  # abort while weight 50 scales up / after it
def test_dynamic_stable_scale_abort_on_a_full_cluster_drains_step_by_step(interval) -> None:
    s = scenario(duration=200, deployment={"replicas": 4}, cluster={"capacityPods": 5},
                 traffic={"arrivals": {"type": "poisson", "rateRps": 100}},
                 release={"new": {"name": "v2", "errorRate": 0.3}},
                 strategies=_canary(dynamicStableScale=True,
                                    healthGate={"maxErrorRate": 0.1, "window": 10,
                                                "interval": interval},
                                    steps=[{"setWeight": 25}, {"setWeight": 50},
                                           {"pause": {"duration": 100}}]))
    result = sd.run(s)
    assert result.summary["outcome"] == "aborted"
    weights = list(result.events[result.events.kind == "weight"].replicas)
    assert weights[-1] == 0
    if interval == 15:
        assert weights[:2] == [25, 50]
        assert weights[2:-1]
        assert all(0 < w < 50 for w in weights[2:-1])
    tl = result.timeline
    end = tl[tl.time_s == tl.time_s.max()].set_index("version")
    assert (end.loc["v1", "available"], end.loc["v2", "pods"]) == (4, 0)


def test_timeouts_count_even_when_the_request_is_cut_or_the_run_ends() -> None:
    # Nothing finishes within its 1 s timeout. Old pods are killed at 15.1 s with requests
    # that have waited over 1 s; at the end, only requests younger than 1 s are unfinished.
    s = scenario(duration=40, deployment={"replicas": 2},
                 pod={"requestTimeout": 1, "workers": 100, "terminationGracePeriodSeconds": 5},
                 traffic={"arrivals": {"type": "poisson", "rateRps": 5}},
                 release={"current": {"name": "v1", "serviceTime": 20},
                          "new": {"name": "v2", "serviceTime": 20}},
                 strategies={"r": {"type": "Recreate"}})
    summary = sd.run(s).summary
    assert summary["requests_ok"] == 0
    assert summary["requests_killed"] == 0
    assert summary["requests_unfinished"] <= 15
    served = summary["requests_total"] - summary["requests_refused"] - \
        summary["requests_no_endpoint"]
    assert summary["requests_timeout"] == served - summary["requests_unfinished"] > 100


def test_health_gate_verdict_does_not_depend_on_the_sample_interval() -> None:
    def run(interval: float) -> sd.RunResult:
        return sd.run(scenario(
            duration=120, sampleInterval=interval, deployment={"replicas": 4},
            traffic={"arrivals": {"type": "poisson", "rateRps": 200}},
            release={"new": {"name": "v2", "errorRate": 0.5}},
            strategies=_canary(healthGate={"maxErrorRate": 0.05, "window": 3, "interval": 1,
                                           "minRequests": 5},
                               steps=[{"setWeight": 25}, {"pause": {"duration": 60}}])))

    fine, coarse = run(1), run(60)
    assert event_time(fine, "abort") == event_time(coarse, "abort")
    assert fine.summary["users_with_errors"] == coarse.summary["users_with_errors"]


@pytest.mark.parametrize("delay", [0, 3])
def test_blue_green_gate_holds_blue_until_it_has_judged(delay: float) -> None:
    bad = sd.run(scenario(
        duration=120, deployment={"replicas": 4},
        release={"new": {"name": "v2", "errorRate": 0.5}},
        strategies={"bg": {"type": "BlueGreen", "scaleDownDelaySeconds": delay,
                           "healthGate": {"maxErrorRate": 0.1, "window": 10, "interval": 5}}}))
    assert bad.summary["outcome"] == "aborted"
    assert ("v1", 0) not in scales(bad)
    good = sd.run(scenario(
        duration=120, deployment={"replicas": 4},
        strategies={"bg": {"type": "BlueGreen", "scaleDownDelaySeconds": delay,
                           "healthGate": {"maxErrorRate": 0.1, "window": 10, "interval": 5}}}))
    assert good.summary["outcome"] == "completed"
    assert event_time(good, "scale", "v1") == pytest.approx(event_time(good, "switch") + 10)


def test_abort_scale_down_delay_zero_keeps_the_canary() -> None:
    result = sd.run(scenario(
        duration=120, deployment={"replicas": 4},
        release={"new": {"name": "v2", "errorRate": 0.5}},
        strategies=_canary(abortScaleDownDelaySeconds=0,
                           healthGate={"maxErrorRate": 0.1, "window": 5, "interval": 5},
                           steps=[{"setWeight": 25}, {"pause": {"duration": 60}}])))
    assert result.summary["outcome"] == "aborted"
    assert ("v2", 0) not in scales(result)
    tl = result.timeline
    end = tl[tl.time_s == tl.time_s.max()].set_index("version")
    assert end.loc["v2", "pods"] == 1
    assert end.loc["v2", "requests"] == 0


def test_users_exposed_before_promotion_is_the_blast_radius_of_each_strategy() -> None:
    """Blue-green's users get green only at the switch: none before it. A canary's promotion
    comes after its last step, so the users on the canary so far are a part of all. A
    RollingUpdate has no promotion: its end counts."""
    web = sd.load_scenario("scenarios/web-api.yaml").with_overrides({"duration": "8m"})
    blue_green = sd.run(web, "blue-green").summary
    assert blue_green["users_exposed_before_promotion"] == 0
    assert blue_green["users_exposed_new"] > 0
    canary = sd.run(web, "canary", keep_requests=True)
    switch = canary.events[canary.events.kind == "promote"].time_s.min()
    requests = canary.requests
    served = requests[(requests.version == "v2") & requests.outcome.isin(["ok", "error"])
                      & (requests.end_s <= switch)]
    assert canary.summary["users_exposed_before_promotion"] == served.user.nunique()
    assert 0 < canary.summary["users_exposed_before_promotion"] < \
        canary.summary["users_exposed_new"]
    rolling = sd.run(web, "rolling").summary
    assert rolling["outcome"] == "completed"
    assert 0 < rolling["users_exposed_before_promotion"] <= rolling["users_exposed_new"]
