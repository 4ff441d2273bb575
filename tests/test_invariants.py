"""Properties that must hold for any scenario: controller bounds, one outcome per request,
determinism, and common random numbers across strategies."""

from __future__ import annotations

import pandas as pd
from builders import merge
from hypothesis import given
from hypothesis import strategies as st

import simdeploy as sd
from simdeploy.records import OUTCOMES

int_or_percent = st.one_of(st.integers(0, 4),
                           st.sampled_from(["0%", "10%", "25%", "33%", "50%", "100%"]))


def fenceposts(surge: int | str, unavailable: int | str, replicas: int) -> tuple[int, int]:
    """The oracle: Kubernetes' rule (shared/reference/semantics.md K8–K10), in integers.

    A percentage is of ``replicas``; surge rounds up, unavailable down; both 0 → 1 unavailable;
    unavailable never more than ``replicas``. Written apart from simdeploy.rules on purpose.
    """
    def scaled(value: int | str, round_up: bool) -> int:
        if isinstance(value, int):
            return value
        whole, rest = divmod(int(value[:-1]) * replicas, 100)
        return whole + (1 if round_up and rest else 0)

    s, u = scaled(surge, True), scaled(unavailable, False)
    if s == 0 and u == 0:
        u = 1
    return s, min(u, replicas)


def test_the_oracle_itself_on_hand_worked_cases() -> None:
    assert fenceposts("25%", "25%", 3) == (1, 0)  # the worked example of K9
    assert fenceposts("25%", "25%", 10) == (3, 2)
    assert fenceposts("0%", "0%", 7) == (0, 1)
    assert fenceposts(0, "25%", 3) == (0, 1)
    assert fenceposts("100%", "100%", 6) == (6, 6)
    assert fenceposts("33%", "33%", 10) == (4, 3)
    assert fenceposts(4, 9, 2) == (4, 2)


@st.composite
def rolling_scenarios(draw):
    replicas = draw(st.integers(1, 12))
    surge = draw(int_or_percent)
    # Kubernetes refuses maxUnavailable 0 when maxSurge is 0 (written 0 or 0 %)
    unavailable = draw(int_or_percent.filter(
        lambda u: not (surge in (0, "0%") and u in (0, "0%"))))
    mapping = {
        "name": "prop",
        "duration": 90,
        "sampleInterval": 0.5,
        "deployment": {"replicas": replicas,
                       "minReadySeconds": draw(st.sampled_from([0, 2])),
                       "controllerSyncDelay": draw(st.sampled_from([0.05, 0.5]))},
        "pod": {
            "workers": draw(st.integers(1, 4)),
            "queueLimit": draw(st.sampled_from([0, 5, None])),
            "requestTimeout": draw(st.sampled_from([None, 0.5])),
            "preStopSeconds": draw(st.sampled_from([0, 1, 3])),
            "terminationGracePeriodSeconds": draw(st.sampled_from([2, 30])),
            "readinessProbe": {"initialDelaySeconds": 0, "periodSeconds": 1},
        },
        "cluster": {"capacityPods": draw(st.sampled_from([None, replicas, replicas + 1]))},
        "service": {"policy": draw(st.sampled_from(["round-robin", "random", "least-request"])),
                    "endpointPropagationDelay": {"type": "uniform", "low": 0, "high": 2}},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": draw(st.sampled_from([5, 40]))},
                    "users": 100},
        "release": {
            "at": 5,
            "current": {"name": "v1", "serviceTime": {"type": "exponential", "mean": 0.05}},
            "new": {"name": "v2",
                    "serviceTime": {"type": "lognormal", "median": 0.05, "sigma": 0.5},
                    "containerStart": {"type": "exponential", "mean": 2},
                    "becomesReady": draw(st.booleans()),
                    "errorRate": draw(st.sampled_from([0, 0.1]))},
        },
        "strategies": {"r": {"type": "RollingUpdate", "maxSurge": surge,
                             "maxUnavailable": unavailable}},
    }
    return sd.load_scenario(mapping), surge, unavailable


@given(case=rolling_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_rolling_update_respects_surge_and_unavailability_bounds(case, seed) -> None:
    scenario, surge, unavailable = case
    n = scenario.deployment.replicas
    max_surge, max_unavailable = fenceposts(surge, unavailable, n)
    result = sd.run(scenario, seed=seed)
    # Σ spec after every scale — each ReplicaSet creates or deletes pods at once, so this is
    # also the count of non-terminating pods (Terminating ones are not counted, as upstream).
    spec = {"v1": n, "v2": 0}
    for row in result.events[result.events.kind == "scale"].itertuples():
        spec[row.version] = row.replicas
        assert sum(spec.values()) <= n + max_surge
    tl = result.timeline
    available = tl.groupby("time_s").available.sum()
    assert (available >= n - max_unavailable).all()
    live = tl.pods - tl.terminating
    assert (live.groupby(tl.time_s).sum() <= n + max_surge).all()


@given(case=rolling_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_every_request_has_exactly_one_outcome(case, seed) -> None:
    scenario, _, _ = case
    result = sd.run(scenario, seed=seed, keep_requests=True)
    requests = result.requests
    total = result.summary["requests_total"]
    assert len(requests) == total
    assert requests.id.tolist() == list(range(total))
    counted = sum(v for k, v in result.summary.items()
                  if k.startswith("requests_") and k[len("requests_"):] in OUTCOMES)
    assert counted == total
    failed = requests.outcome.isin(["error", "refused", "no_endpoint", "overload", "killed",
                                    "timeout"])
    assert failed.sum() == result.summary["requests_failed"]
    assert result.timeline.failed.sum() == result.summary["requests_failed"]
    assert result.timeline.requests.sum() == total


strategies_all = {
    "recreate": {"type": "Recreate"},
    "rolling": {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0},
    "bg": {"type": "BlueGreen", "scaleDownDelaySeconds": 10},
    "canary": {"type": "Canary", "steps": [{"setWeight": 20}, {"pause": {"duration": 10}}]},
    "basic": {"type": "Canary", "trafficRouting": "replicas", "splitBy": "user",
              "steps": [{"setWeight": 50}, {"pause": {"duration": 10}}]},
}


@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(strategies_all)))
def test_same_seed_same_frames(seed, name) -> None:
    case = {"name": "det", "duration": 60,
            "deployment": {"replicas": 3},
            "service": {"endpointPropagationDelay": {"type": "exponential", "mean": 1}},
            "traffic": {"arrivals": {"type": "poisson", "rateRps": 30}, "users": 50},
            "release": {"at": 5, "new": {"name": "v2",
                                         "containerStart": {"type": "lognormal",
                                                            "median": 2, "sigma": 0.5}}},
            "strategies": {name: strategies_all[name]}}
    scenario = sd.load_scenario(case)
    a = sd.run(scenario, seed=seed, keep_requests=True)
    b = sd.run(scenario, seed=seed, keep_requests=True)
    assert a.summary == b.summary or _same_with_nan(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.timeline, b.timeline)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.requests, b.requests)


def _same_with_nan(x: dict, y: dict) -> bool:
    return pd.Series(x).equals(pd.Series(y))


@given(seed=st.integers(0, 2**32 - 1))
def test_every_strategy_sees_the_same_arrivals_and_users(seed) -> None:
    scenario = sd.load_scenario(merge(
        {"name": "crn", "duration": 40, "release": {"at": 5},
         "traffic": {"arrivals": {"type": "poisson", "rateRps": 20}, "users": 30}},
        {"strategies": strategies_all},
    ))
    frames = [sd.run(scenario, name, seed, keep_requests=True).requests
              for name in strategies_all]
    for other in frames[1:]:
        assert other.arrival_s.tolist() == frames[0].arrival_s.tolist()
        assert other.user.tolist() == frames[0].user.tolist()
    table = sd.compare(scenario, replications=2, seed=seed)
    assert (table.groupby("replication").requests_total.nunique() == 1).all()
    assert list(table.seed.unique()) == [seed, seed + 1]


def test_different_seeds_differ() -> None:
    scenario = sd.load_scenario({"name": "x", "duration": 30, "release": {"at": 5},
                                 "traffic": {"arrivals": {"type": "poisson", "rateRps": 20}},
                                 "strategies": {"r": {"type": "RollingUpdate"}}})
    assert sd.run(scenario, seed=1).summary != sd.run(scenario, seed=2).summary


gate = {"maxErrorRate": 0.1, "window": 5, "interval": 2.5, "minRequests": 5}
strategies_gated = {
    "recreate": {"type": "Recreate"},
    "rolling-undo": {"type": "RollingUpdate", "undoAfter": 20},
    "bg": {"type": "BlueGreen", "scaleDownDelaySeconds": 5, "healthGate": gate,
           "abortScaleDownDelaySeconds": 5},
    "canary": {"type": "Canary", "healthGate": gate, "abortScaleDownDelaySeconds": 5,
               "steps": [{"setWeight": 20}, {"pause": {"duration": 10}}, {"setWeight": 60},
                         {"pause": {"duration": 10}}]},
    "canary-dynamic": {"type": "Canary", "dynamicStableScale": True, "healthGate": gate,
                       "splitBy": "user",
                       "steps": [{"setWeight": 30}, {"pause": {"duration": 10}}]},
    "basic": {"type": "Canary", "trafficRouting": "replicas", "healthGate": gate,
              "steps": [{"setWeight": 50}, {"pause": {"duration": 10}}]},
}


@st.composite
def any_strategy_scenarios(draw):
    name = draw(st.sampled_from(sorted(strategies_gated)))
    replicas = draw(st.integers(1, 5))
    return sd.load_scenario({
        "name": "any", "duration": 80, "sampleInterval": 2,
        "deployment": {"replicas": replicas, "progressDeadlineSeconds": 30},
        "pod": {"workers": 2, "queueLimit": draw(st.sampled_from([0, 3, None])),
                "requestTimeout": draw(st.sampled_from([None, 0.2, 2])),
                "terminationGracePeriodSeconds": draw(st.sampled_from([1, 10])),
                "preStopSeconds": draw(st.sampled_from([0, 2])),
                "readinessProbe": {"periodSeconds": 1, "failureThreshold": 2},
                "livenessProbe": draw(st.sampled_from([None, {"periodSeconds": 2}]))},
        "cluster": {"capacityPods": draw(st.sampled_from([None, replicas + 1]))},
        "service": {"policy": draw(st.sampled_from(["round-robin", "random", "least-request"])),
                    "stickiness": draw(st.sampled_from(["none", "user"])),
                    "endpointPropagationDelay": {"type": "exponential", "mean": 1.5}},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 30}, "users": 40},
        "release": {"at": 5,
                    "current": {"name": "v1", "serviceTime": {"type": "exponential",
                                                              "mean": 0.1}},
                    "new": {"name": "v2", "errorRate": draw(st.sampled_from([0, 0.5])),
                            "serviceTime": {"type": "exponential", "mean": 0.1},
                            "unhealthyAfter": draw(st.sampled_from([None, 15])),
                            "becomesReady": draw(st.booleans())}},
        "strategies": {name: strategies_gated[name]},
    })


@given(scenario=any_strategy_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_every_strategy_accounts_for_every_request_and_pod(scenario, seed) -> None:
    result = sd.run(scenario, seed=seed, keep_requests=True)
    s, requests, tl = result.summary, result.requests, result.timeline
    assert requests.id.tolist() == list(range(s["requests_total"]))
    assert requests.outcome.value_counts()[lambda c: c > 0].to_dict() == {
        k[len("requests_"):]: v for k, v in s.items()
        if k.startswith("requests_") and k[len("requests_"):] in OUTCOMES and v > 0
    }
    served_by_new = requests[(requests.version == "v2")
                             & ~requests.outcome.isin(["ok", "no_endpoint", "unfinished"])]
    assert s["requests_failed_new"] == len(served_by_new)
    assert s["users_failed_new"] == served_by_new.user.nunique()
    assert tl.failed.sum() == s["requests_failed"]
    assert s["outcome"] in {"completed", "aborted", "stalled"}
    assert 0 <= s["downtime_s"] <= scenario.duration
    assert s["users_with_errors"] <= s["users_total"] <= scenario.traffic.users
    assert s["peak_pods"] >= tl.groupby("time_s").pods.sum().max()
    assert s["peak_pods_scheduled"] <= s["peak_pods"]
    assert s["peak_pods_scheduled"] <= (scenario.pod_capacity() or s["peak_pods"])
    assert s["extra_scheduled_pod_seconds"] <= s["extra_pod_seconds"] + 1e-9
    assert (tl.pending <= tl.pods).all()
    assert (tl.available <= tl.ready).all()
    if s["outcome"] == "aborted":  # once an abort has settled, nothing goes to v2
        settled = result.events[result.events.kind == "aborted"].time_s.item() + 10
        late = requests[requests.arrival_s > settled]
        assert (late.version == "v2").sum() == 0


# -- the hard paths: SIGKILL, and the pod bounds of each strategy ------------------------------


@st.composite
def kill_scenarios(draw):
    """Requests longer than the grace period, no preStop: deletions must end in SIGKILL."""
    service_s = draw(st.sampled_from([4.0, 9.0]))
    return sd.load_scenario({
        "name": "kill", "duration": 60, "sampleInterval": 1,
        "deployment": {"replicas": draw(st.integers(1, 4))},
        "pod": {"workers": 1000, "queueLimit": None, "preStopSeconds": 0,
                "terminationGracePeriodSeconds": draw(st.sampled_from([0.5, 1, 2]))},
        "service": {"endpointPropagationDelay": draw(st.sampled_from([0.5, 3]))},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": draw(st.sampled_from([5, 20]))},
                    "users": 50},
        "release": {"at": 20,
                    "current": {"name": "v1", "serviceTime": service_s},
                    "new": {"name": "v2", "serviceTime": service_s}},
        "strategies": {"s": draw(st.sampled_from([{"type": "Recreate"},
                                                  {"type": "RollingUpdate"},
                                                  {"type": "BlueGreen",
                                                   "scaleDownDelaySeconds": 0}]))},
    }), service_s


@given(case=kill_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_sigkill_fails_everything_the_pod_still_holds(case, seed) -> None:
    scenario, service_s = case
    result = sd.run(scenario, seed=seed, keep_requests=True)
    requests = result.requests
    killed = requests[requests.outcome == "killed"]
    assert len(killed) > 0  # the path this test is for was taken
    assert result.summary["requests_killed"] == len(killed)
    # 1,000 workers: no queueing, so a request served in full took exactly the service time and
    # a killed one was cut before it.
    ok = requests[requests.outcome == "ok"]
    assert ((ok.end_s - ok.arrival_s) - service_s).abs().max() < 1e-9
    assert ((killed.end_s - killed.arrival_s) < service_s).all()
    if scenario.strategies["s"].type == "Recreate":  # only the old pods are ever deleted
        assert (killed.version == "v1").all()
    assert requests.id.is_unique
    assert len(requests) == result.summary["requests_total"]


def _spec_sums_after_each_pass(events: pd.DataFrame, start: dict[str, int]) -> list[int]:
    """Σ spec over the ReplicaSets once every scale made at one instant has been applied."""
    spec = dict(start)
    sums = []
    scales = events[events.kind == "scale"]
    for _, at_once in scales.groupby("time_s", sort=True):
        for row in at_once.itertuples():
            spec[row.version] = row.replicas
        sums.append(sum(spec.values()))
    return sums


@given(replicas=st.integers(1, 8), preview=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_blue_green_never_asks_for_more_than_twice_the_replicas(replicas, preview, seed) -> None:
    bg: dict = {"type": "BlueGreen", "scaleDownDelaySeconds": 5}
    if preview:
        bg["previewReplicaCount"] = max(1, replicas // 2)
    scenario = sd.load_scenario({
        "name": "bg", "duration": 60, "deployment": {"replicas": replicas},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 10}}, "release": {"at": 5},
        "strategies": {"bg": bg}})
    result = sd.run(scenario, seed=seed)
    sums = _spec_sums_after_each_pass(result.events, {"v1": replicas, "v2": 0})
    assert max(sums) == 2 * replicas  # green at full size beside blue, and never more
    green = result.events[(result.events.kind == "scale") & (result.events.version == "v2")]
    assert green.replicas.iloc[0] == (max(1, replicas // 2) if preview else replicas)


@given(replicas=st.integers(1, 10), surge=int_or_percent, unavailable=int_or_percent,
       weights=st.lists(st.integers(1, 100), min_size=1, max_size=3),
       seed=st.integers(0, 2**32 - 1))
def test_basic_canary_stays_within_replicas_plus_surge(replicas, surge, unavailable, weights,
                                                       seed) -> None:
    if surge in (0, "0%") and unavailable in (0, "0%"):
        unavailable = 1  # Argo refuses both zero
    steps: list[dict] = []
    for weight in weights:
        steps += [{"setWeight": weight}, {"pause": {"duration": 5}}]
    scenario = sd.load_scenario({
        "name": "basic", "duration": 90, "deployment": {"replicas": replicas},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 10}}, "release": {"at": 5},
        "strategies": {"c": {"type": "Canary", "trafficRouting": "replicas", "steps": steps,
                             "maxSurge": surge, "maxUnavailable": unavailable}}})
    result = sd.run(scenario, seed=seed)
    max_surge, _ = fenceposts(surge, unavailable, replicas)
    sums = _spec_sums_after_each_pass(result.events, {"v1": replicas, "v2": 0})
    assert all(total <= replicas + max_surge for total in sums), (sums, max_surge)


@given(replicas=st.integers(1, 10), weight=st.integers(1, 100), seed=st.integers(0, 2**32 - 1))
def test_weighted_canary_keeps_stable_full_and_never_exceeds_twice(replicas, weight,
                                                                    seed) -> None:
    scenario = sd.load_scenario({
        "name": "weighted", "duration": 60, "deployment": {"replicas": replicas},
        "traffic": {"arrivals": {"type": "poisson", "rateRps": 10}}, "release": {"at": 5},
        "strategies": {"c": {"type": "Canary", "scaleDownDelaySeconds": 5,
                             "steps": [{"setWeight": weight}, {"pause": {"duration": 5}}]}}})
    result = sd.run(scenario, seed=seed)
    scales = result.events[result.events.kind == "scale"]
    assert list(scales[scales.version == "v1"].replicas) == [0]  # full until promoted
    sums = _spec_sums_after_each_pass(result.events, {"v1": replicas, "v2": 0})
    assert max(sums) == 2 * replicas  # promotion scales the canary to full size beside stable
    first_canary = scales[scales.version == "v2"].replicas.iloc[0]
    assert first_canary == -(-weight * replicas // 100)  # ceil(weight · n / 100), Argo A13
