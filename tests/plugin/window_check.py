"""Run by ``tests/test_plugins.py`` in a subprocess whose path holds the ``blur`` plugin: the
window offers the plugin as an engine, shows its settings, and fills a hole with it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

pytestmark = pytest.mark.gui


def test_the_window_offers_the_plugin_and_fills_with_it(qtbot, tmp_path, monkeypatch):
    from inpaint_gui.core.image.io import save_photo
    from inpaint_gui.gui import dialogs
    from inpaint_gui.gui.main_window import MainWindow

    errors = []
    monkeypatch.setattr(dialogs, "error", lambda parent, title, text, details=None: errors.append(text))
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda parent, name: "discard")  # closing at the end

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)
    save_photo(tmp_path / "p.png", photo)
    w = MainWindow(model=None, qsettings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    choices = [w.engine_box.itemText(i) for i in range(w.engine_box.count())]
    assert "blur" in choices  # a toolbar choice
    w.store.set_value("common", "engine", "blur")
    w.store.set_value("common", "blend", "paste")
    box = w.settings_panel.form.boxes["blur"]  # a dock group, shown while the plugin is the engine
    assert not box.isHidden() and box.title() == "Blur (a plugin)"
    with qtbot.waitSignal(w.files.done, timeout=10000):
        assert w.open_photo(tmp_path / "p.png")
    hole = np.zeros((72, 96), bool)
    hole[30:42, 40:56] = True
    w.doc.set_mask(hole, "hole")
    qtbot.waitUntil(lambda: w.session.region is not None and not w.session.planning, timeout=10000)
    assert w.session.region.engine == "blur" and w.region_label.text().startswith("blur")
    w.session.inpaint()
    qtbot.waitUntil(lambda: w.session.result is not None, timeout=60000)
    before = w.doc.image.copy()
    with qtbot.waitSignal(w.doc.history_changed, timeout=10000):
        w.session.apply()
    assert not np.array_equal(w.doc.image[hole], before[hole])
    np.testing.assert_array_equal(w.doc.image[~hole], before[~hole])
    assert not errors
