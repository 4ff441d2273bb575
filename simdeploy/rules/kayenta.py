"""Kayenta's statistical canary judge, and how Spinnaker and Argo run it.

Kayenta (Netflix/Google's automated canary analysis service) compares a
*canary* (the "experiment", the new version) with a *baseline* (the "control",
the old version started fresh beside it) metric by metric, then turns the
per-metric verdicts into one score from 0 to 100:

1. **Preprocess** each series (:func:`preprocess`). NaNs are dropped or set to
   0, and optionally Tukey outliers are removed (with fences widened to the 1st
   and 99th percentiles, so with up to 100 points only the single smallest and
   largest value can ever go).
2. **Classify** each metric (:func:`classify_metric`). Empty data gives
   ``Nodata``; equal or single-valued data gives ``Pass``. Otherwise a
   two-sided Mann-Whitney (Wilcoxon rank-sum) confidence interval for the
   location shift ``canary - baseline`` is computed
   (:func:`mann_whitney_interval`). The metric is ``High`` when the whole
   interval lies above ``+tolerance * |estimate|``, ``Low`` when it lies below
   ``-tolerance * |estimate|``, and in both cases only if an effect size
   (:func:`effect_size`) also passes its configured threshold. The band scales
   with the estimate itself, so the test asks whether the shift is *precisely*
   known, not whether it is *large*. The judge fixes tolerance 0.25 and
   confidence 0.98.
3. **Score** (:func:`group_scores`, :func:`summary_score`). Each group scores
   the share of its metrics that passed; the summary is the weighted sum of the
   group scores. A failing *critical* metric, or half the metrics without data,
   forces the score to 0. :func:`score_label` maps the score to
   Pass/Marginal/Fail.

Around the judge, Spinnaker's Orca runs it repeatedly over growing (or
sliding) windows and fails as soon as a score is at or below the marginal
threshold (:func:`orca_windows`, :func:`orca_verdict`). Argo Rollouts' Kayenta
provider makes one judgement per measurement instead
(:func:`argo_kayenta_window`, :func:`argo_kayenta_phase`).

Everything here is pure arithmetic on numpy arrays: no SimPy, no clock. Each
function names the upstream code it mirrors as ``repo path Function``. Unless
stated, paths are in ``spinnaker/kayenta`` (read at a69573be) under
``kayenta-judge/src/main/scala/com/netflix/kayenta/judge/``; Orca paths are in
``spinnaker/orca`` (2fdb327a) under
``orca-kayenta/src/main/kotlin/com/netflix/spinnaker/orca/kayenta/``; Argo
paths are in ``argoproj/argo-rollouts`` (9f8d111d). The rule numbers (J1-J19)
are those of the project's ``shared/reference/semantics.md`` section 5.

Deliberate deviation: when both series are constant, Kayenta adds Gaussian
noise from an unseeded generator, so its verdicts are not reproducible. Here
the noise comes from a ``numpy.random.Generator`` that the caller passes in,
and the default is a fixed seed (:data:`DEFAULT_NOISE_SEED`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, NamedTuple

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm, rankdata

__all__ = [
    "ARGO_RESUME_DELAY_S",
    "DEFAULT_NOISE_SEED",
    "JUDGE_CONFIDENCE",
    "JUDGE_TOLERANCE",
    "LABELS",
    "NODATA_THRESHOLD_PERCENT",
    "ORCA_DEFAULT_MARGINAL",
    "ORCA_DEFAULT_PASS",
    "ORCA_DEFAULT_STEP_S",
    "ROOT_TOLERANCE",
    "ConfidenceInterval",
    "GroupScore",
    "KayentaMeasurementError",
    "MetricClassification",
    "MetricConfig",
    "SeriesStats",
    "argo_kayenta_phase",
    "argo_kayenta_window",
    "classify_metric",
    "effect_size",
    "group_scores",
    "iqr_outlier_mask",
    "judge",
    "mann_whitney_interval",
    "orca_verdict",
    "orca_windows",
    "preprocess",
    "score_label",
    "series_stats",
    "summary_score",
]

Direction = Literal["increase", "decrease", "either"]
NanStrategy = Literal["remove", "replace"]
OutlierStrategy = Literal["keep", "remove"]
EffectMeasure = Literal["meanRatio", "cles"]
Label = Literal["Pass", "High", "Low", "Nodata", "NodataFailMetric", "Error"]

LABELS: tuple[str, ...] = ("Pass", "High", "Low", "Nodata", "NodataFailMetric", "Error")
"""Every metric label Kayenta's classifier can give (``BaseMetricClassifier.scala``)."""

JUDGE_TOLERANCE = 0.25
"""Tolerance that ``NetflixACAJudge-v1.0`` passes to the classifier (J1)."""

JUDGE_CONFIDENCE = 0.98
"""Confidence level that ``NetflixACAJudge-v1.0`` passes to the classifier (J1)."""

NODATA_THRESHOLD_PERCENT = 50.0
"""Share of ``Nodata`` metrics (in %) at which the summary is forced to 0
(``scorers/WeightedSumScorer.scala NODATA_THRESHOLD``)."""

ROOT_TOLERANCE = 1e-4
"""Absolute tolerance of the interval roots, as R's ``wilcox.test`` and Kayenta's
``BrentSolver`` (``TOLERANCE``) use."""

NOISE_SCALE = 1e-5
"""Noise standard deviation, as a fraction of the constant value
(``MannWhitneyClassifier.addGaussianNoise``)."""

DEFAULT_NOISE_SEED = 0
"""Seed of the default noise generator (our deviation; upstream is unseeded)."""

ORCA_DEFAULT_PASS = 75
"""Orca's pass threshold when ``scoreThresholds`` is absent (``KayentaCanaryContext.kt``)."""

ORCA_DEFAULT_MARGINAL = 50
"""Orca's marginal threshold when ``scoreThresholds`` is absent (``KayentaCanaryContext.kt``)."""

ORCA_DEFAULT_STEP_S = 60
"""Orca's default metric step in seconds (``KayentaCanaryContext.kt CanaryConfigScope.step``)."""

ARGO_RESUME_DELAY_S = 15
"""Seconds between Argo's polls of a running Kayenta judgement
(``metricproviders/kayenta/kayenta.go resumeDelay``)."""

_DIRECTIONS = ("increase", "decrease", "either")
_NAN_STRATEGIES = ("remove", "replace")
_OUTLIER_STRATEGIES = ("keep", "remove")
_EFFECT_MEASURES = ("meanRatio", "cles")
_ROOT_RTOL = 4 * float(np.finfo(float).eps)  # R's zeroin adds 2*eps*|x| to tol/2


# --------------------------------------------------------------------------------------------
# Validation helpers


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _finite(value: object, name: str) -> float:
    """Check that ``value`` is a finite real number (bools rejected)."""
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    return float(value)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: must be a bool, got {value!r}")
    return bool(value)


def _choice(value: object, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise ValueError(f"{name}: must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def _series(values: object, name: str) -> np.ndarray:
    """Turn a sequence of numbers into a 1-D float array; NaN allowed, infinities not."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        array = values.astype(float)
        if array.ndim != 1:
            raise ValueError(f"{name}: must be one-dimensional, got shape {array.shape}")
        if np.isinf(array).any():
            raise ValueError(f"{name}: must not contain infinities")
        return array
    if isinstance(values, (str, bytes)) or (
        not isinstance(values, np.ndarray) and not isinstance(values, Iterable)
    ):
        raise ValueError(f"{name}: must be a sequence of numbers, got {values!r}")
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if any(not _is_number(v) for v in np.ravel(np.asarray(items, dtype=object))):
        raise ValueError(f"{name}: must contain only numbers")
    array = np.asarray(items, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {array.shape}")
    if np.isinf(array).any():
        raise ValueError(f"{name}: must not contain infinities")
    return array


def _non_negative(value: object, name: str) -> float:
    number = _finite(value, name)
    if number < 0:
        raise ValueError(f"{name}: must be non-negative, got {value!r}")
    return number


# --------------------------------------------------------------------------------------------
# Per-metric configuration (J2)


@dataclass(frozen=True)
class MetricConfig:
    """One metric's settings under ``analysisConfigurations.canary`` (J2).

    Defaults are Kayenta's. The four effect thresholds default to 1.0 with
    ``meanRatio`` and to 0.5 with ``cles`` (``None`` here means "use that
    default"; it is resolved when the object is built). With the 1.0 defaults
    any significant shift is High/Low, whatever its size.

    Mirrors: ``NetflixACAJudge.scala classifyMetric`` (key names and defaults)
    and ``classifiers/metric/BaseMetricClassifier.scala`` (the three parsers).
    """

    name: str = "metric"
    """Metric name (``metrics[].name``), used to match series and configs."""
    groups: tuple[str, ...] = ()
    """Groups the metric scores in (``metrics[].groups``); a metric may be in several."""
    direction: Direction = "either"
    """Which change fails: ``increase`` (only High), ``decrease`` (only Low) or ``either``."""
    nan_strategy: NanStrategy = "remove"
    """``remove`` drops NaNs; ``replace`` sets them to 0.0 (and makes no-data a Pass)."""
    outlier_strategy: OutlierStrategy = "keep"
    """``remove`` drops values outside the widened IQR fences (:func:`iqr_outlier_mask`)."""
    outlier_factor: float = 3.0
    """IQR multiplier of the fences (``outliers.outlierFactor``)."""
    critical: bool = False
    """A critical High/Low (or critical Nodata) forces the summary score to 0."""
    must_have_data: bool = False
    """Missing data gives ``NodataFailMetric`` (counts as a failure) instead of ``Nodata``."""
    muted: bool = False
    """A muted metric is classified and reported but left out of every score."""
    effect_measure: EffectMeasure = "meanRatio"
    """``meanRatio`` (mean canary / mean baseline) or ``cles`` (share of pairs canary wins)."""
    allowed_increase: float | None = None
    """High needs effect >= this (``effectSize.allowedIncrease``)."""
    allowed_decrease: float | None = None
    """Low needs effect <= this (``effectSize.allowedDecrease``)."""
    critical_increase: float | None = None
    """A critical High is critical only if effect >= this (``effectSize.criticalIncrease``)."""
    critical_decrease: float | None = None
    """A critical Low is critical only if effect <= this (``effectSize.criticalDecrease``)."""

    def __post_init__(self) -> None:
        """Validate every field and fill in the effect-threshold defaults."""
        if not isinstance(self.name, str):
            raise ValueError(f"name: must be a string, got {self.name!r}")
        if isinstance(self.groups, str) or not isinstance(self.groups, Iterable):
            raise ValueError(f"groups: must be a list of strings, got {self.groups!r}")
        groups = tuple(self.groups)
        if not all(isinstance(g, str) for g in groups):
            raise ValueError(f"groups: must be a list of strings, got {self.groups!r}")
        object.__setattr__(self, "groups", groups)
        _choice(self.direction, _DIRECTIONS, "direction")
        _choice(self.nan_strategy, _NAN_STRATEGIES, "nan_strategy")
        _choice(self.outlier_strategy, _OUTLIER_STRATEGIES, "outlier_strategy")
        factor = _finite(self.outlier_factor, "outlier_factor")
        if self.outlier_strategy == "remove" and factor <= 0:
            # IQRDetector's require(factor > 0); upstream this aborts the whole judgement.
            raise ValueError(f"outlier_factor: must be > 0, got {self.outlier_factor!r}")
        object.__setattr__(self, "outlier_factor", factor)
        for flag in ("critical", "must_have_data", "muted"):
            object.__setattr__(self, flag, _bool(getattr(self, flag), flag))
        _choice(self.effect_measure, _EFFECT_MEASURES, "effect_measure")
        default = 0.5 if self.effect_measure == "cles" else 1.0
        for key in (
            "allowed_increase",
            "allowed_decrease",
            "critical_increase",
            "critical_decrease",
        ):
            value = getattr(self, key)
            object.__setattr__(self, key, default if value is None else _finite(value, key))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> MetricConfig:
        """Build a config from one entry of a Kayenta canary config's ``metrics`` list.

        Reads ``name``, ``groups`` and ``analysisConfigurations.canary``:
        ``direction``, ``nanStrategy``, ``critical``, ``mustHaveData``,
        ``muted``, ``outliers.{strategy,outlierFactor}`` and
        ``effectSize.{measure,allowedIncrease,allowedDecrease,criticalIncrease,
        criticalDecrease}``. Other keys (``query``, ``scopeName``...) are
        ignored, as Kayenta ignores them here.

        As in Kayenta, an unknown ``direction`` means ``either``, an unknown
        ``nanStrategy`` means ``remove``, an unknown outlier strategy means
        ``keep`` and any measure other than ``cles`` means ``meanRatio``: a typo
        silently changes the analysis. A wrongly *typed* value (a string for a
        bool or number) fails, as Kayenta's casts do.

        Mirrors: ``NetflixACAJudge.scala classifyMetric``, ``utils/MapUtils.scala``
        and the ``parse`` methods in ``classifiers/metric/BaseMetricClassifier.scala``.

        Args:
            mapping: The metric entry, as parsed from JSON or YAML.

        Returns:
            The validated config.

        Raises:
            ValueError: on a non-mapping, a wrongly typed value or a bad outlier factor.
        """
        if not isinstance(mapping, Mapping):
            raise ValueError(f"metric: must be a mapping, got {mapping!r}")
        name = mapping.get("name", "metric")
        groups = mapping.get("groups") or ()
        canary = _nested(mapping, "analysisConfigurations", "canary")
        effect = _nested(canary, "effectSize")
        outliers = _nested(canary, "outliers")

        direction = str(canary.get("direction", "either"))
        nan_strategy = str(canary.get("nanStrategy", "remove"))
        outlier_strategy = str(outliers.get("strategy", "keep"))
        measure = str(effect.get("measure", "meanRatio"))
        thresholds = {
            key: effect[camel]
            for key, camel in (
                ("allowed_increase", "allowedIncrease"),
                ("allowed_decrease", "allowedDecrease"),
                ("critical_increase", "criticalIncrease"),
                ("critical_decrease", "criticalDecrease"),
            )
            if camel in effect
        }
        return cls(
            name=name,
            groups=groups,
            direction=direction if direction in _DIRECTIONS else "either",
            nan_strategy=nan_strategy if nan_strategy in _NAN_STRATEGIES else "remove",
            outlier_strategy="remove" if outlier_strategy == "remove" else "keep",
            outlier_factor=outliers.get("outlierFactor", 3.0),
            critical=canary.get("critical", False),
            must_have_data=canary.get("mustHaveData", False),
            muted=canary.get("muted", False),
            effect_measure="cles" if measure == "cles" else "meanRatio",
            **thresholds,
        )


def _nested(mapping: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    """Follow ``path`` through nested mappings; a missing level is an empty mapping."""
    current: Any = mapping
    for key in path:
        current = current.get(key) if isinstance(current, Mapping) else None
        if current is None:
            return {}
        if not isinstance(current, Mapping):
            raise ValueError(f"{key}: must be a mapping, got {current!r}")
    return current


# --------------------------------------------------------------------------------------------
# Preprocessing and descriptive statistics (J3)


def iqr_outlier_mask(
    values: Sequence[float] | np.ndarray, factor: float = 1.5, reduce_sensitivity: bool = False
) -> np.ndarray:
    """Flag Tukey outliers: values strictly outside ``[Q1 - f*IQR, Q3 + f*IQR]``.

    Quartiles are R-7 percentiles (numpy's default linear method). With
    ``reduce_sensitivity`` the fences widen to ``min(P1, lower)`` and
    ``max(P99, upper)``; the judge always uses that form, so only values
    beyond the 1st/99th percentiles can ever be flagged. P99 lies between the
    two largest values when there are at most 100, so then only a unique
    maximum (and likewise minimum) can go.

    Mirrors: ``detectors/IQRDetector.scala detect`` (and
    ``stats/DescriptiveStatistics.scala percentile``, ``EstimationType.R_7``).

    Args:
        values: The series (no NaNs expected; a NaN is never flagged).
        factor: The IQR multiplier, > 0.
        reduce_sensitivity: Widen the fences to the 1st/99th percentiles.

    Returns:
        A boolean array, True where the value is an outlier.

    Raises:
        ValueError: on a non-positive factor or a malformed series.
    """
    data = _series(values, "values")
    factor = _finite(factor, "factor")
    if factor <= 0:
        raise ValueError(f"factor: must be > 0, got {factor!r}")
    if data.size == 0:
        return np.zeros(0, dtype=bool)
    q1, q3 = np.percentile(data, [25, 75])
    lower, upper = q1 - factor * (q3 - q1), q3 + factor * (q3 - q1)
    if reduce_sensitivity:
        p1, p99 = np.percentile(data, [1, 99])
        lower, upper = min(p1, lower), max(p99, upper)
    return (data > upper) | (data < lower)


def preprocess(
    values: Sequence[float] | np.ndarray,
    nan_strategy: NanStrategy = "remove",
    outlier_strategy: OutlierStrategy = "keep",
    outlier_factor: float = 3.0,
) -> np.ndarray:
    """Clean one series the way the judge does before classifying it (J3).

    NaNs first: ``remove`` drops them, ``replace`` sets them to 0.0 (so a
    baseline with no errors reported as NaN becomes all zeros). Then, only with
    ``outlier_strategy="remove"``, values outside the widened IQR fences
    (:func:`iqr_outlier_mask` with ``reduce_sensitivity=True``) are dropped.

    Mirrors: ``NetflixACAJudge.scala transformMetric``, ``handleNaNs``,
    ``handleOutliers``; ``preprocessing/Transforms.scala removeNaNs``,
    ``replaceNaNs``, ``removeOutliers``.

    Args:
        values: The raw series; NaN marks a missing point.
        nan_strategy: ``remove`` or ``replace``.
        outlier_strategy: ``keep`` or ``remove``.
        outlier_factor: The IQR multiplier (> 0 when removing outliers).

    Returns:
        A new 1-D float array, in the original order.

    Raises:
        ValueError: on a malformed series, an unknown strategy or a bad factor.
    """
    data = _series(values, "values")
    _choice(nan_strategy, _NAN_STRATEGIES, "nan_strategy")
    _choice(outlier_strategy, _OUTLIER_STRATEGIES, "outlier_strategy")
    nan = np.isnan(data)
    data = data[~nan] if nan_strategy == "remove" else np.where(nan, 0.0, data)
    if outlier_strategy == "remove":
        data = data[~iqr_outlier_mask(data, outlier_factor, reduce_sensitivity=True)]
    return data


@dataclass(frozen=True)
class SeriesStats:
    """Descriptive statistics Kayenta reports for each preprocessed series.

    Mirrors: ``stats/DescriptiveStatistics.scala MetricStatistics``.
    """

    min: float
    max: float
    mean: float
    std: float
    """Sample standard deviation (n - 1); 0 for fewer than two values."""
    count: int


def series_stats(values: Sequence[float] | np.ndarray) -> SeriesStats:
    """Return min, max, mean, sample std and count; all zero for an empty series.

    Mirrors: ``stats/DescriptiveStatistics.scala summary``.

    Args:
        values: A preprocessed series (no NaNs).

    Returns:
        The statistics.

    Raises:
        ValueError: on a malformed series.
    """
    data = _series(values, "values")
    if data.size == 0:
        return SeriesStats(0.0, 0.0, 0.0, 0.0, 0)
    std = float(np.std(data, ddof=1)) if data.size > 1 else 0.0
    return SeriesStats(
        float(data.min()), float(data.max()), float(data.mean()), std, int(data.size)
    )


# --------------------------------------------------------------------------------------------
# The Mann-Whitney interval (J5) and effect sizes (J6)


class ConfidenceInterval(NamedTuple):
    """Confidence interval and point estimate of the shift ``experiment - control``."""

    lower: float
    upper: float
    estimate: float


def _wilcoxon_z(mu: float, quantile: float, x: np.ndarray, y: np.ndarray) -> float:
    """Normal-approximation statistic of ``x - mu`` against ``y``, minus ``quantile``.

    The rank sum of ``x - mu`` is centred, shrunk by 0.5 toward 0 (continuity
    correction) and divided by the tie-corrected standard deviation. The result
    falls (weakly) as ``mu`` grows, in steps where ``x_i - mu`` meets a ``y_j``.

    Mirrors: ``kayenta-mannwhitney/src/main/scala/com/netflix/kayenta/mannwhitney/
    MannWhitney.scala wilcoxonDiff`` (R's ``wilcox.test`` ``wdiff``).
    """
    nx, ny = x.size, y.size
    pooled = np.concatenate([x - mu, y])
    ranks = rankdata(pooled)
    centred = float(ranks[:nx].sum()) - nx * (nx + 1) / 2 - nx * ny / 2
    _, ties = np.unique(pooled, return_counts=True)
    n = nx + ny
    variance = (nx * ny / 12) * ((n + 1) - float((ties**3 - ties).sum()) / (n * (n - 1)))
    if variance <= 0:
        raise ValueError("cannot compute a confidence interval when all observations are tied")
    return (centred - 0.5 * float(np.sign(centred))) / math.sqrt(variance) - quantile


def _find_root(quantile: float, low: float, high: float, x: np.ndarray, y: np.ndarray) -> float:
    """Brent root of ``_wilcoxon_z(mu) = 0`` on ``[low, high]``, with 1e-4 tolerance."""
    return float(
        brentq(
            _wilcoxon_z,
            low,
            high,
            args=(quantile, x, y),
            xtol=ROOT_TOLERANCE,
            rtol=_ROOT_RTOL,
            maxiter=1000,
        )
    )


def mann_whitney_interval(
    experiment: Sequence[float] | np.ndarray,
    control: Sequence[float] | np.ndarray,
    confidence: float,
) -> ConfidenceInterval:
    """Two-sided Mann-Whitney confidence interval for the shift ``experiment - control`` (J5).

    The interval is the set of shifts ``mu`` that a two-sided rank-sum test of
    ``experiment - mu`` against ``control`` would not reject, using the normal
    approximation with tie and continuity corrections. Its ends are roots of
    the test statistic at ``z = +/-norm.ppf(1 - (1 - confidence)/2)`` (2.326 at
    98 %), clamped to ``[min x - max y, max x - min y]``; the estimate is a root
    at ``z = 0``. This is R's ``wilcox.test(x, y, conf.int=TRUE, exact=FALSE)``.

    The roots come from Brent's method with absolute tolerance 1e-4, as in R.
    The statistic is a step function, so the "root" is a step edge (found to
    within 1e-4) or any point of a flat stretch where the statistic is exactly
    0 (which happens when the centred rank sum is 0 or +/-0.5). So with heavy
    ties the estimate is not the median of pairwise differences, and it may
    differ from R's by up to the tolerance; either end may also lie up to the
    tolerance past the estimate.

    Mirrors: ``kayenta-mannwhitney/src/main/scala/com/netflix/kayenta/mannwhitney/
    MannWhitney.scala mannWhitneyUTest`` / ``calculateConfidenceInterval``.
    Kayenta's Brent solver returns *something* when the estimate is not
    bracketed; here that case raises (the classifier turns it into ``Error``).

    Args:
        experiment: The canary series ``x``, non-empty, no NaNs.
        control: The baseline series ``y``, non-empty, no NaNs.
        confidence: The confidence level, strictly between 0 and 1 (the judge
            uses 0.98; Kayenta's own default for direct calls is 0.95).

    Returns:
        ``(lower, upper, estimate)``.

    Raises:
        ValueError: on empty or NaN input, a confidence outside (0, 1), all
            observations tied at a search end, or an unbracketed estimate.
    """
    x = _series(experiment, "experiment")
    y = _series(control, "control")
    if x.size == 0 or y.size == 0:
        raise ValueError("experiment and control must both be non-empty")
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("experiment and control must not contain NaN")
    confidence = _finite(confidence, "confidence")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: must be strictly between 0 and 1, got {confidence!r}")
    mu_min = float(x.min() - y.max())
    mu_max = float(x.max() - y.min())
    z = float(norm.ppf(1 - (1 - confidence) / 2))

    def end(quantile: float) -> float:
        f_low = _wilcoxon_z(mu_min, quantile, x, y)
        f_high = _wilcoxon_z(mu_max, quantile, x, y)
        if f_low <= 0:
            return mu_min
        if f_high >= 0:
            return mu_max
        return _find_root(quantile, mu_min, mu_max, x, y)

    lower, upper = end(z), end(-z)
    f_low, f_high = _wilcoxon_z(mu_min, 0.0, x, y), _wilcoxon_z(mu_max, 0.0, x, y)
    if f_low == 0:
        estimate = mu_min
    elif f_high == 0:
        estimate = mu_max
    elif (f_low > 0) == (f_high > 0):
        raise ValueError("the point estimate is not bracketed by the search range")
    else:
        estimate = _find_root(0.0, mu_min, mu_max, x, y)
    return ConfidenceInterval(lower, upper, estimate)


def effect_size(
    experiment: Sequence[float] | np.ndarray,
    control: Sequence[float] | np.ndarray,
    measure: EffectMeasure = "meanRatio",
) -> float:
    """Size of the canary's change: a mean ratio or the common-language effect size (J6).

    * ``meanRatio``: ``mean(experiment) / mean(control)``; NaN when either mean
      is 0 (so a baseline of zeros gives no ratio, shown as "N/A" in the UI).
    * ``cles``: the share of (experiment, control) pairs in which the
      experiment value is higher, ties counting one half (Vargha-Delaney A);
      0.5 means no effect.

    An empty series gives NaN, as Kayenta's arithmetic does.

    Mirrors: ``stats/EffectSizes.scala meanRatio`` and ``cles``.

    Args:
        experiment: The canary series (no NaNs).
        control: The baseline series (no NaNs).
        measure: ``meanRatio`` or ``cles``.

    Returns:
        The effect size, or NaN.

    Raises:
        ValueError: on a malformed series or an unknown measure.
    """
    x = _series(experiment, "experiment")
    y = _series(control, "control")
    _choice(measure, _EFFECT_MEASURES, "measure")
    if x.size == 0 or y.size == 0:
        return math.nan
    if measure == "meanRatio":
        x_mean, y_mean = float(x.mean()), float(y.mean())
        return math.nan if x_mean == 0.0 or y_mean == 0.0 else x_mean / y_mean
    rank_sum = float(rankdata(np.concatenate([x, y]))[: x.size].sum())
    return (2 * rank_sum - x.size * (x.size + 1)) / (2 * x.size * y.size)


# --------------------------------------------------------------------------------------------
# Classifying one metric (J4-J7)


@dataclass(frozen=True)
class MetricClassification:
    """The verdict on one metric, with what Kayenta reports beside it.

    ``lower``, ``upper``, ``estimate`` and ``effect`` are NaN when the
    Mann-Whitney step did not run (no data, equal data, a single value, or an
    error). ``ratio`` is Kayenta's reported deviation (always the mean ratio,
    whatever ``effect_measure``), 1.0 on the early Pass/Nodata paths.

    Mirrors: ``classifiers/metric/BaseMetricClassifier.scala MetricClassification``
    plus the ``CanaryAnalysisResult`` fields that ``NetflixACAJudge.classifyMetric``
    fills in.
    """

    name: str
    label: Label
    critical: bool
    reason: str | None
    ratio: float
    effect: float
    lower: float
    upper: float
    estimate: float
    experiment_stats: SeriesStats
    control_stats: SeriesStats
    groups: tuple[str, ...] = ()
    muted: bool = False


def _compare(
    x: np.ndarray,
    y: np.ndarray,
    config: MetricConfig,
    tolerance: float,
    confidence: float,
    rng: np.random.Generator,
) -> tuple[str, float, float, ConfidenceInterval]:
    """Run the test and decide High/Low/Pass; return (label, ratio, effect, interval).

    Mirrors: ``classifiers/metric/MannWhitneyClassifier.scala compare``,
    ``MannWhitneyUTest``, ``calculateBounds``, ``addGaussianNoise``.
    """
    if np.unique(x).size == 1 and np.unique(y).size == 1:
        # Two constant series: jitter both (experiment first) so the ranks are untied.
        x = x + rng.standard_normal(x.size) * (x[0] * NOISE_SCALE)
        y = y + rng.standard_normal(y.size) * (y[0] * NOISE_SCALE)
    interval = mann_whitney_interval(x, y, confidence)
    ratio = effect_size(x, y, "meanRatio")
    effect = effect_size(x, y, config.effect_measure)
    band = tolerance * abs(interval.estimate)
    high = (
        config.direction in ("increase", "either")
        and interval.lower > band
        and (math.isnan(effect) or effect >= config.allowed_increase)
    )
    low = (
        config.direction in ("decrease", "either")
        and interval.upper < -band
        and (math.isnan(effect) or effect <= config.allowed_decrease)
    )
    label = "High" if high else "Low" if low else "Pass"
    return label, ratio, effect, interval


def classify_metric(
    experiment: Sequence[float] | np.ndarray,
    control: Sequence[float] | np.ndarray,
    config: MetricConfig | None = None,
    *,
    tolerance: float = JUDGE_TOLERANCE,
    confidence: float = JUDGE_CONFIDENCE,
    rng: np.random.Generator | None = None,
) -> MetricClassification:
    """Classify one metric as Kayenta's judge does (J3-J7).

    After :func:`preprocess`, in this order:

    1. Either series empty: with ``nan_strategy="remove"``,
       ``NodataFailMetric`` if ``must_have_data`` and not ``critical``, else
       ``Nodata`` (critical when the metric is); with ``replace``, ``Pass``.
    2. Same values in any order: ``Pass``.
    3. One distinct value across both series: ``Pass``.
    4. Otherwise the Mann-Whitney interval (:func:`mann_whitney_interval`).
       ``High`` if the direction allows it, ``lower > tolerance*|estimate|``
       and the effect is NaN or ``>= allowed_increase``; else ``Low`` if the
       direction allows it, ``upper < -tolerance*|estimate|`` and the effect is
       NaN or ``<= allowed_decrease``; else ``Pass``. A High (Low) of a
       critical metric is critical when the effect is NaN or
       ``>= critical_increase`` (``<= critical_decrease``).

    If both series are constant (but different), noise with standard deviation
    ``1e-5 * value`` is added first. Upstream draws it from an unseeded
    generator; here it comes from ``rng``, by default a fresh generator seeded
    with :data:`DEFAULT_NOISE_SEED`, so the result is reproducible. A failure
    inside step 4 gives ``Error``, never critical.

    Mirrors: ``NetflixACAJudge.scala classifyMetric`` (the try/catch) and
    ``classifiers/metric/MannWhitneyClassifier.scala classify``.

    Args:
        experiment: The canary's raw series (NaN = missing point).
        control: The baseline's raw series.
        config: The metric's settings; Kayenta's defaults when omitted.
        tolerance: Width of the no-change band as a fraction of ``|estimate|``
            (the judge fixes 0.25; the classifier's own default is also 0.25).
        confidence: Confidence level of the interval (the judge fixes 0.98).
        rng: Source of the tie-breaking noise.

    Returns:
        The classification, with the interval, effect and series statistics.

    Raises:
        ValueError: on a malformed series, config, tolerance or confidence
            (upstream, bad input aborts the whole judgement; it is not ``Error``).
    """
    config = MetricConfig() if config is None else config
    if not isinstance(config, MetricConfig):
        raise ValueError(f"config: must be a MetricConfig, got {config!r}")
    tolerance = _non_negative(tolerance, "tolerance")
    confidence = _finite(confidence, "confidence")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: must be strictly between 0 and 1, got {confidence!r}")
    if rng is None:
        rng = np.random.default_rng(DEFAULT_NOISE_SEED)
    elif not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: must be a numpy Generator, got {rng!r}")
    x = preprocess(experiment, config.nan_strategy, config.outlier_strategy, config.outlier_factor)
    y = preprocess(control, config.nan_strategy, config.outlier_strategy, config.outlier_factor)
    nan = math.nan

    def result(
        label: str,
        critical: bool,
        reason: str | None,
        ratio: float = 1.0,
        effect: float = nan,
        interval: ConfidenceInterval | None = None,
    ) -> MetricClassification:
        lower, upper, estimate = interval if interval is not None else (nan, nan, nan)
        return MetricClassification(
            name=config.name,
            label=label,
            critical=critical,
            reason=reason,
            ratio=ratio,
            effect=effect,
            lower=lower,
            upper=upper,
            estimate=estimate,
            experiment_stats=series_stats(x),
            control_stats=series_stats(y),
            groups=config.groups,
            muted=config.muted,
        )

    if x.size == 0 or y.size == 0:
        if config.nan_strategy == "replace":
            return result("Pass", False, None)
        reason = f"Missing data for {config.name}"
        if config.must_have_data and not config.critical:
            return result("NodataFailMetric", False, reason)
        return result("Nodata", config.critical, reason)
    if np.array_equal(np.sort(x), np.sort(y)):
        return result("Pass", False, "The canary and baseline data are identical")
    if np.unique(np.concatenate([x, y])).size == 1:
        return result("Pass", False, None)

    try:
        label, ratio, effect, interval = _compare(x, y, config, tolerance, confidence, rng)
    except (ValueError, ArithmeticError, RuntimeError):
        # NetflixACAJudge catches any RuntimeException here (e.g. all observations tied).
        return result("Error", False, "Metric Classification Failed", ratio=nan)

    critical = config.critical and (
        (label == "High" and (math.isnan(effect) or effect >= config.critical_increase))
        or (label == "Low" and (math.isnan(effect) or effect <= config.critical_decrease))
    )
    reason = (
        None
        if label == "Pass"
        else (f"{config.name} was classified as {label}" + (" (Critical)" if critical else ""))
    )
    return result(label, critical, reason, ratio, effect, interval)


# --------------------------------------------------------------------------------------------
# Scores (J9-J12)


@dataclass(frozen=True)
class GroupScore:
    """One group's score and label counts.

    Mirrors: ``scorers/BaseScorer.scala GroupScore``.
    """

    name: str
    score: float
    """100 * Pass / (Pass + High + Low + NodataFailMetric); 0.0 when that sum is 0."""
    no_data: bool
    """No metric of the group had one of those four labels (counts as 100 in the summary)."""
    label_counts: Mapping[str, int] = field(default_factory=dict)
    metric_count: int = 0


def _results(
    classifications: Iterable[MetricClassification] | Mapping[str, MetricClassification],
) -> list[MetricClassification]:
    items = list(
        classifications.values() if isinstance(classifications, Mapping) else classifications
    )
    for item in items:
        if not isinstance(item, MetricClassification):
            raise ValueError(f"classifications: expected MetricClassification, got {item!r}")
    return items


def group_scores(
    classifications: Iterable[MetricClassification] | Mapping[str, MetricClassification],
) -> dict[str, GroupScore]:
    """Score each metric group (J9).

    Muted metrics are dropped first. A group's score is ``100 * Pass /
    (Pass + High + Low + NodataFailMetric)`` over its metrics; ``Nodata`` and
    ``Error`` count nowhere. A metric listed in two groups counts in both; a
    metric in no group counts in none.

    Mirrors: ``scorers/WeightedSumScorer.scala calculateGroupScores`` /
    ``calculateGroupScore``, after ``scorers/ScoringHelper.scala score``
    filters out muted results.

    Args:
        classifications: The per-metric results (a list, or a name-keyed mapping).

    Returns:
        Group name -> score, in order of first appearance.

    Raises:
        ValueError: if an item is not a :class:`MetricClassification`.
    """
    labels: dict[str, list[str]] = {}
    for result in _results(classifications):
        if result.muted:
            continue
        for group in result.groups:
            labels.setdefault(group, []).append(result.label)
    scores = {}
    for name, group_labels in labels.items():
        counts = {label: group_labels.count(label) for label in dict.fromkeys(group_labels)}
        passed = counts.get("Pass", 0)
        total = passed + sum(counts.get(k, 0) for k in ("High", "Low", "NodataFailMetric"))
        scores[name] = GroupScore(
            name=name,
            score=100.0 * passed / total if total else 0.0,
            no_data=total == 0,
            label_counts=counts,
            metric_count=len(group_labels),
        )
    return scores


def _round_half_up(value: float, places: int = 2) -> float:
    """Round as Commons Math ``Precision.round`` does: decimal text, ties away from zero."""
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def summary_score(
    classifications: Iterable[MetricClassification] | Mapping[str, MetricClassification],
    group_weights: Mapping[str, float] | None = None,
) -> float:
    """The canary score from 0 to 100 (J10, J11).

    Muted metrics are dropped. Then, in order:

    1. Any metric flagged ``critical`` whose label is not ``Pass`` -> 0.0.
       (Only a critical High/Low past its critical threshold, or a critical
       ``Nodata``, carries the flag.)
    2. ``Nodata`` metrics at least 50 % of the remaining metrics -> 0.0.
       ``Error`` metrics count in the denominator only; they never fail a
       canary by themselves.
    3. Otherwise ``sum(group score * weight / 100)``, rounded half-up to two
       decimals. A group with no scorable metric counts as 100. Groups without
       a weight share ``100 - sum(all given weights)`` equally (which may be 0
       or negative); weights of absent groups are ignored. Nothing checks that
       the weights total 100. No metrics, or no groups, gives 0.0.

    Mirrors: ``scorers/WeightedSumScorer.scala score``, ``criticalFailures``,
    ``tooManyNodata``, ``calculateSummaryScore``; ``scorers/ScoringHelper.scala
    score`` (muting, ``classifier.groupWeights``).

    Args:
        classifications: The per-metric results (a list, or a name-keyed mapping).
        group_weights: ``classifier.groupWeights`` (group -> weight); None or
            empty means all groups share 100 equally.

    Returns:
        The summary score.

    Raises:
        ValueError: on a non-classification item or a non-numeric weight.
    """
    results = [r for r in _results(classifications) if not r.muted]
    weights = {} if group_weights is None else dict(group_weights)
    for name, weight in weights.items():
        _finite(weight, f"group_weights[{name!r}]")
    if any(r.critical and r.label != "Pass" for r in results):
        return 0.0
    nodata = sum(r.label == "Nodata" for r in results)
    if results and 100.0 * nodata / len(results) >= NODATA_THRESHOLD_PERCENT:
        return 0.0
    groups = group_scores(results)
    unweighted = [name for name in groups if name not in weights]
    shared = (
        (100.0 - sum(float(w) for w in weights.values())) / len(unweighted) if unweighted else 0.0
    )
    total = 0.0
    for name, group in groups.items():
        effective = 100.0 if group.no_data else group.score
        total += effective * (float(weights.get(name, shared)) / 100)
    return _round_half_up(total)


def score_label(
    score: float, pass_threshold: float, marginal_threshold: float
) -> Literal["Pass", "Marginal", "Fail"]:
    """Label a summary score: ``>= pass`` Pass, ``>= marginal`` Marginal, else Fail (J12).

    Note that Orca treats a score *equal* to the marginal threshold as a
    failure (:func:`orca_verdict`) although the judge calls it Marginal.

    Mirrors: ``classifiers/score/ThresholdScoreClassifier.scala classify``.

    Args:
        score: The summary score.
        pass_threshold: ``scoreThresholds.pass``.
        marginal_threshold: ``scoreThresholds.marginal``.

    Returns:
        ``"Pass"``, ``"Marginal"`` or ``"Fail"``.

    Raises:
        ValueError: on a non-finite number.
    """
    score = _finite(score, "score")
    if score >= _finite(pass_threshold, "pass_threshold"):
        return "Pass"
    if score >= _finite(marginal_threshold, "marginal_threshold"):
        return "Marginal"
    return "Fail"


def judge(
    experiment: Mapping[str, Sequence[float] | np.ndarray],
    control: Mapping[str, Sequence[float] | np.ndarray],
    configs: Iterable[MetricConfig],
    group_weights: Mapping[str, float] | None = None,
    *,
    tolerance: float = JUDGE_TOLERANCE,
    confidence: float = JUDGE_CONFIDENCE,
    rng: np.random.Generator | None = None,
) -> tuple[float, dict[str, MetricClassification]]:
    """Classify every configured metric and score the canary (J1-J11).

    The metrics are classified in the order of ``configs``, all drawing their
    tie-breaking noise from one generator (default: seeded with
    :data:`DEFAULT_NOISE_SEED`). Label the score with :func:`score_label`.

    Mirrors: ``NetflixACAJudge.scala judge`` and ``scorers/ScoringHelper.scala score``.

    Args:
        experiment: Metric name -> the canary's raw series.
        control: Metric name -> the baseline's raw series.
        configs: One :class:`MetricConfig` per metric, names unique. Both
            mappings must have exactly these names (pass ``[]`` for a metric
            that returned no data). Upstream, a series without a config aborts
            the judgement.
        group_weights: ``classifier.groupWeights``.
        tolerance: See :func:`classify_metric` (the judge fixes 0.25).
        confidence: See :func:`classify_metric` (the judge fixes 0.98).
        rng: Source of the tie-breaking noise.

    Returns:
        ``(summary score, {metric name: classification})``.

    Raises:
        ValueError: on duplicate or mismatched metric names, or malformed input.
    """
    configs = list(configs)
    names = [c.name for c in configs if isinstance(c, MetricConfig)]
    if len(names) != len(configs):
        raise ValueError("configs: every item must be a MetricConfig")
    if len(set(names)) != len(names):
        raise ValueError(f"configs: metric names must be unique, got {names}")
    for label, series in (("experiment", experiment), ("control", control)):
        if not isinstance(series, Mapping) or set(series) != set(names):
            keys = sorted(series) if isinstance(series, Mapping) else series
            raise ValueError(
                f"{label}: must map exactly the configured metrics {sorted(names)}, got {keys!r}"
            )
    if rng is None:
        rng = np.random.default_rng(DEFAULT_NOISE_SEED)
    results = {
        c.name: classify_metric(
            experiment[c.name],
            control[c.name],
            c,
            tolerance=tolerance,
            confidence=confidence,
            rng=rng,
        )
        for c in configs
    }
    return summary_score(results, group_weights), results


# --------------------------------------------------------------------------------------------
# Spinnaker / Orca (J13, J14)


def _whole_minutes(value: float | None, name: str) -> int:
    seconds = _non_negative(0 if value is None else value, name)
    if seconds % 60:
        raise ValueError(f"{name}: must be whole minutes (a multiple of 60 s), got {value!r}")
    return int(seconds // 60)


def orca_windows(
    lifetime_s: float,
    interval_s: float | None = None,
    warmup_s: float = 0,
    lookback_s: float = 0,
    start_s: float = 0.0,
    *,
    explicit_end: bool = False,
) -> list[tuple[float, float]]:
    """The experiment windows Spinnaker's canary stage judges, one per run (J13).

    With lifetime ``L`` and interval ``I`` (unset, 0 or longer than ``L``
    means ``I = L``) there are ``floor(L_min / I_min)`` runs, counted in whole
    minutes. Run ``i`` (from 1) judges ``[start + warmup, start + warmup + i*I]``,
    a **growing** window that re-judges everything since the start; with a
    lookback the window **slides**: ``[end - lookback, end]``.

    In the usual real-time mode (no ``endTimeIso`` in the scope) Orca waits
    ``warmup`` and then ``I`` before each run, so each run starts as its
    window ends. With an explicit end time (``explicit_end=True``, lifetime =
    end - start in whole minutes) nothing waits for the clock and the warm-up
    is *not* added to the windows (the warm-up wait itself still runs).

    The control (baseline) window is the same shifted back by
    ``baselineAnalysisOffsetInMins``; the metric step defaults to
    :data:`ORCA_DEFAULT_STEP_S`.

    Mirrors: ``pipeline/RunCanaryIntervalsStage.kt beforeStages`` and
    ``buildRequestScopes``; ``KayentaCanaryContext.kt`` (``canaryAnalysisIntervalMins``,
    ``beginCanaryAnalysisAfterMins``, ``lookbackMins`` are whole minutes).

    Args:
        lifetime_s: ``lifetimeDuration`` (or ``lifetimeHours``), or end - start
            with ``explicit_end``; at least 60 s.
        interval_s: ``canaryAnalysisIntervalMins`` in seconds, or None.
        warmup_s: ``beginCanaryAnalysisAfterMins`` in seconds.
        lookback_s: ``lookbackMins`` in seconds (0 = growing windows).
        start_s: The scope's start time (``startTimeIso``, or when the stage began).
        explicit_end: The scope gives ``endTimeIso``.

    Returns:
        ``[(start_s, end_s), ...]``, one per run, in run order.

    Raises:
        ValueError: on negative values, minutes that are not whole, or a
            lifetime under a minute (upstream divides by zero).
    """
    lifetime_s = _non_negative(lifetime_s, "lifetime_s")
    interval_min = _whole_minutes(interval_s, "interval_s")
    warmup_min = _whole_minutes(warmup_s, "warmup_s")
    lookback_min = _whole_minutes(lookback_s, "lookback_s")
    start_s = _finite(start_s, "start_s")
    if explicit_end:
        lifetime_s = 60.0 * math.floor(lifetime_s / 60)  # Instant.until(..., MINUTES)
    interval = (
        lifetime_s if interval_min == 0 or 60 * interval_min > lifetime_s else 60.0 * interval_min
    )
    if math.floor(interval / 60) == 0:
        raise ValueError(f"lifetime_s: must be at least one minute, got {lifetime_s!r}")
    runs = math.floor(lifetime_s / 60) // math.floor(interval / 60)
    begin = start_s if explicit_end else start_s + 60.0 * warmup_min
    windows = []
    for i in range(1, runs + 1):
        end = begin + i * interval
        windows.append((end - 60.0 * lookback_min if lookback_min > 0 else begin, end))
    return windows


def orca_verdict(
    scores: Sequence[float],
    pass_threshold: float | None = ORCA_DEFAULT_PASS,
    marginal_threshold: float | None = ORCA_DEFAULT_MARGINAL,
) -> tuple[bool, int | None]:
    """Whether Spinnaker's canary stage succeeds, given the score of each run (J14).

    After each run, a score ``<= marginal`` fails the stage at once (TERMINAL,
    or FAILED_CONTINUE with ``continuePipeline``): a score equal to the
    marginal threshold fails here although the judge labels it Marginal.
    Scores above marginal but below pass do not stop the stage. At the end,
    **only the last score** counts: it must be ``> marginal`` and ``>= pass``.

    Thresholds: the defaults are Orca's when ``scoreThresholds`` is absent
    (75/50). ``None`` follows the null checks of ``AggregateCanaryResultsTask``
    (no marginal: no early stop; no pass: no pass check; neither: success),
    which are live in Kayenta's standalone canary analysis (nullable Double
    thresholds). In Orca itself the thresholds are non-null ``Int``s, so a
    ``scoreThresholds`` object missing a key most likely yields 0 for it
    (Jackson's primitive default; our inference) and a fractional threshold
    is truncated; pass 0 or an int to model that.

    Mirrors: ``tasks/MonitorKayentaCanaryTask.kt execute`` (per run) and
    ``tasks/AggregateCanaryResultsTask.kt execute`` (at the end); the same
    final rule is in kayenta ``kayenta-standalone-canary-analysis/.../
    GenerateCanaryAnalysisResultTask.java getAggregatedJudgment``.

    Args:
        scores: The summary score of each run, in run order (at least one).
        pass_threshold: ``scoreThresholds.pass`` or None.
        marginal_threshold: ``scoreThresholds.marginal`` or None.

    Returns:
        ``(succeeded, stopped_after_run)``: the 1-based run whose score stopped
        the stage early, or None if every run ran.

    Raises:
        ValueError: on no scores or a non-finite number.
    """
    if isinstance(scores, (str, bytes)) or not isinstance(scores, Iterable):
        raise ValueError(f"scores: must be a sequence of numbers, got {scores!r}")
    values = [_finite(s, "scores[]") for s in scores]
    if not values:
        raise ValueError("scores: need at least one run's score")
    marginal = (
        None if marginal_threshold is None else _finite(marginal_threshold, "marginal_threshold")
    )
    passing = None if pass_threshold is None else _finite(pass_threshold, "pass_threshold")
    if marginal is not None:
        for run, score in enumerate(values, start=1):
            if score <= marginal:
                return False, run
    if passing is None:
        return True, None
    return values[-1] >= passing, None


# --------------------------------------------------------------------------------------------
# Argo Rollouts' Kayenta provider (J16, J17)


class KayentaMeasurementError(ValueError):
    """Argo would record the measurement as ``Error`` (not Failed) for these inputs."""


def argo_kayenta_phase(
    score: float, pass_threshold: int, marginal_threshold: int
) -> Literal["Successful", "Inconclusive", "Failed"]:
    """Argo's measurement phase for one Kayenta score (J16).

    The score is truncated to an integer first (79.99 is 79). Then
    ``>= pass`` is Successful, ``>= marginal`` is **Inconclusive** (which by
    default pauses the rollout), anything lower is Failed. A score equal to
    the marginal threshold is Inconclusive here but a failure in Orca.

    Mirrors: ``argoproj/argo-rollouts metricproviders/kayenta/kayenta.go
    evaluateResult`` (and the ``int(result)`` conversion in ``Resume``).

    Args:
        score: ``result.judgeResult.score.score``.
        pass_threshold: ``kayenta.threshold.pass`` (an int in the CRD).
        marginal_threshold: ``kayenta.threshold.marginal`` (an int).

    Returns:
        ``"Successful"``, ``"Inconclusive"`` or ``"Failed"``.

    Raises:
        ValueError: on a non-finite score or non-integer thresholds.
    """
    truncated = math.trunc(_finite(score, "score"))
    for name, value in (
        ("pass_threshold", pass_threshold),
        ("marginal_threshold", marginal_threshold),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name}: must be an int, got {value!r}")
    if truncated >= pass_threshold:
        return "Successful"
    if truncated >= marginal_threshold:
        return "Inconclusive"
    return "Failed"


def argo_kayenta_window(
    now_s: float,
    run_start_s: float,
    interval_s: float | None = None,
    lookback: bool = False,
) -> tuple[float, float]:
    """The window one Argo Kayenta measurement judges, when the scope gives no times (J17).

    The end is the measurement time. With ``lookback: true`` the start is the
    AnalysisRun's start (a growing window); otherwise it is ``now - interval``
    (a sliding window), the opposite default to Spinnaker. Times are sent as
    RFC 3339 without fractions, so both ends are truncated to whole seconds.

    Mirrors: ``argoproj/argo-rollouts metricproviders/kayenta/kayenta.go
    getScopeRequest``, ``getStartTime``, ``getEndTime``.

    Args:
        now_s: When the measurement runs.
        run_start_s: ``status.startedAt`` of the AnalysisRun.
        interval_s: The metric's ``interval`` in seconds, or None if unset.
        lookback: ``provider.kayenta.lookback``.

    Returns:
        ``(start_s, end_s)``.

    Raises:
        KayentaMeasurementError: without lookback and without an interval
            (the empty duration fails to parse; the measurement is Error).
        ValueError: on non-finite times or a negative interval.
    """
    now_s = _finite(now_s, "now_s")
    run_start_s = _finite(run_start_s, "run_start_s")
    lookback = _bool(lookback, "lookback")
    end = float(math.floor(now_s))
    if lookback:
        return float(math.floor(run_start_s)), end
    if interval_s is None:
        raise KayentaMeasurementError(
            'Invalid duration "": a metric interval is required when lookback is false'
        )
    interval = _non_negative(interval_s, "interval_s")
    return float(math.floor(now_s - interval)), end
