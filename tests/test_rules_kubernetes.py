"""Tests for simdeploy.rules.kubernetes.

Example cases are re-expressed from the upstream Kubernetes unit tests (named in
comments) and from the worked examples in shared/reference/semantics.md.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdeploy.rules.kubernetes import (
    _cleanup_unhealthy_replicas,
    _scale_down_old_replica_sets_for_rolling_update,
    max_surge,
    max_unavailable,
    min_available,
    new_rs_new_replicas,
    plan_old_scale_down,
    resolve_fenceposts,
)

FAST = settings(max_examples=100, deadline=None)

# --------------------------------------------------------------------------------------------
# resolve_fenceposts


@pytest.mark.parametrize(
    ("surge", "unavailable", "replicas", "expected"),
    [
        # deployment_util_test.go TestResolveFenceposts
        ("0%", "0%", 0, (0, 1)),
        ("39%", "39%", 10, (4, 3)),
        (None, "39%", 10, (0, 3)),
        ("39%", None, 10, (4, 0)),
        (None, None, 10, (0, 1)),
        # deployment_util.go ResolveFenceposts doc comment
        ("0%", "1%", 2, (0, 1)),
        ("0%", "1%", 1, (0, 1)),
        ("1%", "25%", 2, (1, 0)),
        ("1%", "25%", 1, (1, 0)),
        ("1%", "0%", 2, (1, 0)),
        # semantics.md K9: 25%/25% on 3 replicas; surge 0 with 25% on 1-3 replicas
        ("25%", "25%", 3, (1, 0)),
        (0, "25%", 1, (0, 1)),
        (0, "25%", 3, (0, 1)),
        (0, "25%", 4, (0, 1)),
        (0, "25%", 8, (0, 2)),
        # absolute ints are taken as is; surge is not capped
        (3, 2, 10, (3, 2)),
        ("200%", "100%", 5, (10, 5)),
        (0, 0, 7, (0, 1)),
    ],
)
def test_resolve_fenceposts(surge, unavailable, replicas, expected):
    assert resolve_fenceposts(surge, unavailable, replicas) == expected


@pytest.mark.parametrize(
    ("surge", "unavailable"),
    [
        # deployment_util_test.go TestResolveFenceposts (error cases)
        ("oops", "39%"),
        ("55%", "urg"),
        # intstr GetScaledValueFromIntOrPercent: a string without '%' is an error
        ("25", "25%"),
        ("25%", "3"),
        # API validation never lets negative or signed values through
        ("-5%", 0),
        ("+5%", 0),
        (-1, 1),
        (1, -1),
        # not an IntOrString at all
        (True, 1),
        (1, False),
        (0.25, 1),
        ("25 %", 1),
        ("2.5%", 1),
        ("%", 1),
        ([1], 1),
    ],
)
def test_resolve_fenceposts_rejects_malformed(surge, unavailable):
    with pytest.raises(ValueError, match=r"max(Surge|Unavailable)"):
        resolve_fenceposts(surge, unavailable, 10)


@pytest.mark.parametrize("replicas", [-1, "3", True, 2.0])
def test_resolve_fenceposts_rejects_bad_replicas(replicas):
    with pytest.raises(ValueError, match="replicas"):
        resolve_fenceposts(1, 1, replicas)


percent = st.integers(min_value=0, max_value=100).map(lambda p: f"{p}%")
fencepost = st.one_of(st.none(), st.integers(min_value=0, max_value=50), percent)


@FAST
@given(fencepost, fencepost, st.integers(min_value=0, max_value=1000))
def test_fenceposts_never_both_zero(surge_value, unavailable_value, replicas):
    surge, unavailable = resolve_fenceposts(surge_value, unavailable_value, replicas)
    assert surge >= 0
    assert unavailable >= 0
    assert (surge, unavailable) != (0, 0)
    assert 0 <= max_unavailable(surge_value, unavailable_value, replicas) <= replicas


@FAST
@given(
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=100_000),
)
def test_percent_rounding_is_exact(p_surge, p_unavailable, replicas):
    # The float arithmetic upstream uses agrees with exact integer ceil/floor here.
    surge, unavailable = resolve_fenceposts(f"{p_surge}%", f"{p_unavailable}%", replicas)
    exact_surge = -(-p_surge * replicas // 100)
    exact_unavailable = p_unavailable * replicas // 100
    assert surge == exact_surge
    assert surge <= replicas
    if exact_surge == 0 and exact_unavailable == 0:
        assert unavailable == 1
    else:
        assert unavailable == exact_unavailable
        assert unavailable <= replicas


# --------------------------------------------------------------------------------------------
# max_unavailable, min_available, max_surge


@pytest.mark.parametrize(
    ("replicas", "unavailable", "expected"),
    [
        # deployment_util_test.go TestMaxUnavailable (maxSurge 1 throughout)
        (10, 5, 5),
        (10, 10, 10),
        (5, 10, 5),
        (0, 10, 0),
        (10, "50%", 5),
        (10, "100%", 10),
        (5, "100%", 5),
    ],
)
def test_max_unavailable(replicas, unavailable, expected):
    assert max_unavailable(1, unavailable, replicas) == expected
    assert min_available(1, unavailable, replicas) == replicas - expected


def test_max_unavailable_zero_replicas_ignores_both_zero_rule():
    # resolve_fenceposts gives unavailable 1 for 0%/0% on 0 replicas, MaxUnavailable gives 0.
    assert resolve_fenceposts("0%", "0%", 0) == (0, 1)
    assert max_unavailable("0%", "0%", 0) == 0
    assert min_available("0%", "0%", 0) == 0


@pytest.mark.parametrize(
    ("surge", "unavailable", "replicas", "expected"),
    [
        ("25%", "25%", 3, 1),
        ("25%", "25%", 10, 3),
        (0, 0, 10, 0),
        (None, 2, 4, 0),
        ("150%", 0, 4, 6),
    ],
)
def test_max_surge(surge, unavailable, replicas, expected):
    assert max_surge(surge, unavailable, replicas) == expected


def test_derived_values_reject_malformed():
    for func in (max_surge, max_unavailable, min_available):
        with pytest.raises(ValueError, match="maxSurge"):
            func("oops", 1, 3)
        with pytest.raises(ValueError, match="maxUnavailable"):
            func(1, "25", 0)


# --------------------------------------------------------------------------------------------
# new_rs_new_replicas


@pytest.mark.parametrize(
    ("replicas", "surge", "new_spec", "all_sum", "expected"),
    [
        # deployment_util_test.go TestNewRSNewReplicas (allRSs holds only a 5-replica RS)
        (1, 1, 5, 5, 5),  # can not scale up
        (6, 10, 2, 5, 6),  # scale up, capped at replicas
        # rolling_test.go TestDeploymentController_reconcileNewReplicaSet (old + new)
        (10, 0, 0, 10, 0),  # should not scale up
        (10, 2, 0, 10, 2),
        (10, 2, 0, 5, 7),
        (10, 2, 2, 12, 2),
        # semantics.md K13 / K26: maxTotal 13, 9 pods left after the cleanup -> new climbs to 10
        (10, 3, 8, 9, 10),
        # rolling.go reconcileOldReplicaSets comment, case 2: a new RS created at 13 pods stays 0
        (10, 3, 0, 13, 0),
        (10, 3, 0, 8, 5),
        # percentages round up; None is 0
        (3, "25%", 0, 3, 1),
        (10, "25%", 0, 10, 3),
        (10, "1%", 9, 10, 10),
        (10, None, 0, 10, 0),
        (10, None, 0, 8, 2),
        # no both-zero rule on this side (K11): 0% surge never scales up past replicas
        (3, "0%", 0, 3, 0),
    ],
)
def test_new_rs_new_replicas(replicas, surge, new_spec, all_sum, expected):
    assert new_rs_new_replicas(replicas, surge, new_spec, all_sum) == expected


@pytest.mark.parametrize("bad", ["oops", "25", "-5%", -1, True])
def test_new_rs_new_replicas_rejects_malformed(bad):
    with pytest.raises(ValueError, match="maxSurge"):
        new_rs_new_replicas(3, bad, 0, 3)


@FAST
@given(
    st.integers(min_value=0, max_value=50),
    fencepost,
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=150),
)
def test_new_rs_never_exceeds_limits(replicas, surge_value, new_spec, others):
    new_spec = min(new_spec, replicas)
    all_sum = new_spec + others
    result = new_rs_new_replicas(replicas, surge_value, new_spec, all_sum)
    surge = max_surge(surge_value, 0, replicas)
    assert new_spec <= result <= replicas
    if result > new_spec:
        assert all_sum + (result - new_spec) <= replicas + surge


# --------------------------------------------------------------------------------------------
# plan_old_scale_down


@pytest.mark.parametrize(
    ("replicas", "unavailable", "new", "old", "expected"),
    [
        # rolling_test.go TestDeploymentController_reconcileOldReplicaSets (maxSurge 0)
        (10, 0, (0, 0), [(10, 10)], [9]),
        (10, 2, (0, 0), [(10, 10)], [8]),
        (10, 2, (0, 0), [(10, 8)], [8]),  # 2 unhealthy cleaned up
        (10, 2, (0, 0), [(10, 9)], [8]),  # 1 unhealthy cleaned, 1 ready scaled down
        (10, 2, (2, 0), [(8, 8)], [8]),  # the new RS's unavailable pods block it
        # the scaleDownOldReplicaSetsForRollingUpdate "1 ready of 10" case, through the
        # whole pass: cleanup still removes 2 unhealthy pods (budget 10 - 8 - 0)
        (10, 2, (0, 0), [(10, 1)], [8]),
        # nothing to scale down
        (10, 2, (10, 10), [(0, 0)], [0]),
        (10, 2, (10, 10), [], []),
    ],
)
def test_plan_old_scale_down_upstream_cases(replicas, unavailable, new, old, expected):
    assert plan_old_scale_down(replicas, 0, unavailable, new[0], new[1], old) == expected


def test_k26_rollback_budget():
    # rolling.go reconcileOldReplicaSets comment, case 1 (semantics.md K26): 10 replicas,
    # maxSurge 3, maxUnavailable 2, old 8 + new 5 crash-looping, one good pod lost.
    assert plan_old_scale_down(10, 3, 2, 5, 0, [(8, 7)]) == [8]  # 13 - 8 - 5 = 0
    # After `rollout undo` the good RS is new (8 spec, 7 available), the bad one old:
    # budget 13 - 8 - 1 = 4, so 4 crash-looping pods go and the new RS can reach 10.
    assert plan_old_scale_down(10, 3, 2, 8, 7, [(5, 0)]) == [1]
    assert new_rs_new_replicas(10, 3, 8, 8 + 1) == 10


def test_rollover_case_2():
    # rolling.go reconcileOldReplicaSets comment, case 2: a new template while stuck at
    # old 8 + previous new 5 (crash-looping); the budget 13 - 8 - 0 = 5 removes the 5.
    assert plan_old_scale_down(10, 3, 2, 0, 0, [(8, 8), (5, 0)]) == [8, 0]
    assert new_rs_new_replicas(10, 3, 0, 8) == 5


def test_cleanup_walks_oldest_first_within_budget():
    # budget 12 + 0 - 8 - 0 = 4: oldest RS loses its 3 unhealthy, the next one 1 of 3.
    assert plan_old_scale_down(10, 2, 2, 0, 0, [(4, 1), (4, 1), (4, 4)]) == [1, 3, 4]


def test_budget_is_used_up_exactly_when_statuses_are_consistent():
    # budget = 14 - 8 - 0 = 6; cleanup takes 1; available = 4 + 9 = 13 -> 5 more go.
    assert plan_old_scale_down(10, 4, 2, 4, 4, [(10, 9)]) == [4]


def test_healthy_scale_down_is_not_capped_by_remaining_budget():
    # rolling.go scaleDownOldReplicaSetsForRollingUpdate limits itself by
    # available - minAvailable only, recounted after cleanup. With a lagging status
    # (second RS: 7 available > 5 spec) that the cleanup loop never reaches:
    # budget = 14 - 8 - 3 = 3, cleanup 5 -> 2 uses it all, then available
    # 1 + 1 + 7 = 9 > 8 lets one more go, 4 removed in total.
    assert plan_old_scale_down(10, 2, 2, 4, 1, [(5, 1), (5, 7)]) == [1, 5]


def test_inactive_old_rs_is_ignored():
    # FilterActiveReplicaSets drops spec-0 RSs: their (stale) available pods do not count.
    # available = 2 + 8 = 10 -> limit 2 (counting the 3 stale pods would allow 5).
    assert plan_old_scale_down(10, 2, 2, 2, 2, [(0, 3), (8, 8)]) == [0, 6]
    assert plan_old_scale_down(10, 2, 2, 2, 2, [(8, 8)]) == [6]


def test_lagging_status_ends_the_pass():
    # An active RS reporting more available than spec makes upstream cleanup error out:
    # earlier cleanups stand, the healthy scale-down does not run.
    assert plan_old_scale_down(10, 2, 2, 4, 4, [(3, 1), (5, 7)]) == [1, 5]
    # Reached only by the cleanup loop: with nothing unhealthy before it the pass still ends.
    assert plan_old_scale_down(10, 2, 2, 4, 4, [(5, 7)]) == [5]


@pytest.mark.parametrize(
    ("spec", "available", "budget", "cleaned"),
    [
        # rolling_test.go TestDeploymentController_cleanupUnhealthyReplicas
        (10, 8, 1, 1),
        (10, 8, 3, 2),
        (10, 8, 0, 0),
        (10, 10, 3, 0),
    ],
)
def test_cleanup_unhealthy_replicas(spec, available, budget, cleaned):
    specs, removed, ok = _cleanup_unhealthy_replicas([spec], [available], budget)
    assert ok
    assert removed == cleaned
    assert specs == [spec - cleaned]


@pytest.mark.parametrize(
    ("replicas", "unavailable", "ready", "old_spec", "expected"),
    [
        # rolling_test.go TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate
        # (allRSs holds only the old RS, maxSurge 0)
        (10, 0, 10, 10, 9),
        (10, 2, 10, 10, 8),
        (10, 2, 8, 10, 10),
        (10, 2, 10, 0, 0),
        (10, 2, 1, 10, 10),
    ],
)
def test_scale_down_old_for_rolling_update(replicas, unavailable, ready, old_spec, expected):
    minimum = min_available(0, unavailable, replicas)
    specs, _ = _scale_down_old_replica_sets_for_rolling_update([old_spec], [ready], 0, minimum)
    assert specs == [expected]


def test_plan_rejects_bad_counts():
    with pytest.raises(ValueError, match=r"old\[0\]\.available"):
        plan_old_scale_down(3, 1, 0, 0, 0, [(3, -1)])
    with pytest.raises(ValueError, match="maxUnavailable"):
        plan_old_scale_down(3, 1, "1", 0, 0, [(3, 3)])


# --------------------------------------------------------------------------------------------
# Whole rollouts, one reconcile pass at a time


def _rollout(replicas, surge, unavailable, old_specs, max_passes=1000):
    """Run passes with instantly available pods; yield (new, old specs) after each change."""
    new = 0
    old = list(old_specs)
    for _ in range(max_passes):
        # reconcileNewReplicaSet: skip when saturated; otherwise scale up if allowed.
        if new != replicas:
            target = new_rs_new_replicas(replicas, surge, new, new + sum(old))
            if target != new:
                new = target
                yield new, list(old)
                continue
        planned = plan_old_scale_down(
            replicas, surge, unavailable, new, new, list(zip(old, old, strict=True))
        )
        if planned == old:
            return
        old = planned
        yield new, list(old)
    raise AssertionError("rollout did not settle")


def test_docs_sequence_three_replicas_default_fenceposts():
    # kubernetes/website deployment.md and semantics.md K17:
    # new->1, old->2, new->2, old->1, new->3, old->0.
    steps = list(_rollout(3, "25%", "25%", [3]))
    assert steps == [(1, [3]), (1, [2]), (2, [2]), (2, [1]), (3, [1]), (3, [0])]


def test_surge_one_unavailable_zero_cadence():
    # semantics.md K17: new+1, old-1, new+1, ... never below replicas available.
    steps = list(_rollout(4, 1, 0, [4]))
    assert steps[:4] == [(1, [4]), (1, [3]), (2, [3]), (2, [2])]
    assert steps[-1] == (4, [0])


@FAST
@given(
    st.integers(min_value=0, max_value=30),
    fencepost,
    fencepost,
    st.lists(st.integers(min_value=0, max_value=15), min_size=1, max_size=3),
)
def test_rollout_respects_fenceposts_and_completes(replicas, surge_value, unavail_value, old):
    surge = max_surge(surge_value, unavail_value, replicas)
    minimum = min_available(surge_value, unavail_value, replicas)
    start = sum(old)
    last = (0, old)
    for new, olds in _rollout(replicas, surge_value, unavail_value, old):
        total = new + sum(olds)
        # never above replicas + surge unless we started above it (then never grows)
        assert total <= max(replicas + surge, start)
        # pods are available instantly here, so availability is the spec total
        assert total >= min(minimum, start)
        last = (new, olds)
    if replicas > 0 or start > 0:
        assert last == (replicas, [0] * len(old))


@FAST
@given(
    st.integers(min_value=0, max_value=30),
    fencepost,
    fencepost,
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=30),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=15), st.integers(min_value=0, max_value=15)),
        max_size=4,
    ),
)
def test_plan_old_scale_down_properties(
    replicas, surge_value, unavail_value, new_spec, new_available, old
):
    new_available = min(new_available, new_spec)
    old = [(spec, min(available, spec)) for spec, available in old]
    planned = plan_old_scale_down(
        replicas, surge_value, unavail_value, new_spec, new_available, old
    )
    assert len(planned) == len(old)
    assert all(0 <= after <= spec for after, (spec, _) in zip(planned, old, strict=True))

    minimum = min_available(surge_value, unavail_value, replicas)
    removed = sum(spec for spec, _ in old) - sum(planned)
    budget = sum(spec for spec, _ in old) + new_spec - minimum - (new_spec - new_available)
    # the healthy step is not capped explicitly, yet the total stays within the budget
    assert removed <= max(budget, 0)
    # the ReplicaSet controller deletes unavailable pods first
    before = new_available + sum(available for _, available in old)
    after = new_available + sum(
        min(available, spec) for spec, (_, available) in zip(planned, old, strict=True)
    )
    assert after >= min(before, minimum)
