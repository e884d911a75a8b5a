""" "Don't copy from": an exclusion mask through the pipeline to the scene engine."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_gui.core.engines import Engines
from inpaint_gui.core.engines.gan.engine import FaceEngine
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.patch import nnf
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, check_exclude, inpaint, plan
from tests.tiny import fix_face_check, tiny_model

H, W = 96, 128


def red_and_blue(seed: int = 0) -> np.ndarray:
    """Left half a red texture, right half a blue one (stripes and noise), uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    stripes = ((xx // 5 + yy // 7) % 2).astype(np.float64)  # (H, W)
    img = np.empty((H, W, 3))
    img[..., 0] = np.where(xx < W // 2, 170 + 50 * stripes, 30)
    img[..., 1] = 40 + 20 * stripes
    img[..., 2] = np.where(xx < W // 2, 30, 170 + 50 * stripes)
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def middle_hole() -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[34:62, 50:78] = True  # straddles the border between the halves
    return mask


def left_half() -> np.ndarray:
    exclude = np.zeros((H, W), bool)
    exclude[:, : W // 2] = True
    return exclude


def reddish(pixels: np.ndarray) -> np.ndarray:
    return pixels[..., 0].astype(int) - pixels[..., 2] > 40


def scene(blend: str = "paste", **common) -> InpaintSettings:
    return InpaintSettings(CommonSettings(device="cpu", engine="scene", blend=blend, **common))


def test_the_fill_takes_nothing_from_the_excluded_half():
    image, mask = red_and_blue(), middle_hole()
    plain = inpaint(image, mask, scene(), Engines()).image
    assert reddish(plain[mask]).sum() > 50  # without the exclusion the red half is copied ...
    out = inpaint(image, mask, scene(), Engines(), exclude=left_half()).image
    assert not reddish(out[mask]).any()  # ... with it, never
    np.testing.assert_array_equal(out[~mask], image[~mask])


def test_outside_the_hole_stays_bit_identical_with_a_poisson_blend():
    image, mask = red_and_blue(1), middle_hole()
    out = inpaint(image, mask, scene("poisson"), Engines(), exclude=left_half()).image
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not np.array_equal(out[mask], image[mask])


def test_no_match_of_the_field_points_into_an_excluded_pixel(monkeypatch):
    image, mask, exclude = red_and_blue(2), middle_hole(), left_half()
    (region,) = plan(image, mask, scene(), Engines(), exclude=exclude)
    x0, y0, x1, y1 = region.rect
    blocked = (mask | exclude)[y0:y1, x0:x1]  # the region's crop, as the engine sees it
    seen = []
    real = nnf.vote

    def vote(img, ty, tx, nny, nnx, weight, hole, acc, wsum, lo, hi, r):
        if hole.shape == blocked.shape:  # the full-resolution level
            seen.append((nny[lo:hi].copy(), nnx[lo:hi].copy(), r))
        return real(img, ty, tx, nny, nnx, weight, hole, acc, wsum, lo, hi, r)

    monkeypatch.setattr(nnf, "vote", vote)
    inpaint(image, mask, scene(), Engines(), exclude=exclude)
    assert seen
    for ys, xs, r in seen:
        for y, x in zip(ys, xs):
            assert not blocked[y - r : y + r + 1, x - r : x + r + 1].any()


def test_excluded_hole_pixels_are_just_hole():
    image, mask = red_and_blue(3), middle_hole()
    exclude = left_half()
    also_hole = exclude | mask
    a = inpaint(image, mask, scene(), Engines(), exclude=exclude).image
    b = inpaint(image, mask, scene(), Engines(), exclude=also_hole).image
    np.testing.assert_array_equal(a, b)
    # an exclusion inside the hole only is no exclusion at all
    assert check_exclude(image, mask, mask) is None
    c = inpaint(image, mask, scene(), Engines(), exclude=mask).image
    np.testing.assert_array_equal(c, inpaint(image, mask, scene(), Engines()).image)


def test_an_exclusion_of_the_wrong_size_is_a_one_line_mask_error():
    image, mask = red_and_blue(), middle_hole()
    with pytest.raises(MaskError, match="is 128x90 but the photo is 128x96") as err:
        plan(image, mask, scene(), Engines(), exclude=np.zeros((90, W), bool))
    assert "\n" not in str(err.value)


def test_a_region_whose_sources_are_all_excluded_grows_to_find_some():
    image, mask = red_and_blue(4), middle_hole()
    (normal,) = plan(image, mask, scene(), Engines())
    exclude = np.zeros((H, W), bool)
    nx0, ny0, nx1, ny1 = normal.rect
    exclude[ny0:ny1, nx0:nx1] = True  # the whole region it would copy from
    exclude[:, W // 2 :] = True  # and the blue half: only red far away is left
    (region,) = plan(image, mask, scene(), Engines(), exclude=exclude)
    x0, y0, x1, y1 = region.rect
    assert x0 <= nx0 and y0 <= ny0 and x1 >= nx1 and y1 >= ny1 and region.rect != normal.rect
    sl, hole = region.hole_in(mask.shape)
    np.testing.assert_array_equal(hole & mask[sl], hole)
    assert hole.sum() == mask.sum()  # the same hole, more surroundings
    out = inpaint(image, mask, scene(), Engines(), exclude=exclude).image
    assert reddish(out[mask]).mean() > 0.9  # the only texture left to copy


def test_an_exclusion_that_leaves_nothing_to_copy_is_a_one_line_mask_error():
    image, mask = red_and_blue(), middle_hole()
    with pytest.raises(MaskError, match="don't copy from") as err:
        inpaint(image, mask, scene(), Engines(), exclude=np.ones((H, W), bool))
    assert "\n" not in str(err.value) and "0 patches" in str(err.value)


def test_scratches_and_the_face_engine_ignore_the_exclusion():
    image = red_and_blue(5)
    mask = np.zeros((H, W), bool)
    mask[80:83, 10:120] = True  # a thin scratch: the smooth fill copies nothing
    exclude = left_half()
    a = inpaint(image, mask, scene(), Engines(), exclude=exclude).image
    np.testing.assert_array_equal(a, inpaint(image, mask, scene(), Engines()).image)
    engines = Engines(face=FaceEngine(tiny_model(resolution=32, nz=16, width=8, seed=0)))
    face = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": SearchSettings(framing="fixed")})
    hole = middle_hole()
    with_exclusion = plan(image, hole, face, engines, exclude=exclude)
    without = plan(image, hole, face, engines)
    assert [(r.engine, r.rect, r.label) for r in with_exclusion] == [(r.engine, r.rect, r.label) for r in without]


def test_auto_passes_the_exclusion_to_the_scene_regions(monkeypatch):
    fix_face_check(monkeypatch, 0.0)
    engines = Engines(face=FaceEngine(tiny_model(resolution=32, nz=16, width=8, seed=0)))
    auto = InpaintSettings(CommonSettings(device="cpu", blend="paste"), {"face": SearchSettings(framing="fixed")})
    image, mask = red_and_blue(6), middle_hole()
    regions = plan(image, mask, auto, engines, exclude=left_half())
    assert [r.engine for r in regions] == ["scene"] and regions[0].plan.never is not None
    out = inpaint(image, mask, auto, engines, exclude=left_half()).image
    assert not reddish(out[mask]).any()
