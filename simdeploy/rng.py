"""The run's randomness: named, fixed-order streams spawned from one seed.

``SeedSequence(seed).spawn(k)`` gives independent children whose i-th stream does not depend
on k, so new streams are only ever appended at the end and existing ones keep their values.
Arrivals and users have their own streams, so every strategy run with the same seed sees the
same requests from the same users (common random numbers: lower-variance comparisons).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["STREAM_NAMES", "Streams"]

STREAM_NAMES = (
    "arrivals",
    "users",
    "service",
    "errors",
    "pods",
    "routing",
    "propagation",
    "affected",
    "segments",
    "dns",
    "targets",
)
"""Stream order is part of the reproducibility contract: append, never reorder."""


@dataclass(frozen=True)
class Streams:
    """One ``numpy.random.Generator`` per concern, all from one seed."""

    arrivals: np.random.Generator
    users: np.random.Generator
    service: np.random.Generator
    errors: np.random.Generator
    pods: np.random.Generator
    routing: np.random.Generator
    propagation: np.random.Generator
    affected: np.random.Generator
    """Which users a partial regression hits, and which requests (``VersionSpec.affected``)."""
    segments: np.random.Generator
    """Which segment each user belongs to (``traffic.segments``), drawn once per run."""
    dns: np.random.Generator
    """Each user's DNS client kind and cache age at a DNS switch (``BlueGreen.dns``)."""
    targets: np.random.Generator
    """Propagation delays and health-check phases of an external load balancer's target
    groups (``BlueGreen.externalLoadBalancer``)."""

    @classmethod
    def from_seed(cls, seed: int) -> Streams:
        """Spawn every stream from ``seed`` (once per run)."""
        children = np.random.SeedSequence(seed).spawn(len(STREAM_NAMES))
        gens = {name: np.random.default_rng(child) for name, child in zip(STREAM_NAMES, children)}
        return cls(**gens)
