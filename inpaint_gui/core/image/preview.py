"""Screen previews of a fill inside its region (numpy and Pillow only, no Qt).

A preview is the candidate pasted into the hole at screen-friendly resolution: premultiplied
ARGB32 pixels (uint32, the layout of Qt's ``Format_ARGB32_Premultiplied``) over a rectangle
of the photo, at most ``MAX_SIDE`` pixels on a side, whose alpha is the hole's coverage, so
the photo shows through everywhere else. Engines make them lazily in their own thread (see
``engines.base.Step.composite``); the real result is made by the pipeline on Apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

MAX_SIDE = 768

Rect = tuple[int, int, int, int]  # (x0, y0, x1, y1)


@dataclass(frozen=True)
class Preview:
    rect: Rect  # where it is drawn, in photo pixels (may extend past the photo: alpha 0 there)
    argb: np.ndarray  # uint32 (ph, pw) premultiplied ARGB32


def preview_shape(rect: Rect, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(ph, pw): the rectangle's size scaled down to at most ``max_side`` on its longer side."""
    w, h = rect[2] - rect[0], rect[3] - rect[1]
    scale = min(1.0, max_side / max(w, h, 1))
    return max(1, round(h * scale)), max(1, round(w * scale))


def coverage(hole: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint32 (ph, pw): the share of hole pixels under each preview pixel, 0..255 (box filter)."""
    a = np.ascontiguousarray(hole).astype(np.uint8) * np.uint8(255)
    if a.shape != shape:
        a = np.asarray(Image.fromarray(a, "L").resize((shape[1], shape[0]), Image.Resampling.BOX))
    return a.astype(np.uint32)


def premultiplied(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """uint32 (ph, pw) premultiplied ARGB32 of uint8 (ph, pw, 3) ``rgb`` under ``alpha`` (0..255)."""
    c = rgb.astype(np.uint32)
    r, g, b = (c[..., i] * alpha // 255 for i in range(3))
    return np.ascontiguousarray((alpha << 24) | (r << 16) | (g << 8) | b, dtype=np.uint32)


def composite(hole: np.ndarray, rect: Rect, fill: np.ndarray, max_side: int = MAX_SIDE) -> Preview:
    """``fill`` (uint8 (h, w, 3) of any size, covering ``rect``) shown in ``hole`` (bool over ``rect``)."""
    shape = preview_shape(rect, max_side)
    img = Image.fromarray(np.ascontiguousarray(fill, dtype=np.uint8), "RGB")
    if img.size != (shape[1], shape[0]):
        img = img.resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return Preview(tuple(int(v) for v in rect), premultiplied(np.asarray(img), coverage(hole, shape)))


def composite_window(
    hole: np.ndarray, window: tuple[int, int, int], fill_small: np.ndarray, max_side: int = MAX_SIDE
) -> Preview:
    """A model-resolution fill (uint8 (S, S, 3)) in the hole of a square window (x, y, size)."""
    x, y, size = window
    return composite(hole, (x, y, x + size, y + size), fill_small, max_side)
