"""Argo's setHeaderRoute step: matching requests go 100 % to the canary whatever the weight;
a step with only the name removes the route; managed routes go at the end or on abort
(semantics.md T8; argo-rollouts validation.go for the wording of the refusals)."""

from __future__ import annotations

from typing import Any

import pytest

import simdeploy as sd
from simdeploy.errors import ScenarioError

ROUTE = {"name": "beta", "match": [{"headerName": "X-Canary", "headerValue": {"exact": "yes"}}]}


def _scenario(tiny_mapping: dict[str, Any], steps: list[dict[str, Any]],
              **canary: Any) -> sd.Scenario:
    tiny_mapping["duration"] = 300
    tiny_mapping["traffic"] = {"arrivals": {"type": "poisson", "rateRps": 60}, "users": 3000,
                               "segments": [
                                   {"name": "beta", "share": 0.2, "headers": {"x-canary": "yes"}},
                                   {"name": "rest", "share": 0.8, "headers": {}}]}
    tiny_mapping["strategies"] = {"c": {"type": "Canary", "steps": steps,
                                        "managedRoutes": [{"name": "beta"}], **canary}}
    return sd.load_scenario(tiny_mapping)


def test_matching_users_go_to_the_canary_until_the_route_is_removed(tiny_mapping) -> None:
    steps = [{"setWeight": 10}, {"setHeaderRoute": ROUTE}, {"pause": {"duration": "60s"}},
             {"setHeaderRoute": {"name": "beta"}}, {"pause": {"duration": "60s"}}]
    result = sd.run(_scenario(tiny_mapping, steps), seed=2, keep_requests=True)
    routes = result.events[result.events.kind == "route"]
    assert routes.detail.tolist() == ["setHeaderRoute beta", "setHeaderRoute beta removed"]
    on, off = routes.time_s.tolist()
    assert off - on == pytest.approx(60.0, abs=0.01)  # the step completes at once (A3)
    ok = result.requests[result.requests.outcome.isin(["ok", "error"])]
    # the route reaches the proxies within the propagation delay (≤ 2 s): look after it
    during = ok[(ok.arrival_s > on + 2.5) & (ok.arrival_s < off)]
    beta, rest = during[during.segment == "beta"], during[during.segment == "rest"]
    assert len(beta) > 300
    assert (beta.version == "v2").all()
    assert (rest.version == "v2").mean() == pytest.approx(0.10, abs=0.04)
    after = ok[(ok.arrival_s > off + 2.5) & (ok.arrival_s < off + 55)]
    assert (after[after.segment == "beta"].version == "v2").mean() == pytest.approx(0.10,
                                                                                   abs=0.05)


def test_the_route_is_removed_on_abort(tiny_mapping) -> None:
    tiny_mapping["release"]["new"]["errorRate"] = 0.5
    steps = [{"setWeight": 10}, {"setHeaderRoute": ROUTE}, {"pause": {"duration": "120s"}}]
    gate = {"maxErrorRate": 0.05, "window": "20s", "interval": "10s", "minRequests": 20}
    result = sd.run(_scenario(tiny_mapping, steps, healthGate=gate), seed=1,
                    keep_requests=True)
    assert result.summary["outcome"] == "aborted"
    routes = result.events[result.events.kind == "route"]
    assert routes.detail.tolist() == ["setHeaderRoute beta", "abort: managed routes removed"]
    removed = routes.time_s.iloc[1]
    late = result.requests[(result.requests.arrival_s > removed + 2.5)
                           & (result.requests.segment == "beta")]
    assert len(late) > 0
    assert (late.version == "v1").all()


@pytest.mark.parametrize(("steps", "canary", "message"), [
    ([{"setHeaderRoute": ROUTE}], {"trafficRouting": "replicas"},
     "strategies.c.steps[0].setHeaderRoute: SetHeaderRoute requires TrafficRouting, supports "
     "Istio and ALB and Apisix"),
    ([{"setHeaderRoute": {"name": "other"}}], {},
     "strategies.c.steps[0].setHeaderRoute.name: Steps define a route that does not exist in "
     "spec.strategy.canary.trafficRouting.managedRoutes"),
    ([{"setHeaderRoute": {"name": "beta", "match": [
        {"headerName": "X", "headerValue": {"exact": "a", "prefix": "b"}}]}}], {},
     "strategies.c.steps[0].setHeaderRoute.match[0].headerValue: StringMatch match value must "
     "have exactly one of the following: exact, regex, prefix"),
    ([{"setHeaderRoute": {"name": "beta", "match": [{"headerName": "X", "headerValue": {}}]}}],
     {}, "strategies.c.steps[0].setHeaderRoute.match[0].headerValue: StringMatch value missed, "
         "match value must have one of the following: exact, regex, prefix"),
    ([{"setHeaderRoute": {"name": "beta", "match": [
        {"headerName": "X", "headerValue": {"regex": "(unclosed"}}]}}], {},
     "strategies.c.steps[0].setHeaderRoute.match[0].headerValue.regex: not a regular "
     "expression"),
])
def test_bad_header_routes_are_refused_in_argos_words(tiny_mapping, steps, canary,
                                                     message: str) -> None:
    with pytest.raises(ScenarioError) as error:
        _scenario(tiny_mapping, steps, **canary)
    assert str(error.value).startswith(f"<mapping>: {message}")


def test_header_routes_need_managed_routes(tiny_mapping) -> None:
    tiny_mapping["strategies"] = {"c": {"type": "Canary", "steps": [{"setHeaderRoute": ROUTE}]}}
    with pytest.raises(ScenarioError) as error:
        sd.load_scenario(tiny_mapping)
    assert str(error.value) == ("<mapping>: strategies.c.managedRoutes: Rollout has missing "
                                "field 'spec.strategy.canary.trafficRouting.managedRoutes'")
