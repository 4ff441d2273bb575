"""The routing tier in front of several tracks: which track's Service a request goes to.

A request's headers are its user's segment's (``traffic.segments``), so the rule a request
matches is worked out once per segment when the gateway is built (first match in list order,
or the Gateway API's most-specific match; :mod:`simdeploy.gateway_spec`), and a table from user
to rule makes the per-request cost one list lookup. The rule's weighted backends are then
drawn per request (HAProxy's weighted ``roundrobin``, no stickiness: semantics.md T2–T3) or
per user (a hash of the user: a user stays on one track of the rule), and the chosen track's
own :class:`~simdeploy.routing.Service` picks the endpoint, as HAProxy hands the request to a
track's ClusterIP Service. The routes are static for the run: a pipeline promotes by updating
tracks, not by moving weights.

The gateway answers the questions the workload and the run ask of a Service (``route``,
``mirror``, ``primary``, endpoints per version, downtime), summed over its tracks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from simdeploy.distributions import uniform_stream
from simdeploy.routing import header_route_matches

if TYPE_CHECKING:
    import numpy as np

    from simdeploy.cluster import Pod
    from simdeploy.gateway_spec import GatewaySpec
    from simdeploy.routing import Service

__all__ = ["Gateway", "rule_for_headers"]


def rule_for_headers(spec: GatewaySpec, headers: Mapping[str, str]) -> int:
    """The index of the rule a request with ``headers`` takes, or -1 (no rule: a 404).

    ``first-match``: the first rule in list order with a matching alternative (a rule without
    ``match`` matches everything). ``gateway-api``: among the matching alternatives, the one
    with the most header conditions; ties go to the rule listed first
    (gateway-api ``apis/v1/httproute_types.go``, the precedence list of ``HTTPRouteRule``;
    a match-less rule counts as zero conditions).
    """
    best, best_conditions = -1, -1
    for i, rule in enumerate(spec.routes):
        match = rule.matches()
        if match is None:
            conditions = 0
        else:
            matching = [alt for alt in match if header_route_matches([alt], headers)]
            if not matching:
                continue
            conditions = max(len(alt.get("headers") or {}) for alt in matching)  # type: ignore[arg-type]
        if spec.precedence == "first-match":
            return i
        if conditions > best_conditions:
            best, best_conditions = i, conditions
    return best


class Gateway:
    """Routes each request to a track's Service by the gateway's rules."""

    def __init__(self, spec: GatewaySpec, services: Mapping[str, Service], production: str,
                 split_by: str, rng_routing: np.random.Generator, n_users: int,
                 user_segment: Sequence[int] | None,
                 segment_headers: Sequence[Mapping[str, str]], *,
                 mirroring: bool = False) -> None:
        self.services = dict(services)
        self.mirroring = mirroring
        """Whether some track's strategy may mirror (then each request asks its track's
        Service, which mirrors only while its route says so); fixed for the run, so that the
        workload's per-request check stays one attribute read."""
        self._tracks = list(self.services.values())
        self._production = self.services[production]
        self._rules: list[list[tuple[float, Service]]] = []
        for rule in spec.routes:
            total = sum(b.weight for b in rule.backends)
            cumulative, acc = [], 0.0
            for backend in rule.backends:
                if backend.weight == 0:
                    continue
                acc += backend.weight / total
                cumulative.append((acc, self.services[backend.track]))
            self._rules.append(cumulative)
        by_segment = [rule_for_headers(spec, headers) for headers in segment_headers or [{}]]
        self.rule_of_segment = by_segment
        """The rule each segment's requests take (-1: none, they fail)."""
        if user_segment is None:
            self._user_rule = [by_segment[0]] * n_users
        else:
            self._user_rule = [by_segment[s] for s in user_segment]
        self._by_user = split_by == "user"
        self._uniform = uniform_stream(rng_routing)
        self._user_bucket = rng_routing.random(n_users).tolist() if self._by_user else []
        served = {id(service) for i in set(by_segment) if i >= 0 for _, service in
                  self._rules[i]}
        self._served = [s for s in self._tracks if id(s) in served]
        """The tracks some segment's requests reach: an outage of one of them is downtime."""
        self._down: set[int] = set()
        self._down_since: float | None = None
        self.downtime_s = 0.0
        for service in self._served:
            service.on_outage = self._on_outage

    # -- what the workload asks ---------------------------------------------------------------

    def route(self, user: int) -> Pod | None:
        """Pick the endpoint for one request of ``user``, or None (no rule, or no endpoint)."""
        rule = self._user_rule[user]
        if rule < 0:
            return None
        backends = self._rules[rule]
        if len(backends) == 1:
            return backends[0][1].route(user)
        draw = self._user_bucket[user] if self._by_user else self._uniform.next()
        for cumulative, service in backends:
            if draw < cumulative:
                return service.route(user)
        return backends[-1][1].route(user)

    def mirror(self, routed: Pod, user: int) -> Pod | None:
        """The copy of a request of ``user`` routed to ``routed``: its track's mirror decides."""
        return routed.replica_set.service.mirror(routed, user)

    @property
    def primary(self) -> int:
        """The version charged with requests that found no endpoint: production's live one."""
        return self._production.primary

    # -- what the run reports -----------------------------------------------------------------

    def routed_endpoints(self, version: int) -> int:
        """Endpoints of ``version`` that get traffic, over every track."""
        return sum(service.routed_endpoints(version) for service in self._tracks)

    def routable_versions(self) -> tuple[int, ...]:
        """Versions some track routes traffic to."""
        return tuple(sorted({v for s in self._tracks for v in s.routable_versions()}))

    @property
    def new_unrouted_since(self) -> float:
        """Since when no track sends the new version traffic (NaN while one does)."""
        since = [service.new_unrouted_since for service in self._tracks]
        return math.nan if any(math.isnan(s) for s in since) else max(since)

    def _on_outage(self, service: Service, down: bool, now: float) -> None:
        """A track that serves some segment lost its last endpoint (or got one back)."""
        if down:
            self._down.add(id(service))
            if self._down_since is None:
                self._down_since = now
        else:
            self._down.discard(id(service))
            if not self._down and self._down_since is not None:
                self.downtime_s += now - self._down_since
                self._down_since = None

    def close(self, now: float) -> None:
        """Count an outage still running at the end of the run."""
        for service in self._tracks:
            service.close(now)
        if self._down_since is not None:
            self.downtime_s += now - self._down_since
            self._down_since = now
