"""A memory-bounded undo stack whose commands store only the changed region.

No Qt here: commands act on the numpy arrays of a :class:`~inpaint_gui.gui.document.Document`
(``image`` uint8 (H, W, 3); the mask layers ``mask``, the hole, and ``exclude``, "don't copy
from", bool (H, W) each). Rectangles are ``(x0, y0, x1, y1)`` in
full-resolution pixels, end exclusive.

- :class:`MaskDiff` keeps the XOR of before and after inside a rectangle of one mask layer,
  bit-packed (1 bit per pixel), so undo and redo are the same operation.
- :class:`PixelPatch` keeps the before and after pixels of a rectangle of the photo.
- :class:`Compound` groups several commands into one step (e.g. an applied fill, which
  changes the photo and clears the filled hole).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

Rect = tuple[int, int, int, int]  # (x0, y0, x1, y1), end exclusive

_ids = itertools.count(1)


LAYERS = ("mask", "exclude")  # the mask layers a MaskDiff may change: the hole, "don't copy from"


class Target(Protocol):
    image: np.ndarray  # uint8 (H, W, 3)
    mask: np.ndarray  # bool (H, W)
    exclude: np.ndarray  # bool (H, W)


def union_rect(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def bbox(mask: np.ndarray) -> Rect | None:
    """Bounding rectangle of the True pixels of a 2-D bool array, or None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


class Command:
    """One undoable step. ``undo``/``redo`` return the rectangles they changed."""

    label: str = ""
    changes_image: bool = False

    def __init__(self) -> None:
        self.uid = next(_ids)

    @property
    def nbytes(self) -> int:
        raise NotImplementedError

    def undo(self, target: Target) -> list[tuple[str, Rect]]:
        raise NotImplementedError

    def redo(self, target: Target) -> list[tuple[str, Rect]]:
        raise NotImplementedError


class MaskDiff(Command):
    """A change of mask layer ``layer`` stored as the packed XOR of before and after inside ``rect``."""

    def __init__(self, label: str, rect: Rect, before: np.ndarray, after: np.ndarray, layer: str = "mask"):
        super().__init__()
        if layer not in LAYERS:
            raise ValueError(f"unknown mask layer {layer!r}")
        self.label = label
        self.rect = rect
        self.layer = layer
        self.shape = before.shape  # (h, w) of the rectangle
        self.bits = np.packbits(np.logical_xor(before, after), axis=None)  # uint8 (ceil(h*w/8),)

    @classmethod
    def from_masks(cls, label: str, before: np.ndarray, after: np.ndarray, layer: str = "mask") -> MaskDiff | None:
        """Diff of two whole masks, cropped to where they differ; None when equal."""
        rect = bbox(before != after)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        return cls(label, rect, before[y0:y1, x0:x1], after[y0:y1, x0:x1], layer)

    @classmethod
    def from_bits(
        cls, label: str, rect: Rect, shape: tuple[int, int], bits: np.ndarray, layer: str = "mask"
    ) -> MaskDiff:
        """The step whose packed XOR ``bits`` (of a ``shape`` rectangle) are already known (a
        recovered fill)."""
        cmd = cls(label, rect, np.zeros((0, 0), bool), np.zeros((0, 0), bool), layer)
        cmd.shape, cmd.bits = (int(shape[0]), int(shape[1])), np.array(bits, np.uint8)
        return cmd

    @property
    def nbytes(self) -> int:
        return int(self.bits.nbytes) + 64

    def _flip(self, target: Target) -> list[tuple[str, Rect]]:
        x0, y0, x1, y1 = self.rect
        h, w = self.shape
        xor = np.unpackbits(self.bits, count=h * w).reshape(h, w).astype(bool)
        getattr(target, self.layer)[y0:y1, x0:x1] ^= xor
        return [(self.layer, self.rect)]

    undo = _flip
    redo = _flip


class PixelPatch(Command):
    """A change of the photo's pixels inside ``rect`` (before and after copies)."""

    changes_image = True

    def __init__(self, label: str, rect: Rect, before: np.ndarray, after: np.ndarray):
        super().__init__()
        self.label = label
        self.rect = rect
        self.before = np.ascontiguousarray(before).copy()  # uint8 (h, w, 3)
        self.after = np.ascontiguousarray(after).copy()

    @property
    def nbytes(self) -> int:
        return int(self.before.nbytes + self.after.nbytes) + 64

    def undo(self, target: Target) -> list[tuple[str, Rect]]:
        x0, y0, x1, y1 = self.rect
        target.image[y0:y1, x0:x1] = self.before
        return [("image", self.rect)]

    def redo(self, target: Target) -> list[tuple[str, Rect]]:
        x0, y0, x1, y1 = self.rect
        target.image[y0:y1, x0:x1] = self.after
        return [("image", self.rect)]


class Compound(Command):
    """Several commands applied in order as one step."""

    def __init__(self, label: str, parts: list[Command]):
        super().__init__()
        self.label = label
        self.parts = list(parts)
        self.changes_image = any(p.changes_image for p in self.parts)

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.parts)

    def undo(self, target: Target) -> list[tuple[str, Rect]]:
        out: list[tuple[str, Rect]] = []
        for p in reversed(self.parts):
            out += p.undo(target)
        return out

    def redo(self, target: Target) -> list[tuple[str, Rect]]:
        out: list[tuple[str, Rect]] = []
        for p in self.parts:
            out += p.redo(target)
        return out


@dataclass
class UndoStack:
    """Linear history with a byte budget: the oldest steps are dropped to stay under it.

    ``image_key()`` names the current state of the photo's pixels (the uid of the last
    pixel-changing command in effect), so "unsaved changes" survives undo back to the
    saved state and is not fooled by mask-only steps.
    """

    max_bytes: int = 256 * 1024 * 1024
    max_steps: int = 500
    commands: list[Command] = field(default_factory=list)
    index: int = 0  # commands[:index] are in effect
    base_image_key: int = 0  # image key of the state before commands[0]

    def push(self, cmd: Command) -> None:
        """Record a command whose effect has already been applied to the target."""
        del self.commands[self.index :]
        self.commands.append(cmd)
        self.index = len(self.commands)
        self._trim()

    def _trim(self) -> None:
        while len(self.commands) > 1 and (len(self.commands) > self.max_steps or self.nbytes > self.max_bytes):
            dropped = self.commands.pop(0)
            self.index -= 1
            if dropped.changes_image:
                self.base_image_key = dropped.uid

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.commands)

    def can_undo(self) -> bool:
        return self.index > 0

    def can_redo(self) -> bool:
        return self.index < len(self.commands)

    def undo_label(self) -> str:
        return self.commands[self.index - 1].label if self.can_undo() else ""

    def redo_label(self) -> str:
        return self.commands[self.index].label if self.can_redo() else ""

    def undo(self, target: Target) -> list[tuple[str, Rect]]:
        if not self.can_undo():
            return []
        self.index -= 1
        return self.commands[self.index].undo(target)

    def redo(self, target: Target) -> list[tuple[str, Rect]]:
        if not self.can_redo():
            return []
        cmd = self.commands[self.index]
        self.index += 1
        return cmd.redo(target)

    def clear(self) -> None:
        self.commands.clear()
        self.index = 0
        self.base_image_key = next(_ids)

    def image_key(self) -> int:
        for cmd in reversed(self.commands[: self.index]):
            if cmd.changes_image:
                return cmd.uid
        return self.base_image_key
