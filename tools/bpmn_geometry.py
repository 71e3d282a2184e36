"""Plane geometry shared by the BPMN layout tool and the drawing check (one ``Rect`` for both).

Coordinates are BPMNDI diagram units (y grows downwards). ``Rect`` holds ints when the layout
tool makes it and floats when it is read from a file; every method works on either.

- ``Rect.overlaps``: the insides of two rectangles intersect by more than a tolerance (shapes
  that only touch do not overlap);
- ``Rect.crossed_by``: a segment passes through the inside of the rectangle (its 1 px border
  does not count, so an edge may end on a shape's side);
- ``Rect.near``: a segment comes within ``pad`` of the rectangle (the layout keeps edges that
  far from shapes it routes around);
- ``collinear_overlap``: how long two segments run on top of each other (0 when they only
  cross, touch at a point, or are not on one line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Point = tuple[float, float]

#: Shapes that only touch (or overlap by up to this much) do not overlap.
TOLERANCE = 1
#: Two segments are on one line when every end of one is this close to the other's line.
COLLINEAR_TOLERANCE = 1.0


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle: top-left corner, width and height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w // 2

    @property
    def cy(self) -> float:
        return self.y + self.h // 2

    def overlaps(self, other: Rect, tol: float = TOLERANCE) -> bool:
        return (
            self.x < other.right - tol
            and other.x < self.right - tol
            and self.y < other.bottom - tol
            and other.y < self.bottom - tol
        )

    def contains(self, p: Point, tol: float = 0) -> bool:
        """The point is inside the rectangle or on its border (or within ``tol`` of it)."""
        return (
            self.x - tol <= p[0] <= self.right + tol and self.y - tol <= p[1] <= self.bottom + tol
        )

    def near(self, a: Point, b: Point, pad: float = 3) -> bool:
        """The bounding box of the segment a-b comes within ``pad`` of the rectangle."""
        lo_x, hi_x = sorted((a[0], b[0]))
        lo_y, hi_y = sorted((a[1], b[1]))
        return (
            lo_x < self.right + pad
            and hi_x > self.x - pad
            and lo_y < self.bottom + pad
            and hi_y > self.y - pad
        )

    def crossed_by(self, a: Point, b: Point) -> bool:
        """True when the segment a-b passes through the inside of the rectangle."""
        x0, y0, x1, y1 = self.x + 1, self.y + 1, self.right - 1, self.bottom - 1
        if x0 >= x1 or y0 >= y1:
            return False
        t0, t1 = 0.0, 1.0
        dx, dy = b[0] - a[0], b[1] - a[1]
        for p, q in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
        return t1 - t0 > 1e-9


def _distance_to_line(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    return abs(dx * (p[1] - a[1]) - dy * (p[0] - a[0])) / length


def collinear_overlap(a: Point, b: Point, c: Point, d: Point) -> tuple[float, Point, Point]:
    """How far the segments a-b and c-d run on top of each other, and the shared stretch.

    Returns ``(length, start, end)``; the length is 0 when they are not on one line (within
    ``COLLINEAR_TOLERANCE``), or only cross or touch at a point.
    """
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    other = math.hypot(d[0] - c[0], d[1] - c[1])
    if length == 0 or other == 0:
        return 0.0, a, a
    if any(_distance_to_line(p, a, b) > COLLINEAR_TOLERANCE for p in (c, d)):
        return 0.0, a, a
    ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length

    def along(p: Point) -> float:
        return (p[0] - a[0]) * ux + (p[1] - a[1]) * uy

    lo = max(0.0, min(along(c), along(d)))
    hi = min(length, max(along(c), along(d)))
    if hi <= lo:
        return 0.0, a, a
    start = (a[0] + ux * lo, a[1] + uy * lo)
    end = (a[0] + ux * hi, a[1] + uy * hi)
    return hi - lo, start, end


def _point_at(points: list[Point], s: float) -> Point:
    """The point ``s`` along the polyline (its last point past the end)."""
    for a, b in zip(points, points[1:], strict=False):
        length = math.dist(a, b)
        if s <= length:
            k = s / length if length else 0.0
            return (a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k)
        s -= length
    return points[-1]


def _length(points: list[Point]) -> float:
    return sum(math.dist(a, b) for a, b in zip(points, points[1:], strict=False))


def common_prefix(a: list[Point], b: list[Point], tol: float = COLLINEAR_TOLERANCE) -> float:
    """How far two polylines coincide from their first points on (0 if those differ).

    Measured in 1 px steps along both: two flows leaving one point and drawn as a tree share
    the trunk up to where they part.
    """
    limit = min(_length(a), _length(b))
    s = 0.0
    while s <= limit and math.dist(_point_at(a, s), _point_at(b, s)) <= tol:
        s += 1.0
    return max(0.0, min(s - 1.0, limit))
