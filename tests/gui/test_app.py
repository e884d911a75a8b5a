"""Application entry: run_app with a photo, mask and model; the crash hook; the sample photo."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QTimer
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import open_photo, photo, settle, write_photo

pytestmark = pytest.mark.gui


def test_run_app_opens_photo_mask_and_model(qapp, tmp_path, monkeypatch, tiny_model, dlg):
    from inpaint_gui.core.engines.gan.weights import save_model
    from inpaint_gui.core.image.io import save_mask
    from inpaint_gui.gui.app import run_app
    from inpaint_gui.gui.main_window import MainWindow

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = save_model(tmp_path / "tiny-model", tiny_model.generator, tiny_model.discriminator, {"name": "tiny-saved"})
    p = write_photo(tmp_path / "face.png")
    m = np.zeros((96, 128), bool)
    m[20:40, 30:60] = True
    save_mask(tmp_path / "mask.png", m)
    seen: dict = {}
    hook_before = sys.excepthook

    def check():
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not wins or wins[0].doc is None or wins[0].session.model is None or wins[0].canvas.frame is None:
            QTimer.singleShot(20, check)
            return
        w = wins[0]
        seen["image"] = w.doc.image.copy()
        seen["mask"] = w.doc.mask.copy()
        seen["label"] = w.model_label.text()
        seen["hook"] = sys.excepthook is not hook_before
        seen["frame"] = wins[0].canvas.frame
        w.close()

    QTimer.singleShot(0, check)
    # a safety net that must not outlive this test: a stray timer would close a later test's window
    net = QTimer()
    net.setSingleShot(True)
    net.timeout.connect(lambda: [w.close() for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)])
    net.start(30000)
    try:
        assert run_app(str(p), str(tmp_path / "mask.png"), str(folder)) == 0
    finally:
        net.stop()
    np.testing.assert_array_equal(seen["image"], photo())
    np.testing.assert_array_equal(seen["mask"], m)
    assert "tiny-saved" in seen["label"] and seen["hook"]
    x0, y0, x1, y1 = seen["frame"]  # the window was planned around the hole
    assert x0 <= 30 and y0 <= 20 and x1 >= 60 and y1 >= 40
    assert sys.excepthook is hook_before
    assert (tmp_path / "state" / "inpaint-gui" / "inpaint-gui.log").exists()
    assert not dlg.errors


def test_unhandled_exception_shows_dialog_and_is_logged(dlg, caplog):
    from inpaint_gui.gui.app import install_excepthook

    previous = install_excepthook()
    try:
        try:
            raise ValueError("boom in a slot")
        except ValueError as exc:
            with caplog.at_level(logging.ERROR, logger="inpaint_gui"):
                sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = previous
    assert dlg.errors and dlg.errors[-1][0] == "Unexpected error"
    assert "boom in a slot" in dlg.errors[-1][1] and "unchanged" in dlg.errors[-1][1]
    assert any("boom in a slot" in r.getMessage() for r in caplog.records)


def test_sample_photo_opens_with_its_hole(make_window, dlg, qtbot):
    from inpaint_gui.core.image.io import load_mask, load_photo
    from inpaint_gui.gui.app import sample_mask_path, sample_photo_path

    p = sample_photo_path()
    if p is None:
        pytest.skip("no sample photo installed")
    assert p.parent.name == "resources" and load_photo(p).image.ndim == 3
    w = make_window()
    assert w.welcome.sample_button.isEnabled()
    with qtbot.waitSignal(w.files.done, timeout=10000):
        w.welcome.sample_button.click()
    settle(qtbot, w)
    assert w.doc is not None and w.doc.path == p and not dlg.errors
    np.testing.assert_array_equal(w.doc.image, load_photo(p).image)
    m = sample_mask_path(p)
    if m is not None:
        np.testing.assert_array_equal(w.doc.mask, load_mask(m, w.doc.image.shape))
        assert w.canvas.frame is not None


def test_the_scene_sample_opens_from_the_file_menu_and_goes_to_the_scene_engine(make_window, dlg, qtbot):
    from inpaint_gui.core.image.io import load_mask, load_photo
    from inpaint_gui.gui.files import sample_mask_path, scene_sample_path

    p = scene_sample_path()
    assert p is not None and p.name == "rocket.jpg" and sample_mask_path(p) is not None
    w = make_window(engine=None)  # the app's default: the automatic engine choice
    assert w.act_scene_sample.isEnabled() and w.act_scene_sample in w.menuBar().actions()[0].menu().actions()
    with qtbot.waitSignal(w.files.done, timeout=10000):
        w.act_scene_sample.trigger()
    settle(qtbot, w, timeout=30000)
    assert w.doc.path == p and not dlg.errors
    np.testing.assert_array_equal(w.doc.mask, load_mask(sample_mask_path(p), load_photo(p).image.shape))
    assert w.region_label.text().startswith("scene"), w.region_label.text()


def test_face_guide_from_the_model_is_drawn_faintly(make_window, tmp_path, tiny_model, qtbot):
    from tests.tiny import model_from_modules

    guide = np.zeros((32, 32, 3), np.uint8)
    guide[8:24, 8:24] = 255
    model = model_from_modules(tiny_model.generator, tiny_model.discriminator, "guided", mean_face=guide)
    w = make_window(model=model)
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    assert w.canvas.face_guide is not None
    w.canvas.place_model_window((0, 0, 96))
    settle(qtbot, w)
    assert w.canvas.frame == (0, 0, 96, 96)
    w.canvas.set_overlay_opacity(0)
    w.canvas.set_zoom(1.0)

    def pixel(x, y):
        v = w.canvas.to_view(QPointF(x + 0.5, y + 0.5))
        return w.canvas.viewport().grab().toImage().pixelColor(int(v.x()), int(v.y()))

    inside = pixel(48, 48)  # guide is white there: the photo is lightened, but only faintly
    expected = w.doc.image[48, 48].astype(int)
    assert 5 < inside.red() - expected[0] < 90
    w.act_guide.trigger()  # hide it
    plain = pixel(48, 48)
    assert abs(plain.red() - expected[0]) <= 1


def test_void_qt_calls_cannot_exhaust_none_references():
    """PySide6 6.12 on CPython < 3.12 leaks a reference to None per void call (see _pyside_fix)."""
    from PySide6.QtCore import QRect

    import inpaint_gui.gui  # noqa: F401 - applies the fix on import
    from inpaint_gui.gui import _pyside_fix

    assert _pyside_fix.applied or not _pyside_fix.affected()
    before = sys.getrefcount(None)
    r = QRect(0, 0, 1, 1)
    n = 200_000  # more than None's whole reference count in a fresh interpreter
    for _ in range(n):
        r.setWidth(1)
    assert sys.getrefcount(None) > 1000
    if not _pyside_fix.applied:
        assert sys.getrefcount(None) >= before - 100  # an unaffected build does not leak at all
