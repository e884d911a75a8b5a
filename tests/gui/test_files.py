"""File jobs: reading and writing off the GUI thread, conflicting actions disabled meanwhile,
closing with unsaved changes through a save job."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from tests.gui.conftest import open_photo, photo, write_photo

pytestmark = pytest.mark.gui


def modify(w):
    """Change some photo pixels through the same path as an applied fill (one undo step)."""
    d = w.doc
    region = np.zeros((20, 20), bool)
    region[5:15, 5:15] = True
    pixels = d.image[30:50, 40:60].copy()
    pixels[region] = [10, 200, 30]
    d.apply_patch((40, 30), pixels, region)


@pytest.fixture
def slow_writes(monkeypatch):
    import inpaint_gui.gui.files as files

    real = files._write_photo

    def slow(*a, **k):
        time.sleep(0.3)
        return real(*a, **k)

    monkeypatch.setattr(files, "_write_photo", slow)


def test_saving_runs_in_a_job_with_conflicting_actions_disabled(make_window, tmp_path, qtbot, slow_writes):
    from inpaint_gui.core.image.io import load_photo

    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    modify(w)
    saved_pixels = w.doc.image.copy()
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    assert w.files.save()
    assert w.files.busy
    for a in (w.act_open, w.act_save, w.act_save_as, w.act_load_mask, w.act_save_mask):
        assert not a.isEnabled(), a.text()
    assert not w.files.save() and not w.open_photo(tmp_path / "a.png")  # one file job at a time
    modify_during = w.doc.image.copy()
    modify_during[0, 0] = 0
    w.doc.apply_patch((0, 0), modify_during[:1, :1], np.ones((1, 1), bool))  # the photo changes meanwhile
    with qtbot.waitSignal(w.files.done, timeout=10000) as blocker:
        pass
    timer.stop()
    assert blocker.args == ["save", True] and len(ticks) >= 10  # the event loop kept running
    assert w.act_open.isEnabled() and w.act_save.isEnabled()
    np.testing.assert_array_equal(load_photo(tmp_path / "a_inpainted.png").image, saved_pixels)  # as at the start
    assert w.doc.is_modified()  # the change made during the save is not saved


def test_closing_with_unsaved_changes_saves_then_closes(make_window, tmp_path, qtbot, dlg, slow_writes):
    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    modify(w)
    dlg.unsaved_answer = "save"
    assert not w.close()  # a save job first
    assert w.isVisible() and w.files.busy
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=10000)
    assert (tmp_path / "a_inpainted.png").exists() and not w.doc.is_modified()
    assert not w.compute.worker_thread.isRunning() and not w.file_jobs.worker_thread.isRunning()


def test_a_failed_save_keeps_the_window_open_and_the_changes(make_window, tmp_path, qtbot, dlg):
    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    modify(w)
    dlg.save_path = str(tmp_path / "no-such-folder" / "out.png")
    with qtbot.waitSignal(w.files.done, timeout=10000) as blocker:
        assert w.files.save_as()
    assert blocker.args == ["save", False]
    assert dlg.errors and dlg.errors[-1][0] == "Cannot save" and "no-such-folder" in dlg.errors[-1][1]
    assert w.doc.is_modified() and w.isVisible()
    dlg.unsaved_answer = "discard"  # let the test close it


def test_closing_while_a_file_is_read_waits_for_it(make_window, tmp_path, qtbot, monkeypatch):
    import inpaint_gui.gui.files as files

    real = files._read_photo

    def slow(*a, **k):
        time.sleep(0.3)
        return real(*a, **k)

    monkeypatch.setattr(files, "_read_photo", slow)
    w = make_window()
    assert w.open_photo(write_photo(tmp_path / "a.png"))
    assert w.doc is None and w.files.busy  # the welcome page stays until the photo is read
    assert not w.close()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=10000)
    assert w.doc is not None and w.doc.path == tmp_path / "a.png"
    np.testing.assert_array_equal(w.doc.image, photo())
