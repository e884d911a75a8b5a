"""Every dialog the app shows goes through these functions (tests replace them).

Error and information boxes are window-modal but non-blocking (``open()``), so a dialog
raised from a signal handler never starts a nested event loop. Questions block (``exec()``)
because the caller needs the answer.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QFileDialog, QInputDialog, QMessageBox, QWidget

log = logging.getLogger(__name__)

_open_boxes: list[QMessageBox] = []  # keep non-blocking boxes alive until closed


def _box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str, details: str | None) -> QMessageBox:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setWindowModality(Qt.WindowModality.WindowModal if parent else Qt.WindowModality.ApplicationModal)
    _open_boxes.append(box)
    box.finished.connect(lambda _r, b=box: _open_boxes.remove(b) if b in _open_boxes else None)
    box.open()
    return box


def error(parent: QWidget | None, title: str, text: str, details: str | None = None) -> None:
    log.warning("%s: %s", title, text)
    _box(parent, QMessageBox.Icon.Critical, title, text, details)


def info(parent: QWidget | None, title: str, text: str) -> None:
    _box(parent, QMessageBox.Icon.Information, title, text, None)


def ask_unsaved(parent: QWidget | None, name: str) -> str:
    """ "save", "discard" or "cancel" for a photo with unsaved changes."""
    box = QMessageBox(
        QMessageBox.Icon.Warning, "Unsaved changes", f"{name} has changes that are not saved.", parent=parent
    )
    box.setInformativeText("Save them before going on?")
    box.setStandardButtons(
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return "save"
    if answer == QMessageBox.StandardButton.Discard:
        return "discard"
    return "cancel"


def confirm(parent: QWidget | None, title: str, text: str, ok_text: str = "OK") -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    ok = box.addButton(ok_text, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is ok


def choose(
    parent: QWidget | None,
    title: str,
    text: str,
    informative: str,
    choices: list[tuple[str, str]],
    escape: str | None = None,
) -> str:
    """The key of the choice (key, button text) the user pressed: the first is the default;
    ``escape`` (default: the last) is what Escape or closing the box means."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setInformativeText(informative)
    buttons = {box.addButton(label, QMessageBox.ButtonRole.ActionRole): key for key, label in choices}
    escape = escape or choices[-1][0]
    box.setDefaultButton(next(iter(buttons)))
    box.setEscapeButton(next(b for b, key in buttons.items() if key == escape))
    box.exec()
    return buttons.get(box.clickedButton(), escape)


def open_file(parent: QWidget | None, caption: str, directory: str, filters: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, caption, directory, filters)
    return path or None


def open_dir(parent: QWidget | None, caption: str, directory: str) -> str | None:
    path = QFileDialog.getExistingDirectory(parent, caption, directory)
    return path or None


def save_file(parent: QWidget | None, caption: str, path: str, filters: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, caption, path, filters)
    return path or None


def get_int(parent: QWidget | None, title: str, label: str, value: int, lo: int, hi: int) -> int | None:
    v, ok = QInputDialog.getInt(parent, title, label, value, lo, hi)
    return int(v) if ok else None


def pick_color(parent: QWidget | None, title: str, initial: QColor) -> QColor | None:
    col = QColorDialog.getColor(initial, parent, title)
    return QColor(col.red(), col.green(), col.blue()) if col.isValid() else None
