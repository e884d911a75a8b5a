"""Helpers shared by the photo and mask file tests."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from inpaint_gui.core.image.io import TEMP_PREFIX

ORIENTATION = 0x0112
MAKE = 0x010F
RNG = np.random.default_rng(1234)


def rand_image(h: int, w: int) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def exif_with(orientation: int | None = None, make: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if make is not None:
        exif[MAKE] = make
    return exif


def reopen(path: Path) -> Image.Image:
    """The file as Pillow reads it, fully loaded and closed."""
    with Image.open(path) as im:
        im.load()
        return im


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


@functools.lru_cache(maxsize=1)
def srgb_bytes() -> bytes:
    """An sRGB profile, made once per run: a profile carries its creation time to the second."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# The displayed image for each EXIF orientation, written from the EXIF 2.3 table (where the
# stored 0th row and 0th column appear on screen), independently of Pillow's transposes.
def displayed(stored: np.ndarray, orientation: int) -> np.ndarray:
    t = stored.transpose(1, 0, 2)  # rows <-> columns
    return {
        1: stored,  # row 0 at top, column 0 at left
        2: stored[:, ::-1],  # row 0 at top, column 0 at right
        3: stored[::-1, ::-1],  # row 0 at bottom, column 0 at right
        4: stored[::-1, :],  # row 0 at bottom, column 0 at left
        5: t,  # row 0 at left, column 0 at top
        6: t[:, ::-1],  # row 0 at right, column 0 at top
        7: t[::-1, ::-1],  # row 0 at right, column 0 at bottom
        8: t[::-1, :],  # row 0 at left, column 0 at bottom
    }[orientation]
