"""Window pixels <-> model resolution: exact area resampling down, bicubic up, and paste.

:func:`to_model` averages areas exactly (a box filter for integer factors, exact area
overlaps otherwise; bilinear when the window is smaller than S), and marks a model pixel
missing when ANY source pixel with positive weight is missing. Missing model pixels get the
mean colour of the known model pixels (128 grey if none is known): their value never
enters the search loss, it only keeps previews neutral.
:func:`from_model` resizes G's output up with Pillow's bicubic filter in float and keeps
float32 in [0, 255]: Poisson blending uses it as a guidance field.
Rounding to uint8 is half-up, done once.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
from PIL import Image

from inpaint_gui.core.engines.gan.windows import check_image, check_mask, crop, validate_window
from inpaint_gui.core.image.colour import round_u8

_MISSING_GREY = 128
# Float64 elements per block in the resampling loop (about 1 MiB).
_BLOCK_ELEMENTS = 1 << 17


def resample_weights(n_out: int, n_in: int) -> np.ndarray:
    """float64 (n_out, n_in) 1-D resampling matrix; every row sums to 1.

    Down (n_out <= n_in): exact area overlaps, output cell i covering source
    ``[i * n_in / n_out, (i + 1) * n_in / n_out)``; an integer factor k gives a k-box.
    Up (n_out > n_in): bilinear with pixel centres aligned, edges clamped. Zeros are exact,
    so ``weights > 0`` is the set of source pixels an output pixel depends on.
    """
    if n_out < 1 or n_in < 1:
        raise ValueError(f"sizes must be positive, got n_out={n_out}, n_in={n_in}")
    i = np.arange(n_out, dtype=np.int64)[:, None]
    if n_out <= n_in:
        j = np.arange(n_in, dtype=np.int64)[None, :]
        # Work in units of 1 / n_out source pixel: all ends are integers.
        lo = np.maximum(i * n_in, j * n_out)
        hi = np.minimum((i + 1) * n_in, (j + 1) * n_out)
        return np.clip(hi - lo, 0, None).astype(np.float64) / n_in
    # Centre of output pixel i in source pixels: ((2i + 1) n_in - n_out) / (2 n_out).
    den = 2 * n_out
    num = np.clip((2 * i[:, 0] + 1) * n_in - n_out, 0, (n_in - 1) * den)
    j0 = num // den
    frac = (num - j0 * den) / den
    j1 = np.minimum(j0 + 1, n_in - 1)
    out = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(out, (np.arange(n_out), j0), 1.0 - frac)
    np.add.at(out, (np.arange(n_out), j1), frac)
    return out


def _bands(weights: np.ndarray) -> list[tuple[int, int]]:
    """Per output row, the [lo, hi) range of source indices with positive weight."""
    out = []
    for row in weights > 0:
        nz = np.flatnonzero(row)
        out.append((int(nz[0]), int(nz[-1]) + 1))
    return out


def _resample_axis0(arr: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """float64: ``weights @ arr`` along axis 0, reading only each row's band of ``arr``.

    Works on column blocks through one reused float64 buffer: small BLAS calls stay in cache
    and single-threaded (large ones were ~20x slower on a busy 2-core machine).
    """
    flat = arr.reshape(arr.shape[0], -1)
    bands = _bands(weights)
    out = np.empty((weights.shape[0], flat.shape[1]), dtype=np.float64)
    tall = max(hi - lo for lo, hi in bands)
    step = max(1, _BLOCK_ELEMENTS // tall)
    buf = np.empty((tall, min(step, flat.shape[1])), dtype=np.float64)
    for c0 in range(0, flat.shape[1], step):
        c1 = min(c0 + step, flat.shape[1])
        for r, (lo, hi) in enumerate(bands):
            band = buf[: hi - lo, : c1 - c0]
            band[...] = flat[lo:hi, c0:c1]
            np.dot(band.T, weights[r, lo:hi], out=out[r, c0:c1])  # (k, m).T @ (k,) -> (m,)
    return out.reshape((weights.shape[0],) + arr.shape[1:])


def area_resize(array: np.ndarray, resolution: int) -> np.ndarray:
    """float64 (S, S, ...) resample of a square (n, n, ...) array with :func:`resample_weights`.

    Exact area averaging when shrinking (n >= S); bilinear when enlarging.
    """
    arr = np.asarray(array)
    if arr.ndim < 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"expected a square (n, n, ...) array, got shape {arr.shape}")
    wts = resample_weights(resolution, arr.shape[0])
    rows = _resample_axis0(arr, wts)  # (S, n, ...)
    cols = _resample_axis0(np.moveaxis(rows, 1, 0), wts)  # (S, S, ...) as (x, y, ...)
    return np.moveaxis(cols, 0, 1)


def _missing_small(mask_win: np.ndarray, resolution: int) -> np.ndarray:
    """bool (S, S): a model pixel is missing if any source pixel it reads is missing."""
    bands = _bands(resample_weights(resolution, mask_win.shape[0]))
    rows = np.stack([mask_win[lo:hi].any(axis=0) for lo, hi in bands])  # (S, n)
    return np.stack([rows[:, lo:hi].any(axis=1) for lo, hi in bands], axis=1)  # (S, S)


def to_model(
    image: np.ndarray, mask: np.ndarray, window: Sequence[int], resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """The window at model resolution: (image_small uint8 (S, S, 3), mask_small bool (S, S)).

    Area-averaged down (bilinear up when the window is smaller than S). A model pixel is
    missing if any of its source pixels is missing; missing model pixels hold the mean colour
    of the known ones (grey 128 if none is known).
    """
    image = check_image(image)
    mask = check_mask(mask, image.shape)
    if not isinstance(resolution, Integral) or resolution < 1:
        raise ValueError(f"resolution must be a positive integer, got {resolution!r}")
    win = validate_window(window, image.shape)
    img_win, mask_win = crop(image, win), crop(mask, win)
    small = area_resize(img_win, int(resolution))  # (S, S, 3) float64
    missing = _missing_small(mask_win, int(resolution))  # (S, S)
    known = ~missing
    fill = small[known].mean(axis=0) if known.any() else np.full(3, float(_MISSING_GREY))
    small[missing] = fill
    return round_u8(small), missing


def from_model(fill_small: np.ndarray, size: int) -> np.ndarray:
    """G's output (S, S, 3), uint8 or float in [0, 255], resized to float32 (size, size, 3).

    Bicubic (Pillow, float mode, one channel at a time), clipped to [0, 255]; not rounded.
    """
    arr = np.asarray(fill_small)
    if arr.ndim != 3 or arr.shape[0] != arr.shape[1] or arr.shape[2] != 3:
        raise ValueError(f"fill must be (S, S, 3); got shape {arr.shape}")
    if not isinstance(size, Integral) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    arr = arr.astype(np.float32)
    size = int(size)
    if size == arr.shape[0]:
        return np.clip(arr, 0.0, 255.0)
    out = np.empty((size, size, 3), dtype=np.float32)
    for c in range(3):
        band = Image.fromarray(np.ascontiguousarray(arr[:, :, c]))  # mode "F"
        out[:, :, c] = np.asarray(band.resize((size, size), Image.Resampling.BICUBIC))
    return np.clip(out, 0.0, 255.0, out=out)


def known_small(mask: np.ndarray, window: Sequence[int], resolution: int) -> np.ndarray:
    """bool (S, S): the model pixels of ``window`` that read only known photo -- no hole pixel
    and nothing beyond the photo's border (the mask-only part of :func:`to_model_padded`)."""
    x, y, size = (int(v) for v in window)
    h, w = mask.shape
    cx0, cy0, cx1, cy1 = max(x, 0), max(y, 0), min(x + size, w), min(y + size, h)
    if size <= 0 or cx0 >= cx1 or cy0 >= cy1:
        return np.zeros((int(resolution), int(resolution)), bool)
    pads = ((cy0 - y, y + size - cy1), (cx0 - x, x + size - cx1))
    missing = np.pad(np.asarray(mask[cy0:cy1, cx0:cx1], bool), pads, constant_values=True)
    return ~_missing_small(missing, int(resolution))


def to_model_padded(
    image: np.ndarray, mask: np.ndarray, window: Sequence[int], resolution: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`to_model` for a window that may extend past the photo's border.

    Returns (image_small uint8 (S, S, 3), hole_small bool (S, S), outside_small bool (S, S)):
    a model pixel is *outside* when any of its source pixels lies beyond the photo and none is
    in the hole. Outside pixels are unknown but are not to be filled; they hold the mean colour
    of the known model pixels like missing ones. Inside the photo this is exactly ``to_model``.
    """
    image = check_image(image)
    mask = check_mask(mask, image.shape)
    x, y, size = (int(v) for v in window)
    h, w = mask.shape
    if size <= 0:
        raise ValueError(f"window {tuple(window)} has no area")
    if x >= 0 and y >= 0 and x + size <= w and y + size <= h:
        small, hole = to_model(image, mask, (x, y, size), resolution)
        return small, hole, np.zeros_like(hole)
    cx0, cy0, cx1, cy1 = max(x, 0), max(y, 0), min(x + size, w), min(y + size, h)
    if cx0 >= cx1 or cy0 >= cy1:
        raise ValueError(f"window {tuple(window)} does not overlap the {w}x{h} photo")
    pads = ((cy0 - y, y + size - cy1), (cx0 - x, x + size - cx1))
    img_win = np.pad(image[cy0:cy1, cx0:cx1], (*pads, (0, 0)), mode="edge")  # (size, size, 3)
    hole_win = np.pad(mask[cy0:cy1, cx0:cx1], pads, constant_values=False)
    out_win = np.pad(np.zeros((cy1 - cy0, cx1 - cx0), bool), pads, constant_values=True)
    small = area_resize(img_win, int(resolution))  # (S, S, 3) float64
    hole = _missing_small(hole_win, int(resolution))
    outside = _missing_small(out_win, int(resolution)) & ~hole
    known = ~(hole | outside)
    fill = small[known].mean(axis=0) if known.any() else np.full(3, float(_MISSING_GREY))
    small[~known] = fill
    return round_u8(small), hole, outside
