"""The schema of a gateway in front of several tracks: ordered rules, matches, weighted backends.

One service can run as several *tracks* (Deployments of the same app, each with its own
ClusterIP Service: Bitmovin's internal / free / paid / production, semantics.md T1), and a
routing tier in front of them (HAProxy there; a Gateway API ``HTTPRoute``, an Istio
``VirtualService`` or a Linkerd route today) decides which track a request goes to:

* ``routes`` is an ordered list of rules. A rule's ``match`` is a list of alternatives (OR);
  each alternative's headers must all match (AND), names case-insensitive
  (gateway-api ``apis/v1/httproute_types.go HTTPRouteRule.Matches``, ``HTTPHeaderMatch``;
  semantics.md T6). A rule without ``match`` matches every request: the default rule.
* ``precedence``: ``first-match`` takes the first rule in list order that matches, as Istio's
  ``VirtualService.http`` and HAProxy's ``use_backend`` lines do; ``gateway-api`` takes the
  match with the most header conditions, ties going to the rule listed first (the Gateway API's
  precedence for routes that differ only in headers, T6). A request no rule matches gets a 404:
  simdeploy fails it like a request that found no endpoint.
* ``backends``: ``[{track, weight}]``. A backend's share is its weight over the rule's total;
  the weight defaults to 1 and 0 sends nothing (``apis/v1/shared_types.go BackendRef.Weight``,
  at most 1,000,000).
* ``splitBy``: ``request`` draws the backend per request (HAProxy's weighted ``roundrobin``
  without stickiness, T3); ``user`` hashes the user, so a user stays on one track of a rule
  ("5 % of free users", as the Bitmovin post's text says).
* ``pods``: the routing tier's own pods (4 HAProxy pods in the post). They carry no simulated
  work, but they are capacity the topology costs all the time, reported with the standing
  extra pod-seconds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from simdeploy.analysis_spec import HeaderMatch
from simdeploy.distributions import INT32_MAX, SpecModel
from simdeploy.errors import FieldError

__all__ = ["GATEWAY_API_MAX_WEIGHT", "Backend", "GatewaySpec", "RouteRule"]

GATEWAY_API_MAX_WEIGHT = 1_000_000
"""``BackendRef.Weight``'s maximum in the Gateway API (T6)."""


class Backend(SpecModel):
    """One weighted backend of a rule: a track and its relative weight."""

    track: str = Field(min_length=1, max_length=63)
    weight: int = Field(default=1, ge=0, le=GATEWAY_API_MAX_WEIGHT,
                        description="relative weight; the share is weight / the rule's total")


class RouteRule(SpecModel):
    """One rule: which requests (``match``; none = all) go to which tracks (``backends``)."""

    name: str | None = Field(default=None, min_length=1, max_length=253)
    match: list[HeaderMatch] | None = Field(
        default=None, min_length=1, max_length=100,
        description="alternatives (OR) of {headers: {name: {exact|prefix|suffix|regex}}}; "
                    "none: every request")
    backends: list[Backend] = Field(min_length=1, max_length=16)

    @field_validator("backends")
    @classmethod
    def _weights(cls, backends: list[Backend]) -> list[Backend]:
        if sum(b.weight for b in backends) == 0:
            raise FieldError((), "every backend has weight 0: the rule would send its "
                                 "requests nowhere (give one a weight > 0)")
        seen: set[str] = set()
        for i, backend in enumerate(backends):
            if backend.track in seen:
                raise FieldError((i, "track"), f"track {backend.track!r} is listed twice in "
                                               f"one rule")
            seen.add(backend.track)
        return backends

    def matches(self) -> list[dict[str, object]] | None:
        """The match in :func:`simdeploy.routing.header_route_matches`' spelling."""
        return None if self.match is None else [m.as_flagger() for m in self.match]


class GatewaySpec(SpecModel):
    """The routing tier in front of the tracks."""

    routes: list[RouteRule] = Field(min_length=1, max_length=1000)
    precedence: Literal["first-match", "gateway-api"] = Field(
        default="first-match",
        description="'first-match': the first matching rule in list order (Istio, HAProxy); "
                    "'gateway-api': the match with the most header conditions")
    split_by: Literal["request", "user"] = Field(
        default="request",
        description="'request': each request draws its backend (HAProxy roundrobin); 'user': "
                    "a user hash picks it, so a user stays on one track")
    pods: int = Field(default=0, ge=0, le=INT32_MAX,
                      description="the routing tier's pods (counted as standing capacity)")

    @model_validator(mode="after")
    def _unique_names(self) -> GatewaySpec:
        names: set[str] = set()
        for i, rule in enumerate(self.routes):
            if rule.name is None:
                continue
            if rule.name in names:
                raise FieldError(("routes", i, "name"), f"route names must be unique "
                                                        f"({rule.name!r} is listed twice)")
            names.add(rule.name)
        return self
