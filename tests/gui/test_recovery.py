"""Nothing lost: the window keeps a copy of unsaved work in the background and offers it after a
crash. The crash here is a keeper stopped without cleaning up (what SIGKILL leaves); the real
kill of a child process of the app is in ``test_recovery_kill.py``."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from inpaint_gui.core import recovery as core
from inpaint_gui.gui.recovery import RecoveryKeeper, when
from tests.gui.conftest import open_photo, photo, write_photo

pytestmark = pytest.mark.gui


class _Files(QObject):
    done = Signal(str, bool)  # what the keeper listens to in FileOps


def _fill(doc, x, y, w, h, seed):
    """Apply a fill as the session does: new pixels in the rectangle, its hole cleared."""
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    assert doc.apply_patch((x, y), pixels, np.ones((h, w), bool), "Apply fill")


def _crashed_work(qtbot, tmp_path, root):
    """A copy of work on a photo, left by a window that died: a hole, a don't-copy-from layer, two
    applied fills, the second undone (redo history). Returns (photo path, the document)."""
    from inpaint_gui.core.image.io import load_photo
    from inpaint_gui.gui.document import Document, DocumentHolder

    path = write_photo(tmp_path / "face.png")
    loaded = load_photo(path)
    doc = Document(loaded.image, path=path, photo=loaded)
    holder = DocumentHolder()
    keeper = RecoveryKeeper(holder, _Files(), root=root, delay_ms=0)
    holder.set(doc)
    hole = np.zeros(doc.mask.shape, bool)
    hole[10:30, 20:50] = True
    doc.set_mask(hole, "Brush")
    _fill(doc, 20, 10, 30, 10, 1)
    exclude = np.zeros_like(hole)
    exclude[60:80, 5:40] = True
    doc.set_mask(exclude, "Don't copy from", layer="exclude")
    _fill(doc, 20, 20, 30, 10, 2)
    doc.undo()
    qtbot.waitUntil(lambda: keeper.up_to_date, timeout=10000)
    keeper.shutdown(clean=False)  # as a crash: the copy and the folder stay, the lock goes with the process
    return path, doc


@pytest.fixture
def window(make_window, qsettings):
    w = make_window()
    w.recovery.delay_ms = 0
    return w


def test_work_is_kept_in_the_background_and_saving_or_closing_removes_it(qtbot, window, tmp_path, monkeypatch):
    w = window
    doc = open_photo(qtbot, w, write_photo(tmp_path / "p.png"))
    threads = []
    real = core.write
    monkeypatch.setattr(core, "write", lambda *a, **k: (threads.append(threading.current_thread()), real(*a, **k))[1])
    hole = np.zeros(doc.mask.shape, bool)
    hole[20:40, 30:60] = True
    with qtbot.waitSignal(w.recovery.written, timeout=10000) as kept:
        doc.set_mask(hole, "Brush")
    folder = kept.args[0]
    assert folder.parent == tmp_path / "recovery" and threads and threading.main_thread() not in threads
    np.testing.assert_array_equal(core.read(folder).mask, hole)
    _fill(doc, 30, 20, 30, 20, 1)
    qtbot.waitUntil(lambda: w.recovery.up_to_date, timeout=10000)
    got = core.read(folder)
    assert (len(got.fills), got.applied, got.mask) == (1, 1, None)  # the fill cleared the hole
    assert not any(p.suffix == ".png" and p.name.startswith("p") for p in folder.iterdir())  # no photo copy
    # saving the photo removes the copy; the next change keeps one again
    with qtbot.waitSignal(w.files.done, timeout=10000):
        assert w.files.write(tmp_path / "out.png")
    qtbot.waitUntil(lambda: not (folder / core.MANIFEST).exists(), timeout=10000)
    with qtbot.waitSignal(w.recovery.written, timeout=10000):
        doc.set_mask(hole, "Brush")
    assert core.summary(folder).fills == 1
    # undoing everything leaves nothing worth keeping
    while doc.undo_stack.can_undo():
        doc.undo()
    qtbot.waitUntil(lambda: not (folder / core.MANIFEST).exists(), timeout=10000)
    doc.redo()
    qtbot.waitUntil(lambda: w.recovery.up_to_date, timeout=10000)
    w.close()  # a clean close (the unsaved-changes question answered): nothing is left
    assert not folder.exists()


def test_the_work_comes_back_with_its_layers_and_undo_history(qtbot, window, tmp_path, dlg):
    path, crashed = _crashed_work(qtbot, tmp_path, tmp_path / "recovery")
    (folder,) = (tmp_path / "recovery").iterdir()
    w = window
    dlg.choose_answer = "recover"
    assert w.recovery.offer()
    ((_title, text, informative),) = dlg.choices
    assert text.startswith("Recover the work on face.png from today at ") and "1 applied fill" in informative
    qtbot.waitUntil(lambda: w.doc is not None and len(w.doc.undo_stack.commands) == 2, timeout=10000)
    doc = w.doc
    assert doc.path == path and doc.is_modified() and w.recovery.folder == folder
    for name in ("image", "mask", "exclude"):
        np.testing.assert_array_equal(getattr(doc, name), getattr(crashed, name), err_msg=name)
    assert doc.undo_stack.undo_label() == "Apply fill" and doc.undo_stack.redo_label() == "Apply fill"
    exclude = crashed.exclude.copy()
    # the undo history of the fills, as before the crash; the layers' own steps are not in it
    # (the crashed document undoes "Don't copy from" before reaching the first fill)
    for step, crashed_steps in (("redo", ["redo"]), ("undo", ["undo"]), ("undo", ["undo", "undo"])):
        getattr(doc, step)()
        for s in crashed_steps:
            getattr(crashed, s)()
        np.testing.assert_array_equal(doc.image, crashed.image, err_msg=step)
        np.testing.assert_array_equal(doc.mask, crashed.mask, err_msg=step)  # the fill's hole comes back
    np.testing.assert_array_equal(doc.image, photo())  # back to the photo as loaded
    np.testing.assert_array_equal(doc.exclude, exclude)
    assert not doc.undo_stack.can_undo()  # brush strokes are in the layers, not undo steps
    w.close()
    assert not folder.exists()


@pytest.mark.parametrize("after_the_save", ["fill", "undo past it"])
def test_work_after_overwriting_the_original_comes_back(qtbot, window, make_window, tmp_path, dlg, after_the_save):
    """Saved over the photo's own file: the file holds the first fill, so the copy starts there
    (a fill undone past the save comes back as pixels, not as an undo step)."""
    w = window
    path = write_photo(tmp_path / "p.png")
    doc = open_photo(qtbot, w, path)
    _fill(doc, 10, 10, 20, 20, 1)
    dlg.confirm_answer = True  # "Overwrite the original?"
    with qtbot.waitSignal(w.files.done, timeout=10000):
        assert w.files.write(path)
    if after_the_save == "fill":
        _fill(doc, 40, 30, 20, 20, 2)
    else:
        doc.undo()
    qtbot.waitUntil(lambda: w.recovery.up_to_date, timeout=10000)
    w.recovery.shutdown(clean=False)  # as a crash
    image = doc.image.copy()
    dlg.choose_answer = "recover"
    other = make_window()
    assert other.recovery.offer()
    qtbot.waitUntil(lambda: other.doc is not None and other.doc.is_modified(), timeout=10000)
    np.testing.assert_array_equal(other.doc.image, image)
    if after_the_save == "fill":
        assert len(other.doc.undo_stack.commands) == 1
        other.doc.undo()
        from inpaint_gui.core.image.io import load_photo

        np.testing.assert_array_equal(other.doc.image, load_photo(path).image)  # the file: the first fill in it
        assert not np.array_equal(other.doc.image, photo())
    else:
        np.testing.assert_array_equal(image, photo())
        assert not other.doc.undo_stack.can_undo()


def test_fills_the_history_dropped_come_back_as_pixels(qtbot, window, make_window, tmp_path, dlg):
    """Past the undo budget the oldest fill leaves the history; the copy keeps its pixels."""
    w = window
    doc = open_photo(qtbot, w, write_photo(tmp_path / "p.png"))
    doc.undo_stack.max_steps = 2
    for i, (x, y) in enumerate([(5, 5), (40, 10), (70, 40)]):
        _fill(doc, x, y, 20, 20, i)
    assert doc.undo_stack.base_image_key != 0  # the first fill was dropped
    qtbot.waitUntil(lambda: w.recovery.up_to_date, timeout=10000)
    assert len(list(w.recovery.folder.glob("base-*.npz"))) == 1
    w.recovery.shutdown(clean=False)  # as a crash
    dlg.choose_answer = "recover"
    other = make_window()
    assert other.recovery.offer()
    qtbot.waitUntil(lambda: other.doc is not None and len(other.doc.undo_stack.commands) == 2, timeout=10000)
    np.testing.assert_array_equal(other.doc.image, doc.image)
    for d in (doc, other.doc):
        d.undo()
        d.undo()
    np.testing.assert_array_equal(other.doc.image, doc.image)  # the first fill stays: it was not undoable
    assert other.doc.is_modified()


def test_a_photo_changed_since_is_told_and_nothing_is_opened(qtbot, window, tmp_path, dlg):
    from inpaint_gui.core.image.io import save_photo

    path, _crashed = _crashed_work(qtbot, tmp_path, tmp_path / "recovery")
    (folder,) = (tmp_path / "recovery").iterdir()
    save_photo(path, 255 - photo())  # edited elsewhere meanwhile
    w = window
    assert not w.recovery.offer()  # dlg answers with Escape: keep it for later
    ((_title, text, _informative),) = dlg.choices
    assert "cannot be recovered: face.png has changed on disk since" in text
    assert w.doc is None and (folder / core.MANIFEST).exists()
    dlg.choose_answer = "discard"
    assert not w.recovery.offer() and not folder.exists()


@pytest.mark.parametrize("answer", ["discard", "later"])
def test_declining_removes_the_copy_and_not_now_keeps_it(qtbot, window, tmp_path, dlg, answer):
    _crashed_work(qtbot, tmp_path, tmp_path / "recovery")
    (folder,) = (tmp_path / "recovery").iterdir()
    dlg.choose_answer = answer
    assert not window.recovery.offer() and window.doc is None
    assert (folder / core.MANIFEST).exists() == (answer == "later")


def test_a_damaged_copy_is_said_and_a_running_windows_copy_is_not_offered(qtbot, window, tmp_path, dlg, make_window):
    _crashed_work(qtbot, tmp_path, tmp_path / "recovery")
    (folder,) = (tmp_path / "recovery").iterdir()
    fill = next(folder.glob("fill-*.npz"))
    fill.write_bytes(fill.read_bytes()[:-20])
    dlg.choose_answer = "recover"
    assert window.recovery.offer()
    qtbot.waitUntil(lambda: bool(dlg.errors), timeout=10000)
    ((title, text),) = dlg.errors
    assert title == "Cannot recover" and "is damaged" in text and window.doc is None
    assert (folder / core.MANIFEST).exists()  # kept: nothing is deleted that could not be read
    # a window that is running keeps its copy to itself
    other = make_window()
    other.recovery.delay_ms = 0
    doc = open_photo(qtbot, other, write_photo(tmp_path / "q.png"))
    with qtbot.waitSignal(other.recovery.written, timeout=10000):
        doc.set_mask(np.ones(doc.mask.shape, bool), "Brush")
    dlg.choices.clear()
    dlg.choose_answer = "discard"
    window.recovery.offer()
    assert len(dlg.choices) == 1 and not folder.exists()  # the damaged one; not the running window's
    assert (other.recovery.folder / core.MANIFEST).exists()


def test_when_says_the_day():
    import time

    now = time.mktime((2025, 12, 6, 15, 0, 0, 0, 0, -1))
    assert when(now - 3600, now) == "today at 14:00"
    assert when(now - 86400, now) == "yesterday at 15:00"
    assert when(now - 5 * 86400, now) == "on 2025-12-01 at 15:00"
