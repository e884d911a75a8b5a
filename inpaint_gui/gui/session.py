"""The inpainting flow of the main window: plan regions, run one, choose a candidate, apply it.

Everything heavy is a job on the compute runner (:mod:`inpaint_gui.gui.compute` through
:mod:`inpaint_gui.gui.jobs`):

- a *load-model* job when the window opens (or File > Load Model),
- a *plan* job whenever the mask, the "don't copy from" layer, the settings or the locked
  window change (debounced): the canvas frames the first region; the regions carry the
  exclusion to the run,
- a *run* job on that region when the user presses Inpaint (a plan job first if the plan is
  stale): live previews, thumbnails and loss curves, then the candidates,
- a *preview* job when a candidate is clicked, and a *finish* job on Apply, whose patch goes
  into the photo as one undo step; then the next region is planned.

Cancel keeps the best-so-far candidates; Discard drops them; a failed or cancelled job leaves
the photo as it was. Errors come from the pipeline as one-line messages and are shown through
the ``error`` signal. The session gets its collaborators (document holder, canvas, panels,
settings store, runner) and talks to the rest of the window through signals.

What the flow has decided (the regions and their key, a stale plan, a run waiting for its plan,
the live job, the candidates and the choice, the fills applied) is a Qt-free
:class:`~inpaint_gui.core.session.Flow`; this class turns the window's events into the flow's
events and carries out the :class:`~inpaint_gui.core.session.Action` it returns.
"""

from __future__ import annotations

import logging
from functools import partial

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from inpaint_gui.core import pipeline
from inpaint_gui.core.session import Action, Flow
from inpaint_gui.gui import compute
from inpaint_gui.gui.panels import preview_qimage
from inpaint_gui.progress import format_seconds

log = logging.getLogger(__name__)

PLAN_DELAY_MS = 120  # a plan job starts this long after the last mask edit


def region_rect(region) -> tuple[int, int, int, int]:
    """The rectangle to frame for ``region``: its square window if the engine works in one, else its rect."""
    return tuple(int(v) for v in region.frame)


class InpaintSession(QObject):
    status = Signal(str, int)  # message, milliseconds (0: until replaced)
    progress = Signal(int, int, str)  # value, maximum (0: busy, no end known), text
    progress_done = Signal()
    error = Signal(str, str)  # title, one-line message: for a dialog
    state_changed = Signal()  # running / finishing / candidates / model: the actions follow
    model_changed = Signal(object)  # compute.ModelInfo, or None while loading / when none
    region_changed = Signal(str, str)  # status-bar text (engine · model · region), tooltip
    lock_changed = Signal(bool)
    update_shown = Signal(object)  # the RunUpdate just shown (live or final)

    def __init__(self, docs, canvas, candidates, loss_plot, store, runner, parent: QObject | None = None):
        super().__init__(parent)
        self.docs, self.canvas, self.candidates, self.loss_plot = docs, canvas, candidates, loss_plot
        self.store, self.runner = store, runner
        self.model: compute.ModelInfo | None = None
        self.flow = Flow()  # what the inpainting has decided (core/session.py)
        self.last_update: compute.RunUpdate | None = None
        self.previews_seen = 0  # live previews shown for the current run
        self.locked = False  # plan with the window the user placed
        self._ids: dict[str, int | None] = dict.fromkeys(("load", "plan", "run", "finish", "preview"))
        self._previews: dict[int, tuple] = {}  # candidate -> (QImage, rect) of the finished run
        self._mask_version = 0
        self._image_cache: tuple | None = None  # (document, image key, read-only copy)
        self._doc = None
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PLAN_DELAY_MS)
        self._timer.timeout.connect(self.plan_now)
        docs.changed.connect(self._document_changed)
        store.changed.connect(self._settings_changed)
        candidates.candidate_chosen.connect(self.choose)
        canvas.window_placed.connect(self._window_placed)

    # -- state ------------------------------------------------------------------------------
    def _live(self, kind: str) -> bool:
        return self.runner.is_live(self._ids[kind])

    # the flow's state, read by the window and the tests
    regions = property(lambda self: self.flow.regions)
    region = property(lambda self: self.flow.region, doc="The region shown, run or being applied.")
    result = property(lambda self: self.flow.result, doc="The finished run, until applied or discarded.")
    selected = property(lambda self: self.flow.selected)
    running = property(lambda self: self.flow.running)
    finishing = property(lambda self: self.flow.finishing)

    @property
    def planning(self) -> bool:
        return self._live("plan") or self._timer.isActive()

    @property
    def loading(self) -> bool:
        return self._live("load")

    @property
    def busy(self) -> bool:
        """A run or a finish is under way (or a run waits for its plan)."""
        return self.flow.busy

    @property
    def ready(self) -> bool:
        """The chosen engine can work (the face engine needs its model)."""
        return not self.loading and (
            self.model is not None or self.store.settings.common.engine not in pipeline.model_engines()
        )

    def _submit(self, kind: str, fn, **callbacks) -> int | None:
        if self._closed:
            return None
        job_id = self.runner.submit(kind, fn, lane=kind, **callbacks)
        self._ids[kind] = job_id
        return job_id

    def _discard(self, *kinds: str) -> None:
        for kind in kinds:
            self.runner.discard(self._ids[kind])
            self._ids[kind] = None

    def _copies(self):
        """(photo, mask) for a job: a read-only copy of the photo shared while it is unchanged,
        and a fresh copy of the mask."""
        doc = self.docs.doc
        key = doc.image_key()
        cache = self._image_cache
        if cache is None or cache[0] is not doc or cache[1] != key:
            image = doc.image.copy()
            image.flags.writeable = False
            self._image_cache = cache = (doc, key, image)
        return cache[2], doc.mask.copy()

    # -- the model ----------------------------------------------------------------------------
    def load_model(self, spec: object) -> None:
        """Load a model by name or folder (None: the default) or adopt a loaded one."""
        self._submit(
            "load",
            partial(compute.load_model, spec=spec, settings=self.store.settings),
            on_finished=self._model_loaded,
            on_failed=self._model_failed,
        )
        self.model_changed.emit(None)
        self.state_changed.emit()

    def _model_loaded(self, info: compute.ModelInfo) -> None:
        self.model = info
        self.canvas.set_face_guide(info.mean_face)
        self.model_changed.emit(info)
        self.flow.key = None  # planned with another model: stale
        self.schedule_plan()
        self.state_changed.emit()

    def _model_failed(self, message: str) -> None:
        self.model_changed.emit(self.model)  # the previous model (if any) stays loaded
        self.state_changed.emit()
        self.error.emit("Cannot load the model", message)

    # -- document, mask, settings, window -----------------------------------------------------
    def _document_changed(self, doc) -> None:
        self._discard("plan", "run", "finish", "preview")
        self.flow.reset()
        if self._doc is not None:
            self._doc.mask_changed.disconnect(self._mask_changed)
            self._doc.exclude_changed.disconnect(self._mask_changed)
            self._doc.history_changed.disconnect(self._history_moved)
        self._doc = doc
        self._image_cache = None
        self._clear_candidates()
        self.loss_plot.clear()
        self._set_locked(False)
        self.progress_done.emit()
        if doc is not None:
            doc.mask_changed.connect(self._mask_changed)
            doc.exclude_changed.connect(self._mask_changed)  # the version covers both layers
            doc.history_changed.connect(self._history_moved)
            self.plan_now()
        self._show_region()
        self.state_changed.emit()

    def _history_moved(self) -> None:
        """Undo or redo: the flow follows which applied fills are in the photo."""
        if self._doc is not None:
            self._act(self.flow.history(self._doc.redoable_steps()))

    def _mask_changed(self, _rect=None) -> None:
        self._mask_version += 1
        self.schedule_plan()

    def _settings_changed(self, _settings) -> None:
        self.schedule_plan()
        self.state_changed.emit()

    def _window_placed(self, _window) -> None:
        self._set_locked(True)
        self.schedule_plan()

    def set_locked(self, on: bool) -> None:
        """Lock window: plan with the window shown now (on) or place it automatically (off)."""
        self._set_locked(bool(on) and self.canvas.model_window is not None)
        if self.locked != bool(on):
            self.lock_changed.emit(self.locked)  # refused (no square window shown): the toggle goes back
        self.schedule_plan()

    def _set_locked(self, on: bool) -> None:
        if on != self.locked:
            self.locked = on
            self.canvas.set_frame(self.canvas.frame, user=on)
            self.lock_changed.emit(on)

    def auto_window(self) -> None:
        self._set_locked(False)
        self.schedule_plan()

    # -- planning ------------------------------------------------------------------------------
    def _key(self):
        window = self.canvas.model_window if self.locked else None
        return (id(self.docs.doc), self._mask_version, window, self.store.settings)

    def schedule_plan(self) -> None:
        """Plan again soon (debounced); while a run or a finish is going, once it is over."""
        if self.docs.doc is None or self._closed:
            return
        self._act(self.flow.edited())

    def _act(self, action: Action) -> None:
        """Carry out what the flow decided."""
        if action is Action.PLAN_SOON:
            self._timer.start()
        elif action is Action.PLAN:
            self.plan_now()
        elif action is Action.RUN:
            self._start_run(self.flow.region)
        elif action is Action.ERROR:
            self.error.emit("Cannot inpaint", self.flow.message)

    def plan_now(self) -> None:
        self._timer.stop()
        doc = self.docs.doc
        if doc is None or not self.ready:
            self.flow.run_after_plan = False
            return
        self.flow.plan_started()
        image, mask = self._copies()
        exclude = doc.exclude.copy() if doc.exclude.any() else None  # a copy taken here, like the mask's
        key = self._key()
        self._submit(
            "plan",
            partial(compute.plan, image=image, mask=mask, settings=key[3], window=key[2], exclude=exclude),
            on_finished=partial(self._planned, key),
            on_failed=partial(self._plan_failed, key),
        )
        self.state_changed.emit()

    def _planned(self, key, regions: list) -> None:
        waiting = self.flow.run_after_plan
        action = self.flow.planned(key, regions)
        if self.region is not None and not self.locked:
            self.canvas.set_frame(region_rect(self.region), user=False)
        self._show_region()
        if len(self.regions) > 1:
            self.status.emit(
                f"The hole has {len(self.regions)} separate parts: each Apply fills one, then the next is planned.",
                6000,
            )
        if waiting:
            self._act(action)
        self.state_changed.emit()

    def _plan_failed(self, key, message: str) -> None:
        waiting = self.flow.run_after_plan
        action = self.flow.plan_failed(key, message)
        if not self.locked:
            self.canvas.set_frame(None)
        elif not waiting:
            self.status.emit(f"No region in the locked window: {message}", 6000)
        self._show_region()
        self._act(action)
        self.state_changed.emit()

    def _show_region(self, info: dict | None = None) -> None:
        r = self.region
        if self.docs.doc is None:
            self.region_changed.emit("", "")
        elif r is None:
            if self.flow.plan_error:
                self.region_changed.emit("No region", self.flow.plan_error)
            else:
                self.region_changed.emit("Planning…" if self.planning else "", "")
        else:
            model = str((info or {}).get("model") or "")  # the engine's labels name their model when planned
            parts = [r.engine, model if model not in r.label else "", r.label]
            more = f" (1 of {len(self.regions)})" if len(self.regions) > 1 else ""
            self.region_changed.emit(" · ".join(p for p in parts if p) + more, f"{r.hole_pixels} hole pixels")

    # -- actions ------------------------------------------------------------------------------
    def inpaint(self) -> None:
        """Run the first region of the current plan (planning first if the plan is stale)."""
        if self.docs.doc is None or self.busy:
            return
        if not self.ready:
            self.error.emit("No model", "No model is loaded, so there is nothing to inpaint with.")
            return
        if self.result is not None:
            self._clear_candidates()  # a new run replaces them
        action = self.flow.inpaint(self._key(), planning=self.planning)
        self._act(action)
        if action is Action.PLAN:
            self.progress.emit(0, 0, "Planning…")
        self.state_changed.emit()

    def _start_run(self, region) -> None:
        self._clear_candidates()
        self.loss_plot.clear()
        self.flow.region = region
        self.flow.job = "run"
        self.previews_seen = 0
        self.last_update = None
        image, mask = self._copies()
        self._submit(
            "run",
            partial(compute.run, image=image, mask=mask, region=region, settings=self.store.settings),
            on_progress=self._run_progress,
            on_finished=self._run_finished,
            on_failed=self._run_failed,
        )
        self.progress.emit(0, 0, f"Starting: {region.label or region.engine}…")
        self.state_changed.emit()

    def cancel(self) -> None:
        """Stop the run (its best candidates so far are kept), or forget a finish in progress."""
        waiting = self.flow.run_after_plan
        action = self.flow.cancel()
        if action is Action.CANCEL_RUN:
            self.runner.cancel(self._ids["run"])
            self.status.emit("Cancelling: keeping the best candidates so far…", 4000)
        elif action is Action.DROP_FINISH:
            self._discard("finish")
            self.progress_done.emit()
            self.status.emit("Apply cancelled; the photo is unchanged.", 4000)
            self.state_changed.emit()
        elif waiting:
            self.progress_done.emit()
            self.state_changed.emit()

    def discard(self, quiet: bool = False) -> None:
        self._clear_candidates()
        if not quiet:
            self.loss_plot.clear()
            self.status.emit("Candidates discarded; the photo is unchanged.", 4000)
        self._idle()

    def choose(self, index: int) -> None:
        """Preview candidate ``index`` in the canvas (after the run)."""
        r = self.result
        c = self.flow.choose(index)
        if c is None:
            return
        loss = f"loss {c.loss:.5g}" if np.isfinite(c.loss) else "no loss (a network's one pass)"
        self.status.emit(f"Candidate {c.label or index + 1}: {loss}", 4000)
        if index in self._previews:
            self.canvas.set_preview(*self._previews[index])
        else:
            image, mask = self._copies()
            self._submit(
                "preview",
                partial(
                    compute.candidate_preview,
                    image=image,
                    mask=mask,
                    region=self.region,
                    candidate=c,
                    settings=self.store.settings,
                ),
                on_finished=partial(self._preview_ready, r, index),
                on_failed=lambda m: self.status.emit(f"No preview: {m}", 6000),
            )
        self.state_changed.emit()

    def _preview_ready(self, result, index: int, preview) -> None:
        if result is not self.result:
            return
        self._previews[index] = (preview_qimage(preview), preview.rect)
        if self.selected == index:
            self.canvas.set_preview(*self._previews[index])

    def apply(self) -> None:
        """Blend the chosen candidate into the photo (a finish job, then one undo step)."""
        if self.result is None or self.busy or self.docs.doc is None:
            return
        index = self.selected if self.selected >= 0 else self.result.best
        candidate = self.flow.apply()
        image, mask = self._copies()
        self._discard("preview")
        self._submit(
            "finish",
            partial(
                compute.finish,
                image=image,
                mask=mask,
                region=self.region,
                candidate=candidate,
                settings=self.store.settings,
            ),
            on_finished=partial(self._finished, self.docs.doc),
            on_failed=self._finish_failed,
        )
        self.progress.emit(
            0, 0, f"Applying {candidate.label or f'candidate {index + 1}'} ({self.store.settings.common.blend})…"
        )
        self.state_changed.emit()

    # -- job results ----------------------------------------------------------------------------
    def _show_frame(self, update: compute.RunUpdate) -> None:
        if update.window is not None:
            self.canvas.set_model_window(update.window, user=self.locked)

    def _run_progress(self, u: compute.RunUpdate) -> None:
        self.last_update = u
        self.previews_seen += 1
        self._show_frame(u)
        if u.preview is not None:
            self.canvas.set_preview(preview_qimage(u.preview), u.preview.rect)
        if u.thumbnails is not None:
            self.candidates.show_candidates(u.thumbnails, u.losses, u.best, live=True)
        self.loss_plot.set_data(u.history_iter, u.history_losses, u.best, u.iterations)
        self.progress.emit(
            u.iteration,
            u.iterations,
            f"{u.stage + ' · ' if u.stage else ''}iteration {u.iteration}/{u.iterations} · "
            f"{u.rate:.0f} it/s · {format_seconds(u.eta)} left · best loss {u.losses[u.best]:.4g}",
        )
        self.update_shown.emit(u)

    def _run_finished(self, u: compute.RunUpdate) -> None:
        self.progress_done.emit()
        self.last_update = u
        if self.flow.run_finished(u) is Action.ERROR:
            self.error.emit("Inpainting failed", self.flow.message)
            self._idle()
            return
        self._previews = {}
        best = u.best if 0 <= u.best < len(u.candidates) else int(np.argmin([c.loss for c in u.candidates]))
        if u.preview is not None:
            self._previews[best] = (preview_qimage(u.preview), u.preview.rect)
        self._show_frame(u)
        self.candidates.show_candidates(
            [c.thumbnail for c in u.candidates],
            np.array([c.loss for c in u.candidates]),
            best,
            live=False,
            labels=[c.label for c in u.candidates],
        )
        self.loss_plot.set_data(u.history_iter, u.history_losses, best, u.iterations)
        self.candidates.select_silently(best)
        self.choose(best)
        self._show_region(u.info)
        what = (
            f"Cancelled at iteration {u.iteration}/{u.iterations}"
            if u.cancelled
            else f"Done: {u.iteration} iterations in {u.elapsed:.1f} s"
        )
        self.status.emit(
            f"{what}; best: {u.candidates[best].label or best + 1} (loss {u.candidates[best].loss:.4g}). "
            "Click one to preview, Return to apply.",
            0,
        )
        self.update_shown.emit(u)
        self.state_changed.emit()

    def _run_failed(self, message: str) -> None:
        self.progress_done.emit()
        self.flow.run_failed()
        self._clear_candidates()
        self._idle()
        self.error.emit("Inpainting failed", message)

    def _finished(self, doc, patch) -> None:
        self.progress_done.emit()
        if doc is not self.docs.doc:
            return  # another photo was opened meanwhile (the flow was reset then)
        x, y = patch.origin
        h, w = patch.changed.shape
        current = doc.image[y : y + h, x : x + w]
        pixels = np.where(patch.changed[..., None], patch.pixels, current)  # only the hole changes
        applied = self.region
        try:
            changed = doc.apply_patch((x, y), pixels, patch.changed, "Apply fill")
        except ValueError as exc:  # the photo changed size meanwhile (cannot happen today)
            changed = False
            self.error.emit("Cannot apply", str(exc))
        else:
            self.status.emit(
                "Fill applied (Ctrl+Z undoes it)."
                if changed
                else "Nothing was left to fill in this region; the photo is unchanged.",
                5000,
            )
        action = self.flow.finish_done((x, y, x + w, y + h), doc.last_step() if changed else None)
        self._clear_candidates()
        if applied is not None and self.canvas.frame == region_rect(applied):
            self._set_locked(False)  # its hole is filled: the next region is placed automatically
        self._act(action)
        self.state_changed.emit()

    def _finish_failed(self, message: str) -> None:
        self.progress_done.emit()
        self.flow.finish_failed()
        self.state_changed.emit()
        if self.result is not None and self.selected in self._previews:
            self.canvas.set_preview(*self._previews[self.selected])
        self.error.emit("Applying failed", message)

    def _clear_candidates(self) -> None:
        self._discard("preview")
        self.flow.result, self.flow.selected = None, -1
        self._previews = {}
        self.canvas.set_preview(None)
        self.candidates.clear_candidates()

    def _idle(self) -> None:
        """Back to no run, no candidates: plan what changed meanwhile."""
        self._act(self.flow.idle())
        self.state_changed.emit()

    def shutdown(self) -> None:
        self._closed = True
        self._timer.stop()
        self.flow.run_after_plan = False
        self._discard(*self._ids)
