"""The corruptions of the papers' experiments, generated reproducibly from a seed.

- ``center``: a central block of half the side (25% of the area; Yeh et al.).
- ``random80``: each pixel missing with probability 0.8 (Yeh et al.).
- ``regular``: one rectangle of 10-40% of the area at a random place (Filipovski).
- ``parts``: a square hole of 36/128 of the side centred at a random point of the central
  48/128 of the image (a part of the face: an eye, the nose, the mouth; the framing issue).
- ``irregular``: a hand-drawn mask from a folder of PNGs (e.g. NVIDIA's irregular masks),
  resized with nearest neighbour (Filipovski's hand-drawn masks).

Every mask is bool (S, S), True where pixels are missing, and depends only on
(kind, seed, index): the same image always gets the same corruption.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image

MASK_KINDS = ("center", "random80", "regular", "parts", "irregular")


def _rng(kind: str, seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, zlib.crc32(kind.encode())])


def center_mask(size: int) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    q = size // 4
    mask[q : size - q, q : size - q] = True
    return mask


def random_mask(size: int, rng: np.random.Generator, missing: float = 0.8) -> np.ndarray:
    return rng.random((size, size)) < missing


def regular_mask(size: int, rng: np.random.Generator, low: float = 0.10, high: float = 0.40) -> np.ndarray:
    """One axis-aligned rectangle whose area is a uniform share in [low, high] of the image."""
    area = rng.uniform(low, high) * size * size
    aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))  # height / width
    h = int(np.clip(round(np.sqrt(area * aspect)), 1, size))
    w = int(np.clip(round(area / h), 1, size))
    y = int(rng.integers(0, size - h + 1))
    x = int(rng.integers(0, size - w + 1))
    mask = np.zeros((size, size), bool)
    mask[y : y + h, x : x + w] = True
    return mask


def parts_mask(size: int, rng: np.random.Generator, hole: float = 36 / 128, region: float = 48 / 128) -> np.ndarray:
    """A square hole of ``hole`` x the side, centred at a uniform point of the central
    ``region`` x the side (at 128x128: 36x36 in the central 48x48)."""
    side = max(1, int(round(hole * size)))
    lo = (size - region * size) / 2
    cy, cx = rng.uniform(lo, size - lo, 2)
    y = int(np.clip(round(cy - side / 2), 0, size - side))
    x = int(np.clip(round(cx - side / 2), 0, size - side))
    mask = np.zeros((size, size), bool)
    mask[y : y + side, x : x + side] = True
    return mask


def load_mask_folder(folder: Path) -> list[Path]:
    files = sorted(p for p in Path(folder).glob("*.png"))
    if not files:
        from inpaint_gui.core.errors import InpaintError

        raise InpaintError(f"{folder}: no PNG masks found")
    return files


def irregular_mask(size: int, rng: np.random.Generator, files: list[Path]) -> np.ndarray:
    path = files[int(rng.integers(0, len(files)))]
    with Image.open(path) as im:
        grey = im.convert("L").resize((size, size), Image.Resampling.NEAREST)
    return np.asarray(grey) > 127


def make_mask(kind: str, size: int, seed: int, index: int, irregular_files: list[Path] | None = None) -> np.ndarray:
    """The mask of ``kind`` for image number ``index`` (bool (size, size), True = missing)."""
    rng = _rng(kind, seed, index)
    if kind == "center":
        return center_mask(size)
    if kind == "random80":
        return random_mask(size, rng)
    if kind == "regular":
        return regular_mask(size, rng)
    if kind == "parts":
        return parts_mask(size, rng)
    if kind == "irregular":
        if not irregular_files:
            raise ValueError("irregular masks need a folder of mask PNGs (--irregular-masks)")
        mask = irregular_mask(size, rng, irregular_files)
        if mask.all() or not mask.any():  # degenerate: fall back to a regular rectangle
            mask = regular_mask(size, rng)
        return mask
    raise ValueError(f"unknown mask kind {kind!r}: choose from {', '.join(MASK_KINDS)}")
