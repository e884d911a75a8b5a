import threading

import numpy as np
import pytest

from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.pipeline import compose, inpaint, plan_windows
from inpaint_gui.core.blend.poisson import poisson_blend_direct
from inpaint_gui.core.engines.gan.search import SearchSettings
from inpaint_gui.core.image.resample import from_model
from tests.tiny import tiny_model

FAST = SearchSettings(iterations=20, restarts=2, device="cpu", lr=0.05)


@pytest.fixture(scope="module")
def model():
    return tiny_model(resolution=32, nz=16, width=8, seed=0)


def photo(h=90, w=120, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    base = np.stack([xx * 2, yy * 2, (xx + yy)], -1) % 256
    return np.clip(base + rng.normal(0, 5, (h, w, 3)), 0, 255).astype(np.uint8)


def test_compose_poisson_matches_a_direct_solve_inside_the_window():
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[30:50, 40:70] = True
    window = (25, 10, 64)
    fill = np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    out = compose(image, mask, window, fill, "poisson")
    assert np.array_equal(out[~mask], image[~mask])  # outside the hole: bit-identical
    source = image.astype(np.float32)
    source[10:74, 25:89] = from_model(fill, 64)
    reference = poisson_blend_direct(image, source, mask)
    assert np.abs(out.astype(int) - reference.astype(int)).max() <= 1


def test_compose_paste_is_the_upsampled_fill_in_the_hole():
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[30:50, 40:70] = True
    fill = np.full((32, 32, 3), 200, np.uint8)
    out = compose(image, mask, (25, 10, 64), fill, "paste")
    assert np.all(out[mask] == 200) and np.array_equal(out[~mask], image[~mask])


def test_compose_only_touches_the_hole_inside_the_window():
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[5:15, 5:15] = True  # outside the window below
    mask[40:50, 60:70] = True
    out = compose(image, mask, (50, 30, 40), np.zeros((32, 32, 3), np.uint8), "poisson")
    assert np.array_equal(out[5:15, 5:15], image[5:15, 5:15])
    assert not np.array_equal(out[40:50, 60:70], image[40:50, 60:70])


def test_inpaint_end_to_end(model):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[35:55, 50:75] = True
    steps = []
    result = inpaint(image, mask, model, FAST, on_step=lambda i, w, s: steps.append((i, s)))
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert np.array_equal(result.image[~mask], image[~mask])
    assert not np.array_equal(result.image[mask], image[mask])
    assert len(result.windows) == 1 and steps[-1][1].done
    x, y, size = result.windows[0].window
    assert x <= 50 and y <= 35 and x + size >= 75 and y + size >= 55  # the window holds the hole


def test_far_apart_holes_get_a_window_each(model):
    image = photo(100, 300)
    mask = np.zeros(image.shape[:2], bool)
    mask[40:50, 10:20] = True
    mask[40:50, 270:285] = True
    result = inpaint(image, mask, model, FAST, blend="paste")
    assert len(result.windows) == 2
    assert np.array_equal(result.image[~mask], image[~mask])


def test_user_window_and_uncovered_pixels(model):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[20:40, 20:40] = True
    result = inpaint(image, mask, model, FAST, window=(10, 10, 25))
    assert result.windows[0].window == (10, 10, 25)
    assert result.uncovered_pixels == int(mask.sum() - mask[10:35, 10:35].sum())
    assert np.array_equal(result.image[35:40, 20:40], image[35:40, 20:40])  # outside the window: untouched


def test_bad_masks(model):
    image = photo()
    with pytest.raises(MaskError, match="empty"):
        inpaint(image, np.zeros(image.shape[:2], bool), model, FAST)
    with pytest.raises(MaskError, match="whole photo"):
        inpaint(image, np.ones(image.shape[:2], bool), model, FAST)
    with pytest.raises(MaskError, match="80x90"):
        inpaint(image, np.ones((90, 80), bool), model, FAST)
    mask = np.zeros(image.shape[:2], bool)
    mask[10:50, 10:50] = True
    with pytest.raises(MaskError, match="whole window"):
        inpaint(image, mask, model, FAST, window=(15, 15, 30))


def test_cancel_keeps_the_best_so_far(model):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[35:55, 50:75] = True
    cancel = threading.Event()

    def on_step(i, w, step):
        if step.iteration >= 10:
            cancel.set()

    settings = SearchSettings(iterations=100_000, restarts=2, device="cpu", preview_every=5)
    result = inpaint(image, mask, model, settings, cancel=cancel, on_step=on_step)
    assert result.cancelled and result.windows[0].final.iteration == 10
    assert np.array_equal(result.image[~mask], image[~mask])


def test_plan_windows_small_photo():
    mask = np.zeros((40, 50), bool)
    mask[10:20, 10:20] = True
    (x, y, size), = plan_windows(mask, 64)
    assert size == 40 and 0 <= x <= 10 and y == 0
