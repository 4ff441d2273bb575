"""A blue-green switched at an external load balancer's target groups (simdeploy.target_group).

Closed forms, with the switch at S, a constant propagation P, blue deleted D after S (no
preStop: it refuses connections at once), Poisson arrivals at λ:

* blue is still the target (group) the load balancer sends to until S + P, so every request
  in [S + D, S + P) is refused: E[refused] = λ·(P − D)·share, share = 1 (all traffic goes to
  blue until the change reaches the load-balancer nodes, in both layouts);
* a new target gets its first request ``phase`` after registration, phase ~ U(0, interval)
  (X3), not healthyThreshold × interval: E = interval / 2;
* ``shared`` layout: blue drains from S + P and green's n targets are ``initial`` until the
  first of their first checks, so requests find no target for min of n U(0, I):
  E[no_endpoint] = λ·I/(n + 1);
* a deregistration delay d shorter than a constant request time T cuts the requests that
  started in (S + P − T + d, S + P): E[cut] = λ·(T − d).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import simdeploy as sd
from simdeploy.errors import ScenarioError
from simdeploy.rules.external_lb import LBC_ALB_DEFAULT, minimum_old_lifetime_target_group

RATE = 40.0


def _scenario(tiny_mapping: dict[str, Any], elb: dict[str, Any], keep_s: float, *,
              duration: float = 150, new_error_rate: float = 0.0,
              **strategy: Any) -> sd.Scenario:
    tiny_mapping["duration"] = duration
    tiny_mapping["traffic"] = {"arrivals": {"type": "poisson", "rateRps": RATE},
                               "users": 20000}
    tiny_mapping["pod"]["preStopSeconds"] = 0
    tiny_mapping["pod"]["terminationGracePeriodSeconds"] = 1
    tiny_mapping["release"]["current"]["errorRate"] = 0.0
    tiny_mapping["release"]["new"]["errorRate"] = new_error_rate
    tiny_mapping["strategies"] = {"bg": {"type": "BlueGreen", "scaleDownDelaySeconds": keep_s,
                                         "externalLoadBalancer": elb, **strategy}}
    return sd.load_scenario(tiny_mapping)


def _switch_s(result: sd.RunResult) -> float:
    return float(result.events[result.events.kind == "switch"].time_s.iloc[0])


def _outcomes(result: sd.RunResult, start: float, end: float = math.inf) -> dict[str, int]:
    requests = result.requests
    window = requests[(requests.arrival_s >= start) & (requests.arrival_s < end)]
    return {str(k): int(v) for k, v in window.outcome.value_counts().items() if v}


def test_a_new_target_gets_its_first_request_within_one_interval(tiny_mapping) -> None:
    """X3: AWS's defaults (30 s interval, healthy threshold 5) still give first traffic one
    check after registration, U(0, 30) s, not 5 × 30 s."""
    tiny_mapping["deployment"]["replicas"] = 1
    elb = {"defaults": "aws", "propagation": 10}
    scenario = _scenario(tiny_mapping, elb, 600.0)
    delays = []
    for seed in range(20):
        result = sd.run(scenario, seed=seed, keep_requests=True)
        registered = _switch_s(result) + 10.0
        requests = result.requests
        # (requests that found no target are charged to v2, the primary, too)
        first = requests[(requests.version == "v2")
                         & (requests.outcome != "no_endpoint")].arrival_s.min()
        delays.append(first - registered)
    assert all(0 <= d < 30.0 + 0.5 for d in delays)  # + the gap to the next arrival
    mean = sum(delays) / len(delays)
    # U(0, 30): mean 15, sd 30/√12 = 8.7; 20 runs: standard error 1.9
    assert mean == pytest.approx(15.0, abs=4 * 30 / math.sqrt(12) / math.sqrt(20))


@pytest.mark.parametrize("layout", ["shared", "perVersion"])
def test_blue_deleted_before_propagation_fails_lambda_times_the_gap(tiny_mapping,
                                                                    layout: str) -> None:
    propagation, keep = 20.0, 5.0
    elb = {"targetGroups": layout, "propagation": propagation}
    scenario = _scenario(tiny_mapping, elb, keep)
    expected = RATE * (propagation - keep) * 1.0  # share 1: all traffic on blue until S + P
    runs = 4
    refused = []
    for seed in range(runs):
        result = sd.run(scenario, seed=seed, keep_requests=True)
        refused.append(_outcomes(result, _switch_s(result)).get("refused", 0))
    mean = sum(refused) / runs
    # the window is fixed, the count Poisson(expected): 5 standard errors
    assert mean == pytest.approx(expected, abs=5 * math.sqrt(expected / runs))
    assert min(refused) > 0


def test_blue_kept_past_propagation_and_the_longest_request_fails_nothing(tiny_mapping) -> None:
    propagation = 20.0
    longest = 5.0  # lognormal(75 ms, σ 0.5): far below 5 s
    keep = minimum_old_lifetime_target_group(propagation, 300.0, longest_request_s=longest)
    assert keep == 25.0
    elb = {"targetGroups": "perVersion", "propagation": propagation}
    scenario = _scenario(tiny_mapping, elb, keep)
    for seed in range(3):
        result = sd.run(scenario, seed=seed, keep_requests=True)
        assert result.summary["requests_failed"] == 0, seed
        assert result.summary["outcome"] == "completed"
        # and blue did go: its targets were deregistered and its pods deleted in the run
        assert (result.events.kind == "completed").any()


def test_the_shared_group_has_no_target_until_a_green_check_passes(tiny_mapping) -> None:
    """The ``shared`` layout re-registers at the switch: requests find no target for the
    minimum of n first-check phases, E = λ·I/(n + 1), however long blue is kept."""
    n = tiny_mapping["deployment"]["replicas"]
    interval = LBC_ALB_DEFAULT.interval_s
    scenario = _scenario(tiny_mapping, {"propagation": 10}, 60.0)
    runs = 30
    lost, down = [], []
    for seed in range(runs):
        result = sd.run(scenario, seed=seed, keep_requests=True)
        lost.append(result.summary["requests_no_endpoint"])
        down.append(result.summary["downtime_s"])
        assert result.summary["requests_failed"] == lost[-1]  # nothing else fails
    expected = RATE * interval / (n + 1)
    # per run: λ·min(U) has sd λ·I·√(n/((n+1)²(n+2))) ≈ 116, plus Poisson
    sd_run = math.sqrt((RATE * interval) ** 2 * n / ((n + 1) ** 2 * (n + 2)) + expected)
    assert sum(lost) / runs == pytest.approx(expected, abs=4 * sd_run / math.sqrt(runs))
    assert sum(down) / runs == pytest.approx(interval / (n + 1), rel=0.4)


@pytest.mark.parametrize(("delay", "expected_per_s"), [(1.0, 4.0), (10.0, 0.0)])
def test_a_deregistration_delay_shorter_than_the_requests_cuts_them(
        tiny_mapping, delay: float, expected_per_s: float) -> None:
    service_s = 5.0
    tiny_mapping["release"]["current"]["serviceTime"] = service_s
    tiny_mapping["pod"]["workers"] = 200
    elb = {"propagation": 10, "deregistrationDelaySeconds": delay}
    scenario = _scenario(tiny_mapping, elb, 600.0)  # blue lives: only the load balancer cuts
    assert expected_per_s == max(0.0, service_s - delay)
    expected = RATE * expected_per_s
    runs = 3
    killed = [sd.run(scenario, seed=s).summary["requests_killed"] for s in range(runs)]
    if expected == 0:
        assert killed == [0] * runs
    else:
        assert sum(killed) / runs == pytest.approx(expected,
                                                   abs=5 * math.sqrt(expected / runs))


def test_a_group_with_no_healthy_target_fails_open(tiny_mapping) -> None:
    """Blue dies at the switch, the listener moves only 60 s later: blue's targets fail their
    checks (out within 15–30 s with the LBC's defaults) and, none healthy, get the requests
    anyway, which are refused, instead of the load balancer finding no target."""
    elb = {"targetGroups": "perVersion", "propagation": 60}
    # green's own registration takes 60 s too: the switch comes ~80 s after the release
    scenario = _scenario(tiny_mapping, elb, 0.0, duration=250)
    result = sd.run(scenario, seed=0, keep_requests=True)
    switch = _switch_s(result)
    opened = result.events[result.events.kind == "fail_open"].time_s
    assert len(opened) == 1
    assert switch + 15 <= opened.iloc[0] < switch + 30
    late = _outcomes(result, switch + 30, switch + 60)
    assert set(late) == {"refused"}
    assert late["refused"] == pytest.approx(RATE * 30, abs=5 * math.sqrt(RATE * 30))
    assert set(_outcomes(result, switch + 61)) <= {"ok", "unfinished"}  # green from S + P


def test_an_abort_switches_back_through_the_target_group(tiny_mapping) -> None:
    gate = {"maxErrorRate": 0.05, "window": "10s", "interval": "5s", "minRequests": 20}
    scenario = _scenario(tiny_mapping, {"propagation": 5}, 120.0, new_error_rate=0.5,
                         healthGate=gate)
    result = sd.run(scenario, seed=1, keep_requests=True)
    assert result.summary["outcome"] == "aborted"
    moves = result.events[result.events.kind == "target_group"]
    assert list(moves.version) == ["v2", "v1"]
    back = float(moves.time_s.iloc[1])
    after = result.requests[result.requests.arrival_s >= back + LBC_ALB_DEFAULT.interval_s]
    assert len(after) > 0
    assert set(after.version) == {"v1"}
    assert set(after.outcome) <= {"ok", "unfinished"}


def test_the_same_seed_gives_the_same_run(tiny_mapping) -> None:
    elb = {"propagation": {"type": "uniform", "low": 5, "high": 40}}
    scenario = _scenario(tiny_mapping, elb, 30.0)
    a, b = sd.run(scenario, seed=7), sd.run(scenario, seed=7)
    assert a.summary == b.summary
    assert a.events.equals(b.events)
    assert sd.run(scenario, seed=8).summary != a.summary


def test_the_defaults_are_the_lbc_alb_ones(tiny_mapping) -> None:
    scenario = _scenario(tiny_mapping, {}, 30.0)
    elb = scenario.strategies["bg"].external_load_balancer
    assert elb.health_check_settings() == LBC_ALB_DEFAULT
    assert elb.deregistration_delay_seconds == 300.0
    assert elb.propagation.mean == 10.0
    override = _scenario(tiny_mapping, {"defaults": "aws", "healthCheck": {"intervalSeconds": 10}},
                         30.0).strategies["bg"].external_load_balancer.health_check_settings()
    assert (override.interval_s, override.healthy_threshold) == (10.0, 5)


@pytest.mark.parametrize(("elb", "message"), [
    ({"healthCheck": {"intervalSeconds": 4}},
     "strategies.bg.externalLoadBalancer.healthCheck.intervalSeconds: "),
    ({"healthCheck": {"timeoutSeconds": 121}},
     "strategies.bg.externalLoadBalancer.healthCheck.timeoutSeconds: "),
    ({"healthCheck": {"healthyThresholdCount": 1}},
     "strategies.bg.externalLoadBalancer.healthCheck.healthyThresholdCount: "),
    ({"healthCheck": {"unhealthyThresholdCount": 11}},
     "strategies.bg.externalLoadBalancer.healthCheck.unhealthyThresholdCount: "),
    ({"deregistrationDelaySeconds": 3601},
     "strategies.bg.externalLoadBalancer.deregistrationDelaySeconds: "),
    ({"targetType": "instance"},
     "strategies.bg.externalLoadBalancer.targetType: only 'ip' is modelled"),
])
def test_a_bad_external_load_balancer_is_one_line(tiny_mapping, elb, message: str) -> None:
    with pytest.raises(ScenarioError) as error:
        _scenario(tiny_mapping, elb, 30.0)
    text = str(error.value)
    assert text.startswith(f"<mapping>: {message}"), text
    assert "\n" not in text


def test_dns_and_an_external_load_balancer_exclude_each_other(tiny_mapping) -> None:
    with pytest.raises(ScenarioError) as error:
        _scenario(tiny_mapping, {}, 30.0, dns={"ttl": 60})
    text = str(error.value)
    assert text == ("<mapping>: strategies.bg.externalLoadBalancer: may not be set together "
                    "with `dns`: the switch is either a DNS record or a target group"), text
