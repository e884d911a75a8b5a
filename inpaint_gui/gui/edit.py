"""Edit and mask actions: undo/redo, clear/invert/grow the hole, clear "don't copy from", the overlay colour.

:class:`EditOps` gets the document holder, the canvas (to end a stroke before an undo and
to recolour the overlay), QSettings and the widget its dialogs belong to.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from inpaint_gui.gui import dialogs
from inpaint_gui.gui.document import DocumentHolder
from inpaint_gui.gui.maskops import grow


class EditOps:
    def __init__(
        self,
        docs: DocumentHolder,
        canvas,
        qsettings: QSettings,
        dialog_parent: QWidget | None,
        may_change_photo: Callable[[], bool] = lambda: True,
    ):
        self.docs = docs
        self.canvas = canvas
        self.qs = qsettings
        self.parent = dialog_parent
        self.may_change_photo = may_change_photo  # False while a fill is being applied

    def undo(self) -> None:
        doc = self.docs.doc
        if doc is not None and self.may_change_photo():
            self.canvas.tools.abort()
            doc.undo()

    def redo(self) -> None:
        doc = self.docs.doc
        if doc is not None and self.may_change_photo():
            self.canvas.tools.abort()
            doc.redo()

    def clear_mask(self) -> None:
        doc = self.docs.doc
        if doc is not None:
            doc.set_mask(doc.mask & False, "Clear mask")

    def clear_exclude(self) -> None:
        doc = self.docs.doc
        if doc is not None:
            doc.set_mask(doc.exclude & False, "Clear don't-copy-from", layer="exclude")

    def invert_mask(self) -> None:
        doc = self.docs.doc
        if doc is not None:
            doc.set_mask(~doc.mask, "Invert mask")

    def grow_mask(self) -> None:
        doc = self.docs.doc
        if doc is None:
            return
        n = dialogs.get_int(
            self.parent,
            "Grow hole",
            "Grow the hole by (pixels; negative shrinks):",
            int(self.qs.value("grow_pixels", 4)),
            -500,
            500,
        )
        if n is None or n == 0:
            return
        self.qs.setValue("grow_pixels", n)
        doc.set_mask(grow(doc.mask, n), f"Grow hole by {n}" if n > 0 else f"Shrink hole by {-n}")

    def pick_overlay_colour(self) -> None:
        col = dialogs.pick_color(self.parent, "Overlay colour", self.canvas.overlay_color)
        if col is not None:
            self.canvas.set_overlay_color(col)
            self.qs.setValue("overlay_color", col.name())
