"""Full-resolution photo <-> model-resolution window: choose, crop, resize, paste.

The model sees an S x S image; a photo can be any size. A *window* ``(x, y, size)`` is a square
of the photo (top-left corner and side, full-resolution pixels) that is resized to S x S for
the latent search, and whose fill is resized back and pasted into the hole.

Choosing windows (:func:`auto_windows`)
    Each 8-connected hole component gets a square centred on its bounding box, with side
    ``ceil(max(h, w) * (1 + 2 * context))`` clipped to ``[min_size, min(H, W)]`` and shifted (not
    shrunk) inside the photo. Groups whose windows overlap, or whose holes would fit in one
    window no larger than the bigger of the two anyway, are merged (their bounding boxes
    united, the window recomputed) until nothing changes. Windows of different groups therefore
    never overlap. Order: top-to-bottom, then left-to-right.

    A group longer than the photo's short side (possible only in a non-square photo) fits in no
    square. It is then *tiled*: squares of side ``min(H, W)``, spanning the whole short axis,
    spread evenly (and overlapping a little) along the long axis over the group's extent plus a
    margin of ``ceil(context * min(H, W) / (1 + 2 * context))`` pixels each end; tiles without
    a hole pixel are dropped. Such tiles are the only windows that overlap one another: process
    windows in order and count pixels already filled as known. Every hole pixel of the mask lies
    in some window returned by :func:`auto_windows`; :func:`uncovered` checks any list (such as a
    window the user placed).

Resizing
    :func:`to_model` and :func:`from_model` (in ``resample.py``): exact area
    averaging down with "any missing source pixel" marking the model pixel missing, bicubic
    up in float32 for the Poisson blend's guidance field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from inpaint_gui.core.errors import MaskError

Window = tuple[int, int, int]  # (x, y, size): top-left corner and side, full-res pixels

__all__ = [
    "Window",
    "auto_windows",
    "crop",
    "uncovered",
    "validate_window",
]

# Above this many groups, overlaps are first found by painting footprints on a raster (O(H*W)),
# so that a speckle mask with a million components costs seconds, not a pairwise sweep.
_RASTER_ABOVE = 256
# Candidate pairs examined per chunk of the sweep.
_PAIR_CHUNK = 1 << 21
_MISSING_GREY = 128
# Float64 elements per block in the resampling loop (about 1 MiB).
_BLOCK_ELEMENTS = 1 << 17


# --------------------------------------------------------------------------- validation


def _hw(image_shape: Sequence[int]) -> tuple[int, int]:
    if len(image_shape) < 2:
        raise ValueError(f"image shape {tuple(image_shape)} has no height and width")
    return int(image_shape[0]), int(image_shape[1])


def validate_window(window: Sequence[int], image_shape: Sequence[int]) -> Window:
    """Return ``window`` as a tuple of ints; MaskError unless square, positive and in the photo.

    ``image_shape`` is ``(H, W)`` or ``(H, W, C)``.
    """
    h, w = _hw(image_shape)
    try:
        values = tuple(window)
    except TypeError:
        values = ()
    if len(values) != 3 or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        raise MaskError(f"window {window!r} is not three integers (x, y, size)")
    x, y, size = (int(v) for v in values)
    if size <= 0:
        raise MaskError(f"window (x={x}, y={y}, size={size}) has no area: size must be positive")
    if x < 0 or y < 0 or x + size > w or y + size > h:
        raise MaskError(f"window (x={x}, y={y}, size={size}) does not lie inside the {w}x{h} photo")
    return x, y, size


def check_placed_window(window: Sequence[int], mask: np.ndarray) -> Window:
    """A window the user placed: :func:`validate_window`, and it must hold hole pixels."""
    x, y, size = validate_window(window, mask.shape)
    if not mask[y : y + size, x : x + size].any():
        raise MaskError(f"the window {x},{y},{size} contains no hole pixel: place it over the hole")
    return x, y, size


def check_mask(mask: np.ndarray, image_shape: Sequence[int] | None = None) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise MaskError(f"the mask has shape {mask.shape}; expected a 2-D (H, W) array")
    if image_shape is not None:
        h, w = _hw(image_shape)
        if mask.shape != (h, w):
            raise MaskError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {w}x{h}")
    return mask.astype(bool, copy=False)


def check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3); got {image.dtype} {image.shape}")
    return image


def crop(image_or_mask: np.ndarray, window: Sequence[int]) -> np.ndarray:
    """The window's region of an (H, W, ...) array, as a view (no copy)."""
    arr = np.asarray(image_or_mask)
    x, y, size = validate_window(window, arr.shape)
    return arr[y : y + size, x : x + size]


def uncovered(mask: np.ndarray, windows: Iterable[Sequence[int]]) -> np.ndarray:
    """Bool (H, W): hole pixels that lie in none of ``windows``."""
    mask = check_mask(mask)
    covered = np.zeros(mask.shape, dtype=bool)
    for win in windows:
        x, y, size = validate_window(win, mask.shape)
        covered[y : y + size, x : x + size] = True
    return mask & ~covered


# --------------------------------------------------------------------------- auto windows


@dataclass(frozen=True)
class _Geometry:
    h: int
    w: int
    context: float
    min_size: int

    @property
    def short(self) -> int:
        return min(self.h, self.w)

    def need(self, extent: np.ndarray) -> np.ndarray:
        """Side wanted for a hole of this extent: with context, at least ``min_size``."""
        grown = np.ceil(np.round(extent * (1.0 + 2.0 * self.context), 9)).astype(np.int64)
        return np.maximum(grown, self.min_size)

    @property
    def pad(self) -> int:
        """Margin at each end of a tiled (too long) group."""
        return int(np.ceil(round(self.context * self.short / (1.0 + 2.0 * self.context), 9)))


def _component_boxes(mask: np.ndarray) -> np.ndarray:
    """(n, 4) int64 [y0, y1, x0, x1) of the 8-connected components of ``mask``."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return np.zeros((0, 4), dtype=np.int64)
    big = np.iinfo(np.int64).max
    y0, x0 = np.full(n, big, np.int64), np.full(n, big, np.int64)
    y1, x1 = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    w = labels.shape[1]
    step = max(1, (1 << 22) // max(w, 1))  # about 4M pixels per block bounds the memory
    for r in range(0, labels.shape[0], step):
        block = labels[r : r + step].ravel()
        idx = np.flatnonzero(block)
        lab = block[idx].astype(np.int64) - 1
        ys, xs = np.divmod(idx, w)
        ys += r
        np.minimum.at(y0, lab, ys)
        np.maximum.at(y1, lab, ys)
        np.minimum.at(x0, lab, xs)
        np.maximum.at(x1, lab, xs)
    del labels
    boxes = np.stack([y0, y1 + 1, x0, x1 + 1], axis=1)  # (n, 4) [y0, y1, x0, x1)
    return boxes


def _footprints(boxes: np.ndarray, g: _Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Footprint rectangles (n, 4) [y0, y1, x0, x1), needed sides (n,), oversize flags (n,).

    A normal group's footprint is its window; an oversize group's (longer than the short
    side) is the strip its tiles cover.
    """
    y0, y1, x0, x1 = boxes.T
    bh, bw = y1 - y0, x1 - x0
    need = g.need(np.maximum(bh, bw))
    side = np.minimum(need, g.short)
    wy = np.clip(y0 - (side - bh) // 2, 0, g.h - side)  # centred, then shifted inside
    wx = np.clip(x0 - (side - bw) // 2, 0, g.w - side)
    fp = np.stack([wy, wy + side, wx, wx + side], axis=1)
    over = (bh > g.short) | (bw > g.short)
    if over.any():
        pad = g.pad
        long_x = over & (bw > g.short)  # then H == short: the strip spans every row
        fp[long_x] = np.stack(
            [
                np.zeros(long_x.sum(), np.int64),
                np.full(long_x.sum(), g.h, np.int64),
                np.maximum(x0[long_x] - pad, 0),
                np.minimum(x1[long_x] + pad, g.w),
            ],
            axis=1,
        )
        long_y = over & ~long_x
        fp[long_y] = np.stack(
            [
                np.maximum(y0[long_y] - pad, 0),
                np.minimum(y1[long_y] + pad, g.h),
                np.zeros(long_y.sum(), np.int64),
                np.full(long_y.sum(), g.w, np.int64),
            ],
            axis=1,
        )
    return fp, need, over


def _union_boxes(boxes: np.ndarray, comp: np.ndarray, k: int) -> np.ndarray:
    """Bounding box of each of the ``k`` groups ``comp`` assigns the boxes to."""
    big = np.iinfo(np.int64).max
    out = np.empty((k, 4), dtype=np.int64)
    for col, (fill, op) in enumerate([(big, np.minimum), (-1, np.maximum), (big, np.minimum), (-1, np.maximum)]):
        acc = np.full(k, fill, dtype=np.int64)
        op.at(acc, comp, boxes[:, col])
        out[:, col] = acc
    return out


def _raster_groups(fp: np.ndarray, g: _Geometry) -> np.ndarray:
    """Group index per footprint: connected sets of overlapping footprints (transitively).

    Each footprint, shrunk by one pixel at its right and bottom, is painted with a 2-D
    difference array. Two footprints overlap (positive area) exactly when their shrunk pixel
    sets are 8-adjacent or overlap, so 8-connected components of the painted set are the
    transitive overlap groups. Footprints with a side of 1 stay alone (the pairwise pass
    handles them).
    """
    n = len(fp)
    fy0, fy1, fx0, fx1 = fp.T
    ok = (fy1 - fy0 >= 2) & (fx1 - fx0 >= 2)
    diff = np.zeros((g.h, g.w), dtype=np.int32)
    ys0, ys1, xs0, xs1 = fy0[ok], fy1[ok] - 1, fx0[ok], fx1[ok] - 1
    np.add.at(diff, (ys0, xs0), 1)
    np.add.at(diff, (ys0, xs1), -1)
    np.add.at(diff, (ys1, xs0), -1)
    np.add.at(diff, (ys1, xs1), 1)
    np.cumsum(diff, axis=0, out=diff)
    np.cumsum(diff, axis=1, out=diff)
    labels, n_lab = ndimage.label(diff > 0, structure=np.ones((3, 3), dtype=bool))
    del diff
    comp = np.empty(n, dtype=np.int64)
    comp[ok] = labels[ys0, xs0]
    comp[~ok] = n_lab + 1 + np.arange((~ok).sum())
    return np.unique(comp, return_inverse=True)[1].reshape(-1)


def _candidate_pairs(fp: np.ndarray, grow: bool) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """Pairs (i, j), i != j, whose footprints overlap (``grow``: each grown by its longer side).

    A sort-and-sweep along x, filtered on y, in chunks. Grown, every pair the "would fit in one
    window anyway" rule accepts is among them.
    """
    n = len(fp)
    pad = np.maximum(fp[:, 1] - fp[:, 0], fp[:, 3] - fp[:, 2]) if grow else 0
    ey0, ey1 = fp[:, 0] - pad, fp[:, 1] + pad
    ex0, ex1 = fp[:, 2] - pad, fp[:, 3] + pad
    order = np.argsort(ex0, kind="stable")
    hi = np.searchsorted(ex0[order], ex1[order], side="left")
    counts = np.maximum(hi - np.arange(n) - 1, 0)
    ends = np.cumsum(counts)
    start = 0
    while start < n:
        base = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, base + _PAIR_CHUNK, side="right")), start + 1)
        stop = min(stop, n)
        c = counts[start:stop]
        total = int(c.sum())
        if total:
            ii = np.repeat(np.arange(start, stop), c)
            offs = np.arange(total) - np.repeat(np.cumsum(c) - c, c)
            a, b = order[ii], order[ii + 1 + offs]
            keep = (ey0[a] < ey1[b]) & (ey0[b] < ey1[a])
            yield a[keep], b[keep]
        start = stop


def _overlap_groups(fp: np.ndarray, g: _Geometry) -> np.ndarray:
    """Group index per footprint: transitive closure of "footprints overlap"."""
    n = len(fp)
    sides = np.minimum(fp[:, 1] - fp[:, 0], fp[:, 3] - fp[:, 2])
    if n > _RASTER_ABOVE and sides.min() >= 2:
        return _raster_groups(fp, g)
    pairs = list(_candidate_pairs(fp, grow=False))
    a = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, np.int64)
    b = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _anyway_matching(boxes: np.ndarray, fp: np.ndarray, need: np.ndarray, over: np.ndarray, g: _Geometry) -> np.ndarray:
    """Group index per box after merging pairs that one window would hold anyway.

    Such a pair's united box needs a side no larger than the bigger of their two windows.
    The relation is not transitive, so pairs are merged greedily as a matching (smallest
    united need first, ties by index): each group merges at most once per round.
    """
    side = np.minimum(need, g.short)
    found = []
    for a, b in _candidate_pairs(fp, grow=True):
        ok = ~over[a] & ~over[b]
        a, b = a[ok], b[ok]
        uh = np.maximum(boxes[a, 1], boxes[b, 1]) - np.minimum(boxes[a, 0], boxes[b, 0])
        uw = np.maximum(boxes[a, 3], boxes[b, 3]) - np.minimum(boxes[a, 2], boxes[b, 2])
        united = g.need(np.maximum(uh, uw))
        keep = united <= np.maximum(side[a], side[b])
        lo, hi = np.minimum(a, b)[keep], np.maximum(a, b)[keep]
        found.append(np.stack([united[keep], lo, hi], axis=1))
    comp = np.arange(len(boxes))
    if not found:
        return comp
    cand = np.concatenate(found)
    cand = cand[np.lexsort((cand[:, 2], cand[:, 1], cand[:, 0]))]
    used = np.zeros(len(boxes), dtype=bool)
    for _, a, b in cand.tolist():
        if not used[a] and not used[b]:
            used[a] = used[b] = True
            comp[b] = a
    return np.unique(comp, return_inverse=True)[1].reshape(-1)


def _canonical(boxes: np.ndarray) -> np.ndarray:
    """Boxes in a fixed order (y0, x0, y1, x1), so results never depend on label numbering."""
    return boxes[np.lexsort((boxes[:, 1], boxes[:, 3], boxes[:, 2], boxes[:, 0]))]


def _group(boxes: np.ndarray, g: _Geometry) -> np.ndarray:
    """Merge component boxes into groups until stable; returns the groups' boxes.

    Each round first unites every set of overlapping footprints; only when none overlap are
    pairs that would fit one window anyway merged.
    """
    boxes = _canonical(boxes)
    while len(boxes) > 1:
        n = len(boxes)
        fp, need, over = _footprints(boxes, g)
        comp = _overlap_groups(fp, g)
        k = int(comp.max()) + 1
        if k == n:
            comp = _anyway_matching(boxes, fp, need, over, g)
            k = int(comp.max()) + 1
            if k == n:
                break
        boxes = _canonical(_union_boxes(boxes, comp, k))
    return boxes


def _tiles(start: int, stop: int, side: int) -> list[int]:
    """Offsets of the fewest squares of ``side`` covering [start, stop), evenly spread."""
    length = stop - start
    k = -(-length // side)
    if k <= 1:
        return [start]
    span = length - side
    return [start + (2 * i * span + (k - 1)) // (2 * (k - 1)) for i in range(k)]


def auto_windows(mask: np.ndarray, *, context: float = 0.5, min_size: int = 64, merge: bool = True) -> list[Window]:
    """Square windows around the hole(s) of ``mask`` (bool (H, W), True = missing).

    ``context``: margin on each side as a fraction of the hole's longer extent (0.5 makes a
    square hole a quarter of its window, like the paper's central block). ``min_size``: the
    smallest side (use the model resolution); the side never exceeds ``min(H, W)``.
    ``merge=False`` gives one window per component even when they overlap. Sorted by (y, x).
    Empty mask -> []. See the module docstring for holes longer than the photo's short side.
    """
    if not np.isfinite(context) or context < 0:
        raise ValueError(f"context must be a finite number >= 0, got {context!r}")
    if int(min_size) < 1:
        raise ValueError(f"min_size must be >= 1, got {min_size!r}")
    mask = check_mask(mask)
    h, w = mask.shape
    if h == 0 or w == 0:
        return []
    g = _Geometry(h, w, float(context), int(min_size))
    boxes = _component_boxes(mask)
    if len(boxes) == 0:
        return []
    if merge:
        boxes = _group(boxes, g)
    fp, _, over = _footprints(boxes, g)
    windows: set[Window] = set()
    for (y0, y1, x0, x1), is_over in zip(fp.tolist(), over.tolist()):
        if not is_over:
            windows.add((x0, y0, x1 - x0))
        elif x1 - x0 > y1 - y0:  # strip along x, H == short
            for tx in _tiles(x0, x1, g.short):
                if mask[:, tx : tx + g.short].any():
                    windows.add((tx, 0, g.short))
        else:
            for ty in _tiles(y0, y1, g.short):
                if mask[ty : ty + g.short, :].any():
                    windows.add((0, ty, g.short))
    return sorted(windows, key=lambda win: (win[1], win[0], win[2]))
