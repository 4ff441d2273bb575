"""Tracks, the gateway in front of them, and the Pipeline strategy (issue 9).

The topology is Bitmovin's (semantics.md T1–T5): tracks internal 2 / free 4 / paid 4 /
production 10, HAProxy rules INTERNAL → internal, FREE → free 5 / production 95,
ENTERPRISE → production, anything else → paid 5 / production 95. Expected shares come from
probability, not from the code: split by request, each free request goes to the free track with
probability 5 % (binomial over requests); split by user, each free user is on the free track
with probability 5 % (binomial over users) and stays there. Tolerances are 4.5 standard errors.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdeploy as sd
from simdeploy.errors import ScenarioError
from simdeploy.gateway import rule_for_headers
from simdeploy.gateway_spec import GatewaySpec

ROOT = Path(__file__).resolve().parents[1]
Z = 4.5

with (ROOT / "scenarios" / "multi-stage-canary.yaml").open() as _file:
    BLOG: dict[str, Any] = yaml.safe_load(_file)


def blog(error_rate: float = 0.001, **changes: Any) -> sd.Scenario:
    """The shipped multi-stage scenario, shortened: 12 minutes, 1-2 minute soaks."""
    data = copy.deepcopy(BLOG)
    data["duration"] = "12m"
    data["traffic"]["arrivals"]["rateRps"] = 60
    data["release"]["new"]["errorRate"] = error_rate
    for path, value in changes.items():
        node = data
        *head, last = path.split(".")
        for key in head:
            node = node[key]
        node[last] = copy.deepcopy(value)
    shorter = {"5m": "1m", "10m": "2m"}  # the shipped soaks, shortened
    for strategy in data["strategies"].values():
        for stage in strategy.get("stages", []):
            stage["soak"] = shorter.get(stage.get("soak", "0s"), stage.get("soak", "0s"))
    return sd.load_scenario(data)


def _event_time(result: sd.RunResult, kind: str, detail: str) -> float:
    events = result.events
    rows = events[(events.kind == kind) & (events.detail == detail)]
    return float(rows.time_s.iloc[0]) if len(rows) else math.inf


# -- the routing rules ------------------------------------------------------------------------

def test_first_match_takes_list_order_and_gateway_api_the_most_specific_match() -> None:
    spec = GatewaySpec.model_validate({
        "precedence": "first-match",
        "routes": [
            {"match": [{"headers": {"x-group": {"exact": "FREE"}}}], "backends": [{"track": "a"}]},
            {"match": [{"headers": {"x-group": {"exact": "FREE"}, "x-beta": {"exact": "1"}}}],
             "backends": [{"track": "b"}]},
            {"backends": [{"track": "c"}]},
        ]})
    beta_free = {"X-Group": "FREE", "X-Beta": "1"}
    assert rule_for_headers(spec, beta_free) == 0
    assert rule_for_headers(spec.model_copy(update={"precedence": "gateway-api"}), beta_free) == 1
    assert rule_for_headers(spec, {"X-Group": "PAID"}) == 2
    assert rule_for_headers(spec.model_copy(update={"precedence": "gateway-api"}), {}) == 2
    no_default = spec.model_copy(update={"routes": spec.routes[:2]})
    assert rule_for_headers(no_default, {"X-Group": "PAID"}) == -1


def _without_gates(track: str) -> dict[str, Any]:
    strategies = copy.deepcopy(BLOG["strategies"])
    for strategy in strategies.values():
        for stage in strategy["stages"]:
            if stage["track"] == track:
                stage.pop("gate", None)
    return strategies


def test_a_segment_no_rule_matches_fails_every_request() -> None:
    routes = [r for r in BLOG["gateway"]["routes"] if r["name"] != "paid"]
    result = sd.run(blog(**{"gateway.routes": routes, "strategies": _without_gates("paid")}),
                    "pipeline-by-user")
    paid = result.segments.set_index("segment").loc["paid"]
    assert paid.requests_total > 0
    assert paid.requests_failed == paid.requests_total
    assert result.summary["requests_no_endpoint"] >= paid.requests_total


def test_a_backend_of_weight_zero_gets_nothing() -> None:
    routes = copy.deepcopy(BLOG["gateway"]["routes"])
    routes[1]["backends"] = [{"track": "free", "weight": 0}, {"track": "production",
                                                               "weight": 95}]
    result = sd.run(blog(**{"gateway.routes": routes, "strategies": _without_gates("free")}),
                    "pipeline-by-request", keep_requests=True)
    free_stage = _event_time(result, "stage", "free")
    paid_stage = _event_time(result, "stage", "paid")
    requests = result.requests
    during = requests[(requests.segment == "free") & (requests.arrival_s >= free_stage + 30)
                      & (requests.arrival_s < paid_stage)]
    assert len(during) > 500
    assert (during.version == "v2").sum() == 0


# -- exposure by segment ----------------------------------------------------------------------

@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), strategy=st.sampled_from(["pipeline-by-user",
                                                                 "pipeline-by-request"]))
def test_enterprise_users_never_see_the_new_version_before_the_production_stage(
        seed: int, strategy: str) -> None:
    result = sd.run(blog(), strategy, seed=seed, keep_requests=True)
    production = _event_time(result, "stage", "production")
    assert production < 12 * 60  # the good release reaches production within the run
    requests = result.requests
    enterprise = requests[requests.segment == "enterprise"]
    assert len(enterprise) > 1000
    assert (enterprise[enterprise.arrival_s < production].version == "v2").sum() == 0
    # and once production is updated, they are on v2
    assert (enterprise[enterprise.arrival_s > production + 120].version == "v2").all()


def _free_stage_requests(result: sd.RunResult) -> Any:
    """Free users' requests while the free track is fully on v2 and paid not yet touched."""
    start = _event_time(result, "track_completed", "free") + 5.0  # proxies caught up
    end = _event_time(result, "stage", "paid")
    requests = result.requests
    return requests[(requests.segment == "free") & (requests.arrival_s >= start)
                    & (requests.arrival_s < end)]


def test_split_by_request_sends_five_percent_of_free_requests_to_the_free_track() -> None:
    result = sd.run(blog(), "pipeline-by-request", keep_requests=True)
    free = _free_stage_requests(result)
    n, k = len(free), int((free.version == "v2").sum())
    assert n > 2000
    p = 0.05
    assert abs(k / n - p) <= Z * math.sqrt(p * (1 - p) / n), (k, n)
    # no stickiness: many users get both versions
    versions = free.groupby("user").version.nunique()
    assert (versions > 1).sum() > 0


def test_split_by_user_puts_five_percent_of_free_users_on_the_free_track_and_keeps_them() -> None:
    result = sd.run(blog(), "pipeline-by-user", keep_requests=True)
    free = _free_stage_requests(result)
    per_user = free.groupby("user").version.agg(lambda v: set(v.astype(str)))
    assert all(len(v) == 1 for v in per_user)  # a user stays on one track
    n = len(per_user)
    k = sum(1 for v in per_user if v == {"v2"})
    assert n > 1000
    p = 0.05
    assert abs(k / n - p) <= Z * math.sqrt(p * (1 - p) / n), (k, n)


# -- the pipeline -----------------------------------------------------------------------------

def test_a_failed_free_gate_rolls_free_back_and_never_touches_paid_or_production() -> None:
    result = sd.run(blog(error_rate=0.08), "pipeline-by-user", keep_requests=True)
    events = result.events
    assert result.summary["outcome"] == "aborted"
    failed = events[events.kind == "stage_failed"]
    assert list(failed.detail) == ["free"]
    assert set(events[events.kind == "rollback"].detail) == {"internal", "free"}
    assert set(events[events.kind == "stage"].detail) == {"internal", "free"}
    scaled = set(events[events.kind == "scale"].version)
    assert not any(name.startswith(("paid-", "production-")) for name in scaled)
    # after the rollback (and the proxies), no request is served by v2 any more
    done = float(events[events.kind == "aborted"].time_s.iloc[0])
    requests = result.requests
    assert (requests[requests.arrival_s > done + 5].version == "v2").sum() == 0
    # paid, enterprise and production users never saw v2
    segments = result.segments.set_index("segment")
    assert segments.loc["enterprise", "users_exposed_new"] == 0
    assert segments.loc["paid", "users_exposed_new"] == 0
    assert segments.loc["free", "users_exposed_new"] > 0
    tail = result.timeline[result.timeline.time_s > done + 60]
    assert (tail[tail.version == "v2"].pods == 0).all()


def test_a_track_whose_own_update_aborts_fails_its_stage() -> None:
    """The free track's own RollingUpdate watches its own pods while it updates (half of the
    free users' requests reach it here) and undoes itself; the pipeline undoes internal."""
    tracks = copy.deepcopy(BLOG["tracks"])
    tracks["free"]["strategy"] = {"type": "RollingUpdate",
                                  "healthGate": {"maxErrorRate": 0.02, "window": "60s",
                                                 "interval": "5s", "minRequests": 5}}
    routes = copy.deepcopy(BLOG["gateway"]["routes"])
    routes[1]["backends"] = [{"track": "free", "weight": 50},
                             {"track": "production", "weight": 50}]
    strategies = copy.deepcopy(BLOG["strategies"])
    for strategy in strategies.values():
        for stage in strategy["stages"]:
            stage.pop("gate", None)
    scenario = blog(error_rate=0.5, **{"tracks": tracks, "strategies": strategies,
                                       "gateway.routes": routes})
    result = sd.run(scenario, "pipeline-by-user")
    events = result.events
    assert result.summary["outcome"] == "aborted"
    assert list(events[events.kind == "stage_failed"].detail) == ["free"]
    assert list(events[events.kind == "track_aborted"].detail) == ["free"]
    assert list(events[events.kind == "rollback"].detail) == ["internal"]


def test_standing_capacity_is_reported_apart_from_the_rollout() -> None:
    result = sd.run(blog(), "pipeline-by-user")
    summary = result.summary
    assert summary["baseline_pods"] == 20
    assert summary["standing_pods"] == 2 + 4 + 4 + 4  # tracks beyond production + HAProxy
    assert summary["standing_extra_pod_seconds"] == pytest.approx(14 * 12 * 60)
    assert summary["peak_pods"] > 20
    assert 0 < summary["extra_pod_seconds"] < 20 * 60  # surges only, not the standing tracks
    assert summary["outcome"] == "completed"
    assert summary["downtime_s"] == 0.0


def test_same_seed_same_answer() -> None:
    scenario = blog(error_rate=0.08)
    a = sd.run(scenario, "pipeline-by-request", seed=7)
    b = sd.run(scenario, "pipeline-by-request", seed=7)
    assert a.summary == b.summary or all(
        (x == y) or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a.summary.values(), b.summary.values(), strict=True))
    assert a.events.equals(b.events)
    assert a.segments.equals(b.segments)


def test_without_tracks_nothing_is_standing() -> None:
    scenario = sd.load_scenario(ROOT / "scenarios" / "web-api.yaml")
    result = sd.run(scenario)
    assert result.summary["standing_pods"] == 0
    assert result.summary["standing_extra_pod_seconds"] == 0


# -- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "where", "words"), [
    ({"gateway": None}, "gateway", "tracks need a gateway"),
    ({"tracks": None}, "gateway", "needs tracks"),
    ({"gateway.routes": [{"backends": [{"track": "canary"}]}]},
     "gateway.routes[0].backends[0].track", "no track 'canary'"),
    ({"gateway.routes": [{"backends": [{"track": "free", "weight": 0}]}]},
     "gateway.routes[0].backends", "weight 0"),
    ({"gateway.routes": [{"backends": [{"track": "free", "weight": True}]}]},
     "gateway.routes[0].backends[0].weight", ""),
    ({"strategies": {"rolling": {"type": "RollingUpdate"}}}, "strategies.rolling.type",
     "Pipeline"),
    ({"strategies": {"p": {"type": "Pipeline", "stages": [{"track": "gold"}]}}},
     "strategies.p.stages[0].track", "no track 'gold'"),
    ({"strategies": {"p": {"type": "Pipeline", "stages": [{"track": "free"},
                                                           {"track": "free"}]}}},
     "strategies.p.stages[1].track", "two stages"),
    ({"tracks": {"a": {"replicas": 1, "production": True},
                 "b": {"replicas": 1, "production": True}}}, "tracks.b.production", "only one"),
    ({"tracks.free.replicas": 0}, "tracks.free.replicas", ""),
    ({"gateway.splitBy": "cookie"}, "gateway.splitBy", ""),
    # a track's strategy is validated as a strategy is
    ({"tracks.free.strategy": {"type": "BlueGreen", "dns": {"ttl": 60}}},
     "tracks.free.strategy.dns", "not by DNS"),
    ({"tracks.free.strategy": {"type": "BlueGreen", "externalLoadBalancer": {}}},
     "tracks.free.strategy.externalLoadBalancer", "external load balancer"),
    ({"tracks.free.strategy": {"type": "Canary", "analysis": {
        "iterations": 3, "match": [{"headers": {"x-nobody": {"exact": "1"}}}]}}},
     "tracks.free.strategy.analysis.match", "no segment"),
])
def test_bad_topologies_are_refused_with_the_field(change: dict[str, Any], where: str,
                                                   words: str) -> None:
    data = copy.deepcopy(BLOG)
    for path, value in change.items():
        node = data
        *head, last = path.split(".")
        for key in head:
            node = node[key]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    with pytest.raises(ScenarioError) as error:
        sd.load_scenario(data)
    message = str(error.value)
    assert "\n" not in message
    assert where in message, message
    assert words in message, message


def test_a_pipeline_needs_tracks() -> None:
    data = copy.deepcopy(BLOG)
    del data["tracks"], data["gateway"]
    with pytest.raises(ScenarioError,
                       match=r"strategies\.pipeline-by-user: a Pipeline needs tracks"):
        sd.load_scenario(data)


# -- properties -------------------------------------------------------------------------------

@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1),
       free_weight=st.integers(1, 99),
       split=st.sampled_from(["user", "request"]),
       precedence=st.sampled_from(["first-match", "gateway-api"]),
       error_rate=st.sampled_from([0.001, 0.1]))
def test_every_request_has_one_outcome_and_tracks_stay_within_their_surge(
        seed: int, free_weight: int, split: str, precedence: str, error_rate: float) -> None:
    routes = copy.deepcopy(BLOG["gateway"]["routes"])
    routes[1]["backends"] = [{"track": "free", "weight": free_weight},
                             {"track": "production", "weight": 100 - free_weight}]
    scenario = blog(error_rate=error_rate, **{"gateway.routes": routes,
                                              "gateway.precedence": precedence,
                                              "gateway.splitBy": split})
    result = sd.run(scenario, "pipeline-by-user", seed=seed)
    summary = result.summary
    outcomes = sum(v for k, v in summary.items() if k.startswith("requests_")
                   and k not in ("requests_total", "requests_failed", "requests_failed_new",
                                 "requests_mirrored", "requests_mirrored_failed"))
    assert outcomes == summary["requests_total"]
    segments = result.segments
    assert segments.requests_total.sum() == summary["requests_total"]
    assert segments.requests_failed.sum() == summary["requests_failed"]
    # Kubernetes' bound per Deployment: Σ spec.replicas ≤ replicas + maxSurge (25 %, rounded up)
    specs: dict[str, int] = {}
    for row in result.events[result.events.kind == "scale"].itertuples():
        specs[row.version] = row.replicas
        track = row.version.rsplit("-", 1)[0]
        replicas = BLOG["tracks"][track]["replicas"]
        total = sum(v for k, v in specs.items() if k.rsplit("-", 1)[0] == track)
        assert total <= replicas + math.ceil(replicas * 0.25), (row, specs)
    # a good release passes every gate (or is still soaking where the free track gets few
    # requests); a bad one never gets past the free stage, whose gate reads the free track
    stages = set(result.events[result.events.kind == "stage"].detail)
    if error_rate < 0.01:
        assert summary["outcome"] in ("completed", "stalled")
        assert summary["analysis_verdict"] in ("", "Successful")
    else:
        assert summary["outcome"] in ("aborted", "stalled")
        assert stages == {"internal", "free"}


def test_users_exposed_before_promotion_counts_who_had_v2_before_production_had_it() -> None:
    scenario = blog()
    counts = {}
    for name in scenario.strategies:
        result = sd.run(scenario, name, keep_requests=True)
        # production's RollingUpdate has no promotion step: its end gives v2 to everyone
        production = _event_time(result, "track_completed", "production")
        requests = result.requests
        served = requests[(requests.version == "v2") & requests.outcome.isin(["ok", "error"])
                          & (requests.end_s <= production)]
        assert result.summary["users_exposed_before_promotion"] == served.user.nunique()
        assert result.summary["users_exposed_before_promotion"] < \
            result.summary["users_exposed_new"]
        counts[name] = result.summary["users_exposed_before_promotion"]
    # the post's text (5 % of free users) exposes fewer users than its HAProxy config
    assert counts["pipeline-by-user"] < counts["pipeline-by-request"]


def test_a_release_never_promoted_counts_every_user_it_reached() -> None:
    result = sd.run(blog(error_rate=0.08), "pipeline-by-user")
    assert result.summary["outcome"] == "aborted"
    assert result.summary["users_exposed_before_promotion"] == \
        result.summary["users_exposed_new"]


# -- gates, track strategies and rollbacks (found in review) ----------------------------------

def _free_gate(gate: dict[str, Any] | None, soak: str = "2m") -> dict[str, Any]:
    strategies = copy.deepcopy(BLOG["strategies"])
    for strategy in strategies.values():
        for stage in strategy["stages"]:
            if stage["track"] == "free":
                stage["soak"] = soak
                if gate is None:
                    stage.pop("gate", None)
                else:
                    stage["gate"] = gate
    return strategies


def _metric(**fields: Any) -> dict[str, Any]:
    return {"name": "success-rate", "successCondition": "result[0] >= 0.97",
            "provider": {"simulation": {"query": "success-rate", "version": "canary",
                                        "window": "1m"}}, **fields}


def _back_on_v1(result: sd.RunResult) -> None:
    """Every track is back at full size on v1 (the undone ReplicaSets scaled up again)."""
    final: dict[str, int] = {}
    for row in result.events[result.events.kind == "scale"].itertuples():
        final[row.version] = row.replicas
    for track, spec in BLOG["tracks"].items():
        assert final.get(f"{track}-v1", spec["replicas"]) == spec["replicas"], (track, final)
        assert final.get(f"{track}-v2", 0) == 0, (track, final)
    last = result.timeline[result.timeline.time_s == result.timeline.time_s.max()]
    assert dict(zip(last.version, last.pods, strict=True)) == {"v1": 20, "v2": 0}


@pytest.mark.parametrize("gate", [
    {"metrics": [_metric(initialDelay="30s")]},
    {"metrics": [_metric(count=3, interval="20s", initialDelay="20s")]},
    {"metrics": [_metric(interval="20s", initialDelay="20s", failureLimit=1)]},
])
def test_an_analysis_gate_stops_a_bad_release_and_passes_a_good_one(gate: dict) -> None:
    bad = sd.run(blog(error_rate=0.2, strategies=_free_gate(gate)), "pipeline-by-user")
    assert bad.summary["outcome"] == "aborted"
    assert bad.summary["analysis_verdict"] == "Failed"
    assert list(bad.events[bad.events.kind == "stage_failed"].detail) == ["free"]
    _back_on_v1(bad)
    good = sd.run(blog(error_rate=0.0, strategies=_free_gate(gate)), "pipeline-by-user")
    assert good.summary["outcome"] == "completed"
    assert good.summary["analysis_verdict"] == "Successful"
    measured = good.events[good.events.kind == "measurement"]
    free_stage = _event_time(good, "stage", "free")
    assert ((measured.time_s > free_stage) & (measured.time_s < _event_time(
        good, "stage", "paid"))).any()  # the gate measured before the stage passed


def test_an_analysis_gate_that_could_pass_on_no_measurement_is_refused() -> None:
    gate = {"metrics": [_metric(interval="1m")]}
    with pytest.raises(ScenarioError, match=r"stages\[1\]\.gate\.metrics\[0\]: measures until"):
        blog(strategies=_free_gate(gate, soak="0s"))


@pytest.mark.parametrize("strategy", [
    {"type": "BlueGreen", "scaleDownDelaySeconds": 30},
    {"type": "Canary", "steps": [{"setWeight": 50}, {"pause": {"duration": 30}}]},
    {"type": "Canary", "trafficRouting": "replicas",
     "steps": [{"setWeight": 50}, {"pause": {"duration": 30}}]},
    {"type": "Recreate"},
    # its own gate aborts it, and the stage's gate fails during its abort delay
    {"type": "Canary", "abortScaleDownDelaySeconds": 120,
     "healthGate": {"maxErrorRate": 0.02, "window": "30s", "interval": "10s",
                    "minRequests": 5},
     "steps": [{"setWeight": 20}, {"pause": {"duration": "1m"}}]},
])
def test_any_track_strategy_is_promoted_or_rolled_back(strategy: dict[str, Any]) -> None:
    tracks = copy.deepcopy(BLOG["tracks"])
    tracks["free"]["strategy"] = strategy
    tracks["production"]["strategy"] = strategy
    good = sd.run(blog(tracks=tracks), "pipeline-by-user")
    assert good.summary["outcome"] == "completed"
    bad = sd.run(blog(error_rate=0.2, tracks=tracks), "pipeline-by-user")
    assert bad.summary["outcome"] == "aborted"
    assert set(bad.events[bad.events.kind == "stage"].detail) == {"internal", "free"}
    _back_on_v1(bad)


def test_a_rollback_during_a_controller_sync_delay_is_no_crash() -> None:
    scenario = blog(error_rate=0.3, **{"deployment": {"controllerSyncDelay": "20s"},
                                       "strategies": _free_gate(
                                           {"maxErrorRate": 0.02, "window": "30s",
                                            "interval": "5s", "minRequests": 5})})
    result = sd.run(scenario, "pipeline-by-user")
    assert result.summary["outcome"] == "aborted"
    _back_on_v1(result)


def test_a_stage_gate_failing_while_the_track_aborts_itself_rolls_everything_back() -> None:
    """The free track's canary aborts on its own gate and waits its abort delay; the stage's
    gate fails meanwhile: the pipeline stops the track where it is and undoes it."""
    tracks = copy.deepcopy(BLOG["tracks"])
    tracks["free"]["strategy"] = {
        "type": "Canary", "abortScaleDownDelaySeconds": 120,
        "healthGate": {"maxErrorRate": 0.02, "window": "30s", "interval": "10s",
                       "minRequests": 2},
        "steps": [{"setWeight": 100}, {"pause": {"duration": "1m"}}]}
    gate = {"maxErrorRate": 0.02, "window": "60s", "interval": "15s", "minRequests": 2}
    result = sd.run(blog(error_rate=0.5, tracks=tracks, strategies=_free_gate(gate)),
                    "pipeline-by-user")
    events = result.events
    track_abort = float(events[(events.kind == "abort")
                               & (events.version == "free-v2")].time_s.iloc[0])
    stage_failed = _event_time(result, "stage_failed", "free")
    assert track_abort < stage_failed < track_abort + 120  # during the canary's abort delay
    assert set(events[events.kind == "rollback"].detail) == {"internal", "free"}
    assert result.summary["outcome"] == "aborted"
    _back_on_v1(result)


def test_a_flagger_production_track_aborted_after_its_promotion_is_undone() -> None:
    """Flagger rolls back its canary, not the primary it has already updated: when the stage's
    gate fails after Flagger's promote, the pipeline undoes the production track itself."""
    tracks = copy.deepcopy(BLOG["tracks"])
    tracks["production"]["strategy"] = {"type": "Canary", "analysis": {
        "interval": "30s", "threshold": 2, "maxWeight": 50, "stepWeight": 10,
        "metrics": [{"name": "request-success-rate", "thresholdRange": {"min": 90},
                     "interval": "1m"}]}}
    strategies = {"p": {"type": "Pipeline", "stages": [{
        "track": "production", "soak": "300s",
        "gate": {"maxErrorRate": 0.01, "window": "10m", "interval": "10s",
                 "minRequests": 8000}}]}}
    result = sd.run(blog(error_rate=0.015, tracks=tracks, strategies=strategies,
                         duration="15m", **{"traffic.arrivals.rateRps": 100}), "p")
    events = result.events
    promoted = float(events[events.kind == "promote"].time_s.iloc[0])
    assert promoted < _event_time(result, "stage_failed", "production")
    assert list(events[events.kind == "track_aborted"].detail) == ["production"]
    assert list(events[events.kind == "rollback"].detail) == ["production"]
    assert result.summary["outcome"] == "aborted"
    _back_on_v1(result)


def test_a_tracks_own_gate_reads_its_own_track() -> None:
    """v2 fails on the internal track; production's canary holds v2 at weight 0 with its own
    health gate: internal's failures are not production's evidence."""
    tracks = copy.deepcopy(BLOG["tracks"])
    tracks["production"]["strategy"] = {
        "type": "Canary", "healthGate": {"maxErrorRate": 0.02, "window": "60s",
                                         "interval": "10s", "minRequests": 5},
        "steps": [{"setWeight": 0}, {"pause": {"duration": "2m"}}]}
    strategies = {"p": {"type": "Pipeline", "stages": [{"track": "internal", "soak": "2m"},
                                                       {"track": "production"}]}}
    result = sd.run(blog(error_rate=0.2, tracks=tracks, strategies=strategies), "p")
    events = result.events
    production = _event_time(result, "stage", "production")
    failed = events[events.kind == "analysis_failed"]
    assert (failed.time_s > production + 120).all()  # none while production's v2 had no traffic


def test_a_stage_gate_waits_a_full_window_after_its_track_is_updated() -> None:
    tracks = copy.deepcopy(BLOG["tracks"])
    tracks["production"]["strategy"] = {"type": "Recreate"}
    strategies = {"p": {"type": "Pipeline", "stages": [{
        "track": "production", "gate": {"maxErrorRate": 0.5, "window": "20s",
                                         "interval": "1s", "minRequests": 5}}]}}
    result = sd.run(blog(tracks=tracks, strategies=strategies), "p")
    updated = _event_time(result, "track_completed", "production")
    assert _event_time(result, "stage_passed", "production") >= updated + 20
    assert result.summary["outcome"] == "completed"
