"""Cached views, the undo stack and mask operations, checked against plain references."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor

from inpaint_gui.gui.maskops import StrokeRecorder, grow, paint_segment
from inpaint_gui.gui.render import MaskPyramid, PhotoPyramid, level_for_zoom
from inpaint_gui.gui.undo import Compound, MaskDiff, PixelPatch, UndoStack


class Target:
    def __init__(self, h=50, w=70):
        rng = np.random.default_rng(1)
        self.image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        self.mask = np.zeros((h, w), bool)


def block_mean_reference(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """Level k by repeated 2x2 rounding means with edge replication (straightforward loops)."""
    out = [img.astype(np.int64)]
    for _ in range(levels):
        prev = out[-1]
        h, w = prev.shape[:2]
        nh, nw = (h + 1) // 2, (w + 1) // 2
        nxt = np.zeros((nh, nw) + prev.shape[2:], np.int64)
        for i in range(nh):
            for j in range(nw):
                acc = 0
                for di in (0, 1):
                    for dj in (0, 1):
                        acc = acc + prev[min(2 * i + di, h - 1), min(2 * j + dj, w - 1)]
                nxt[i, j] = (acc + 2) // 4
        out.append(nxt)
    return out


def test_photo_pyramid_matches_reference_and_updates_regions(monkeypatch):
    import inpaint_gui.gui.render as render

    monkeypatch.setattr(render, "MIN_LEVEL_SIDE", 8)
    img = np.random.default_rng(0).integers(0, 256, (37, 51, 3), dtype=np.uint8)
    pyr = PhotoPyramid(img)
    assert pyr.n_levels == 4  # 51 -> 26 -> 13 -> 7
    ref = block_mean_reference(img, 3)
    for k in range(1, 4):
        np.testing.assert_array_equal(pyr.levels[k][..., 2::-1], ref[k])  # stored B, G, R
        assert (pyr.levels[k][..., 3] == 255).all()
    # edit a region in place and update only it: same as rebuilding
    img[10:20, 30:51] = 7
    pyr.update((30, 10, 51, 20))
    fresh = PhotoPyramid(img.copy())
    for k in range(1, 4):
        np.testing.assert_array_equal(pyr.levels[k], fresh.levels[k])


def test_mask_pyramid_coverage_and_region_update(monkeypatch):
    import inpaint_gui.gui.render as render

    monkeypatch.setattr(render, "MIN_LEVEL_SIDE", 8)
    mask = np.zeros((33, 45), bool)
    mask[5:17, 9:30] = True
    pyr = MaskPyramid(mask, QColor(255, 0, 0))
    ref = block_mean_reference(mask.astype(np.uint8) * 255, pyr.n_levels - 1)
    for k in range(1, pyr.n_levels):
        np.testing.assert_array_equal(pyr.coverage[k], ref[k])
        a = pyr.overlay[k] >> 24
        np.testing.assert_array_equal(a, ref[k])
        np.testing.assert_array_equal((pyr.overlay[k] >> 16) & 255, ref[k])  # premultiplied red
        assert not (pyr.overlay[k] & 0xFFFF).any()
    paint_segment(mask, (40, 30), (44, 32), 3, True)
    pyr.update((30, 20, 45, 33))
    fresh = MaskPyramid(mask.copy(), QColor(255, 0, 0))
    for k in range(1, pyr.n_levels):
        np.testing.assert_array_equal(pyr.overlay[k], fresh.overlay[k])
    img, arr = pyr.level0_image((0, 0, 45, 33))
    assert img.width() == 45 and (arr[mask] >> 24 == 255).all() and not arr[~mask].any()


@pytest.mark.parametrize("zoom,level", [(1.0, 0), (0.6, 0), (0.5, 1), (0.3, 1), (0.25, 2), (0.01, 5), (3.0, 0)])
def test_level_for_zoom(zoom, level):
    assert level_for_zoom(zoom, 6) == level


def test_mask_diff_undo_redo_and_packing():
    t = Target()
    before = t.mask.copy()
    t.mask[10:20, 5:50] = True
    cmd = MaskDiff.from_masks("x", before, t.mask)
    assert cmd.rect == (5, 10, 50, 20) and cmd.nbytes < 10 * 45 // 8 + 100
    after = t.mask.copy()
    stack = UndoStack()
    stack.push(cmd)
    stack.undo(t)
    np.testing.assert_array_equal(t.mask, before)
    stack.redo(t)
    np.testing.assert_array_equal(t.mask, after)
    assert MaskDiff.from_masks("same", after, after) is None


def test_pixel_patch_and_compound_and_image_key():
    t = Target()
    orig = t.image.copy()
    stack = UndoStack()
    k0 = stack.image_key()
    new = t.image.copy()
    new[5:9, 5:9] = 0
    patch = PixelPatch("fill", (5, 5, 9, 9), t.image[5:9, 5:9], new[5:9, 5:9])
    t.image[5:9, 5:9] = 0
    mbefore = t.mask.copy()
    t.mask[0:3, 0:3] = True
    stack.push(Compound("apply", [patch, MaskDiff.from_masks("m", mbefore, t.mask)]))
    k1 = stack.image_key()
    assert k1 != k0
    stack.undo(t)
    np.testing.assert_array_equal(t.image, orig)
    assert not t.mask.any() and stack.image_key() == k0
    stack.redo(t)
    assert stack.image_key() == k1 and (t.image[5:9, 5:9] == 0).all() and t.mask[:3, :3].all()
    # a mask-only step does not change the photo's key
    mb = t.mask.copy()
    t.mask[40:45, 40:45] = True
    stack.push(MaskDiff.from_masks("m2", mb, t.mask))
    assert stack.image_key() == k1


def test_undo_stack_is_memory_bounded():
    t = Target(100, 100)
    stack = UndoStack(max_bytes=3 * (2 * 100 * 100 * 3 + 64))
    for i in range(6):
        before = t.image.copy()
        t.image[:] = i
        stack.push(PixelPatch(f"p{i}", (0, 0, 100, 100), before, t.image))
    assert len(stack.commands) == 3 and stack.nbytes <= stack.max_bytes
    for _ in range(10):
        stack.undo(t)
    assert (t.image == 2).all()  # oldest steps were dropped; the rest still undo exactly
    key_of_state_2 = stack.image_key()
    stack.redo(t)
    stack.undo(t)
    assert stack.image_key() == key_of_state_2


def test_new_push_drops_redo_tail():
    t = Target()
    stack = UndoStack()
    for i in range(3):
        b = t.mask.copy()
        t.mask[i, :] = True
        stack.push(MaskDiff.from_masks(str(i), b, t.mask))
    stack.undo(t)
    b = t.mask.copy()
    t.mask[10, :] = True
    stack.push(MaskDiff.from_masks("new", b, t.mask))
    assert not stack.can_redo() and [c.label for c in stack.commands] == ["0", "1", "new"]


def test_stroke_recorder_diff_spans_many_tiles():
    mask = np.zeros((300, 400), bool)
    mask[250:260, 10:20] = True  # untouched pixels stay out of the diff
    rec = StrokeRecorder(mask, "stroke")
    pts = [(5.0, 5.0), (150.0, 140.0), (390.0, 20.0)]
    for a, b in zip(pts[:-1], pts[1:]):
        from inpaint_gui.gui.maskops import segment_rect

        rec.touch(segment_rect(a, b, 4))
        paint_segment(mask, a, b, 4, True)
    after = mask.copy()
    cmd = rec.finish()
    t = Target(300, 400)
    t.mask = after.copy()
    cmd.undo(t)
    ref = np.zeros_like(mask)
    ref[250:260, 10:20] = True
    np.testing.assert_array_equal(t.mask, ref)


def test_grow_matches_disk_dilation():
    from scipy import ndimage

    mask = np.zeros((60, 70), bool)
    mask[20:30, 25:40] = True
    mask[45, 10] = True
    n = 4
    yy, xx = np.mgrid[-n : n + 1, -n : n + 1]
    disk = xx**2 + yy**2 <= n * n
    np.testing.assert_array_equal(grow(mask, n), ndimage.binary_dilation(mask, structure=disk))
    shrunk = grow(mask, -2)
    np.testing.assert_array_equal(
        shrunk,
        ndimage.binary_erosion(
            mask, structure=np.ones((5, 5), bool) & ((np.mgrid[-2:3, -2:3][0] ** 2 + np.mgrid[-2:3, -2:3][1] ** 2) <= 4)
        ),
    )
    assert not grow(np.zeros((5, 5), bool), 3).any()


def test_preview_composite_is_the_fill_inside_the_hole_only():
    from inpaint_gui.core.image.preview import composite_window, preview_shape

    mask = np.zeros((100, 100), bool)
    mask[30:50, 40:70] = True
    fill = np.zeros((32, 32, 3), np.uint8)
    fill[..., 1] = 200
    p = composite_window(mask[20:84, 20:84], (20, 20, 64), fill)
    px = p.argb
    assert p.rect == (20, 20, 84, 84) and px.dtype == np.uint32 and px.shape == (64, 64)
    inside = mask[20:84, 20:84]
    assert (px[~inside] == 0).all()  # fully transparent outside the hole
    assert ((px[inside] >> 24) == 255).all() and (((px[inside] >> 8) & 255) == 200).all()
    # a big window is previewed at a capped size, with fractional coverage at the hole's edge
    big = np.zeros((3000, 3000), bool)
    big[1000:1501, 1000:2000] = True
    assert preview_shape((0, 0, 3000, 3000), 600) == (600, 600)
    p = composite_window(big, (0, 0, 3000), fill, max_side=600)
    alpha = p.argb >> 24
    assert p.argb.shape == (600, 600) and 0 < alpha[300, 300] < 255 and alpha[250, 300] == 255
