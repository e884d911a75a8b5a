"""Exemplar ("scene") fill: PatchMatch kernels, coarse-to-fine synthesis, thin-hole path."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest
import scipy.ndimage as ndi

from inpaint_gui.core.engines.patch import (
    PatchSettings,
    fill_thin,
    is_thin,
    nnf,
    scene_regions,
    split_thin,
    synthesize,
    warm_up,
)
from inpaint_gui.core.engines.patch.pyramid import Level
from inpaint_gui.core.engines.patch.thin import component_radii, hole_components
from inpaint_gui.core.errors import MaskError


def texture(h: int, w: int, seed: int = 0, blur: float = 2.0) -> np.ndarray:
    """Smooth random colour texture, uint8 (h, w, 3)."""
    noise = ndi.gaussian_filter(np.random.default_rng(seed).standard_normal((h, w, 3)), (blur, blur, 0))
    return np.clip(128 + noise * 400, 0, 255).astype(np.uint8)


def disc(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 < r * r


def run(image, hole, settings=None, **kw):
    steps = list(synthesize(image, hole, settings or PatchSettings(), **kw))
    return steps, steps[-1]


# --------------------------------------------------------------------------- NNF kernels


def test_nnf_never_points_into_the_hole_or_the_exclusion():
    img = texture(60, 80, seed=1)
    hole = disc(60, 80, 30, 40, 10)
    exclude = np.zeros((60, 80), bool)
    exclude[:, 60:] = True
    p, r = 7, 3
    lev = Level(hole, hole | exclude, 1, p)
    lev.img = img.astype(np.float32)
    rng = np.random.default_rng(0)
    pick = rng.integers(0, lev.src_y.size, lev.n_targets)
    nny, nnx = lev.src_y[pick].copy(), lev.src_x[pick].copy()
    dist = np.zeros(lev.n_targets, np.float32)
    nnf.match_distances(lev.img, lev.ty, lev.tx, nny, nnx, dist, 0, lev.n_targets, r)
    before = dist.sum()
    for i in range(4):
        nnf.sweep(
            lev.img,
            lev.valid,
            lev.ty,
            lev.tx,
            lev.tid,
            nny,
            nnx,
            dist,
            0,
            lev.n_targets,
            i % 2 == 1,
            80,
            nnf.mix_key(0, i),
            r,
        )
    assert dist.sum() < 0.5 * before
    # every match is a whole patch inside the image, clear of the hole and the exclusion
    assert (nny >= r).all() and (nny < 60 - r).all() and (nnx >= r).all() and (nnx < 80 - r).all()
    blocked = hole | exclude
    for y, x in zip(nny, nnx):
        assert not blocked[y - r : y + r + 1, x - r : x + r + 1].any()
    # the stored distances are the true SSDs of the field
    check = np.zeros_like(dist)
    nnf.match_distances(lev.img, lev.ty, lev.tx, nny, nnx, check, 0, lev.n_targets, r)
    np.testing.assert_allclose(check, dist, rtol=1e-5)


def test_targets_cover_every_hole_pixel_even_at_the_border():
    hole = np.zeros((30, 40), bool)
    hole[0:4, 0:5] = True  # touches two edges
    hole[20:30, 35:40] = True
    lev = Level(hole, hole, 1, 7)
    covered = np.zeros_like(hole)
    for y, x in zip(lev.ty, lev.tx):
        covered[y - 3 : y + 4, x - 3 : x + 4] = True
    assert covered[hole].all()
    assert (lev.ty >= 3).all() and (lev.tx <= 40 - 4).all()


def test_a_copied_region_is_found_exactly():
    img = texture(96, 128, seed=3)
    img[50:90, 70:118] = img[4:44, 6:54]  # the hole's surroundings exist elsewhere
    hole = np.zeros((96, 128), bool)
    hole[58:82, 80:108] = True
    _, last = run(img, hole)
    assert np.array_equal(last.result[hole], img[hole])
    _, colour_only = run(img, hole, PatchSettings(texture_weight=0))
    assert np.array_equal(colour_only.result[hole], img[hole])
    assert colour_only.energy < 0.01  # every patch has an exact match (typical fills: hundreds)


# --------------------------------------------------------------------------- synthesize


def test_outside_the_hole_is_bit_identical_and_the_hole_content_is_never_read():
    img = texture(64, 80, seed=2)
    hole = disc(64, 80, 30, 42, 12)
    a = img.copy()
    a[hole] = 0
    b = img.copy()
    b[hole] = np.random.default_rng(5).integers(0, 256, (int(hole.sum()), 3))
    ra, rb = run(a, hole)[1].result, run(b, hole)[1].result
    assert ra.dtype == np.uint8 and ra.shape == img.shape
    assert np.array_equal(ra[~hole], a[~hole])
    assert np.array_equal(ra, np.where(hole[..., None], rb, ra))  # same fill either way


def test_same_seed_same_bytes_other_seed_differs():
    img = texture(64, 80, seed=4)
    hole = disc(64, 80, 32, 40, 12)
    r1 = run(img, hole, seed=7)[1].result
    r2 = run(img, hole, seed=7)[1].result
    r3 = run(img, hole, seed=8)[1].result
    assert np.array_equal(r1, r2)
    assert not np.array_equal(r1, r3)


def test_steps_report_progress_and_previews():
    img = texture(72, 96, seed=5)
    hole = disc(72, 96, 36, 48, 16)
    steps, last = run(img, hole)
    assert last.done and not last.cancelled and last.result is not None
    assert all(not s.done for s in steps[:-1])
    iters = [s.iteration for s in steps]
    assert iters == sorted(iters) and len({s.iterations for s in steps}) == 1
    assert last.iteration == last.iterations
    assert [s.level for s in steps] == sorted(s.level for s in steps)
    assert last.level == last.levels - 1 and last.levels >= 2
    times = [s.elapsed for s in steps]
    assert times == sorted(times)
    assert all(np.isfinite(s.energy) for s in steps[-5:])
    assert steps[0].preview is None  # (the first steps build the pyramid: no fill yet)
    for s in (steps[len(steps) // 3], steps[len(steps) // 2], steps[-2]):
        p = s.preview
        assert p.dtype == np.uint8 and p.shape == img.shape
        assert np.array_equal(p[~hole], img[~hole])
        assert s.preview is p  # computed once per step
    assert np.array_equal(last.preview, last.result)


def test_cancel_stops_at_once_with_a_complete_fill():
    img = texture(96, 128, seed=6)
    hole = disc(96, 128, 48, 64, 24)
    cancel = threading.Event()
    steps = []
    for s in synthesize(img, hole, PatchSettings(), cancel=cancel):
        steps.append(s)
        if len(steps) == 6:
            cancel.set()
    assert len(steps) == 7  # the step after the cancel is the last
    last = steps[-1]
    assert last.done and last.cancelled and last.iteration < last.iterations
    res = last.result
    assert np.array_equal(res[~hole], img[~hole])
    # a whole fill, near a smooth one on average: not zeros, not half done
    smooth = fill_thin(img, hole)
    assert np.abs(res[hole].astype(float) - smooth[hole]).mean() < 40
    assert (res[hole].max(axis=1) > 0).all()


def test_cancel_from_another_thread():
    img = texture(128, 160, seed=7)
    hole = disc(128, 160, 64, 80, 30)
    cancel = threading.Event()
    timer = threading.Timer(0.05, cancel.set)
    timer.start()
    try:
        steps = list(synthesize(img, hole, PatchSettings(), cancel=cancel))
    finally:
        timer.join()
    assert steps[-1].done and steps[-1].result is not None
    if steps[-1].cancelled:
        assert np.array_equal(steps[-1].result[~hole], img[~hole])


def test_exclude_is_honoured():
    """The only red in the photo is excluded: the fill next to it must not copy it."""
    img = texture(80, 100, seed=8) // 2 + 64  # greyish texture
    img[:, :, 0] = img[:, :, 1]
    red = np.zeros((80, 100), bool)
    red[10:70, 58:80] = True
    img[red] = (230, 20, 20)
    hole = disc(80, 100, 40, 52, 13)  # straddles the red area's edge
    plain = run(img, hole)[1].result

    def reddish(a):
        return (a[..., 0].astype(int) - a[..., 1]) > 60

    assert reddish(plain[hole]).any()  # without the exclusion red is used ...
    res = run(img, hole, exclude=red)[1].result
    assert not reddish(res[hole]).any()  # ... with it, never
    assert np.array_equal(res[~hole], img[~hole])


def test_errors():
    img = texture(40, 40)
    with pytest.raises(MaskError):
        next(synthesize(img, np.ones((40, 40), bool)))  # nothing to copy from
    with pytest.raises(MaskError):
        next(synthesize(img, np.zeros((40, 30), bool)))
    with pytest.raises(MaskError):
        next(synthesize(img, np.zeros((40, 40), np.uint8)))
    with pytest.raises(ValueError):
        next(synthesize(img.astype(np.float32), np.zeros((40, 40), bool)))
    with pytest.raises(ValueError):
        PatchSettings(patch_size=6)
    steps = list(synthesize(img, np.zeros((40, 40), bool)))  # nothing to do
    assert len(steps) == 1 and steps[0].done and np.array_equal(steps[0].result, img)


def test_warm_up_runs_every_kernel():
    assert warm_up() >= 0


def test_onion_start_also_works():
    img = texture(64, 80, seed=9)
    hole = disc(64, 80, 32, 40, 12)
    res = run(img, hole, PatchSettings(onion=True))[1].result
    assert np.array_equal(res[~hole], img[~hole])


# --------------------------------------------------------------------------- thin holes


def scratches(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    yy, xx = np.mgrid[:h, :w]
    m |= np.abs(yy - (0.3 * xx + 5)) < 1.6  # a 3 px diagonal line
    m[:, w // 3 : w // 3 + 4] = True  # a 4 px vertical one crossing it
    return m


def test_components_from_the_sparse_graph_match_scipy():
    m = scratches(90, 120)
    m[70:80, 10:20] = True
    m[5, 100] = True
    for mask in (m, ndi.binary_dilation(m, iterations=3)):  # sparse and dense paths
        ys, xs, labels, count = hole_components(mask)
        ref, n = ndi.label(mask, structure=np.ones((3, 3), bool))
        assert count == n
        # same partition: the pair (ours, scipy) is one-to-one
        pairs = set(zip(labels.tolist(), ref[ys, xs].tolist()))
        assert len(pairs) == n


def test_split_thin_and_is_thin():
    m = scratches(100, 140)
    blob = disc(100, 140, 70, 100, 15)
    *_, radii = component_radii(m | blob)
    thin, thick = split_thin(m | blob)
    assert np.array_equal(thin | thick, m | blob) and not (thin & thick).any()
    assert thick[70, 100] and not thick[m & ~ndi.binary_dilation(blob, iterations=20)].any()
    assert is_thin(m) and not is_thin(m | blob) and not is_thin(np.zeros((5, 5), bool))
    assert min(radii) <= 3 and max(radii) >= 14


def test_fill_thin_continues_ramps_and_keeps_the_rest():
    yy, xx = np.mgrid[:60, :80]
    img = np.stack([2 * xx + 20, 3 * yy + 10, 200 - xx - yy], axis=-1).astype(np.uint8)
    m = scratches(60, 80)
    m[:3] = m[-3:] = False  # away from the edges, where the plate is free
    m[:, :3] = m[:, -3:] = False
    damaged = img.copy()
    damaged[m] = 0
    for tension in (1.0, None):
        out = fill_thin(damaged, m, tension=tension)
        assert np.array_equal(out[~m], damaged[~m])
        assert np.abs(out.astype(int) - img)[m].max() <= 1
    with pytest.raises(MaskError):
        fill_thin(damaged, np.ones((60, 80), bool))


def test_fill_thin_on_a_large_photo_allocates_little():
    """A 3 px scratch across 2000x3000: memory in proportion to the scratch, not the photo."""
    h, w = 2000, 3000
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (np.arange(w) % 251).astype(np.uint8)
    hole = np.zeros((h, w), bool)
    x = np.arange(w)
    y = (0.6 * x).astype(int)
    for d in (-1, 0, 1):
        hole[np.clip(y + d, 0, h - 1), x] = True
    tracemalloc.start()
    try:
        thin, thick = split_thin(hole)
        out = fill_thin(img, thin)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not thick.any() and np.array_equal(out[~hole], img[~hole])
    # output copy (18 MB) + two masks (12 MB) + a few MB of pixel lists and sparse matrices
    assert peak < img.nbytes + 2 * hole.nbytes + 24e6


# --------------------------------------------------------------------------- whole photo


def test_the_scene_engine_routes_thin_and_thick_parts():
    from inpaint_gui.core.engines import Engines
    from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, inpaint

    img = texture(120, 160, seed=10)
    thin_part = scratches(120, 160) & (np.arange(160) < 60)[None, :]
    blob = disc(120, 160, 70, 115, 14)
    hole = thin_part | blob
    settings = InpaintSettings(CommonSettings(engine="scene", blend="paste"))
    result = inpaint(img, hole, settings, Engines())
    out = result.image
    assert [r.region.plan.kind for r in result.regions] == ["thin", "patch"]  # scratches first
    assert np.array_equal(out[~hole], img[~hole])
    assert np.abs(out[thin_part].astype(int) - fill_thin(img, thin_part)[thin_part]).max() <= 1
    assert not np.array_equal(out[blob], fill_thin(img, blob)[blob])  # synthesised
    regions = scene_regions(blob)
    assert len(regions) == 1
    y0, y1, x0, x1 = regions[0]
    assert y0 <= 56 and y1 >= 84 and x0 <= 101 and x1 >= 129


def test_fill_thin_with_max_radius_fills_only_the_thin_parts_in_place():
    img = texture(80, 100, seed=11)
    thin_part = scratches(80, 100) & (np.arange(100) < 50)[None, :]
    blob = disc(80, 100, 50, 75, 12)
    blob[27:60, 40:48] = True  # one pixel row below the 4 px scratch on rows 22-25 ...
    thin_part = thin_part & ~ndi.binary_dilation(blob, iterations=1)
    thin_part[22:26, 10:48] = True  # ... so it stays its own (thin) component
    hole = thin_part | blob
    work = img.copy()
    out = fill_thin(work, hole, max_radius=8.0, out=work)
    assert out is work
    thin, thick = split_thin(hole, 8.0)
    assert np.array_equal(out[thick], img[thick])  # left alone
    ref = fill_thin(img, thin)
    assert np.abs(out[thin].astype(int) - ref[thin]).max() <= 1
    assert np.array_equal(out[~hole], img[~hole])
