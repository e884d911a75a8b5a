"""Cached scaled views of the photo and of the mask overlay (mipmap pyramids).

Level 0 is full resolution; level k halves level k-1 (2x2 box average). The canvas draws
from the smallest level that is still at least as large as the screen needs, so a 24 MP
photo at "fit" costs about as much to draw as the screen has pixels. Edits update only the
changed rectangle at every level.

The QImages wrap numpy buffers that this module owns (no copies); never paint on them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QColor, QImage

from inpaint_gui.gui.undo import Rect

MIN_LEVEL_SIDE = 256  # stop building levels once the longer side is this small
HATCH_PERIOD, HATCH_WIDTH = 8, 3  # a hatched overlay's diagonal stripes, in photo pixels


def _reduce(src: np.ndarray, rect: Rect) -> np.ndarray:
    """Rows/cols ``rect`` of the half-size level computed from ``src`` (H, W[, C]) uint8.

    Each output pixel is the rounded mean of its 2x2 block; a block cut by an odd edge
    averages the pixels it has (the same as replicating the edge).
    """
    x0, y0, x1, y1 = rect
    h, w = src.shape[:2]
    block = np.ascontiguousarray(src[2 * y0 : min(h, 2 * y1), 2 * x0 : min(w, 2 * x1)])
    mode = {2: "L", 3: "RGB", 4: "RGBA"}.get(block.shape[2] if block.ndim == 3 else 2)
    if mode is not None:  # Pillow's box reduction in C: same rounding, much faster
        return np.asarray(Image.fromarray(block, mode).reduce(2))
    block = block.astype(np.uint16)  # pragma: no cover - other channel counts
    need_h, need_w = 2 * (y1 - y0), 2 * (x1 - x0)
    pad = [(0, need_h - block.shape[0]), (0, need_w - block.shape[1])] + [(0, 0)] * (block.ndim - 2)
    block = np.pad(block, pad, mode="edge")
    s = block[0::2, 0::2] + block[1::2, 0::2] + block[0::2, 1::2] + block[1::2, 1::2]
    return ((s + 2) >> 2).astype(np.uint8)


def _level_shapes(h: int, w: int) -> list[tuple[int, int]]:
    shapes = [(h, w)]
    while max(shapes[-1]) > MIN_LEVEL_SIDE:
        ph, pw = shapes[-1]
        shapes.append(((ph + 1) // 2, (pw + 1) // 2))
    return shapes


def _parent_rect(rect: Rect, shape: tuple[int, int]) -> Rect:
    """The rectangle of the next (half-size) level that depends on ``rect`` of this one."""
    h, w = (shape[0] + 1) // 2, (shape[1] + 1) // 2
    return (rect[0] // 2, rect[1] // 2, min(w, (rect[2] + 1) // 2), min(h, (rect[3] + 1) // 2))


def level_for_zoom(zoom: float, n_levels: int) -> int:
    """Smallest level whose scale 2^-k is >= zoom (so drawing it only shrinks by < 2x)."""
    k = 0
    while k + 1 < n_levels and 2.0 ** -(k + 1) >= zoom:
        k += 1
    return k


def _wrap(arr: np.ndarray, fmt: QImage.Format) -> QImage:
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], fmt)


class PhotoPyramid:
    """Level 0 wraps the document's RGB array; levels >= 1 are RGB32 (B, G, R, 255 bytes)."""

    def __init__(self, image: np.ndarray):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.flags.c_contiguous
        self.image = image
        shapes = _level_shapes(*image.shape[:2])
        self.levels: list[np.ndarray] = [image]
        for h, w in shapes[1:]:
            arr = np.empty((h, w, 4), np.uint8)
            arr[..., 3] = 255
            self.levels.append(arr)
        self.qimages = [_wrap(image, QImage.Format.Format_RGB888)]
        self.qimages += [_wrap(a, QImage.Format.Format_RGB32) for a in self.levels[1:]]
        self.update((0, 0, image.shape[1], image.shape[0]))

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    def update(self, rect: Rect) -> None:
        """Recompute every level above 0 where level 0 changed inside ``rect``."""
        r = rect
        for k in range(1, self.n_levels):
            r = _parent_rect(r, self.levels[k - 1].shape[:2])
            x0, y0, x1, y1 = r
            if x0 >= x1 or y0 >= y1:
                return
            if k == 1:
                red = _reduce(self.levels[0], r)  # (h, w, 3) RGB
                self.levels[1][y0:y1, x0:x1, 0] = red[..., 2]
                self.levels[1][y0:y1, x0:x1, 1] = red[..., 1]
                self.levels[1][y0:y1, x0:x1, 2] = red[..., 0]
            else:
                self.levels[k][y0:y1, x0:x1] = _reduce(self.levels[k - 1], r)


class MaskPyramid:
    """A mask overlay: a colour whose alpha is the fraction of masked pixels at each level.

    Level 0 is rendered on demand for the visible rectangle (:meth:`level0_image`); levels
    >= 1 are cached as premultiplied ARGB32 images. Opacity is applied when drawing. With
    ``hatch`` level 0 shows diagonal stripes (full colour) over a lighter tint, so that the
    layer reads apart from another one drawn in a plain colour.
    """

    def __init__(self, mask: np.ndarray, color: QColor, hatch: bool = False):
        assert mask.dtype == np.bool_ and mask.ndim == 2 and mask.flags.c_contiguous
        self.mask = mask
        self.hatch = hatch
        shapes = _level_shapes(*mask.shape)
        self.coverage: list[np.ndarray | None] = [None] + [np.zeros(s, np.uint8) for s in shapes[1:]]
        self.overlay: list[np.ndarray | None] = [None] + [np.zeros(s, np.uint32) for s in shapes[1:]]
        self.qimages: list[QImage | None] = [None] + [
            _wrap(a, QImage.Format.Format_ARGB32_Premultiplied) for a in self.overlay[1:]
        ]
        self.set_color(color, rebuild=False)
        self.update((0, 0, mask.shape[1], mask.shape[0]))

    @property
    def n_levels(self) -> int:
        return len(self.coverage)

    def set_color(self, color: QColor, rebuild: bool = True) -> None:
        a = np.arange(256, dtype=np.uint32)
        r, g, b = color.red(), color.green(), color.blue()
        # premultiplied ARGB32 for each coverage 0..255
        self.lut = (a << 24) | ((r * a // 255) << 16) | ((g * a // 255) << 8) | (b * a // 255)
        self.lut = self.lut.astype(np.uint32)
        self.lut0 = self.lut[[0, 255, 110]]  # indexed by a bool mask (hatch: 2 = between the stripes)
        if rebuild:
            for k in range(1, self.n_levels):
                self.overlay[k][...] = self.lut[self.coverage[k]]

    def update(self, rect: Rect) -> None:
        """Recompute the cached levels where the mask changed inside ``rect``."""
        r = rect
        for k in range(1, self.n_levels):
            r = _parent_rect(r, self.mask.shape if k == 1 else self.coverage[k - 1].shape)
            x0, y0, x1, y1 = r
            if x0 >= x1 or y0 >= y1:
                return
            if k == 1:
                h, w = self.mask.shape
                crop = self.mask[2 * y0 : min(h, 2 * y1), 2 * x0 : min(w, 2 * x1)].view(np.uint8) * np.uint8(255)
                cov = _reduce(crop, (0, 0, x1 - x0, y1 - y0))
            else:
                cov = _reduce(self.coverage[k - 1], r)
            self.coverage[k][y0:y1, x0:x1] = cov
            self.overlay[k][y0:y1, x0:x1] = self.lut[cov]

    def level0_image(self, rect: Rect) -> tuple[QImage, np.ndarray]:
        """A full-resolution overlay of ``rect``; keep the returned array alive while drawing."""
        x0, y0, x1, y1 = rect
        index = self.mask[y0:y1, x0:x1].view(np.uint8)  # (h, w): 0 or 1
        if self.hatch:  # 1 on the stripes, 2 between them
            between = (np.arange(y0, y1)[:, None] + np.arange(x0, x1)[None, :]) % HATCH_PERIOD >= HATCH_WIDTH
            index = index << between.view(np.uint8)
        arr = np.ascontiguousarray(self.lut0[index])  # uint32 (h, w)
        return _wrap(arr, QImage.Format.Format_ARGB32_Premultiplied), arr
