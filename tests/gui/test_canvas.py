"""The canvas driven with real mouse events: brush, eraser, rectangle, window, zoom, pan."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import drag, view_point

pytestmark = pytest.mark.gui


def capsule(shape, p0, p1, r):
    """Reference: pixels whose centre is within r of segment p0-p1 (brute force)."""
    h, w = shape
    out = np.zeros(shape, bool)
    (ax, ay), (bx, by) = p0, p1
    for i in range(h):
        for j in range(w):
            px, py = j + 0.5, i + 0.5
            dx, dy = bx - ax, by - ay
            L = dx * dx + dy * dy
            t = 0.0 if L == 0 else min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / L))
            cx, cy = ax + t * dx, ay + t * dy
            out[i, j] = (px - cx) ** 2 + (py - cy) ** 2 <= r * r
    return out


def test_brush_drag_paints_expected_pixels_and_undo_removes_them(canvas):
    canvas.set_tool("brush")
    canvas.set_brush_size(10)
    vp = canvas.viewport()
    drag(vp, [view_point(canvas, 20, 40), view_point(canvas, 50, 40), view_point(canvas, 80, 40)])
    expected = capsule(canvas.doc.mask.shape, (20, 40), (80, 40), 5)
    assert expected.sum() > 500
    np.testing.assert_array_equal(canvas.doc.mask, expected)
    assert canvas.doc.undo_stack.can_undo()
    canvas.doc.undo()
    assert not canvas.doc.mask.any()
    canvas.doc.redo()
    np.testing.assert_array_equal(canvas.doc.mask, expected)


def test_one_stroke_is_one_undo_step(canvas):
    canvas.set_brush_size(6)
    vp = canvas.viewport()
    drag(vp, [view_point(canvas, 10, 10), view_point(canvas, 60, 20), view_point(canvas, 60, 80)])
    drag(vp, [view_point(canvas, 100, 10), view_point(canvas, 100, 50)])
    after_two = canvas.doc.mask.copy()
    canvas.doc.undo()
    assert canvas.doc.mask[:, 90:].sum() == 0 and canvas.doc.mask[:, :70].sum() > 0
    canvas.doc.undo()
    assert not canvas.doc.mask.any()
    canvas.doc.redo()
    canvas.doc.redo()
    np.testing.assert_array_equal(canvas.doc.mask, after_two)


def test_eraser_and_right_button_unmark(canvas):
    canvas.doc.mask[20:60, 20:100] = True
    canvas.mask_edited((0, 0, 128, 96))
    canvas.set_tool("eraser")
    canvas.set_brush_size(8)
    drag(canvas.viewport(), [view_point(canvas, 30, 40), view_point(canvas, 90, 40)])
    erased = capsule(canvas.doc.mask.shape, (30, 40), (90, 40), 4)
    expected = np.zeros_like(erased)
    expected[20:60, 20:100] = True
    expected &= ~erased
    np.testing.assert_array_equal(canvas.doc.mask, expected)
    # brush tool, right button: erases too
    canvas.set_tool("brush")
    drag(canvas.viewport(), [view_point(canvas, 30, 25), view_point(canvas, 30, 55)], button=Qt.MouseButton.RightButton)
    expected &= ~capsule(expected.shape, (30, 25), (30, 55), 4)
    np.testing.assert_array_equal(canvas.doc.mask, expected)
    canvas.doc.undo()
    canvas.doc.undo()
    assert canvas.doc.mask[20:60, 20:100].all() and canvas.doc.mask.sum() == 40 * 80


def test_rectangle_tool_marks_block_and_alt_erases(canvas):
    canvas.set_tool("rect")
    drag(canvas.viewport(), [view_point(canvas, 10, 12), view_point(canvas, 30, 20), view_point(canvas, 50, 30)])
    expected = np.zeros((96, 128), bool)
    expected[12:30, 10:50] = True
    np.testing.assert_array_equal(canvas.doc.mask, expected)
    # dragging backwards (bottom-right to top-left) with Alt erases
    drag(
        canvas.viewport(),
        [view_point(canvas, 40, 25), view_point(canvas, 20, 15)],
        modifiers=Qt.KeyboardModifier.AltModifier,
    )
    expected[15:25, 20:40] = False
    np.testing.assert_array_equal(canvas.doc.mask, expected)
    canvas.doc.undo()
    assert canvas.doc.mask[12:30, 10:50].all()


def test_rectangle_is_clipped_to_the_photo(canvas):
    canvas.set_tool("rect")
    o = canvas.origin()
    drag(canvas.viewport(), [view_point(canvas, 100, 70), QPoint(int(o.x()) + 200, int(o.y()) + 150)])
    expected = np.zeros((96, 128), bool)
    expected[70:, 100:] = True
    np.testing.assert_array_equal(canvas.doc.mask, expected)


def test_brush_at_200_percent_hits_the_right_pixels(canvas):
    canvas.set_zoom(2.0)
    canvas.set_brush_size(4)
    drag(canvas.viewport(), [view_point(canvas, 30, 30), view_point(canvas, 40, 30)])
    expected = capsule((96, 128), (30, 30), (40, 30), 2)
    np.testing.assert_array_equal(canvas.doc.mask, expected)


def test_ctrl_wheel_zooms_about_the_cursor(canvas):
    canvas.set_zoom(4.0)  # larger than the viewport: scroll bars in use
    vp = canvas.viewport()
    anchor = QPointF(150, 120)
    before = canvas.to_image(anchor)
    ev = QWheelEvent(
        anchor,
        vp.mapToGlobal(anchor),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(vp, ev)
    assert canvas.zoom == pytest.approx(4.0 * 2**0.25)
    after = canvas.to_image(anchor)
    assert abs(after.x() - before.x()) < 1 and abs(after.y() - before.y()) < 1


def test_zoom_steps_fit_and_actual_size(canvas):
    canvas.zoom_in()
    assert canvas.zoom == 1.5
    canvas.zoom_out()
    canvas.zoom_out()
    assert canvas.zoom == pytest.approx(2 / 3)
    canvas.fit()
    vw, vh = canvas.viewport().width(), canvas.viewport().height()
    assert canvas.zoom * 128 <= vw and canvas.zoom * 96 <= vh
    assert canvas.zoom * 128 >= vw - 10 or canvas.zoom * 96 >= vh - 10
    canvas.zoom_actual()
    assert canvas.zoom == 1.0


def test_middle_drag_and_space_drag_pan(canvas, qtbot):
    canvas.set_zoom(8.0)
    h, v = canvas.horizontalScrollBar(), canvas.verticalScrollBar()
    h.setValue(100)
    v.setValue(100)
    drag(canvas.viewport(), [QPoint(200, 150), QPoint(170, 130)], button=Qt.MouseButton.MiddleButton)
    assert (h.value(), v.value()) == (130, 120)
    assert not canvas.doc.mask.any()  # panning never paints
    canvas.setFocus()
    QTest.keyPress(canvas, Qt.Key.Key_Space)
    drag(canvas.viewport(), [QPoint(200, 150), QPoint(220, 160)])
    QTest.keyRelease(canvas, Qt.Key.Key_Space)
    assert (h.value(), v.value()) == (110, 110)
    assert not canvas.doc.mask.any()


def test_window_tool_draws_moves_and_resizes_square_windows(canvas):
    canvas.set_tool("window")
    seen, placed = [], []
    canvas.frame_changed.connect(seen.append)
    canvas.window_placed.connect(placed.append)
    drag(canvas.viewport(), [view_point(canvas, 10, 10), view_point(canvas, 40, 30), view_point(canvas, 50, 40)])
    assert canvas.model_window == (10, 10, 40) and canvas.window_user_placed
    assert seen and seen[-1] == (10, 10, 50, 50)
    assert placed == [(10, 10, 40)]  # once, when the drag ends
    # move by dragging inside
    drag(canvas.viewport(), [view_point(canvas, 30, 30), view_point(canvas, 50, 35)])
    assert canvas.model_window == (30, 15, 40)
    # moving past the edge is clamped inside the photo
    drag(canvas.viewport(), [view_point(canvas, 40, 30), view_point(canvas, 200, 30)])
    assert canvas.model_window == (88, 15, 40)
    # resize from the bottom-right corner: stays square, anchored at the top-left
    drag(canvas.viewport(), [view_point(canvas, 128, 55), view_point(canvas, 120, 75)])
    x, y, s = canvas.model_window
    assert (x, y) == (88, 15) and s == 40  # clamped by the right edge of the photo
    drag(canvas.viewport(), [view_point(canvas, 88, 15), view_point(canvas, 70, 10)])
    x, y, s = canvas.model_window
    assert x + s == 128 and y + s == 55 and s == 55  # limited by the top edge
    assert not canvas.doc.mask.any()
    assert len(placed) == 4  # the clamped resize changed nothing


def test_a_non_square_frame_is_drawn_and_a_square_window_replaces_it(canvas):
    canvas.set_frame((10, 20, 70, 50))
    assert canvas.model_window is None and canvas.frame == (10, 20, 70, 50)
    r = canvas.window_view_rect()
    assert (r.width(), r.height()) == (60 * canvas.zoom, 30 * canvas.zoom)
    canvas.set_tool("window")
    drag(canvas.viewport(), [view_point(canvas, 80, 10), view_point(canvas, 100, 30)])  # draws a new window
    assert canvas.model_window == (80, 10, 20)


def test_brush_size_keys_and_outline(canvas, qtbot):
    canvas.set_brush_size(20)
    canvas.bigger_brush()
    assert canvas.brush_size == 25
    canvas.smaller_brush()
    assert canvas.brush_size == 20

    # the outline cursor is drawn at the brush's real size (diameter 20 px at 100%)
    def grab():
        img = canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
        w, h, bpl = img.width(), img.height(), img.bytesPerLine()
        return np.frombuffer(img.constBits(), np.uint8).reshape(h, bpl)[:, : 3 * w].reshape(h, w, 3).copy()

    plain = grab()
    c = view_point(canvas, 64, 48)
    QTest.mouseMove(canvas.viewport(), c)
    with_cursor = grab()
    ys, xs = np.nonzero(np.any(plain != with_cursor, axis=2))
    assert ys.size > 40
    r = np.hypot(xs + 0.5 - c.x(), ys + 0.5 - c.y())
    assert r.min() > 8 and r.max() < 12.5
    canvas.set_zoom(2.0)
    QTest.mouseMove(canvas.viewport(), view_point(canvas, 64, 48))
    QTest.mouseMove(canvas.viewport(), c)
    canvas.set_brush_size(10)  # 10 px at 200% is again 20 view pixels across
    zoomed = grab()
    canvas.tools.set_hover(None)
    ys, xs = np.nonzero(np.any(zoomed != grab(), axis=2))
    r = np.hypot(xs + 0.5 - c.x(), ys + 0.5 - c.y())
    assert ys.size > 40 and r.min() > 8 and r.max() < 12.5


def test_overlay_shows_hole_with_adjustable_opacity(canvas):
    canvas.doc.mask[30:60, 30:60] = True
    canvas.mask_edited((30, 30, 60, 60))
    canvas.set_overlay_opacity(1.0)
    img = canvas.viewport().grab().toImage()
    p = view_point(canvas, 45, 45)
    col = img.pixelColor(p.x(), p.y())
    assert (col.red(), col.green(), col.blue()) == (255, 40, 80)
    q = view_point(canvas, 10, 10)
    photo = canvas.doc.image[10, 10]
    col = img.pixelColor(q.x(), q.y())
    assert (col.red(), col.green(), col.blue()) == tuple(int(v) for v in photo)
    canvas.set_overlay_opacity(0.0)
    img = canvas.viewport().grab().toImage()
    col = img.pixelColor(p.x(), p.y())
    assert (col.red(), col.green(), col.blue()) == tuple(int(v) for v in canvas.doc.image[45, 45])


def test_large_photo_uses_cached_levels_and_still_shows_edits(qtbot):
    """At ~1/3 zoom the canvas draws from a reduced level; a stroke still shows up at once."""
    from tests.gui.conftest import photo, shown_canvas

    c = shown_canvas(qtbot, 420, 320, photo(900, 1200))
    assert c.photo_pyr.n_levels >= 3 and c.zoom < 0.5
    c.set_overlay_opacity(1.0)
    c.set_brush_size(120)
    drag(c.viewport(), [view_point(c, 300, 300), view_point(c, 800, 300)])
    img = c.viewport().grab().toImage()
    p = view_point(c, 550, 300)
    col = img.pixelColor(p.x(), p.y())
    assert (col.red(), col.green(), col.blue()) == (255, 40, 80)
    q = view_point(c, 550, 700)
    col = img.pixelColor(q.x(), q.y())
    ref = c.doc.image[690:710, 540:560].reshape(-1, 3).mean(axis=0)
    assert abs(col.red() - ref[0]) < 25 and abs(col.green() - ref[1]) < 25
    c.doc.undo()
    img = c.viewport().grab().toImage()
    col = img.pixelColor(p.x(), p.y())
    assert (col.red(), col.green(), col.blue()) != (255, 40, 80)


def test_zoom_to_window_centres_it(canvas):
    canvas.set_model_window((60, 40, 30), user=True)
    canvas.zoom_to_window()
    r = canvas.window_view_rect()
    vw, vh = canvas.viewport().width(), canvas.viewport().height()
    assert abs(r.center().x() - vw / 2) <= 2 and abs(r.center().y() - vh / 2) <= 2
    assert max(r.width() / vw, r.height() / vh) == pytest.approx(0.8, abs=0.01)


def test_shift_click_draws_a_straight_line_and_shift_rectangle_is_square(canvas):
    canvas.set_brush_size(4)
    vp = canvas.viewport()
    drag(vp, [view_point(canvas, 10, 10)])
    drag(vp, [view_point(canvas, 90, 70)], modifiers=Qt.KeyboardModifier.ShiftModifier)
    expected = capsule((96, 128), (10, 10), (10, 10), 2) | capsule((96, 128), (10, 10), (90, 70), 2)
    np.testing.assert_array_equal(canvas.doc.mask, expected)
    canvas.doc.undo()  # the line is its own step
    np.testing.assert_array_equal(canvas.doc.mask, capsule((96, 128), (10, 10), (10, 10), 2))
    canvas.doc.mask[:] = False
    canvas.mask_edited((0, 0, 128, 96))
    canvas.set_tool("rect")
    drag(vp, [view_point(canvas, 20, 20), view_point(canvas, 50, 30)], modifiers=Qt.KeyboardModifier.ShiftModifier)
    ref = np.zeros((96, 128), bool)
    ref[20:50, 20:50] = True
    np.testing.assert_array_equal(canvas.doc.mask, ref)
