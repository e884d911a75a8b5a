"""The open photo: pixels, hole mask, "don't copy from" mask, file metadata and the undo history.

The two mask layers are bool (H, W): ``mask`` (True = hole, to fill) and ``exclude`` (True =
never copy from here: the scene engine's sources avoid it). Both are edited in place by the
canvas tools and recorded as :class:`~inpaint_gui.gui.undo.MaskDiff` steps.

All edits go through this object so that the canvas caches, the undo stack and the
"unsaved changes" state stay consistent. Signals carry rectangles as ``(x0, y0, x1, y1)``
tuples (end exclusive) in full-resolution pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from inpaint_gui.gui.undo import LAYERS, Command, Compound, MaskDiff, PixelPatch, Rect, UndoStack, bbox


class Document(QObject):
    image_changed = Signal(object)  # Rect
    mask_changed = Signal(object)  # Rect
    exclude_changed = Signal(object)  # Rect
    history_changed = Signal()  # undo/redo availability, labels, modified state

    def __init__(
        self,
        image: np.ndarray,
        mask: np.ndarray | None = None,
        *,
        path: Path | None = None,
        alpha: np.ndarray | None = None,
        icc_profile: bytes | None = None,
        exif: Any = None,
        format: str | None = None,
        dpi: tuple[float, float] | None = None,
        photo: Any = None,
        undo_bytes: int = 256 * 1024 * 1024,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
        self.image = np.ascontiguousarray(image).copy()  # uint8 (H, W, 3), edited in place
        h, w = self.image.shape[:2]
        self.mask = np.zeros((h, w), bool) if mask is None else np.ascontiguousarray(mask, dtype=bool).copy()
        if self.mask.shape != (h, w):
            raise ValueError(f"mask shape {self.mask.shape} does not match the photo {(h, w)}")
        self.exclude = np.zeros((h, w), bool)  # "don't copy from"
        self.path = Path(path) if path is not None else None
        self.alpha = alpha
        self.icc_profile = icc_profile
        self.exif = exif
        self.format = format
        self.dpi = dpi
        self.photo = photo  # the loaded core Photo: its mode, depth and lossless-ness for saving
        self.save_path: Path | None = None  # where Save writes, once chosen or used
        self.undo_stack = UndoStack(max_bytes=undo_bytes)
        self._saved_key = self.undo_stack.image_key()

    # -- properties -----------------------------------------------------------------
    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def is_modified(self) -> bool:
        """True when the photo's pixels differ from the last saved (or loaded) state."""
        return self.undo_stack.image_key() != self._saved_key

    def image_key(self) -> int:
        """Names the current state of the photo's pixels (see :meth:`UndoStack.image_key`)."""
        return self.undo_stack.image_key()

    def mark_saved(self, path: Path, key: int | None = None) -> None:
        """The pixels as of state ``key`` (default: now) were saved to ``path``."""
        self.save_path = Path(path)
        self._saved_key = self.undo_stack.image_key() if key is None else key
        self.history_changed.emit()

    # -- edits ------------------------------------------------------------------------
    def push(self, cmd: Command | None, changed: list[tuple[str, Rect]] | None = None) -> None:
        """Record an already-applied command and announce what it changed."""
        if cmd is None:
            return
        self.undo_stack.push(cmd)
        self._announce(changed if changed is not None else _rects_of(cmd))
        self.history_changed.emit()

    def set_mask(self, new_mask: np.ndarray, label: str, layer: str = "mask") -> bool:
        """Replace the hole (or the mask layer ``layer``: "exclude") as one undo step; returns
        False when nothing changed."""
        current = getattr(self, layer) if layer in LAYERS else None
        if current is None:
            raise ValueError(f"unknown mask layer {layer!r}")
        new_mask = np.asarray(new_mask, dtype=bool)
        if new_mask.shape != current.shape:
            raise ValueError(f"mask shape {new_mask.shape} does not match the photo {current.shape}")
        cmd = MaskDiff.from_masks(label, current, new_mask, layer)
        if cmd is None:
            return False
        x0, y0, x1, y1 = cmd.rect
        current[y0:y1, x0:x1] = new_mask[y0:y1, x0:x1]
        self.push(cmd)
        return True

    def apply_patch(
        self, origin: tuple[int, int], pixels: np.ndarray, region: np.ndarray, label: str = "Apply fill"
    ) -> bool:
        """Write ``pixels`` (uint8 (h, w, 3)) at ``origin`` (x, y) and clear the hole in ``region``.

        ``region`` is bool (h, w): the hole pixels that were filled. Only pixels that differ are
        stored for undo. One undo step; returns False if neither pixels nor mask changed.
        """
        x0, y0 = int(origin[0]), int(origin[1])
        h, w = pixels.shape[:2]
        if x0 < 0 or y0 < 0 or x0 + w > self.width or y0 + h > self.height or region.shape != (h, w):
            raise ValueError("the filled region does not fit the open photo")
        parts: list[Command] = []
        current = self.image[y0 : y0 + h, x0 : x0 + w]
        rect = bbox(np.any(pixels != current, axis=2))
        if rect is not None:
            rx0, ry0, rx1, ry1 = rect
            full = (x0 + rx0, y0 + ry0, x0 + rx1, y0 + ry1)
            after = pixels[ry0:ry1, rx0:rx1]
            parts.append(PixelPatch(label, full, current[ry0:ry1, rx0:rx1], after))
            current[ry0:ry1, rx0:rx1] = after
        mask_crop = self.mask[y0 : y0 + h, x0 : x0 + w]
        new_crop = mask_crop & ~region
        mcmd = MaskDiff.from_masks(label, mask_crop, new_crop)
        if mcmd is not None:
            mx0, my0, mx1, my1 = mcmd.rect
            mcmd.rect = (x0 + mx0, y0 + my0, x0 + mx1, y0 + my1)
            mask_crop[my0:my1, mx0:mx1] = new_crop[my0:my1, mx0:mx1]
            parts.append(mcmd)
        if not parts:
            return False
        self.push(Compound(label, parts))
        return True

    def last_step(self) -> int | None:
        """The id of the history step in effect last (the one Undo would take back), or None."""
        stack = self.undo_stack
        return stack.commands[stack.index - 1].uid if stack.can_undo() else None

    def redoable_steps(self) -> set[int]:
        """The ids of the history steps undone and not yet redone."""
        stack = self.undo_stack
        return {c.uid for c in stack.commands[stack.index :]}

    def undo(self) -> None:
        changed = self.undo_stack.undo(self)
        if changed:
            self._announce(changed)
            self.history_changed.emit()

    def redo(self) -> None:
        changed = self.undo_stack.redo(self)
        if changed:
            self._announce(changed)
            self.history_changed.emit()

    def _announce(self, changed: list[tuple[str, Rect]]) -> None:
        signals = {"image": self.image_changed, "mask": self.mask_changed, "exclude": self.exclude_changed}
        for kind, rect in changed:
            signals[kind].emit(rect)


def _rects_of(cmd: Command) -> list[tuple[str, Rect]]:
    if isinstance(cmd, Compound):
        out: list[tuple[str, Rect]] = []
        for p in cmd.parts:
            out += _rects_of(p)
        return out
    if isinstance(cmd, PixelPatch):
        return [("image", cmd.rect)]
    if isinstance(cmd, MaskDiff):
        return [(cmd.layer, cmd.rect)]
    return []


class DocumentHolder(QObject):
    """The open document (or None), shared by the window's parts; ``changed`` fires on a new one."""

    changed = Signal(object)  # Document | None

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._doc: Document | None = None

    @property
    def doc(self) -> Document | None:
        return self._doc

    def set(self, doc: Document | None) -> None:
        if doc is self._doc:
            return
        self._doc = doc
        self.changed.emit(doc)
