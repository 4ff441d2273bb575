"""Labels next to points that never overlap: a deterministic placement.

Each label has a fixed list of candidate places around its point, nearest first (the first is
up and to the right, where readers expect it). A candidate that overlaps another label, covers
a marker, covers the legend or leaves the axes is ruled out whenever any candidate is not;
among the rest, the nearest wins, a place further away winning only by keeping clear of lines
(error bars, the Pareto front), of other labels' leader lines and of other points. Labels are
placed in order, each given those before it, then each is moved to its best place given all
the others until none moves (a few rounds at most), so that an early label does not wall a
later point in. A label away from its point gets a thin leader line to it.

Sizes are measured, not guessed: the figure is laid out first (constrained layout runs at
draw time), each text's extent is measured once with the figure's renderer, and a candidate's
box is that extent put where the candidate's offset and alignment put it. Offsets are in
points, so the picture keeps its geometry at any dpi; the labels are left out of the layout so
that placing them cannot move the axes they were measured in.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from simdeploy.plots._style import plain

__all__ = ["place_labels"]


_PAD_PT = (4.0, 1.0)
"""Clear space kept around each label box (points): beside it, above and below it."""

_ROW_PT = 14.0
"""Spacing of the rows of candidate places (points): a 10 pt label and its padding fit."""

_LEADER_PT = 13.0
"""A label further than this from its point (points) gets a leader line."""

_LINE_PENALTY_PT = 30.0
"""How much further away (points) a label may go to avoid lying across a line."""

_LEADER_PENALTY_PT = 80.0
"""The same for a leader line across another label, or a label across a leader line."""

_NEIGHBOUR_PT = 20.0
"""A label closer than this (points) to a point other than its own reads as that point's..."""

_NEIGHBOUR_PENALTY_PT = 40.0
"""...so it goes this much further away (points) to avoid it."""

_FRACTION = {"left": 0.0, "bottom": 0.0, "center": 0.5, "right": 1.0, "top": 1.0}
"""Where an alignment puts the anchor along the text's box."""

_Segment = tuple[tuple[float, float], tuple[float, float]]


def _candidates() -> list[tuple[float, float, str, str, float]]:
    """Offsets (points), alignment and a cost that grows along the order of preference.

    The eight places around the point come first (up and to the right first), then columns
    of rows beside, above and below it, nearest first; the cost is the distance from the
    point, made non-decreasing along that order.
    """
    ring = [
        (9.0, 7.0, "left", "bottom"),
        (9.0, -7.0, "left", "top"),
        (-9.0, 7.0, "right", "bottom"),
        (-9.0, -7.0, "right", "top"),
        (11.0, 0.0, "left", "center"),
        (-11.0, 0.0, "right", "center"),
        (0.0, 11.0, "center", "bottom"),
        (0.0, -11.0, "center", "top"),
    ]
    further = []
    for dx in (14.0, -14.0, 34.0, -34.0, 60.0, -60.0, 0.0):
        ha = "left" if dx > 0 else "right" if dx < 0 else "center"
        for k in range(1, 13):
            for dy in (_ROW_PT * k, -_ROW_PT * k):
                if dx == 0.0 and abs(dy) < 20:
                    continue
                further.append((dx, dy, ha, "center"))
    further.sort(key=lambda c: math.hypot(c[0], c[1]))  # stable: ties keep the order above
    ordered = []
    cost = 0.0
    for dx, dy, ha, va in ring + further:
        cost = max(cost, math.hypot(dx, dy))
        ordered.append((dx, dy, ha, va, cost))
    return ordered


def _renderer_of(fig: Figure) -> RendererBase:
    """The figure's renderer after its layout has run (an Agg canvas when it has none)."""
    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)  # attaches itself as fig.canvas; pyplot stays untouched
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _outside(box: Bbox, frame: Bbox) -> float:
    """Area of ``box`` that lies outside ``frame``."""
    return box.width * box.height - _overlap(box, frame)


def _crosses(segment: _Segment, box: Bbox) -> bool:
    """Whether the segment meets the box (Liang–Barsky clipping)."""
    (x0, y0), (x1, y1) = segment
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - box.x0), (dx, box.x1 - x0), (-dy, y0 - box.y0), (dy, box.y1 - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo > hi:
            return False
    return True


def _covers(box: Bbox, x: float, y: float, radius: float) -> float:
    """How far a disc of ``radius`` around (x, y) reaches into the box (0 when it does not)."""
    nx, ny = _nearest(box, x, y)
    reach = radius - math.dist((nx, ny), (x, y))
    return reach * reach if reach > 0 else 0.0


def _distance(segment: _Segment, point: np.ndarray) -> float:
    """Distance from a point to a segment."""
    (x0, y0), (x1, y1) = segment
    dx, dy = x1 - x0, y1 - y0
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else ((point[0] - x0) * dx + (point[1] - y0) * dy) / length
    t = min(1.0, max(0.0, t))
    return math.dist((x0 + t * dx, y0 + t * dy), point)


def _padded(box: Bbox, pad_x: float, pad_y: float) -> Bbox:
    return Bbox.from_extents(box.x0 - pad_x, box.y0 - pad_y, box.x1 + pad_x, box.y1 + pad_y)


def _nearest(box: Bbox, x: float, y: float) -> tuple[float, float]:
    return min(max(x, box.x0), box.x1), min(max(y, box.y0), box.y1)


def place_labels(
    ax: Axes,
    xy: Sequence[tuple[float, float]],
    texts: Sequence[str],
    gids: Sequence[str],
    *,
    marker_radius_pt: float = 8.0,
    lines: Sequence[np.ndarray] = (),
    fontsize: float = 10,
    leader_color: str = "#666666",
) -> list[Annotation]:
    """Label each point of ``ax`` with its text, no two labels overlapping.

    Call it last, once everything else on the figure is drawn (axes limits, legend): the
    placement is measured against the final layout. Labels are placed one by one in the
    order given, each at its best candidate position given those already placed; then each
    in turn is moved to its best position given all the others, until none moves (at most a
    few rounds), so that an early label does not wall a later point in.

    Args:
        ax: the axes holding the points.
        xy: the points in data coordinates, in the order to place their labels.
        texts: each point's label, drawn as written (never mathtext).
        gids: each label's gid.
        marker_radius_pt: the markers' radius; no label covers any marker.
        lines: polylines in data coordinates (arrays of shape (n, 2)) that labels avoid
            crossing when they can.
        fontsize: the labels' size.
        leader_color: the colour of the leader lines.

    Returns:
        The labels, in the order of ``xy``.
    """
    fig = ax.get_figure(root=True)
    renderer = _renderer_of(fig)
    px_per_pt = fig.dpi / 72.0
    pad_x, pad_y = (p * px_per_pt for p in _PAD_PT)
    points = ax.transData.transform(np.asarray(xy, dtype=float).reshape(-1, 2))
    radius = marker_radius_pt * px_per_pt
    neighbour = _NEIGHBOUR_PT * px_per_pt
    frame = ax.get_window_extent(renderer)
    fixed: list[Bbox] = []
    legend = ax.get_legend()
    if legend is not None:
        fixed.append(legend.get_window_extent(renderer))
    segments: list[_Segment] = []
    for line in lines:
        display = ax.transData.transform(np.asarray(line, dtype=float).reshape(-1, 2))
        segments += [
            ((float(a[0]), float(a[1])), (float(b[0]), float(b[1])))
            for a, b in itertools.pairwise(display)
            if np.isfinite([a, b]).all()
        ]
    candidates = _candidates()

    # Every candidate box of every label, from one measurement of each text: the size does
    # not depend on where the text goes, and the alignment only shifts the box.
    boxes: list[list[Bbox]] = []  # padded: the room a label keeps to itself
    texts_only: list[list[Bbox]] = []  # the text alone, which must not cover a marker
    leaders: list[list[_Segment | None]] = []
    for (x, y), text in zip(points, texts):
        probe = ax.text(0, 0, text, fontsize=fontsize, transform=None)
        plain(probe)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        width, height = extent.width, extent.height
        own_boxes, own_texts, own_leaders = [], [], []
        for dx, dy, ha, va, _ in candidates:
            x0 = x + dx * px_per_pt - _FRACTION[ha] * width
            y0 = y + dy * px_per_pt - _FRACTION[va] * height
            text_box = Bbox.from_extents(x0, y0, x0 + width, y0 + height)
            box = _padded(text_box, pad_x, pad_y)
            own_texts.append(text_box)
            own_boxes.append(box)
            near = _nearest(box, x, y)
            far = math.dist(near, (x, y)) > _LEADER_PT * px_per_pt
            # a leader runs from the point to the text's anchor (its aligned edge)
            anchor = (float(x + dx * px_per_pt), float(y + dy * px_per_pt))
            own_leaders.append(((float(x), float(y)), anchor) if far else None)
        boxes.append(own_boxes)
        texts_only.append(own_texts)
        leaders.append(own_leaders)

    chosen: list[int | None] = [None] * len(points)

    def score(i: int, c: int) -> tuple[float, float]:
        box, leader = boxes[i][c], leaders[i][c]
        hard = sum(_overlap(box, other) for other in fixed) + _outside(box, frame)
        hard += sum(_covers(texts_only[i][c], mx, my, radius) for mx, my in points)
        penalty = _LINE_PENALTY_PT * sum(_crosses(s, box) for s in segments)
        own = points[i]
        for other in points:
            if math.dist(other, own) > radius:  # not a point drawn over its own
                if math.dist(_nearest(box, *other), other) < neighbour:
                    penalty += _NEIGHBOUR_PENALTY_PT
                if leader is not None and _distance(leader, other) < neighbour:
                    penalty += _NEIGHBOUR_PENALTY_PT
        for j, other in enumerate(chosen):
            if other is None or j == i:
                continue
            hard += _overlap(box, boxes[j][other])
            if leaders[j][other] is not None and _crosses(leaders[j][other], texts_only[i][c]):
                penalty += _LEADER_PENALTY_PT
            if leader is not None and _crosses(leader, texts_only[j][other]):
                penalty += _LEADER_PENALTY_PT
        return hard, candidates[c][4] + penalty

    def best(i: int) -> tuple[tuple[float, float], int]:
        found: tuple[tuple[float, float], int] | None = None
        for c, candidate in enumerate(candidates):
            if found is not None and found[0][0] == 0 and candidate[4] >= found[0][1]:
                break  # what is left is further away than the best, which overlaps nothing
            current = (score(i, c), c)
            if found is None or current < found:
                found = current
        assert found is not None
        return found

    for i in range(len(points)):
        chosen[i] = best(i)[1]
    for _ in range(4):
        moved = False
        for i in range(len(points)):
            here = chosen[i]
            assert here is not None
            (better, c) = best(i)
            if better < score(i, here):
                chosen[i] = c
                moved = True
        if not moved:
            break

    labels: list[Annotation] = []
    for i, (data_xy, text, gid) in enumerate(zip(xy, texts, gids)):
        c = chosen[i]
        assert c is not None
        dx, dy, ha, va, _ = candidates[c]
        arrow = None
        if leaders[i][c] is not None:
            arrow = {
                "arrowstyle": "-",
                "relpos": (_FRACTION[ha], _FRACTION[va]),
                "color": leader_color,
                "linewidth": 0.8,
                "shrinkA": 1.0,
                "shrinkB": marker_radius_pt,
            }
        label = ax.annotate(
            text,
            data_xy,
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=fontsize,
            gid=gid,
            zorder=5,
            arrowprops=arrow,
        )
        plain(label)
        label.set_in_layout(False)
        labels.append(label)
    return labels
