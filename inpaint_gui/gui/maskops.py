"""Mask painting and mask operations on numpy arrays (no Qt).

``mask`` is bool (H, W), True where pixels are missing. Rectangles are ``(x0, y0, x1, y1)``,
end exclusive. Coordinates of points are continuous image coordinates: pixel (i, j) covers
``[j, j+1) x [i, i+1)`` and its centre is ``(j + 0.5, i + 0.5)``.
"""

from __future__ import annotations

import numpy as np

from inpaint_gui.gui.undo import MaskDiff, Rect, bbox, union_rect


def clip_rect(rect: Rect, shape: tuple[int, ...]) -> Rect | None:
    """``rect`` clipped to an array of ``shape`` (H, W, ...); None when nothing is left."""
    h, w = shape[:2]
    x0, y0, x1, y1 = max(0, rect[0]), max(0, rect[1]), min(w, rect[2]), min(h, rect[3])
    if x0 >= x1 or y0 >= y1:
        return None
    return (x0, y0, x1, y1)


def segment_rect(p0: tuple[float, float], p1: tuple[float, float], radius: float) -> Rect:
    """Integer bounding rectangle of a round brush swept from ``p0`` to ``p1``."""
    x0 = int(np.floor(min(p0[0], p1[0]) - radius))
    y0 = int(np.floor(min(p0[1], p1[1]) - radius))
    x1 = int(np.ceil(max(p0[0], p1[0]) + radius)) + 1
    y1 = int(np.ceil(max(p0[1], p1[1]) + radius)) + 1
    return (x0, y0, x1, y1)


def paint_segment(
    mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], radius: float, value: bool
) -> Rect | None:
    """Set every pixel whose centre lies within ``radius`` of the segment p0-p1 to ``value``.

    A zero-length segment is a round dab. A brush narrower than a pixel still marks the
    pixel under the point. Returns the rectangle that may have changed.
    """
    rect = clip_rect(segment_rect(p0, p1, radius), mask.shape)
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    px = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5  # (1, w) pixel centres
    py = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5  # (h, 1)
    ax, ay = p0
    dx, dy = p1[0] - ax, p1[1] - ay
    seg2 = dx * dx + dy * dy
    if seg2 > 0:
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / seg2, 0.0, 1.0)  # (h, w)
    else:
        t = np.zeros((y1 - y0, x1 - x0))
    ex = px - (ax + t * dx)
    ey = py - (ay + t * dy)
    r = max(radius, 0.5)
    hit = ex * ex + ey * ey <= r * r  # (h, w)
    # pixels that contain a point of the segment are always hit (thin brushes)
    for x, y in (p0, p1):
        j, i = int(np.floor(x)) - x0, int(np.floor(y)) - y0
        if 0 <= i < hit.shape[0] and 0 <= j < hit.shape[1]:
            hit[i, j] = True
    mask[y0:y1, x0:x1][hit] = value
    return rect


def fill_rect(mask: np.ndarray, rect: Rect, value: bool) -> Rect | None:
    """Set a rectangle of the mask to ``value``; returns the clipped rectangle."""
    r = clip_rect(rect, mask.shape)
    if r is not None:
        mask[r[1] : r[3], r[0] : r[2]] = value
    return r


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The hole grown by ``pixels`` (Euclidean distance); negative values shrink it."""
    from scipy import ndimage

    out = mask.copy()
    if pixels == 0:
        return out
    rect = bbox(mask)
    if rect is None:
        return out
    n = abs(int(pixels))
    h, w = mask.shape
    x0, y0, x1, y1 = max(0, rect[0] - n - 1), max(0, rect[1] - n - 1), min(w, rect[2] + n + 1), min(h, rect[3] + n + 1)
    crop = mask[y0:y1, x0:x1]
    if pixels > 0:
        dist = ndimage.distance_transform_edt(~crop)  # distance of known pixels to the hole
        out[y0:y1, x0:x1] = dist <= n
    else:
        # distance of hole pixels to the known area; the image border does not count as known
        padded = np.pad(crop, 1, mode="edge")
        dist = ndimage.distance_transform_edt(padded)[1:-1, 1:-1]
        out[y0:y1, x0:x1] = dist > n
    return out


class StrokeRecorder:
    """Collects the mask's "before" state tile by tile during a stroke, for one undo step.

    Call :meth:`touch` with each rectangle *before* modifying it; :meth:`finish` returns a
    :class:`MaskDiff` of the whole stroke (or None if nothing changed). Memory is bounded by
    the tiles the stroke actually visits.
    """

    TILE = 128

    def __init__(self, mask: np.ndarray, label: str, layer: str = "mask"):
        self.mask = mask
        self.label = label
        self.layer = layer  # which of the document's mask layers ``mask`` is
        self.tiles: dict[tuple[int, int], np.ndarray] = {}
        self.rect: Rect | None = None

    def touch(self, rect: Rect | None) -> None:
        if rect is None:
            return
        t = self.TILE
        h, w = self.mask.shape
        for ty in range(rect[1] // t, (rect[3] - 1) // t + 1):
            for tx in range(rect[0] // t, (rect[2] - 1) // t + 1):
                if (ty, tx) not in self.tiles:
                    self.tiles[(ty, tx)] = self.mask[ty * t : min(h, ty * t + t), tx * t : min(w, tx * t + t)].copy()
                    tile_rect = (tx * t, ty * t, min(w, tx * t + t), min(h, ty * t + t))
                    self.rect = union_rect(self.rect, tile_rect)

    def finish(self) -> MaskDiff | None:
        if self.rect is None:
            return None
        x0, y0, x1, y1 = self.rect
        after = self.mask[y0:y1, x0:x1]
        before = after.copy()
        t = self.TILE
        for (ty, tx), tile in self.tiles.items():
            by, bx = ty * t - y0, tx * t - x0
            before[by : by + tile.shape[0], bx : bx + tile.shape[1]] = tile
        diff = bbox(before != after)
        if diff is None:
            return None
        dx0, dy0, dx1, dy1 = diff
        rect = (x0 + dx0, y0 + dy0, x0 + dx1, y0 + dy1)
        return MaskDiff(self.label, rect, before[dy0:dy1, dx0:dx1], after[dy0:dy1, dx0:dx1], self.layer)
