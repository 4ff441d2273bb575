"""Durations and random durations, as they appear in scenario files.

Every duration in a scenario is seconds: a number (``2.5``) or a string with a unit
(``"250ms"``, ``"30s"``, ``"5m"``, ``"1h"``). A random duration (pod start, warm-up, service
time, endpoint propagation) is one of a few distributions, written with a ``type``::

    containerStart: 2s                                   # a constant
    containerStart: {type: lognormal, median: 8, sigma: 0.3}
    serviceTime: {type: exponential, mean: 40ms}
    endpointPropagationDelay: {type: uniform, low: 0.5, high: 3}

A distribution never owns randomness: ``sample(rng, size)`` draws from the run's
``numpy.random.Generator`` so that a run is reproducible from its seed alone.
:class:`Sampler` hands out draws one at a time from numpy batches, because a numpy call per
request would dominate the per-request cost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from simdeploy.units import parse_with_unit

__all__ = [
    "Constant",
    "Distribution",
    "Duration",
    "Exponential",
    "LogNormal",
    "OptionalDistribution",
    "Sampler",
    "SpecModel",
    "Uniform",
    "parse_duration",
    "uniform_stream",
]

_UNIT_SECONDS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


_GO_COMPOUND = re.compile(r"\s*(?:[0-9]*\.?[0-9]+(?:ns|us|µs|μs|ms|s|m|h)){2,}\s*")
"""Go's compound durations (``"1m30s"``, ``"1h0m0s"``), as Argo and Flagger manifests write
them: read with Go's own rules (:mod:`simdeploy.rules.go_duration`)."""


def parse_duration(value: Any) -> float:
    """Return seconds for a number or a string such as ``"250ms"``, ``"30s"``, ``"5m"``, or a
    Go compound duration such as ``"1m30s"``.

    Raises:
        ValueError: on a negative, non-finite or malformed value.
    """
    if isinstance(value, str) and _GO_COMPOUND.fullmatch(value):
        from simdeploy.rules.go_duration import parse_duration as parse_go

        return parse_go(value.strip())
    return parse_with_unit(value, _UNIT_SECONDS, "s", "duration", "30, '250ms', '30s' or '5m'",
                           "a finite number of seconds >= 0")


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written as a number or with a unit (``ms``, ``s``, ``m``, ``h``)."""


INT32_MAX = 2**31 - 1
"""Kubernetes' counts are int32: replicas, thresholds, IntOrString values."""


class SpecModel(BaseModel):
    """Base of every scenario model: frozen, no unknown keys, camelCase in YAML.

    Strict: a boolean is not a number and ``"3"`` is not an integer (YAML's ``true`` would
    otherwise become 1.0); infinities and NaN are refused everywhere (an infinite rate would
    run forever).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        allow_inf_nan=False,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
    )


class Constant(SpecModel):
    """Always the same value (the default reading of a plain number)."""

    type: Literal["constant"] = "constant"
    value: Duration = Field(description="the value, seconds")

    @property
    def mean(self) -> float:
        """The mean, seconds."""
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values (no randomness is consumed)."""
        return np.full(size, self.value)


class Exponential(SpecModel):
    """Memoryless: service times of an M/M/c queue, or rare, independent delays."""

    type: Literal["exponential"]
    mean: Duration = Field(description="the mean, seconds")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.exponential(self.mean, size)


class LogNormal(SpecModel):
    """Right-skewed: pod start-up and latencies, whose tails are long."""

    type: Literal["lognormal"]
    median: Duration = Field(gt=0, description="the median, seconds")
    sigma: float = Field(ge=0, le=10, description="standard deviation of the log")

    @property
    def mean(self) -> float:
        """The mean, seconds."""
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.lognormal(math.log(self.median), self.sigma, size)


class Uniform(SpecModel):
    """Anything between two bounds, equally likely."""

    type: Literal["uniform"]
    low: Duration = Field(description="lower bound, seconds")
    high: Duration = Field(description="upper bound, seconds")

    @field_validator("high")
    @classmethod
    def _ordered(cls, high: float, info: ValidationInfo) -> float:
        low = info.data.get("low")
        if low is not None and high < low:
            raise ValueError(f"must be >= low ({low:g} s), got {high:g} s")
        return high

    @property
    def mean(self) -> float:
        """The mean, seconds."""
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values."""
        return rng.uniform(self.low, self.high, size)


def _constant_from_scalar(value: Any) -> Any:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return {"type": "constant", "value": value}
    return value


Distribution = Annotated[
    Constant | Exponential | LogNormal | Uniform,
    BeforeValidator(_constant_from_scalar),
    Field(discriminator="type"),
]
"""A random duration: a number or duration string, or ``{type: constant|exponential|...}``."""

OptionalDistribution = Annotated[
    Annotated[Constant | Exponential | LogNormal | Uniform, Field(discriminator="type")] | None,
    BeforeValidator(_constant_from_scalar),
]
"""A random duration, or null."""


class Sampler:
    """Hands out draws of one distribution one at a time, drawing from numpy in batches.

    ``sampler.next()`` is the ``__next__`` of an iterator over the batches, a C call: the
    per-request cost of a draw is one call, not a numpy call or an index check. The sequence
    of values depends only on the generator's state, so a run stays reproducible.
    """

    __slots__ = ("next",)

    def __init__(self, dist: Constant | Exponential | LogNormal | Uniform,
                 rng: np.random.Generator, batch: int = 4096) -> None:
        def batches() -> Iterator[list[float]]:
            while True:
                yield dist.sample(rng, batch).tolist()

        self.next: Callable[[], float] = chain.from_iterable(batches()).__next__
        """The next draw, seconds."""


def uniform_stream(rng: np.random.Generator) -> Sampler:
    """Uniform [0, 1) draws one at a time (routing and error coin flips)."""
    return Sampler(Uniform(type="uniform", low=0.0, high=1.0), rng)
