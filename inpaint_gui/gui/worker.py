"""The one background thread: loads the model once, runs latent searches and blends.

A :class:`Worker` lives in a long-lived ``QThread``; the GUI talks to it only through
:class:`WorkerController`. Jobs are frozen dataclasses built from copies on the GUI thread;
cancelling sets the job's ``threading.Event`` directly (a queued slot would not run while
the worker is busy). Every payload the worker emits holds freshly allocated arrays, and the
controller drops whatever belongs to a job that is no longer current.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from inpaint_gui.core.image.preview import PreviewContext, composite, make_context

log = logging.getLogger(__name__)

Window = tuple[int, int, int]
PREVIEW_INTERVAL = 0.1  # seconds between previews sent to the screen (about 10 per second)

_job_ids = itertools.count(1)


@dataclass(frozen=True)
class SearchJob:
    job_id: int
    image: np.ndarray  # uint8 (size, size, 3): a copy of the photo inside the window
    mask: np.ndarray  # bool (size, size): a copy of the hole inside the window
    window: Window  # where the crop sits in the photo (full-resolution pixels)
    settings: object  # JobSettings
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class BlendJob:
    job_id: int
    image: np.ndarray  # uint8 (h, w, 3): the window plus a 1-pixel margin, copied from the photo
    mask: np.ndarray  # bool (h, w): the job's hole inside that crop
    window: Window  # the window in the crop's coordinates
    origin: tuple[int, int]  # (x, y) of the crop in the photo
    fill: np.ndarray  # uint8 (S, S, 3): the chosen candidate
    blend: str  # "poisson" or "paste"
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass
class SearchProgress:
    job_id: int
    iteration: int
    iterations: int
    total: np.ndarray  # float (K,) losses at the latest iteration
    best: int
    previews: np.ndarray  # uint8 (K, S, S, 3)
    composite: np.ndarray  # uint32 (P, P) premultiplied ARGB of the best restart in the hole
    history_iter: np.ndarray  # int (T,)
    history_total: np.ndarray  # float (T, K)
    elapsed: float
    rate: float  # iterations per second
    eta: float  # seconds left (nan if unknown)


@dataclass
class SearchResult:
    job_id: int
    window: Window
    mask: np.ndarray  # bool (size, size): the hole the candidates fill
    previews: np.ndarray  # uint8 (K, S, S, 3): best G(z) of every restart
    total: np.ndarray  # float (K,)
    best: int
    history_iter: np.ndarray
    history_total: np.ndarray
    iteration: int
    iterations: int
    elapsed: float
    cancelled: bool
    context: PreviewContext


@dataclass
class BlendResult:
    job_id: int
    origin: tuple[int, int]
    image: np.ndarray  # uint8 (h, w, 3): the blended crop
    region: np.ndarray  # bool (h, w): the hole pixels that were filled


def friendly_error(exc: BaseException) -> str:
    """One line for a dialog: the user-facing message, or what went wrong in plain words."""
    from inpaint_gui.core.errors import InpaintError

    if isinstance(exc, InpaintError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    name = exc.__class__.__name__
    if "OutOfMemory" in name or "out of memory" in text.lower():
        return f"Out of memory ({text}). Try fewer restarts, a smaller window or the CPU device."
    if "CUDA" in text or "cuda" in name.lower():
        return f"CUDA error: {text}. Try the CPU device in Settings."
    if isinstance(exc, MemoryError):
        return "Out of memory. Try fewer restarts or a smaller window."
    return f"Unexpected error ({name}: {text}). Details are in the log."


class Worker(QObject):
    """Runs in the worker thread. Slots are invoked through queued signals only."""

    model_loaded = Signal(object, str)  # LoadedModel, device description
    model_failed = Signal(str)
    preview_ready = Signal(int, object)  # job id, SearchProgress
    finished = Signal(int, object)  # job id, SearchResult
    failed = Signal(int, str)  # job id, message
    blend_done = Signal(int, object)  # job id, BlendResult

    def __init__(self) -> None:
        super().__init__()
        self.model = None

    @Slot(object)
    def load_model(self, spec: object) -> None:
        try:
            if isinstance(spec, (str, type(None))) or hasattr(spec, "__fspath__"):
                from inpaint_gui.core.engines.gan.weights import default_model_name, load_model

                model = load_model(spec or default_model_name())
            else:
                model = spec  # an already loaded model (tests, or a model built in memory)
            _warm_up(model)
            self.model = model
            self.model_loaded.emit(model, _describe("auto"))
        except Exception as exc:  # noqa: BLE001 - every failure must reach the user
            log.exception("model loading failed")
            self.model = None
            self.model_failed.emit(friendly_error(exc))

    @Slot(object)
    def run_search(self, job: SearchJob) -> None:
        try:
            if self.model is None:
                from inpaint_gui.core.errors import WeightsError

                raise WeightsError("no model is loaded (see File > Open model or the --model option)")
            self._search(job)
        except Exception as exc:  # noqa: BLE001
            log.error("search job %d failed:\n%s", job.job_id, traceback.format_exc())
            self.failed.emit(job.job_id, friendly_error(exc))

    def _search(self, job: SearchJob) -> None:
        import torch

        from inpaint_gui.core.devices import compute_threads
        from inpaint_gui.core.engines.gan.search import latent_search
        from inpaint_gui.core.image.resample import to_model

        torch.set_num_threads(compute_threads(leave_for_ui=True))
        s = job.settings
        res = self.model.config.resolution
        size = job.window[2]
        image_small, mask_small = to_model(job.image, job.mask, (0, 0, size), res)
        ctx = make_context(job.mask, (0, 0, size))
        ctx = PreviewContext(window=job.window, side=ctx.side, alpha=ctx.alpha)
        search = s.search_settings(preview_every=max(1, s.iterations // 200), preview_seconds=PREVIEW_INTERVAL / 2)
        hist_iter: list[int] = []
        hist_total: list[np.ndarray] = []
        last_emit = 0.0
        final = None
        for step in latent_search(self.model, image_small, mask_small, search, job.cancel):
            hist_iter.append(step.iteration)
            hist_total.append(np.asarray(step.total, dtype=np.float64).copy())
            if step.done:
                final = step
                break
            now = time.perf_counter()
            if step.previews is None or now - last_emit < PREVIEW_INTERVAL:
                continue
            last_emit = now
            rate = step.iteration / step.elapsed if step.elapsed > 0 else 0.0
            eta = (step.iterations - step.iteration) / rate if rate > 0 else float("nan")
            best = int(step.best)
            self.preview_ready.emit(job.job_id, SearchProgress(
                job_id=job.job_id, iteration=step.iteration, iterations=step.iterations,
                total=np.array(step.total, dtype=np.float64), best=best,
                previews=np.array(step.previews, copy=True),
                composite=composite(ctx, step.previews[best]),
                history_iter=np.array(hist_iter), history_total=np.stack(hist_total),
                elapsed=step.elapsed, rate=rate, eta=eta))
        assert final is not None
        self.finished.emit(job.job_id, SearchResult(
            job_id=job.job_id, window=job.window, mask=job.mask.copy(),
            previews=np.array(final.previews, copy=True), total=np.array(final.total, dtype=np.float64),
            best=int(final.best), history_iter=np.array(hist_iter), history_total=np.stack(hist_total),
            iteration=final.iteration, iterations=final.iterations, elapsed=final.elapsed,
            cancelled=bool(getattr(final, "cancelled", job.cancel.is_set())), context=ctx))

    @Slot(object)
    def run_blend(self, job: BlendJob) -> None:
        try:
            from inpaint_gui.core.pipeline import compose

            out = compose(job.image, job.mask, job.window, job.fill, blend=job.blend)
            region = np.zeros(job.mask.shape, bool)
            x, y, size = job.window
            region[y : y + size, x : x + size] = job.mask[y : y + size, x : x + size]
            self.blend_done.emit(job.job_id, BlendResult(job.job_id, job.origin, np.array(out, copy=True), region))
        except Exception as exc:  # noqa: BLE001
            log.error("blend job %d failed:\n%s", job.job_id, traceback.format_exc())
            self.failed.emit(job.job_id, friendly_error(exc))


def _warm_up(model) -> None:
    """Run a two-step search on a dummy window, in this thread, right after loading.

    The first search in a process imports modules and initialises torch's kernels and
    autograd; much of that holds the GIL for tenths of a second. Doing it here, before any
    job, keeps those pauses away from the GUI while a real job runs.
    """
    import importlib

    import torch

    from inpaint_gui.core.devices import compute_threads
    from inpaint_gui.core.engines.gan.search import SearchSettings, latent_search
    from inpaint_gui.core.image.resample import to_model

    importlib.import_module("inpaint_gui.core.pipeline")  # imported now rather than at the first Apply
    torch.set_num_threads(compute_threads(leave_for_ui=True))
    s = model.config.resolution
    image = np.full((2 * s, 2 * s, 3), 128, np.uint8)
    mask = np.zeros((2 * s, 2 * s), bool)
    mask[s // 2 : s, s // 2 : s] = True
    small, small_mask = to_model(image, mask, (0, 0, 2 * s), s)
    composite(make_context(mask, (0, 0, 2 * s)), small)
    if model.device.type != "cpu":
        return  # a GPU model is warmed by its first job; keep start-up quick
    for _ in latent_search(model, small, small_mask, SearchSettings(iterations=2, restarts=2, device="cpu",
                                                                    preview_every=1)):
        pass


def _describe(device_name: str) -> str:
    try:
        from inpaint_gui.core.devices import describe_device, resolve_device

        return describe_device(resolve_device(device_name))
    except Exception as exc:  # noqa: BLE001
        return f"unavailable ({friendly_error(exc)})"


class WorkerController(QObject):
    """GUI-side handle of the worker thread: starts and cancels jobs, filters stale signals."""

    model_ready = Signal(object, str)  # LoadedModel, device description
    model_error = Signal(str)
    progress = Signal(object)  # SearchProgress of the current job
    search_finished = Signal(object)  # SearchResult
    blend_finished = Signal(object)  # BlendResult
    job_failed = Signal(str, str)  # kind ("search" or "blend"), message
    busy_changed = Signal(bool)

    _load = Signal(object)
    _search = Signal(object)
    _blend = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.model = None
        self.current: SearchJob | BlendJob | None = None
        self.thread = QThread()
        self.thread.setObjectName("inpaint-worker")
        self.worker = Worker()
        self.worker.moveToThread(self.thread)
        self._load.connect(self.worker.load_model)
        self._search.connect(self.worker.run_search)
        self._blend.connect(self.worker.run_blend)
        self.worker.model_loaded.connect(self._on_model_loaded)
        self.worker.model_failed.connect(self.model_error)
        self.worker.preview_ready.connect(self._on_preview)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.blend_done.connect(self._on_blend)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.start()
        self._stopped = False

    # -- requests --------------------------------------------------------------------
    def load_model(self, spec: object) -> None:
        """Load a model by name/path (None: the default) or hand over a LoadedModel."""
        self._load.emit(spec)

    def is_busy(self) -> bool:
        return self.current is not None

    def start_search(self, image: np.ndarray, mask: np.ndarray, window: Window, settings: object) -> int:
        """Start a search on copies of the window's pixels; returns the job id."""
        self.cancel()
        x, y, size = (int(v) for v in window)
        job = SearchJob(next(_job_ids), np.array(image[y : y + size, x : x + size], copy=True),
                        np.array(mask[y : y + size, x : x + size], dtype=bool, copy=True), (x, y, size), settings)
        self._begin(job)
        self._search.emit(job)
        return job.job_id

    def start_blend(self, image: np.ndarray, result: SearchResult, candidate: int, blend: str) -> int:
        """Blend candidate ``candidate`` of ``result`` into a copy of the photo around its window."""
        self.cancel()
        x, y, size = result.window
        h, w = image.shape[:2]
        x0, y0 = max(0, x - 1), max(0, y - 1)
        x1, y1 = min(w, x + size + 1), min(h, y + size + 1)
        crop = np.array(image[y0:y1, x0:x1], copy=True)
        mask = np.zeros(crop.shape[:2], bool)
        mask[y - y0 : y - y0 + size, x - x0 : x - x0 + size] = result.mask
        job = BlendJob(next(_job_ids), crop, mask, (x - x0, y - y0, size), (x0, y0),
                       np.array(result.previews[candidate], copy=True), blend)
        self._begin(job)
        self._blend.emit(job)
        return job.job_id

    def cancel(self) -> None:
        """Stop the current search (it still reports its best so far); forget a blend."""
        job = self.current
        if job is None:
            return
        job.cancel.set()
        if isinstance(job, BlendJob):
            self._end()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel, stop the thread and wait for it; True if it stopped."""
        if self._stopped:
            return True
        if self.current is not None:
            self.current.cancel.set()
        self.current = None
        self.thread.quit()
        ok = self.thread.wait(timeout_ms)
        self._stopped = ok
        return ok

    # -- bookkeeping -------------------------------------------------------------------
    def _begin(self, job: SearchJob | BlendJob) -> None:
        was_busy = self.current is not None
        self.current = job
        if not was_busy:
            self.busy_changed.emit(True)

    def _end(self) -> None:
        if self.current is not None:
            self.current = None
            self.busy_changed.emit(False)

    def _is_current(self, job_id: int) -> bool:
        return self.current is not None and self.current.job_id == job_id

    def _on_model_loaded(self, model: object, description: str) -> None:
        self.model = model
        self.model_ready.emit(model, description)

    def _on_preview(self, job_id: int, progress: SearchProgress) -> None:
        if self._is_current(job_id) and not self.current.cancel.is_set():  # type: ignore[union-attr]
            self.progress.emit(progress)

    def _on_finished(self, job_id: int, result: SearchResult) -> None:
        if self._is_current(job_id):
            self._end()
            self.search_finished.emit(result)

    def _on_blend(self, job_id: int, result: BlendResult) -> None:
        if self._is_current(job_id):
            self._end()
            self.blend_finished.emit(result)

    def _on_failed(self, job_id: int, message: str) -> None:
        if self._is_current(job_id):
            kind = "blend" if isinstance(self.current, BlendJob) else "search"
            self._end()
            self.job_failed.emit(kind, message)
