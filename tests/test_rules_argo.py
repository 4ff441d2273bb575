"""Tests for simdeploy.rules.argo.

Example cases are re-expressed from argoproj/argo-rollouts
utils/replicaset/canary_test.go (test names in comments) and from
shared/reference/semantics.md.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdeploy.rules.argo import (
    approximate_weighted_counts,
    basic_canary_replica_counts,
    traffic_routed_canary_counts,
    traffic_weight_to_replicas,
)
from simdeploy.rules.kubernetes import max_surge, max_unavailable

FAST = settings(max_examples=100, deadline=None)

# --------------------------------------------------------------------------------------------
# traffic_weight_to_replicas


@pytest.mark.parametrize(
    ("replicas", "weight", "max_weight", "expected"),
    [
        # canary_test.go TestTrafficWeightToReplicas
        (10, 0, 100, 0),
        (10, 20, 100, 2),
        (10, 25, 100, 3),
        (10, 33, 100, 4),
        (10, 99, 100, 10),
        (10, 100, 100, 10),
        (23, 100_000_000, 100_000_000, 23),
        # setCanaryScale.weight may exceed 100 (TestCalculateReplicaCountsForCanary,
        # "Use setCanaryScale.weight for canary replicas ...": 200% of 4 is 8)
        (4, 200, 100, 8),
        (0, 50, 100, 0),
    ],
)
def test_traffic_weight_to_replicas(replicas, weight, max_weight, expected):
    assert traffic_weight_to_replicas(replicas, weight, max_weight) == expected


def test_traffic_weight_to_replicas_default_max_weight():
    assert traffic_weight_to_replicas(3, 1) == 1


@pytest.mark.parametrize(
    ("replicas", "weight", "max_weight"),
    [(-1, 10, 100), (10, -1, 100), (10, 10, 0), (10, True, 100), (10, 1.5, 100)],
)
def test_traffic_weight_to_replicas_rejects_bad_input(replicas, weight, max_weight):
    with pytest.raises(ValueError, match=r"replicas|weight"):
        traffic_weight_to_replicas(replicas, weight, max_weight)


# --------------------------------------------------------------------------------------------
# approximate_weighted_counts

# canary_test.go TestApproximateWeightedNewStableReplicaCounts (maxWeight 100 throughout):
# (replicas, weight, maxSurge, canary, stable)
APPROXIMATE_CASES = [
    (0, 0, 0, 0, 0),
    (0, 50, 0, 0, 0),
    (0, 100, 0, 0, 0),
    (0, 0, 1, 0, 0),
    (0, 50, 1, 0, 0),
    (0, 100, 1, 0, 0),
    (1, 0, 0, 0, 1),
    (1, 1, 0, 0, 1),
    (1, 49, 0, 0, 1),
    (1, 50, 0, 1, 0),
    (1, 99, 0, 1, 0),
    (1, 100, 0, 1, 0),
    (1, 0, 1, 0, 1),
    (1, 1, 1, 1, 1),
    (1, 49, 1, 1, 1),
    (1, 50, 1, 1, 1),
    (1, 99, 1, 1, 1),
    (1, 100, 1, 1, 0),
    (2, 0, 0, 0, 2),
    (2, 1, 0, 1, 1),
    (2, 50, 0, 1, 1),
    (2, 99, 0, 1, 1),
    (2, 100, 0, 2, 0),
    (2, 0, 1, 0, 2),
    (2, 1, 1, 1, 2),
    (2, 50, 1, 1, 1),
    (2, 99, 1, 2, 1),
    (2, 100, 1, 2, 0),
    (3, 10, 0, 1, 2),
    (3, 25, 0, 1, 2),
    (3, 33, 0, 1, 2),
    (3, 34, 0, 1, 2),
    (3, 49, 0, 1, 2),
    (3, 50, 0, 2, 1),
    (3, 10, 1, 1, 3),
    (3, 25, 1, 1, 3),
    (3, 33, 1, 1, 2),
    (3, 34, 1, 1, 2),
    (3, 49, 1, 2, 2),
    (3, 50, 1, 2, 2),
    (10, 0, 1, 0, 10),
    (10, 1, 0, 1, 9),
    (10, 14, 0, 1, 9),
    (10, 15, 0, 2, 8),
    (10, 16, 0, 2, 8),
    (10, 99, 0, 9, 1),
    (10, 100, 1, 10, 0),
    (10, 1, 1, 1, 10),
    (10, 18, 1, 2, 9),
    (10, 19, 1, 2, 9),
    (10, 20, 1, 2, 8),
    (10, 23, 1, 2, 8),
    (10, 24, 1, 3, 8),
    (10, 25, 1, 3, 8),
    (10, 99, 1, 10, 1),
    (10, 100, 1, 10, 0),
    # semantics.md A8 / canary docs: 10 replicas at 41% -> 4 canary, 6 stable
    (10, 41, 0, 4, 6),
    (10, 41, 1, 4, 6),
]


@pytest.mark.parametrize(("replicas", "weight", "surge", "canary", "stable"), APPROXIMATE_CASES)
def test_approximate_weighted_counts(replicas, weight, surge, canary, stable):
    assert approximate_weighted_counts(replicas, weight, surge) == (canary, stable)


@pytest.mark.parametrize(
    ("replicas", "weight"),
    [(2, 75), (5, 90), (10, 95), (25, 98), (50, 99)],
)
def test_approximate_tied_ceiling_at_replicas_without_surge_gives_no_canary(replicas, weight):
    # Upstream quirk: when n*w/100 ends in exactly .5, the floor is dropped as "tied"; if
    # the ceiling equals n it is dropped too (it would leave no stable pod), so with no
    # surge no candidate is left and the "should not get here" fallback (0, n) is returned.
    # That happens exactly when n*w/100 = n - 0.5, i.e. n divides 50 (n >= 2).
    assert approximate_weighted_counts(replicas, weight, 0) == (0, replicas)
    # With surge the (ceil, n + 1) candidate exists and the canary gets pods.
    canary, stable = approximate_weighted_counts(replicas, weight, 1)
    assert canary >= 1
    assert stable >= 1


def test_approximate_custom_max_weight():
    # maxTrafficWeight 1000: 250/1000 of 4 replicas is exactly 1 canary.
    assert approximate_weighted_counts(4, 250, 0, max_weight=1000) == (1, 3)


@pytest.mark.parametrize(
    ("replicas", "weight", "surge"),
    [(-1, 10, 0), (10, 101, 0), (10, -1, 0), (10, 10, -1), (10, 10, "25%"), (True, 10, 0)],
)
def test_approximate_rejects_bad_input(replicas, weight, surge):
    with pytest.raises(ValueError, match=r"replicas|weight|max_surge"):
        approximate_weighted_counts(replicas, weight, surge)


@FAST
@given(
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=5),
)
def test_approximate_properties(replicas, weight, surge):
    canary, stable = approximate_weighted_counts(replicas, weight, surge)
    if replicas == 0:
        assert (canary, stable) == (0, 0)
        return
    assert canary + stable in {replicas, replicas + 1}
    if surge == 0:
        assert canary + stable == replicas
    if weight == 0:
        assert (canary, stable) == (0, replicas)
    if weight == 100:
        assert (canary, stable) == (replicas, 0)
    tied_at_n = (replicas * weight) % 100 == 50 and -(-replicas * weight // 100) == replicas
    if 0 < weight < 100 and (replicas >= 2 or surge > 0) and not (tied_at_n and surge == 0):
        assert canary >= 1
        assert stable >= 1


# --------------------------------------------------------------------------------------------
# basic_canary_replica_counts

# canary_test.go TestCalculateReplicaCountsForCanary, the cases with one stable and one
# canary RS, no older RS and no trafficRouting. promoteFull is expressed as weight 100.
# (name, replicas, weight, maxSurge, maxUnavailable,
#  stable spec, stable available, canary spec, canary available, expected canary, stable)
BASIC_CASES = [
    ("spec < available is not counted twice", 10, 100, 3, 0, 7, 8, 6, 3, 6, 7),
    ("max surge int scales up canary", 10, 20, 2, 0, 10, 10, 0, 0, 2, 10),
    ("max surge percentage scales up canary", 10, 20, "20%", 0, 10, 10, 0, 0, 2, 10),
    ("scale down extra stable replicas", 10, 20, "20%", 0, 10, 10, 2, 2, 2, 8),
    ("do not go past max surge", 10, 30, 2, 0, 10, 10, 0, 0, 2, 10),
    ("max unavailable int scales down stable", 10, 20, 0, 2, 10, 10, 0, 0, 0, 8),
    ("max unavailable percentage scales down stable", 10, 20, 0, "20%", 10, 10, 0, 0, 0, 8),
    ("do not go past max unavailable", 10, 30, 0, 2, 10, 10, 0, 0, 0, 8),
    ("max surge and max unavailable", 10, 50, 2, 1, 10, 10, 0, 0, 2, 9),
    ("canary to zero at weight 0", 10, 0, 1, 1, 10, 10, 1, 1, 0, 10),
    ("stable to zero at weight 100", 10, 100, 1, 1, 1, 1, 10, 10, 10, 0),
    ("no zero canary on non-zero weight", 1, 20, 1, 0, 1, 1, 0, 0, 1, 1),
    ("no zero canary on non-100 weight", 1, 90, 1, 0, 1, 1, 0, 0, 1, 1),
    ("zero canary under 50 without surge", 1, 49, 0, 1, 1, 1, 0, 0, 0, 1),
    ("stable down to zero at 50+ without surge", 1, 51, 0, 1, 1, 1, 0, 0, 0, 0),
    ("canary to one at 50+ without surge or stable", 1, 51, 0, 1, 0, 0, 0, 0, 1, 0),
    ("scale down canary and stable", 10, 30, 0, 3, 8, 5, 4, 4, 3, 7),
    ("scale down stable and canary available", 10, 100, 1, 0, 10, 2, 10, 8, 9, 2),
    ("do not round past max surge, uneven weight", 10, 5, 0, 1, 10, 10, 0, 0, 0, 9),
    ("do not round past max surge, uneven weight 2", 10, 5, 0, 1, 9, 9, 0, 0, 1, 9),
    ("both-zero percentages give unavailable 1", 10, 10, "0%", "0%", 10, 10, 0, 0, 0, 9),
    ("setCanaryScale ignored without trafficRouting", 10, 20, "20%", 0, 10, 10, 0, 0, 2, 10),
    ("honor max surge when stable unavailable", 4, 100, 1, 0, 4, 1, 0, 0, 1, 4),
    ("scale down to max unavailable within surge", 3, 99, 0, 2, 3, 3, 0, 0, 0, 1),
    ("scale down to max unavailable within surge 2", 3, 99, 0, 2, 1, 1, 0, 0, 2, 1),
    ("honor max unavailable, stable unavailable", 4, 100, 1, 0, 4, 1, 1, 1, 1, 3),
    ("honor max unavailable reducing weight 1", 4, 0, 1, 0, 0, 0, 4, 4, 4, 1),
    ("honor max unavailable reducing weight 2", 4, 0, 1, 0, 1, 0, 4, 4, 4, 1),
    ("honor max unavailable reducing weight 3", 4, 0, 1, 0, 1, 1, 4, 4, 3, 1),
    ("promote full ignores weight", 4, 100, 4, 4, 4, 4, 0, 0, 4, 0),
    ("promote full honors surge/unavailable", 4, 100, 3, 0, 4, 4, 0, 0, 3, 4),
    # canary.go CalculateReplicaCountsForBasicCanary doc-comment examples (fully available)
    ("doc: 10 at 10%, unavailable 1, surge 1", 10, 10, 1, 1, 10, 10, 0, 0, 1, 9),
    ("doc: 10 at 30%, unavailable 0, surge 3", 10, 30, 3, 0, 10, 10, 0, 0, 3, 10),
    ("doc: 10 at 30%, unavailable 5, surge 0", 10, 30, 0, 5, 10, 10, 0, 0, 0, 7),
    # The doc comment still says (1, 9) here, from before the weight approximation:
    # 5% of 10 is a tie, so (1 canary of 11) wins and stable stays at 10.
    ("doc: 10 at 5%, unavailable 1, surge 1", 10, 5, 1, 1, 10, 10, 0, 0, 1, 10),
    ("doc: 1 at 5%, unavailable 0, surge 1", 1, 5, 1, 0, 1, 1, 0, 0, 1, 1),
    ("doc: 1 at 95%, unavailable 0, surge 1", 1, 95, 1, 0, 1, 1, 0, 0, 1, 1),
]


@pytest.mark.parametrize(
    ("replicas", "weight", "surge", "unavailable", "ss", "sa", "cs", "ca", "canary", "stable"),
    [case[1:] for case in BASIC_CASES],
    ids=[case[0] for case in BASIC_CASES],
)
def test_basic_canary_replica_counts(
    replicas, weight, surge, unavailable, ss, sa, cs, ca, canary, stable
):
    result = basic_canary_replica_counts(replicas, weight, surge, unavailable, ss, sa, cs, ca)
    assert result == (canary, stable)


def test_basic_canary_none_means_argo_default_25_percent():
    # utils/defaults GetMaxSurgeOrDefault / GetMaxUnavailableOrDefault: unset means "25"
    # (25%): surge 3, unavailable 2 on 10 replicas. With 0/0 it would be (0, 9).
    expected = basic_canary_replica_counts(10, 20, "25%", "25%", 10, 10, 0, 0)
    assert expected == (2, 8)
    assert basic_canary_replica_counts(10, 20, None, None, 10, 10, 0, 0) == expected


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((10, 20, "oops", 0, 10, 10, 0, 0), "maxSurge"),
        ((10, 20, "25", 0, 10, 10, 0, 0), "maxSurge"),  # Argo's bare-number percent is refused
        ((10, 20, 1, "-5%", 10, 10, 0, 0), "maxUnavailable"),
        ((10, 120, 1, 0, 10, 10, 0, 0), "weight"),
        ((10, 20, 1, 0, -1, 0, 0, 0), "stable_spec"),
    ],
)
def test_basic_canary_rejects_bad_input(args, field):
    with pytest.raises(ValueError, match=field):
        basic_canary_replica_counts(*args)


def _settle(replicas, weight, surge, unavailable, canary, stable):
    """Apply the rule until it stops changing, pods becoming available at once."""
    seen = []
    for _ in range(500):
        nxt = basic_canary_replica_counts(
            replicas, weight, surge, unavailable, stable, stable, canary, canary
        )
        if nxt == (canary, stable):
            return seen
        canary, stable = nxt
        seen.append(nxt)
    raise AssertionError("canary counts did not settle")


def test_basic_canary_steps_to_full_promotion():
    # 10 replicas at the Argo defaults, steps 20/40/60/80/100 with instant availability.
    canary, stable = 0, 10
    for weight in (20, 40, 60, 80, 100):
        path = _settle(10, weight, "25%", "25%", canary, stable)
        canary, stable = path[-1]
        assert (canary, stable) == approximate_weighted_counts(10, weight, 3)
        assert all(c + s <= 13 for c, s in path)
        assert all(c + s >= 8 for c, s in path)
    assert (canary, stable) == (10, 0)


def test_basic_canary_abort_surges_stable_first():
    # semantics.md A13: weight 0 on abort, stable surges first, canary goes as stable is up.
    path = _settle(4, 0, 1, 0, 4, 0)
    assert path[0] == (4, 1)
    assert path[-1] == (0, 4)
    assert all(c + s <= 5 and c + s >= 4 for c, s in path)


fencepost = st.one_of(
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0, max_value=100).map(lambda p: f"{p}%"),
)


@FAST
@given(
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=0, max_value=100),
    fencepost,
    fencepost,
    st.integers(min_value=0, max_value=14),
    st.integers(min_value=0, max_value=14),
    st.integers(min_value=0, max_value=14),
    st.integers(min_value=0, max_value=14),
)
def test_basic_canary_properties(replicas, weight, surge_value, unavail_value, ss, sa, cs, ca):
    sa, ca = min(sa, ss), min(ca, cs)
    canary, stable = basic_canary_replica_counts(
        replicas, weight, surge_value, unavail_value, ss, sa, cs, ca
    )
    surge = max_surge(surge_value, unavail_value, replicas)
    minimum = replicas - max_unavailable(surge_value, unavail_value, replicas)
    assert canary >= 0
    assert stable >= 0
    # never above replicas + maxSurge, unless the pair already was (then never grows)
    assert canary + stable <= max(replicas + surge, ss + cs)
    # the ReplicaSet controller deletes unavailable pods first, so availability stays
    # at least minAvailable (or where it was, if already below)
    assert min(sa, stable) + min(ca, canary) >= min(sa + ca, minimum)


@FAST
@given(
    st.integers(min_value=1, max_value=15),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=100),
    fencepost,
    fencepost,
)
def test_basic_canary_converges_between_weights(replicas, first, second, surge_value, unavail):
    surge = max_surge(surge_value, unavail, replicas)
    minimum = replicas - max_unavailable(surge_value, unavail, replicas)
    canary, stable = 0, replicas
    for weight in (first, second):
        for c, s in _settle(replicas, weight, surge_value, unavail, canary, stable):
            assert c + s <= replicas + surge
            assert c + s >= minimum
            canary, stable = c, s
        assert (canary, stable) == approximate_weighted_counts(replicas, weight, surge)


# --------------------------------------------------------------------------------------------
# traffic_routed_canary_counts


@pytest.mark.parametrize(
    ("replicas", "weight", "dynamic", "stable_weight", "expected"),
    [
        # canary_test.go TestCalculateReplicaCountsForCanaryTrafficRouting
        (10, 10, False, None, (1, 10)),
        # TestCalculateReplicaCountsForCanary "Ignore setCanaryScale replicas/weight when
        # matchTrafficWeight is true"
        (10, 20, False, None, (2, 10)),
        # TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale (not aborted)
        (10, 10, True, 90, (1, 9)),  # Should scale down stable
        (10, 20, True, 90, (2, 9)),  # Should take max of desired canary (20) > actual (10)
        # stable_weight defaults to 100 - weight (traffic has already moved)
        (10, 20, True, None, (2, 8)),
        (10, 0, True, None, (0, 10)),
        (10, 0, False, None, (0, 10)),
        (10, 100, False, None, (10, 10)),
        (10, 100, True, None, (10, 0)),
        (10, 100, True, 100, (10, 10)),
        (3, 50, True, None, (2, 2)),
    ],
)
def test_traffic_routed_canary_counts(replicas, weight, dynamic, stable_weight, expected):
    assert traffic_routed_canary_counts(replicas, weight, dynamic, stable_weight) == expected


@pytest.mark.parametrize(("weight", "stable_weight"), [(101, None), (-1, None), (10, 101)])
def test_traffic_routed_rejects_bad_weights(weight, stable_weight):
    with pytest.raises(ValueError, match="weight"):
        traffic_routed_canary_counts(10, weight, True, stable_weight)


@FAST
@given(
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=100),
)
def test_traffic_routed_properties(replicas, weight, stable_weight):
    canary, stable = traffic_routed_canary_counts(replicas, weight)
    assert stable == replicas
    assert canary == traffic_weight_to_replicas(replicas, weight)
    assert canary <= replicas
    dyn_canary, dyn_stable = traffic_routed_canary_counts(replicas, weight, True, stable_weight)
    assert dyn_canary == canary
    # stable never below what the desired or the current stable traffic needs
    assert dyn_stable >= traffic_weight_to_replicas(replicas, 100 - weight)
    assert dyn_stable >= traffic_weight_to_replicas(replicas, stable_weight)
    assert dyn_stable <= replicas
    # canary and stable together cover all traffic (rounding up each side)
    assert dyn_canary + dyn_stable >= replicas
