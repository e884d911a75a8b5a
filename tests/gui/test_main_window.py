"""The main window: opening and saving files, masks, settings, unsaved-changes prompts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from tests.gui.conftest import drag, photo, view_point, write_photo

pytestmark = pytest.mark.gui


def paint_something(w):
    c = w.canvas
    c.set_tool("rect")
    drag(c.viewport(), [view_point(c, 40, 30), view_point(c, 60, 50)])
    assert w.doc.mask.sum() == 400


def fake_fill(w):
    """Change some photo pixels through the same path as an applied fill (one undo step)."""
    d = w.doc
    region = d.mask[30:50, 40:60].copy()
    pixels = d.image[30:50, 40:60].copy()
    pixels[region] = [10, 200, 30]
    d.apply_patch((40, 30), pixels, region)


def test_status_bar_shows_model_and_device(make_window):
    w = make_window()
    text = w.model_label.text()
    assert "tiny" in text and "CPU" in text and "thread" in text


def test_open_photo_and_mask_from_files(make_window, tmp_path, dlg):
    from inpaint_gui.core.image.io import save_mask

    p = write_photo(tmp_path / "face.png")
    m = np.zeros((96, 128), bool)
    m[10:20, 30:50] = True
    save_mask(tmp_path / "mask.png", m)
    w = make_window()
    assert w.open_photo(p, tmp_path / "mask.png")
    np.testing.assert_array_equal(w.doc.image, photo())
    np.testing.assert_array_equal(w.doc.mask, m)
    assert w.canvas.window is not None  # placed around the hole
    x, y, s = w.canvas.window
    assert x <= 30 and y <= 10 and x + s >= 50 and y + s >= 20
    assert "face.png" in w.windowTitle() and not dlg.errors


def test_unreadable_photo_and_wrong_size_mask_give_dialogs(make_window, tmp_path, dlg):
    w = make_window()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    assert not w.open_photo(bad)
    assert dlg.errors and "broken.jpg" in dlg.errors[-1][1]
    assert w.doc is None
    p = write_photo(tmp_path / "ok.png")
    assert w.open_photo(p)
    from inpaint_gui.core.image.io import save_mask

    save_mask(tmp_path / "small.png", np.ones((10, 10), bool))
    paint_something(w)
    before = w.doc.mask.copy()
    assert not w.files.load_mask(tmp_path / "small.png")
    assert "small.png" in dlg.errors[-1][1]
    np.testing.assert_array_equal(w.doc.mask, before)  # the mask is as it was
    # a broken file given with the photo: the current photo stays
    assert not w.open_photo(p, bad)
    np.testing.assert_array_equal(w.doc.mask, before)


def test_save_writes_inpainted_copy_and_round_trips(make_window, tmp_path, dlg):
    from inpaint_gui.core.image.io import load_photo

    p = write_photo(tmp_path / "face.png")
    w = make_window()
    w.open_photo(p)
    paint_something(w)
    fake_fill(w)
    assert w.doc.is_modified() and w.isWindowModified()
    assert w.files.save()
    out = tmp_path / "face_inpainted.png"
    assert out.exists()
    np.testing.assert_array_equal(load_photo(out).image, w.doc.image)
    np.testing.assert_array_equal(load_photo(p).image, photo())  # original untouched
    assert not w.doc.is_modified()
    # undo makes it modified again, redo returns to the saved state
    w.undo()
    assert w.doc.is_modified()
    w.redo()
    assert not w.doc.is_modified()
    # reopen the saved copy: the same pixels
    assert w.open_photo(out)
    np.testing.assert_array_equal(w.doc.image, load_photo(out).image)


def test_save_as_jpeg_asks_quality_and_keeps_exif(make_window, tmp_path, dlg):
    from PIL import Image

    from inpaint_gui.core.image.io import load_photo

    src = tmp_path / "cam.jpg"
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    Image.fromarray(photo()).save(src, quality=95, exif=exif.tobytes())
    w = make_window()
    w.open_photo(src)
    dlg.save_path = str(tmp_path / "copy.jpg")
    dlg.int_answer = 80
    assert w.files.save_as()
    assert "int Quality" in dlg.questions
    with Image.open(tmp_path / "copy.jpg") as im:
        assert im.getexif().get(0x010F) == "TestCam"
    assert load_photo(tmp_path / "copy.jpg").image.shape == (96, 128, 3)
    assert w.doc.save_path == tmp_path / "copy.jpg"


def test_original_is_never_overwritten_without_confirmation(make_window, tmp_path, dlg):
    p = write_photo(tmp_path / "face.png")
    original = p.read_bytes()
    w = make_window()
    w.open_photo(p)
    paint_something(w)
    fake_fill(w)
    dlg.save_path = str(p)
    dlg.confirm_answer = False
    assert not w.files.save_as()
    assert p.read_bytes() == original and "confirm Overwrite the original?" in dlg.questions
    dlg.confirm_answer = True
    assert w.files.save_as()
    assert p.read_bytes() != original


def test_unsaved_changes_prompt_on_open_and_close(make_window, tmp_path, dlg, qtbot):
    a = write_photo(tmp_path / "a.png")
    b = write_photo(tmp_path / "b.png", seed=1)
    w = make_window()
    w.open_photo(a)
    paint_something(w)
    assert not dlg.questions  # mask-only edits are not unsaved photo changes
    fake_fill(w)
    dlg.unsaved_answer = "cancel"
    assert not w.open_photo(b)
    assert w.doc.path == a and dlg.questions == ["unsaved a.png"]
    assert not w.close()  # cancel keeps the window open
    assert w.isVisible()
    dlg.unsaved_answer = "save"
    assert w.open_photo(b)
    assert (tmp_path / "a_inpainted.png").exists() and w.doc.path == b


def test_recent_files_and_drag_and_drop(make_window, tmp_path):
    a = write_photo(tmp_path / "a.png")
    b = write_photo(tmp_path / "b.png", seed=2)
    w = make_window()
    w.open_photo(a)
    w.open_photo(b)
    assert [Path(r).name for r in w.files.recent()] == ["b.png", "a.png"]
    acts = [x for x in w.recent_menu.actions() if x.text() == "a.png"]
    acts[0].trigger()
    assert w.doc.path == a
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(b))])
    ev = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier)
    w.dropEvent(ev)
    assert w.doc.path == b


def test_mask_operations_are_undoable(make_window, tmp_path, dlg):
    w = make_window()
    w.open_photo(write_photo(tmp_path / "a.png"))
    paint_something(w)
    w.invert_mask()
    assert w.doc.mask.sum() == 96 * 128 - 400
    w.undo()
    assert w.doc.mask.sum() == 400
    dlg.int_answer = 3
    w.grow_mask()
    assert w.doc.mask.sum() > 400 and w.doc.mask[27:53, 37:63].sum() == w.doc.mask.sum()
    w.clear_mask()
    assert not w.doc.mask.any()
    w.undo()
    w.undo()
    assert w.doc.mask.sum() == 400


def test_mask_save_and_load_round_trip(make_window, tmp_path):
    w = make_window()
    w.open_photo(write_photo(tmp_path / "a.png"))
    paint_something(w)
    c = w.canvas
    c.set_tool("brush")
    c.set_brush_size(7)
    drag(c.viewport(), [view_point(c, 5, 80), view_point(c, 100, 85)])
    saved = w.doc.mask.copy()
    assert w.files.save_mask(tmp_path / "m.png")
    w.clear_mask()
    assert w.files.load_mask(tmp_path / "m.png")
    np.testing.assert_array_equal(w.doc.mask, saved)


def test_keyboard_shortcuts_reach_the_canvas(make_window, tmp_path):
    w = make_window()
    w.open_photo(write_photo(tmp_path / "a.png"))
    w.canvas.setFocus()
    QTest.keyClick(w, Qt.Key.Key_R)
    assert w.canvas.tool == "rect"
    QTest.keyClick(w, Qt.Key.Key_E)
    assert w.canvas.tool == "eraser"
    QTest.keyClick(w, Qt.Key.Key_B)
    assert w.canvas.tool == "brush"
    size = w.canvas.brush_size
    QTest.keyClick(w, Qt.Key.Key_BracketRight)
    assert w.canvas.brush_size > size and w.brush_spin.value() == w.canvas.brush_size
    QTest.keyClick(w, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert w.canvas.zoom == 1.0
    QTest.keyClick(w, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert w.canvas.zoom == 1.5
    QTest.keyClick(w, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(w, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert w.canvas.zoom == pytest.approx(2 / 3)
    QTest.keyClick(w, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert w.canvas.fit_mode and w.canvas.zoom * 128 <= w.canvas.viewport().width()
    QTest.keyClick(w, Qt.Key.Key_BracketLeft)
    assert w.canvas.brush_size == size
    QTest.keyClick(w, Qt.Key.Key_W)
    assert w.canvas.tool == "window"
    QTest.keyClick(w, Qt.Key.Key_B)
    paint_something(w)
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not w.doc.mask.any()
    QTest.keyClick(w, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert w.doc.mask.sum() == 400
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert w.doc.mask.sum() == 400


def test_settings_are_remembered_and_reset(make_window, qsettings):
    w = make_window()
    panel = w.settings_panel
    panel.iterations.setValue(321)
    panel.restarts.setValue(3)
    panel.blend.setCurrentText("paste")
    assert w.job_settings.iterations == 321 and w.job_settings.blend == "paste"
    w.close()
    w2 = make_window()
    assert w2.job_settings.iterations == 321 and w2.job_settings.restarts == 3
    assert w2.settings_panel.blend.currentText() == "paste"
    w2.settings_panel.reset_button.click()
    from inpaint_gui.gui.settings import JobSettings

    assert w2.job_settings == JobSettings()


def test_missing_model_is_reported_and_app_keeps_working(make_window, tmp_path, dlg, qtbot):
    w = make_window(model=str(tmp_path / "no-such-model"))
    qtbot.waitUntil(lambda: bool(dlg.errors), timeout=5000)
    assert "no-such-model" in dlg.errors[-1][1]
    assert not w.act_inpaint.isEnabled()
    assert w.open_photo(write_photo(tmp_path / "a.png"))


def test_welcome_page_open_button_and_model_loading(make_window, tmp_path, dlg, tiny_model, qtbot):
    from inpaint_gui.core.engines.gan.weights import save_model

    w = make_window()
    assert w.stack.currentWidget() is w.welcome
    dlg.open_path = str(write_photo(tmp_path / "a.png"))
    w.welcome.open_button.click()
    assert w.doc is not None and w.stack.currentWidget() is w.canvas
    # load another model folder; then a corrupt one is refused with a dialog
    folder = save_model(tmp_path / "other", tiny_model.generator, tiny_model.discriminator, {"name": "other-model"})
    dlg.open_path = str(folder)
    with qtbot.waitSignal(w.controller.model_ready, timeout=10000):
        w.act_model.trigger()
    assert "other-model" in w.model_label.text()
    gen = folder / "generator.pt"
    data = bytearray(gen.read_bytes())
    data[len(data) // 2] ^= 0xFF
    gen.write_bytes(bytes(data))
    with qtbot.waitSignal(w.controller.model_error, timeout=10000):
        w.act_model.trigger()
    assert dlg.errors and "generator.pt" in dlg.errors[-1][1]


def test_window_placement_off_the_gui_thread_for_large_photos(make_window, tmp_path, monkeypatch, qtbot):
    import inpaint_gui.gui.session as session

    monkeypatch.setattr(session, "ASYNC_PIXELS", 0)  # treat every photo as large
    w = make_window()
    w.open_photo(write_photo(tmp_path / "a.png"))
    qtbot.waitUntil(lambda: not w.session._pool._work_queue.qsize(), timeout=5000)
    assert w.canvas.window is None  # no hole yet
    paint_something(w)  # hole [30:50, 40:60]
    qtbot.waitUntil(lambda: w.canvas.window is not None, timeout=5000)
    x, y, s = w.canvas.window
    assert x <= 40 and y <= 30 and x + s >= 60 and y + s >= 50
    # a placement computed for an older mask is dropped when the mask changed meanwhile
    import time as _time

    def slow_plan(mask, resolution):
        _time.sleep(0.3)
        return [(0, 0, 16)], [1]

    monkeypatch.setattr(session, "_plan", slow_plan)
    w.session.place_window_automatically()
    w.canvas.set_window((5, 5, 40), user=True)  # the user places it before the result arrives
    qtbot.wait(600)
    assert w.canvas.window == (5, 5, 40)
    w.session.place_window_automatically(force=True)
    w.session.mask_changed()  # stale now; the debounced placement that follows wins
    qtbot.waitUntil(lambda: w.canvas.window == (0, 0, 16), timeout=5000)


def test_alpha_and_icc_profile_survive_save(make_window, tmp_path):
    from PIL import Image, ImageCms

    rgba = np.dstack([photo(), np.tile(np.linspace(0, 255, 128, dtype=np.uint8), (96, 1))])
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(src, icc_profile=icc)
    w = make_window()
    w.open_photo(src)
    paint_something(w)
    fake_fill(w)
    assert w.files.save()
    with Image.open(tmp_path / "rgba_inpainted.png") as im:
        assert im.mode == "RGBA" and im.info.get("icc_profile") == icc
        out = np.asarray(im)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[..., :3], w.doc.image)


def test_overlay_colour_and_opacity_are_remembered(make_window, dlg, tmp_path):
    from PySide6.QtGui import QColor

    w = make_window()
    w.open_photo(write_photo(tmp_path / "a.png"))
    dlg.color_answer = QColor(0, 200, 255)
    w.act_color.trigger()
    w.opacity_slider.setValue(80)
    assert w.canvas.overlay_color == QColor(0, 200, 255) and w.canvas.overlay_opacity == pytest.approx(0.8)
    w.doc.mask[10:20, 10:20] = True
    w.canvas.mask_edited((10, 10, 20, 20))
    w.close()
    w2 = make_window()
    assert w2.canvas.overlay_color == QColor(0, 200, 255) and w2.opacity_slider.value() == 80
