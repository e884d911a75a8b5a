"""Poisson blending against independent references (dense and sparse direct solves)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from inpaint_gui.core.blend import multigrid
from inpaint_gui.core.blend.poisson import poisson_blend, poisson_blend_direct
from inpaint_gui.core.errors import MaskError

METHODS = ("multigrid", "auto", "sparse")


def dense_reference(target: np.ndarray, source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Seamless cloning written out pixel by pixel and solved densely (float64, (H, W, C))."""
    h, w, c = target.shape
    t = target.astype(np.float64)
    s = source.astype(np.float64)
    cells = [(y, x) for y in range(h) for x in range(w) if mask[y, x]]
    index = {p: i for i, p in enumerate(cells)}
    a = np.zeros((len(cells), len(cells)))
    b = np.zeros((len(cells), c))
    for i, (y, x) in enumerate(cells):
        for qy, qx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if not (0 <= qy < h and 0 <= qx < w):
                continue  # no neighbour beyond the image edge
            a[i, i] += 1
            b[i] += s[y, x] - s[qy, qx]
            if mask[qy, qx]:
                a[i, index[(qy, qx)]] -= 1
            else:
                b[i] += t[qy, qx]
    out = t.copy()
    if cells:
        sol = np.linalg.solve(a, b)
        for i, (y, x) in enumerate(cells):
            out[y, x] = sol[i]
    return out


def random_case(rng: np.random.Generator, h: int, w: int, c: int, kind: str):
    target = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    source = ndi.uniform_filter(rng.uniform(-40, 300, (h, w, c)), (3, 3, 1))
    if kind == "blobs":  # smooth random shapes, several components, touching edges
        mask = ndi.gaussian_filter(rng.normal(size=(h, w)), 2.5) > 0.05
    elif kind == "speckle":  # porous: known pixels scattered through the hole
        mask = rng.random((h, w)) < 0.7
    elif kind == "strokes":
        mask = np.zeros((h, w), bool)
        for _ in range(3):
            y, x = rng.integers(0, h), rng.integers(0, w)
            mask[max(y - 1, 0) : y + 2, :] |= rng.random(w) < 0.9
            mask[:, max(x - 2, 0) : x + 1] = True
    else:  # one rectangle anywhere, possibly the full width
        mask = np.zeros((h, w), bool)
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        mask[y0 : y0 + rng.integers(1, h + 1), x0 : x0 + rng.integers(1, w + 1)] = True
    if mask.all():
        mask[rng.integers(0, h), rng.integers(0, w)] = False
    return target, source.astype(np.float32), mask


@pytest.fixture
def deep_multigrid(monkeypatch):
    """Coarsen small test grids down to a few cells so every multigrid path runs."""
    monkeypatch.setattr(multigrid, "COARSEST_CELLS", 16)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["blobs", "speckle", "strokes", "rect"])
def test_matches_sparse_direct_on_random_cases(seed, kind, deep_multigrid):
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(2, 48, 2))
    c = int(rng.integers(1, 4))
    target, source, mask = random_case(rng, h, w, c, kind)
    if not mask.any():
        mask[h // 2, w // 2] = True
    ref = poisson_blend_direct(target, source, mask, raw=True)
    ref_u8 = poisson_blend_direct(target, source, mask)
    for method in METHODS:
        raw = poisson_blend(target, source, mask, method=method, raw=True)
        assert np.abs(raw - ref).max() <= 0.5, method
        out = poisson_blend(target, source, mask, method=method)
        assert out.dtype == np.uint8 and out.shape == target.shape
        assert np.abs(out.astype(int) - ref_u8).max() <= 1, method
        assert np.array_equal(out[~mask], target[~mask]), method


def test_multigrid_on_a_large_hole_touching_two_edges():
    rng = np.random.default_rng(7)
    h, w = 150, 190
    yy, xx = np.mgrid[0:h, 0:w]
    target = (60 + 0.8 * xx[..., None] + rng.normal(0, 6, (h, w, 3))).clip(0, 255).astype(np.uint8)
    source = (200 - 0.5 * yy[..., None] + 20 * np.sin(xx / 5.0)[..., None]).repeat(3, axis=2)
    mask = ((yy - h) / 120.0) ** 2 + (xx / 160.0) ** 2 < 1  # corner ellipse
    mask |= ((yy - 40) / 25.0) ** 2 + ((xx - 140) / 35.0) ** 2 < 1  # a second component
    ref = poisson_blend_direct(target, source, mask, raw=True)
    raw = poisson_blend(target, source, mask, method="multigrid", raw=True)
    assert np.abs(raw - ref).max() <= 0.1  # default tol 0.1 bounds the error in practice
    out = poisson_blend(target, source, mask)
    assert np.abs(out.astype(int) - np.clip(np.rint(ref), 0, 255)).max() <= 1
    tight = poisson_blend(target, source, mask, method="multigrid", raw=True, tol=1e-3)
    assert np.abs(tight - ref).max() <= 2e-3


@pytest.mark.parametrize("c", [1, 3])
def test_matches_dense_reference_exactly(c, deep_multigrid):
    rng = np.random.default_rng(3 + c)
    target = rng.integers(0, 256, (8, 9, c), dtype=np.uint8)
    source = rng.uniform(0, 255, (8, 9, c))
    mask = np.zeros((8, 9), bool)
    mask[0:3, 0:4] = True  # touches two image edges
    mask[4:7, 3:8] = True
    mask[5, 8] = True  # reaches the right edge
    mask[7, 0] = True  # a one-pixel component in a corner
    dense = dense_reference(target, source, mask)
    assert np.abs(poisson_blend_direct(target, source, mask, raw=True) - dense).max() < 1e-9
    sparse = poisson_blend(target, source, mask, method="sparse", raw=True)  # float32 out
    assert np.abs(sparse - dense).max() < 1e-4
    mg = poisson_blend(target, source, mask, method="multigrid", raw=True, tol=1e-4)
    assert np.abs(mg - dense).max() < 1e-3
    # rounded once at the end: equal wherever the exact value is not a near tie
    expect = np.clip(np.rint(dense), 0, 255)
    clear = np.abs(dense - np.floor(dense) - 0.5) > 0.01
    for method in METHODS:
        out = poisson_blend(target, source, mask, method=method)
        assert np.array_equal(out[clear], expect[clear]), method


def test_values_are_rounded_and_clipped():
    target = np.full((5, 5, 1), 128, np.uint8)
    source = np.zeros((5, 5, 1))
    source[2, 2] = 4000.0  # a spike far above 255 in the guidance field
    mask = np.zeros((5, 5), bool)
    mask[1:4, 1:4] = True
    raw = poisson_blend(target, source, mask, raw=True)
    assert raw.max() > 255
    out = poisson_blend(target, source, mask)
    assert out[2, 2, 0] == 255
    assert np.array_equal(out, np.clip(np.rint(raw), 0, 255).astype(np.uint8))


# --------------------------------------------------------------------------- properties

shapes = st.tuples(st.integers(1, 14), st.integers(1, 14), st.integers(1, 3))


@st.composite
def cases(draw):
    h, w, c = draw(shapes)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    source = rng.uniform(-100, 400, (h, w, c))
    mask = rng.random((h, w)) < draw(st.floats(0.0, 0.95))
    if mask.all():
        mask.flat[draw(st.integers(0, h * w - 1))] = False
    method = draw(st.sampled_from(METHODS))
    return target, source, mask, method


PROPS = settings(max_examples=25, deadline=None)


@PROPS
@given(cases())
def test_pixels_outside_the_hole_are_bit_identical(case):
    target, source, mask, method = case
    out = poisson_blend(target, source, mask, method=method)
    assert out.dtype == np.uint8
    assert np.array_equal(out[~mask], target[~mask])


@PROPS
@given(cases(), st.floats(-300, 300))
def test_a_constant_added_to_the_source_changes_nothing(case, k):
    target, source, mask, method = case
    a = poisson_blend(target, source, mask, method=method, raw=True, tol=1e-3)
    b = poisson_blend(target, source + k, mask, method=method, raw=True, tol=1e-3)
    assert np.abs(a - b).max() <= 0.01


@PROPS
@given(cases())
def test_source_equal_to_target_gives_the_target(case):
    target, _, mask, method = case
    for source in (target, target.astype(np.float32)):
        out = poisson_blend(target, source, mask, method=method)
        assert np.array_equal(out, target)


@PROPS
@given(shapes, st.sampled_from(METHODS))
def test_empty_hole_returns_an_unchanged_copy(shape, method):
    h, w, c = shape
    target = np.random.default_rng(h * w).integers(0, 256, (h, w, c), dtype=np.uint8)
    out = poisson_blend(target, np.zeros((h, w, c)), np.zeros((h, w), bool), method=method)
    assert np.array_equal(out, target)
    assert out is not target and not np.shares_memory(out, target)


# --------------------------------------------------------------------------- inputs


@pytest.mark.parametrize("shape", [(1, 1), (6, 7)])
def test_hole_covering_the_whole_image_raises_mask_error(shape):
    target = np.zeros(shape + (3,), np.uint8)
    with pytest.raises(MaskError, match="whole image"):
        poisson_blend(target, target, np.ones(shape, bool))
    with pytest.raises(MaskError, match="whole image"):
        poisson_blend_direct(target, target, np.ones(shape, bool))


def test_nearly_full_hole_is_solved():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    source = rng.uniform(0, 255, (40, 50, 3))
    mask = np.ones((40, 50), bool)
    mask[13, 31] = False  # the only known pixel
    ref = poisson_blend_direct(target, source, mask, raw=True)
    raw = poisson_blend(target, source, mask, method="multigrid", raw=True)
    assert np.abs(raw - ref).max() <= 0.5


def test_bad_masks_raise_mask_error():
    target = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(MaskError, match="boolean"):
        poisson_blend(target, target, np.zeros((4, 5), np.uint8))
    with pytest.raises(MaskError, match="does not match"):
        poisson_blend(target, target, np.zeros((5, 4), bool))


def test_bad_images_raise_value_error():
    mask = np.zeros((4, 5), bool)
    mask[1, 1] = True
    with pytest.raises(ValueError, match="uint8"):
        poisson_blend(np.zeros((4, 5, 3)), np.zeros((4, 5, 3)), mask)
    with pytest.raises(ValueError, match="source shape"):
        poisson_blend(np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5, 1)), mask)
    with pytest.raises(ValueError, match="method"):
        poisson_blend(np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5, 3)), mask, method="x")
    nan_source = np.zeros((4, 5, 3))
    nan_source[1, 1] = np.nan
    for method in METHODS:
        with pytest.raises(ValueError, match="non-finite"):
            poisson_blend(np.zeros((4, 5, 3), np.uint8), nan_source, mask, method=method)


def test_grey_images_and_source_dtypes():
    rng = np.random.default_rng(5)
    target = rng.integers(0, 256, (20, 24), dtype=np.uint8)
    mask = np.zeros((20, 24), bool)
    mask[5:15, 3:20] = True
    source8 = rng.integers(0, 256, (20, 24), dtype=np.uint8)
    ref = poisson_blend_direct(target, source8, mask)
    assert ref.shape == (20, 24)
    for source in (source8, source8.astype(np.float32), source8.astype(np.float64)):
        out = poisson_blend(target, source, mask, method="multigrid")
        assert out.shape == (20, 24) and out.dtype == np.uint8
        assert np.abs(out.astype(int) - ref).max() <= 1
    flat = poisson_blend(target, np.broadcast_to(np.float32(7.0), target.shape), mask)
    harmonic = poisson_blend_direct(target, np.zeros((20, 24)), mask)
    assert np.abs(flat.astype(int) - harmonic).max() <= 1
