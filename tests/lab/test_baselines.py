"""Classical fills: harmonic (membrane) and total-variation inpainting."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_gui.core.blend.poisson import poisson_blend_direct
from inpaint_gui.core.errors import MaskError
from inpaint_gui.lab.baselines import harmonic_fill, tv_fill


def ramp_image(h: int = 60, w: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([2 * xx + 20, 3 * yy + 10, 230 - xx - 2 * yy], axis=-1).astype(np.uint8)


def test_harmonic_fill_reproduces_a_linear_ramp():
    img = ramp_image()
    yy, xx = np.mgrid[0:60, 0:80]
    mask = ((yy - 30) / 22.0) ** 2 + ((xx - 40) / 33.0) ** 2 < 1  # large: multigrid path
    mask |= (np.abs(yy - 8) < 3) & (np.abs(xx - 70) < 4)  # small: sparse path
    damaged = img.copy()
    damaged[mask] = 0
    out = harmonic_fill(damaged, mask)
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert np.abs(out.astype(int) - img).max() <= 1
    assert np.array_equal(out[~mask], damaged[~mask])


def test_harmonic_fill_reproduces_a_ramp_along_an_image_edge():
    # the hole touches the top edge; the ramp runs along it, so the edge adds no constraint
    img = ramp_image()[..., :1].repeat(3, axis=2)  # depends on x only
    mask = np.zeros(img.shape[:2], bool)
    mask[0:25, 20:60] = True
    out = harmonic_fill(np.where(mask[..., None], 255, img).astype(np.uint8), mask)
    assert np.abs(out.astype(int) - img).max() <= 1


def test_harmonic_fill_is_the_membrane_and_obeys_the_maximum_principle():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    mask = np.zeros((30, 40), bool)
    mask[5:25, 8:30] = True
    out = harmonic_fill(img, mask)
    ref = poisson_blend_direct(img, np.zeros(img.shape), mask)
    assert np.abs(out.astype(int) - ref).max() <= 1
    ring = np.zeros_like(mask)
    ring[4:26, 7:31] = True
    ring &= ~mask
    for ch in range(3):
        inside = out[..., ch][mask]
        assert inside.min() >= img[..., ch][ring].min()
        assert inside.max() <= img[..., ch][ring].max()


def test_tv_fill_keeps_a_sharp_edge_across_a_thin_hole():
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :30] = (50, 25, 200)
    img[:, 30:] = (200, 100, 40)
    mask = np.zeros((40, 60), bool)
    mask[18:21, 10:50] = True  # a 3-px band across the vertical edge
    damaged = img.copy()
    damaged[mask] = 128
    out = tv_fill(damaged, mask, iterations=5000)
    assert np.abs(out.astype(int) - img).max() <= 2
    assert np.array_equal(out[~mask], damaged[~mask])
    # the membrane blurs the same edge: the test can tell the two apart
    assert np.abs(harmonic_fill(damaged, mask).astype(int) - img).max() > 20


def test_tv_fill_handles_grey_images_edges_and_empty_masks():
    img = np.tile(np.where(np.arange(30) < 12, 40, 220).astype(np.uint8), (20, 1))  # (20, 30)
    mask = np.zeros((20, 30), bool)
    assert np.array_equal(tv_fill(img, mask), img)
    mask[0:2, :] = True  # touches the top, left and right image edges
    out = tv_fill(img, mask, iterations=8000)
    assert out.shape == img.shape and np.abs(out.astype(int) - img).max() <= 2


def test_bad_inputs():
    img = np.zeros((5, 6, 3), np.uint8)
    with pytest.raises(MaskError):
        tv_fill(img, np.zeros((5, 6), np.uint8))
    with pytest.raises(MaskError):
        harmonic_fill(img, np.ones((5, 6), bool))
    with pytest.raises(ValueError):
        tv_fill(img.astype(np.float32), np.zeros((5, 6), bool))
