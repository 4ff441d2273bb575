"""The Service / load balancer: the proxies' (lagged) view of endpoints, and how it picks one.

Only Ready pods are endpoints, and every change (a pod becoming Ready, a pod being deleted,
a selector switch, a new traffic weight) reaches the proxies an endpoint-propagation delay
later: kube-proxy, an ingress or a mesh sidecar reprogram asynchronously (Kubernetes
pod-lifecycle.md "Termination of Pods"; Argo Rollouts docs/features/bluegreen.md on the
selector switch). Routing uses the view, never the truth, which is why requests still reach
pods that are shutting down.

Two ways to spread traffic over versions:

* **selector** (plain Service, Recreate, RollingUpdate, blue-green, basic canary): every
  endpoint of the selected versions is one pool; a version's share follows its pod count.
* **weights** (service mesh or ingress, as Istio/Linkerd/SMI do for Argo and Flagger): a
  version is chosen with its weight first, then an endpoint of that version. With
  ``split_by_user`` the choice hashes the user (header/cookie canary): a user in the canary
  stays there as the weight grows. A weighted route may also *mirror* a percentage of the
  requests it sends elsewhere to the canary (Istio ``mirror`` + ``mirrorPercentage``, absent →
  100 %, as Flagger's ``mirror: true`` sets it): :meth:`Service.mirror` picks the canary
  endpoint that gets the copy, whose response nobody waits for (semantics.md T11, F16).

A *header route* (Flagger's A/B ``match``, Argo's ``setHeaderRoute``; Istio ``HTTPRoute.match``)
sends every request whose headers match to one version, 100 %, ahead of the weights; the rest
follow the weights. Requests carry their user's segment's headers (``traffic.segments``), so
whether a route matches is worked out once per segment when the route changes, and a table
from user to routed version makes the per-request cost one list lookup (none without a header
route). The route travels with the weights: one route object, the same ordering.

A *mirror route* (Argo's ``setMirrorRoute``; Istio ``HTTPRoute.match`` + ``mirror`` +
``mirrorPercentage``) restricts mirroring to the requests it matches: a matching request
follows the weights as usual and a copy of ``percentage`` of them goes to the canary
(semantics.md T9, T11). Like a header route it is worked out per segment when it changes
(:func:`mirror_route_matches`) into a table from user to percent, applied with the other
route changes; without a mirror route there is no table and no draw.

Policies within a pool: round-robin, random, and least-request as Envoy implements it by
default (two random choices, the one with fewer outstanding requests wins; envoyproxy/envoy
docs, load balancing "Weighted least request"). No endpoint → the caller fails the request at
once. With ``stickiness='user'`` a user keeps the version they were first routed to, while it
has endpoints.

The order of the endpoints is part of the model's answer: round-robin and random picks index
into it. A view lists a version's endpoints in the order they arrived, and a plain Service's pool
is the selected versions' views one after the other. An endpoint change edits the view and the
pool in place, at a position found by bisection on arrival numbers, instead of rebuilding the
pool from every endpoint and searching the view (which made start-up and rollouts quadratic in
replicas, issue 6); what is left per change is one list insert or delete, a memmove in C. A
selector or weight change, a handful per rollout, rebuilds the pool.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import Timeout

from simdeploy.distributions import Sampler, uniform_stream

if TYPE_CHECKING:
    import numpy as np

    from simdeploy.cluster import Pod
    from simdeploy.records import Recorder
    from simdeploy.target_group import TargetGroups

__all__ = ["Service", "header_route_matches"]


def _value_matches(condition: Mapping[str, str], value: str | None) -> bool:
    """One header's ``{exact|prefix|suffix|regex: ...}`` against the request's value (None:
    the request has no such header, which matches nothing)."""
    if value is None:
        return False
    for kind, expected in condition.items():
        if kind == "exact":
            ok = value == expected
        elif kind == "prefix":
            ok = value.startswith(expected)
        elif kind == "suffix":
            ok = value.endswith(expected)
        elif kind == "regex":
            ok = re.fullmatch(expected, value) is not None
        else:
            raise ValueError(f"unknown header match {kind!r}: exact, prefix, suffix or regex")
        if not ok:
            return False
    return True


def header_route_matches(match: Sequence[Mapping[str, object]],
                         headers: Mapping[str, str]) -> bool:
    """Whether a request with ``headers`` matches a route's ``match`` (Flagger/Istio spelling).

    ``match`` is a list of alternatives, any of which may match (OR); each alternative's
    ``headers`` all have to match (AND): ``[{headers: {x-user: {exact: beta}}}, {headers:
    {cookie: {regex: "^(.*?;)?(canary=always)(;.*)?$"}}}]``. Header names are case-insensitive,
    values are not; a regex matches the whole value (Envoy's RE2 full match); a ``cookie``
    header is matched like any other. An alternative without headers matches every request.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    for alternative in match:
        conditions = alternative.get("headers") or {}
        assert isinstance(conditions, Mapping)
        if all(_value_matches(condition, lowered.get(name.lower()))
               for name, condition in conditions.items()):
            return True
    return False


REQUEST_METHOD = "GET"
"""The HTTP method of every simulated request: what a mirror route's ``method`` matches."""
REQUEST_PATH = "/"
"""The URL path of every simulated request: what a mirror route's ``path`` matches."""


def mirror_route_matches(match: Sequence[Mapping[str, object]],
                         headers: Mapping[str, str]) -> bool:
    """Whether a request with ``headers`` matches a mirror route's ``match`` (Argo's
    ``RouteMatch`` list, argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/types.go).

    The blocks are alternatives (OR); inside a block ``method``, ``path`` and every header of
    ``headers`` must match (AND), as Istio's ``HTTPMatchRequest`` does (Argo copies ``method``,
    ``path`` as ``uri`` and ``headers`` into one, rollout/trafficrouting/istio/istio.go
    createMirrorRoute). A simulated request has no method or path of its own: by convention
    every request is a ``GET`` on ``/`` (:data:`REQUEST_METHOD`, :data:`REQUEST_PATH`), so
    ``method: {exact: GET}`` or ``path: {prefix: /}`` match every request and ``path: {prefix:
    /api}`` none. Headers match as in :func:`header_route_matches`. A block with no condition
    matches every request.
    """
    for block in match:
        method, path = block.get("method"), block.get("path")
        if isinstance(method, Mapping) and not _value_matches(method, REQUEST_METHOD):
            continue
        if isinstance(path, Mapping) and not _value_matches(path, REQUEST_PATH):
            continue
        if header_route_matches([{"headers": block.get("headers") or {}}], headers):
            return True
    return False


def _apply(event: Timeout) -> None:
    """Timeout callback of :meth:`Service.propagate`: the value is (apply, args)."""
    apply, args = event._value
    apply(*args)


class Service:
    """Endpoint view per version, traffic split, policy and stickiness."""

    def __init__(
        self,
        env: simpy.Environment,
        n_versions: int,
        policy: str,
        stickiness: str,
        propagation: Sampler,
        rng_routing: np.random.Generator,
        n_users: int,
        recorder: Recorder,
        user_segment: list[int] | None = None,
        segment_headers: Sequence[Mapping[str, str]] | None = None,
    ) -> None:
        self.env = env
        self.view: list[list[Pod]] = [[] for _ in range(n_versions)]
        self._view_seq: list[list[int]] = [[] for _ in range(n_versions)]
        """Beside each view, the arrival number of each endpoint: increasing, so that an
        endpoint's index is found by bisection instead of a search."""
        self._seq: dict[Pod, int] = {}
        self._next_seq = 0
        self.selector: tuple[int, ...] = tuple(range(n_versions))
        self.weighted = False
        self.stable_version = 0
        self.canary_version = 1
        self.canary_weight = 0.0
        self.split_by_user = False
        self.mirror_percent = 0.0
        """Percent of the requests routed to other versions copied to the canary (0: off)."""
        self.mirroring = False
        """Whether any request may be copied (``mirror_percent`` or a mirror route is on)."""
        self.primary = 0
        """Version charged with requests that found no endpoint (the one considered live)."""
        self.pool: list[Pod] = []
        self._routed: tuple[int, ...] = self.selector
        """Versions that get a share of the traffic (set on every change)."""
        self._policy = policy
        self._rr = 0
        self._uniform = uniform_stream(rng_routing)
        self._user_bucket = rng_routing.random(n_users).tolist()
        self._sticky = stickiness == "user"
        self._user_version = [-1] * n_users if self._sticky else None
        self._propagation = propagation
        self._recorder = recorder
        self._down_since: float | None = None
        self._new = n_versions - 1
        self.new_unrouted_since = 0.0
        """Since when the proxies send the new version nothing (it has no endpoint in their
        view, or no share); NaN while they do. How fast an abort is felt (``restored_s``)."""
        self._changes_made = 0
        self._changes_applied = 0
        self.downtime_s = 0.0
        self.on_outage: Callable[[Service, bool, float], None] | None = None
        """Told (service, down?, time) when the routed versions lose their last endpoint or
        get one back (a gateway in front of several tracks sums the outages)."""
        self._user_segment = user_segment
        """Each user's segment (index into ``segment_headers``); None: no segments."""
        self._segment_headers = list(segment_headers) if segment_headers else [{}]
        self._header_wanted: tuple[tuple[bool, ...], int] | None = None
        """The header route as last made (per segment: matches?, and the version)."""
        self._header_applied: tuple[tuple[bool, ...], int] | None = None
        self._header_route: list[int] | None = None
        """Per user, the version a header route sends them to, or -1; None: no header route."""
        self.header_version = -1
        """The version the applied header route sends matching requests to (-1: none)."""
        self._mirror_wanted: tuple[float, ...] | None = None
        """The mirror routes as last made: per segment, the percent copied (-1: no route)."""
        self._mirror_applied: tuple[float, ...] | None = None
        self._mirror_users: list[float] | None = None
        """Per user, the percent of their requests a mirror route copies, or -1 (the weight
        route's ``mirror_percent`` applies); None: no mirror route."""
        self._dns_at: list[float] | None = None
        """After a DNS switch: when each user's client first uses the new record."""
        self._dns_before: list[int] = []
        self._dns_target = -1
        self.target_groups: TargetGroups | None = None
        """An external load balancer's target groups (``BlueGreen.externalLoadBalancer``);
        they route requests once :meth:`route_by_targets` has been called."""
        self._targets: TargetGroups | None = None

    # -- changes (all applied after a propagation delay by the callers) ---------------------

    def propagate(self, apply: Callable[..., None], *args: Any) -> simpy.Event:
        """Run ``apply(*args)`` once the proxies have caught up with a change made now."""
        event = Timeout(self.env, self._propagation.next(), (apply, args))
        event.callbacks.append(_apply)
        return event

    def _change(self, apply: Callable[[], None], at_once: bool) -> simpy.Event | None:
        """Apply a selector or weight change now or after propagation, never out of order.

        Each change has a sequence number; one that reaches the proxies after a later change
        is dropped (the control plane's latest object wins, as with endpoint updates).
        """
        self._changes_made += 1
        number = self._changes_made
        header = self._header_wanted  # the route object as it is now carries the header route
        mirror = self._mirror_wanted  # ... and the mirror routes

        def apply_in_order() -> None:
            if number > self._changes_applied:
                self._changes_applied = number
                if header is not self._header_applied:
                    self._apply_header(header)
                if mirror is not self._mirror_applied:
                    self._apply_mirror(mirror)
                apply()

        if at_once:
            apply_in_order()
            return None
        return self.propagate(apply_in_order)

    def add_endpoints(self, pods: list[Pod]) -> None:
        """The proxies now route to all of ``pods`` (one change: the pool is rebuilt once)."""
        if not pods:
            return
        for pod in pods:
            self._append(pod)
        self._refresh()

    def _append(self, pod: Pod) -> None:
        seq = self._next_seq
        self._next_seq = seq + 1
        self._seq[pod] = seq
        self.view[pod.version].append(pod)
        self._view_seq[pod.version].append(seq)

    def add_endpoint(self, pod: Pod) -> None:
        """The proxies now route to ``pod``."""
        version = pod.version
        self._append(pod)
        if not self.weighted:
            # The pool as _refresh would build it: the pod goes last in its version's segment.
            end = 0
            for v in self.selector:
                end += len(self.view[v])
                if v == version:
                    self.pool.insert(end - 1, pod)
        self._check_routable()

    def remove_endpoint(self, pod: Pod) -> None:
        """The proxies no longer route to ``pod``."""
        version = pod.version
        seqs = self._view_seq[version]
        index = bisect_left(seqs, self._seq.pop(pod))
        del seqs[index]
        del self.view[version][index]
        if not self.weighted:
            start = 0
            for v in self.selector:
                if v == version:
                    del self.pool[start + index]
                start += len(self.view[v])
        self._check_routable()

    def select(self, versions: tuple[int, ...], *, at_once: bool = False) -> simpy.Event | None:
        """Point a plain Service at the pods of ``versions`` (pooled).

        Returns the event of the proxies applying it, or None with ``at_once`` (a selector
        that was already in place before the run, when it made no difference yet).
        """
        def apply() -> None:
            self.weighted = False
            self.selector = versions
            self._refresh()

        return self._change(apply, at_once)

    def set_weights(self, stable: int, canary: int, canary_weight: float, *,
                    split_by_user: bool = False, mirror_percent: float = 0.0,
                    at_once: bool = False) -> simpy.Event | None:
        """Split traffic by weight (percent to ``canary``), mirroring ``mirror_percent`` of the
        rest to ``canary`` (one route object: weights and mirror change together).

        Returns the event of the proxies applying it, or None with ``at_once``.
        """
        def apply() -> None:
            self.weighted = True
            self.stable_version, self.canary_version = stable, canary
            self.canary_weight = canary_weight
            self.split_by_user = split_by_user
            self.mirror_percent = mirror_percent
            self.mirroring = bool(mirror_percent) or self._mirror_users is not None
            self._refresh()

        return self._change(apply, at_once)

    def set_header_route(self, match: Sequence[Mapping[str, object]], version: int, *,
                         at_once: bool = False) -> simpy.Event | None:
        """Send requests whose headers match ``match`` to ``version`` (100 %), the rest by the
        weights or the selector; applied after propagation, in order with weight changes.

        Returns the event of the proxies applying it, or None with ``at_once``.
        """
        matches = tuple(header_route_matches(match, headers)
                        for headers in self._segment_headers)
        self._header_wanted = (matches, version) if any(matches) else None
        return self._change(self._refresh, at_once)

    def clear_header_route(self, *, at_once: bool = False) -> simpy.Event | None:
        """Remove the header route (after propagation, in order with weight changes)."""
        self._header_wanted = None
        return self._change(self._refresh, at_once)

    def _apply_header(self, header: tuple[tuple[bool, ...], int] | None) -> None:
        """The proxies now have ``header``: rebuild the user → version table (or drop it)."""
        self._header_applied = header
        if header is None:
            self._header_route = None
            self.header_version = -1
            return
        matches, version = header
        by_segment = [version if m else -1 for m in matches]
        if self._user_segment is None:
            self._header_route = by_segment[:1] * len(self._user_bucket)
        else:
            self._header_route = [by_segment[s] for s in self._user_segment]
        self.header_version = version

    def set_mirror_routes(self, routes: Sequence[tuple[Sequence[Mapping[str, object]], float]],
                          *, at_once: bool = False) -> simpy.Event | None:
        """Copy ``percent`` of the requests that match each route's ``match`` (Argo's
        ``RouteMatch`` list, :func:`mirror_route_matches`) to the canary; applied after
        propagation, in order with weight and header-route changes.

        ``routes`` are in the router's order, the first one a request matches decides its
        percent (Istio takes the first matching HTTP route; Argo orders managed routes as
        ``managedRoutes`` lists them, istio.go orderRoutes). An empty ``routes`` removes them.
        Returns the event of the proxies applying it, or None with ``at_once``.
        """
        by_segment: list[float] = []
        for headers in self._segment_headers:
            percent = -1.0
            for match, route_percent in routes:
                if mirror_route_matches(match, headers):
                    percent = float(route_percent)
                    break
            by_segment.append(percent)
        self._mirror_wanted = (tuple(by_segment) if any(p >= 0 for p in by_segment)
                               else None)
        return self._change(self._refresh, at_once)

    def _apply_mirror(self, mirror: tuple[float, ...] | None) -> None:
        """The proxies now have ``mirror``: rebuild the user → percent table (or drop it)."""
        self._mirror_applied = mirror
        if mirror is None:
            self._mirror_users = None
        elif self._user_segment is None:
            self._mirror_users = [mirror[0]] * len(self._user_bucket)
        else:
            self._mirror_users = [mirror[s] for s in self._user_segment]
        self.mirroring = bool(self.mirror_percent) or self._mirror_users is not None

    def keep_user_versions(self) -> None:
        """Turn on per-user stickiness (a user keeps the version first chosen for them)."""
        if self._user_version is None:
            self._user_version = [-1] * len(self._user_bucket)
        self._sticky = True

    def _shares(self) -> tuple[int, ...]:
        if not self.weighted:
            shares = self.selector
        elif self.canary_weight >= 100:
            shares = (self.canary_version,)
        elif self.canary_weight <= 0:
            shares = (self.stable_version,)
        else:
            shares = (self.stable_version, self.canary_version)
        header = self.header_version
        if header >= 0 and header not in shares:
            shares = (*shares, header)
        return shares

    def _refresh(self) -> None:
        """The routed versions changed (or the first endpoints came): rebuild the pool."""
        self._routed = self._shares()
        if not self.weighted:
            self.pool = [pod for v in self.selector for pod in self.view[v]]
        self._check_routable()

    def _check_routable(self) -> None:
        """Start or end an outage when the routed versions gain their first or lose their last
        endpoint."""
        if self._targets is not None:  # the load balancer's targets decide, not the view
            self.targets_changed()
            return
        new = self._new
        self._set_routable(any(self.view[v] for v in self._routed),
                           new in self._routed and bool(self.view[new]))

    def _set_routable(self, routable: bool, new_routed: bool) -> None:
        """Start or end an outage, and note since when the new version gets no traffic."""
        now = self.env.now
        if new_routed:
            self.new_unrouted_since = math.nan
        elif self.new_unrouted_since != self.new_unrouted_since:  # NaN: it was routed
            self.new_unrouted_since = now
        if routable and self._down_since is not None:
            self.downtime_s += now - self._down_since
            self._recorder.event("endpoints_restored", "", 0, "")
            self._down_since = None
            if self.on_outage is not None:
                self.on_outage(self, False, now)
        elif not routable and self._down_since is None:
            self._down_since = now
            self._recorder.event("no_endpoints", "", 0, "")
            if self.on_outage is not None:
                self.on_outage(self, True, now)

    def close(self, now: float) -> None:
        """Count an outage still running at the end of the run."""
        if self._down_since is not None:
            self.downtime_s += now - self._down_since
            self._down_since = now

    def routable_versions(self) -> tuple[int, ...]:
        """Versions that currently receive a share of the traffic."""
        return self._routed

    def routed_endpoints(self, version: int) -> int:
        """Endpoints of ``version`` in the proxies' view, if the version gets traffic."""
        return len(self.view[version]) if version in self._routed else 0

    # -- the per-request path ---------------------------------------------------------------

    def switch_by_dns(self, version: int, switch_at: list[float]) -> None:
        """Point the service's DNS name at ``version`` now; user ``u`` follows at
        ``switch_at[u]`` (:class:`simdeploy.dns_switch.DnsClients`) and until then keeps the
        version its cached answer names. Clients connect to that version's addresses
        directly: its pods while it has endpoints, nothing (a failed connection) after."""
        now = self.env.now
        if self._dns_at is None:
            before = [self.primary] * len(switch_at)
        else:  # a switch back: each user starts from what its answer names now
            at, old, target = self._dns_at, self._dns_before, self._dns_target
            before = [target if now >= at[u] else old[u] for u in range(len(switch_at))]
        self._dns_before = before
        self._dns_target = version
        self._dns_at = switch_at
        self._routed = tuple(sorted({*self._routed, version}))
        self._check_routable()

    def route_by_targets(self, targets: TargetGroups) -> None:
        """From now on an external load balancer picks the endpoint: one of the routable
        targets of its active target group (:class:`simdeploy.target_group.TargetGroups`),
        whatever the Service's selector and view say."""
        self._targets = targets
        self.targets_changed()

    def targets_changed(self) -> None:
        """The load balancer's routable targets changed: start or end an outage."""
        assert self._targets is not None
        routable = self._targets.routable
        self._routed = tuple(sorted({pod.version for pod in routable}))
        self._set_routable(bool(routable), self._new in self._routed)

    def route(self, user: int) -> Pod | None:
        """Pick the endpoint for one request of ``user``, or None when there is none."""
        dns = self._dns_at
        if dns is not None:  # the version the user's cached DNS answer names
            version = (self._dns_target if self.env._now >= dns[user]
                       else self._dns_before[user])
            endpoints = self.view[version]
            return self._pick(endpoints) if endpoints else None
        targets = self._targets
        if targets is not None:  # an external load balancer's routable targets
            endpoints = targets.routable
            return self._pick(endpoints) if endpoints else None
        header = self._header_route
        if header is not None and header[user] >= 0:  # a header route wins over the rest
            endpoints = self.view[header[user]]
            return self._pick(endpoints) if endpoints else None
        if self._sticky:
            kept = self._user_version[user]
            if kept >= 0 and self.view[kept] and kept in self._routed:
                return self._pick(self.view[kept])
        if self.weighted:
            w = self.canary_weight
            draw = self._user_bucket[user] if self.split_by_user else self._uniform.next()
            version = self.canary_version if draw * 100.0 < w else self.stable_version
            endpoints = self.view[version]
        else:
            endpoints = self.pool
        if not endpoints:
            return None
        pod = self._pick(endpoints)
        if self._sticky:
            self._user_version[user] = pod.version
        return pod

    def mirror(self, routed: Pod, user: int) -> Pod | None:
        """The canary endpoint that gets a copy of a request of ``user`` routed to ``routed``,
        or None.

        Only requests routed to another version are copied. A user a mirror route matches gets
        that route's percent, any other user the weight route's ``mirror_percent``. The draw
        (from the routing stream) is made only when the percent is strictly between 0 and 100,
        and only while mirroring is on, so runs without it draw exactly as before.
        """
        canary = self.canary_version
        if routed.version == canary:
            return None
        percent = self.mirror_percent
        table = self._mirror_users
        if table is not None and table[user] >= 0:
            percent = table[user]
        if percent <= 0.0:
            return None
        if percent < 100.0 and self._uniform.next() * 100.0 >= percent:
            return None
        endpoints = self.view[canary]
        return self._pick(endpoints) if endpoints else None

    def _pick(self, endpoints: list[Pod]) -> Pod:
        n = len(endpoints)
        policy = self._policy
        if policy == "round-robin":
            self._rr += 1
            return endpoints[self._rr % n]
        if policy == "random":
            return endpoints[int(self._uniform.next() * n)]
        a = endpoints[int(self._uniform.next() * n)]
        b = endpoints[int(self._uniform.next() * n)]
        return a if a.busy + len(a.queue) <= b.busy + len(b.queue) else b
