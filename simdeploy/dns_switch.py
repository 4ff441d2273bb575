"""Who follows a DNS switch when: each user's client cache, on the simulation's clock.

A blue-green switched by DNS (``BlueGreen.dns``) changes the record the service's name
resolves to. Every user keeps the answer it has until its own cache lets go
(:mod:`simdeploy.rules.dns`): a user's client kind is drawn once per run from the ``clients``
mix, and at each switch the answer it holds has a remaining life uniform over its cache time
(:func:`~simdeploy.rules.dns.cache_expiry_after_switch`: it looked the name up at a uniformly
random moment before), or ``staleFor`` for the stale share (X9). The Service routes a user's
requests to the version their answer names (:meth:`simdeploy.routing.Service.switch_by_dns`),
so the expected requests that find the old version gone are
:func:`~simdeploy.rules.dns.expected_failed_after_dns_switch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simdeploy.rules.dns import effective_cache_s

if TYPE_CHECKING:
    from simdeploy.scenario import DnsSwitch

__all__ = ["DnsClients"]


class DnsClients:
    """Every user's DNS cache: its cache time, and whether it is one of the stale."""

    def __init__(self, spec: DnsSwitch, n_users: int, rng: np.random.Generator) -> None:
        self.spec = spec
        self._rng = rng
        kinds = list(spec.clients)
        shares = np.array([spec.clients[k] for k in kinds], dtype=float)
        cumulative = np.cumsum(shares / shares.sum())
        cumulative[-1] = 1.0
        kind = np.minimum(np.searchsorted(cumulative, rng.random(n_users), side="right"),
                          len(kinds) - 1)
        caches = np.array([effective_cache_s(k, spec.ttl) for k in kinds])  # type: ignore[arg-type]
        self.cache_s = caches[kind]
        """Each user's effective cache time at the record's TTL."""
        self.stale = rng.random(n_users) < spec.stale_share
        """Users whose answer outlives the switch by ``staleFor`` (X9's tail)."""

    def switch_times(self, now: float) -> list[float]:
        """When each user first uses the record as changed ``now``."""
        remaining = self._rng.random(len(self.cache_s)) * self.cache_s
        remaining[self.stale] = self.spec.stale_for
        return (now + remaining).tolist()
