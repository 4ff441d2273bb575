"""Tests for simdeploy.rules.dns.

Cache times come from shared/reference/semantics.md §6.2 (X9--X15) and the sources it cites:
openjdk/jdk InetAddressCachePolicy.java, curl/curl CURLOPT_DNS_CACHE_TIMEOUT.md, Chromium
net/dns/host_resolver_manager_job.cc, Firefox modules/libpref/init/all.js, golang/go
src/net/dnsclient_unix.go. The closed form is checked against hand-computed integrals and a
seeded Monte-Carlo simulation of clients that does not call the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simdeploy.rules.dns import (
    CLIENT_RESOLVERS,
    DEFAULT_STALE_HORIZON_S,
    cache_expiry_after_switch,
    effective_cache_s,
    expected_failed_after_dns_switch,
    expected_failed_per_class,
    failed_window_s,
    minimum_old_lifetime_dns,
)

# --------------------------------------------------------------------------------------------
# effective_cache_s (X10–X14)


@pytest.mark.parametrize(
    ("kind", "ttl_s", "expected"),
    [
        # a stub resolver honouring the record TTL
        ("respects-ttl", 5, 5.0),
        ("respects-ttl", 300, 300.0),
        # X10: JVM caches 30 s when networkaddress.cache.ttl is unset, ignoring the TTL
        ("jvm", 5, 30.0),
        ("jvm", 300, 30.0),
        # X12: libcurl CURLOPT_DNS_CACHE_TIMEOUT default 60 s, TTL unused
        ("curl", 1, 60.0),
        ("curl", 3600, 60.0),
        # X13: Chromium, system resolver: fixed 60 s (kCacheEntryTTLSeconds)
        ("chromium-system", 20, 60.0),
        ("chromium-system", 600, 60.0),
        # X13: Chromium's built-in client: max(TTL, 60) (kMinimumTTLSeconds)
        ("chromium-builtin", 20, 60.0),
        ("chromium-builtin", 600, 600.0),
        # X14: Firefox 60 s expiration + 60 s grace period
        ("firefox", 20, 120.0),
        ("firefox", 600, 120.0),
        # X11: Go and CPython keep no cache: they follow the system resolver's TTL
        ("go", 20, 20.0),
        ("python", 45, 45.0),
        ("go", 0, 0.0),
    ],
)
def test_effective_cache_s(kind, ttl_s, expected):
    assert effective_cache_s(kind, ttl_s) == expected


def test_client_resolvers_lists_every_kind():
    assert set(CLIENT_RESOLVERS) == {
        "respects-ttl",
        "jvm",
        "curl",
        "chromium-system",
        "chromium-builtin",
        "firefox",
        "go",
        "python",
    }


def test_ttl_below_60_does_not_reach_browsers():
    # X14: TTLs under 60 s do not reach browsers
    for kind in ("chromium-system", "chromium-builtin", "firefox"):
        assert effective_cache_s(kind, 20) >= 60


@pytest.mark.parametrize(
    ("kind", "ttl_s", "match"),
    [("bind", 30, "kind"), ("jvm", -1, "ttl_s"), ("curl", float("nan"), "ttl_s")],
)
def test_effective_cache_s_rejects_bad_input(kind, ttl_s, match):
    with pytest.raises(ValueError, match=match):
        effective_cache_s(kind, ttl_s)


# --------------------------------------------------------------------------------------------
# cache_expiry_after_switch and failed_window_s


@pytest.mark.parametrize(
    ("u", "cache_s", "expected"),
    [(0.0, 60, 0.0), (0.5, 60, 30.0), (0.25, 120, 30.0), (0.999, 30, 29.97), (0.7, 0, 0.0)],
)
def test_cache_expiry_after_switch(u, cache_s, expected):
    assert cache_expiry_after_switch(u, cache_s) == pytest.approx(expected)


@pytest.mark.parametrize(("u", "cache_s"), [(1.0, 60), (-0.1, 60), (0.5, -1), (True, 60)])
def test_cache_expiry_after_switch_rejects_bad_input(u, cache_s):
    with pytest.raises(ValueError, match=r"u|cache_s"):
        cache_expiry_after_switch(u, cache_s)


@pytest.mark.parametrize(
    ("remaining_s", "keep_old_s", "expected"),
    [(50, 30, 20.0), (30, 30, 0.0), (10, 30, 0.0), (0, 0, 0.0)],
)
def test_failed_window_s(remaining_s, keep_old_s, expected):
    assert failed_window_s(remaining_s, keep_old_s) == expected


# --------------------------------------------------------------------------------------------
# closed form: hand-computed cases


@pytest.mark.parametrize(
    ("rate", "cache_s", "keep_old_s", "expected"),
    [
        # E[max(0, R - D)] for R ~ U(0, 60), D = 30: ∫_30^60 (r - 30)/60 dr = 900/120 = 7.5
        (1.0, 60, 30, 7.5),
        (10.0, 60, 30, 75.0),
        # D = 0: every client loses its whole remaining life, E[R] = C/2
        (1.0, 60, 0, 30.0),
        (2.0, 120, 0, 120.0),
        # D >= C: nothing fails
        (1.0, 60, 60, 0.0),
        (1.0, 60, 90, 0.0),
        # no cache: the switch is immediate
        (1.0, 0, 0, 0.0),
        # C = 120 (Firefox), D = 30: 90² / 240 = 33.75
        (1.0, 120, 30, 33.75),
    ],
)
def test_expected_failed_per_class_hand_cases(rate, cache_s, keep_old_s, expected):
    assert expected_failed_per_class(rate, cache_s, keep_old_s) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("mix", "ttl_s", "keep_old_s", "stale", "horizon", "expected"),
    [
        # JVM (30 s) and curl (60 s), D = 0: 0.5·15 + 0.5·30
        ({"jvm": 0.5, "curl": 0.5}, 5, 0, 0.0, 900, 22.5),
        # a number as key is a cache time in seconds
        ({60: 1.0}, 5, 30, 0.0, 900, 7.5),
        ({60.0: 0.25, "respects-ttl": 0.75}, 60, 30, 0.0, 900, 7.5),
        # X9's tail: 2 % never refresh in 15 min; TTL 20 s < D = 60 s, so only the tail fails
        ({"respects-ttl": 1.0}, 20, 60, 0.02, 900, 0.02 * 840),
        # tail and mix together: 0.9·(0.5·7.5) + 0.1·(900 − 30)
        ({"curl": 0.5, "jvm": 0.5}, 5, 30, 0.1, 900, 0.9 * 3.75 + 87.0),
        # horizon before D: the tail adds nothing
        ({"respects-ttl": 1.0}, 20, 60, 0.5, 30, 0.0),
    ],
)
def test_expected_failed_after_dns_switch_hand_cases(
    mix, ttl_s, keep_old_s, stale, horizon, expected
):
    got = expected_failed_after_dns_switch(
        1.0, mix, ttl_s, keep_old_s, stale_share=stale, horizon_s=horizon
    )
    assert got == pytest.approx(expected)


def test_rate_scales_linearly():
    mix = {"firefox": 0.3, "jvm": 0.7}
    one = expected_failed_after_dns_switch(1.0, mix, 30, 10)
    assert expected_failed_after_dns_switch(250.0, mix, 30, 10) == pytest.approx(250 * one)


def test_issue_9_ttl_longer_than_scale_down_delay_fails_requests():
    # issue 9 "Done means": TTL > scale-down delay fails requests, TTL < delay fails none
    delay = 30.0  # Argo's default scaleDownDelaySeconds (A1)
    assert expected_failed_after_dns_switch(100, {"respects-ttl": 1.0}, 60, delay) > 0
    assert expected_failed_after_dns_switch(100, {"respects-ttl": 1.0}, 20, delay) == 0
    # …but a 20 s TTL does not protect browsers or curl (X12–X14)
    assert expected_failed_after_dns_switch(100, {"curl": 1.0}, 20, delay) > 0


def test_default_horizon_is_x9s_15_minutes():
    assert DEFAULT_STALE_HORIZON_S == 900


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mix": {}}, "mix"),
        ({"mix": {"jvm": 0.5}}, "sum to 1"),
        ({"mix": {"jvm": 0.7, "curl": 0.7}}, "sum to 1"),
        ({"mix": {"bind": 1.0}}, "bind"),
        ({"mix": {-5.0: 1.0}}, "mix key"),
        ({"mix": {"jvm": 1.5, "curl": -0.5}}, "mix"),
        ({"stale_share": 1.5}, "stale_share"),
        ({"horizon_s": -1.0}, "horizon_s"),
        ({"ttl_s": -1.0}, "ttl_s"),
        ({"keep_old_s": float("inf")}, "keep_old_s"),
        ({"rate_rps": -1.0}, "rate_rps"),
    ],
)
def test_expected_failed_rejects_bad_input(kwargs, match):
    args = {"rate_rps": 1.0, "mix": {"jvm": 1.0}, "ttl_s": 30.0, "keep_old_s": 10.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        expected_failed_after_dns_switch(**args)


# --------------------------------------------------------------------------------------------
# closed form vs Monte Carlo


def _monte_carlo(rate_rps, classes, shares, keep_old_s, stale_share, horizon_s, seed, n=200_000):
    """Simulate n equal clients; return (total failed requests, its standard error).

    Independent of the code under test: each client draws its class, the moment of its last
    lookup before the switch (uniform over its cache time), and a Poisson count of the
    requests it sends to the old address while that address is gone.
    """
    rng = np.random.default_rng(seed)
    per_client_rate = rate_rps / n
    cache = np.asarray(classes, dtype=float)[rng.choice(len(classes), size=n, p=shares)]
    looked_up_ago = rng.uniform(0.0, 1.0, size=n) * cache
    remaining = cache - looked_up_ago  # also Uniform(0, C)
    window = np.maximum(0.0, remaining - keep_old_s)
    stale = rng.uniform(size=n) < stale_share
    window = np.where(stale, max(0.0, horizon_s - keep_old_s), window)
    counts = rng.poisson(per_client_rate * window)
    return counts.sum(), counts.std(ddof=1) * math.sqrt(n)


@pytest.mark.parametrize(
    ("mix", "ttl_s", "keep_old_s", "stale", "seed"),
    [
        ({"respects-ttl": 1.0}, 60, 30, 0.0, 1),
        ({"jvm": 0.4, "curl": 0.3, "firefox": 0.3}, 20, 30, 0.0, 2),
        ({"chromium-builtin": 0.5, "go": 0.5}, 300, 45, 0.0, 3),
        ({"respects-ttl": 0.6, "chromium-system": 0.4}, 20, 10, 0.02, 4),
        ({"firefox": 1.0}, 60, 0, 0.05, 5),
    ],
)
def test_closed_form_matches_monte_carlo(mix, ttl_s, keep_old_s, stale, seed):
    rate = 500.0
    closed = expected_failed_after_dns_switch(rate, mix, ttl_s, keep_old_s, stale_share=stale)
    # the oracle's cache times are the table's values, written out, not effective_cache_s
    table = {
        "respects-ttl": ttl_s,
        "go": ttl_s,
        "jvm": 30.0,
        "curl": 60.0,
        "firefox": 120.0,
        "chromium-system": 60.0,
        "chromium-builtin": max(ttl_s, 60.0),
    }
    classes = [table[k] for k in mix]
    shares = list(mix.values())
    total, se = _monte_carlo(rate, classes, shares, keep_old_s, stale, 900.0, seed)
    assert closed > 0
    assert abs(total - closed) <= 4 * se, (total, closed, se)


# --------------------------------------------------------------------------------------------
# closed form: properties

_kind_or_seconds = st.one_of(
    st.sampled_from(CLIENT_RESOLVERS), st.floats(0, 600, allow_nan=False).map(float)
)
_mixes = st.dictionaries(_kind_or_seconds, st.floats(0.01, 1.0), min_size=1, max_size=5).map(
    lambda d: {k: v / sum(d.values()) for k, v in d.items()}
)


@given(
    mix=_mixes,
    ttl=st.floats(0, 3600),
    d1=st.floats(0, 2000),
    d2=st.floats(0, 2000),
    stale=st.floats(0, 1),
)
def test_monotone_non_increasing_in_keep_old(mix, ttl, d1, d2, stale):
    low, high = sorted((d1, d2))
    at_low = expected_failed_after_dns_switch(10.0, mix, ttl, low, stale_share=stale)
    at_high = expected_failed_after_dns_switch(10.0, mix, ttl, high, stale_share=stale)
    assert at_high <= at_low + 1e-9 * max(1.0, at_low)


@given(mix=_mixes, ttl=st.floats(0, 3600), extra=st.floats(0, 100))
def test_zero_once_old_outlives_every_cache(mix, ttl, extra):
    longest = max(effective_cache_s(k, ttl) if isinstance(k, str) else k for k in mix)
    assert expected_failed_after_dns_switch(10.0, mix, ttl, longest + extra) == 0.0


@given(mix=_mixes, ttl=st.floats(0, 3600), keep=st.floats(0, 2000))
def test_never_more_than_all_requests_in_the_window(mix, ttl, keep):
    # a client cannot fail more requests than it sends in its longest possible stale window
    longest = max(effective_cache_s(k, ttl) if isinstance(k, str) else k for k in mix)
    got = expected_failed_after_dns_switch(1.0, mix, ttl, keep)
    assert 0.0 <= got <= max(0.0, longest - keep) / 2 + 1e-9


# --------------------------------------------------------------------------------------------
# minimum_old_lifetime_dns (X15 first half)


@pytest.mark.parametrize(
    ("ttl_s", "kinds", "kwargs", "expected"),
    [
        # X15: the longest of the TTL and the client floors
        (20, ["jvm", "curl", "firefox"], {}, 120.0),
        (300, ["jvm", "curl"], {}, 300.0),
        (5, ["respects-ttl", "jvm"], {}, 30.0),
        (5, [45.0], {}, 45.0),
        (20, [], {}, 20.0),
        # + the life of open connections (X12: curl reuses idle ones up to 118 s)
        (20, ["curl"], {"connection_life_s": 118.0}, 178.0),
        # behind a TTL-honouring resolver, a fixed client cache can start from an almost
        # expired answer: TTL + the longest fixed cache
        (300, ["jvm"], {"behind_ttl_cache": True}, 330.0),
        (300, ["respects-ttl", "go"], {"behind_ttl_cache": True}, 300.0),
        (20, ["chromium-builtin"], {"behind_ttl_cache": True}, 80.0),
        (20, ["firefox", "jvm"], {"behind_ttl_cache": True}, 140.0),
    ],
)
def test_minimum_old_lifetime_dns(ttl_s, kinds, kwargs, expected):
    assert minimum_old_lifetime_dns(ttl_s, kinds, **kwargs) == pytest.approx(expected)


def test_minimum_old_lifetime_dns_is_enough_for_the_closed_form():
    kinds = ["jvm", "curl", "chromium-builtin", "firefox", "respects-ttl"]
    keep = minimum_old_lifetime_dns(90, kinds)
    mix = dict.fromkeys(kinds, 1 / len(kinds))
    assert expected_failed_after_dns_switch(100.0, mix, 90, keep) == 0.0
    assert expected_failed_after_dns_switch(100.0, mix, 90, keep - 1) > 0.0


@pytest.mark.parametrize(
    ("args", "match"),
    [((-1, ["jvm"]), "ttl_s"), ((30, ["bind"]), "client_kinds"), ((30, ["jvm"], -1), "conn")],
)
def test_minimum_old_lifetime_dns_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        minimum_old_lifetime_dns(*args)
