"""Whole-photo scene fill: thin parts by the fast path, the rest by patch synthesis.

:func:`fill_scene` splits the hole into thin components (scratches, dust: filled at once,
smoothly, by :func:`.thin.fill_thin`) and thick ones (objects), groups the thick components whose
working regions overlap, and runs :func:`.synthesis.synthesize` on each group's region: the
components' bounding box grown by ``margin`` times its longer side on every side (at least
a few patches), cut to the photo. Pixels filled by the thin path never serve as sources.
Blocking, for batch use and benchmarks; an interactive caller drives ``synthesize`` itself
on :func:`scene_regions` to show previews.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from inpaint_gui.core.engines.patch.synthesis import PatchSettings, synthesize
from inpaint_gui.core.engines.patch.thin import (
    THIN_RADIUS,
    fill_thin,
    hole_components,
    split_thin,
)
from inpaint_gui.core.errors import MaskError

__all__ = ["SCENE_MARGIN", "fill_scene", "scene_regions"]

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


def fill_scene(
    image: np.ndarray,
    hole: np.ndarray,
    settings: PatchSettings | None = None,
    *,
    seed: int = 0,
    exclude: np.ndarray | None = None,
    cancel: threading.Event | None = None,
    max_radius: float = THIN_RADIUS,
    margin: float = SCENE_MARGIN,
) -> np.ndarray:
    """Fill ``hole`` of the photo ``image`` (uint8 (H, W, 3); hole, exclude: bool (H, W)).

    Thin components (no pixel farther than ``max_radius`` from a known one) get the
    smooth fill of :func:`.thin.fill_thin`; the others patch synthesis on their regions. Returns a new uint8 image,
    bit-identical outside the hole. If ``cancel`` is set, the regions being synthesised get
    their best fill so far and the remaining ones the smooth fill.
    """
    settings = settings or PatchSettings()
    if hole.shape != image.shape[:2] or hole.dtype != np.bool_:
        raise MaskError(f"hole must be bool with shape {image.shape[:2]}")
    thin, thick = split_thin(hole, max_radius)
    out = fill_thin(image, thin) if thin.any() else image.copy()
    if not thick.any():
        return out
    for y0, y1, x0, x1 in scene_regions(thick, margin, least=4 * settings.patch_size):
        sub_hole = np.ascontiguousarray(thick[y0:y1, x0:x1])
        never = thin[y0:y1, x0:x1]  # smoothly filled pixels are no exemplars
        if exclude is not None:
            never = never | exclude[y0:y1, x0:x1]
        if cancel is not None and cancel.is_set():
            out[y0:y1, x0:x1] = fill_thin(np.ascontiguousarray(out[y0:y1, x0:x1]), sub_hole)
            continue
        region = np.ascontiguousarray(out[y0:y1, x0:x1])
        steps = synthesize(region, sub_hole, settings, seed=seed, exclude=never if never.any() else None, cancel=cancel)
        (last,) = deque(steps, maxlen=1)  # run to the end; the last step holds the fill
        out[y0:y1, x0:x1] = last.result
    return out
