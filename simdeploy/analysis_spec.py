"""The scenario schema of automated analysis, in Argo Rollouts' and Flagger's own spelling.

Argo Rollouts (``pkg/apis/rollouts/v1alpha1/analysis_types.go``): an analysis is a list of
``metrics``; each metric measures every ``interval`` after an ``initialDelay``, ``count`` times
(or until the run is stopped), and turns each result into a phase with its
``successCondition`` / ``failureCondition``; ``failureLimit``, ``inconclusiveLimit`` and
``consecutiveErrorLimit`` say how many bad measurements the metric tolerates
(:mod:`simdeploy.rules.argo_analysis`). The same shape is a canary's background ``analysis``
(with ``startingStep``), an inline ``analysis`` step, and blue-green's
``prePromotionAnalysis`` / ``postPromotionAnalysis``. Metrics are written inline (a
simulation has no AnalysisTemplate objects), and the provider is the simulation's own
(:mod:`simdeploy.measurements`): ``provider: {simulation: {query, version, window}}``.

Validation follows Argo's (``utils/analysis/factory.go ValidateMetrics, ValidateMetric``):
at least one metric, unique names, limits not negative (``failureLimit`` may be −1, not
together with an unset ``consecutiveSuccessLimit``), ``count`` large enough for the limits,
and an ``interval`` whenever ``count > 1``.

A simulation has no human to resume an ``Inconclusive`` pause (Argo's
``InconclusiveAnalysis``, A20): ``onInconclusive`` (simdeploy's own field, default ``abort``)
says what the run does instead.

Kayenta (semantics.md §5) is the other provider: ``provider: {kayenta: {threshold: {pass,
marginal}, lookback, step, canaryConfig}}`` in Argo's spelling (``analysis_types.go
KayentaMetric``: ``threshold`` is required, integers, not checked against each other), one
judgment per measurement (:mod:`simdeploy.analysis_run`). A simulation has no Kayenta server,
so the canary config is written inline (:class:`KayentaCanaryConfig`, Kayenta's
``CanaryConfig`` with a simulation query per metric), the scopes are implicit (experiment =
the canary version, control = the stable one) and ``step`` (the sample step, Argo's
``scopes[].*Scope.step``) sits on the provider. Spinnaker's canary stage is a canary step of
its own, :class:`KayentaStage` (:mod:`simdeploy.kayenta_stage`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from simdeploy.distributions import INT32_MAX, Duration, SpecModel
from simdeploy.errors import FieldError
from simdeploy.measurements import LATENCY_QUERIES, QUERIES, VERSIONS
from simdeploy.rules.kayenta import MetricConfig, orca_windows

__all__ = ["ANALYSIS_FORM_KEY", "FLAGGER_BUILTIN_METRICS", "AnalysisMetric", "ArgoAnalysis",
           "FlaggerAnalysis", "FlaggerMetric", "HeaderMatch", "KayentaCanaryConfig",
           "KayentaCanaryMetric", "KayentaProvider", "KayentaStage", "KayentaThreshold",
           "MetricProvider", "SimulationQuery", "StringMatch", "ThresholdRange"]

_MAX_CONDITION = 4096

ANALYSIS_FORM_KEY = "\x00form"
"""Put into a canary's ``analysis`` mapping by the canary's own validator (Argo's form beside
``steps``, Flagger's without) and taken out again before the fields are read."""


def _check_unique_names(metrics: list[Any]) -> None:
    """Argo's and Kayenta's rule: metric names are unique (``ValidateMetrics``' wording)."""
    seen: set[str] = set()
    for i, metric in enumerate(metrics):
        if metric.name in seen:
            raise FieldError(("metrics", i, "name"), f"duplicate name '{metric.name}'")
        seen.add(metric.name)


def _drop_form(data: Any) -> Any:
    if isinstance(data, dict) and ANALYSIS_FORM_KEY in data:
        data = {k: v for k, v in data.items() if k != ANALYSIS_FORM_KEY}
    return data


def _condition(text: str) -> str:
    """A condition is kept as text: a parse error is the metric's Error phase, as in Argo,
    not a refused file. Only its length is bounded."""
    if len(text) > _MAX_CONDITION:
        raise ValueError(f"must be at most {_MAX_CONDITION} characters, got {len(text)}")
    return text


Condition = Annotated[str, AfterValidator(_condition)]


class SimulationQuery(SpecModel):
    """The simulation's metrics provider: a query over a window of one version's requests."""

    query: Literal[QUERIES]  # type: ignore[valid-type]
    version: Literal[VERSIONS] = "canary"  # type: ignore[valid-type]
    window: Duration = Field(default=60.0, gt=0, description="look back this long, seconds")


# --------------------------------------------------------------------------------------------
# Kayenta: the inline canary config, Argo's provider, Spinnaker's stage

_INT64 = 2**63 - 1
MAX_KAYENTA_RUNS = 10_000
"""Judgments one Spinnaker stage may make (simdeploy's bound; Orca has none)."""


class KayentaOutliers(SpecModel):
    """``analysisConfigurations.canary.outliers``."""

    strategy: Literal["keep", "remove"] = "keep"
    outlier_factor: float = 3.0


class KayentaEffectSize(SpecModel):
    """``analysisConfigurations.canary.effectSize``; unset thresholds are Kayenta's defaults
    (1.0 with meanRatio, 0.5 with cles)."""

    measure: Literal["meanRatio", "cles"] = "meanRatio"
    allowed_increase: float | None = None
    allowed_decrease: float | None = None
    critical_increase: float | None = None
    critical_decrease: float | None = None


class KayentaMetricSettings(SpecModel):
    """``analysisConfigurations.canary`` of one metric (J2). Kayenta reads an unknown
    ``direction`` as ``either`` (and so on); simdeploy refuses it instead."""

    direction: Literal["increase", "decrease", "either"] = "either"
    nan_strategy: Literal["remove", "replace"] = "remove"
    critical: bool = False
    must_have_data: bool = False
    muted: bool = False
    outliers: KayentaOutliers = Field(default_factory=KayentaOutliers)
    effect_size: KayentaEffectSize = Field(default_factory=KayentaEffectSize)


class KayentaAnalysisConfigurations(SpecModel):
    """``analysisConfigurations``: the judge reads only ``canary``."""

    canary: KayentaMetricSettings = Field(default_factory=KayentaMetricSettings)


class KayentaCanaryMetric(SpecModel):
    """One metric of a Kayenta canary config, its ``query`` the simulation's."""

    name: str = Field(min_length=1, max_length=253)
    query: Literal[QUERIES]  # type: ignore[valid-type]
    groups: list[str] = Field(default_factory=list, max_length=100)
    analysis_configurations: KayentaAnalysisConfigurations = Field(
        default_factory=KayentaAnalysisConfigurations)

    @model_validator(mode="after")
    def _judge_accepts(self) -> KayentaCanaryMetric:
        try:
            self.config()
        except ValueError as exc:  # IQRDetector's require(factor > 0)
            raise FieldError(("analysisConfigurations", "canary", "outliers", "outlierFactor"),
                             str(exc).split(": ", 1)[-1]) from None
        return self

    def config(self) -> MetricConfig:
        """The judge's settings (:meth:`MetricConfig.from_mapping`, Kayenta's spelling)."""
        return MetricConfig.from_mapping(self.model_dump(by_alias=True, exclude_none=True))


class KayentaClassifier(SpecModel):
    """``classifier``: the weight of each group (J10; nothing checks they total 100)."""

    group_weights: dict[str, float] = Field(default_factory=dict, max_length=100)


class KayentaCanaryConfig(SpecModel):
    """A Kayenta canary config, inline: ``metrics`` and ``classifier.groupWeights``."""

    metrics: list[KayentaCanaryMetric] = Field(min_length=1, max_length=100)
    classifier: KayentaClassifier = Field(default_factory=KayentaClassifier)

    @model_validator(mode="after")
    def _unique_names(self) -> KayentaCanaryConfig:
        _check_unique_names(self.metrics)
        return self

    def configs(self) -> list[MetricConfig]:
        """Every metric's :class:`~simdeploy.rules.kayenta.MetricConfig`, in order."""
        return [metric.config() for metric in self.metrics]

    @property
    def latency_percentiles(self) -> tuple[float, ...]:
        """The latency percentiles its metrics read (empty: no latency series needed)."""
        return tuple(sorted({LATENCY_QUERIES[m.query] for m in self.metrics
                             if m.query in LATENCY_QUERIES}))


def _whole_seconds(value: float) -> float:
    if value != int(value) or value < 1:
        raise ValueError(f"must be whole seconds, at least 1s, got {value:g}s")
    return value


def _whole_minutes(value: float | None) -> float | None:
    if value is not None and value % 60:
        raise ValueError(f"must be whole minutes (Orca counts minutes), got {value:g}s")
    return value


Step = Annotated[Duration, AfterValidator(_whole_seconds)]
Minutes = Annotated[Duration, AfterValidator(_whole_minutes)]


class KayentaThreshold(SpecModel):
    """Argo's ``threshold: {pass, marginal}``: both required, integers (the CRD's int64)."""

    pass_: int = Field(alias="pass", ge=-_INT64 - 1, le=_INT64)
    marginal: int = Field(ge=-_INT64 - 1, le=_INT64)


class KayentaProvider(SpecModel):
    """Argo Rollouts' Kayenta provider with the canary config inline (J16-J18).

    Each measurement judges ``[now - interval, now]`` (``lookback: false``) or ``[run start,
    now]`` (``lookback: true``), sampled every ``step``; the score, truncated to an int, is
    Successful from ``threshold.pass``, Inconclusive from ``threshold.marginal``, else Failed.
    The metric's conditions are not used.
    """

    threshold: KayentaThreshold
    lookback: bool = False
    step: Step = Field(default=60.0, description="the sample step (Argo's scope step), s")
    canary_config: KayentaCanaryConfig


class KayentaScoreThresholds(SpecModel):
    """Spinnaker's ``scoreThresholds``: integers in Orca; both required when given."""

    pass_: int = Field(alias="pass", ge=-_INT64 - 1, le=_INT64)
    marginal: int = Field(ge=-_INT64 - 1, le=_INT64)


class KayentaStage(SpecModel):
    """Spinnaker's canary analysis stage as a canary step (J13-J15; ``orca-kayenta``).

    After ``beginCanaryAnalysisAfter``, one judgment every ``interval`` (unset, 0 or longer
    than ``lifetime``: one at the end), floor(lifetime / interval) in all, each over the
    window since the warm-up ended (growing) or the last ``lookback`` (sliding). A score at
    or below ``scoreThresholds.marginal`` fails the stage at once; at the end the last score
    must be above marginal and at least ``pass`` (75/50 when ``scoreThresholds`` is absent).
    """

    lifetime: Minutes = Field(description="lifetimeDuration, whole minutes")
    interval: Minutes | None = Field(default=None,
                                     description="canaryAnalysisIntervalMins, as a duration")
    begin_canary_analysis_after: Minutes = Field(default=0.0, description="the warm-up")
    lookback: Minutes | None = Field(default=None, description="lookbackMins: sliding windows")
    step: Step = Field(default=60.0, description="the sample step, s")
    score_thresholds: KayentaScoreThresholds | None = None
    canary_config: KayentaCanaryConfig

    @model_validator(mode="after")
    def _runs(self) -> KayentaStage:
        if self.lifetime < 60:
            raise FieldError(("lifetime",), f"must be at least 1m, got {self.lifetime:g}s")
        interval = self.interval or self.lifetime
        if interval > self.lifetime:
            interval = self.lifetime
        if self.lifetime // interval > MAX_KAYENTA_RUNS:
            raise FieldError(("interval",), f"lifetime / interval gives more than "
                             f"{MAX_KAYENTA_RUNS} judgments")
        return self

    def windows(self, start_s: float) -> list[tuple[float, float]]:
        """The judged windows when the stage starts at ``start_s`` (Orca's, J13)."""
        return orca_windows(self.lifetime, self.interval, self.begin_canary_analysis_after,
                            self.lookback or 0, start_s)

    @property
    def raw_latency_horizon_s(self) -> float:
        """How long raw latencies must be kept for this stage's latency series."""
        interval = self.interval or self.lifetime
        interval = min(interval, self.lifetime)
        early = (self.lookback or 0) - self.begin_canary_analysis_after - interval
        return max(self.step, early + 2)


class MetricProvider(SpecModel):
    """Where a metric's value comes from: exactly one of ``simulation`` and ``kayenta``."""

    simulation: SimulationQuery | None = None
    kayenta: KayentaProvider | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MetricProvider:
        if (self.simulation is None) == (self.kayenta is None):
            raise ValueError("give exactly one provider: simulation or kayenta")
        return self


class AnalysisMetric(SpecModel):
    """One Argo Rollouts metric (``v1alpha1.Metric``), with the simulation as provider."""

    name: str = Field(min_length=1, max_length=253)
    interval: Duration | None = Field(default=None, gt=0)
    initial_delay: Duration = 0.0
    count: int | None = Field(default=None, ge=0, le=INT32_MAX)
    failure_limit: int = Field(default=0, ge=-1, le=INT32_MAX)
    inconclusive_limit: int = Field(default=0, ge=0, le=INT32_MAX)
    consecutive_error_limit: int = Field(default=4, ge=0, le=INT32_MAX)
    consecutive_success_limit: int = Field(default=0, ge=0, le=INT32_MAX)
    success_condition: Condition = ""
    failure_condition: Condition = ""
    dry_run: bool = False
    provider: MetricProvider

    @model_validator(mode="after")
    def _as_argo_validates(self) -> AnalysisMetric:
        """argoproj/argo-rollouts utils/analysis/factory.go ValidateMetric (its wording)."""
        if self.consecutive_success_limit == 0 and self.failure_limit == -1:
            raise FieldError(("failureLimit",), "failureLimit and consecutiveSuccessLimit "
                                                "cannot both be disabled")
        count = self.count or 0
        if count > 0:
            if self.failure_limit >= 0:
                needed = self.failure_limit + self.consecutive_success_limit
                if count < needed:
                    raise FieldError(("count",), f"count ({count}) must be >= failureLimit + "
                                     f"consecutiveSuccessLimit ({self.failure_limit} + "
                                     f"{self.consecutive_success_limit}) if both >= 0")
            elif count < self.consecutive_success_limit:
                raise FieldError(("count",), "count must be >= consecutiveSuccessLimit")
            if count < self.inconclusive_limit:
                raise FieldError(("count",), "count must be >= inconclusiveLimit")
        if count > 1 and self.interval is None:
            raise FieldError(("interval",), "interval must be specified when count > 1")
        return self

    def as_argo(self) -> dict[str, Any]:
        """The metric as a mapping in Argo's spelling, for :mod:`simdeploy.rules.argo`."""
        out: dict[str, Any] = {
            "name": self.name, "failureLimit": self.failure_limit,
            "inconclusiveLimit": self.inconclusive_limit,
            "consecutiveErrorLimit": self.consecutive_error_limit,
        }
        if self.count is not None:
            out["count"] = self.count
        if self.interval is not None:
            out["interval"] = f"{self.interval:g}s"
        if self.initial_delay:
            out["initialDelay"] = f"{self.initial_delay:g}s"
        if self.consecutive_success_limit:
            out["consecutiveSuccessLimit"] = self.consecutive_success_limit
        return out


class ArgoAnalysis(SpecModel):
    """An Argo analysis: background (``startingStep``), an inline step, or blue-green's."""

    metrics: list[AnalysisMetric] = Field(min_length=1, max_length=100)
    starting_step: int | None = Field(default=None, ge=0, le=INT32_MAX)
    on_inconclusive: Literal["abort", "promote"] = Field(
        default="abort",
        description="simdeploy's own: an Inconclusive run would pause for a human in Argo; "
                    "a simulation aborts or goes on")

    _form = model_validator(mode="before")(classmethod(lambda cls, data: _drop_form(data)))

    @model_validator(mode="after")
    def _unique_names(self) -> ArgoAnalysis:
        _check_unique_names(self.metrics)
        return self


class ThresholdRange(SpecModel):
    """Flagger's ``thresholdRange``: the check fails outside ``[min, max]``."""

    min: float | None = None
    max: float | None = None


FLAGGER_BUILTIN_METRICS = ("request-success-rate", "request-duration")
"""Flagger's built-in metrics (``fluxcd/flagger pkg/controller/scheduler_metrics.go``): the
percentage of non-5xx responses, and the p99 latency in milliseconds."""


class FlaggerMetric(SpecModel):
    """One Flagger metric check (``v1beta1.CanaryMetric``), a built-in one."""

    name: Literal[FLAGGER_BUILTIN_METRICS]  # type: ignore[valid-type]
    threshold: float | None = None
    threshold_range: ThresholdRange | None = None
    interval: Duration = Field(default=60.0, gt=0, description="the query's window (1m)")

    def as_flagger(self) -> dict[str, Any]:
        """The metric as a mapping in Flagger's spelling, for :mod:`simdeploy.rules.flagger`."""
        out: dict[str, Any] = {"name": self.name, "interval": f"{self.interval:g}s"}
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.threshold_range is not None:
            out["thresholdRange"] = {k: v for k, v in (("min", self.threshold_range.min),
                                                      ("max", self.threshold_range.max))
                                     if v is not None}
        return out


class StringMatch(SpecModel):
    """Istio's ``StringMatch`` for one header value: exactly one of exact, prefix, suffix or
    regex (matched against the whole value, as Envoy's RE2 does)."""

    exact: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    regex: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _exactly_one(self) -> StringMatch:
        given = [k for k in ("exact", "prefix", "suffix", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of exact, prefix, suffix or regex")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise FieldError(("regex",), f"not a valid regular expression: {exc}") from None
        return self

    def as_flagger(self) -> dict[str, str]:
        """``{kind: value}``."""
        return {k: v for k, v in (("exact", self.exact), ("prefix", self.prefix),
                                  ("suffix", self.suffix), ("regex", self.regex))
                if v is not None}


class HeaderMatch(SpecModel):
    """One alternative of Flagger's ``analysis.match`` (Istio ``HTTPMatchRequest``, headers
    only): every header listed must match (AND); names are case-insensitive."""

    headers: dict[str, StringMatch] = Field(min_length=1, max_length=100)

    @field_validator("headers")
    @classmethod
    def _names(cls, headers: dict[str, StringMatch]) -> dict[str, StringMatch]:
        seen: set[str] = set()
        for name in headers:
            if not name.strip() or name.lower() in seen:
                raise FieldError((name,), "header names must be non-empty and unique "
                                          "(case-insensitive)")
            seen.add(name.lower())
        return headers

    def as_flagger(self) -> dict[str, Any]:
        """``{headers: {name: {kind: value}}}``."""
        return {"headers": {name: m.as_flagger() for name, m in self.headers.items()}}


class FlaggerAnalysis(SpecModel):
    """Flagger's ``spec.analysis`` (``pkg/apis/flagger/v1beta1/canary.go CanaryAnalysis``).

    A ``Canary`` without ``steps`` is run as Flagger runs it (:mod:`simdeploy.strategies.flagger`):
    one tick per ``interval`` (default 60 s, at least 10 s), the weight moving by
    ``stepWeight`` (or along ``stepWeights``) up to ``maxWeight``, a tick with a failed
    metric check adding to ``failedChecks``, and a rollback once they reach ``threshold``.
    """

    interval: Duration | None = Field(default=None, gt=0)
    threshold: int | None = Field(default=None, ge=0, le=INT32_MAX)
    max_weight: int | None = Field(default=None, ge=0, le=INT32_MAX)
    step_weight: int | None = Field(default=None, ge=0, le=100)
    step_weights: list[int] | None = Field(default=None, min_length=1, max_length=100)
    step_weight_promotion: int | None = Field(default=None, ge=0, le=100)
    iterations: int | None = Field(default=None, ge=0, le=INT32_MAX)
    mirror: bool = False
    mirror_weight: int | None = Field(default=None, ge=0, le=100)
    canary_ready_threshold: int | None = Field(default=None, ge=0, le=100)
    primary_ready_threshold: int | None = Field(default=None, ge=0, le=100)
    metrics: list[FlaggerMetric] = Field(default_factory=list, max_length=100)
    match: list[HeaderMatch] | None = Field(
        default=None, min_length=1, max_length=100,
        description="A/B testing (with iterations): requests whose headers match any entry "
                    "go to the canary")

    _form = model_validator(mode="before")(classmethod(lambda cls, data: _drop_form(data)))

    @model_validator(mode="after")
    def _match_needs_iterations(self) -> FlaggerAnalysis:
        if self.match is None:
            return self
        if not self.iterations:
            raise FieldError(("match",), "A/B testing (match) needs iterations > 0: without "
                                         "them Flagger ignores match")
        if self.step_weight_promotion:
            raise FieldError(("stepWeightPromotion",), "simdeploy moves A/B traffic back to "
                                                       "the primary in one tick: leave it 0")
        return self

    @model_validator(mode="after")
    def _weights(self) -> FlaggerAnalysis:
        if self.step_weights is not None:
            for i, weight in enumerate(self.step_weights):
                if isinstance(weight, bool) or weight < 0:
                    raise FieldError(("stepWeights", i), f"must be >= 0, got {weight}")
        if (self.iterations or 0) == 0 and not self.step_weight and not self.step_weights:
            raise FieldError(("stepWeight",), "give stepWeight or stepWeights (a progressive "
                             "canary), or iterations (blue/green)")
        return self

    def as_flagger(self) -> dict[str, Any]:
        """The analysis as a mapping in Flagger's spelling, for :mod:`simdeploy.rules.flagger`."""
        out: dict[str, Any] = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None or name in ("metrics", "match"):
                continue
            out[field.alias or name] = f"{value:g}s" if name == "interval" else value
        out["metrics"] = [metric.as_flagger() for metric in self.metrics]
        if self.match is not None:
            out["match"] = [m.as_flagger() for m in self.match]
        return out


def argo_analyses(strategy: Any) -> list[ArgoAnalysis]:
    """Every Argo analysis a strategy runs: background, inline steps, blue-green's two."""
    found = [getattr(strategy, name, None) for name in
             ("analysis", "pre_promotion_analysis", "post_promotion_analysis")]
    found += [step.analysis for step in (getattr(strategy, "steps", None) or [])]
    return [a for a in found if isinstance(a, ArgoAnalysis)]


def latency_horizon_s(strategy: Any) -> float | None:
    """The longest window of a latency query the strategy's analysis makes, or None.

    A run keeps recent latencies (:class:`~simdeploy.measurements.LatencyWindows`) only when
    this is not None, and only this far back.
    """
    windows = []
    for analysis in argo_analyses(strategy):
        for metric in analysis.metrics:
            simulation, kayenta = metric.provider.simulation, metric.provider.kayenta
            if simulation is not None and simulation.query.startswith("latency-"):
                windows.append(simulation.window)
            elif kayenta is not None and kayenta.canary_config.latency_percentiles:
                # a growing window is tracked step by step; a sliding one is read raw
                windows.append(kayenta.step if kayenta.lookback
                               else max(kayenta.step, metric.interval or 0.0))
    for step in getattr(strategy, "steps", None) or []:
        stage = getattr(step, "kayenta_stage", None)
        if isinstance(stage, KayentaStage) and stage.canary_config.latency_percentiles:
            windows.append(stage.raw_latency_horizon_s)
    flagger = getattr(strategy, "analysis", None)
    if isinstance(flagger, FlaggerAnalysis):
        windows += [m.interval for m in flagger.metrics if m.name == "request-duration"]
    return max(windows) if windows else None
