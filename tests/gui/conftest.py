"""GUI test helpers: real mouse drags on a widget, small canvases."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest


def drag(widget, points, button=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at the first point, move through the others and release at the last (real events)."""
    pts = [QPoint(round(p[0]), round(p[1])) if not isinstance(p, QPoint) else p for p in points]
    QTest.mouseMove(widget, pts[0])
    QTest.mousePress(widget, button, modifiers, pts[0])
    for p in pts[1:]:
        QTest.mouseMove(widget, p)
    QTest.mouseRelease(widget, button, modifiers, pts[-1])


def view_point(canvas, x: float, y: float) -> QPoint:
    """The viewport point over image point (x, y)."""
    v = canvas.to_view(QPointF(x, y))
    return QPoint(round(v.x()), round(v.y()))


def photo(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth test photo with some texture, uint8 (h, w, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 / max(1, w - 1), yy * 255 / max(1, h - 1), (xx + yy) % 64 * 4], axis=-1)
    img = img + rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def shown_canvas(qtbot, width: int, height: int, image: np.ndarray):
    """A Canvas of ``width`` x ``height`` on screen, holding ``image``."""
    from inpaint_gui.gui.canvas import Canvas
    from inpaint_gui.gui.document import Document

    c = Canvas()
    qtbot.addWidget(c)
    c.resize(width, height)
    c.show()
    qtbot.waitExposed(c)
    c.set_document(Document(image))
    return c


@pytest.fixture
def canvas(qtbot):
    """A shown 400x300 canvas holding a 128x96 photo at 100% zoom."""
    c = shown_canvas(qtbot, 400, 300, photo())
    c.set_zoom(1.0)
    c.fit_mode = False
    return c


class DialogRecorder:
    """Stands in for :mod:`inpaint_gui.gui.dialogs`: records messages, answers questions."""

    def __init__(self):
        self.errors: list[tuple[str, str]] = []
        self.infos: list[tuple[str, str]] = []
        self.questions: list[str] = []
        self.unsaved_answer = "discard"
        self.confirm_answer = False
        self.open_path: str | None = None
        self.save_path: str | None = None
        self.int_answer: int | None = None
        self.color_answer = None
        self.choices: list[tuple[str, str, str]] = []  # (title, text, informative) of dialogs.choose
        self.choose_answer: str | None = None  # None: what Escape means

    def install(self, monkeypatch) -> None:
        from inpaint_gui.gui import dialogs

        monkeypatch.setattr(
            dialogs, "error", lambda parent, title, text, details=None: self.errors.append((title, text))
        )
        monkeypatch.setattr(dialogs, "info", lambda parent, title, text: self.infos.append((title, text)))

        def ask_unsaved(parent, name):
            self.questions.append(f"unsaved {name}")
            return self.unsaved_answer

        def confirm(parent, title, text, ok_text="OK"):
            self.questions.append(f"confirm {title}")
            return self.confirm_answer

        def get_int(parent, title, label, value, lo, hi):
            self.questions.append(f"int {title}")
            return self.int_answer

        def choose(parent, title, text, informative, choices, escape=None):
            self.choices.append((title, text, informative))
            keys = [k for k, _label in choices]
            return self.choose_answer if self.choose_answer in keys else (escape or keys[-1])

        monkeypatch.setattr(dialogs, "ask_unsaved", ask_unsaved)
        monkeypatch.setattr(dialogs, "choose", choose)
        monkeypatch.setattr(dialogs, "confirm", confirm)
        monkeypatch.setattr(dialogs, "open_file", lambda *a: self.open_path)
        monkeypatch.setattr(dialogs, "save_file", lambda *a: self.save_path)
        monkeypatch.setattr(dialogs, "open_dir", lambda *a: self.open_path)
        monkeypatch.setattr(dialogs, "get_int", get_int)
        monkeypatch.setattr(dialogs, "pick_color", lambda parent, title, initial: self.color_answer)


@pytest.fixture(autouse=True)
def dlg(monkeypatch, tmp_path):
    """No real dialogs in GUI tests, and QSettings and recovery copies kept in a temporary folder."""
    from PySide6.QtCore import QSettings

    from inpaint_gui.gui.recovery import ENV_DIR

    monkeypatch.setenv(ENV_DIR, str(tmp_path / "recovery"))

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    rec = DialogRecorder()
    rec.install(monkeypatch)
    return rec


@pytest.fixture
def qsettings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, qsettings, tiny_model):
    """Factory for a shown main window using the tiny model and the face engine (``engine=None``:
    the default choice), closed by qtbot at the end."""
    from inpaint_gui.gui.main_window import MainWindow

    def make(model=tiny_model, engine="face"):
        w = MainWindow(model=model, qsettings=qsettings)
        qtbot.addWidget(w)
        if engine is not None:  # most tests are about the face engine's mechanics with the tiny model
            w.store.set_value("common", "engine", engine)
        w.resize(1000, 700)
        w.show()
        qtbot.waitExposed(w)
        if model is not None and not isinstance(model, str):
            qtbot.waitUntil(lambda: w.session.model is not None, timeout=10000)
        return w

    return make


def open_photo(qtbot, w, path, mask_path=None, ok=True):
    """Open a photo through the window's file job and wait for it (``ok``: expect success)."""
    with qtbot.waitSignal(w.files.done, timeout=10000) as blocker:
        assert w.open_photo(path, mask_path)
    assert blocker.args[1] == ok
    settle(qtbot, w)
    return w.doc


def settle(qtbot, w, timeout=10000):
    """Wait until no plan is pending or running (the frame shows the current plan)."""
    qtbot.waitUntil(lambda: not w.session.loading and not w.session.planning and not w.file_jobs.busy, timeout=timeout)


def configure(w, seed=None, device=None, **face):
    """Change the face engine's settings (and the seed / device) through the settings store.

    One fixed window unless ``framing`` is given: most GUI tests are about the mechanics."""
    from dataclasses import replace

    face.setdefault("framing", "fixed")
    s = w.store.settings
    common = s.common
    if seed is not None:
        common = replace(common, seed=seed)
    if device is not None:
        common = replace(common, device=device)
    w.store.set(replace(s, common=common, engines={**s.engines, "face": replace(s.of("face"), **face)}))


def write_photo(path, h=96, w=128, seed=0):
    from inpaint_gui.core.image.io import save_photo

    save_photo(path, photo(h, w, seed))
    return path
