"""Tests for inpaint_gui.core.window: window choice, area resampling, upsampling, paste."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

import inpaint_gui.core.engines.gan.windows as window_mod
from inpaint_gui.core.engines.gan.resample import area_resize, from_model, resample_weights, to_model
from inpaint_gui.core.engines.gan.windows import auto_windows, crop, uncovered, validate_window
from inpaint_gui.core.errors import MaskError

# ----------------------------------------------------------------------------- helpers


def _contains(win, y0, y1, x0, x1) -> bool:
    x, y, s = win
    return x <= x0 and y <= y0 and x1 <= x + s and y1 <= y + s


def _inside(win, h, w) -> bool:
    x, y, s = win
    return s > 0 and x >= 0 and y >= 0 and x + s <= w and y + s <= h


def _overlap(a, b) -> bool:
    return max(a[0], b[0]) < min(a[0] + a[2], b[0] + b[2]) and max(a[1], b[1]) < min(a[1] + a[2], b[1] + b[2])


def _components(mask):
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    return [(s[0].start, s[0].stop, s[1].start, s[1].stop) for s in ndimage.find_objects(labels)]


def _area_reference(arr: np.ndarray, s: int) -> np.ndarray:
    """Exact area resampling by replication to a common multiple, then a box mean."""
    n = arr.shape[0]
    lcm = n * s // math.gcd(n, s)
    rep = lcm // n
    big = np.repeat(np.repeat(arr.astype(np.float64), rep, axis=0), rep, axis=1)
    k = lcm // s
    return big.reshape(s, k, s, k, *arr.shape[2:]).mean(axis=(1, 3))


def _any_reference(mask: np.ndarray, s: int) -> np.ndarray:
    n = mask.shape[0]
    lcm = n * s // math.gcd(n, s)
    rep = lcm // n
    big = np.repeat(np.repeat(mask, rep, axis=0), rep, axis=1)
    k = lcm // s
    return big.reshape(s, k, s, k).any(axis=(1, 3))


def _psnr(a, b) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return 10 * math.log10(255.0**2 / max(mse, 1e-12))


# ----------------------------------------------------------------------------- validation


def test_validate_window_accepts_and_normalises():
    assert validate_window([0, 0, 8], (10, 8)) == (0, 0, 8)
    assert all(type(v) is int for v in validate_window((np.int64(2), 3, 5), (10, 8, 3)))


@pytest.mark.parametrize(
    "win",
    [
        (-1, 0, 4),
        (0, -1, 4),
        (0, 0, 0),
        (0, 0, -3),
        (5, 0, 4),
        (0, 7, 4),
        (0, 0, 11),
        (0, 0),
        (0, 0, 4, 4),
        (0.0, 0, 4),
        (0, 0, 4.5),
        (True, 0, 4),
        "abc",
        None,
    ],
)
def test_validate_window_rejects(win):
    with pytest.raises(MaskError) as info:
        validate_window(win, (10, 8, 3))  # 8 wide, 10 tall
    assert "\n" not in str(info.value) and "window" in str(info.value)


def test_crop_is_the_window_view():
    img = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    c = crop(img, (3, 2, 5))
    np.testing.assert_array_equal(c, img[2:7, 3:8])
    assert np.shares_memory(c, img)
    with pytest.raises(MaskError):
        crop(img, (8, 0, 5))


def test_uncovered():
    mask = np.zeros((20, 20), bool)
    mask[2:4, 2:4] = True
    mask[15, 15] = True
    out = uncovered(mask, [(0, 0, 5)])
    assert out.sum() == 1 and out[15, 15]
    assert not uncovered(mask, [(0, 0, 5), (10, 10, 10)]).any()
    assert np.array_equal(uncovered(mask, []), mask)


# ----------------------------------------------------------------------------- auto_windows


def test_single_centred_hole_gets_context():
    mask = np.zeros((200, 200), bool)
    mask[90:110, 90:110] = True
    # side = 20 * (1 + 2 * 0.5) = 40, centred on the hole
    assert auto_windows(mask, context=0.5, min_size=8) == [(80, 80, 40)]
    # min_size wins: 64, centred
    assert auto_windows(mask) == [(68, 68, 64)]
    # context 1.0: 60
    assert auto_windows(mask, context=1.0, min_size=8) == [(70, 70, 60)]


def test_rectangular_hole_uses_longer_extent():
    mask = np.zeros((200, 300), bool)
    mask[100:110, 50:80] = True  # 10 tall, 30 wide
    [(x, y, s)] = auto_windows(mask, context=0.5, min_size=8)
    assert s == 60
    assert _contains((x, y, s), 100, 110, 50, 80)
    assert (x, y) == (50 - 15, 100 - 25)


def test_context_rounds_up():
    mask = np.zeros((100, 100), bool)
    mask[40:51, 40:51] = True  # 11 px: 11 * 1.2 = 13.2 -> 14
    [(_, _, s)] = auto_windows(mask, context=0.1, min_size=1)
    assert s == 14


@pytest.mark.parametrize("corner", ["tl", "br", "tr", "bl"])
def test_hole_at_corner_is_shifted_inside(corner):
    h, w = 120, 160
    mask = np.zeros((h, w), bool)
    ys = slice(0, 10) if corner[0] == "t" else slice(h - 10, h)
    xs = slice(0, 10) if corner[1] == "l" else slice(w - 10, w)
    mask[ys, xs] = True
    [win] = auto_windows(mask)
    assert win[2] == 64
    assert _inside(win, h, w)
    assert _contains(win, ys.start, ys.stop, xs.start, xs.stop)
    x, y, _ = win
    assert x == (0 if corner[1] == "l" else w - 64)
    assert y == (0 if corner[0] == "t" else h - 64)


def test_far_holes_get_one_window_each_sorted():
    mask = np.zeros((400, 400), bool)
    mask[300:310, 20:30] = True  # lower left
    mask[20:30, 300:310] = True  # upper right
    mask[20:30, 20:30] = True  # upper left
    wins = auto_windows(mask)
    assert len(wins) == 3
    assert wins == sorted(wins, key=lambda v: (v[1], v[0]))
    assert wins[0][0] < wins[1][0]  # same row: left one first
    for a in range(3):
        for b in range(a + 1, 3):
            assert not _overlap(wins[a], wins[b])
    assert not uncovered(mask, wins).any()


def test_close_holes_share_one_window():
    mask = np.zeros((300, 300), bool)
    mask[100:110, 100:110] = True
    mask[100:110, 130:140] = True  # windows of 64 around each overlap
    wins = auto_windows(mask)
    assert len(wins) == 1
    [win] = wins
    assert _contains(win, 100, 110, 100, 140)
    # united box is 40 wide -> 80 with context
    assert win[2] == 80
    # without merging: two overlapping windows
    assert len(auto_windows(mask, merge=False)) == 2


def test_merge_repeats_until_stable():
    # A chain: merging the first two grows the window so that it reaches the third.
    mask = np.zeros((400, 400), bool)
    mask[200:210, 100:110] = True
    mask[200:210, 150:160] = True
    mask[200:210, 215:225] = True  # its window starts at 188: misses B's, meets A+B's
    assert len(auto_windows(mask, merge=False)) == 3
    wins = auto_windows(mask)
    assert len(wins) == 1
    assert _contains(wins[0], 200, 210, 100, 225)
    pair = auto_windows(mask[:, :170])
    assert len(pair) == 1 and pair[0][2] == 120


def test_holes_that_fit_one_window_anyway_are_merged():
    # The tall hole's window is clamped at the border and misses the dot beside it, but a
    # window no larger than the tall hole's holds both.
    mask = np.zeros((27, 65), bool)
    mask[4:26, 39:41] = True
    mask[4, 55] = True
    separate = auto_windows(mask, context=0.0, min_size=8, merge=False)
    assert len(separate) == 2 and not _overlap(*separate)
    [win] = auto_windows(mask, context=0.0, min_size=8)
    assert win[2] == 22 and _contains(win, 4, 26, 39, 56) and _inside(win, 27, 65)


def test_empty_mask():
    assert auto_windows(np.zeros((50, 60), bool)) == []
    assert auto_windows(np.zeros((0, 0), bool)) == []


def test_photo_smaller_than_min_size():
    mask = np.zeros((50, 30), bool)
    mask[40:45, 10:12] = True
    [win] = auto_windows(mask, min_size=64)
    assert win[2] == 30 and _inside(win, 50, 30)
    assert _contains(win, 40, 45, 10, 12)


def test_hole_longer_than_short_side_is_tiled():
    h, w = 100, 1000
    mask = np.zeros((h, w), bool)
    mask[40:50, 30:900] = True
    wins = auto_windows(mask)
    assert len(wins) >= 9
    assert all(s == 100 and y == 0 and _inside((x, y, s), h, w) for x, y, s in wins)
    assert not uncovered(mask, wins).any()
    xs = [x for x, _, _ in wins]
    assert xs == sorted(xs)
    # evenly spread, contiguous
    assert all(b - a <= 100 for a, b in zip(xs, xs[1:]))
    # margin of ceil(0.5 * 100 / 2) = 25 px at each end of the hole
    assert xs[0] == 5 and xs[-1] + 100 == 925
    # the same in a tall photo
    twins = auto_windows(mask.T.copy())
    assert twins == [(y, x, s) for x, y, s in wins]


def test_input_checks():
    with pytest.raises(MaskError):
        auto_windows(np.zeros((4, 4, 3), bool))
    for kwargs in [dict(context=-0.1), dict(context=float("nan")), dict(min_size=0)]:
        with pytest.raises(ValueError):
            auto_windows(np.zeros((4, 4), bool), **kwargs)


@pytest.mark.parametrize("density", [0.002, 0.02, 0.3])
def test_raster_fast_path_matches_pairwise(monkeypatch, density):
    rng = np.random.default_rng(int(density * 1000))
    for _ in range(4):
        h, w = rng.integers(60, 260, size=2)
        mask = rng.random((h, w)) < density
        kwargs = dict(context=float(rng.choice([0.0, 0.25, 0.5])), min_size=int(rng.choice([2, 8, 32])))
        monkeypatch.setattr(window_mod, "_RASTER_ABOVE", 10**9)
        slow = auto_windows(mask, **kwargs)
        monkeypatch.setattr(window_mod, "_RASTER_ABOVE", 0)
        fast = auto_windows(mask, **kwargs)
        assert fast == slow
        assert not uncovered(mask, fast).any()


@st.composite
def _masks(draw):
    h = draw(st.integers(1, 90))
    w = draw(st.integers(1, 90))
    mask = np.zeros((h, w), bool)
    for _ in range(draw(st.integers(0, 6))):
        y0 = draw(st.integers(0, h - 1))
        x0 = draw(st.integers(0, w - 1))
        y1 = draw(st.integers(y0 + 1, min(h, y0 + 40)))
        x1 = draw(st.integers(x0 + 1, min(w, x0 + 40)))
        mask[y0:y1, x0:x1] = True
    for _ in range(draw(st.integers(0, 8))):
        mask[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
    return mask


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mask=_masks(),
    context=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    min_size=st.integers(1, 70),
    merge=st.booleans(),
)
def test_auto_windows_properties(mask, context, min_size, merge):
    h, w = mask.shape
    short = min(h, w)
    wins = auto_windows(mask, context=context, min_size=min_size, merge=merge)
    assert wins == auto_windows(mask, context=context, min_size=min_size, merge=merge)
    assert wins == sorted(wins, key=lambda v: (v[1], v[0], v[2]))
    assert len(set(wins)) == len(wins)
    assert (len(wins) == 0) == (not mask.any())
    for win in wins:
        assert validate_window(win, mask.shape) == win
        x, y, s = win
        assert s <= short
        assert s >= min(min_size, short)
        assert mask[y : y + s, x : x + s].any()
    # every hole pixel is covered, whatever the shape
    assert not uncovered(mask, wins).any()
    comps = _components(mask)
    if h == w:  # no tiling possible: each component lies whole in one window
        for y0, y1, x0, x1 in comps:
            assert any(_contains(v, y0, y1, x0, x1) for v in wins)
    if merge:
        # windows overlap only as tiles of a group longer than the short side
        for i, a in enumerate(wins):
            for b in wins[i + 1 :]:
                if _overlap(a, b):
                    assert h != w and a[2] == b[2] == short


def test_speckle_mask_on_a_large_photo_stays_fast_enough():
    # ~20k components: the raster path must group them (a pairwise sweep would not finish).
    rng = np.random.default_rng(3)
    mask = rng.random((600, 900)) < 0.04
    wins = auto_windows(mask)
    assert wins and not uncovered(mask, wins).any()
    assert all(_inside(v, 600, 900) for v in wins)


# ----------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("n_out,n_in", [(64, 64), (64, 128), (64, 100), (64, 4000), (7, 3), (64, 40), (1, 5), (5, 1)])
def test_resample_weights_rows_sum_to_one(n_out, n_in):
    wts = resample_weights(n_out, n_in)
    assert wts.shape == (n_out, n_in)
    assert (wts >= 0).all()
    np.testing.assert_allclose(wts.sum(axis=1), 1.0, atol=1e-12)
    if n_out <= n_in:  # area: every source pixel contributes its whole area in total
        np.testing.assert_allclose(wts.sum(axis=0), n_out / n_in, atol=1e-12)


def test_to_model_integer_factor_is_box_mean():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(300, 320, 3), dtype=np.uint8)
    mask = np.zeros((300, 320), bool)
    win = (10, 20, 256)  # factor 4
    small, msmall = to_model(img, mask, win, 64)
    block = img[20:276, 10:266].astype(np.int64).reshape(64, 4, 64, 4, 3)
    sums = block.sum(axis=(1, 3))
    np.testing.assert_allclose(area_resize(img[20:276, 10:266], 64), sums / 16.0, atol=1e-9)
    expected = (2 * sums + 16) // 32  # half-up rounding of sums / 16, in integers
    np.testing.assert_array_equal(small, expected.astype(np.uint8))
    assert small.dtype == np.uint8 and small.shape == (64, 64, 3)
    assert msmall.dtype == bool and msmall.shape == (64, 64) and not msmall.any()


@pytest.mark.parametrize("factor", [3, 6])
def test_to_model_exact_ties_round_half_up(factor):
    # Blocks of a and a + 1 in a checkerboard average to exactly a + 0.5: must give a + 1,
    # although 1 / factor**2 is not exact in binary floating point.
    s = 32
    n = s * factor
    rng = np.random.default_rng(factor)
    base = np.repeat(np.repeat(rng.integers(0, 255, (s, s)), factor, 0), factor, 1)
    checker = np.indices((n, n)).sum(0) % 2
    img = np.repeat((base + checker)[..., None], 3, 2).astype(np.uint8)
    small, _ = to_model(img, np.zeros((n, n), bool), (0, 0, n), s)
    sums = img.astype(np.int64).reshape(s, factor, s, factor, 3).sum(axis=(1, 3))
    k2 = factor * factor
    np.testing.assert_array_equal(small, ((2 * sums + k2) // (2 * k2)).astype(np.uint8))
    if factor == 6:  # 18 of 36 pixels are a + 1: an exact tie everywhere
        np.testing.assert_array_equal(small[..., 0], base[::factor, ::factor] + 1)


@pytest.mark.parametrize("n", [100, 96, 150, 33, 64])
def test_area_resize_matches_replication_reference(n):
    rng = np.random.default_rng(n)
    arr = rng.integers(0, 256, size=(n, n, 3), dtype=np.uint8)
    s = 32
    ours = area_resize(arr, s)
    np.testing.assert_allclose(ours, _area_reference(arr, s), atol=1e-9)
    # mass: the total, weighted by cell area, is preserved
    total = arr.astype(np.float64).sum()
    np.testing.assert_allclose(ours.sum() * (n / s) ** 2, total, rtol=1e-12)


def test_to_model_non_integer_factor_preserves_constant_and_mean():
    h = w = 500
    const = np.full((h, w, 3), 137, np.uint8)
    small, _ = to_model(const, np.zeros((h, w), bool), (3, 7, 437), 64)
    assert (small == 137).all()
    # linear ramp: the mean over the window is preserved (area weights)
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = np.stack([(xx * 0.4) % 256, yy * 0.3, (xx + yy) * 0.2], axis=-1).astype(np.uint8)
    win = (11, 5, 437)
    crop_ = crop(ramp, win).astype(np.float64)
    f = area_resize(crop(ramp, win), 64)
    np.testing.assert_allclose(f.mean(axis=(0, 1)), crop_.mean(axis=(0, 1)), rtol=1e-12)
    small, _ = to_model(ramp, np.zeros((h, w), bool), win, 64)
    assert np.abs(small.astype(np.float64) - f).max() <= 0.5 + 1e-9


def test_to_model_against_opencv_inter_area():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, size=(437, 437, 3), dtype=np.uint8)
    ours = area_resize(img, 64)
    ref = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA)
    assert np.abs(ours - ref).max() <= 0.5 + 1e-6


def test_missing_rule_single_pixel_integer_factor():
    img = np.full((256, 256, 3), 200, np.uint8)
    mask = np.zeros((256, 256), bool)
    mask[5, 9] = True
    img[5, 9] = 0
    small, msmall = to_model(img, mask, (0, 0, 256), 64)
    assert msmall.sum() == 1 and msmall[1, 2]
    # missing pixels hold the mean colour of the known ones
    assert (small == 200).all()


def test_missing_rule_pixel_on_cell_boundary_marks_all_cells_it_touches():
    n, s = 100, 64  # cell = 1.5625 px; pixel 1 straddles cells 0 and 1
    img = np.zeros((n, n, 3), np.uint8)
    mask = np.zeros((n, n), bool)
    mask[1, 1] = True
    _, msmall = to_model(img, mask, (0, 0, n), s)
    assert msmall.sum() == 4 and msmall[:2, :2].all()
    mask[:] = False
    mask[0, 0] = True  # pixel 0 lies in cell 0 only
    _, msmall = to_model(img, mask, (0, 0, n), s)
    assert msmall.sum() == 1 and msmall[0, 0]


def test_missing_rule_matches_reference_on_random_masks():
    rng = np.random.default_rng(11)
    for n, s in [(100, 64), (150, 32), (96, 64), (128, 64)]:
        mask = rng.random((n, n)) < 0.01
        img = rng.integers(0, 256, (n, n, 3), dtype=np.uint8)
        small, msmall = to_model(img, mask, (0, 0, n), s)
        np.testing.assert_array_equal(msmall, _any_reference(mask, s))
        # known model pixels are pure area means; missing ones the mean of the known ones
        ref = _area_reference(img, s)
        known = ~msmall
        assert np.abs(small[known] - ref[known]).max() <= 0.5 + 1e-9
        assert np.abs(small[msmall] - ref[known].mean(axis=0)).max() <= 0.5 + 1e-9


def test_to_model_window_offset_and_only_window_pixels_count():
    img = np.zeros((200, 300, 3), np.uint8)
    img[50:114, 100:164] = 90
    mask = np.zeros((200, 300), bool)
    mask[0, 0] = True  # outside the window: no effect
    small, msmall = to_model(img, mask, (100, 50, 64), 64)
    assert (small == 90).all() and not msmall.any()


def test_to_model_all_missing_is_grey():
    img = np.zeros((64, 64, 3), np.uint8)
    small, msmall = to_model(img, np.ones((64, 64), bool), (0, 0, 64), 32)
    assert msmall.all() and (small == 128).all()


def test_to_model_upsamples_small_windows():
    img = np.full((40, 50, 3), 77, np.uint8)
    mask = np.zeros((40, 50), bool)
    mask[10, 10] = True
    small, msmall = to_model(img, mask, (0, 0, 40), 64)
    assert small.shape == (64, 64, 3) and (small == 77).all()
    # bilinear support: the missing source pixel marks a small neighbourhood only
    assert 1 <= msmall.sum() <= 9
    ys, xs = np.nonzero(msmall)
    centres = (np.array([ys, xs]) + 0.5) * 40 / 64 - 0.5
    assert np.all(np.abs(centres - 10) < 1)
    # and a linear ramp stays linear (bilinear reproduces it away from the clamped edges)
    ramp = np.repeat(np.repeat((np.arange(40) * 5).astype(np.uint8)[:, None], 40, 1)[..., None], 3, 2)
    f = area_resize(ramp, 64)
    centre = (np.arange(64) + 0.5) * 40 / 64 - 0.5
    inner = (centre >= 0) & (centre <= 39)
    np.testing.assert_allclose(f[inner, 0, 0], 5 * centre[inner], atol=1e-9)


def test_to_model_checks_inputs():
    img, ok = np.zeros((50, 60, 3), np.uint8), np.zeros((50, 60), bool)
    with pytest.raises(MaskError, match="60x50"):
        to_model(img, np.zeros((60, 50), bool), (0, 0, 10), 8)
    with pytest.raises(MaskError):
        to_model(img, ok, (55, 0, 10), 8)
    for args in [(img.astype(np.float32), ok, (0, 0, 10), 8), (img, ok, (0, 0, 10), 0)]:
        with pytest.raises(ValueError):
            to_model(*args)


# ----------------------------------------------------------------------------- from_model


def test_from_model_constant_shape_dtype():
    const = np.full((64, 64, 3), 93, np.uint8)
    for size in (64, 100, 437, 40):
        up = from_model(const, size)
        assert up.shape == (size, size, 3) and up.dtype == np.float32
        np.testing.assert_allclose(up, 93.0, atol=1e-3)
    upf = from_model(np.full((32, 32, 3), 12.25, np.float32), 81)
    np.testing.assert_allclose(upf, 12.25, atol=1e-3)
    for bad, size in [(np.zeros((64, 32, 3)), 10), (np.zeros((64, 64, 3)), 0)]:
        with pytest.raises(ValueError):
            from_model(bad, size)


def test_from_model_is_smooth_and_clipped():
    ramp = np.repeat(np.linspace(0, 255, 64)[None, :], 64, 0)
    small = np.stack([ramp, ramp.T, 255 - ramp], -1).astype(np.float32)
    up = from_model(small, 640)
    row = up[320, :, 0]
    assert np.all(np.diff(row) >= -1e-3)  # monotone: no blocky or ringing steps
    assert len(np.unique(np.round(row, 3))) > 500  # not nearest-neighbour (64 levels)
    # overshoot of the cubic kernel on a hard edge is clipped
    checker = (np.indices((16, 16)).sum(0) % 2 * 255).astype(np.uint8)
    upc = from_model(np.repeat(checker[..., None], 3, 2), 100)
    assert upc.min() >= 0.0 and upc.max() <= 255.0
    assert upc.min() == 0.0 and upc.max() == 255.0  # it did overshoot, and was clipped


def test_round_trip_smooth_image_psnr():
    n = 640
    yy, xx = np.mgrid[0:n, 0:n] / n
    smooth = np.stack([255 * xx, 255 * yy, 127.5 + 100 * np.sin(2 * np.pi * xx) * np.cos(2 * np.pi * yy)], -1)
    img = np.round(smooth).astype(np.uint8)
    win = (0, 0, n)
    small, _ = to_model(img, np.zeros((n, n), bool), win, 64)
    back = from_model(small, n)
    assert _psnr(back, img) > 35.0
    # odd factor too
    n2 = 437
    img2 = np.ascontiguousarray(img[:n2, :n2])
    small2, _ = to_model(img2, np.zeros((n2, n2), bool), (0, 0, n2), 64)
    assert _psnr(from_model(small2, n2), img2) > 35.0


# ----------------------------------------------------------------------------- paste
