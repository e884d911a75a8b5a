"""Aligned crops and close-ups: the photo as its own framing, and holes the prior cannot frame."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_gui.core.engines import Engines
from inpaint_gui.core.engines.gan import facecheck, planning
from inpaint_gui.core.engines.gan.engine import FaceEngine
from inpaint_gui.core.engines.gan.framing import PHOTO_NEAR, Frame, overlap, photo_framing, with_photo
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, plan
from tests.tiny import tiny_model

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
FAST = SearchSettings(iterations=30, restarts=2, lr=0.05, stop_patience=0)


@pytest.fixture(scope="module")
def model():
    return tiny_model(resolution=32, nz=16, width=8, seed=0)


def square_photo(side=64, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    base = np.stack([xx * 3, yy * 2, (xx + yy)], -1) % 256
    return np.clip(base + rng.normal(0, 5, (side, side, 3)), 0, 255).astype(np.uint8)


def central_hole(side=64):
    mask = np.zeros((side, side), bool)
    mask[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = True
    return mask


def test_the_photo_framing_is_the_photo_when_square_and_the_largest_square_otherwise():
    mask = central_hole()
    assert photo_framing(mask, (16, 48, 16, 48)).window == (0, 0, 64)
    wide = np.zeros((60, 100), bool)
    wide[20:40, 70:90] = True  # near the right edge: the square is pushed against it
    assert photo_framing(wide, (20, 40, 70, 90)).window == (40, 0, 60)
    full = np.ones((64, 64), bool)  # all hole: no valid framing
    assert photo_framing(full, (0, 64, 0, 64)) is None


def test_the_photo_replaces_the_framers_landings_only_when_they_agree_on_it():
    photo = Frame((0, 0, 64), 0.25, 0.75)
    wider = Frame((-2, -2, 68), 0.22, 0.66)  # a landing hanging 2 px past an aligned crop
    elsewhere = Frame((10, 8, 40), 0.5, 0.5)
    assert overlap(wider.window, photo.window) >= PHOTO_NEAR > overlap(elsewhere.window, photo.window)
    assert with_photo(photo, [wider, elsewhere]) == [photo]
    assert with_photo(photo, [elsewhere, wider]) == [elsewhere, wider]  # the consensus decides
    assert with_photo(None, [wider]) == [wider] and with_photo(photo, []) == []


def test_an_aligned_crop_is_searched_in_the_photo_itself_not_a_window_past_it(model, monkeypatch):
    """The framer lands a few per cent wider than an aligned crop; the photo is searched instead."""
    image, mask = square_photo(), central_hole()

    class Wider:  # a framer that grows every window to hang 2 px past the photo
        def refine(self, image, mask, windows):
            return [(-2, -2, 68)] * len(windows)

    monkeypatch.setattr(FaceEngine, "framer", lambda self: Wider())
    settings = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": FAST})
    (region,) = plan(image, mask, settings, Engines(face=FaceEngine(model)))
    assert [f.window for f in region.plan.framings] == [(0, 0, 64)]

    class Inside:  # a framer that sees the face in the photo's upper left
        def refine(self, image, mask, windows):
            return [(0, 0, 56)] * len(windows)

    monkeypatch.setattr(FaceEngine, "framer", lambda self: Inside())
    (region,) = plan(image, mask, settings, Engines(face=FaceEngine(model)))
    assert [f.window for f in region.plan.framings] == [(0, 0, 56)]  # 0.77 overlap: the framer's


@pytest.mark.parametrize("size", [64, 128])
def test_the_shipped_models_fill_an_aligned_crop_of_the_sample_in_the_photo_itself(size):
    """The sample's face cropped as the priors were trained (its hand-found framing), central
    hole: the framing search keeps the photo (before: (-1, 1, 64) and (-3, 3, 129))."""
    full = Image.open(RESOURCES / "astronaut.png").convert("RGB")
    image = np.asarray(full.crop((132, 25, 313, 206)).resize((size, size), Image.BOX)).copy()
    mask = central_hole(size)
    image[mask] = 0
    (region,) = plan(image, mask, InpaintSettings(CommonSettings(engine="face")), Engines())
    assert [f.window for f in region.plan.framings] == [(0, 0, size)]


def test_a_hole_the_prior_cannot_frame_as_a_whole_face_goes_to_the_scene_engine(model, monkeypatch):
    """Windows near the hole look like a face, but where the framer frames it the check sees none
    (a close-up portrait): the scene engine fills it. Where the check sees the face there too,
    the face engine does."""
    image = square_photo(96)
    mask = np.zeros((96, 96), bool)
    mask[6:30, 10:34] = True  # the hairline and forehead of a face filling the photo
    framing = (-30, -24, 150)  # the whole face's framing, far past the photo

    class Framer:
        def refine(self, image, mask, windows):
            return [framing] * len(windows)

    def probabilities(self, image, mask, windows):
        return np.array([0.05 if tuple(w) == framing else 0.95 for w in windows])

    monkeypatch.setattr(FaceEngine, "framer", lambda self: Framer())
    monkeypatch.setattr(facecheck.LoadedCheck, "probabilities", probabilities)
    settings = InpaintSettings(CommonSettings(device="cpu"), {"face": FAST})
    regions = plan(image, mask, settings, Engines(face=FaceEngine(model)))
    assert [r.engine for r in regions] == ["scene"] and "face check 0.05" in regions[0].label

    monkeypatch.setattr(
        facecheck.LoadedCheck, "probabilities", lambda self, image, mask, windows: np.full(len(windows), 0.9)
    )
    regions = plan(image, mask, settings, Engines(face=FaceEngine(model)))
    assert [r.engine for r in regions] == ["face"]


def test_the_engine_choice_and_the_plan_share_one_framing_proposal(model, monkeypatch):
    """The engine choice asks for the framer's framing, then the plan does: one proposal, unless
    the pixels changed."""
    image, mask = square_photo(96), np.zeros((96, 96), bool)
    mask[40:60, 40:60] = True
    calls = []

    class Counting:
        def refine(self, image, mask, windows):
            calls.append(len(windows))
            return [(0, 0, 90)] * len(windows)

    monkeypatch.setattr(FaceEngine, "framer", lambda self: Counting())
    monkeypatch.setattr(
        facecheck.LoadedCheck, "probabilities", lambda self, image, mask, windows: np.full(len(windows), 0.9)
    )
    settings = InpaintSettings(CommonSettings(device="cpu"), {"face": FAST})
    regions = plan(image, mask, settings, Engines(face=FaceEngine(model)))
    assert [r.engine for r in regions] == ["face"] and len(calls) == 1
    engine = FaceEngine(model)
    box, base = (40, 60, 40, 60), regions[0].plan.window
    first = planning._framings(engine, image, mask, box, base)
    assert planning._framings(engine, image, mask, box, base) is first and len(calls) == 2
    mask[45, 45] = False  # the same array, other pixels: proposed again
    planning._framings(engine, image, mask, box, base)
    assert len(calls) == 3
