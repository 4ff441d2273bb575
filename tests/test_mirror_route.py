"""Argo's setMirrorRoute step: a copy of ``percentage`` % of the requests of the users it
matches goes to the canary, whose answers nobody waits for; a step without ``match`` removes
the route; managed routes go at promotion or on abort (semantics.md T9, T11; argo-rollouts
validation.go for the wording of the refusals).

The route reaches the proxies an endpoint-propagation delay (0.5–2 s in ``tiny_mapping``)
after its step, and leaves as late after its removal, so the copies are bounded by the
matching requests routed to the stable in the narrowest and in the widest window the route
can have been in place.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

import simdeploy as sd
from simdeploy.errors import ScenarioError

BETA = [{"headers": {"x-canary": {"exact": "yes"}}}]
LAG_MIN, LAG_MAX = 0.5, 2.0  # tiny_mapping's endpointPropagationDelay


def _mirror(match: list[dict[str, Any]] | None = BETA, **fields: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"name": "shadow", **fields}
    if match is not None:
        step["match"] = match
    return {"setMirrorRoute": step}


def _scenario(tiny_mapping: dict[str, Any], steps: list[dict[str, Any]], *,
              duration: float = 300, **canary: Any) -> sd.Scenario:
    tiny_mapping["duration"] = duration
    tiny_mapping["traffic"] = {"arrivals": {"type": "poisson", "rateRps": 60}, "users": 3000,
                               "segments": [
                                   {"name": "beta", "share": 0.3, "headers": {"X-Canary": "yes"}},
                                   {"name": "others", "share": 0.7, "headers": {}}]}
    strategy = {"type": "Canary", "steps": steps, "managedRoutes": [{"name": "shadow"}]}
    tiny_mapping["strategies"] = {"c": {**strategy, **canary}}
    return sd.load_scenario(tiny_mapping)


def _routes(result: sd.RunResult) -> pd.DataFrame:
    return result.events[result.events.kind == "route"]


def _stable_requests(result: sd.RunResult, segment: str, start: float, end: float) -> int:
    """User requests of ``segment`` that arrived in [start, end) and were routed to v1."""
    r = result.requests
    return int(((r.segment == segment) & (r.version == "v1")
                & (r.arrival_s >= start) & (r.arrival_s < end)).sum())


def _bounds(result: sd.RunResult, on: float, off: float) -> tuple[int, int]:
    """Beta's stable-routed requests while the route surely was, and may have been, applied."""
    return (_stable_requests(result, "beta", on + LAG_MAX, off + LAG_MIN),
            _stable_requests(result, "beta", on + LAG_MIN, off + LAG_MAX))


def test_half_of_the_matching_users_stable_requests_are_copied(tiny_mapping) -> None:
    steps = [{"setWeight": 10}, _mirror(percentage=50), {"pause": {"duration": "150s"}},
             _mirror(None), {"pause": {"duration": "60s"}}]
    result = sd.run(_scenario(tiny_mapping, steps), seed=3, keep_requests=True)
    routes = _routes(result)
    assert routes.detail.tolist() == ["setMirrorRoute shadow (50% copied)",
                                      "setMirrorRoute shadow removed"]
    on, off = routes.time_s.tolist()
    assert off - on == pytest.approx(150.0, abs=0.01)  # the step completes at once (A3)
    low, high = _bounds(result, on, off)
    assert low > 1500
    mirrored = result.summary["requests_mirrored"]
    # Binomial(n, 1/2) with n between low and high: 4.5 standard deviations either side
    assert low / 2 - 4.5 * math.sqrt(low) / 2 <= mirrored <= high / 2 + 4.5 * math.sqrt(high) / 2
    # copies of the others' requests (2.3 times as many) would be far outside that
    assert _stable_requests(result, "others", on + LAG_MAX, off + LAG_MIN) > 2 * low
    # the copies are no one's requests: every user request has its one outcome
    s = result.summary
    assert len(result.requests) == s["requests_total"]
    assert result.requests.id.min() == 0


def test_all_matching_and_no_other_requests_are_copied_until_the_route_is_removed(
        tiny_mapping) -> None:
    """percentage absent → 100 (Argo's istio.go createMirrorRoute): no draw, so the copies are
    exactly beta's stable-routed requests while the route was applied, and none after the
    route-removing step (a step with only the name)."""
    steps = [{"setWeight": 10}, _mirror(), {"pause": {"duration": "60s"}}, _mirror(None),
             {"pause": {"duration": "120s"}}]
    result = sd.run(_scenario(tiny_mapping, steps), seed=4, keep_requests=True)
    on, off = _routes(result).time_s.tolist()
    low, high = _bounds(result, on, off)
    assert low > 600
    assert low <= result.summary["requests_mirrored"] <= high
    after = _stable_requests(result, "beta", off + LAG_MAX, off + 120)
    assert after > 1000  # had the copies gone on, there would be these many more


def test_a_bad_canary_fails_copies_but_no_user_through_them(tiny_mapping) -> None:
    tiny_mapping["release"]["new"]["errorRate"] = 1.0
    tiny_mapping["release"]["current"]["errorRate"] = 0.0  # every failure is the canary's
    steps = [{"setWeight": 10}, _mirror(), {"pause": {"duration": "600s"}}]
    result = sd.run(_scenario(tiny_mapping, steps, duration=200), seed=5, keep_requests=True)
    s = result.summary
    assert s["requests_mirrored"] > 1000
    # every copy fails, except the few still being served when the run ends (no outcome)
    assert 0 <= s["requests_mirrored"] - s["requests_mirrored_failed"] <= 5
    r = result.requests
    r = r[r.outcome != "unfinished"]  # still being served when the run ends
    on_v2, on_v1 = r[r.version == "v2"], r[r.version == "v1"]
    # the only failures are the real requests the weight sent to v2 (errorRate 1)
    assert len(on_v2) > 0
    assert s["requests_failed_new"] == len(on_v2) == (on_v2.outcome == "error").sum()
    assert s["users_failed_new"] == on_v2.user.nunique()
    # beta users whose requests were copied to the failing canary but who were never routed
    # there themselves saw no failure
    on = _routes(result).time_s.item()
    beta = r[r.segment == "beta"]
    failed_beta = set(beta[beta.outcome != "ok"].user)
    assert failed_beta == set(beta[beta.version == "v2"].user)
    copied = on_v1[(on_v1.segment == "beta") & (on_v1.arrival_s > on + LAG_MAX)]
    assert len(set(copied.user) - failed_beta) > 100
    assert (copied.outcome == "ok").all()
    assert s["requests_failed"] == (r.outcome != "ok").sum()


def test_the_route_is_removed_at_promotion(tiny_mapping) -> None:
    steps = [{"setWeight": 50}, _mirror(), {"pause": {"duration": "30s"}}]
    result = sd.run(_scenario(tiny_mapping, steps), seed=6, keep_requests=True)
    assert result.summary["outcome"] == "completed"
    routes = _routes(result)
    assert routes.detail.tolist() == ["setMirrorRoute shadow (100% copied)",
                                      "promoted: managed routes removed"]
    assert result.summary["requests_mirrored"] > 0


def test_the_route_is_removed_on_abort(tiny_mapping) -> None:
    tiny_mapping["release"]["new"]["errorRate"] = 0.5
    steps = [{"setWeight": 10}, _mirror(), {"pause": {"duration": "200s"}}]
    gate = {"maxErrorRate": 0.05, "window": "20s", "interval": "10s", "minRequests": 20}
    result = sd.run(_scenario(tiny_mapping, steps, healthGate=gate), seed=1,
                    keep_requests=True)
    assert result.summary["outcome"] == "aborted"
    routes = _routes(result)
    assert routes.detail.tolist() == ["setMirrorRoute shadow (100% copied)",
                                      "abort: managed routes removed"]
    on, off = routes.time_s.tolist()
    low, high = _bounds(result, on, off)
    assert low <= result.summary["requests_mirrored"] <= high
    assert _stable_requests(result, "beta", off + LAG_MAX, 300) > 1000


def test_header_and_mirror_routes_are_removed_together(tiny_mapping) -> None:
    steps = [{"setWeight": 10}, _mirror(),
             {"setHeaderRoute": {"name": "beta", "match": [
                 {"headerName": "x-canary", "headerValue": {"exact": "yes"}}]}},
             {"pause": {"duration": "30s"}}]
    scenario = _scenario(tiny_mapping, steps,
                         managedRoutes=[{"name": "shadow"}, {"name": "beta"}])
    result = sd.run(scenario, seed=7)
    assert _routes(result).detail.tolist() == ["setMirrorRoute shadow (100% copied)",
                                               "setHeaderRoute beta",
                                               "promoted: managed routes removed"]


@pytest.mark.parametrize(("match", "copies"), [
    ([{"method": {"exact": "GET"}, "path": {"prefix": "/"}}], True),  # every request: GET /
    ([{"path": {"exact": "/"}}, {"headers": {"x-canary": {"exact": "no"}}}], True),
    ([{}], True),
    ([{"path": {"prefix": "/api"}}], False),
    ([{"method": {"exact": "POST"}}], False),
    ([{"method": {"exact": "GET"}, "headers": {"x-canary": {"exact": "no"}}}], False),
])
def test_a_request_is_a_get_on_the_root_path(tiny_mapping, match, copies: bool) -> None:
    steps = [{"setWeight": 10}, _mirror(match, percentage=100), {"pause": {"duration": "60s"}}]
    result = sd.run(_scenario(tiny_mapping, steps, duration=120), seed=8)
    assert (result.summary["requests_mirrored"] > 1000) is copies


def test_percentage_zero_copies_nothing(tiny_mapping) -> None:
    steps = [{"setWeight": 10}, _mirror(percentage=0), {"pause": {"duration": "60s"}}]
    result = sd.run(_scenario(tiny_mapping, steps, duration=120), seed=8)
    assert result.summary["requests_mirrored"] == 0


def test_the_same_seed_gives_the_same_run(tiny_mapping) -> None:
    steps = [{"setWeight": 10}, _mirror(percentage=30), {"pause": {"duration": "60s"}}]
    scenario = _scenario(tiny_mapping, steps, duration=150)
    first, second = sd.run(scenario, seed=9), sd.run(scenario, seed=9)
    assert first.summary == second.summary
    assert first.summary["requests_mirrored"] > 0
    pd.testing.assert_frame_equal(first.events, second.events)


@pytest.mark.parametrize(("steps", "canary", "message"), [
    ([_mirror()], {"trafficRouting": "replicas"},
     "strategies.c.steps[0].setMirrorRoute: SetMirrorRoute requires TrafficRouting, supports "
     "Istio only"),
    ([{"setWeight": 10}, {"setMirrorRoute": {"name": "other"}}], {},
     "strategies.c.steps[1].setMirrorRoute.name: Steps define a route that does not exist in "
     "spec.strategy.canary.trafficRouting.managedRoutes"),
    ([_mirror(percentage=101)], {},
     "strategies.c.steps[0].setMirrorRoute.percentage: must be <= 100, got 101"),
    ([_mirror(percentage=-1)], {},
     "strategies.c.steps[0].setMirrorRoute.percentage: must be >= 0, got -1"),
    ([_mirror([{"path": {"exact": "/", "prefix": "/"}}])], {},
     "strategies.c.steps[0].setMirrorRoute.match[0].path: StringMatch match value must have "
     "exactly one of the following: exact, regex, prefix"),
    ([_mirror([{"method": {}}])], {},
     "strategies.c.steps[0].setMirrorRoute.match[0].method: StringMatch value missed, match "
     "value must have one of the following: exact, regex, prefix"),
    ([_mirror([{"headers": {"x-canary": {"regex": "(unclosed"}}}])], {},
     "strategies.c.steps[0].setMirrorRoute.match[0].headers.x-canary.regex: not a regular "
     "expression"),
    ([_mirror([{"query": {"exact": "a"}}])], {},
     "strategies.c.steps[0].setMirrorRoute.match[0].query"),
])
def test_bad_mirror_routes_are_refused_in_one_line(tiny_mapping, steps, canary,
                                                   message: str) -> None:
    with pytest.raises(ScenarioError) as error:
        _scenario(tiny_mapping, steps, **canary)
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith(f"<mapping>: {message}")


def test_mirror_routes_need_managed_routes(tiny_mapping) -> None:
    tiny_mapping["strategies"] = {"c": {"type": "Canary", "steps": [_mirror()]}}
    with pytest.raises(ScenarioError) as error:
        sd.load_scenario(tiny_mapping)
    assert str(error.value) == ("<mapping>: strategies.c.managedRoutes: Rollout has missing "
                                "field 'spec.strategy.canary.trafficRouting.managedRoutes'")


def test_a_mirror_step_from_yaml(tiny_mapping) -> None:
    """The step as it is written in a Rollout manifest."""
    import yaml

    steps = yaml.safe_load("""
- setWeight: 10
- setMirrorRoute:
    name: shadow
    percentage: 35
    match:
      - method: {exact: GET}
        path: {prefix: /}
        headers:
          x-canary: {exact: "yes"}
- pause: {duration: 10s}
""")
    step = _scenario(tiny_mapping, steps).strategies["c"].steps[1].set_mirror_route
    assert step.name == "shadow"
    assert step.percentage == 35
    assert step.match[0].as_match() == {"method": {"exact": "GET"}, "path": {"prefix": "/"},
                                        "headers": {"x-canary": {"exact": "yes"}}}
