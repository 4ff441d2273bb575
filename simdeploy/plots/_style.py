r"""Shared look of the figures: colours, number formats, safe text, a Figure that shows in Jupyter.

Two rules hold across every figure and every report:

* **A strategy keeps its colour, by name.** :func:`strategy_colors` derives the colour from
  the strategy's name alone (well-known names are pinned; others by a CRC-32 of the name,
  which, unlike Python's ``hash()``, is the same in every process), so reordering the
  strategies or adding one leaves the others' colours alone, unless two names want the same
  colour; then a fixed rule, independent of the order, keeps them apart.
* **User text is text.** Strategy, scenario and version names are drawn as they are written:
  never parsed as mathtext or TeX (a name like ``x$\frac{$`` would otherwise stop the figure
  from saving). :func:`plain` marks Text artists so; :func:`escape_math` escapes the dollar
  signs where matplotlib offers no such switch (tick labels, which it re-creates).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

__all__ = [
    "AXIS_LABELS",
    "COUNT_COLUMNS",
    "STRATEGY_COLORS",
    "VERSION_COLORS",
    "NotebookFigure",
    "escape_math",
    "format_value",
    "integer_ticks",
    "is_count",
    "note",
    "plain",
    "strategy_color",
    "strategy_colors",
    "thousands",
    "version_color",
]


VERSION_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
"""Colours of the versions in release order: the current version, then the new one (Okabe-Ito)."""


STRATEGY_COLORS = (
    "#56B4E9",  # sky blue: rolling
    "#009E73",  # bluish green: blue-green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion: recreate
    "#8C6D31",  # brown
    "#7F7F7F",  # grey
    "#BCBD22",  # olive yellow: canary
    "#332288",  # indigo
)
"""The strategies' palette; :func:`strategy_colors` picks from it by name."""


_PINNED_SLOTS = {
    "recreate": 3,
    "rolling": 0,
    "rollingupdate": 0,
    "bluegreen": 1,
    "canary": 6,
}
"""Palette slots of the well-known names (compared without case, '-', '_' or spaces)."""


def _pinned_slot(name: str) -> int | None:
    key = "".join(ch for ch in name.casefold() if ch not in "-_ ")
    return _PINNED_SLOTS.get(key)


def _preferred_slot(name: str) -> int:
    pinned = _pinned_slot(name)
    if pinned is not None:
        return pinned
    return zlib.crc32(name.encode("utf-8", "surrogatepass")) % len(STRATEGY_COLORS)


def strategy_colors(names: Iterable[str]) -> dict[str, str]:
    """The colour of each strategy drawn together, from the names alone.

    Each name prefers one palette slot: its pinned slot for the well-known names (recreate,
    rolling, blue-green, canary), otherwise the CRC-32 of its UTF-8 bytes modulo the palette
    size. Names then claim slots in a fixed order that does not depend on the order given
    (pinned names first, then by name); a name whose slot is taken moves to the next free
    slot. So up to ``len(STRATEGY_COLORS)`` strategies always get distinct colours, and a
    strategy's colour changes only when a name that takes precedence claims its slot. Past
    the palette's size, the names left over share their preferred colour.

    Args:
        names: the strategies in one figure (or report); duplicates are ignored.

    Returns:
        name → colour (hex string).
    """
    unique = sorted({str(n) for n in names}, key=lambda n: (_pinned_slot(n) is None, n))
    size = len(STRATEGY_COLORS)
    taken: set[int] = set()
    colors: dict[str, str] = {}
    for name in unique:
        slot = _preferred_slot(name)
        if len(taken) < size:
            while slot in taken:
                slot = (slot + 1) % size
            taken.add(slot)
        colors[name] = STRATEGY_COLORS[slot]
    return colors


def strategy_color(name: str, names: Iterable[str] = ()) -> str:
    """The colour of strategy ``name`` when drawn with ``names`` (see :func:`strategy_colors`)."""
    return strategy_colors([*names, name])[str(name)]


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
        "peak_pods_pending",
        *(
            f"requests_{outcome}"
            for outcome in (
                "ok",
                "error",
                "refused",
                "no_endpoint",
                "overload",
                "killed",
                "timeout",
                "unfinished",
            )
        ),
    }
)
"""Summary keys that count whole things (pods, requests, users): integer ticks and labels."""


AXIS_LABELS = {
    "downtime_s": "downtime (s)",
    "requests_total": "requests (count)",
    "requests_failed": "requests failed (count)",
    "error_rate": "error rate (fraction of requests)",
    "users_total": "users (count)",
    "users_exposed_new": "users exposed to the new version (count)",
    "users_with_errors": "users with ≥ 1 failed request (count)",
    "baseline_pods": "replicas (pods)",
    "peak_pods": "peak pods, Pending included (pods)",
    "extra_pod_seconds": "extra pod-seconds, Pending included (pod·s)",
    "extra_cost": "extra cost (currency of podCostPerHour)",
    "rollout_duration_s": "rollout duration (s)",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p99_ms": "latency p99 (ms)",
    "peak_pods_scheduled": "peak scheduled pods (pods)",
    "extra_scheduled_pod_seconds": "extra scheduled pod-seconds (pod·s)",
    "peak_pods_pending": "peak Pending pods (pods)",
    "pending_pod_seconds": "Pending pod-seconds (pod·s)",
}
"""Axis labels of the summary keys, each with its unit."""


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
    """The colour of the version at ``index`` in release order."""
    return VERSION_COLORS[index % len(VERSION_COLORS)]


def note(ax: Axes, text: str) -> None:
    """A grey remark in the middle of an empty panel (e.g. "no failed requests")."""
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


def is_count(column: str | None) -> bool:
    """Whether the summary key counts whole things (see :data:`COUNT_COLUMNS`)."""
    return column in COUNT_COLUMNS


def format_value(value: float, column: str | None = None) -> str:
    """A value for a label: few digits, thousands grouped, counts as integers.

    A count (``column`` in :data:`COUNT_COLUMNS`) that is whole prints as an integer ("12",
    never "12.0"); a count that is not whole is a mean over replications and keeps one
    decimal below 100 ("12.5").
    """
    value = float(value)
    if is_count(column):
        if abs(value - round(value)) < 1e-9 or abs(value) >= 100:
            return f"{round(value):,}"
        return f"{value:.1f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10 or value == 0:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def escape_math(text: str) -> str:
    """``text`` with each ``$`` escaped, so matplotlib draws it literally, never as mathtext.

    For texts whose Text artist matplotlib may re-create (tick labels); keep their
    ``parse_math`` on, because the escape is undone only by the mathtext check.
    """
    return str(text).replace("$", r"\$")


def plain(*texts: Text | None) -> None:
    """Draw these Text artists as written: no mathtext, no TeX (for user-given strings)."""
    for text in texts:
        if text is not None:
            text.set_parse_math(False)
            text.set_usetex(False)


def thousands(axis: Any, largest: float) -> None:
    """Group the digits of large tick values (50,000 rather than 50000)."""
    if largest >= 10_000:
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
