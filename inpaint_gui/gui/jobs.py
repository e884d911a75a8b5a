"""The one background pattern: jobs run one at a time on a long-lived worker thread.

A :class:`JobRunner` owns a ``QThread`` with a worker ``QObject`` moved into it. ``submit``
queues a :class:`Job` (an id, a kind, ``fn(ctx)`` and a cancel event); the worker runs it and
the runner re-emits, on the GUI thread::

    progress(job_id, payload)   # what fn passed to ctx.report()
    finished(job_id, result)    # what fn returned
    failed(job_id, message)     # one line for a dialog (friendly_error); the traceback is logged

``submit`` also takes optional ``on_progress``, ``on_finished`` and ``on_failed`` callbacks,
called on the GUI thread just like the signals (the usual way to handle a job's outcome).
Only *live* jobs are reported: ``discard(job_id)`` (or submitting another job on the same
``lane``) sets the job's event and drops whatever it still sends, so a slot never sees a
result that is no longer wanted. ``cancel(job_id)`` only sets the event: the job ends early
and its (partial) result is still delivered. Cancelling never waits: the event is a
``threading.Event`` the job polls (a queued slot would not run while the worker is busy).

Jobs get copies of what they work on, and everything they report or return must be freshly
allocated, so nothing is shared between the threads while a job runs. ``resources`` (e.g.
``Engines``) is made once, in the worker thread, and handed to every job as ``ctx.resources``.
``shutdown`` discards every job, quits the thread and waits for it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from inpaint_gui.core.errors import InpaintError

log = logging.getLogger(__name__)

_ids = itertools.count(1)  # job ids are unique across runners, so they can never be confused


def friendly_error(exc: BaseException) -> str:
    """One line for a dialog: the user-facing message, or what went wrong in plain words."""
    if isinstance(exc, InpaintError):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    name = exc.__class__.__name__
    if "OutOfMemory" in name or "out of memory" in text.lower():
        return f"Out of memory ({text}). Try fewer restarts, a smaller window or the CPU device."
    if "CUDA" in text or "cuda" in name.lower():
        return f"CUDA error: {text}. Try the CPU device in Settings."
    if isinstance(exc, MemoryError):
        return "Out of memory. Try fewer restarts or a smaller window."
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return f"Unexpected error ({name}: {text}). Details are in the log."


@dataclass(eq=False)
class Job:
    job_id: int
    kind: str  # "run", "plan", "save", ... (for logs and for the caller's bookkeeping)
    fn: Callable[[JobContext], Any]
    cancel: threading.Event = field(default_factory=threading.Event)
    lane: str | None = None
    discarded: bool = False  # set on the GUI thread; the worker skips a discarded job it has not started


class JobContext:
    """What a job's ``fn`` sees: its id, its cancel event, a way to report progress."""

    def __init__(self, job: Job, worker: _Worker):
        self.job_id = job.job_id
        self.kind = job.kind
        self.cancel = job.cancel
        self.resources = worker.resources()
        self._worker = worker

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def report(self, payload: Any) -> None:
        """Send ``payload`` (fresh arrays only) to the GUI thread as ``progress``."""
        self._worker.progress.emit(self.job_id, payload)


class _Worker(QObject):
    """Lives in the runner's thread; its slot is only ever invoked through a queued signal."""

    progress = Signal(int, object)
    finished = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, make_resources: Callable[[], Any] | None):
        super().__init__()
        self._make = make_resources
        self._resources: Any = None

    def resources(self) -> Any:
        if self._resources is None and self._make is not None:
            self._resources = self._make()  # in this thread, on the first job that runs
        return self._resources

    @Slot(object)
    def run(self, job: Job) -> None:
        if job.discarded:
            return  # nobody waits for it any more
        try:
            result = job.fn(JobContext(job, self))
        except InpaintError as exc:  # the user's to fix: the message says it all
            log.info("%s job %d: %s", job.kind, job.job_id, exc)
            self.failed.emit(job.job_id, friendly_error(exc))
            return
        except Exception as exc:
            log.error("%s job %d failed:\n%s", job.kind, job.job_id, traceback.format_exc())
            self.failed.emit(job.job_id, friendly_error(exc))
            return
        self.finished.emit(job.job_id, result)


class JobRunner(QObject):
    """Runs jobs one after another on its own thread; reports live jobs on the GUI thread."""

    progress = Signal(int, object)  # job id, payload
    finished = Signal(int, object)  # job id, result
    failed = Signal(int, str)  # job id, one-line message
    busy_changed = Signal(bool)  # whether any live job is queued or running

    _submit = Signal(object)

    def __init__(self, name: str, resources: Callable[[], Any] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._live: dict[int, Job] = {}
        self._callbacks: dict[int, tuple[Callable | None, Callable | None, Callable | None]] = {}
        self._lanes: dict[str, int] = {}
        self._stopped = False
        self.worker_thread = QThread()
        self.worker_thread.setObjectName(f"inpaint-{name}")
        self._worker = _Worker(resources)
        self._worker.moveToThread(self.worker_thread)
        self._submit.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self.worker_thread.finished.connect(self._worker.deleteLater)
        self.worker_thread.start()

    # -- requests ----------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        fn: Callable[[JobContext], Any],
        lane: str | None = None,
        *,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
    ) -> int:
        """Queue ``fn`` as a job; returns its id. A job on ``lane`` discards the lane's previous job."""
        if self._stopped:
            raise RuntimeError(f"the {self.name} runner is shut down")
        job = Job(next(_ids), kind, fn, lane=lane)
        if lane is not None and lane in self._lanes:
            self.discard(self._lanes[lane])
        was_busy = self.busy
        self._live[job.job_id] = job
        self._callbacks[job.job_id] = (on_progress, on_finished, on_failed)
        if lane is not None:
            self._lanes[lane] = job.job_id
        if not was_busy:
            self.busy_changed.emit(True)
        self._submit.emit(job)
        return job.job_id

    def cancel(self, job_id: int | None) -> None:
        """Ask a job to stop early; its result (best so far) is still delivered."""
        job = self._live.get(job_id) if job_id is not None else None
        if job is not None:
            job.cancel.set()

    def discard(self, job_id: int | None) -> None:
        """Stop a job and forget it: nothing it sends is reported any more."""
        job = self._live.get(job_id) if job_id is not None else None
        if job is not None:
            job.cancel.set()
            job.discarded = True
            self._forget(job)

    def discard_all(self) -> None:
        for job_id in list(self._live):
            self.discard(job_id)

    def is_live(self, job_id: int | None) -> bool:
        return job_id is not None and job_id in self._live

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Discard every job, stop the thread and wait for it; True if it stopped."""
        if self._stopped:
            return True
        self.discard_all()
        self.worker_thread.quit()
        ok = self.worker_thread.wait(timeout_ms)
        self._stopped = ok
        return ok

    # -- the worker's signals, on the GUI thread ------------------------------------------
    def _forget(self, job: Job) -> None:
        was_busy = self.busy
        self._live.pop(job.job_id, None)
        self._callbacks.pop(job.job_id, None)
        if job.lane is not None and self._lanes.get(job.lane) == job.job_id:
            del self._lanes[job.lane]
        if was_busy and not self.busy:
            self.busy_changed.emit(False)

    def _on_progress(self, job_id: int, payload: Any) -> None:
        if job_id in self._live:
            callback = self._callbacks[job_id][0]
            if callback is not None:
                callback(payload)
            if job_id in self._live:  # the callback may have discarded it
                self.progress.emit(job_id, payload)

    def _on_finished(self, job_id: int, result: Any) -> None:
        job = self._live.get(job_id)
        if job is not None:
            callback = self._callbacks[job_id][1]
            self._forget(job)
            if callback is not None:
                callback(result)
            self.finished.emit(job_id, result)

    def _on_failed(self, job_id: int, message: str) -> None:
        job = self._live.get(job_id)
        if job is not None:
            callback = self._callbacks[job_id][2]
            self._forget(job)
            if callback is not None:
                callback(message)
            self.failed.emit(job_id, message)
