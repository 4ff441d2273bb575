"""A track: one Deployment of the service among several, as its own controller sees it.

Bitmovin runs every service as four tracks (internal, free, paid, production), each a
Deployment with its own ReplicaSets and a ClusterIP Service selecting it by a ``track`` label
(semantics.md T1). The pods of all tracks share one cluster (its room, its scheduler, the pod
counts the run reports), but each track's controller sees only its own ReplicaSets and its own
Service, and updates at its own time with its own strategy. :class:`TrackDeployment` is that
view: the strategies of :mod:`simdeploy.strategies` take it where they take the
:class:`~simdeploy.cluster.Cluster` (``replica_sets``, ``replica_set``, ``changed``,
``observed``, ``subscribe``), so a RollingUpdate, a blue-green or a canary runs inside a track
unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simdeploy.cluster import WorkQueue

if TYPE_CHECKING:
    import simpy

    from simdeploy.cluster import Cluster, ReplicaSet
    from simdeploy.routing import Service

__all__ = ["TrackDeployment"]


class TrackDeployment:
    """One track's ReplicaSets and Service inside the shared cluster."""

    def __init__(self, cluster: Cluster, name: str, service: Service, replicas: int,
                 index: int) -> None:
        self.cluster = cluster
        self.name = name
        self.index = index
        """The track's place in the scenario's list: its pods count in lanes
        ``index × versions + version`` (:meth:`lane`)."""
        self.service = service
        self.replicas = replicas
        self.replica_sets: list[ReplicaSet] = []
        """This track's ReplicaSets, oldest first."""
        self._work = WorkQueue(cluster.env)
        """Each track's controller has its own work queue, so that one track's pass does not
        swallow a change another track's controller has not seen."""
        cluster.subscribe(self._work.mark)

    def replica_set(self, version: int) -> ReplicaSet:
        """A new, empty ReplicaSet of ``version`` in this track, behind this track's Service."""
        rs = self.cluster.replica_set(version, self.service, self.name, self.lane(version))
        self.replica_sets.append(rs)
        return rs

    def lane(self, version: int) -> int:
        """Where this track's pods of ``version`` count for a stage's health gate."""
        return self.index * len(self.cluster.versions) + version

    def changed(self) -> simpy.Event:
        """An event at the next change this track's controller has not seen."""
        return self._work.changed()

    def observed(self) -> None:
        """This track's controller pass starts: it has seen every change so far."""
        self._work.observed()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every pod or ReplicaSet change of the cluster."""
        self.cluster.subscribe(listener)
