"""Tests for simdeploy.rules.external_lb.

Cases come from shared/reference/semantics.md §6.1 (X1--X7, X15) and the sources it cites:
awsdocs/elb-application-load-balancers-user-guide target-group-health-checks.md and
load-balancer-target-groups.md, kubernetes-sigs/aws-load-balancer-controller model builders.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simdeploy.rules.external_lb import (
    AWS_DEFAULT,
    DEFAULT_DEREGISTRATION_DELAY_S,
    LBC_ALB_DEFAULT,
    LBC_NLB_DEFAULT,
    MAX_DEREGISTRATION_DELAY_S,
    DrainingOutcome,
    HealthCheck,
    draining_outcome,
    minimum_old_lifetime_target_group,
    routable_targets,
    time_to_first_traffic,
    time_to_out,
    time_to_recover,
)

# --------------------------------------------------------------------------------------------
# HealthCheck defaults and ranges


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        # X1: ALB guide "Health check settings", instance/ip targets
        (AWS_DEFAULT, (30.0, 5.0, 5, 2)),
        # X2: LBC pkg/ingress/model_builder.go (Ingress → ALB)
        (LBC_ALB_DEFAULT, (15.0, 5.0, 2, 2)),
        # X2: LBC pkg/service/model_builder.go (Service → NLB)
        (LBC_NLB_DEFAULT, (10.0, 10.0, 3, 3)),
    ],
)
def test_default_health_checks(check, expected):
    assert (
        check.interval_s,
        check.timeout_s,
        check.healthy_threshold,
        check.unhealthy_threshold,
    ) == expected


def test_deregistration_delay_default_and_range():
    # X5: default 300 s, range 0–3600
    assert DEFAULT_DEREGISTRATION_DELAY_S == 300
    assert MAX_DEREGISTRATION_DELAY_S == 3600


def test_health_check_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AWS_DEFAULT.interval_s = 10  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        # X1 range edges are accepted: interval 5–300, timeout 2–120, thresholds 2–10
        {"interval_s": 5, "timeout_s": 2, "healthy_threshold": 2, "unhealthy_threshold": 2},
        {"interval_s": 300, "timeout_s": 120, "healthy_threshold": 10, "unhealthy_threshold": 10},
    ],
)
def test_health_check_accepts_range_edges(kwargs):
    HealthCheck(**kwargs)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("interval_s", 4.9),
        ("interval_s", 301),
        ("timeout_s", 1),
        ("timeout_s", 121),
        ("healthy_threshold", 1),
        ("healthy_threshold", 11),
        ("unhealthy_threshold", 1),
        ("unhealthy_threshold", 11),
        ("healthy_threshold", 2.0),
        ("unhealthy_threshold", True),
        ("interval_s", "30"),
        ("interval_s", float("nan")),
        ("timeout_s", float("inf")),
    ],
)
def test_health_check_rejects_out_of_range(field, value):
    kwargs = {"interval_s": 30, "timeout_s": 5, "healthy_threshold": 5, "unhealthy_threshold": 2}
    kwargs[field] = value
    with pytest.raises(ValueError, match=field):
        HealthCheck(**kwargs)


# --------------------------------------------------------------------------------------------
# time_to_first_traffic (X3)


@pytest.mark.parametrize(
    ("registration_s", "check", "phase_s", "response_s", "expected"),
    [
        # X3: one passing check from `initial`; the healthy threshold (5) plays no part,
        # so first traffic is not 5 × 30 s = 150 s after registration
        (0.0, AWS_DEFAULT, 0.0, 0.0, 0.0),
        (10.0, AWS_DEFAULT, 29.0, 0.0, 39.0),
        (10.0, AWS_DEFAULT, 12.0, 0.5, 22.5),
        (3.0, LBC_ALB_DEFAULT, 14.5, 0.0, 17.5),
        (0.0, LBC_NLB_DEFAULT, 9.0, 9.9, 18.9),
    ],
)
def test_time_to_first_traffic(registration_s, check, phase_s, response_s, expected):
    got = time_to_first_traffic(registration_s, check, phase_s, response_s)
    assert got == pytest.approx(expected)


@given(
    registration_s=st.floats(0, 120),
    phase=st.floats(0, 1, exclude_max=True),
)
def test_first_traffic_within_one_interval_of_registration(registration_s, phase):
    # X3: "registration plus up to one interval", for every default set
    for check in (AWS_DEFAULT, LBC_ALB_DEFAULT, LBC_NLB_DEFAULT):
        got = time_to_first_traffic(registration_s, check, phase * check.interval_s)
        assert registration_s <= got < registration_s + check.interval_s + 1e-9


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0.0, AWS_DEFAULT, 30.0), "phase_s"),  # phase must be < interval
        ((0.0, AWS_DEFAULT, -1.0), "phase_s"),
        ((-1.0, AWS_DEFAULT, 0.0), "registration_s"),
        ((0.0, AWS_DEFAULT, 0.0, 5.0), "response_s"),  # answered at the timeout: fails
    ],
)
def test_time_to_first_traffic_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        time_to_first_traffic(*args)


# --------------------------------------------------------------------------------------------
# time_to_out (X4) and time_to_recover (X3, HealthyThreshold)


@pytest.mark.parametrize(
    ("check", "phase_s", "refused", "expected"),
    [
        # X4: AWS defaults: 2 failed checks, 30 s apart, each failing at the 5 s timeout
        (AWS_DEFAULT, 0.0, False, 35.0),
        (AWS_DEFAULT, 25.0, False, 60.0),
        # a refused connection fails the check at once
        (AWS_DEFAULT, 25.0, True, 55.0),
        # X4: LBC ALB: 2 checks 15 s apart + 5 s
        (LBC_ALB_DEFAULT, 0.0, False, 20.0),
        (LBC_ALB_DEFAULT, 14.0, False, 34.0),
        # LBC NLB: 3 checks 10 s apart + 10 s timeout
        (LBC_NLB_DEFAULT, 5.0, False, 35.0),
    ],
)
def test_time_to_out(check, phase_s, refused, expected):
    assert time_to_out(check, phase_s, refused=refused) == pytest.approx(expected)


@given(phase=st.floats(0, 1, exclude_max=True))
def test_time_to_out_bounds_with_aws_defaults(phase):
    # X4: "≈ 60 s (AWS defaults) … + timeout": between one interval + timeout and two
    got = time_to_out(AWS_DEFAULT, phase * AWS_DEFAULT.interval_s)
    assert 35.0 <= got <= 65.0  # < 65 exactly; a phase just under 30 s may round to it


@pytest.mark.parametrize(
    ("check", "phase_s", "expected"),
    [
        # HealthyThresholdCount applies to an unhealthy target: 5 passes 30 s apart
        (AWS_DEFAULT, 0.0, 120.0),
        (AWS_DEFAULT, 10.0, 130.0),
        (LBC_ALB_DEFAULT, 1.0, 16.0),
        (LBC_NLB_DEFAULT, 0.0, 20.0),
    ],
)
def test_time_to_recover(check, phase_s, expected):
    assert time_to_recover(check, phase_s) == pytest.approx(expected)


def test_recovery_slower_than_first_traffic_under_aws_defaults():
    # X3: the commonly assumed 5 × 30 s is the recovery path, not the new-target path
    assert time_to_recover(AWS_DEFAULT, 0.0) > time_to_first_traffic(0.0, AWS_DEFAULT, 0.0)


# --------------------------------------------------------------------------------------------
# routable_targets (X3 fail-open, X5 draining, X7 initial/draining outage)


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        # only healthy targets get new requests
        ({"a": "healthy", "b": "unhealthy", "c": "initial"}, ("a",)),
        ({"a": "draining", "b": "healthy", "c": "healthy"}, ("b", "c")),
        # X3 fail-open: all registered targets unhealthy → route to all of them
        ({"a": "unhealthy", "b": "unhealthy"}, ("a", "b")),
        ({"a": "unhealthy", "b": "draining"}, ("a",)),
        # X7: only initial and draining targets → nowhere to route: an outage
        ({"a": "initial", "b": "draining"}, ()),
        ({"a": "unused"}, ()),
        ({}, ()),
    ],
)
def test_routable_targets(health, expected):
    assert routable_targets(health) == expected


def test_routable_targets_rejects_unknown_state():
    with pytest.raises(ValueError, match="health"):
        routable_targets({"a": "Healthy"})  # type: ignore[dict-item]


# --------------------------------------------------------------------------------------------
# draining_outcome (X5)


@pytest.mark.parametrize(
    ("delay_s", "ends", "expected"),
    [
        # no requests or connections: draining ends at once
        (300, [], DrainingOutcome(completed=0, cut=0, ends_s=0.0)),
        # everything finishes within the delay: draining ends with the last request
        (300, [1.0, 12.5, 4.0], DrainingOutcome(completed=3, cut=0, ends_s=12.5)),
        # at expiry whatever is left is cut
        (30, [1.0, 45.0, 400.0], DrainingOutcome(completed=1, cut=2, ends_s=30.0)),
        # a request ending exactly at the delay finishes
        (30, [30.0], DrainingOutcome(completed=1, cut=0, ends_s=30.0)),
        # delay 0: every request still running is cut at once
        (0, [0.5, 2.0], DrainingOutcome(completed=0, cut=2, ends_s=0.0)),
    ],
)
def test_draining_outcome(delay_s, ends, expected):
    assert draining_outcome(delay_s, ends) == expected


@pytest.mark.parametrize(
    ("delay_s", "ends", "match"),
    [
        (3601, [], "deregistration_delay_s"),
        (-1, [], "deregistration_delay_s"),
        (300, [-0.1], "request_ends_s"),
        (300, [float("nan")], "request_ends_s"),
    ],
)
def test_draining_outcome_rejects_bad_input(delay_s, ends, match):
    with pytest.raises(ValueError, match=match):
        draining_outcome(delay_s, ends)


@given(
    delay=st.floats(0, 3600),
    ends=st.lists(st.floats(0, 5000), max_size=20),
)
def test_draining_outcome_properties(delay, ends):
    out = draining_outcome(delay, ends)
    assert out.completed + out.cut == len(ends)
    assert out.cut == sum(1 for e in ends if e > delay)
    assert 0.0 <= out.ends_s <= delay or (not ends and out.ends_s == 0.0)


# --------------------------------------------------------------------------------------------
# minimum_old_lifetime_target_group (X15 second half)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        # X15: propagation (X6: 25 s was enough in LBC #1064) + default draining 300 s
        ((25.0,), {}, 325.0),
        ((70.0, 300.0), {}, 370.0),
        # draining ends with the longest request when that is shorter than the delay
        ((25.0, 300.0), {"longest_request_s": 10.0}, 35.0),
        ((25.0, 60.0), {"longest_request_s": 600.0}, 85.0),
        ((0.0, 0.0), {}, 0.0),
    ],
)
def test_minimum_old_lifetime_target_group(args, kwargs, expected):
    assert minimum_old_lifetime_target_group(*args, **kwargs) == pytest.approx(expected)


def test_argo_default_scale_down_delay_is_too_short_behind_alb():
    # X15 / A1: Argo's blue-green scaleDownDelaySeconds default (30 s) < propagation + draining
    assert minimum_old_lifetime_target_group(10.0) > 30.0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1.0, 300.0), "propagation_s"),
        ((10.0, 3601.0), "deregistration_delay_s"),
        ((10.0, 300.0, -1.0), "longest_request_s"),
    ],
)
def test_minimum_old_lifetime_target_group_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        minimum_old_lifetime_target_group(*args)
