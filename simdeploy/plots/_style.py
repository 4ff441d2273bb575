"""Shared look of the figures: colours, number formats, and a Figure that shows in Jupyter."""

from __future__ import annotations

import io
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

__all__ = [
    "AXIS_LABELS",
    "COUNT_COLUMNS",
    "STRATEGY_COLORS",
    "VERSION_COLORS",
    "NotebookFigure",
    "format_value",
    "integer_ticks",
    "note",
    "thousands",
    "version_color",
]


VERSION_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
"""Colours of the versions in release order: the current version, then the new one (Okabe-Ito)."""


STRATEGY_COLORS = (
    "#56B4E9",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#8C6D31",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
)


COUNT_COLUMNS = frozenset(
    {
        "peak_pods",
        "requests_failed",
        "users_exposed_new",
        "users_with_errors",
        "requests_total",
        "users_total",
        "baseline_pods",
        "peak_pods_scheduled",
    }
)


AXIS_LABELS = {
    "downtime_s": "downtime (s)",
    "requests_total": "requests (count)",
    "requests_failed": "requests failed (count)",
    "error_rate": "error rate (fraction of requests)",
    "users_total": "users (count)",
    "users_exposed_new": "users exposed to the new version (count)",
    "users_with_errors": "users with ≥ 1 failed request (count)",
    "baseline_pods": "replicas (pods)",
    "peak_pods": "peak pods (pods)",
    "extra_pod_seconds": "extra pod-seconds (pod·s)",
    "extra_cost": "extra cost (currency of podCostPerHour)",
    "rollout_duration_s": "rollout duration (s)",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p99_ms": "latency p99 (ms)",
    "peak_pods_scheduled": "peak scheduled pods (pods)",
    "extra_scheduled_pod_seconds": "extra scheduled pod-seconds (pod·s)",
}


class NotebookFigure(Figure):
    """A Figure that also renders in Jupyter when ``pyplot``'s inline backend is not active.

    IPython shows an object as an image when its type has a registered printer (what
    ``%matplotlib inline`` or importing ``pyplot`` in a kernel sets up) or, failing that, a
    ``_repr_png_`` method. A bare :class:`~matplotlib.figure.Figure` has neither until
    ``pyplot`` is imported, so it would print as ``<Figure size ...>``.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


def integer_ticks() -> MaxNLocator:
    """Matplotlib's default tick choice, but never between whole pods, users or requests."""
    return MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True)


def version_color(index: int) -> str:
    return VERSION_COLORS[index % len(VERSION_COLORS)]


def note(ax: Axes, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        color="#555555",
        gid="note",
    )


def format_value(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10 or value == 0:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def thousands(axis: Any, largest: float) -> None:
    """Group the digits of large tick values (50,000 rather than 50000)."""
    if largest >= 10_000:
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
