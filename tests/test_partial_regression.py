"""A regression that hits only some users or some requests (``VersionSpec.affected``)."""

from __future__ import annotations

import math
from typing import Any

import pytest

import simdeploy as sd
from simdeploy.errors import ScenarioError


def _recreate(tiny_mapping: dict[str, Any], affected: dict[str, Any]) -> sd.Scenario:
    tiny_mapping["duration"] = 200
    tiny_mapping["traffic"] = {"arrivals": {"type": "poisson", "rateRps": 50}, "users": 2000}
    tiny_mapping["release"]["current"]["errorRate"] = 0.0
    tiny_mapping["release"]["new"]["errorRate"] = 0.0
    tiny_mapping["release"]["new"]["affected"] = affected
    tiny_mapping["strategies"] = {"r": {"type": "Recreate"}}
    return sd.load_scenario(tiny_mapping)


def test_a_regression_by_user_fails_only_the_chosen_users(tiny_mapping) -> None:
    scenario = _recreate(tiny_mapping, {"users": 0.1, "errorRate": 0.5})
    requests = sd.run(scenario, seed=3, keep_requests=True).requests
    served = requests[(requests.version == "v2") & requests.outcome.isin(["ok", "error"])]
    by_user = served.groupby("user").outcome.apply(lambda o: (o == "error").mean())
    hit = by_user[by_user > 0].index
    # every user with a failure belongs to the hit share, and the share is ~10 % of users
    share = len(set(served.user[served.user.isin(hit)])) / served.user.nunique()
    assert share == pytest.approx(0.1, abs=3 * math.sqrt(0.1 * 0.9 / served.user.nunique()) + 0.02)
    # users outside the share never fail; inside, about half of their requests fail
    inside = served[served.user.isin(hit)]
    rate = (inside.outcome == "error").mean()
    assert rate == pytest.approx(0.5, abs=4 * math.sqrt(0.25 / len(inside)) + 0.03)


def test_the_same_users_are_hit_whatever_the_strategy(tiny_mapping) -> None:
    scenario = _recreate(tiny_mapping, {"users": 0.1, "errorRate": 1.0})
    tiny_mapping["strategies"] = {"r": {"type": "Recreate"}, "b": {"type": "BlueGreen"}}
    both = sd.load_scenario(tiny_mapping)
    failed = []
    for name in ("r", "b"):
        requests = sd.run(both, name, seed=1, keep_requests=True).requests
        errors = requests[(requests.version == "v2") & (requests.outcome == "error")]
        failed.append(set(errors.user))
    assert failed[0]
    assert failed[1]
    overlap = len(failed[0] & failed[1]) / min(len(failed[0]), len(failed[1]))
    assert overlap > 0.9  # the hit users are a property of the user and the seed
    assert scenario.release.new.affected is not None


def test_a_regression_by_request_fails_its_share_of_everyone(tiny_mapping) -> None:
    scenario = _recreate(tiny_mapping, {"requests": 0.2, "errorRate": 0.5})
    requests = sd.run(scenario, seed=2, keep_requests=True).requests
    served = requests[(requests.version == "v2") & requests.outcome.isin(["ok", "error"])]
    rate = (served.outcome == "error").mean()
    assert rate == pytest.approx(0.1, abs=4 * math.sqrt(0.09 / len(served)))


@pytest.mark.parametrize(("affected", "message"), [
    ({"errorRate": 0.3}, "release.new.affected.users: give exactly one of users or requests: "
                         "the share the regression hits"),
    ({"users": 0.1, "requests": 0.1, "errorRate": 0.3},
     "release.new.affected.users: give exactly one of users or requests: the share the "
     "regression hits"),
    ({"users": 0, "errorRate": 0.3}, "release.new.affected.users: must be > 0, got 0"),
    ({"users": 0.1, "errorRate": 1.5}, "release.new.affected.errorRate: must be <= 1, got 1.5"),
])
def test_a_bad_share_is_one_line(tiny_mapping, affected: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as error:
        _recreate(tiny_mapping, affected)
    assert str(error.value) == f"<mapping>: {message}"
