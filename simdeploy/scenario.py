"""The scenario schema: one service, one release, and the strategies to compare.

A scenario file is YAML validated once, here, into frozen pydantic models. Keys use the
Kubernetes and Argo Rollouts spelling (``replicas``, ``maxSurge``, ``minReadySeconds``,
``terminationGracePeriodSeconds``, ``steps``, ``setWeight``, ``pause``,
``scaleDownDelaySeconds``) so that values can be pasted from manifests; Python attributes are
the snake_case of the same names. Every default lives in this file, and where the platform has
a default (see ``shared/reference/users.md``) it is that default.

Bad input becomes a :class:`~simdeploy.errors.ScenarioError` whose one-line message names the
file, the field path in YAML spelling and the problem.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from simdeploy.analysis_spec import (
    ANALYSIS_FORM_KEY,
    ArgoAnalysis,
    FlaggerAnalysis,
    KayentaStage,
)
from simdeploy.distributions import (
    INT32_MAX,
    Constant,
    Distribution,
    Duration,
    Exponential,
    OptionalDistribution,
    SpecModel,
)
from simdeploy.errors import FieldError, ScenarioError, one_line, shown
from simdeploy.gateway import rule_for_headers
from simdeploy.gateway_spec import GatewaySpec
from simdeploy.quantities import Quantity
from simdeploy.routing import header_route_matches
from simdeploy.scenario_file import check_shape, first_problem, read_yaml

__all__ = [
    "BlueGreen",
    "Canary",
    "CanaryStep",
    "HealthGate",
    "Pipeline",
    "Recreate",
    "RollingUpdate",
    "Scenario",
    "StrategySpec",
    "TrackSpec",
    "UserSegment",
    "load_scenario",
]


_Spec = SpecModel


_PERCENT_RE = re.compile(r"^[0-9]+%$")


def _int_or_percent(value: Any) -> int | str:
    """Accept what Kubernetes' IntOrString accepts for maxSurge/maxUnavailable (an int32)."""
    ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 0) or (
        isinstance(value, str) and _PERCENT_RE.match(value) is not None
    )
    if not ok:
        raise ValueError(f"must be an int or a percentage like '25%', got {shown(value)}")
    number = value if isinstance(value, int) else (
        int(value[:-1]) if len(value) <= 11 else INT32_MAX + 1)
    if number > INT32_MAX:
        raise ValueError(f"must be at most {INT32_MAX} (an int32), got {shown(value)}")
    return value


IntOrPercent = Annotated[int | str, BeforeValidator(_int_or_percent)]
"""A non-negative int or a percentage string such as ``"25%"`` (Kubernetes IntOrString)."""


def _percent_or_int_value(value: int | str) -> int:
    """The number written, percent sign dropped (``getIntOrPercentValue`` in Kubernetes)."""
    return int(value[:-1]) if isinstance(value, str) else value


def _check_deployment_fenceposts(max_surge: int | str, max_unavailable: int | str) -> None:
    """What Kubernetes' API validation refuses in a Deployment's maxSurge/maxUnavailable.

    kubernetes pkg/apis/apps/validation/validation.go ValidateRollingUpdateDeployment: a
    percentage of maxUnavailable above 100 % (maxSurge has no cap, plain ints neither), and
    maxUnavailable 0 when maxSurge is 0 (written 0 or 0 %).
    """
    if isinstance(max_unavailable, str) and _percent_or_int_value(max_unavailable) > 100:
        raise FieldError(("maxUnavailable",), "must not be greater than 100%")
    if _percent_or_int_value(max_surge) == 0 and _percent_or_int_value(max_unavailable) == 0:
        raise FieldError(("maxUnavailable",), "may not be 0 when `maxSurge` is 0")


_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def _strategy_name(name: str) -> str:
    """A strategy name becomes a file name and a label: checked here, not after the runs."""
    if _NAME_PATTERN.fullmatch(name) is None:
        raise ValueError("a strategy name is 1 to 63 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


def _label(text: str) -> str:
    """A name shown in tables and figures: one line, not blank, at most 100 characters."""
    if not text.strip():
        raise ValueError("must not be empty")
    if one_line(text) != text:
        raise ValueError("must be one line without control characters")
    if len(text) > 100:
        raise ValueError(f"must be at most 100 characters, got {len(text)}")
    return text


Label = Annotated[str, AfterValidator(_label)]
"""A scenario or version name: one line, not blank, at most 100 characters."""
StrategyName = Annotated[str, AfterValidator(_strategy_name)]
"""A strategy name: also a file name in reports, so letters, digits, '.', '_' and '-'."""


# --------------------------------------------------------------------------------------------
# The workload


class AffectedShare(_Spec):
    """A regression that hits only some users or some requests (a code path, a tenant).

    ``{users: 0.05, errorRate: 0.3}``: 5 % of users (fixed per user and seed) get a 5xx on
    30 % of their requests to this version; ``{requests: 0.05, errorRate: 0.3}``: 5 % of
    requests (an endpoint few call) fail 30 % of the time. Outside the share the version's own
    ``errorRate`` applies.
    """

    users: float | None = Field(default=None, gt=0, le=1, description="share of users hit")
    requests: float | None = Field(default=None, gt=0, le=1,
                                   description="share of requests hit")
    error_rate: float = Field(ge=0, le=1, description="failure probability inside the share")

    @model_validator(mode="after")
    def _one_share(self) -> AffectedShare:
        if (self.users is None) == (self.requests is None):
            raise FieldError(("users",), "give exactly one of users or requests: the share "
                                         "the regression hits")
        return self


class VersionSpec(_Spec):
    """One version of the application: how it starts, how fast it serves, how often it fails."""

    name: Label = Field(description="version label, e.g. v1")
    service_time: Distribution = Field(
        default_factory=lambda: Exponential(type="exponential", mean=0.05),
        description="time one worker spends on a request, seconds",
    )
    error_rate: float = Field(
        default=0.0, ge=0, le=1, description="probability that a served request fails (5xx)"
    )
    container_start: Distribution = Field(
        default_factory=lambda: Constant(value=2.0),
        description="scheduled → container running (image pull + start), seconds",
    )
    warmup: Distribution = Field(
        default_factory=lambda: Constant(value=3.0),
        description="container running → app able to serve, seconds",
    )
    becomes_ready: bool = Field(
        default=True,
        description="false: the pods never pass readiness (crash loop, bad config)",
    )
    unhealthy_after: OptionalDistribution = Field(
        default=None,
        description="Ready → the app goes bad (leak, deadlock, exhausted pool) and answers "
        "every request with a 5xx until its container restarts; null = never",
    )
    affected: AffectedShare | None = Field(
        default=None, description="a regression that hits only a share of users or requests")


class ReadinessProbe(_Spec):
    """Kubernetes readiness probe timing; readiness is noticed only at probe ticks.

    Probes run every ``periodSeconds`` from ``initialDelaySeconds`` after the container
    starts. ``successThreshold`` passes in a row make the pod Ready; ``failureThreshold``
    failures in a row (an app gone bad, see ``unhealthyAfter``) take it out of the endpoints.
    """

    initial_delay_seconds: Duration = 0.0
    period_seconds: Duration = Field(default=10.0, ge=1, description="Kubernetes' minimum is 1")
    success_threshold: int = Field(default=1, ge=1, le=INT32_MAX)
    failure_threshold: int = Field(default=3, ge=1, le=INT32_MAX)


class LivenessProbe(_Spec):
    """Kubernetes liveness probe: ``failureThreshold`` failures in a row restart the container."""

    initial_delay_seconds: Duration = 0.0
    period_seconds: Duration = Field(default=10.0, ge=1, description="Kubernetes' minimum is 1")
    failure_threshold: int = Field(default=3, ge=1, le=INT32_MAX)


class Resources(_Spec):
    """CPU (cores, ``"500m"``) and memory (bytes, ``"1Gi"``)."""

    cpu: Quantity | None = None
    memory: Quantity | None = None


class ResourceRequirements(_Spec):
    """The container's resource requests: what the scheduler reserves for the pod."""

    requests: Resources = Field(default_factory=Resources)


class PodSpec(_Spec):
    """What every pod of the Deployment shares, whatever its version."""

    resources: ResourceRequirements = Field(default_factory=ResourceRequirements)
    workers: int = Field(default=8, ge=1, le=INT32_MAX,
                         description="requests served concurrently by one pod")
    queue_limit: int | None = Field(
        default=100, ge=0, le=INT32_MAX,
        description="requests waiting per pod beyond the workers; null = unbounded",
    )
    request_timeout: Duration | None = Field(
        default=None, description="a request taking longer than this fails as a timeout"
    )
    scheduling_delay: Distribution = Field(
        default_factory=lambda: Constant(value=0.5),
        description="creation → bound to a node, once the cluster has room, seconds",
    )
    readiness_probe: ReadinessProbe = Field(default_factory=ReadinessProbe)
    liveness_probe: LivenessProbe | None = Field(
        default=None, description="null: an app gone bad is never restarted"
    )
    termination_grace_period_seconds: Duration = Field(
        default=30.0, description="deletion → SIGKILL; preStop counts inside it"
    )
    pre_stop_seconds: Duration = Field(
        default=0.0, description="preStop hook sleep before SIGTERM, seconds"
    )


class DeploymentSpec(_Spec):
    """The Deployment (or Rollout) object shared by every strategy."""

    replicas: int = Field(default=1, ge=1, le=INT32_MAX)
    min_ready_seconds: Duration = 0.0
    progress_deadline_seconds: Duration = 600.0
    controller_sync_delay: Duration = Field(
        default=0.1, description="delay between a pod/ReplicaSet event and the controller's pass"
    )

    @model_validator(mode="after")
    def _deadline_after_min_ready(self) -> DeploymentSpec:
        """kubernetes pkg/apis/apps/validation/validation.go ValidateDeploymentSpec."""
        if self.progress_deadline_seconds <= self.min_ready_seconds:
            raise FieldError(("progressDeadlineSeconds",), "must be greater than minReadySeconds")
        return self


class ClusterSpec(_Spec):
    """Room for pods, as a pod count, or as allocatable CPU/memory; pods beyond it stay Pending.

    Allocatable resources are one pool (a namespace quota, or nodes without fragmentation):
    it holds as many pods as their requests fit, Terminating pods included.
    """

    capacity_pods: int | None = Field(
        default=None, ge=1, le=INT32_MAX,
        description="pods that fit at once (Terminating ones included)"
    )
    allocatable: Resources = Field(default_factory=Resources)
    pod_cost_per_hour: float = Field(default=0.0, ge=0, description="cost of one pod-hour")


class ServiceSpec(_Spec):
    """The Service / load balancer in front of the pods."""

    policy: Literal["round-robin", "random", "least-request"] = "round-robin"
    endpoint_propagation_delay: Distribution = Field(
        default_factory=lambda: Constant(value=1.0),
        description="endpoint change → every proxy applies it (kube-proxy/ingress), seconds",
    )
    stickiness: Literal["none", "user"] = Field(
        default="none", description="'user': a user keeps the version first chosen for them"
    )


class Segment(_Spec):
    """From ``start`` on (until the next segment), requests arrive at ``rate_rps``."""

    start: Duration
    rate_rps: float = Field(ge=0)


class Poisson(_Spec):
    """Open-loop Poisson arrivals at a constant rate."""

    type: Literal["poisson"]
    rate_rps: float = Field(ge=0)


class Schedule(_Spec):
    """Poisson arrivals whose rate is piecewise constant (a daily peak, a launch)."""

    type: Literal["schedule"]
    segments: list[Segment] = Field(min_length=1)

    @field_validator("segments")
    @classmethod
    def _ordered(cls, segments: list[Segment]) -> list[Segment]:
        if segments[0].start != 0:
            raise FieldError((0, "start"), "the first segment must start at 0")
        for i, (a, b) in enumerate(itertools.pairwise(segments), start=1):
            if b.start <= a.start:
                raise FieldError((i, "start"), f"segment starts must increase (the one before "
                                               f"starts at {a.start:g} s)")
        return segments


SHARE_TOLERANCE = 1e-9
"""How far the segments' shares may sum from 1."""


class UserSegment(_Spec):
    """A group of users with the same request headers (a traffic group, a plan, a cookie).

    Every user belongs to exactly one segment, drawn once per run from the seed (so the same
    users for every strategy); ``share`` is the probability that a user is in it. Its users
    send ``rateMultiplier`` times as many requests as a user of a segment with multiplier 1
    (the scenario's total arrival rate stays as it is). ``headers`` are what the API gateway
    stamps on their requests (``X-Traffic-Group: FREE``, ``cookie: canary=always``): header
    routes match on them, with case-insensitive names.
    """

    name: Label
    share: float = Field(ge=0, le=1, description="share of the users in the segment")
    rate_multiplier: float = Field(default=1.0, ge=0,
                                   description="requests per user relative to multiplier 1")
    headers: dict[str, str] = Field(default_factory=dict, max_length=100,
                                    description="request headers of the segment's users")

    @field_validator("headers")
    @classmethod
    def _header_names(cls, headers: dict[str, str]) -> dict[str, str]:
        seen: set[str] = set()
        for name in headers:
            if not name or one_line(name) != name or " " in name:
                raise FieldError((name,), "a header name is one word without spaces")
            if name.lower() in seen:
                raise FieldError((name,), "repeats a header name (names are "
                                          "case-insensitive)")
            seen.add(name.lower())
        return headers


class TrafficSpec(_Spec):
    """User traffic: arrivals, and the population the requests come from."""

    arrivals: Annotated[Poisson | Schedule, Field(discriminator="type")]
    users: int = Field(default=10_000, ge=1, le=INT32_MAX,
                       description="distinct users sending the requests")
    segments: list[UserSegment] | None = Field(
        default=None, min_length=1, max_length=1000,
        description="user segments {name, share, rateMultiplier, headers}; null: users alike")

    @field_validator("segments")
    @classmethod
    def _segments(cls, segments: list[UserSegment] | None) -> list[UserSegment] | None:
        if segments is None:
            return None
        names: set[str] = set()
        for i, segment in enumerate(segments):
            if segment.name in names:
                raise FieldError((i, "name"), f"segment names must be unique ({segment.name!r} "
                                              f"is listed twice)")
            names.add(segment.name)
        total = math.fsum(segment.share for segment in segments)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise FieldError((), f"the segments' shares must sum to 1, got {total:.12g}")
        if not any(s.share * s.rate_multiplier > 0 for s in segments):
            raise FieldError((), "no segment sends requests: every share or rateMultiplier "
                                 "is 0")
        return segments


class ReleaseSpec(_Spec):
    """The running version, the new one, and when the rollout starts."""

    at: Duration = Field(default=60.0, description="rollout start, seconds into the run")
    current: VersionSpec = Field(default_factory=lambda: VersionSpec(name="v1"))
    new: VersionSpec = Field(default_factory=lambda: VersionSpec(name="v2"))

    @model_validator(mode="after")
    def _distinct_names(self) -> ReleaseSpec:
        if self.current.name == self.new.name:
            raise FieldError(("new", "name"), "current and new versions need different names")
        return self


# --------------------------------------------------------------------------------------------
# Strategies


class HealthGate(_Spec):
    """Abort when the new version's error rate over a window exceeds a threshold."""

    max_error_rate: float = Field(ge=0, le=1)
    window: Duration = Field(default=30.0, ge=0.1, description="counted at 0.1 s resolution")
    interval: Duration = Field(default=10.0, ge=0.1, description="seconds between checks")
    min_requests: int = Field(
        default=20, ge=1, le=INT32_MAX, description="fewer requests in the window → no verdict"
    )


class Recreate(_Spec):
    """Kubernetes Recreate: every old pod gone, then every new pod."""

    type: Literal["Recreate"]

    @model_validator(mode="before")
    @classmethod
    def _no_rolling_fields(cls, data: Any) -> Any:
        """kubernetes pkg/apis/apps/validation/validation.go ValidateDeploymentStrategy."""
        if isinstance(data, Mapping):
            for key in ("maxSurge", "maxUnavailable", "max_surge", "max_unavailable",
                        "rollingUpdate"):
                if key in data:
                    raise FieldError((key,),
                                     "may not be specified when strategy `type` is 'Recreate'")
        return data


class RollingUpdate(_Spec):
    """Kubernetes RollingUpdate (deployment controller, rolling.go)."""

    type: Literal["RollingUpdate"]
    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = "25%"
    undo_after: Duration | None = Field(
        default=None, description="`kubectl rollout undo` this long after the release starts"
    )
    undo_on_progress_deadline: bool = Field(
        default=False, description="`kubectl rollout undo` when `kubectl rollout status` fails: "
                                   "the Deployment reports ProgressDeadlineExceeded")
    health_gate: HealthGate | None = Field(
        default=None, description="`kubectl rollout undo` when monitoring sees the new "
                                  "version's error rate over the gate")

    @model_validator(mode="after")
    def _valid_fenceposts(self) -> RollingUpdate:
        _check_deployment_fenceposts(self.max_surge, self.max_unavailable)
        return self


class DnsSwitch(_Spec):
    """A blue-green switched by DNS: the name's record moves from blue to green, and each
    client follows when its own cache lets go (semantics.md X9–X15)."""

    ttl: Duration = Field(default=60.0, description="the record's TTL, seconds")
    clients: dict[str, float] = Field(
        default_factory=lambda: {"respects-ttl": 1.0},
        description="share of users per client DNS cache: respects-ttl, jvm, curl, "
                    "chromium-system, chromium-builtin, firefox, go, python")
    stale_share: float = Field(default=0.0, ge=0, le=1,
                               description="users that never refresh within staleFor (X9)")
    stale_for: Duration = Field(default=900.0, description="how long stale users stay, seconds")

    @model_validator(mode="after")
    def _known_clients(self) -> DnsSwitch:
        from simdeploy.rules.dns import CLIENT_RESOLVERS

        if not self.clients:
            raise FieldError(("clients",), "name at least one client kind")
        for kind, share in self.clients.items():
            if kind not in CLIENT_RESOLVERS:
                raise FieldError(("clients", kind), "unknown client kind; one of "
                                 + ", ".join(CLIENT_RESOLVERS))
            if not 0 <= share <= 1:
                raise FieldError(("clients", kind), f"a share is between 0 and 1, got {share:g}")
        total = sum(self.clients.values())
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise FieldError(("clients",), f"shares must sum to 1, got {total:g}")
        return self


class TargetHealthCheck(_Spec):
    """Overrides of a target group's health-check timing; unset keys keep the ``defaults``.

    AWS's ranges (semantics.md X1; ``rules.external_lb.HealthCheck``): whole seconds, interval
    5–300, timeout 2–120, both thresholds 2–10.
    """

    interval_seconds: int | None = Field(default=None, ge=5, le=300)
    timeout_seconds: int | None = Field(default=None, ge=2, le=120)
    healthy_threshold_count: int | None = Field(default=None, ge=2, le=10)
    unhealthy_threshold_count: int | None = Field(default=None, ge=2, le=10)


class ExternalLoadBalancer(_Spec):
    """A blue-green switched at an external load balancer's target groups (AWS ALB/NLB through
    the AWS Load Balancer Controller, ip targets): semantics.md X1–X8, X15.

    ``defaults`` is ``lbc-alb`` because a Kubernetes user gets an ALB target group from the
    LBC's Ingress, which writes its own health check (15 s, 5 s, 2, 2; X2), not AWS's (X1).
    ``propagation`` (controller watch → ELB API → load-balancer nodes) has no AWS figure (X6);
    the default 10 s is the ``sleep 10`` preStop of the EKS best-practices guide, the low end
    of what users measured (25 s to over 2 min).
    """

    defaults: Literal["lbc-alb", "aws", "lbc-nlb"] = Field(
        default="lbc-alb", description="health-check defaults: the LBC's for an Ingress "
                                       "(ALB) or a Service (NLB), or AWS's own")
    target_type: Literal["ip", "instance"] = "ip"
    target_groups: Literal["shared", "perVersion"] = Field(
        default="shared", description="shared: one target group behind Argo's active Service "
                                      "(the switch re-registers); perVersion: one per version, "
                                      "the listener moves, green Ready only once healthy")
    health_check: TargetHealthCheck = Field(default_factory=TargetHealthCheck)
    deregistration_delay_seconds: Duration = Field(
        default=300.0, ge=0, le=3600, description="deregistration_delay.timeout_seconds (X5)")
    propagation: Distribution = Field(
        default_factory=lambda: Constant(value=10.0),
        description="controller watch → ELB API → load-balancer nodes, seconds (X6)")

    @model_validator(mode="after")
    def _modelled(self) -> ExternalLoadBalancer:
        if self.target_type != "ip":
            raise FieldError(("targetType",), "only 'ip' is modelled: 'instance' targets are "
                             "nodes, which pod churn never touches (semantics.md X8)")
        self.health_check_settings()
        return self

    def health_check_settings(self) -> Any:
        """The target group's :class:`~simdeploy.rules.external_lb.HealthCheck`: the chosen
        defaults with the overrides applied."""
        import dataclasses

        from simdeploy.rules.external_lb import AWS_DEFAULT, LBC_ALB_DEFAULT, LBC_NLB_DEFAULT

        base = {"aws": AWS_DEFAULT, "lbc-alb": LBC_ALB_DEFAULT,
                "lbc-nlb": LBC_NLB_DEFAULT}[self.defaults]
        check = self.health_check
        overrides = {name: value for name, value in (
            ("interval_s", check.interval_seconds), ("timeout_s", check.timeout_seconds),
            ("healthy_threshold", check.healthy_threshold_count),
            ("unhealthy_threshold", check.unhealthy_threshold_count)) if value is not None}
        try:
            return dataclasses.replace(base, **{k: (float(v) if k.endswith("_s") else v)
                                                for k, v in overrides.items()})
        except ValueError as error:
            raise FieldError(("healthCheck",), str(error)) from None


class BlueGreen(_Spec):
    """Argo Rollouts blue-green: green beside blue, switch, blue kept for a delay."""

    type: Literal["BlueGreen"]
    preview_replica_count: int | None = Field(default=None, ge=1, le=INT32_MAX)
    auto_promotion_seconds: Duration = 0.0
    scale_down_delay_seconds: Duration = 30.0
    abort_scale_down_delay_seconds: Duration = 30.0
    health_gate: HealthGate | None = None
    progress_deadline_abort: bool = Field(
        default=False, description="Argo: abort when progressDeadlineSeconds passes without "
                                   "progress (otherwise it only reports, as Kubernetes does)")
    dns: DnsSwitch | None = Field(
        default=None, description="switch by DNS instead of the Service selector: clients "
                                  "follow as their caches expire")
    external_load_balancer: ExternalLoadBalancer | None = Field(
        default=None, description="switch at an external load balancer's target groups "
                                  "(AWS ALB/NLB, ip targets) instead of in the cluster")
    pre_promotion_analysis: ArgoAnalysis | None = Field(
        default=None, description="Argo: run before the switch; a failure aborts (blue stays)")
    post_promotion_analysis: ArgoAnalysis | None = Field(
        default=None, description="Argo: run after the switch, blue kept until it succeeds; "
                                  "a failure switches back")

    @model_validator(mode="after")
    def _one_switch(self) -> BlueGreen:
        if self.dns is not None and self.external_load_balancer is not None:
            raise FieldError(("externalLoadBalancer",), "may not be set together with `dns`: "
                             "the switch is either a DNS record or a target group")
        return self


class Pause(_Spec):
    """Argo ``pause``: a duration is required (a simulation has no human to promote)."""

    duration: Duration | None = None

    @model_validator(mode="after")
    def _needs_duration(self) -> Pause:
        if self.duration is None:
            raise FieldError(("duration",),
                             "a pause without duration waits for a human; give a duration")
        return self


class StringMatch(_Spec):
    """Argo's ``StringMatch``: exactly one of ``exact``, ``prefix``, ``regex``."""

    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StringMatch:
        """argoproj/argo-rollouts pkg/apis/rollouts/validation/validation.go
        hasMultipleMatchValues (its wording)."""
        given = [v for v in (self.exact, self.regex, self.prefix) if v]
        if not given:
            raise ValueError("StringMatch value missed, match value must have one of the "
                             "following: exact, regex, prefix")
        if len(given) > 1:
            raise ValueError("StringMatch match value must have exactly one of the following: "
                             "exact, regex, prefix")
        if self.regex:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise FieldError(("regex",), f"not a regular expression: {exc}") from None
        return self

    def as_match(self) -> dict[str, str]:
        """The condition in the Service's spelling (``{exact|prefix|regex: value}``)."""
        return {k: v for k, v in (("exact", self.exact), ("prefix", self.prefix),
                                  ("regex", self.regex)) if v}


class HeaderRoutingMatch(_Spec):
    """One ``{headerName, headerValue}`` of Argo's ``setHeaderRoute.match``."""

    header_name: str = Field(min_length=1, max_length=256)
    header_value: StringMatch


class SetHeaderRoute(_Spec):
    """Argo's ``setHeaderRoute`` step: matching requests go 100 % to the canary; a step with
    only a ``name`` removes the route (semantics.md T8)."""

    name: str = Field(min_length=1, max_length=253)
    match: list[HeaderRoutingMatch] | None = Field(default=None, max_length=100)


class RouteMatch(_Spec):
    """One block of Argo's ``setMirrorRoute.match`` (``RouteMatch``, argoproj/argo-rollouts
    pkg/apis/rollouts/v1alpha1/types.go): ``method``, ``path`` and ``headers`` must all match
    (a block without conditions matches every request).

    A simulated request carries only its segment's headers (``traffic.segments[].headers``);
    by convention it is a ``GET`` on ``/``, so ``method`` and ``path`` are matched against
    those (:func:`simdeploy.routing.mirror_route_matches`): ``path: {prefix: /}`` matches every
    request, ``path: {prefix: /api}`` none."""

    method: StringMatch | None = Field(default=None, description="matched against 'GET'")
    path: StringMatch | None = Field(default=None, description="matched against '/'")
    headers: dict[str, StringMatch] | None = Field(
        default=None, max_length=100, description="header name → StringMatch, all must match")

    def as_match(self) -> dict[str, Any]:
        """The block in the Service's spelling (``{method?, path?, headers: {name: cond}}``)."""
        block: dict[str, Any] = {"headers": {name: value.as_match()
                                             for name, value in (self.headers or {}).items()}}
        if self.method is not None:
            block["method"] = self.method.as_match()
        if self.path is not None:
            block["path"] = self.path.as_match()
        return block


class SetMirrorRoute(_Spec):
    """Argo's ``setMirrorRoute`` step: a copy of ``percentage`` % of the requests that match
    goes to the canary, whose answer nobody waits for; a step without ``match`` removes the
    route of that name (semantics.md T9; argo-rollouts rollout/trafficrouting/istio/istio.go
    reconcileVirtualServiceMirrorRoutes). An absent ``percentage`` is 100 (istio.go
    createMirrorRoute)."""

    name: str = Field(min_length=1, max_length=253)
    match: list[RouteMatch] | None = Field(default=None, max_length=100)
    percentage: int = Field(default=100, ge=0, le=100,
                            description="percent of the matching requests copied")


class ManagedRoute(_Spec):
    """One of ``trafficRouting.managedRoutes``: a route the rollout may set and removes."""

    name: str = Field(min_length=1, max_length=253)


class CanaryStep(_Spec):
    """One Argo Rollouts canary step: ``{setWeight: N}``, ``{pause: {duration: D}}``, an
    inline ``{analysis: {metrics: [...]}}`` that blocks the step until it ends, or
    simdeploy's ``{kayentaStage: {...}}``: Spinnaker's canary analysis stage
    (:class:`~simdeploy.analysis_spec.KayentaStage`), which also blocks the step; the route
    steps ``{setHeaderRoute: {...}}`` and ``{setMirrorRoute: {...}}`` complete at once."""

    set_weight: int | None = Field(default=None, ge=0, le=100)
    pause: Pause | None = None
    analysis: ArgoAnalysis | None = None
    kayenta_stage: KayentaStage | None = None
    set_header_route: SetHeaderRoute | None = None
    set_mirror_route: SetMirrorRoute | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CanaryStep:
        given = [v for v in (self.set_weight, self.pause, self.analysis, self.kayenta_stage,
                             self.set_header_route, self.set_mirror_route) if v is not None]
        if len(given) != 1:
            # Argo's InvalidStepMessage, for the step kinds simdeploy has
            raise ValueError("Step must have one of the following set: setWeight, pause, "
                             "analysis, kayentaStage, setHeaderRoute or setMirrorRoute")
        return self


_OLD_FLAGGER_KEYS = ("stepWeight", "maxWeight", "interval", "step_weight", "max_weight")
_CAMEL = {"step_weight": "stepWeight", "max_weight": "maxWeight"}
_FLAGGER_ONLY = frozenset({"interval", "threshold", "maxWeight", "stepWeight", "stepWeights",
                           "stepWeightPromotion", "iterations", "mirror", "mirrorWeight",
                           "canaryReadyThreshold", "primaryReadyThreshold", "match"})
_ARGO_ONLY = frozenset({"startingStep", "onInconclusive"})


def _analysis_form_of(value: Any) -> str:
    """Which analysis a canary's ``analysis`` is (set by :meth:`Canary._analysis_form`)."""
    if isinstance(value, FlaggerAnalysis):
        return "flagger"
    if isinstance(value, Mapping):
        return str(value.get(ANALYSIS_FORM_KEY, "argo"))
    return "argo"


CanaryAnalysis = Annotated[
    Annotated[ArgoAnalysis, Tag("argo")] | Annotated[FlaggerAnalysis, Tag("flagger")],
    Discriminator(_analysis_form_of),
]


class Canary(_Spec):
    """A multi-stage canary: Argo's ``steps`` (and background ``analysis``), or Flagger's
    ``analysis`` loop (no steps)."""

    type: Literal["Canary"]
    traffic_routing: Literal["weighted", "replicas"] = Field(
        default="weighted",
        description="'weighted': a mesh/ingress splits exactly; 'replicas': by pod counts",
    )
    split_by: Literal["request", "user"] = "request"
    steps: list[CanaryStep] | None = None
    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = "25%"
    dynamic_stable_scale: bool = False
    scale_down_delay_seconds: Duration = 30.0
    abort_scale_down_delay_seconds: Duration = 30.0
    health_gate: HealthGate | None = None
    progress_deadline_abort: bool = Field(
        default=False, description="Argo: abort when progressDeadlineSeconds passes without "
                                   "progress; Flagger always rolls back then")
    managed_routes: list[ManagedRoute] | None = Field(
        default=None, description="Argo's trafficRouting.managedRoutes: the routes "
                                  "setHeaderRoute and setMirrorRoute steps may set")
    analysis: CanaryAnalysis | None = Field(
        default=None, description="with steps: Argo's background analysis {startingStep, "
                                  "metrics}; without: Flagger's analysis {interval, threshold, "
                                  "stepWeight, maxWeight, metrics, ...}")

    @model_validator(mode="before")
    @classmethod
    def _analysis_form(cls, data: Any) -> Any:
        """``analysis`` is Argo's beside ``steps`` and Flagger's without them; the old
        top-level Flagger fields (``stepWeight``, ``maxWeight``, ``interval``) move into it."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        old = {key: data.pop(key) for key in _OLD_FLAGGER_KEYS if key in data}
        if old:
            if "analysis" in data:
                first = next(iter(old))
                raise FieldError((first,), "give the Flagger fields inside analysis, not beside "
                                           "it")
            if data.get("steps") is not None:
                raise FieldError((next(iter(old)),),
                                 "use either steps (Argo) or stepWeight/maxWeight/interval "
                                 "(Flagger)")
            data["analysis"] = {_CAMEL.get(k, k): v for k, v in old.items()}
        analysis = data.get("analysis")
        if isinstance(analysis, Mapping):
            form = "argo" if data.get("steps") is not None else "flagger"
            other = _FLAGGER_ONLY if form == "argo" else _ARGO_ONLY
            for key in analysis:
                if key in other:
                    raise FieldError(("analysis", key), (
                        "is Flagger's: beside steps, analysis is Argo's background analysis "
                        "{startingStep, metrics}" if form == "argo" else
                        "is Argo's: without steps, analysis is Flagger's {interval, "
                        "threshold, stepWeight, maxWeight, metrics}"))
            data["analysis"] = {**analysis, ANALYSIS_FORM_KEY: form}
        return data

    @model_validator(mode="after")
    def _as_argo_validates(self) -> Canary:
        """argoproj/argo-rollouts pkg/apis/rollouts/validation/validation.go
        ValidateRolloutStrategyCanary (Argo caps no percentage, unlike Kubernetes)."""
        if (_percent_or_int_value(self.max_surge) == 0
                and _percent_or_int_value(self.max_unavailable) == 0):
            raise FieldError(("maxSurge",), "MaxSurge and MaxUnavailable both can not be zero")
        explicit_delay = "scale_down_delay_seconds" in self.model_fields_set
        if self.traffic_routing == "replicas":
            if explicit_delay:
                raise FieldError(("scaleDownDelaySeconds",), "Canary scaleDownDelaySeconds "
                                 "can only be used with traffic routing")
            if self.dynamic_stable_scale:
                raise FieldError(("dynamicStableScale",), "Canary dynamicStableScale can only "
                                 "be used with traffic routing")
        if self.dynamic_stable_scale and explicit_delay:
            raise FieldError(("dynamicStableScale",), "Canary dynamicStableScale cannot be used "
                             "with scaleDownDelaySeconds")
        return self

    @model_validator(mode="after")
    def _header_routes_as_argo_validates(self) -> Canary:
        """argoproj/argo-rollouts pkg/apis/rollouts/validation/validation.go
        ValidateRolloutStrategyCanary, ValidateStepRouteFoundInManagedRoute (their words), for
        setHeaderRoute and setMirrorRoute steps alike."""
        managed = {route.name for route in self.managed_routes or []}
        for i, step in enumerate(self.steps or []):
            if step.set_header_route is not None:
                key, name = "setHeaderRoute", step.set_header_route.name
                needs = "SetHeaderRoute requires TrafficRouting, supports Istio and ALB and Apisix"
            elif step.set_mirror_route is not None:
                key, name = "setMirrorRoute", step.set_mirror_route.name
                needs = "SetMirrorRoute requires TrafficRouting, supports Istio only"
            else:
                continue
            if self.traffic_routing != "weighted":
                raise FieldError(("steps", i, key), needs)
            if self.managed_routes is None:
                raise FieldError(("managedRoutes",), "Rollout has missing field "
                                 "'spec.strategy.canary.trafficRouting.managedRoutes'")
            if name not in managed:
                raise FieldError(("steps", i, key, "name"), "Steps define a route "
                                 "that does not exist in "
                                 "spec.strategy.canary.trafficRouting.managedRoutes")
        return self

    @model_validator(mode="after")
    def _one_form(self) -> Canary:
        if self.steps is None and self.analysis is None:
            raise ValueError("give steps (Argo) or analysis with stepWeight (Flagger)")
        if self.steps is not None and self.analysis is not None:
            start = self.argo_analysis.starting_step if self.argo_analysis else None
            if start is not None and start > len(self.steps):
                raise FieldError(("analysis", "startingStep"),
                                 f"must be at most the number of steps ({len(self.steps)}), "
                                 f"got {start}")
        return self

    @property
    def flagger(self) -> FlaggerAnalysis | None:
        """Flagger's analysis: this canary runs as Flagger's loop (no ``steps``)."""
        return self.analysis if isinstance(self.analysis, FlaggerAnalysis) else None

    @property
    def argo_analysis(self) -> ArgoAnalysis | None:
        """Argo's background analysis beside the ``steps``."""
        return self.analysis if isinstance(self.analysis, ArgoAnalysis) else None

    def effective_steps(self) -> list[CanaryStep]:
        """Argo's steps (a Flagger canary has none: it runs its own loop)."""
        return list(self.steps or [])


TrackStrategy = Annotated[
    Recreate | RollingUpdate | BlueGreen | Canary, Field(discriminator="type")
]
"""How one Deployment (a track) updates itself."""


def _gate_form(value: Any) -> str:
    """A stage gate with ``metrics`` is an Argo analysis, otherwise a health gate."""
    if isinstance(value, ArgoAnalysis) or (isinstance(value, Mapping) and "metrics" in value):
        return "analysis"
    return "health"


StageGate = Annotated[
    Annotated[HealthGate, Tag("health")] | Annotated[ArgoAnalysis, Tag("analysis")],
    Discriminator(_gate_form),
]


class TrackSpec(_Spec):
    """One track: a Deployment of the service with its own ReplicaSets, Service and update
    strategy (Bitmovin's internal / free / paid / production, semantics.md T1)."""

    replicas: int = Field(ge=1, le=INT32_MAX)
    strategy: TrackStrategy = Field(
        default_factory=lambda: RollingUpdate(type="RollingUpdate"),
        description="how the track updates (default: RollingUpdate at Kubernetes' defaults)")
    production: bool = Field(
        default=False, description="the track every user would be on without canary tracks "
                                   "(default: the one named 'production', else the last)")


class PipelineStage(_Spec):
    """Update one track, soak, check the gate."""

    track: str = Field(min_length=1, max_length=63)
    soak: Duration = Field(default=0.0, description="time in the stage after the update")
    gate: StageGate | None = Field(
        default=None, description="a healthGate {maxErrorRate, window, interval, minRequests} "
                                  "on the track's requests, watched from the update to the end "
                                  "of the soak, or an Argo analysis {metrics} run during the "
                                  "soak")

    @model_validator(mode="after")
    def _gate_measures(self) -> PipelineStage:
        """A metric that measures until stopped (an ``interval``, no ``count``) is stopped at
        the end of the soak: it must have measured once by then, or the gate passes on no
        evidence."""
        if isinstance(self.gate, ArgoAnalysis):
            for i, metric in enumerate(self.gate.metrics):
                endless = not metric.count and metric.interval is not None
                if endless and self.soak <= metric.initial_delay:
                    raise FieldError(("gate", "metrics", i),
                                     f"measures until the stage ends (an interval, no count), "
                                     f"so the soak ({self.soak:g} s) must be longer than its "
                                     f"initialDelay ({metric.initial_delay:g} s): give a soak "
                                     f"or a count")
        return self


class Pipeline(_Spec):
    """A promotion pipeline over the tracks: each stage updates its track with that track's
    strategy, soaks and checks its gate; a failed gate (or a track whose own rollout aborts)
    rolls back every track already updated (:mod:`simdeploy.strategies.pipeline`)."""

    type: Literal["Pipeline"]
    stages: list[PipelineStage] = Field(min_length=1, max_length=100)
    split_by: Literal["request", "user"] | None = Field(
        default=None, description="overrides gateway.splitBy for this strategy")

    @field_validator("stages")
    @classmethod
    def _each_track_once(cls, stages: list[PipelineStage]) -> list[PipelineStage]:
        seen: set[str] = set()
        for i, stage in enumerate(stages):
            if stage.track in seen:
                raise FieldError((i, "track"), f"track {stage.track!r} has two stages")
            seen.add(stage.track)
        return stages


StrategySpec = Annotated[
    Recreate | RollingUpdate | BlueGreen | Canary | Pipeline, Field(discriminator="type")
]


class Scenario(_Spec):
    """One service, one release, and a named set of strategies to compare."""

    name: Label
    description: str = Field(default="", max_length=10_000)
    seed: int = Field(default=0, ge=0, le=2**64 - 1)
    duration: Duration = Field(gt=0, description="simulated time, seconds")
    sample_interval: Duration = Field(default=1.0, gt=0, description="timeline resolution")
    deployment: DeploymentSpec = Field(default_factory=DeploymentSpec)
    pod: PodSpec = Field(default_factory=PodSpec)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    traffic: TrafficSpec
    release: ReleaseSpec = Field(default_factory=ReleaseSpec)
    strategies: dict[StrategyName, StrategySpec] = Field(min_length=1)
    tracks: dict[StrategyName, TrackSpec] | None = Field(
        default=None, min_length=1, max_length=100,
        description="several Deployments of the service {name: {replicas, strategy}}; with "
                    "tracks, deployment.replicas is not used")
    gateway: GatewaySpec | None = Field(
        default=None, description="the routing tier in front of the tracks: ordered rules "
                                  "with matches and weighted backends")

    @model_validator(mode="after")
    def _tracks_consistent(self) -> Scenario:
        """Tracks need a gateway naming them; a gateway needs tracks; strategies are
        pipelines over them, and stages name tracks."""
        if self.tracks is None:
            if self.gateway is not None:
                raise FieldError(("gateway",), "needs tracks: a gateway routes to tracks")
            for name, strategy in self.strategies.items():
                if isinstance(strategy, Pipeline):
                    raise FieldError(("strategies", name), "a Pipeline needs tracks")
            return self
        if self.gateway is None:
            raise FieldError(("gateway",), "tracks need a gateway with routes to them")
        marked = [name for name, track in self.tracks.items() if track.production]
        if len(marked) > 1:
            raise FieldError(("tracks", marked[1], "production"),
                             f"only one track is production ({marked[0]!r} is too)")
        for i, rule in enumerate(self.gateway.routes):
            for j, backend in enumerate(rule.backends):
                if backend.track not in self.tracks:
                    raise FieldError(("gateway", "routes", i, "backends", j, "track"),
                                     f"no track {backend.track!r} (tracks: "
                                     f"{', '.join(self.tracks)})")
        for name, strategy in self.strategies.items():
            if not isinstance(strategy, Pipeline):
                raise FieldError(("strategies", name, "type"),
                                 "with tracks every strategy is a Pipeline over them (each "
                                 "track updates with its own strategy)")
            for i, stage in enumerate(strategy.stages):
                if stage.track not in self.tracks:
                    raise FieldError(("strategies", name, "stages", i, "track"),
                                     f"no track {stage.track!r} (tracks: "
                                     f"{', '.join(self.tracks)})")
        for name, track in self.tracks.items():
            strategy = track.strategy
            if isinstance(strategy, BlueGreen):
                for key, value in (("dns", strategy.dns),
                                   ("externalLoadBalancer", strategy.external_load_balancer)):
                    if value is not None:
                        raise FieldError(("tracks", name, "strategy", key),
                                         "a track behind the gateway is switched by its "
                                         "Service, not by DNS or an external load balancer")
        self._gated_tracks_get_requests()
        return self

    def _gated_tracks_get_requests(self) -> None:
        """A stage's health gate reads its track's requests: a track no segment's rule sends
        requests to would stall the pipeline waiting for evidence."""
        assert self.gateway is not None
        segments = self.traffic.segments or [UserSegment(name="all", share=1.0)]
        reached: set[str] = set()
        for segment in segments:
            if segment.share * segment.rate_multiplier <= 0:
                continue
            rule = rule_for_headers(self.gateway, segment.headers)
            if rule >= 0:
                reached.update(b.track for b in self.gateway.routes[rule].backends
                               if b.weight > 0)
        for name, strategy in self.strategies.items():
            for i, stage in enumerate(getattr(strategy, "stages", [])):
                if isinstance(stage.gate, HealthGate) and stage.track not in reached:
                    raise FieldError(("strategies", name, "stages", i, "gate"),
                                     f"no segment's requests reach track {stage.track!r} by "
                                     f"the gateway's routes, so its health gate would wait "
                                     f"for evidence forever")

    @property
    def production_track(self) -> str | None:
        """The track everyone would be on without canary tracks (None: no tracks)."""
        if self.tracks is None:
            return None
        for name, track in self.tracks.items():
            if track.production:
                return name
        return "production" if "production" in self.tracks else list(self.tracks)[-1]

    @property
    def total_replicas(self) -> int:
        """Pods of the service at rest: every track's replicas, or deployment.replicas."""
        if self.tracks is None:
            return self.deployment.replicas
        return sum(track.replicas for track in self.tracks.values())

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.release.at >= self.duration:
            raise FieldError(("release", "at"), f"must be before the end of the run (duration "
                                                f"{self.duration:g} s), got {self.release.at:g} s")
        if self.sample_interval > self.duration:
            raise FieldError(("sampleInterval",), f"must not be longer than the run (duration "
                                                  f"{self.duration:g} s)")
        arrivals = self.traffic.arrivals
        if isinstance(arrivals, Schedule):
            for i, segment in enumerate(arrivals.segments):
                if segment.start >= self.duration:
                    raise FieldError(("traffic", "arrivals", "segments", i, "start"),
                                     f"starts at {segment.start:g} s, not before the end of "
                                     f"the run (duration {self.duration:g} s)")
        updates = [(("strategies", name), s) for name, s in self.strategies.items()]
        updates += [(("tracks", name, "strategy"), t.strategy)
                    for name, t in (self.tracks or {}).items()]
        for where, strategy in updates:
            flagger = strategy.flagger if isinstance(strategy, Canary) else None
            if flagger is None or flagger.match is None:
                continue
            match = [m.as_flagger() for m in flagger.match]
            segments = self.traffic.segments or []
            if not any(header_route_matches(match, s.headers) for s in segments):
                raise FieldError((*where, "analysis", "match"),
                                 "matches the headers of no segment in traffic.segments: no "
                                 "user would reach the canary")
        capacity = self.pod_capacity()
        if capacity is not None and capacity < self.total_replicas:
            what = "deployment.replicas" if self.tracks is None else "the tracks' replicas"
            raise FieldError(("cluster",),
                             f"the cluster holds {capacity} pods, fewer than "
                             f"{what} ({self.total_replicas})")
        return self

    def pod_capacity(self) -> int | None:
        """Pods that fit at once: the pod count and every allocatable resource; None = no limit."""
        limits = [] if self.cluster.capacity_pods is None else [self.cluster.capacity_pods]
        requests = self.pod.resources.requests
        for name in ("cpu", "memory"):
            allocatable = getattr(self.cluster.allocatable, name)
            if allocatable is None:
                continue
            request = getattr(requests, name)
            if not request:
                raise FieldError(("pod", "resources", "requests", name),
                                 f"must be > 0 when cluster.allocatable.{name} is set")
            limits.append(math.floor(allocatable / request + 1e-9))
        return min(limits) if limits else None

    def strategy(self, name: str | None) -> tuple[str, StrategySpec]:
        """The named strategy, or the first one listed when ``name`` is None."""
        if name is None:
            name = next(iter(self.strategies))
        if name not in self.strategies:
            known = ", ".join(self.strategies)
            raise ScenarioError(self.name, "strategies", f"no strategy {name!r} (known: {known})")
        return name, self.strategies[name]

    def with_overrides(self, overrides: Mapping[str, Any], *,
                       source: str | None = None) -> Scenario:
        """A new scenario with fields changed by path, validated again as a file would be.

        ``scenario.with_overrides({"pod.preStopSeconds": 5, "strategies.rolling.maxSurge":
        "50%"})``: paths in the file's spelling, ``[i]`` for a list item
        (``strategies.canary.steps[0].setWeight``). Applied to the effective scenario (every
        default written out); this scenario is left as it is.

        Args:
            overrides: field path → new value, applied in order.
            source: where the scenario came from, for messages (default: its name).

        Raises:
            ScenarioError: one line naming the path: no such field, or a value the scenario
                cannot hold.
        """
        from simdeploy.overrides import apply_overrides

        return apply_overrides(self, overrides, source)


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Read and validate a scenario from a YAML file path or an already-parsed mapping.

    Raises:
        ScenarioError: one-line message naming the file, the field path and the problem.
    """
    if isinstance(source, Mapping):
        where, data = "<mapping>", dict(source)
    else:
        where = str(source)
        data = read_yaml(Path(source), where)
        if not isinstance(data, dict):
            raise ScenarioError(where, None, "expected a mapping of scenario fields at the top")
    check_shape(data, where)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        location, problem = first_problem(errors, data)
        more = len(errors) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ScenarioError(where, location, problem + suffix) from None
    except RecursionError:
        raise ScenarioError(where, None, "nested too deeply") from None
