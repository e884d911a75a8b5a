"""The scene engine behind the pipeline, the face check and the automatic engine choice."""

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_gui.core.engines import Engines
from inpaint_gui.core.engines.gan import planning
from inpaint_gui.core.engines.gan.engine import FaceEngine
from inpaint_gui.core.engines.gan.facecheck import CARD, WEIGHTS_FILE, find_check, load_check, window_pixels
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.errors import WeightsError
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, finish, inpaint, plan, run
from tests.tiny import fix_face_check, tiny_model

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def texture(h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    stripes = ((xx // 6 + yy // 9) % 2)[..., None] * np.array([90, 60, 30])
    return np.clip(80 + stripes + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def blob_and_scratch(h=120, w=160):
    mask = np.zeros((h, w), bool)
    mask[40:70, 50:85] = True  # an object
    mask[100:103, 5:150] = True  # a 3-px scratch
    return mask


def scene_settings(**common):
    return InpaintSettings(CommonSettings(device="cpu", engine="scene", **common))


# -- the scene engine through the pipeline ----------------------------------------------------------
def test_scene_plan_puts_thin_parts_first_and_objects_in_a_region_with_context():
    mask = blob_and_scratch()
    regions = plan(texture(), mask, scene_settings(), Engines())
    kinds = [r.plan.kind for r in regions]
    assert kinds[0] == "thin" and kinds[-1] == "patch"
    covered = np.zeros_like(mask)
    for r in regions:
        sl, hole = r.hole_in(mask.shape)
        assert not (covered[sl] & hole).any()  # no pixel is planned twice
        covered[sl] |= hole
    np.testing.assert_array_equal(covered, mask)
    patch = regions[-1]
    x0, y0, x1, y1 = patch.rect
    assert x0 < 50 and y0 < 40 and x1 > 85 and y1 > 70  # the object's region holds its surroundings


def test_scene_inpaint_changes_only_the_hole_and_repeats_with_the_seed():
    image, mask = texture(), blob_and_scratch()
    a = inpaint(image, mask, scene_settings(seed=3), Engines()).image
    b = inpaint(image, mask, scene_settings(seed=3), Engines()).image
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[~mask], image[~mask])
    assert np.abs(a[mask].astype(int) - image[mask]).mean() > 1  # the hole was filled, not left as it was
    c = inpaint(image, mask, scene_settings(seed=4), Engines()).image
    assert not np.array_equal(a[40:70, 50:85], c[40:70, 50:85])


def test_scene_run_offers_one_candidate_per_seed_and_cancel_keeps_a_complete_one():
    image, mask = texture(), blob_and_scratch()
    engines = Engines()
    region = plan(image, mask, scene_settings(), engines)[-1]
    steps = list(run(image, mask, region, scene_settings(), engines))
    final = steps[-1]
    assert final.done and len(final.candidates) == 2 and not final.cancelled
    assert [c.label for c in final.candidates] == ["seed 0", "seed 1"]
    assert all(s.composite is not None for s in steps) and len(steps) > 3  # a preview at every step

    cancel = threading.Event()
    stream = run(image, mask, region, scene_settings(), engines, cancel)
    next(stream)
    cancel.set()
    rest = list(stream)
    assert rest[-1].done and rest[-1].cancelled and len(rest[-1].candidates) == 1
    patch = finish(image, mask, region, rest[-1].candidates[0], scene_settings(), engines)
    _, hole = region.hole_in(image.shape)
    assert patch.changed.sum() >= hole.sum()


# -- the face check ----------------------------------------------------------------------------------
def test_window_pixels_count_the_outside_of_the_photo_as_hole():
    image = np.full((40, 40, 3), 200, np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[30:, 30:] = True
    pixels, hole = window_pixels(image, mask, (-20, -20, 40), size=32)
    assert hole[:16, :].all() and hole[:, :16].all() and not hole[16:, 16:].any()
    assert (pixels[16:, 16:] == 200).all()
    _, hole = window_pixels(image, mask, (20, 20, 20), size=32)
    assert hole[16:, 16:].all() and not hole[:16, :16].any()


def test_the_fast_window_sampler_agrees_with_the_calibrated_one():
    from inpaint_gui.core.engines.gan.facecheck import windows_pixels_fast

    image, mask = _resource("astronaut.png", "astronaut_mask.png")
    windows = [(x, y, s) for s in (40, 97, 170, 333) for x in (-60, 0, 150, 400) for y in (-30, 90, 300)]
    fast, fast_holes = windows_pixels_fast(image, mask, windows)
    slow = [window_pixels(image, mask, w) for w in windows]
    diff = np.abs(fast.astype(int) - np.stack([p for p, _ in slow]))
    assert fast.shape == (len(windows), 32, 32, 3) and diff.mean() < 1.0  # cell edges rounded to whole pixels
    assert (fast_holes != np.stack([h for _, h in slow])).mean() < 0.01
    check = load_check()
    slow_logits, fast_logits = check.logits(image, mask, windows), check.logits(image, mask, windows, fast=True)
    assert np.corrcoef(slow_logits, fast_logits)[0, 1] > 0.99
    np.testing.assert_allclose(check.probabilities(image, mask, windows), 1 / (1 + np.exp(-slow_logits)))


def test_the_shipped_face_check_is_verified_before_it_loads(tmp_path):
    assert load_check().card["held_out"]["faces_called_faces"] > 0.9
    folder = tmp_path / "facecheck"
    shutil.copytree(find_check(), folder)
    data = bytearray((folder / WEIGHTS_FILE).read_bytes())
    data[-10] ^= 0xFF
    (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_check(folder)
    (folder / CARD).write_text("{not json")
    with pytest.raises(WeightsError, match="not a face-check card"):
        load_check(folder)


def _resource(name, mask_name):
    image = np.asarray(Image.open(RESOURCES / name).convert("RGB"))
    mask = np.asarray(Image.open(RESOURCES / mask_name).convert("L")) > 127
    return image, mask


def test_auto_fills_the_sample_face_with_the_face_prior_and_the_rocket_mast_with_the_scene_engine():
    engines, settings = Engines(), InpaintSettings()
    assert settings.common.engine == "auto"
    face, face_mask = _resource("astronaut.png", "astronaut_mask.png")
    regions = plan(face, face_mask, settings, engines)
    assert [r.engine for r in regions] == ["face"] and "face check" in regions[0].label
    rocket, rocket_mask = _resource("rocket.jpg", "rocket_mask.png")
    assert {r.engine for r in plan(rocket, rocket_mask, settings, engines)} == {"scene"}


# -- the automatic choice, with the check's answer fixed -----------------------------------------------
@pytest.fixture
def tiny_engines():
    return Engines(face=FaceEngine(tiny_model(resolution=32, nz=16, width=8, seed=0)))


def auto_settings():
    return InpaintSettings(CommonSettings(device="cpu"), {"face": SearchSettings(framing="fixed")})


@pytest.mark.parametrize(("p", "engine"), [(0.9, "face"), (0.1, "scene")])
def test_auto_follows_the_face_check_and_scratches_never_go_to_the_face(monkeypatch, tiny_engines, p, engine):
    fix_face_check(monkeypatch, p)
    regions = plan(texture(), blob_and_scratch(), auto_settings(), tiny_engines)
    assert regions[0].engine == "scene" and regions[0].plan.kind == "thin"
    assert {r.engine for r in regions[1:]} == {engine}
    assert all(f"face check {p:.2f}" in r.label for r in regions[1:])
    result = inpaint(texture(), blob_and_scratch(), auto_settings(), tiny_engines)
    assert [r.region.engine for r in result.regions] == [r.engine for r in regions]


def test_a_window_placed_by_hand_is_the_face_engines(tiny_engines):
    mask = np.zeros((120, 160), bool)
    mask[40:60, 50:70] = True
    regions = plan(texture(), mask, auto_settings(), tiny_engines, window=(30, 20, 64))
    assert [r.engine for r in regions] == ["face"] and regions[0].rect == (30, 20, 94, 84)


def test_auto_asks_the_check_for_framings_only_where_it_chose_the_face(monkeypatch, tiny_engines):
    calls = []
    real = planning._framings

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(planning, "_framings", spy)
    settings = InpaintSettings(CommonSettings(device="cpu"))  # framing search on, as the app runs
    for p, engine, proposals in ((0.1, "scene", 0), (0.9, "face", 1)):
        calls.clear()
        fix_face_check(monkeypatch, p)
        regions = plan(texture(), blob_and_scratch(), settings, tiny_engines)
        assert regions[-1].engine == engine and len(calls) == proposals
        if engine == "face":  # the framings the check proposed, over the same group of holes
            assert [f.window for f in regions[-1].plan.framings] != list(regions[-1].plan.checked)
