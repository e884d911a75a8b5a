"""The "Don't copy from" brush: its own mask layer on the canvas, undoable, cleared by its
action, re-planned on change and carried by the plan to the run."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import drag, open_photo, settle, view_point
from tests.gui.test_canvas import capsule

pytestmark = pytest.mark.gui


def test_the_exclude_tool_paints_its_own_layer_and_undo_removes_it(canvas):
    canvas.set_tool("exclude")
    canvas.set_brush_size(10)
    drag(canvas.viewport(), [view_point(canvas, 20, 40), view_point(canvas, 50, 40), view_point(canvas, 80, 40)])
    expected = capsule(canvas.doc.exclude.shape, (20, 40), (80, 40), 5)
    np.testing.assert_array_equal(canvas.doc.exclude, expected)
    assert not canvas.doc.mask.any()  # the hole is another layer
    assert canvas.doc.undo_stack.undo_label() == "Don't copy from"
    canvas.doc.undo()
    assert not canvas.doc.exclude.any()
    canvas.doc.redo()
    np.testing.assert_array_equal(canvas.doc.exclude, expected)
    # the right button erases it, as one more step
    drag(canvas.viewport(), [view_point(canvas, 30, 30), view_point(canvas, 30, 50)], button=Qt.MouseButton.RightButton)
    np.testing.assert_array_equal(canvas.doc.exclude, expected & ~capsule(expected.shape, (30, 30), (30, 50), 5))
    assert canvas.doc.undo_stack.undo_label() == "Erase don't-copy-from"
    canvas.doc.undo()
    np.testing.assert_array_equal(canvas.doc.exclude, expected)


def test_the_document_keeps_the_layers_apart_in_its_undo_steps(qtbot):
    from inpaint_gui.gui.document import Document
    from inpaint_gui.gui.undo import MaskDiff
    from tests.gui.conftest import photo

    doc = Document(photo())
    seen = []
    doc.mask_changed.connect(lambda r: seen.append(("mask", r)))
    doc.exclude_changed.connect(lambda r: seen.append(("exclude", r)))
    new = np.zeros_like(doc.exclude)
    new[10:20, 30:50] = True
    assert doc.set_mask(new, "Exclude a block", layer="exclude")
    assert seen == [("exclude", (30, 10, 50, 20))] and not doc.mask.any()
    assert not doc.set_mask(new, "again", layer="exclude")  # nothing changed: no step
    doc.undo()
    assert not doc.exclude.any() and seen[-1] == ("exclude", (30, 10, 50, 20))
    doc.redo()
    np.testing.assert_array_equal(doc.exclude, new)
    with pytest.raises(ValueError):
        doc.set_mask(new, "x", layer="image")
    with pytest.raises(ValueError):
        MaskDiff("x", (0, 0, 1, 1), np.zeros((1, 1), bool), np.ones((1, 1), bool), layer="image")


def test_the_exclusion_is_drawn_hatched_in_its_own_colour_under_the_hole(canvas):
    from inpaint_gui.gui.canvas import EXCLUDE_COLOR
    from inpaint_gui.gui.render import HATCH_PERIOD

    canvas.doc.exclude[20:70, 20:70] = True
    canvas.exclude_edited((20, 20, 70, 70))
    canvas.doc.mask[50:70, 50:70] = True
    canvas.mask_edited((50, 50, 70, 70))
    canvas.set_overlay_opacity(1.0)
    img = canvas.viewport().grab().toImage()

    def colour(x, y):
        p = view_point(canvas, x + 0.25, y + 0.25)
        c = img.pixelColor(p.x(), p.y())
        return (c.red(), c.green(), c.blue())

    green = (EXCLUDE_COLOR.red(), EXCLUDE_COLOR.green(), EXCLUDE_COLOR.blue())
    y = 8 * HATCH_PERIOD - 32  # (32 + y) % period == 0: on a stripe
    assert 20 <= y < 50 and colour(32, y) == green
    between = colour(32, y + HATCH_PERIOD // 2)
    assert between != green and between != tuple(int(v) for v in canvas.doc.image[y + HATCH_PERIOD // 2, 32])
    assert colour(60, 60) == (255, 40, 80)  # an excluded hole pixel shows as hole
    assert colour(10, 10) == tuple(int(v) for v in canvas.doc.image[10, 10])


def red_and_blue(h=96, w=128):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:h, :w]
    stripes = ((xx // 5 + yy // 7) % 2) * 50
    red = xx < w // 2
    img = np.stack([np.where(red, 170 + stripes, 30), 40 + stripes // 2, np.where(red, 30, 170 + stripes)], -1)
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def test_painting_the_exclusion_replans_and_the_run_copies_nothing_from_it(make_window, tmp_path, qtbot, monkeypatch):
    import inpaint_gui.gui.compute as compute
    from inpaint_gui.core.image.io import save_photo

    plans, runs = [], []
    real_plan, real_run = compute.plan, compute.run

    def plan(ctx, **kw):
        plans.append(kw)
        return real_plan(ctx, **kw)

    def run(ctx, **kw):
        runs.append(kw)
        return real_run(ctx, **kw)

    monkeypatch.setattr(compute, "plan", plan)
    monkeypatch.setattr(compute, "run", run)
    w = make_window(engine="scene")
    w.store.set_value("common", "blend", "paste")
    save_photo(tmp_path / "rb.png", red_and_blue())
    open_photo(qtbot, w, tmp_path / "rb.png")
    c = w.canvas
    c.set_tool("rect")
    drag(c.viewport(), [view_point(c, 50, 34), view_point(c, 78, 62)])  # a hole across the two halves
    settle(qtbot, w)
    assert plans[-1]["exclude"] is None
    w.tool_actions["exclude"].trigger()
    assert c.tool == "exclude"
    c.set_brush_size(30)
    zigzag = [(x, y) for y in range(0, 100, 12) for x in ((2, 62) if y % 24 == 0 else (62, 2))]  # the left half
    drag(c.viewport(), [view_point(c, x, y) for x, y in zigzag])
    exclude = w.doc.exclude.copy()
    assert exclude[:, :60].mean() > 0.95 and not exclude[:, 80:].any()
    settle(qtbot, w)  # the new layer was planned with
    planned = plans[-1]["exclude"]
    np.testing.assert_array_equal(planned, exclude)
    assert planned is not w.doc.exclude  # a copy, taken on the GUI thread
    hole = w.doc.mask.copy()
    w.session.inpaint()
    qtbot.waitUntil(lambda: w.session.result is not None, timeout=60000)
    region = runs[-1]["region"]  # what the run job was given carries the exclusion
    x0, y0, x1, y1 = region.rect
    wanted = exclude[y0:y1, x0:x1] & ~hole[y0:y1, x0:x1]
    assert wanted.sum() > 1000 and not (wanted & ~region.plan.never).any()
    before = w.doc.image.copy()
    w.session.apply()
    qtbot.waitUntil(lambda: not w.doc.mask.any(), timeout=30000)
    out = w.doc.image
    np.testing.assert_array_equal(out[~hole], before[~hole])
    assert not (out[hole][:, 0].astype(int) - out[hole][:, 2] > 40).any()  # nothing red was copied
    # Clear "Don't copy from": one undo step, and a new plan without it
    settle(qtbot, w)
    w.act_clear_exclude.trigger()
    assert not w.doc.exclude.any() and w.doc.undo_stack.undo_label() == "Clear don't-copy-from"
    settle(qtbot, w)
    assert plans[-1]["exclude"] is None
    w.doc.undo()
    np.testing.assert_array_equal(w.doc.exclude, exclude)
