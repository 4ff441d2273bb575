"""A blue-green switched by DNS: clients follow as their caches expire, and the requests that
find blue gone match the closed form (simdeploy.rules.dns.expected_failed_after_dns_switch).

With blue kept D seconds after the switch and a client's answer living R ~ U(0, C) more
seconds, that client's requests fail in [D, R): E[failed] = λ·(C − D)²/(2C) for D < C, and
none for D >= C. Blue here has no preStop and a short grace period, so it stops answering the
moment it is scaled down: D is the scale-down delay.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import simdeploy as sd
from simdeploy.errors import ScenarioError
from simdeploy.rules.dns import expected_failed_after_dns_switch

RATE = 40.0


def _scenario(tiny_mapping: dict[str, Any], dns: dict[str, Any], keep_s: float) -> sd.Scenario:
    tiny_mapping["duration"] = 400
    tiny_mapping["traffic"] = {"arrivals": {"type": "poisson", "rateRps": RATE},
                               "users": 20000}
    tiny_mapping["pod"]["preStopSeconds"] = 0
    tiny_mapping["pod"]["terminationGracePeriodSeconds"] = 1
    tiny_mapping["release"]["current"]["errorRate"] = 0.0
    tiny_mapping["release"]["new"]["errorRate"] = 0.0
    tiny_mapping["strategies"] = {"bg": {"type": "BlueGreen", "scaleDownDelaySeconds": keep_s,
                                         "dns": dns}}
    return sd.load_scenario(tiny_mapping)


def _failed_after_switch(result: sd.RunResult) -> int:
    switch = result.events[result.events.kind == "switch"].time_s.iloc[0]
    requests = result.requests
    after = requests[requests.arrival_s >= switch]
    return int((~after.outcome.isin(["ok", "unfinished"])).sum())


@pytest.mark.parametrize(("dns", "keep_s"), [
    ({"ttl": 120}, 30.0),                                       # C = 120 > D = 30
    ({"ttl": 300, "clients": {"respects-ttl": 0.5, "jvm": 0.5}}, 60.0),   # JVM caches 30 s
    ({"ttl": 20, "clients": {"chromium-builtin": 1.0}}, 20.0),  # Chromium: max(TTL, 60)
])
def test_requests_failed_by_a_dns_switch_match_the_closed_form(tiny_mapping, dns, keep_s) -> None:
    scenario = _scenario(tiny_mapping, dns, keep_s)
    expected = expected_failed_after_dns_switch(RATE, dns.get("clients", {"respects-ttl": 1}),
                                                dns["ttl"], keep_s)
    runs = 6
    failed = [_failed_after_switch(sd.run(scenario, seed=s, keep_requests=True))
              for s in range(runs)]
    mean = sum(failed) / runs
    # each run's count is roughly Poisson in the users' cache draws: 5 standard errors
    assert mean == pytest.approx(expected, abs=5 * math.sqrt(expected / runs) + 2)
    assert expected > 100  # the case is not vacuous


def test_a_ttl_shorter_than_the_scale_down_delay_fails_nothing(tiny_mapping) -> None:
    scenario = _scenario(tiny_mapping, {"ttl": 20}, 30.0)
    assert expected_failed_after_dns_switch(RATE, {"respects-ttl": 1}, 20, 30.0) == 0
    for seed in range(3):
        assert _failed_after_switch(sd.run(scenario, seed=seed, keep_requests=True)) == 0


def test_stale_clients_keep_going_to_blue_for_the_whole_tail(tiny_mapping) -> None:
    dns = {"ttl": 20, "staleShare": 0.05, "staleFor": 200}
    scenario = _scenario(tiny_mapping, dns, 30.0)
    expected = expected_failed_after_dns_switch(RATE, {"respects-ttl": 1}, 20, 30.0,
                                                stale_share=0.05, horizon_s=200)
    failed = [_failed_after_switch(sd.run(scenario, seed=s, keep_requests=True))
              for s in range(4)]
    mean = sum(failed) / 4
    # the stale users are drawn per user: their request share varies more than Poisson
    assert mean == pytest.approx(expected, rel=0.25)


def test_users_follow_the_switch_one_by_one(tiny_mapping) -> None:
    scenario = _scenario(tiny_mapping, {"ttl": 120}, 600.0)
    result = sd.run(scenario, seed=0, keep_requests=True)
    switch = result.events[result.events.kind == "switch"].time_s.iloc[0]
    requests = result.requests
    ok = requests[requests.outcome == "ok"]
    share_new = [((ok.arrival_s >= switch + t) & (ok.arrival_s < switch + t + 10)
                  & (ok.version == "v2")).sum()
                 / max(1, ((ok.arrival_s >= switch + t) & (ok.arrival_s < switch + t + 10)).sum())
                 for t in (0, 55, 130)]
    # U(0, 120) remaining lives: ~4 % moved in the first 10 s, ~50 % at a minute, all at 2 min
    assert share_new[0] < 0.15
    assert 0.35 < share_new[1] < 0.65
    assert share_new[2] == 1.0
    assert result.summary["requests_failed"] == 0  # blue is kept long enough


@pytest.mark.parametrize(("dns", "message"), [
    ({"clients": {"netscape": 1.0}}, "strategies.bg.dns.clients.netscape: unknown client kind"),
    ({"clients": {"jvm": 0.5}}, "strategies.bg.dns.clients: shares must sum to 1, got 0.5"),
    ({"ttl": -1}, "strategies.bg.dns.ttl: a duration must be a finite number of seconds >= 0"),
])
def test_a_bad_dns_switch_is_one_line(tiny_mapping, dns, message: str) -> None:
    with pytest.raises(ScenarioError) as error:
        _scenario(tiny_mapping, dns, 30.0)
    assert str(error.value).startswith(f"<mapping>: {message}")
