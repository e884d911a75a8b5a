"""Dock panels: the candidates and the loss plot; the welcome page; the status bar's elided label.
(The settings dock: settings_panel.)"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

THUMB = 72


def rgb_qimage(arr: np.ndarray) -> QImage:
    """An independent QImage of a uint8 (h, w, 3) array (copied, safe to keep)."""
    a = np.ascontiguousarray(arr, dtype=np.uint8)
    return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888).copy()


def argb_qimage(arr: np.ndarray) -> QImage:
    """An independent QImage of premultiplied ARGB32 pixels (uint32 (h, w))."""
    a = np.ascontiguousarray(arr, dtype=np.uint32)
    return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_ARGB32_Premultiplied).copy()


def preview_qimage(preview) -> QImage:
    """The QImage of a ``core.image.preview.Preview`` (drawn over ``preview.rect``)."""
    return argb_qimage(preview.argb)


def curve_colour(i: int, n: int) -> QColor:
    return QColor.fromHsvF((i / max(1, n)) % 1.0, 0.55, 0.95)


class ElidedLabel(QLabel):
    """A status-bar label at most ``max_width`` wide that draws as much of its text as fits, ending
    in "…"; ``text()`` stays whole. A long region description ("face · celeba128 over pggan64 ·
    2 framings around ...") otherwise pushes the bar's messages under it, cut mid-word."""

    def __init__(self, max_width: int = 300) -> None:
        super().__init__()
        self.setMaximumWidth(max_width)
        self.setContentsMargins(12, 0, 0, 0)  # a gap after the bar's message

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event) -> None:
        rect = self.contentsRect()
        painter = QPainter(self)
        painter.drawText(rect, int(self.alignment()), self.shown_text(rect.width()))

    def shown_text(self, width: int | None = None) -> str:
        """The text as drawn in ``width`` pixels (default: the label's own)."""
        width = self.contentsRect().width() if width is None else width
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)


class CandidatesPanel(QListWidget):
    """One thumbnail per candidate with its label and loss; the best is marked with a star.

    During a run it shows the engine's live thumbnails (numbered); afterwards the candidates,
    captioned with their labels (the tooltip has the label and the full loss).
    """

    candidate_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(2)
        self.setGridSize(QSize(THUMB + 16, THUMB + 38))
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.setMinimumWidth(3 * (THUMB + 16) + 24)  # three thumbnails across
        self.best = -1
        self.live = False
        self.itemClicked.connect(self._clicked)
        self.currentRowChanged.connect(self._row_changed)
        self._emit = True

    def show_candidates(
        self, previews: np.ndarray, losses: np.ndarray, best: int, live: bool, labels: list[str] | None = None
    ) -> None:
        """Update thumbnails (uint8 (K, s, s, 3)), losses (K,) and labels in place."""
        k = len(previews)
        self._emit = False
        try:
            while self.count() > k:
                self.takeItem(self.count() - 1)
            while self.count() < k:
                item = QListWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
                self.addItem(item)
            for i in range(k):
                item = self.item(i)
                pix = QPixmap.fromImage(
                    rgb_qimage(previews[i]).scaled(
                        THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                    )
                )
                if i == best:
                    p = QPainter(pix)
                    p.setPen(QPen(QColor(255, 210, 60), 4))
                    p.drawRect(QRectF(2, 2, pix.width() - 4, pix.height() - 4))
                    p.end()
                item.setIcon(QIcon(pix))
                star = "★" if i == best else ""
                label = labels[i] if labels and labels[i] else f"#{i + 1}"
                item.setText(f"{star}{label}\n{losses[i]:.4g}")
                item.setToolTip(f"{label}: loss {losses[i]:.6g}" + (" (best)" if i == best else ""))
                item.setData(Qt.ItemDataRole.UserRole, label)
            self.best = best
            self.live = live
            if not live and 0 <= best < k:
                self.scrollToItem(self.item(best))
        finally:
            self._emit = True

    def select_silently(self, row: int) -> None:
        """Make ``row`` the current item without announcing it as the user's choice."""
        self._emit = False
        try:
            self.setCurrentRow(row)
        finally:
            self._emit = True

    def clear_candidates(self) -> None:
        self._emit = False
        self.clear()
        self._emit = True
        self.best = -1

    def _clicked(self, item: QListWidgetItem) -> None:
        if self._emit:
            self.candidate_chosen.emit(self.row(item))

    def _row_changed(self, row: int) -> None:
        if self._emit and row >= 0:
            self.candidate_chosen.emit(row)


class LossPlot(QWidget):
    """Loss curves of every restart (log scale), the best drawn thicker."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.iters = np.zeros(0)
        self.totals = np.zeros((0, 0))
        self.best = -1
        self.iterations = 0
        self.setMinimumSize(180, 120)

    def sizeHint(self) -> QSize:
        return QSize(260, 160)

    def set_data(self, iters: np.ndarray, totals: np.ndarray, best: int, iterations: int) -> None:
        self.iters = np.asarray(iters, dtype=np.float64)
        self.totals = np.asarray(totals, dtype=np.float64)
        self.best = best
        self.iterations = iterations
        self.update()

    def clear(self) -> None:
        self.set_data(np.zeros(0), np.zeros((0, 0)), -1, 0)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 30, 34))
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        left, right, top, bottom = 52, 8, 8, 18
        plot = QRectF(left, top, max(1, self.width() - left - right), max(1, self.height() - top - bottom))
        p.setPen(QColor(90, 90, 96))
        p.drawRect(plot)
        if self.totals.ndim != 2 or self.totals.shape[0] == 0:
            p.setPen(QColor(150, 150, 150))
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "loss per restart")
            p.end()
            return
        vals = self.totals[np.isfinite(self.totals)]
        vals = vals[vals > 0]
        if vals.size == 0:
            p.end()
            return
        lo, hi = math.log10(vals.min()), math.log10(vals.max())
        if hi - lo < 1e-6:
            lo, hi = lo - 0.5, hi + 0.5
        x_max = max(float(self.iterations), float(self.iters.max()), 1.0)

        def pt(it: float, v: float) -> QPointF:
            ly = math.log10(max(v, 10**lo))
            return QPointF(
                plot.left() + plot.width() * it / x_max, plot.bottom() - plot.height() * (ly - lo) / (hi - lo)
            )

        k = self.totals.shape[1]
        order = [i for i in range(k) if i != self.best] + ([self.best] if 0 <= self.best < k else [])
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setClipRect(plot)
        for i in order:
            path = QPainterPath()
            started = False
            for it, v in zip(self.iters, self.totals[:, i]):
                if not np.isfinite(v):
                    continue
                q = pt(it, v)
                if started:
                    path.lineTo(q)
                else:
                    path.moveTo(q)
                    started = True
            colour = curve_colour(i, k) if i != self.best else QColor(255, 210, 60)
            p.setPen(QPen(colour, 2.2 if i == self.best else 1.0))
            p.drawPath(path)
        p.setClipping(False)
        p.setPen(QColor(170, 170, 170))
        digits = 3 + max(0, min(4, int(-math.floor(math.log10(max(hi - lo, 1e-6))))))
        p.drawText(QRectF(0, top - 4, left - 4, 14), Qt.AlignmentFlag.AlignRight, f"{10**hi:.{digits}g}")
        p.drawText(QRectF(0, plot.bottom() - 10, left - 4, 14), Qt.AlignmentFlag.AlignRight, f"{10**lo:.{digits}g}")
        p.drawText(
            QRectF(plot.left(), plot.bottom() + 2, plot.width(), 14),
            Qt.AlignmentFlag.AlignRight,
            f"iteration {int(self.iters.max())}/{self.iterations}",
        )
        p.end()


class WelcomePage(QWidget):
    """Shown while no photo is open: Open and Open sample photo."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.open_button = QPushButton("Open photo…")
        self.sample_button = QPushButton("Open sample photo")
        for b in (self.open_button, self.sample_button):
            b.setMinimumSize(200, 40)
        title = QLabel("<h2>inpaint-gui</h2>")
        hint = QLabel(
            "Open a photo, brush over what should go, press Ctrl+Return.<br>You can also drop a photo on this window."
        )
        for lab in (title, hint):
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        lay.addWidget(title)
        lay.addWidget(hint)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_button)
        row.addWidget(self.sample_button)
        row.addStretch(1)
        lay.addSpacing(16)
        lay.addLayout(row)
        lay.addStretch(3)
