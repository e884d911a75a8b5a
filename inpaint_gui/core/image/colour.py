"""Greyscale photos: conditioned and blended on luminance (an old print stays grey)."""

from __future__ import annotations

import numpy as np

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luminance weights, as Pillow's RGB -> L


def is_grey(image: np.ndarray) -> bool:
    """True when every pixel of a uint8 (H, W, 3) image has R = G = B."""
    return bool(np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2]))


def to_grey(pixels: np.ndarray) -> np.ndarray:
    """float32 (..., 3): the luminance of ``pixels`` (..., 3) in all three channels."""
    luma = np.asarray(pixels, np.float32) @ np.asarray(LUMA, np.float32)
    return np.repeat(luma[..., None], 3, axis=-1)


def round_u8(values: np.ndarray) -> np.ndarray:
    """Half-up rounding to uint8 (the tiny offset absorbs float error at exact ties)."""
    return np.clip(np.floor(np.asarray(values, np.float64) + 0.5 + 1e-9), 0, 255).astype(np.uint8)
