import threading

import numpy as np
import pytest

from inpaint_gui.core.blend.poisson import poisson_blend_direct
from inpaint_gui.core.engines import Engines
from inpaint_gui.core.engines.base import Fill
from inpaint_gui.core.engines.gan.engine import FaceEngine
from inpaint_gui.core.engines.gan.planning import plan_windows
from inpaint_gui.core.engines.gan.resample import from_model
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, apply_patch, inpaint, plan, seat
from tests.tiny import tiny_model

FAST = SearchSettings(iterations=20, restarts=2, lr=0.05, framing="fixed")  # one window: the mechanics


def settings(search=FAST, **common):
    """The face engine (these tests are about its pipeline), on the CPU."""
    common.setdefault("engine", "face")
    return InpaintSettings(CommonSettings(device="cpu", **common), {"face": search})


@pytest.fixture(scope="module")
def engines():
    return Engines(face=FaceEngine(tiny_model(resolution=32, nz=16, width=8, seed=0)))


def photo(h=90, w=120, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    base = np.stack([xx * 2, yy * 2, (xx + yy)], -1) % 256
    return np.clip(base + rng.normal(0, 5, (h, w, 3)), 0, 255).astype(np.uint8)


def seat_window(image, mask, window, fill_small, blend):
    """Seat a model-resolution fill in the hole inside ``window`` (what the face engine hands over)."""
    x, y, size = window
    fill = Fill((x, y, x + size, y + size), from_model(fill_small, size))
    return apply_patch(image, seat(image, mask[y : y + size, x : x + size], (x, y), fill, blend))


def test_seat_poisson_matches_a_direct_solve_inside_the_window():
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[30:50, 40:70] = True
    window = (25, 10, 64)
    fill = np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    out = seat_window(image, mask, window, fill, "poisson")
    assert np.array_equal(out[~mask], image[~mask])  # outside the hole: bit-identical
    source = image.astype(np.float32)
    source[10:74, 25:89] = from_model(fill, 64)
    reference = poisson_blend_direct(image, source, mask)
    assert np.abs(out.astype(int) - reference.astype(int)).max() <= 1


def test_seat_paste_is_the_upsampled_fill_in_the_hole():
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[30:50, 40:70] = True
    out = seat_window(image, mask, (25, 10, 64), np.full((32, 32, 3), 200, np.uint8), "paste")
    assert np.all(out[mask] == 200) and np.array_equal(out[~mask], image[~mask])


def test_seat_only_touches_the_hole_inside_the_window():
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[5:15, 5:15] = True  # outside the window below
    mask[40:50, 60:70] = True
    out = seat_window(image, mask, (50, 30, 40), np.zeros((32, 32, 3), np.uint8), "poisson")
    assert np.array_equal(out[5:15, 5:15], image[5:15, 5:15])
    assert not np.array_equal(out[40:50, 60:70], image[40:50, 60:70])


def test_inpaint_end_to_end(engines):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[35:55, 50:75] = True
    steps = []
    result = inpaint(image, mask, settings(), engines, on_step=lambda i, r, s: steps.append((i, s)))
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert np.array_equal(result.image[~mask], image[~mask])
    assert not np.array_equal(result.image[mask], image[mask])
    assert len(result.regions) == 1 and steps[-1][1].done
    x, y, size = result.regions[0].region.plan.window
    assert x <= 50 and y <= 35 and x + size >= 75 and y + size >= 55  # the window holds the hole
    final = result.regions[0].final
    *searched, network = final.candidates  # two restarts, then the networks' fill (gan/network.py)
    assert len(searched) == 2 and network.label == "ce128+pggan128 · one pass"
    assert final.candidates[final.best].loss == pytest.approx(np.nanmin(final.losses))


def test_steps_carry_lazy_composites_of_the_best_candidate(engines):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[35:55, 50:75] = True
    previews = []

    def on_step(i, region, step):
        if step.composite is not None:
            previews.append(step.composite(16))

    inpaint(image, mask, settings(), engines, on_step=on_step)
    assert previews
    p = previews[-1]
    x0, _y0, x1, _y1 = p.rect
    assert x0 <= 50 and x1 >= 75 and max(p.argb.shape) == 16
    alpha = p.argb >> 24
    assert alpha.max() == 255 and alpha.min() == 0  # opaque in the hole, clear around it


def test_far_apart_holes_get_a_region_each(engines):
    image = photo(100, 300)
    mask = np.zeros(image.shape[:2], bool)
    mask[40:50, 10:20] = True
    mask[40:50, 270:285] = True
    result = inpaint(image, mask, settings(blend="paste"), engines)
    assert len(result.regions) == 2
    assert np.array_equal(result.image[~mask], image[~mask])


def test_user_window_and_uncovered_pixels(engines):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[20:40, 20:40] = True
    result = inpaint(image, mask, settings(), engines, window=(10, 10, 25))
    assert result.regions[0].region.plan.window == (10, 10, 25)
    assert result.uncovered_pixels == int(mask.sum() - mask[10:35, 10:35].sum())
    assert np.array_equal(result.image[35:40, 20:40], image[35:40, 20:40])  # outside the window: untouched


def test_bad_masks(engines):
    image = photo()
    with pytest.raises(MaskError, match="empty"):
        inpaint(image, np.zeros(image.shape[:2], bool), settings(), engines)
    with pytest.raises(MaskError, match="whole photo"):
        inpaint(image, np.ones(image.shape[:2], bool), settings(), engines)
    with pytest.raises(MaskError, match="80x90"):
        plan(image, np.ones((90, 80), bool), settings(), engines)
    mask = np.zeros(image.shape[:2], bool)
    mask[10:50, 10:50] = True
    with pytest.raises(MaskError, match="whole window"):
        inpaint(image, mask, settings(), engines, window=(15, 15, 30))


def test_cancel_keeps_the_best_so_far(engines):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[35:55, 50:75] = True
    cancel = threading.Event()

    def on_step(i, region, step):
        if step.iteration >= 10:
            cancel.set()

    slow = SearchSettings(iterations=100_000, restarts=2, preview_every=5, framing="fixed")
    result = inpaint(image, mask, settings(slow), engines, cancel=cancel, on_step=on_step)
    assert result.cancelled and result.regions[0].final.iteration == 10
    assert np.array_equal(result.image[~mask], image[~mask])


def test_plan_windows_small_photo():
    mask = np.zeros((40, 50), bool)
    mask[10:20, 10:20] = True
    ((x, y, size),) = plan_windows(mask, 64)
    assert size == 40 and 0 <= x <= 10 and y == 0


def test_a_greyscale_photo_is_filled_grey(engines):
    grey = photo()[..., :1].repeat(3, axis=2)  # R = G = B
    mask = np.zeros(grey.shape[:2], bool)
    mask[35:55, 50:75] = True
    result = inpaint(grey, mask, settings(), engines)
    out = result.image
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert not np.array_equal(out[mask], grey[mask]) and np.array_equal(out[~mask], grey[~mask])
    colour = inpaint(photo(), mask, settings(), engines).image  # a colour photo keeps a colour fill
    assert not np.array_equal(colour[mask][:, 0], colour[mask][:, 1])


def test_the_search_on_a_grey_photo_compares_luminance():
    from tests.tiny import run_search

    model = tiny_model(resolution=32, nz=16, width=8, seed=0)
    image = np.full((32, 32, 3), 90, np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = True
    rgb = run_search(model, image, mask, SearchSettings(iterations=3, restarts=2, device="cpu"))
    luma = run_search(model, image, mask, SearchSettings(iterations=3, restarts=2, device="cpu", grey=True))
    assert not np.allclose(rgb.contextual, luma.contextual)  # a different loss...
    assert np.isfinite(luma.total).all()
