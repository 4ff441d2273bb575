"""User segments (``traffic.segments``), header routes in the Service, and Flagger's A/B mode.

Expected shares come from probability, not from the code: a user is in a segment with its
share (binomial over users); a request comes from a segment with probability share ×
rateMultiplier / Σ share × rateMultiplier (binomial over requests). Tolerances are 4.5
standard errors. The A/B tick times are worked out by hand from Flagger's checklist
(semantics.md F2, F8, F12–F14; t0 the detection tick, I the interval):

* t0 scales the canary up (Progressing); t0 + I is the pre-rollout tick (no metric check):
  ``runAB`` routes the matching requests to the canary and counts iteration 1;
* t0 + 2I … t0 + K·I check the metrics and count iterations 2 … K;
* t0 + (K + 1)I checks the metrics once more and, iterations == K, promotes (Promoting);
* t0 + (K + 2)I (the primary's rollout takes less than I) removes the header route,
  Finalising; t0 + (K + 3)I scales the canary to 0, Succeeded.

A failing canary with threshold N: checks fail at t0 + 2I … t0 + (N + 1)I and t0 + (N + 2)I
rolls back, as in canary mode.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import simpy
from builders import scenario

import simdeploy as sd
from simdeploy.distributions import uniform_stream
from simdeploy.rng import STREAM_NAMES, Streams
from simdeploy.routing import Service, header_route_matches
from simdeploy.traffic import assign_segments

T0 = 10.0  # builders.BASE releases at 10 s
Z = 4.5


def within(count: int, n: int, p: float) -> bool:
    """``count`` successes in ``n`` trials is within Z standard errors of ``n·p``."""
    return abs(count - n * p) <= Z * math.sqrt(n * p * (1 - p)) + 1


THREE = [{"name": "internal", "share": 0.1, "headers": {"X-Traffic-Group": "INTERNAL"}},
         {"name": "free", "share": 0.6, "headers": {"X-Traffic-Group": "FREE"}},
         {"name": "enterprise", "share": 0.3, "headers": {"X-Traffic-Group": "ENTERPRISE"}}]


def with_segments(segments: list[dict[str, Any]] | None, users: int = 500,
                  **overrides: Any) -> sd.Scenario:
    traffic: dict[str, Any] = {"arrivals": {"type": "poisson", "rateRps": 50}, "users": users}
    if segments is not None:
        traffic["segments"] = segments
    return scenario(traffic=traffic, **overrides)


# --- the assignment ----------------------------------------------------------------------------


def test_streams_are_only_ever_appended() -> None:
    """A new stream goes last, so every older one keeps its values (rng.py's contract)."""
    assert STREAM_NAMES[:10] == ("arrivals", "users", "service", "errors", "pods", "routing",
                                 "propagation", "affected", "segments", "dns")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_segment_sizes_are_binomial_in_the_shares(seed: int) -> None:
    n = 20_000
    segment = assign_segments([0.1, 0.6, 0.3], n, Streams.from_seed(seed).segments)
    counts = np.bincount(segment, minlength=3)
    assert counts.sum() == n
    for count, share in zip(counts, [0.1, 0.6, 0.3], strict=True):
        assert within(int(count), n, share)


def test_a_zero_share_segment_gets_no_user() -> None:
    segment = assign_segments([0.0, 1.0, 0.0], 5000, Streams.from_seed(4).segments)
    assert set(segment.tolist()) == {1}


def test_every_request_carries_its_users_segment_and_the_assignment_is_the_seeds() -> None:
    s = with_segments(THREE, users=2000)
    result = sd.run(s, keep_requests=True, seed=7)
    requests = result.requests
    expected = assign_segments([0.1, 0.6, 0.3], 2000, Streams.from_seed(7).segments)
    names = np.array(["internal", "free", "enterprise"])
    assert (requests.segment.astype(str).to_numpy() == names[expected[requests.user]]).all()
    assert requests.groupby("user").segment.nunique().max() == 1  # one segment per user


def test_same_seed_same_users_and_segments_for_every_strategy() -> None:
    s = with_segments(THREE, strategies={
        "rolling": {"type": "RollingUpdate"}, "recreate": {"type": "Recreate"},
        "canary": {"type": "Canary", "steps": [{"setWeight": 50}, {"pause": {"duration": 10}}]},
    })
    runs = [sd.run(s, name, keep_requests=True, seed=3) for name in s.strategies]
    first = runs[0].requests
    for other in runs[1:]:
        pd.testing.assert_series_equal(other.requests.user, first.user)
        pd.testing.assert_series_equal(other.requests.segment, first.segment)
        pd.testing.assert_series_equal(other.requests.arrival_s, first.arrival_s)


# --- rateMultiplier ----------------------------------------------------------------------------


@pytest.mark.parametrize(("share", "multiplier", "expected"), [
    (0.5, 3.0, 0.75),   # 0.5·3 / (0.5·3 + 0.5·1)
    (0.2, 1.0, 0.2),
    (0.2, 0.5, 0.2 * 0.5 / (0.2 * 0.5 + 0.8)),
    (0.3, 0.0, 0.0),
])
def test_rate_multiplier_sets_the_segments_share_of_requests(share: float, multiplier: float,
                                                             expected: float) -> None:
    segments = [{"name": "heavy", "share": share, "rateMultiplier": multiplier},
                {"name": "rest", "share": 1 - share}]
    s = with_segments(segments, users=2000, duration=200)
    result = sd.run(s, keep_requests=True)
    requests = result.requests
    n = len(requests)
    heavy = int((requests.segment == "heavy").sum())
    assert within(heavy, n, expected)
    # the total rate stays the scenario's: the same arrival times as without segments
    plain = sd.run(with_segments(None, users=2000, duration=200), keep_requests=True)
    assert n == plain.summary["requests_total"]
    assert requests.arrival_s.tolist() == plain.requests.arrival_s.tolist()


def test_users_within_a_segment_are_drawn_alike() -> None:
    s = with_segments([{"name": "a", "share": 0.5, "rateMultiplier": 3},
                       {"name": "b", "share": 0.5}], users=50, duration=400)
    requests = sd.run(s, keep_requests=True).requests
    per_user = requests[requests.segment == "a"].groupby("user").size()
    n, k = int(per_user.sum()), len(per_user)
    for count in per_user:
        assert within(int(count), n, 1 / k)


# --- no segments: as before --------------------------------------------------------------------


def test_without_segments_nothing_changes() -> None:
    plain = sd.run(with_segments(None), keep_requests=True, seed=11)
    assert "segment" not in plain.requests.columns
    explicit = sd.run(scenario(traffic={"arrivals": {"type": "poisson", "rateRps": 50},
                                        "users": 500, "segments": None}),
                      keep_requests=True, seed=11)
    assert plain.summary == explicit.summary
    pd.testing.assert_frame_equal(plain.requests, explicit.requests)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("segments", "location", "problem"), [
    ([{"name": "a", "share": 0.5}, {"name": "b", "share": 0.4}], "traffic.segments",
     "the segments' shares must sum to 1, got 0.9"),
    ([{"name": "a", "share": 0.5}, {"name": "a", "share": 0.5}], "traffic.segments[1].name",
     "segment names must be unique ('a' is listed twice)"),
    ([{"name": "a", "share": 1.0, "headers": {"X-A": "1", "x-a": "2"}}],
     "traffic.segments[0].headers.x-a", "repeats a header name (names are case-insensitive)"),
    ([{"name": "a", "share": 1.0, "rateMultiplier": 0}], "traffic.segments",
     "no segment sends requests: every share or rateMultiplier is 0"),
])
def test_bad_segments_are_refused_in_one_line(segments: list[dict[str, Any]], location: str,
                                               problem: str) -> None:
    with pytest.raises(sd.ScenarioError) as caught:
        with_segments(segments)
    message = str(caught.value)
    assert "\n" not in message
    assert location in message
    assert problem in message


def test_shares_may_miss_1_by_rounding_only() -> None:
    thirds = [{"name": n, "share": 1 / 3} for n in "abc"]
    assert with_segments(thirds).traffic.segments is not None
    with pytest.raises(sd.ScenarioError, match="must sum to 1"):
        with_segments([{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5 + 1e-6}])


# --- header matching ---------------------------------------------------------------------------


def m(**conditions: dict[str, str]) -> dict[str, Any]:
    """One alternative: header name → {kind: value} (underscores for dashes)."""
    return {"headers": {name.replace("_", "-"): c for name, c in conditions.items()}}


@pytest.mark.parametrize(("match", "headers", "expected"), [
    ([m(x_user={"exact": "beta"})], {"x-user": "beta"}, True),
    ([m(x_user={"exact": "beta"})], {"x-user": "Beta"}, False),      # values are exact
    ([m(x_user={"exact": "beta"})], {"x-user": "beta2"}, False),
    ([m(x_user={"exact": "beta"})], {}, False),                      # no header, no match
    ([m(x_user={"exact": "beta"})], {"X-User": "beta"}, True),       # names: any case
    ([m(X_USER={"exact": "beta"})], {"x-user": "beta"}, True),
    ([m(x_user={"prefix": "be"})], {"x-user": "beta"}, True),
    ([m(x_user={"prefix": "et"})], {"x-user": "beta"}, False),
    ([m(x_user={"suffix": "ta"})], {"x-user": "beta"}, True),
    ([m(x_user={"suffix": "be"})], {"x-user": "beta"}, False),
    ([m(x_user={"regex": "b.*a"})], {"x-user": "beta"}, True),
    ([m(x_user={"regex": "et"})], {"x-user": "beta"}, False),        # the whole value
    ([m(x_user={"regex": ".*et.*"})], {"x-user": "beta"}, True),
    ([m(cookie={"regex": "^(.*?;)?(canary=always)(;.*)?$"})],
     {"Cookie": "session=1;canary=always"}, True),
    ([m(cookie={"regex": "^(.*?;)?(canary=always)(;.*)?$"})], {"cookie": "canary=never"}, False),
    # OR of alternatives
    ([m(a={"exact": "1"}), m(b={"exact": "2"})], {"b": "2"}, True),
    ([m(a={"exact": "1"}), m(b={"exact": "2"})], {"a": "2", "b": "1"}, False),
    # AND within one
    ([m(a={"exact": "1"}, b={"exact": "2"})], {"a": "1", "b": "2"}, True),
    ([m(a={"exact": "1"}, b={"exact": "2"})], {"a": "1"}, False),
    ([m(a={"exact": "1"}, b={"exact": "2"})], {"a": "1", "b": "3"}, False),
])
def test_header_match_semantics(match: list[dict[str, Any]], headers: dict[str, str],
                                expected: bool) -> None:
    assert header_route_matches(match, headers) is expected


class StubPod:
    def __init__(self, version: int) -> None:
        self.version = version
        self.busy = 0
        self.queue: list[Any] = []


class StubRecorder:
    def event(self, *args: Any) -> None:
        pass


def test_service_header_route_overrides_the_weights_for_matching_segments_only() -> None:
    """Users 0-2 in segment beta, 3-5 in segment rest; weights 0 % to the canary."""
    env = simpy.Environment()
    svc = Service(env, 2, "random", "none", uniform_stream(np.random.default_rng(1)),
                  np.random.default_rng(2), 6, StubRecorder(),  # type: ignore[arg-type]
                  user_segment=[0, 0, 0, 1, 1, 1],
                  segment_headers=[{"X-Group": "beta"}, {"X-Group": "rest"}])
    pods = [StubPod(0), StubPod(1)]
    for pod in pods:
        svc.add_endpoint(pod)  # type: ignore[arg-type]
    svc.set_weights(0, 1, 0, at_once=True)
    assert {svc.route(u).version for u in range(6) for _ in range(20)} == {0}
    svc.set_header_route([m(x_group={"exact": "beta"})], 1)  # after propagation
    assert {svc.route(0).version for _ in range(20)} == {0}
    env.run(until=5)
    assert {svc.route(u).version for u in range(3) for _ in range(20)} == {1}
    assert {svc.route(u).version for u in range(3, 6) for _ in range(20)} == {0}
    assert svc.routable_versions() == (0, 1)
    # a later weight change carries the header route (one route object)
    svc.set_weights(0, 1, 100, at_once=True)
    assert {svc.route(u).version for u in range(6) for _ in range(20)} == {1}
    svc.set_weights(0, 1, 0, at_once=True)
    svc.clear_header_route(at_once=True)
    assert {svc.route(u).version for u in range(6) for _ in range(20)} == {0}
    assert svc.routable_versions() == (0,)


def test_a_header_route_dropped_by_a_later_change_still_arrives_with_it() -> None:
    """The header route's propagation is slower than a later weight change's: the later change
    wins and it carries the header route as it stood when it was made."""
    env = simpy.Environment()
    delays = iter([5.0, 1.0])

    class Delays:
        def next(self) -> float:
            return next(delays)

    svc = Service(env, 2, "random", "none", Delays(),  # type: ignore[arg-type]
                  np.random.default_rng(2), 2, StubRecorder(),  # type: ignore[arg-type]
                  user_segment=[0, 1], segment_headers=[{"g": "a"}, {"g": "b"}])
    for pod in (StubPod(0), StubPod(1)):
        svc.add_endpoint(pod)  # type: ignore[arg-type]
    svc.set_weights(0, 1, 0, at_once=True)
    svc.set_header_route([m(g={"exact": "a"})], 1)  # applied at 5 s, but dropped
    svc.set_weights(0, 1, 0)  # applied at 1 s, with the header route
    env.run(until=2)
    assert svc.route(0).version == 1
    assert svc.route(1).version == 0


# --- Flagger A/B -------------------------------------------------------------------------------


SUCCESS_99 = {"name": "request-success-rate", "threshold": 99}
AB_SEGMENTS = [{"name": "beta", "share": 0.2, "headers": {"X-User-Type": "beta-tester"}},
               {"name": "regular", "share": 0.8, "headers": {"X-User-Type": "regular"},
                "rateMultiplier": 1.5}]
BETA = [{"headers": {"x-user-type": {"prefix": "beta"}}}]


def ab(analysis: dict[str, Any], *, new: dict[str, Any] | None = None,
       duration: float = 260) -> sd.Scenario:
    return scenario(duration=duration, deployment={"replicas": 4},
                    traffic={"arrivals": {"type": "poisson", "rateRps": 50}, "users": 500,
                             "segments": AB_SEGMENTS},
                    release={"new": {"name": "v2", **(new or {})}},
                    strategies={"ab": {"type": "Canary", "analysis": {"match": BETA,
                                                                      **analysis}}})


def rows(result: sd.RunResult, kind: str) -> pd.DataFrame:
    ev = result.events
    return ev[ev.kind == kind]


def phases(result: sd.RunResult) -> list[tuple[float, str]]:
    return [(r.time_s, r.detail) for r in rows(result, "phase").itertuples()]


def test_ab_is_flaggers_ab_testing_strategy() -> None:
    from simdeploy.rules.flagger import deployment_strategy
    s = ab({"interval": 30, "iterations": 3})
    assert deployment_strategy(s.strategies["ab"].flagger.as_flagger()) == "ab-testing"


def test_ab_good_release_only_matching_users_see_the_canary_until_promotion() -> None:
    """K = 3, I = 30: route at t0+I, checks at t0+2I, t0+3I, t0+4I, promote at t0+4I,
    header route removed and Finalising at t0+5I, Succeeded at t0+6I."""
    interval, k = 30, 3
    result = sd.run(ab({"interval": interval, "iterations": k, "metrics": [SUCCESS_99]}),
                    keep_requests=True)
    t = [T0 + i * interval for i in range(7)]
    assert result.summary["outcome"] == "completed"
    assert phases(result) == [(t[0], "Progressing"), (t[4], "Promoting"),
                              (t[5], "Finalising"), (t[6], "Succeeded")]
    routes = rows(result, "route")
    assert routes.time_s.tolist() == [t[1], t[5]]
    assert routes.detail.iloc[0].startswith("x-user-type prefix 'beta' → canary 100%")
    assert routes.detail.iloc[1].startswith("header route removed")
    assert rows(result, "weight").empty  # the header route is not a weight change
    checks = rows(result, "measurement")
    assert checks.time_s.tolist() == [t[2], t[3], t[4]]
    assert checks.detail.tolist() == ["Successful"] * k
    assert result.summary["rollout_duration_s"] == 6 * interval

    requests = result.requests
    before = requests[requests.arrival_s < t[4]]
    # before the promotion only the matching segment ever reaches v2 ...
    assert (before[before.version == "v2"].segment == "beta").all()
    # ... and, once the route has propagated, all of it does
    beta = before[(before.segment == "beta") & (before.arrival_s > t[1] + 2)]
    assert len(beta) > 100
    assert (beta.version == "v2").all()
    assert (before[before.segment == "regular"].version == "v1").all()
    # the metrics read the canary's traffic: the beta users'
    assert result.summary["requests_no_endpoint"] == 0
    after = requests[requests.arrival_s >= t[5] - 5]
    assert (after.version == "v2").all()
    assert result.summary["analysis_verdict"] == "Successful"


@pytest.mark.parametrize("threshold", [1, 2])
def test_ab_failing_canary_rolls_back_and_non_matching_users_never_see_it(
        threshold: int) -> None:
    interval = 20
    result = sd.run(ab({"interval": interval, "iterations": 10, "threshold": threshold,
                        "metrics": [SUCCESS_99]}, new={"errorRate": 1.0}, duration=200),
                    keep_requests=True)
    abort_s = T0 + (threshold + 2) * interval
    assert result.summary["outcome"] == "aborted"
    assert rows(result, "abort").time_s.tolist() == [abort_s]
    checks = rows(result, "measurement")
    assert checks.detail.tolist() == ["Failed"] * threshold
    assert checks.time_s.tolist() == [T0 + i * interval for i in range(2, threshold + 2)]
    assert rows(result, "route").time_s.tolist() == [T0 + interval, abort_s]
    assert phases(result) == [(T0, "Progressing"), (abort_s, "Failed")]
    assert rows(result, "weight").empty
    requests = result.requests
    on_v2 = requests[requests.version == "v2"]
    assert len(on_v2) > 0
    assert (on_v2.segment == "beta").all()
    assert (on_v2.arrival_s < abort_s + 3).all()  # the rollback's route change propagates
    beta_users = set(requests[requests.segment == "beta"].user)
    assert result.summary["users_exposed_new"] <= len(beta_users)
    assert result.summary["users_failed_new"] == on_v2.user.nunique()


@pytest.mark.parametrize(("analysis", "location", "problem"), [
    ({"iterations": 3, "match": [{"headers": {"x-user-type": {"regex": "beta("}}}]},
     "strategies.ab.analysis.match[0].headers.x-user-type.regex",
     "not a valid regular expression: missing ), unterminated subpattern at position 4"),
    ({"stepWeight": 10},
     "strategies.ab.analysis.match",
     "A/B testing (match) needs iterations > 0: without them Flagger ignores match"),
    ({"iterations": 3, "match": [{"headers": {"x-user-type": {"exact": "nobody"}}}]},
     "strategies.ab.analysis.match",
     "matches the headers of no segment in traffic.segments: no user would reach the canary"),
    ({"iterations": 3, "match": [{"headers": {"x-user-type": {"exact": "a", "prefix": "a"}}}]},
     "strategies.ab.analysis.match[0].headers.x-user-type",
     "give exactly one of exact, prefix, suffix or regex"),
    ({"iterations": 3, "stepWeightPromotion": 20},
     "strategies.ab.analysis.stepWeightPromotion",
     "simdeploy moves A/B traffic back to the primary in one tick: leave it 0"),
])
def test_bad_ab_input_is_refused_in_one_line(analysis: dict[str, Any], location: str,
                                             problem: str) -> None:
    with pytest.raises(sd.ScenarioError) as caught:
        ab(analysis)
    message = str(caught.value)
    assert "\n" not in message
    assert message == f"<mapping>: {location}: {problem}"


# --------------------------------------------------------------------------------------------
# result.segments: exposure per segment


_EXPOSURE = ("users_total", "users_exposed_new", "users_with_errors", "requests_total",
             "requests_failed")


@pytest.mark.parametrize("strategy", ["recreate", "rolling", "blue-green", "canary"])
def test_exposure_per_segment_adds_up_and_matches_the_requests(tiny_mapping,
                                                               strategy: str) -> None:
    tiny_mapping["release"]["new"]["errorRate"] = 0.05
    tiny_mapping["traffic"]["segments"] = [
        {"name": "internal", "share": 0.1, "headers": {"x-traffic-group": "INTERNAL"}},
        {"name": "enterprise", "share": 0.3, "rateMultiplier": 2,
         "headers": {"x-traffic-group": "ENTERPRISE"}},
        {"name": "everyone", "share": 0.6, "headers": {}}]
    result = sd.run(sd.load_scenario(tiny_mapping), strategy, seed=4, keep_requests=True)
    exposure = result.segments
    assert list(exposure.columns) == ["segment", *_EXPOSURE]
    assert exposure.segment.tolist() == ["internal", "enterprise", "everyone"]
    totals = exposure[list(_EXPOSURE)].sum()
    for key in _EXPOSURE:
        assert totals[key] == result.summary[key], key
    requests = result.requests
    failed = ~requests.outcome.isin(["ok", "unfinished"])
    by_segment = requests.assign(failed=failed).groupby("segment", observed=False)
    expected = pd.DataFrame({
        "users_total": by_segment.user.nunique(),
        "requests_total": by_segment.size(),
        "requests_failed": by_segment.failed.sum(),
        "users_with_errors": requests[failed].groupby("segment", observed=False).user.nunique(),
    }).reindex(exposure.segment)
    for key in expected.columns:
        assert exposure.set_index("segment")[key].tolist() == expected[key].tolist(), key


def test_without_segments_one_row_holds_the_totals(tiny_mapping) -> None:
    result = sd.run(sd.load_scenario(tiny_mapping), "canary", seed=1)
    assert result.segments.segment.tolist() == ["all"]
    row = result.segments.iloc[0]
    for key in _EXPOSURE:
        assert row[key] == result.summary[key], key
