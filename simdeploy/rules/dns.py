r"""Client DNS caching, and what it costs a blue-green switch made by DNS.

A blue-green switch by DNS changes the record a name resolves to, from the
old (blue) address to the new (green) one. Nobody is told: each client keeps
using the answer it already has until *its own* cache lets it go. How long
that is depends less on the record's TTL than one might think (X9--X14):

=====================  ==========================================  ====================
kind                   cache time for a record with TTL ``t``      source
=====================  ==========================================  ====================
``respects-ttl``       ``t`` (a stub resolver or cache honouring   RFC 1035 TTL
                       the TTL)
``jvm``                30 s, whatever ``t`` (``networkaddress.     X10
                       cache.ttl`` unset)
``curl``               60 s, whatever ``t``                        X12
``chromium-system``    60 s, whatever ``t``                        X13
``chromium-builtin``   ``max(t, 60)``                              X13
``firefox``            60 s + 60 s grace = up to 120 s             X14
``go``, ``python``     no cache of their own: they ask the system  X11
                       resolver each time, so ``t``
=====================  ==========================================  ====================

:func:`effective_cache_s` gives that column. A mix of client kinds then
decides how many requests still go to the old address after it is gone.

**The closed form.** Take one class of clients, all with cache time ``C``,
sending requests at a total rate ``λ``. A client last looked the name up at
a uniformly random moment in the ``C`` seconds before the switch, so its
answer has a remaining life ``R ~ Uniform(0, C)`` at the switch
(:func:`cache_expiry_after_switch` maps a uniform draw to ``R``). Until ``R``
it keeps sending to the old address; after ``R`` it looks up again and gets
the new one. The old version stays up ``D`` seconds after the switch
(``keep_old_s``), so a client's requests fail during ``[D, R)``: a window of
length ``max(0, R - D)`` (:func:`failed_window_s`). The expected number of
failed requests is therefore

.. math::

    λ\,E[\max(0, R - D)] = λ \int_D^C \frac{r - D}{C}\,dr
                        = λ\,\frac{(C - D)^2}{2C}  \quad (D < C),

and 0 for ``D >= C`` (:func:`expected_failed_per_class`). Example: ``C = 60``,
``D = 30`` gives ``900 λ / 120 = 7.5 λ``: half the clients outlive ``D``, and
those lose on average 15 s each (15 s is the *conditional* mean, not the
answer). For a mix of classes with request shares ``w_k``, the sum is linear:
``λ Σ_k w_k (C_k - D)_+² / (2 C_k)``.

X9 adds a long tail: in measurements, 2 % of users still used a stale
answer 15 minutes after a change with a 20 s TTL. A share ``s`` of the
requests comes from such clients, which never refresh within the horizon
``H`` we look at; they fail from ``D`` to ``H``, adding ``λ s (H - D)_+``.
The other clients (share ``1 - s``) follow the mix. So
(:func:`expected_failed_after_dns_switch`):

.. math::

    E[\text{failed}] = λ \Big[(1 - s) \sum_k w_k \frac{(C_k - D)_+^2}{2 C_k}
                       + s\,(H - D)_+\Big].

It is monotone non-increasing in ``D`` and zero once ``D`` is at least every
class's ``C`` and ``s = 0``: blue must outlive the longest client cache,
whatever ``scaleDownDelaySeconds`` says.

The model's assumptions, each an upper or lower bound on reality:

* A client does not re-resolve after a failed request (most do not: curl,
  the JVM and browsers keep the cached entry until it expires).
* A fixed-time client cache is counted from the client's own lookup. If it
  asks a recursive resolver that itself caches for the TTL, the answer may
  already be ``t`` seconds old, so the client's worst case is ``t`` plus its
  own cache time, not the larger of the two (see
  :func:`minimum_old_lifetime_dns`, ``behind_ttl_cache``).
* Firefox's grace period serves the expired entry *while* refreshing it, so
  with steady traffic only the first request after 60 s is stale; 120 s is
  the worst case for a client that sends nothing between 60 s and its next
  request.
* Open keep-alive connections bypass DNS altogether (X11, X12); they are
  added in :func:`minimum_old_lifetime_dns` as ``connection_life_s``, not in
  the closed form.

Nothing here uses SimPy or draws random numbers; a simulation draws ``u`` and
calls :func:`cache_expiry_after_switch`, so the simulation and the closed
form share one definition of ``R``.

Sources: ``shared/reference/semantics.md`` §6.2, X9--X15; ``openjdk/jdk
src/java.base/share/classes/sun/net/InetAddressCachePolicy.java``; ``curl/curl
docs/libcurl/opts/CURLOPT_DNS_CACHE_TIMEOUT.md``; Chromium
``net/dns/host_resolver_manager_job.cc``; Firefox ``modules/libpref/init/all.js``;
``golang/go src/net/dnsclient_unix.go``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal, get_args

from simdeploy.rules.arguments import seconds

__all__ = [
    "CHROMIUM_CACHE_S",
    "CLIENT_RESOLVERS",
    "CURL_CACHE_S",
    "DEFAULT_STALE_HORIZON_S",
    "FIREFOX_EXPIRATION_S",
    "FIREFOX_GRACE_S",
    "JVM_CACHE_S",
    "ClientResolver",
    "cache_expiry_after_switch",
    "effective_cache_s",
    "expected_failed_after_dns_switch",
    "expected_failed_per_class",
    "failed_window_s",
    "minimum_old_lifetime_dns",
]

ClientResolver = Literal[
    "respects-ttl",
    "jvm",
    "curl",
    "chromium-system",
    "chromium-builtin",
    "firefox",
    "go",
    "python",
]
"""The kinds of client DNS cache simdeploy knows (see the module table)."""

CLIENT_RESOLVERS: tuple[str, ...] = get_args(ClientResolver)
"""Every :data:`ClientResolver`, in the module table's order."""

ClientClass = str | float | int
"""A client class in a mix: a :data:`ClientResolver` or a cache time in seconds."""

JVM_CACHE_S = 30.0
"""The JVM's cache time for a successful lookup when ``networkaddress.cache.ttl``
is unset (``InetAddressCachePolicy.DEFAULT_POSITIVE``, X10)."""

CURL_CACHE_S = 60.0
"""libcurl's default ``CURLOPT_DNS_CACHE_TIMEOUT``; it never reads the TTL (X12)."""

CHROMIUM_CACHE_S = 60.0
"""Chromium's fixed cache time for system-resolver answers (``kCacheEntryTTLSeconds``)
and the floor for its built-in client's answers (``kMinimumTTLSeconds``) (X13)."""

FIREFOX_EXPIRATION_S = 60.0
"""Firefox's ``network.dnsCacheExpiration``, used when the OS gives no TTL (X14)."""

FIREFOX_GRACE_S = 60.0
"""Firefox's ``network.dnsCacheExpirationGracePeriod``: an expired entry is still
served this long while it is refreshed (X14)."""

DEFAULT_STALE_HORIZON_S = 900.0
"""The horizon of X9's tail: 2 % of users were still stale after 15 minutes."""


def _share(value: object, name: str) -> float:
    """Check that a share is a real number in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}: must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: must be in [0, 1], got {value!r}")
    return float(value)


def effective_cache_s(kind: ClientResolver, ttl_s: float) -> float:
    """Return how long a client of ``kind`` keeps an answer whose record has TTL ``ttl_s``.

    This is the longest the client may go on using an answer after it
    looked the name up (its own cache only; see the module docstring for a
    cache behind a TTL-honouring resolver).

    Mirrors:
        * ``respects-ttl``: the record's TTL (RFC 1035 §3.2.1).
        * ``jvm``: ``openjdk/jdk .../sun/net/InetAddressCachePolicy.java``
          ``DEFAULT_POSITIVE`` (30 s); getaddrinfo returns no TTL (X10).
        * ``curl``: ``curl/curl docs/libcurl/opts/CURLOPT_DNS_CACHE_TIMEOUT.md``
          (60 s; "libcurl does not use" the TTL) (X12).
        * ``chromium-system`` / ``chromium-builtin``: Chromium
          ``net/dns/host_resolver_manager_job.cc`` ``kCacheEntryTTLSeconds``,
          ``kMinimumTTLSeconds`` (X13).
        * ``firefox``: ``modules/libpref/init/all.js`` ``network.dnsCacheExpiration``
          + ``network.dnsCacheExpirationGracePeriod`` (X14).
        * ``go``, ``python``: no answer cache (``golang/go src/net/dnsclient_unix.go``;
          CPython calls getaddrinfo per connection), so whatever the system
          resolver honours: the TTL (X11).

    Args:
        kind: One of :data:`CLIENT_RESOLVERS`.
        ttl_s: The record's TTL in seconds.

    Returns:
        The cache time in seconds.

    Raises:
        ValueError: on an unknown kind or a negative or non-finite TTL.

    """
    ttl_s = seconds(ttl_s, "ttl_s")
    if kind in ("respects-ttl", "go", "python"):
        return ttl_s
    if kind == "jvm":
        return JVM_CACHE_S
    if kind == "curl":
        return CURL_CACHE_S
    if kind == "chromium-system":
        return CHROMIUM_CACHE_S
    if kind == "chromium-builtin":
        return max(ttl_s, CHROMIUM_CACHE_S)
    if kind == "firefox":
        return FIREFOX_EXPIRATION_S + FIREFOX_GRACE_S
    raise ValueError(f"kind: must be one of {list(CLIENT_RESOLVERS)}, got {kind!r}")


def _class_cache_s(client: ClientClass, ttl_s: float, name: str) -> float:
    """Return the cache time of a mix entry: a kind's, or a number taken as seconds."""
    if isinstance(client, str):
        if client not in CLIENT_RESOLVERS:
            raise ValueError(f"{name}: must be one of {list(CLIENT_RESOLVERS)}, got {client!r}")
        return effective_cache_s(client, ttl_s)  # type: ignore[arg-type]
    return seconds(client, name)


def cache_expiry_after_switch(u: float, cache_s: float) -> float:
    """Return the remaining life at the switch of a client's cached answer.

    A client that last looked the name up at a uniformly random moment in
    the ``cache_s`` seconds before the switch holds an answer with
    ``R = u * cache_s`` seconds left, ``u ~ Uniform[0, 1)``. The simulation
    draws ``u``; the closed form integrates over it.

    Args:
        u: A uniform draw in ``[0, 1)``.
        cache_s: The client's effective cache time (:func:`effective_cache_s`).

    Returns:
        Seconds after the switch until the client looks the name up again.

    Raises:
        ValueError: if ``u`` is not in ``[0, 1)`` or ``cache_s`` is negative.

    """
    if isinstance(u, bool) or not isinstance(u, (int, float)) or not 0.0 <= u < 1.0:
        raise ValueError(f"u: must be a number in [0, 1), got {u!r}")
    return float(u) * seconds(cache_s, "cache_s")


def failed_window_s(remaining_s: float, keep_old_s: float) -> float:
    """Return how long a client sends to the old address after the old version is gone.

    The client uses the old address until its answer expires, ``remaining_s``
    after the switch; the old version answers until ``keep_old_s`` after it.
    Requests in between fail: ``max(0, remaining_s - keep_old_s)``.

    Raises:
        ValueError: on a negative or non-finite time.

    """
    remaining_s = seconds(remaining_s, "remaining_s")
    keep_old_s = seconds(keep_old_s, "keep_old_s")
    return max(0.0, remaining_s - keep_old_s)


def expected_failed_per_class(rate_rps: float, cache_s: float, keep_old_s: float) -> float:
    """Return the expected failed requests of one client class after a DNS switch.

    ``rate_rps * (C - D)**2 / (2 C)`` for ``D < C``, else 0, with
    ``C = cache_s`` and ``D = keep_old_s``; derived in the module docstring.
    A class without a cache (``C = 0``) switches at once and loses nothing.

    Args:
        rate_rps: The class's total request rate.
        cache_s: The class's effective cache time ``C``.
        keep_old_s: How long the old version stays up after the switch ``D``.

    Returns:
        The expected number of requests sent to the old address after it is gone.

    Raises:
        ValueError: on a negative or non-finite argument.

    """
    rate_rps = seconds(rate_rps, "rate_rps")
    cache_s = seconds(cache_s, "cache_s")
    keep_old_s = seconds(keep_old_s, "keep_old_s")
    if keep_old_s >= cache_s:
        return 0.0
    return rate_rps * (cache_s - keep_old_s) ** 2 / (2.0 * cache_s)


def expected_failed_after_dns_switch(
    rate_rps: float,
    mix: Mapping[ClientClass, float],
    ttl_s: float,
    keep_old_s: float,
    stale_share: float = 0.0,
    horizon_s: float = DEFAULT_STALE_HORIZON_S,
) -> float:
    """Return the expected requests that reach the old address after it is gone.

    ``rate_rps * [(1 - s) Σ_k w_k (C_k - D)_+² / (2 C_k) + s (H - D)_+]``,
    derived in the module docstring, with ``w_k`` the mix's shares, ``C_k``
    each class's effective cache time at TTL ``ttl_s``, ``D = keep_old_s``,
    ``s = stale_share`` and ``H = horizon_s``.

    Mirrors: semantics.md X9 (stale tail), X10--X14 (cache times), X15.

    Args:
        rate_rps: Total request rate of all clients.
        mix: Client class → share of the requests (shares sum to 1). A class
            is a :data:`ClientResolver` or a cache time in seconds (for
            example a JVM with ``networkaddress.cache.ttl`` set).
        ttl_s: The DNS record's TTL.
        keep_old_s: How long the old version stays up after the switch.
        stale_share: Share of requests from clients that never refresh
            within ``horizon_s`` (X9 measured 0.02 after 15 minutes).
        horizon_s: How long after the switch failures are counted.

    Returns:
        The expected number of failed requests.

    Raises:
        ValueError: on an empty mix, shares that do not sum to 1, an unknown
            kind, or a negative or non-finite number.

    """
    rate_rps = seconds(rate_rps, "rate_rps")
    ttl_s = seconds(ttl_s, "ttl_s")
    keep_old_s = seconds(keep_old_s, "keep_old_s")
    stale_share = _share(stale_share, "stale_share")
    horizon_s = seconds(horizon_s, "horizon_s")
    if not mix:
        raise ValueError("mix: must name at least one client class")
    total_share = 0.0
    per_unit = 0.0
    for client, share in mix.items():
        share = _share(share, f"mix[{client!r}]")
        cache_s = _class_cache_s(client, ttl_s, f"mix key {client!r}")
        total_share += share
        per_unit += expected_failed_per_class(share, cache_s, keep_old_s)
    if not math.isclose(total_share, 1.0, abs_tol=1e-9):
        raise ValueError(f"mix: shares must sum to 1, got {total_share!r}")
    stale = stale_share * max(0.0, horizon_s - keep_old_s)
    return rate_rps * ((1.0 - stale_share) * per_unit + stale)


def minimum_old_lifetime_dns(
    ttl_s: float,
    client_kinds: Iterable[ClientClass],
    connection_life_s: float = 0.0,
    behind_ttl_cache: bool = False,
) -> float:
    """Return how long the old version must stay up after a DNS switch.

    The longest any client may keep the old answer, plus the life of
    connections it opened before the answer expired (curl reuses idle ones
    for up to 118 s, streams last until closed). By default that is the
    largest of the TTL and the clients' cache times (X15). With
    ``behind_ttl_cache=True`` each client asks a resolver that caches for
    the TTL, so a fixed-time client cache may start from an answer that is
    already almost ``ttl_s`` old: ``ttl_s`` plus the longest fixed client
    cache (Chromium's built-in client adds its 60 s floor; a TTL-honouring
    client adds nothing). Neither bound covers
    X9's tail of clients that stay stale for minutes; that tail is a share
    of requests (``stale_share`` in :func:`expected_failed_after_dns_switch`),
    not a time.

    Mirrors: semantics.md X15 (first half).

    Args:
        ttl_s: The DNS record's TTL.
        client_kinds: The client classes present (kinds or cache times in s).
        connection_life_s: Longest life of a connection opened to the old address.
        behind_ttl_cache: Whether clients' own caches sit behind a TTL cache.

    Returns:
        Seconds after the switch before the old version may stop.

    Raises:
        ValueError: on an unknown kind or a negative or non-finite number.

    """
    ttl_s = seconds(ttl_s, "ttl_s")
    connection_life_s = seconds(connection_life_s, "connection_life_s")
    kinds = list(client_kinds)
    own = [_class_cache_s(k, ttl_s, "client_kinds[]") for k in kinds]
    if not behind_ttl_cache:
        return max([ttl_s, *own]) + connection_life_s
    # Behind a TTL cache, a client may look up just before the upstream entry
    # expires (remaining life ~0) and then keep it for its own fixed time. A
    # TTL-honouring client keeps only the remaining life, so adds nothing;
    # Chromium's built-in client adds its 60 s floor.
    extra = []
    for kind, cache_s in zip(kinds, own):
        if kind in ("respects-ttl", "go", "python"):
            extra.append(0.0)
        elif kind == "chromium-builtin":
            extra.append(CHROMIUM_CACHE_S)
        else:
            extra.append(cache_s)
    return ttl_s + max(extra, default=0.0) + connection_life_s
