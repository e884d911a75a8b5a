"""The inpainting flow of the main window: window placement, search, candidates, apply.

States: idle -> searching (live previews) -> choosing (candidates kept) -> blending -> idle.
Cancel keeps the best-so-far candidates; Discard drops them; Apply blends the chosen one into
the photo as one undo step (the filled hole is removed from the mask in the same step).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from inpaint_gui.gui import dialogs
from inpaint_gui.progress import format_seconds
from inpaint_gui.gui.panels import argb_qimage
from inpaint_gui.core.image.preview import composite
from inpaint_gui.gui.worker import BlendResult, SearchProgress, SearchResult

if TYPE_CHECKING:
    from inpaint_gui.gui.main_window import MainWindow

log = logging.getLogger(__name__)

ASYNC_PIXELS = 4_000_000  # photos larger than this place the window in a helper thread


def _plan(mask: np.ndarray, resolution: int):
    """Automatic windows for ``mask`` and how many hole pixels each holds; None if none fit."""
    from inpaint_gui.core.pipeline import plan_windows

    try:
        windows = plan_windows(mask, resolution)
    except Exception:  # noqa: BLE001 - no automatic window; the user can still place one
        log.exception("automatic window placement failed")
        return None
    return windows, [int(mask[y : y + s, x : x + s].sum()) for x, y, s in windows]


class InpaintSession(QObject):
    windows_ready = Signal(int, object)  # token, (windows, counts) or None; from the helper thread

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.w = window
        self.result: SearchResult | None = None
        self.selected = -1
        self.searching = False
        self.blending = False
        self.last_progress: SearchProgress | None = None
        self.previews_seen = 0  # live previews shown for the current job
        self._auto_timer = QTimer(self)
        self._auto_timer.setSingleShot(True)
        self._auto_timer.setInterval(120)
        self._auto_timer.timeout.connect(self.place_window_automatically)
        self._token = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inpaint-gui-window")
        self.windows_ready.connect(self._windows_planned)
        c = window.controller
        c.progress.connect(self._on_progress)
        c.search_finished.connect(self._on_finished)
        c.blend_finished.connect(self._on_blended)
        c.job_failed.connect(self._on_failed)

    # -- model window -----------------------------------------------------------------
    def mask_changed(self) -> None:
        """Re-place the window (debounced) unless the user placed it."""
        self._token += 1  # a placement still being computed is for an older mask
        if not self.w.canvas.window_user_placed:
            self._auto_timer.start()

    def place_window_automatically(self, force: bool = False, wait: bool = False) -> None:
        """Put the window around the hole (core.pipeline.plan_windows).

        On large photos the computation runs in a helper thread unless ``wait``; the result is
        dropped if the mask changed or the user placed the window meanwhile.
        """
        canvas = self.w.canvas
        doc = self.w.doc
        if doc is None:
            return
        if force:
            canvas.window_user_placed = False
        elif canvas.window_user_placed:
            return
        self._auto_timer.stop()
        model = self.w.controller.model
        resolution = model.config.resolution if model is not None else 64
        self._token += 1
        token = self._token
        if wait or self._closed or doc.mask.size < ASYNC_PIXELS:
            self._windows_planned(token, _plan(doc.mask, resolution))
            return
        future = self._pool.submit(_plan, doc.mask.copy(), resolution)
        future.add_done_callback(
            lambda f, t=token: self.windows_ready.emit(t, None if f.cancelled() or f.exception() else f.result()))

    def _windows_planned(self, token: int, planned) -> None:
        canvas = self.w.canvas
        if token != self._token or planned is None or canvas.window_user_placed or self.w.doc is None:
            return
        windows, counts = planned
        if not windows:
            canvas.set_window(None)
            return
        canvas.set_window(windows[int(np.argmax(counts))], user=False)  # most of the hole first
        if len(windows) > 1:
            self.w.statusBar().showMessage(
                f"The hole has {len(windows)} separate parts: each Apply fills one window, then the next is placed.", 6000)

    def shutdown(self) -> None:
        self._closed = True
        self._auto_timer.stop()
        self._token += 1
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- actions ------------------------------------------------------------------------
    def inpaint(self) -> None:
        w = self.w
        doc = w.doc
        if doc is None or self.searching or self.blending:
            return
        if w.controller.model is None:
            dialogs.error(w, "No model", "No model is loaded, so there is nothing to inpaint with.")
            return
        if not doc.mask.any():
            dialogs.info(w, "Nothing to fill", "Paint the hole first: brush (B) or rectangle (R).")
            return
        if not w.canvas.window_user_placed:
            self.place_window_automatically(wait=True)  # for the mask as it is now
        window = w.canvas.window
        if window is None:
            self.place_window_automatically(force=True, wait=True)
            window = w.canvas.window
        from inpaint_gui.core.errors import InpaintError
        from inpaint_gui.core.image.windows import validate_window

        try:
            window = validate_window(window, doc.image.shape)
        except (InpaintError, ValueError) as exc:
            dialogs.error(w, "Bad model window", str(exc))
            return
        x, y, s = window
        hole = doc.mask[y : y + s, x : x + s]
        if not hole.any():
            dialogs.error(w, "Nothing to fill", "The model window does not contain any of the hole. Move it over the hole.")
            return
        if hole.all():
            dialogs.error(w, "Window too small", "The hole fills the whole model window: make the window larger "
                          "so the model sees some of the photo around the hole.")
            return
        self.discard(quiet=True)
        settings = w.job_settings
        self.searching = True
        self.previews_seen = 0
        self.last_progress = None
        w.candidates.clear_candidates()
        w.loss_plot.clear()
        w.controller.start_search(doc.image, doc.mask, window, settings)
        w.show_progress(0, settings.iterations, f"Starting search: {settings.restarts} restarts × {settings.iterations} iterations…")
        w.update_actions()

    def cancel(self) -> None:
        if self.searching:
            self.w.controller.cancel()
            self.w.statusBar().showMessage("Cancelling: keeping the best candidates so far…", 4000)
        elif self.blending:
            self.w.controller.cancel()
            self.blending = False
            self.w.hide_progress()
            self.w.update_actions()

    def discard(self, quiet: bool = False) -> None:
        self.result = None
        self.selected = -1
        self.w.canvas.set_preview(None)
        self.w.candidates.clear_candidates()
        if not quiet:
            self.w.loss_plot.clear()
            self.w.statusBar().showMessage("Candidates discarded; the photo is unchanged.", 4000)
        self.w.update_actions()

    def choose(self, index: int) -> None:
        """Preview candidate ``index`` in the canvas (after the search)."""
        r = self.result
        if r is None or self.searching or not 0 <= index < r.previews.shape[0]:
            return
        self.selected = index
        self.w.canvas.set_preview(argb_qimage(composite(r.context, r.previews[index])), r.window)
        self.w.statusBar().showMessage(f"Candidate #{index + 1}: loss {r.total[index]:.5g}", 4000)
        self.w.update_actions()

    def apply(self) -> None:
        w = self.w
        if self.result is None or self.searching or self.blending or w.doc is None:
            return
        index = self.selected if self.selected >= 0 else self.result.best
        self.blending = True
        w.controller.start_blend(w.doc.image, self.result, index, w.job_settings.blend)
        w.show_progress(0, 0, f"Blending candidate #{index + 1} ({w.job_settings.blend})…")
        w.update_actions()

    # -- worker signals --------------------------------------------------------------------
    def _on_progress(self, p: SearchProgress) -> None:
        w = self.w
        if not self.searching:
            return
        self.last_progress = p
        self.previews_seen += 1
        w.canvas.set_preview(argb_qimage(p.composite), w.controller.current.window if w.controller.current else None)
        w.candidates.show_candidates(p.previews, p.total, p.best, live=True)
        w.loss_plot.set_data(p.history_iter, p.history_total, p.best, p.iterations)
        w.show_progress(p.iteration, p.iterations,
                        f"iteration {p.iteration}/{p.iterations} · {p.rate:.0f} it/s · {format_seconds(p.eta)} left"
                        f" · best loss {p.total[p.best]:.4g}")

    def _on_finished(self, r: SearchResult) -> None:
        w = self.w
        self.searching = False
        self.result = r
        w.hide_progress()
        w.candidates.show_candidates(r.previews, r.total, r.best, live=False)
        w.loss_plot.set_data(r.history_iter, r.history_total, r.best, r.iterations)
        self.choose(r.best)
        w.candidates.setCurrentRow(r.best)
        what = f"Cancelled at iteration {r.iteration}/{r.iterations}" if r.cancelled else \
            f"Done: {r.iterations} iterations in {r.elapsed:.1f} s"
        w.statusBar().showMessage(f"{what}; best is #{r.best + 1} (loss {r.total[r.best]:.4g}). "
                                  "Click a candidate to preview it, Return to apply, Discard to drop.")
        w.update_actions()

    def _on_blended(self, r: BlendResult) -> None:
        w = self.w
        self.blending = False
        w.hide_progress()
        doc = w.doc
        if doc is not None:
            try:
                doc.apply_patch(r.origin, r.image, r.region, "Apply fill")
            except ValueError as exc:  # the photo changed size meanwhile (cannot happen today)
                dialogs.error(w, "Cannot apply", str(exc))
        self.result = None
        self.selected = -1
        w.canvas.set_preview(None)
        w.candidates.clear_candidates()
        w.statusBar().showMessage("Fill applied (Ctrl+Z undoes it).", 5000)
        w.update_actions()
        self.mask_changed()

    def _on_failed(self, kind: str, message: str) -> None:
        w = self.w
        self.searching = False
        self.blending = False
        w.hide_progress()
        if kind == "search":
            w.canvas.set_preview(None)
            w.candidates.clear_candidates()
            self.result = None
        else:
            self.choose(self.selected)  # back to the candidate preview
        w.update_actions()
        dialogs.error(w, "Inpainting failed" if kind == "search" else "Blending failed", message)
