"""A real crash: the app, in a child process, paints a hole, fills it with the scene engine,
applies the fill and paints more; it is killed with SIGKILL once its recovery copy is written;
the next start offers the work and brings back the same pixels, layers and undo history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from inpaint_gui.gui.recovery import ENV_DELAY, ENV_DIR
from tests.cli_helpers import REPO, wait_for
from tests.gui.conftest import photo, write_photo
from tests.tiny import save_tiny_model

pytestmark = [pytest.mark.gui, pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX")]

# The app as a user starts it (`inpaint-gui PHOTO --mask MASK --model DIR`), driven through its
# actions the way a user would: Inpaint, Apply, then more brushing. When the copy holds all of
# it, the state is written to OUT (for the comparison), and the process waits to be killed.
DRIVER = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from PySide6.QtCore import QTimer
    from inpaint_gui.gui import main_window

    photo, mask, model, out = sys.argv[1:5]
    state = {"step": 0}

    def drive(w):
        doc, step = w.doc, state["step"]
        if step == 0 and doc is not None and w.act_inpaint.isEnabled():
            w.act_inpaint.trigger()
            state["step"] = 1
        elif step == 1 and w.act_apply.isEnabled():
            w.act_apply.trigger()
            state["step"] = 2
        elif step == 2 and any(c.changes_image for c in doc.undo_stack.commands):
            more = np.zeros(doc.mask.shape, bool)
            more[70:80, 90:110] = True
            doc.set_mask(doc.mask | more, "Brush")
            avoid = np.zeros(doc.mask.shape, bool)
            avoid[:, :12] = True
            doc.set_mask(avoid, "Don't copy from", layer="exclude")
            state["step"] = 3
        elif step == 3 and w.recovery.up_to_date:
            fills = [c.label for c in doc.undo_stack.commands if c.changes_image]
            np.savez(out + ".tmp.npz", image=doc.image, mask=doc.mask, exclude=doc.exclude, fills=np.array(fills))
            os.replace(out + ".tmp.npz", out)  # the parent waits for this file, then kills
            state["step"] = 4
            return
        QTimer.singleShot(50, lambda: drive(w))

    init = main_window.MainWindow.__init__

    def start_driving(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.store.set_value("common", "engine", "scene")
        QTimer.singleShot(0, lambda: drive(self))

    main_window.MainWindow.__init__ = start_driving
    from inpaint_gui.cli import main

    sys.exit(main([photo, "--mask", mask, "--model", model]))
    """
)


def _state_of(window) -> dict | None:
    doc = window.doc
    if doc is None or not doc.undo_stack.commands:
        return None
    return {
        "image": doc.image.copy(),
        "mask": doc.mask.copy(),
        "exclude": doc.exclude.copy(),
        "fills": [c.label for c in doc.undo_stack.commands if c.changes_image],
        "modified": doc.is_modified(),
        "undone": _undo_all(doc),
    }


def _undo_all(doc) -> np.ndarray:
    while doc.undo_stack.can_undo():
        doc.undo()
    return doc.image.copy()


def test_work_killed_with_sigkill_comes_back_at_the_next_start(qapp, tmp_path, monkeypatch, dlg):
    from inpaint_gui.core.image.io import save_mask
    from inpaint_gui.gui.app import run_app
    from inpaint_gui.gui.main_window import MainWindow

    root = tmp_path / "recovery"  # the dlg fixture points the app here too
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    model = save_tiny_model(tmp_path / "tiny")
    path = write_photo(tmp_path / "photo.png")
    hole = np.zeros((96, 128), bool)
    hole[30:50, 40:70] = True
    save_mask(tmp_path / "mask.png", hole)
    (tmp_path / "driver.py").write_text(DRIVER)
    out = tmp_path / "before-the-kill.npz"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        ENV_DIR: str(root),
        ENV_DELAY: "100",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # the child's QSettings, not the user's
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "driver.py"), str(path), str(tmp_path / "mask.png"), str(model), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        wait_for(out.exists, proc, timeout=240)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    before = np.load(out)
    assert list(before["fills"]) == ["Apply fill"] and before["exclude"].any()
    assert not np.array_equal(before["image"], photo())  # the fill changed the photo
    (folder,) = root.iterdir()  # the dead window's copy, its lock left behind

    # the second start: no photo named; the copy is offered, recovered and shown
    dlg.choose_answer = "recover"
    seen: dict = {}

    def check():
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        state = _state_of(wins[0]) if wins else None
        if state is None:
            QTimer.singleShot(20, check)
            return
        seen.update(state, folder=wins[0].recovery.folder)
        wins[0].close()

    QTimer.singleShot(0, check)
    net = QTimer()
    net.setSingleShot(True)
    net.timeout.connect(lambda: [w.close() for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)])
    net.start(60000)
    try:
        assert run_app(None, None, str(model)) == 0
    finally:
        net.stop()
    ((_title, question, _informative),) = dlg.choices
    assert question.startswith("Recover the work on photo.png from today at")
    for name in ("image", "mask", "exclude"):
        np.testing.assert_array_equal(seen[name], before[name], err_msg=name)
    assert seen["fills"] == ["Apply fill"] and seen["modified"] and seen["folder"] == folder
    np.testing.assert_array_equal(seen["undone"], photo())  # Undo takes the fill back out
    assert not root.exists() or not any(root.iterdir())  # closed cleanly: the copy is gone
