"""Mouse and keyboard interaction of the canvas: brush, eraser, rectangle, window, pan.

- Brush (B) marks the hole, eraser (E) unmarks it; with the brush tool the right button
  erases. A stroke is one undo step.
- Don't copy from (D) paints the exclusion layer (``doc.exclude``) the same way: the scene
  engine copies nothing from it; the right button erases it.
- Shift+click with the brush draws a straight line from where the last stroke ended.
- Rectangle (R) marks a block; with Alt or the right button it unmarks it; Shift makes a square.
- Window (W): drag inside the model window to move it, a corner to resize it (it stays
  square), elsewhere to draw a new one.
- Space + drag or the middle button pans with any tool.

The handler works on a :class:`ToolHost` it is given (the canvas implements it); it knows
nothing else of the canvas.
"""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from inpaint_gui.gui.maskops import StrokeRecorder, clip_rect, fill_rect, paint_segment, segment_rect
from inpaint_gui.gui.undo import MaskDiff, Rect

HANDLE_PX = 8  # grab distance of window corners, in view pixels
BRUSHES = ("brush", "eraser", "exclude")  # the tools that paint round strokes
MIN_WINDOW = 16

Window = tuple[int, int, int]


class ToolHost(Protocol):
    """What the tools need of the widget they work in."""

    doc: Any  # the Document: ``mask``, ``exclude`` (bool (H, W), edited in place), ``width``, ``height``, ``push(cmd)``
    tool: str
    brush_size: int
    zoom: float

    @property
    def model_window(self) -> Window | None: ...

    def viewport(self) -> QWidget: ...

    def to_image(self, p: QPointF) -> QPointF: ...

    def to_view(self, p: QPointF) -> QPointF: ...

    def pan_by(self, dx: float, dy: float) -> None: ...

    def mask_edited(self, rect: Rect | None) -> None: ...

    def exclude_edited(self, rect: Rect | None) -> None: ...

    def window_view_rect(self, window: Window | None = None) -> QRectF | None: ...

    def set_model_window(self, window: Window | None, user: bool = False) -> None: ...

    def place_model_window(self, window: Window) -> None: ...


class ToolHandler:
    def __init__(self, host: ToolHost):
        self.c = host
        self.drag: str | None = None  # "paint", "rect", "pan", "win-move", "win-resize", "win-new"
        self.space = False
        self.last: QPointF | None = None  # last image point of a stroke / pan view point
        self.erase = False
        self.recorder: StrokeRecorder | None = None
        self.rect_start: QPointF | None = None
        self.rect_end: QPointF | None = None
        self.win_start: tuple[int, int, int] | None = None
        self.anchor: QPointF | None = None  # fixed corner while resizing (image coords)
        self.hover: QPointF | None = None
        self.stroke_end: QPointF | None = None  # where the last stroke ended (Shift+click continues)
        self.square = False  # Shift held while dragging a rectangle

    # -- cursor and hover --------------------------------------------------------------
    def cursor(self) -> QCursor:
        if self.drag == "pan":
            return QCursor(Qt.CursorShape.ClosedHandCursor)
        if self.space:
            return QCursor(Qt.CursorShape.OpenHandCursor)
        if self.c.tool in BRUSHES:
            return QCursor(Qt.CursorShape.CrossCursor)
        if self.c.tool == "window":
            return QCursor(Qt.CursorShape.SizeAllCursor)
        return QCursor(Qt.CursorShape.CrossCursor)

    def _refresh_cursor(self) -> None:
        self.c.viewport().setCursor(self.cursor())

    def _brush_view_rect(self, pos: QPointF | None) -> QRectF | None:
        if pos is None:
            return None
        r = self.c.brush_size * self.c.zoom / 2 + 3
        return QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r)

    def set_hover(self, pos: QPointF | None) -> None:
        for p in (self.hover, pos):
            r = self._brush_view_rect(p)
            if r is not None:
                self.c.viewport().update(r.toAlignedRect())
        self.hover = pos

    # -- mouse ---------------------------------------------------------------------
    def press(self, e) -> None:
        c = self.c
        pos = e.position()
        button = e.button()
        if c.doc is None:
            return
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self.space):
            self.drag = "pan"
            self.last = pos
            self._refresh_cursor()
            return
        if self.drag is not None or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        ip = c.to_image(pos)
        right = button == Qt.MouseButton.RightButton
        shift = bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if c.tool in BRUSHES:
            self.erase = c.tool == "eraser" or right
            self.drag = "paint"
            if c.tool == "exclude":
                label = "Erase don't-copy-from" if self.erase else "Don't copy from"
                self.recorder = StrokeRecorder(c.doc.exclude, label, "exclude")
            else:
                self.recorder = StrokeRecorder(c.doc.mask, "Erase" if self.erase else "Brush stroke")
            start = self.stroke_end if shift and self.stroke_end is not None else ip  # Shift: straight line
            self.last = ip
            self._segment(start, ip)
        elif c.tool == "rect":
            self.erase = right or bool(e.modifiers() & Qt.KeyboardModifier.AltModifier)
            self.drag = "rect"
            self.rect_start = self.rect_end = ip
        elif c.tool == "window" and not right:
            self._press_window(pos, ip)

    def move(self, e) -> None:
        c = self.c
        pos = e.position()
        self.set_hover(pos if c.tool in BRUSHES and not self.space else None)
        if self.drag == "pan" and self.last is not None:
            c.pan_by(pos.x() - self.last.x(), pos.y() - self.last.y())
            self.last = pos
        elif self.drag == "paint" and self.last is not None:
            ip = c.to_image(pos)
            self._segment(self.last, ip)
            self.last = ip
        elif self.drag == "rect":
            old = self._rect_view()
            self.square = bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.rect_end = c.to_image(pos)
            for r in (old, self._rect_view()):
                if r is not None:
                    c.viewport().update(r.toAlignedRect().adjusted(-3, -3, 3, 3))
        elif self.drag in ("win-move", "win-resize", "win-new"):
            self._drag_window(c.to_image(pos))

    def release(self, e) -> None:
        c = self.c
        if self.drag == "pan" and e.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self.drag = None
            self._refresh_cursor()
        elif self.drag == "paint" and e.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self.drag = None
            self.stroke_end = self.last
            rec, self.recorder = self.recorder, None
            if rec is not None and c.doc is not None:
                c.doc.push(rec.finish())
        elif self.drag == "rect":
            self.drag = None
            self.square = bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.rect_end = c.to_image(e.position())
            rect = self._rect_image()
            old = self._rect_view()
            self.rect_start = self.rect_end = None
            if old is not None:
                c.viewport().update(old.toAlignedRect().adjusted(-3, -3, 3, 3))
            if rect is not None and c.doc is not None:
                x0, y0, x1, y1 = rect
                before = c.doc.mask[y0:y1, x0:x1].copy()
                fill_rect(c.doc.mask, rect, not self.erase)
                after = c.doc.mask[y0:y1, x0:x1]
                if (before != after).any():
                    c.doc.push(MaskDiff("Erase rectangle" if self.erase else "Rectangle", rect, before, after))
        elif self.drag in ("win-move", "win-resize", "win-new"):
            self.drag = None
            window = c.model_window
            if window is not None and window != self.win_start:  # moved or resized by hand: keep it there
                c.place_model_window(window)

    def abort(self) -> None:
        """Finish any drag in progress (a stroke is kept and recorded)."""
        if self.drag == "paint" and self.recorder is not None and self.c.doc is not None:
            self.c.doc.push(self.recorder.finish())
        self.recorder = None
        self.drag = None
        self.rect_start = self.rect_end = None

    # -- painting ------------------------------------------------------------------
    def _segment(self, a: QPointF, b: QPointF) -> None:
        c = self.c
        assert c.doc is not None and self.recorder is not None
        radius = c.brush_size / 2
        p0, p1 = (a.x(), a.y()), (b.x(), b.y())
        rect = clip_rect(segment_rect(p0, p1, radius), c.doc.mask.shape)
        if rect is None:
            return
        self.recorder.touch(rect)
        changed = paint_segment(self.recorder.mask, p0, p1, radius, not self.erase)
        (c.exclude_edited if self.recorder.layer == "exclude" else c.mask_edited)(changed)

    # -- rectangle -------------------------------------------------------------------
    def _rect_image(self):
        if self.rect_start is None or self.rect_end is None or self.c.doc is None:
            return None
        a, b = self.rect_start, self.rect_end
        bx, by = b.x(), b.y()
        if self.square:  # Shift: a square with the drag's larger side
            side = max(abs(bx - a.x()), abs(by - a.y()))
            bx = a.x() + (side if bx >= a.x() else -side)
            by = a.y() + (side if by >= a.y() else -side)
        x0, x1 = sorted((a.x(), bx))
        y0, y1 = sorted((a.y(), by))
        rect = (round(x0), round(y0), round(x1), round(y1))
        return clip_rect(rect, self.c.doc.mask.shape)

    def _rect_view(self) -> QRectF | None:
        r = self._rect_image()
        if r is None:
            return None
        tl = self.c.to_view(QPointF(r[0], r[1]))
        br = self.c.to_view(QPointF(r[2], r[3]))
        return QRectF(tl, br)

    # -- model window ----------------------------------------------------------------
    def _press_window(self, pos: QPointF, ip: QPointF) -> None:
        c = self.c
        self.win_start = c.model_window
        r = c.window_view_rect(self.win_start) if self.win_start is not None else None
        self.last = ip
        if r is not None:
            corners = [r.topLeft(), r.topRight(), r.bottomLeft(), r.bottomRight()]
            opposite = [r.bottomRight(), r.bottomLeft(), r.topRight(), r.topLeft()]
            for corner, opp in zip(corners, opposite):
                if abs(pos.x() - corner.x()) <= HANDLE_PX and abs(pos.y() - corner.y()) <= HANDLE_PX:
                    self.drag = "win-resize"
                    self.anchor = c.to_image(opp)
                    return
            if r.contains(pos):
                self.drag = "win-move"
                return
        self.drag = "win-new"
        self.anchor = ip

    def _drag_window(self, ip: QPointF) -> None:
        c = self.c
        assert c.doc is not None
        limit = min(c.doc.width, c.doc.height)
        if self.drag == "win-move" and self.win_start is not None and self.last is not None:
            x, y, s = self.win_start
            nx = round(x + ip.x() - self.last.x())
            ny = round(y + ip.y() - self.last.y())
            c.set_model_window(_clamp_window((nx, ny, s), c.doc.width, c.doc.height), user=True)
        elif self.drag in ("win-resize", "win-new") and self.anchor is not None:
            ax, ay = self.anchor.x(), self.anchor.y()
            dx, dy = ip.x() - ax, ip.y() - ay
            size = round(max(abs(dx), abs(dy)))
            # room between the fixed corner and the photo's edges in the drag direction
            room_x = c.doc.width - ax if dx >= 0 else ax
            room_y = c.doc.height - ay if dy >= 0 else ay
            size = max(MIN_WINDOW, min(limit, size, round(room_x), round(room_y)))
            x = ax if dx >= 0 else ax - size
            y = ay if dy >= 0 else ay - size
            c.set_model_window(_clamp_window((round(x), round(y), size), c.doc.width, c.doc.height), user=True)

    # -- keys ------------------------------------------------------------------------
    def key_press(self, e) -> bool:
        if e.key() == Qt.Key.Key_Space:
            if not e.isAutoRepeat():
                self.space = True
                self.set_hover(None)
                self._refresh_cursor()
            return True
        return False

    def key_release(self, e) -> bool:
        if e.key() == Qt.Key.Key_Space:
            if not e.isAutoRepeat():
                self.space = False
                self._refresh_cursor()
            return True
        return False

    def focus_lost(self) -> None:
        if self.space:
            self.space = False
            self._refresh_cursor()

    # -- overlay drawn in view coordinates ---------------------------------------------
    def paint_overlay(self, p: QPainter) -> None:
        c = self.c
        r = self._rect_view() if self.drag == "rect" else None
        if r is not None:
            p.setBrush(QColor(255, 255, 255, 40) if not self.erase else QColor(0, 0, 0, 40))
            p.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
            p.drawRect(r)
        if self.hover is not None and c.tool in BRUSHES and c.doc is not None and self.drag != "pan":
            radius = c.brush_size * c.zoom / 2
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 200), 1.0))
            p.drawEllipse(self.hover, radius + 0.5, radius + 0.5)
            p.setPen(QPen(QColor(255, 255, 255, 230), 1.0))
            p.drawEllipse(self.hover, max(0.5, radius - 0.5), max(0.5, radius - 0.5))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)


def _clamp_window(w: tuple[int, int, int], width: int, height: int) -> tuple[int, int, int]:
    x, y, s = w
    s = max(1, min(s, width, height))
    x = max(0, min(x, width - s))
    y = max(0, min(y, height - s))
    return (int(x), int(y), int(s))
