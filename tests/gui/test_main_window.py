"""The main window: opening and saving files, masks, settings, unsaved-changes prompts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from tests.gui.conftest import drag, open_photo, photo, view_point, write_photo

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


def test_a_long_region_description_leaves_the_status_messages_room(make_window, qtbot):
    w = make_window()
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    long = "face · celeba128 over pggan64 · 2 framings around 140,44,170 · face check 0.98 · " * 3
    w._region_changed(long, "1200 hole pixels")
    w.statusBar().showMessage("Done: 20 iterations in 0.8 s; click a candidate to compare")
    qtbot.wait(50)
    label = w.region_label
    assert label.text() == long and long in label.toolTip() and "1200 hole pixels" in label.toolTip()
    assert label.width() <= label.maximumWidth() < w.width() / 2  # the rest of the bar is the message's
    shown = label.shown_text()
    assert shown.endswith("…") and long.startswith(shown[:-1]) and len(shown) < len(long)
    label.grab()  # paints without error
    w._region_changed("face · tiny", "")
    assert label.shown_text() == "face · tiny" and label.toolTip() == "face · tiny"


def test_open_photo_and_mask_from_files(make_window, tmp_path, dlg, qtbot):
    from inpaint_gui.core.image.io import save_mask

    p = write_photo(tmp_path / "face.png")
    m = np.zeros((96, 128), bool)
    m[10:20, 30:50] = True
    save_mask(tmp_path / "mask.png", m)
    w = make_window()
    open_photo(qtbot, w, p, tmp_path / "mask.png")
    np.testing.assert_array_equal(w.doc.image, photo())
    np.testing.assert_array_equal(w.doc.mask, m)
    assert w.canvas.frame is not None  # planned around the hole
    x0, y0, x1, y1 = w.canvas.frame
    assert x0 <= 30 and y0 <= 10 and x1 >= 50 and y1 >= 20
    assert "face.png" in w.windowTitle() and not dlg.errors
    assert "face" in w.region_label.text() and "framings around" in w.region_label.text()  # the framing search


def test_unreadable_photo_and_wrong_size_mask_give_dialogs(make_window, tmp_path, dlg, qtbot):
    w = make_window()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    open_photo(qtbot, w, bad, ok=False)
    assert dlg.errors and "broken.jpg" in dlg.errors[-1][1] and "\n" not in dlg.errors[-1][1]
    assert w.doc is None
    p = write_photo(tmp_path / "ok.png")
    open_photo(qtbot, w, p)
    doc = w.doc
    from inpaint_gui.core.image.io import save_mask

    save_mask(tmp_path / "small.png", np.ones((10, 10), bool))
    paint_something(w)
    before = w.doc.mask.copy()
    with qtbot.waitSignal(w.files.done) as blocker:
        assert w.files.load_mask(tmp_path / "small.png")
    assert blocker.args == ["load-mask", False]
    assert "small.png" in dlg.errors[-1][1]
    np.testing.assert_array_equal(w.doc.mask, before)  # the mask is as it was
    # a broken file given with the photo: the current photo stays
    open_photo(qtbot, w, p, bad, ok=False)
    assert w.doc is doc
    np.testing.assert_array_equal(w.doc.mask, before)


def save_and_wait(qtbot, w, fn, ok=True):
    with qtbot.waitSignal(w.files.done, timeout=10000) as blocker:
        assert fn()
    assert blocker.args == ["save", ok]


def test_save_writes_inpainted_copy_and_round_trips(make_window, tmp_path, dlg, qtbot):
    from inpaint_gui.core.image.io import load_photo

    p = write_photo(tmp_path / "face.png")
    w = make_window()
    open_photo(qtbot, w, p)
    paint_something(w)
    fake_fill(w)
    assert w.doc.is_modified() and w.isWindowModified()
    save_and_wait(qtbot, w, w.files.save)
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
    open_photo(qtbot, w, out)
    np.testing.assert_array_equal(w.doc.image, load_photo(out).image)


def test_save_as_jpeg_asks_quality_and_keeps_exif(make_window, tmp_path, dlg, qtbot):
    from PIL import Image

    from inpaint_gui.core.image.io import load_photo

    src = tmp_path / "cam.jpg"
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    Image.fromarray(photo()).save(src, quality=95, exif=exif.tobytes())
    w = make_window()
    open_photo(qtbot, w, src)
    dlg.save_path = str(tmp_path / "copy.jpg")
    dlg.int_answer = 80
    save_and_wait(qtbot, w, w.files.save_as)
    assert "int Quality" in dlg.questions
    with Image.open(tmp_path / "copy.jpg") as im:
        assert im.getexif().get(0x010F) == "TestCam"
    assert load_photo(tmp_path / "copy.jpg").image.shape == (96, 128, 3)
    assert w.doc.save_path == tmp_path / "copy.jpg"


def test_original_is_never_overwritten_without_confirmation(make_window, tmp_path, dlg, qtbot):
    p = write_photo(tmp_path / "face.png")
    original = p.read_bytes()
    w = make_window()
    open_photo(qtbot, w, p)
    paint_something(w)
    fake_fill(w)
    dlg.save_path = str(p)
    dlg.confirm_answer = False
    assert not w.files.save_as()
    assert p.read_bytes() == original and "confirm Overwrite the original?" in dlg.questions
    dlg.confirm_answer = True
    save_and_wait(qtbot, w, w.files.save_as)
    assert p.read_bytes() != original


def test_unsaved_changes_prompt_on_open_and_close(make_window, tmp_path, dlg, qtbot):
    a = write_photo(tmp_path / "a.png")
    b = write_photo(tmp_path / "b.png", seed=1)
    w = make_window()
    open_photo(qtbot, w, a)
    paint_something(w)
    assert not dlg.questions  # mask-only edits are not unsaved photo changes
    fake_fill(w)
    dlg.unsaved_answer = "cancel"
    assert not w.open_photo(b)
    assert w.doc.path == a and dlg.questions == ["unsaved a.png"]
    assert not w.close()  # cancel keeps the window open
    assert w.isVisible()
    dlg.unsaved_answer = "save"
    assert w.open_photo(b)  # a save job, then an open job
    qtbot.waitUntil(lambda: w.doc.path == b, timeout=10000)
    assert (tmp_path / "a_inpainted.png").exists()


def test_recent_files_and_drag_and_drop(make_window, tmp_path, qtbot):
    a = write_photo(tmp_path / "a.png")
    b = write_photo(tmp_path / "b.png", seed=2)
    w = make_window()
    open_photo(qtbot, w, a)
    open_photo(qtbot, w, b)
    assert [Path(r).name for r in w.files.recent()] == ["b.png", "a.png"]
    acts = [x for x in w.recent_menu.actions() if x.text() == "a.png"]
    with qtbot.waitSignal(w.files.done):
        acts[0].trigger()
    assert w.doc.path == a
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(b))])
    ev = QDropEvent(
        QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(w.files.done):
        w.dropEvent(ev)
    assert w.doc.path == b


def test_mask_operations_are_undoable(make_window, tmp_path, dlg, qtbot):
    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    paint_something(w)
    w.edit.invert_mask()
    assert w.doc.mask.sum() == 96 * 128 - 400
    w.undo()
    assert w.doc.mask.sum() == 400
    dlg.int_answer = 3
    w.edit.grow_mask()
    assert w.doc.mask.sum() > 400 and w.doc.mask[27:53, 37:63].sum() == w.doc.mask.sum()
    w.edit.clear_mask()
    assert not w.doc.mask.any()
    w.undo()
    w.undo()
    assert w.doc.mask.sum() == 400


def test_mask_save_and_load_round_trip(make_window, tmp_path, qtbot):
    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    paint_something(w)
    c = w.canvas
    c.set_tool("brush")
    c.set_brush_size(7)
    drag(c.viewport(), [view_point(c, 5, 80), view_point(c, 100, 85)])
    saved = w.doc.mask.copy()
    with qtbot.waitSignal(w.files.done) as blocker:
        assert w.files.save_mask(tmp_path / "m.png")
    assert blocker.args == ["save-mask", True]
    w.edit.clear_mask()
    with qtbot.waitSignal(w.files.done) as blocker:
        assert w.files.load_mask(tmp_path / "m.png")
    assert blocker.args == ["load-mask", True]
    np.testing.assert_array_equal(w.doc.mask, saved)
    w.undo()  # loading the mask is one undo step
    assert not w.doc.mask.any()


def test_keyboard_shortcuts_reach_the_canvas(make_window, tmp_path, qtbot):
    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
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
    from inpaint_gui.core.pipeline import InpaintSettings

    w = make_window()
    panel = w.settings_panel
    panel.editor("face", "iterations").setValue(321)
    panel.editor("face", "restarts").setValue(3)
    panel.editor("common", "blend").setCurrentText("paste")
    assert w.store.settings.of("face").iterations == 321 and w.store.settings.common.blend == "paste"
    w.close()
    w2 = make_window()
    assert w2.store.settings.of("face").iterations == 321 and w2.store.settings.of("face").restarts == 3
    assert w2.settings_panel.editor("common", "blend").currentText() == "paste"
    w2.settings_panel.reset_button.click()
    assert w2.store.settings == InpaintSettings()
    assert w2.settings_panel.editor("face", "iterations").value() == InpaintSettings().of("face").iterations


def test_missing_model_is_reported_and_app_keeps_working(make_window, tmp_path, dlg, qtbot):
    w = make_window(model=str(tmp_path / "no-such-model"))
    qtbot.waitUntil(lambda: bool(dlg.errors), timeout=5000)
    assert "no-such-model" in dlg.errors[-1][1]
    assert not w.act_inpaint.isEnabled() and "none" in w.model_label.text()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    assert not w.act_inpaint.isEnabled()


def test_welcome_page_open_button_and_model_loading(make_window, tmp_path, dlg, tiny_model, qtbot):
    from inpaint_gui.core.engines.gan.weights import save_model

    w = make_window()
    assert w.stack.currentWidget() is w.welcome
    dlg.open_path = str(write_photo(tmp_path / "a.png"))
    with qtbot.waitSignal(w.files.done):
        w.welcome.open_button.click()
    assert w.doc is not None and w.stack.currentWidget() is w.canvas
    # load another model folder; then a corrupt one is refused with a dialog
    folder = save_model(tmp_path / "other", tiny_model.generator, tiny_model.discriminator, {"name": "other-model"})
    dlg.open_path = str(folder)
    with qtbot.waitSignal(w.compute.finished, timeout=10000):
        w.act_model.trigger()
    assert "other-model" in w.model_label.text() and w.session.model.name == "other-model"
    gen = folder / "generator.pt"
    data = bytearray(gen.read_bytes())
    data[len(data) // 2] ^= 0xFF
    gen.write_bytes(bytes(data))
    with qtbot.waitSignal(w.compute.failed, timeout=10000):
        w.act_model.trigger()
    assert dlg.errors and "generator.pt" in dlg.errors[-1][1]
    assert "other-model" in w.model_label.text() and w.act_inpaint.isEnabled()  # the loaded model stays


def test_alpha_and_icc_profile_survive_save(make_window, tmp_path, qtbot):
    from PIL import Image, ImageCms

    rgba = np.dstack([photo(), np.tile(np.linspace(0, 255, 128, dtype=np.uint8), (96, 1))])
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(src, icc_profile=icc)
    w = make_window()
    open_photo(qtbot, w, src)
    paint_something(w)
    fake_fill(w)
    save_and_wait(qtbot, w, w.files.save)
    with Image.open(tmp_path / "rgba_inpainted.png") as im:
        assert im.mode == "RGBA" and im.info.get("icc_profile") == icc
        out = np.asarray(im)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[..., :3], w.doc.image)


def test_overlay_colour_and_opacity_are_remembered(make_window, dlg, tmp_path, qtbot):
    from PySide6.QtGui import QColor

    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    dlg.color_answer = QColor(0, 200, 255)
    w.act_color.trigger()
    w.opacity_slider.setValue(80)
    assert w.canvas.overlay_color == QColor(0, 200, 255) and w.canvas.overlay_opacity == pytest.approx(0.8)
    w.doc.mask[10:20, 10:20] = True
    w.canvas.mask_edited((10, 10, 20, 20))
    w.close()
    w2 = make_window()
    assert w2.canvas.overlay_color == QColor(0, 200, 255) and w2.opacity_slider.value() == 80


def test_a_grey_16bit_photo_is_saved_grey_and_16bit(make_window, qtbot, tmp_path, dlg):
    from PIL import Image

    from inpaint_gui.core.image.io import load_photo

    grey = (np.arange(96 * 128, dtype=np.uint32).reshape(96, 128) * 5 % 65536).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "old.png")  # mode I;16
    w = make_window()
    open_photo(qtbot, w, tmp_path / "old.png")
    assert w.files.write(tmp_path / "out.png") is not False
    qtbot.waitUntil(lambda: (tmp_path / "out.png").exists() and not w.file_jobs.busy, timeout=10000)
    again = load_photo(tmp_path / "out.png")
    assert again.save_mode == "I;16" and np.array_equal(again.original16.squeeze(), grey)


def test_loading_an_inverted_mask_warns(make_window, qtbot, tmp_path, dlg):
    from PIL import Image

    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    inverted = np.full((96, 128), 255, np.uint8)
    inverted[10:20, 10:20] = 0
    Image.fromarray(inverted).save(tmp_path / "m.png")
    messages = []
    w.files.status.connect(lambda text, *_: messages.append(text))
    w.files.load_mask(tmp_path / "m.png")
    qtbot.waitUntil(lambda: any("inverted" in m for m in messages), timeout=10000)


def test_the_model_menu_chooses_the_face_model_for_every_window(make_window, tmp_path, qtbot):
    from tests.gui.conftest import drag, open_photo, settle, view_point, write_photo

    w = make_window()
    menu = w.model_menu
    menu.rebuild()
    names = [a.data() for a in menu.actions() if a.isCheckable()]
    assert names[0] == "auto" and {"celeba64", "celeba128"} <= set(names)
    assert [a.data() for a in menu.actions() if a.isChecked()] == ["auto"] and w.act_model in menu.actions()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    c = w.canvas
    c.set_tool("rect")
    drag(c.viewport(), [view_point(c, 40, 30), view_point(c, 60, 50)])
    settle(qtbot, w)
    next(a for a in menu.actions() if a.data() == "celeba64").trigger()
    settle(qtbot, w, timeout=30000)
    assert w.store.settings.of("face").model == "celeba64" and "celeba64" in w.region_label.text()
    menu.rebuild()
    assert [a.data() for a in menu.actions() if a.isChecked()] == ["celeba64"]


def test_status_bar_says_auto_while_the_window_size_picks_the_shipped_model(make_window, qtbot):
    w = make_window(model="celeba64")
    qtbot.waitUntil(lambda: w.session.model is not None, timeout=30000)
    assert "Model: auto" in w.model_label.text() and "celeba64" not in w.model_label.text()
    next(a for a in w.model_menu.actions() if a.data() == "celeba64").trigger()
    qtbot.waitUntil(lambda: "celeba64" in w.model_label.text(), timeout=30000)
    assert "auto" not in w.model_label.text()
