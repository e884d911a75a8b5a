"""Canvas timings on a 24-megapixel photo (not a test: run ``python tests/gui/bench_canvas.py``).

Prints how long the expensive things take: opening (building the cached levels), a full
repaint at "fit" and at 100%, one brush segment (mask edit + cache update + partial repaint),
a pan step, and the automatic window placement after a stroke.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication


def timed(label, fn, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    print(f"{label:48s} {best * 1000:8.1f} ms (best of {repeat})")
    return best


def main() -> None:
    app = QApplication.instance() or QApplication([])
    from inpaint_gui.gui.canvas import Canvas
    from inpaint_gui.gui.document import Document

    h, w = 4000, 6000
    rng = np.random.default_rng(0)
    img = np.empty((h, w, 3), np.uint8)
    for c in range(3):  # a smooth gradient plus noise, quick to make
        img[..., c] = (np.linspace(0, 255, w)[None, :] * (c + 1) / 3 + rng.integers(0, 20, (h, 1))).astype(np.uint8)
    canvas = Canvas()
    canvas.resize(1600, 1000)
    canvas.show()
    app.processEvents()
    doc = Document(img)
    timed("open: build photo + mask pyramids", lambda: canvas.set_document(doc), repeat=2)
    target = QImage(canvas.viewport().size(), QImage.Format.Format_RGB32)

    def full_repaint():
        canvas.viewport().render(target)

    canvas.fit()
    timed(f"full repaint at fit ({canvas.zoom * 100:.1f}%)", full_repaint)
    canvas.set_zoom(1.0)
    timed("full repaint at 100%", full_repaint)
    canvas.set_zoom(0.7)
    timed("full repaint at 70%", full_repaint)
    canvas.set_zoom(4.0)
    timed("full repaint at 400%", full_repaint)
    canvas.fit()
    from inpaint_gui.gui.maskops import StrokeRecorder

    rec = StrokeRecorder(doc.mask, "bench")
    pts = iter([(3000.0 + 7 * i, 2000.0 + 3 * i) for i in range(100)])
    canvas.brush_size = 200

    def segment():
        a = next(pts)
        b = (a[0] + 7, a[1] + 3)
        canvas.tools.recorder = rec
        canvas.tools._segment(QPointF(*a), QPointF(*b))
        r = canvas.view_rect((int(a[0]) - 100, int(a[1]) - 100, int(b[0]) + 101, int(b[1]) + 101))
        canvas.viewport().render(target, r.topLeft(), r)

    timed("brush segment (edit + caches + partial repaint)", segment, repeat=20)
    timed("stroke end (diff for undo)", lambda: rec.finish(), repeat=3)
    doc.mask[1500:2500, 2500:3500] = True
    canvas.mask_edited((2500, 1500, 3500, 2500))
    from inpaint_gui.core.engines.gan.windows import auto_windows

    timed("auto_windows on the 24 MP mask", lambda: auto_windows(doc.mask, min_size=64), repeat=2)
    canvas.set_zoom(1.0)
    timed("pan step at 100% (scroll + repaint)", lambda: (canvas.pan_by(-40, -25), full_repaint()))
    block = doc.mask.copy()
    block[500:1500, 500:1500] = True
    timed("mask edit of a 1000x1000 block (diff + caches)", lambda: (doc.set_mask(block, "b"), doc.undo()), repeat=3)
    timed("invert the whole 24 MP mask", lambda: doc.set_mask(~doc.mask, "invert"), repeat=3)
    print(
        f"undo stack after these steps: {doc.undo_stack.nbytes / 1e6:.1f} MB for {len(doc.undo_stack.commands)} steps"
    )


if __name__ == "__main__":
    main()
