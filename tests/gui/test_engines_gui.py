"""The automatic engine choice and the scene engine in the window: the region names its engine,
a scratch is filled by the scene engine, and only the hole changes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import drag, open_photo, settle, view_point, write_photo

pytestmark = pytest.mark.gui


def test_a_scratch_drawn_with_auto_is_filled_by_the_scene_engine(make_window, tmp_path, qtbot):
    w = make_window(engine=None)
    assert w.store.settings.common.engine == "auto" and w.engine_box.currentText() == "auto"
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    c = w.canvas
    c.set_tool("rect")
    drag(c.viewport(), [view_point(c, 10, 50), view_point(c, 110, 53)])  # a 3-px scratch across the photo
    settle(qtbot, w)
    assert w.region_label.text().startswith("scene") and "scratches" in w.region_label.text()
    before, mask = w.doc.image.copy(), w.doc.mask.copy()
    assert mask.sum() > 200
    w.session.inpaint()
    qtbot.waitUntil(lambda: w.session.result is not None, timeout=30000)
    assert [cand.label for cand in w.session.result.candidates] == ["smooth fill"]
    w.session.apply()
    qtbot.waitUntil(lambda: not w.doc.mask.any(), timeout=30000)
    np.testing.assert_array_equal(w.doc.image[~mask], before[~mask])
    assert not np.array_equal(w.doc.image[mask], before[mask])
    assert w.doc.undo_stack.undo_label() == "Apply fill"


def test_choosing_the_scene_engine_in_the_toolbar_replans(make_window, tmp_path, qtbot):
    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    c = w.canvas
    c.set_tool("rect")
    drag(c.viewport(), [view_point(c, 50, 30), view_point(c, 80, 60)])
    settle(qtbot, w)
    assert w.region_label.text().startswith("face")
    w.engine_box.setCurrentText("scene")
    settle(qtbot, w)
    assert w.store.settings.common.engine == "scene" and w.region_label.text().startswith("scene · region")
