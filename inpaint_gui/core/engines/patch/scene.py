"""The scene engine's working regions: a box around each group of holes, with context.

:func:`scene_regions` grows each hole component's bounding box by ``margin`` times its longer
side on every side (at least a few patches), cut to the photo, and merges boxes that overlap;
the engine (``engine.py``) runs :func:`.synthesis.synthesize` on each.
"""

from __future__ import annotations

import numpy as np

from inpaint_gui.core.engines.patch.thin import (
    hole_components,
)

__all__ = ["SCENE_MARGIN", "scene_regions"]

SCENE_MARGIN = 1.0  # region = hole box grown by this x its longer side on each side


def _grow(box: tuple[int, int, int, int], shape: tuple[int, int], margin: float, least: int):
    y0, y1, x0, x1 = box
    g = max(round(margin * max(y1 - y0, x1 - x0)), least)
    return max(y0 - g, 0), min(y1 + g, shape[0]), max(x0 - g, 0), min(x1 + g, shape[1])


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def scene_regions(hole: np.ndarray, margin: float = SCENE_MARGIN, least: int = 32) -> list[tuple[int, int, int, int]]:
    """Working regions (y0, y1, x0, x1) for the components of ``hole`` (bool (H, W)):
    each component's box grown by ``margin`` x its longer side (>= ``least`` px), and
    regions that overlap merged (their union box), until none overlap."""
    ys, xs, labels, count = hole_components(hole)
    if count == 0:
        return []
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    boxes = []
    for idx in np.split(order, cuts):
        box = (int(ys[idx].min()), int(ys[idx].max()) + 1, int(xs[idx].min()), int(xs[idx].max()) + 1)
        boxes.append(_grow(box, hole.shape, margin, least))
    merged = True
    while merged:
        merged = False
        out: list[tuple[int, int, int, int]] = []
        for b in boxes:
            for i, a in enumerate(out):
                if _overlap(a, b):
                    out[i] = (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return sorted(boxes)
