"""The photo canvas: layers, zoom and pan, the model-window frame and live previews.

The *frame* is the rectangle of the region being filled (for the face engine the square model
window); the window tool moves and resizes it as a square, the *model window* (x, y, size).
A preview is premultiplied ARGB drawn over its own rectangle (transparent outside the hole).
The "don't copy from" layer (``doc.exclude``) is drawn under the hole's overlay, hatched in
its own colour.

Mouse handling for the tools lives in :mod:`inpaint_gui.gui.canvas_tools`; this module
draws. Drawing uses the cached pyramids of :mod:`inpaint_gui.gui.render` and repaints only
the rectangles that changed, so it stays smooth on very large photos.

Coordinates: *image* coordinates are full-resolution pixels (floats, pixel (i, j) covers
[j, j+1) x [i, i+1)); *view* coordinates are the viewport's pixels.
``view = image * zoom + origin``.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen, QRegion
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from inpaint_gui.gui.canvas_tools import ToolHandler
from inpaint_gui.gui.document import Document
from inpaint_gui.gui.render import MaskPyramid, PhotoPyramid, level_for_zoom
from inpaint_gui.gui.undo import Rect

Window = tuple[int, int, int]

ZOOM_STEPS = (
    1 / 32,
    1 / 24,
    1 / 16,
    1 / 12,
    1 / 8,
    1 / 6,
    1 / 4,
    1 / 3,
    1 / 2,
    2 / 3,
    1.0,
    1.5,
    2.0,
    3.0,
    4.0,
    6.0,
    8.0,
    12.0,
    16.0,
    24.0,
    32.0,
)
MIN_ZOOM, MAX_ZOOM = ZOOM_STEPS[0], ZOOM_STEPS[-1]
TOOLS = ("brush", "eraser", "rect", "window", "exclude")
EXCLUDE_COLOR = QColor(40, 210, 90)  # the "don't copy from" overlay (the hole's is red by default)
SMOOTH_BELOW = 4.0  # zoom under which the photo is drawn with bilinear filtering


class Canvas(QAbstractScrollArea):
    zoom_changed = Signal(float)
    cursor_moved = Signal(object)  # (x, y) in image pixels, or None when outside
    frame_changed = Signal(object)  # Rect | None, also while the user drags the window
    window_placed = Signal(object)  # Window: the user placed the model window with the window tool
    tool_changed = Signal(str)
    brush_size_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc: Document | None = None
        self.photo_pyr: PhotoPyramid | None = None
        self.mask_pyr: MaskPyramid | None = None
        self.exclude_pyr: MaskPyramid | None = None
        self.zoom = 1.0
        self.fit_mode = True  # re-fit when the viewport is resized, until the user zooms
        self.tool = "brush"
        self.brush_size = 40  # diameter in image pixels
        self.overlay_color = QColor(255, 40, 80)
        self.overlay_opacity = 0.5
        self.frame: Rect | None = None  # (x0, y0, x1, y1) of the region being filled
        self.window_user_placed = False  # drawn solid (placed or locked) instead of dashed (auto)
        self.face_guide: QImage | None = None
        self.show_face_guide = True
        self.preview: QImage | None = None  # premultiplied ARGB32, drawn into preview_rect
        self.preview_rect: Rect | None = None
        self.hover: QPointF | None = None  # view coords of the mouse, for the brush outline
        self.tools = ToolHandler(self)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMinimumSize(200, 150)
        self._update_cursor()

    def sizeHint(self) -> QSize:
        return QSize(900, 650)

    # -- document ------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        if self.doc is not None:
            self.doc.image_changed.disconnect(self._on_image_changed)
            self.doc.mask_changed.disconnect(self._on_mask_changed)
            self.doc.exclude_changed.disconnect(self.exclude_edited)
        self.tools.abort()
        self.doc = doc
        self.preview = None
        self.preview_rect = None
        self.frame = None
        self.window_user_placed = False
        if doc is None:
            self.photo_pyr = self.mask_pyr = self.exclude_pyr = None
        else:
            self.photo_pyr = PhotoPyramid(doc.image)
            self.mask_pyr = MaskPyramid(doc.mask, self.overlay_color)
            self.exclude_pyr = MaskPyramid(doc.exclude, EXCLUDE_COLOR, hatch=True)
            doc.image_changed.connect(self._on_image_changed)
            doc.mask_changed.connect(self._on_mask_changed)
            doc.exclude_changed.connect(self.exclude_edited)
        self.fit()
        self.frame_changed.emit(None)

    def _on_image_changed(self, rect: Rect) -> None:
        if self.photo_pyr is not None:
            self.photo_pyr.update(rect)
            self.update_image_rect(rect)

    def _on_mask_changed(self, rect: Rect) -> None:
        if self.mask_pyr is not None:
            self.mask_pyr.update(rect)
            self.update_image_rect(rect)

    def mask_edited(self, rect: Rect | None) -> None:
        """The tools changed ``doc.mask`` in place inside ``rect``: refresh caches and screen."""
        if rect is not None and self.mask_pyr is not None:
            self.mask_pyr.update(rect)
            self.update_image_rect(rect)

    def exclude_edited(self, rect: Rect | None) -> None:
        """The tools changed ``doc.exclude`` in place inside ``rect``: refresh caches and screen."""
        if rect is not None and self.exclude_pyr is not None:
            self.exclude_pyr.update(rect)
            self.update_image_rect(rect)

    # -- geometry ------------------------------------------------------------------
    def origin(self) -> QPointF:
        """View position of image point (0, 0)."""
        if self.doc is None:
            return QPointF(0, 0)
        vw, vh = self.viewport().width(), self.viewport().height()
        cw, ch = self.doc.width * self.zoom, self.doc.height * self.zoom
        ox = (vw - cw) / 2 if cw <= vw else -self.horizontalScrollBar().value()
        oy = (vh - ch) / 2 if ch <= vh else -self.verticalScrollBar().value()
        return QPointF(round(ox), round(oy))

    def to_image(self, p: QPointF) -> QPointF:
        o = self.origin()
        return QPointF((p.x() - o.x()) / self.zoom, (p.y() - o.y()) / self.zoom)

    def to_view(self, p: QPointF) -> QPointF:
        o = self.origin()
        return QPointF(p.x() * self.zoom + o.x(), p.y() * self.zoom + o.y())

    def view_rect(self, rect: Rect, margin: int = 2) -> QRect:
        """Viewport rectangle covering image rectangle ``rect`` (plus a margin)."""
        o = self.origin()
        x0 = math.floor(rect[0] * self.zoom + o.x()) - margin
        y0 = math.floor(rect[1] * self.zoom + o.y()) - margin
        x1 = math.ceil(rect[2] * self.zoom + o.x()) + margin
        y1 = math.ceil(rect[3] * self.zoom + o.y()) + margin
        return QRect(x0, y0, x1 - x0, y1 - y0)

    def update_image_rect(self, rect: Rect) -> None:
        self.viewport().update(self.view_rect(rect))

    def _update_scrollbars(self) -> None:
        if self.doc is None:
            for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
                bar.setRange(0, 0)
            return
        vw, vh = self.viewport().width(), self.viewport().height()
        cw, ch = math.ceil(self.doc.width * self.zoom), math.ceil(self.doc.height * self.zoom)
        for bar, c, v in ((self.horizontalScrollBar(), cw, vw), (self.verticalScrollBar(), ch, vh)):
            bar.setRange(0, max(0, c - v))
            bar.setPageStep(v)
            bar.setSingleStep(max(1, v // 20))

    # -- zoom and pan --------------------------------------------------------------
    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under ``anchor`` (view coords; default centre) fixed."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        if self.doc is None:
            self.zoom = zoom
            return
        if anchor is None:
            anchor = QPointF(self.viewport().width() / 2, self.viewport().height() / 2)
        img_pt = self.to_image(anchor)
        self.zoom = zoom
        self._update_scrollbars()
        # scroll so that img_pt lands under anchor again
        self.horizontalScrollBar().setValue(round(img_pt.x() * zoom - anchor.x()))
        self.verticalScrollBar().setValue(round(img_pt.y() * zoom - anchor.y()))
        self.viewport().update()
        self.zoom_changed.emit(self.zoom)

    def zoom_in(self, anchor: QPointF | None = None) -> None:
        self.fit_mode = False
        self.set_zoom(next((z for z in ZOOM_STEPS if z > self.zoom * 1.001), MAX_ZOOM), anchor)

    def zoom_out(self, anchor: QPointF | None = None) -> None:
        self.fit_mode = False
        self.set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self.zoom / 1.001), MIN_ZOOM), anchor)

    def zoom_actual(self) -> None:
        self.fit_mode = False
        self.set_zoom(1.0)

    def fit(self) -> None:
        self.fit_mode = True
        if self.doc is None:
            self._update_scrollbars()
            self.viewport().update()
            return
        vw, vh = max(1, self.viewport().width() - 8), max(1, self.viewport().height() - 8)
        self.set_zoom(min(vw / self.doc.width, vh / self.doc.height))

    def zoom_to(self, rect: Rect, fill: float = 0.8) -> None:
        """Zoom and scroll so that image rectangle ``rect`` fills ``fill`` of the viewport."""
        if self.doc is None:
            return
        x0, y0, x1, y1 = rect
        vw, vh = self.viewport().width(), self.viewport().height()
        self.fit_mode = False
        self.set_zoom(min(vw * fill / max(1, x1 - x0), vh * fill / max(1, y1 - y0)))
        self.horizontalScrollBar().setValue(round((x0 + x1) / 2 * self.zoom - vw / 2))
        self.verticalScrollBar().setValue(round((y0 + y1) / 2 * self.zoom - vh / 2))
        self.viewport().update()

    def zoom_to_window(self) -> None:
        if self.frame is not None:
            self.zoom_to(self.frame)

    def pan_by(self, dx: float, dy: float) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(round(h.value() - dx))
        v.setValue(round(v.value() - dy))

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()
        else:
            self._update_scrollbars()

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120.0
            if steps:
                self.fit_mode = False
                self.set_zoom(self.zoom * 2.0 ** (steps / 4), event.position())
            event.accept()
            return
        super().wheelEvent(event)

    # -- tools ---------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        if tool != self.tool:
            self.tools.abort()
            self.tool = tool
            self._update_cursor()
            self.viewport().update()
            self.tool_changed.emit(tool)

    def set_brush_size(self, size: int) -> None:
        size = int(min(2000, max(1, size)))
        if size != self.brush_size:
            self.brush_size = size
            self.viewport().update()
            self.brush_size_changed.emit(size)

    def bigger_brush(self) -> None:
        self.set_brush_size(max(self.brush_size + 1, round(self.brush_size * 1.25)))

    def smaller_brush(self) -> None:
        self.set_brush_size(min(self.brush_size - 1, round(self.brush_size / 1.25)))

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay_opacity = min(1.0, max(0.0, opacity))
        self.viewport().update()

    def set_overlay_color(self, color: QColor) -> None:
        self.overlay_color = QColor(color)
        if self.mask_pyr is not None:
            self.mask_pyr.set_color(self.overlay_color)
        self.viewport().update()

    def _update_cursor(self) -> None:
        self.viewport().setCursor(self.tools.cursor())

    # -- model window and previews --------------------------------------------------
    @property
    def model_window(self) -> Window | None:
        """The frame as a square model window (x, y, size); None if there is none or it is not square."""
        f = self.frame
        if f is None or f[2] - f[0] != f[3] - f[1]:
            return None
        return (f[0], f[1], f[2] - f[0])

    def set_frame(self, rect: Rect | None, user: bool = False) -> None:
        rect = None if rect is None else tuple(int(v) for v in rect)
        if rect != self.frame:
            self.frame = rect
            self.viewport().update()
            self.frame_changed.emit(rect)
        if self.window_user_placed != (user and rect is not None):
            self.window_user_placed = user and rect is not None
            self.viewport().update()

    def set_model_window(self, window: Window | None, user: bool = False) -> None:
        if window is None:
            self.set_frame(None, user)
            return
        x, y, s = (int(v) for v in window)
        self.set_frame((x, y, x + s, y + s), user)

    def place_model_window(self, window: Window) -> None:
        """The user placed the model window (the window tool): show it solid and say so."""
        self.set_model_window(window, user=True)
        self.window_placed.emit(self.model_window)

    def set_face_guide(self, guide: np.ndarray | None) -> None:
        """A faint framing guide (uint8 (S, S, 3)) drawn inside the model window."""
        if guide is None:
            self.face_guide = None
        else:
            g = np.ascontiguousarray(guide, dtype=np.uint8)
            self.face_guide = QImage(g.data, g.shape[1], g.shape[0], g.strides[0], QImage.Format.Format_RGB888).copy()
        self.viewport().update()

    def set_preview(self, image: QImage | None, rect: Rect | None = None) -> None:
        """Show ``image`` (premultiplied ARGB, transparent outside the hole) over ``rect``."""
        old = self.preview_rect
        self.preview = image if rect is not None else None
        self.preview_rect = tuple(int(v) for v in rect) if image is not None and rect is not None else None
        for r in (old, self.preview_rect):
            if r is not None:
                self.update_image_rect(r)

    # -- painting ------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self.viewport())
        clip = event.rect()
        p.fillRect(clip, QColor(48, 48, 52))
        if self.doc is None or self.photo_pyr is None or self.mask_pyr is None:
            p.setPen(QColor(170, 170, 170))
            p.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, "Open a photo (Ctrl+O) or drop one here")
            p.end()
            return
        o = self.origin()
        # visible image rectangle (image pixels) of the exposed area, with a small margin
        tl = self.to_image(QPointF(clip.left(), clip.top()))
        br = self.to_image(QPointF(clip.right() + 1, clip.bottom() + 1))
        vis = (
            max(0, math.floor(tl.x()) - 2),
            max(0, math.floor(tl.y()) - 2),
            min(self.doc.width, math.ceil(br.x()) + 2),
            min(self.doc.height, math.ceil(br.y()) + 2),
        )
        p.setClipRect(clip)
        p.translate(o)
        p.scale(self.zoom, self.zoom)
        if vis[0] < vis[2] and vis[1] < vis[3]:
            smooth = self.zoom < SMOOTH_BELOW  # crisp pixels only when zoomed far in
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            k = level_for_zoom(self.zoom, self.photo_pyr.n_levels)
            self._draw_level(p, self.photo_pyr.qimages[k], k, vis)
            previewing = self.preview is not None and self.preview_rect is not None
            if previewing:
                x0, y0, x1, y1 = self.preview_rect
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                p.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), self.preview)
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            if self.overlay_opacity > 0:
                p.save()
                if previewing:  # the hole inside the preview shows the candidate, not the overlay
                    x0, y0, x1, y1 = self.preview_rect
                    region = QRegion(QRect(vis[0], vis[1], vis[2] - vis[0], vis[3] - vis[1]))
                    p.setClipRegion(
                        region.subtracted(QRegion(QRect(x0, y0, x1 - x0, y1 - y0))), Qt.ClipOperation.IntersectClip
                    )
                p.setOpacity(self.overlay_opacity)
                for pyr in (self.exclude_pyr, self.mask_pyr):  # the hole on top: an excluded hole pixel is hole
                    if k == 0:
                        img, _keep = pyr.level0_image(vis)
                        p.drawImage(QRectF(vis[0], vis[1], vis[2] - vis[0], vis[3] - vis[1]), img)
                    else:
                        self._draw_level(p, pyr.qimages[k], k, vis)
                p.restore()
            if self.frame is not None and self.face_guide is not None and self.show_face_guide and self.preview is None:
                x0, y0, x1, y1 = self.frame
                p.setOpacity(0.22)
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                p.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), self.face_guide)
                p.setOpacity(1.0)
        p.resetTransform()
        self._draw_frame(p)
        self.tools.paint_overlay(p)
        p.end()

    def _draw_level(self, p: QPainter, img: QImage, k: int, vis: Rect) -> None:
        """Draw the part of level ``k`` covering image rectangle ``vis`` (integer-aligned)."""
        f = 2**k
        lx0, ly0 = vis[0] // f, vis[1] // f
        lx1, ly1 = min(img.width(), -(-vis[2] // f)), min(img.height(), -(-vis[3] // f))
        if lx0 >= lx1 or ly0 >= ly1:
            return
        src = QRectF(lx0, ly0, lx1 - lx0, ly1 - ly0)
        # the last level pixel may extend past the image edge when the side is odd
        x1 = min(float(self.doc.width), lx1 * f)
        y1 = min(float(self.doc.height), ly1 * f)
        if x1 < lx1 * f or y1 < ly1 * f:
            src.setRight(lx0 + (x1 - lx0 * f) / f)
            src.setBottom(ly0 + (y1 - ly0 * f) / f)
        p.drawImage(QRectF(lx0 * f, ly0 * f, x1 - lx0 * f, y1 - ly0 * f), img, src)

    def window_view_rect(self, window: Window | None = None) -> QRectF | None:
        """The model window (or the frame) in view coordinates."""
        if window is not None:
            rect: Rect | None = (window[0], window[1], window[0] + window[2], window[1] + window[2])
        else:
            rect = self.frame
        if rect is None:
            return None
        tl = self.to_view(QPointF(rect[0], rect[1]))
        return QRectF(tl.x(), tl.y(), (rect[2] - rect[0]) * self.zoom, (rect[3] - rect[1]) * self.zoom)

    def _draw_frame(self, p: QPainter) -> None:
        r = self.window_view_rect()
        if r is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 160), 3))
        p.drawRect(r)
        pen = QPen(QColor(255, 210, 60), 1.5)
        if not self.window_user_placed:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRect(r)
        if self.tool == "window":
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.setBrush(QColor(255, 210, 60))
            for c in (r.topLeft(), r.topRight(), r.bottomLeft(), r.bottomRight()):
                p.drawRect(QRectF(c.x() - 4, c.y() - 4, 8, 8))
        f = self.frame
        w, h = f[2] - f[0], f[3] - f[1]
        label = (f"model window {w} px" if w == h else f"region {w}×{h} px") + (
            " (locked)" if self.window_user_placed else " (auto)"
        )
        p.setPen(QColor(255, 210, 60))
        p.drawText(QPointF(r.left() + 4, r.top() - 6 if r.top() > 18 else r.top() + 16), label)

    # -- events forwarded to the tools -----------------------------------------------
    def mousePressEvent(self, e) -> None:
        self.tools.press(e)

    def mouseMoveEvent(self, e) -> None:
        self.tools.move(e)
        if self.doc is not None:
            ip = self.to_image(e.position())
            inside = 0 <= ip.x() < self.doc.width and 0 <= ip.y() < self.doc.height
            self.cursor_moved.emit((int(ip.x()), int(ip.y())) if inside else None)

    def mouseReleaseEvent(self, e) -> None:
        self.tools.release(e)

    def leaveEvent(self, e) -> None:
        self.tools.set_hover(None)
        self.cursor_moved.emit(None)
        super().leaveEvent(e)

    def keyPressEvent(self, e) -> None:
        if not self.tools.key_press(e):
            super().keyPressEvent(e)

    def keyReleaseEvent(self, e) -> None:
        if not self.tools.key_release(e):
            super().keyReleaseEvent(e)

    def focusOutEvent(self, e) -> None:
        self.tools.focus_lost()
        super().focusOutEvent(e)
