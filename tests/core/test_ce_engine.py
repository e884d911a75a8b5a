"""The Context Encoder as an engine (``--engine ce``), with the shipped ``weights/ce128``."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_gui.core.engines import Engines, engine_class
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, inpaint, plan


def photo(h=160, w=160, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    base = np.stack([xx * 1.2, yy * 1.4, (xx + yy) * 0.6], -1) % 256
    return np.clip(base + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def engines():
    return Engines()


def ce_settings(**common):
    return InpaintSettings(CommonSettings(engine="ce", device="cpu", **common))


def test_the_context_encoder_fills_a_hole_in_one_pass(engines):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[60:90, 70:100] = True
    result = inpaint(image, mask, ce_settings(), engines)
    (r,) = result.regions
    assert r.region.engine == "ce" and len(r.final.candidates) == 1 and r.final.info["model"] == "ce128"
    x, y, size = r.region.window
    assert x <= 70 and y <= 60 and x + size >= 100 and y + size >= 90  # the window holds the hole
    np.testing.assert_array_equal(result.image[~mask], image[~mask])  # seated: outside bit-identical
    assert not np.array_equal(result.image[mask], image[mask])
    again = inpaint(image, mask, ce_settings(blend="paste"), engines).image
    assert np.abs(again[mask].astype(int) - image[mask].astype(int)).mean() < 60  # a fill near the context's colours


def test_a_placed_window_is_used_and_a_hole_too_large_for_the_block_is_one_line(engines):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[60:90, 70:100] = True
    (region,) = plan(image, mask, ce_settings(), engines, window=(40, 30, 96))
    assert region.window == (40, 30, 96) and region.frame == (40, 30, 136, 126)
    wide = np.zeros(image.shape[:2], bool)
    wide[20:140, 20:140] = True  # 3/4 of the photo: more than half of any window the photo allows
    with pytest.raises(MaskError, match="too large for the Context Encoder") as info:
        plan(image, wide, ce_settings(), engines)
    assert "\n" not in str(info.value)


def test_the_engine_declares_what_it_can_do_and_lists_only_its_networks():
    info = engine_class("ce").info
    assert info.models and info.placed_window and not info.uses_exclude and info.auto is None
    assert engine_class("ce").models() == ["ce128"]
    assert "ce128" not in engine_class("face").models()  # weights/ holds both kinds of network
