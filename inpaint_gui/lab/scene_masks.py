"""Holes for the scene (photo) benchmarks, generated reproducibly from a seed.

- ``object``: one smooth random blob covering about 5% of the image, kept away from the
  border (an object to remove). A radial bump plus smoothed noise on a local canvas is
  thresholded at the quantile that gives the wanted area; the piece containing the centre is
  kept and its holes are filled, so the blob is one simply connected, wobbly shape.
- ``scratches``: three strokes 4-8 px wide that cross the photo from one side to the opposite
  one, each a gently bent quadratic Bezier curve (scratch and crease repair).

Every mask is bool (H, W), True where pixels are missing, and depends only on
(kind, seed, index) and the image size: the same photo always gets the same hole.
"""

from __future__ import annotations

import zlib

import numpy as np
import scipy.ndimage as ndi
from PIL import Image, ImageDraw

SCENE_MASK_KINDS = ("object", "scratches")

__all__ = ["SCENE_MASK_KINDS", "blob_mask", "make_scene_mask", "scratch_mask"]


def _rng(kind: str, seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, zlib.crc32(kind.encode())])


def blob_mask(
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    area: float = 0.05,
    margin: int = 16,
    roughness: float = 0.6,
) -> np.ndarray:
    """One smooth blob of ``area`` (fraction of the image) at least ``margin`` px from the edges.

    ``roughness`` >= 0 scales the smoothed noise added to the round bump (0: an ellipse).
    Raises ValueError when the blob cannot fit inside the margins.
    """
    h, w = shape
    target = area * h * w
    # canvas: twice the diameter of a disc of the target area, stretched by a random aspect
    aspect = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))  # height / width
    d = 2.0 * np.sqrt(target / np.pi)
    ch = int(np.ceil(1.6 * d * np.sqrt(aspect)))
    cw = int(np.ceil(1.6 * d / np.sqrt(aspect)))
    ch, cw = min(ch, h - 2 * margin), min(cw, w - 2 * margin)
    if ch * cw < 1.5 * target:
        raise ValueError(f"a {area:.0%} blob does not fit in {h}x{w} with a {margin} px margin")
    yy, xx = np.mgrid[:ch, :cw].astype(np.float64)
    ry, rx = (ch - 1) / 2.0, (cw - 1) / 2.0
    bump = 1.0 - ((yy - ry) / ry) ** 2 - ((xx - rx) / rx) ** 2  # (ch, cw), 1 at the centre
    noise = ndi.gaussian_filter(rng.standard_normal((ch, cw)), sigma=0.12 * min(ch, cw))
    noise /= noise.std() + 1e-12
    field = bump + 0.5 * roughness * noise  # (ch, cw)
    field[[0, -1], :] = field[:, [0, -1]] = -np.inf  # the blob never touches the canvas edge
    level = np.quantile(field, 1.0 - target / field.size)
    blob = field > level  # (ch, cw)
    labels, _ = ndi.label(blob)
    keep = labels[int(ry), int(rx)]
    if keep == 0:  # the centre fell in a dent: keep the largest piece
        keep = int(np.argmax(np.bincount(labels.ravel())[1:])) + 1
    blob = ndi.binary_fill_holes(labels == keep)
    y0 = int(rng.integers(margin, h - margin - ch + 1))
    x0 = int(rng.integers(margin, w - margin - cw + 1))
    mask = np.zeros((h, w), bool)
    mask[y0 : y0 + ch, x0 : x0 + cw] = blob
    return mask


def scratch_mask(
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    strokes: int = 3,
    width: tuple[int, int] = (4, 8),
) -> np.ndarray:
    """``strokes`` curves across the photo, each of a whole width in [width[0], width[1]] px."""
    h, w = shape
    canvas = Image.new("1", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(strokes):
        if rng.random() < 0.5:  # left edge -> right edge
            p0 = (0.0, rng.uniform(0, h))
            p2 = (w - 1.0, rng.uniform(0, h))
        else:  # top edge -> bottom edge
            p0 = (rng.uniform(0, w), 0.0)
            p2 = (rng.uniform(0, w), h - 1.0)
        bend = rng.uniform(-0.25, 0.25) * np.hypot(w, h)
        mid = ((p0[0] + p2[0]) / 2, (p0[1] + p2[1]) / 2)
        nx, ny = -(p2[1] - p0[1]), p2[0] - p0[0]
        norm = np.hypot(nx, ny)
        p1 = (mid[0] + bend * nx / norm, mid[1] + bend * ny / norm)
        t = np.linspace(0.0, 1.0, 64)[:, None]
        pts = (1 - t) ** 2 * np.array(p0) + 2 * (1 - t) * t * np.array(p1) + t**2 * np.array(p2)
        stroke = int(rng.integers(width[0], width[1] + 1))
        draw.line([tuple(p) for p in pts], fill=1, width=stroke, joint="curve")
    return np.asarray(canvas, dtype=bool).copy()


def make_scene_mask(kind: str, shape: tuple[int, int], seed: int, index: int) -> np.ndarray:
    """The hole of ``kind`` for photo number ``index``: bool (H, W), True = missing."""
    rng = _rng(kind, seed, index)
    if kind == "object":
        return blob_mask(shape, rng)
    if kind == "scratches":
        return scratch_mask(shape, rng)
    raise ValueError(f"unknown scene mask kind {kind!r}: choose from {', '.join(SCENE_MASK_KINDS)}")
