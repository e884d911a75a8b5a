"""Nothing lost: the window keeps a recovery copy of unsaved work and offers it after a crash.

While the open photo has unsaved work -- its hole and "don't copy from" layers, the applied
fills -- a recovery copy is kept in the user's state folder (``QStandardPaths.StateLocation``
/ ``recovery``, e.g. ``~/.local/state/inpaint-gui/inpaint-gui/recovery`` on Linux;
``$INPAINT_GUI_RECOVERY_DIR`` overrides it). It is written :data:`DELAY_MS` after the last
change (at most :data:`MAX_WAIT_MS` after the first one not yet kept), by a job on a runner of
its own (:mod:`inpaint_gui.gui.jobs`): the GUI thread only copies a layer that changed and
takes references to the fills (never changed once made); the files are ``core/recovery.py``'s.

Each running window owns one folder, locked with a ``QLockFile`` (released by the system when
the process dies). At the next start :meth:`RecoveryKeeper.offer` finds the folders whose lock
is free but which still hold a copy -- the window that wrote them did not close cleanly -- and
asks "Recover the work on NAME from TIME?". Recovering reloads the photo from its file, checks
it is the same (size, time, SHA-256, and each fill's "before" pixels), and brings back the same
pixels, layers and undo history of the applied fills (brush strokes are in the layers but are
not separate undo steps); the window then keeps writing into that folder. Discard removes the
copy; Not now keeps it for the next start. Saving the photo, opening another one after the
unsaved-changes question, and closing the window remove it.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, QLockFile, QObject, QStandardPaths, QTimer, Signal

from inpaint_gui.core import recovery as core
from inpaint_gui.gui import dialogs
from inpaint_gui.gui.jobs import JobRunner
from inpaint_gui.gui.undo import Command, Compound, MaskDiff, PixelPatch, bbox

log = logging.getLogger(__name__)

ENV_DIR = "INPAINT_GUI_RECOVERY_DIR"  # where the copies are kept (tests, or a roomier disk)
ENV_DELAY = "INPAINT_GUI_RECOVERY_DELAY_MS"  # the delay after a change (tests)
DELAY_MS = 3000
MAX_WAIT_MS = 15000  # brushing on without a pause still gets a copy this often


def recovery_root() -> Path:
    """The folder that holds every window's recovery folder."""
    env = os.environ.get(ENV_DIR, "").strip()
    if env:
        return Path(env)
    kinds = QStandardPaths.StandardLocation
    base = QStandardPaths.writableLocation(getattr(kinds, "StateLocation", kinds.AppLocalDataLocation))  # Qt < 6.7
    if not base:
        base = os.path.join(os.path.expanduser("~"), ".local", "state", "inpaint-gui")
    return Path(base) / "recovery"


def _delay_from_env() -> int:
    try:
        return max(0, int(os.environ.get(ENV_DELAY, "")))
    except ValueError:
        return DELAY_MS


_NO_BASE = (0, frozenset(), False)  # _history's key when the photo's file holds every pixel under the fills


def _same_file(a, b) -> bool:
    try:
        return a is not None and b is not None and os.path.samefile(a, b)
    except OSError:
        return False


# -- undo steps <-> the copy's fills ----------------------------------------------------------------
def _flat(cmd: Command) -> list[Command]:
    return [q for p in cmd.parts for q in _flat(p)] if isinstance(cmd, Compound) else [cmd]


def fill_of(cmd: Command) -> core.Fill:
    """An applied fill (a pixel-changing undo step) as the copy keeps it (no pixels copied)."""
    parts: list[core.PixelPart | core.MaskPart] = []
    for p in _flat(cmd):
        if isinstance(p, PixelPatch):
            parts.append(core.PixelPart(p.rect, p.before, p.after))
        elif isinstance(p, MaskDiff):
            parts.append(core.MaskPart(p.layer, p.rect, p.shape, p.bits))
    return core.Fill(cmd.label, parts)


def command_of(fill: core.Fill) -> Compound:
    """The undo step of a recovered fill."""
    parts: list[Command] = []
    for p in fill.parts:
        if isinstance(p, core.PixelPart):
            parts.append(PixelPatch(fill.label, p.rect, p.before, p.after))
        else:
            parts.append(MaskDiff.from_bits(fill.label, p.rect, p.shape, p.bits, p.layer))
    return Compound(fill.label, parts)


def _base_patch(image: np.ndarray, applied: list[Command], original: np.ndarray) -> core.PixelPart | None:
    """The pixels of the fills the history dropped: ``image`` (a copy) with the ``applied`` steps
    undone, where it differs from the photo as loaded."""
    for cmd in reversed(applied):
        for p in reversed(_flat(cmd)):
            if isinstance(p, PixelPatch):
                x0, y0, x1, y1 = p.rect
                image[y0:y1, x0:x1] = p.before
    rect = bbox(np.any(image != original, axis=2))
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    return core.PixelPart(rect, np.zeros((0, 0, 3), np.uint8), image[y0:y1, x0:x1].copy())


def when(t: float, now: float | None = None) -> str:
    """``t`` for a question: "today at 14:03", "yesterday at 09:12" or "on 2025-12-06 at 14:03"."""
    then, today = datetime.fromtimestamp(t), datetime.fromtimestamp(time.time() if now is None else now).date()
    day = {0: "today", 1: "yesterday"}.get((today - then.date()).days, f"on {then:%Y-%m-%d}")
    return f"{day} at {then:%H:%M}"


# -- the keeper ---------------------------------------------------------------------------------------
class RecoveryKeeper(QObject):
    """Keeps the open document's recovery copy and offers the copies of windows that crashed."""

    status = Signal(str, int)  # message, milliseconds
    written = Signal(object)  # the folder, after each copy is kept
    removed = Signal()  # the copy was removed (saved, discarded, closed cleanly)

    def __init__(self, docs, files, parent_widget=None, root: str | os.PathLike | None = None, delay_ms=None):
        super().__init__(parent_widget)
        self.docs, self.files, self.parent_widget = docs, files, parent_widget
        self.root = Path(root) if root is not None else recovery_root()
        self.delay_ms = _delay_from_env() if delay_ms is None else int(delay_ms)
        self.folder: Path | None = None  # this window's folder, made on the first write
        self._lock: QLockFile | None = None
        self._runner: JobRunner | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.write_now)
        self._since = QElapsedTimer()  # since the first change not yet kept
        self._doc = None
        self._dirty = False
        self._kept = False  # the folder holds a copy of the current document's work
        self._job: int | None = None  # the write in flight (one at a time: ``_known`` follows it)
        self._known: core.Written | None = None
        self._layers_dirty = set(core.LAYERS)
        self._base_key: object = _NO_BASE  # what the copy's base patch is for (see _history)
        # After a save over the photo's own file: the pixels it now holds and the fills in them.
        self._origin: np.ndarray | None = None
        self._baked: frozenset[int] = frozenset()
        self._stamp: core.PhotoStamp | None = None
        self._last_error = ""
        self._closed = False
        docs.changed.connect(self._document_changed)
        files.done.connect(self._file_done)

    @property
    def up_to_date(self) -> bool:
        """The copy holds the current work (none pending: no change waiting, no write in flight)."""
        return self._kept and not self._dirty and self._job is None

    # -- following the document ---------------------------------------------------------------------
    def _document_changed(self, doc) -> None:
        if self._doc is not None:
            for signal, slot in self._slots():
                signal.disconnect(slot)
        self._doc = doc
        self._reset()
        self._origin, self._baked = None, frozenset()
        self.remove()  # the work on the previous photo was saved or given up (the unsaved-changes question)
        if doc is not None:
            for signal, slot in self._slots():
                signal.connect(slot)

    def _slots(self):
        d = self._doc
        return [
            (d.history_changed, self._changed),
            (d.mask_changed, self._mask_changed),
            (d.exclude_changed, self._exclude_changed),
        ]

    def _mask_changed(self, _rect=None) -> None:
        self._layers_dirty.add("mask")

    def _exclude_changed(self, _rect=None) -> None:
        self._layers_dirty.add("exclude")

    def _reset(self) -> None:
        self._timer.stop()
        self._dirty = False
        self._known, self._stamp, self._base_key = None, None, _NO_BASE
        self._layers_dirty = set(core.LAYERS)
        if self._runner is not None and self._job is not None:
            self._runner.discard(self._job)  # it finishes on disk; what it returns is no longer ours
        self._job = None

    def _keepable(self) -> bool:
        doc = self._doc
        return doc is not None and doc.path is not None and getattr(doc, "photo", None) is not None

    def _changed(self) -> None:
        if self._closed or not self._keepable():
            return
        if not self._dirty:
            self._since.start()
        self._dirty = True
        self._schedule()

    def _schedule(self) -> None:
        left = MAX_WAIT_MS - (self._since.elapsed() if self._since.isValid() else 0)
        self._timer.start(max(0, min(self.delay_ms, left)))

    def _file_done(self, kind: str, ok: bool) -> None:
        doc = self._doc
        if kind == "save" and ok and doc is not None and not doc.is_modified():
            self._reset()
            self.remove()
            if doc.save_path is not None and _same_file(doc.save_path, doc.path):  # "Overwrite original"
                stack = doc.undo_stack
                self._origin = doc.image.copy()  # the file's pixels now: the copy's fills start here
                self._baked = frozenset(c.uid for c in stack.commands[: stack.index] if c.changes_image)

    # -- writing ------------------------------------------------------------------------------------
    def _runner_(self) -> JobRunner:
        if self._runner is None:
            self._runner = JobRunner("recovery", parent=self)
        return self._runner

    def _ensure_folder(self) -> Path:
        if self.folder is None:
            folder = self.root / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
            folder.mkdir(parents=True, mode=0o700)
            lock = QLockFile(str(folder / core.LOCK))
            lock.setStaleLockTime(0)  # stale only when the process that holds it is gone
            if not lock.tryLock(0):
                raise OSError(f"cannot lock {folder}")
            self.folder, self._lock = folder, lock
        return self.folder

    def write_now(self) -> None:
        """Keep a copy of the current work now (normally called by the debounce timer)."""
        doc = self._doc
        if self._closed or not self._dirty or not self._keepable():
            return
        if self._job is not None:  # one at a time; this change is written when it is done
            return
        fills_cmds, applied_cmds, base_key = self._history(doc.undo_stack)
        if not applied_cmds and base_key == _NO_BASE and not doc.mask.any() and not doc.exclude.any():
            self._dirty = False  # all undone (a redo history alone is not work to keep)
            self.remove()
            return
        try:
            folder = self._ensure_folder()
        except OSError as exc:
            self._failed(f"{self.root}: {exc.strerror or exc}")
            return
        known = self._known or core.Written()
        fills = [(c.uid, None if c.uid in known.fills else fill_of(c)) for c in fills_cmds]
        layers = {k: getattr(doc, k).copy() for k in self._layers_dirty}
        new_base = base_key != self._base_key
        origin = self._origin if self._origin is not None else doc.photo.image
        base_job = (doc.image.copy(), applied_cmds, origin) if new_base and base_key != _NO_BASE else None
        stamp, path, shape = self._stamp, doc.path, doc.image.shape[:2]
        self._dirty, self._layers_dirty = False, set()
        self._since.invalidate()

        def job(ctx):
            photo = stamp if stamp is not None else core.PhotoStamp.of(path)
            base: object = core.KEEP
            if new_base:
                base = _base_patch(*base_job) if base_job is not None else None
            written = core.write(folder, photo, shape, fills, len(applied_cmds), layers, base=base, known=known)
            return written, photo

        def finished(result) -> None:
            self._job = None
            self._known, self._stamp = result
            self._base_key, self._kept, self._last_error = base_key, True, ""
            self.written.emit(folder)
            if self._dirty:
                self._schedule()

        def failed(message: str) -> None:
            self._job = None
            self._layers_dirty |= set(layers)  # written next time
            self._failed(message)

        self._job = self._runner_().submit("recovery", job, lane="write", on_finished=finished, on_failed=failed)

    def _history(self, stack) -> tuple[list[Command], list[Command], object]:
        """The fills the copy keeps as undo steps, those of them in effect, and the key of what the
        base patch must hold: the pixels under those fills that differ from the photo's file --
        fills the history dropped (its budget), or, after a save over the file, the fills it holds
        that were undone since (then the copy keeps no fill of the history: its steps were made
        on pixels the file no longer has)."""
        in_effect = {id(c) for c in stack.commands[: stack.index]}
        every = [c for c in stack.commands if c.changes_image]
        undone_baked = any(c.uid in self._baked and id(c) not in in_effect for c in every)
        fills = [] if undone_baked else [c for c in every if c.uid not in self._baked]
        kept = {id(c) for c in fills}
        applied = [c for c in fills if id(c) in in_effect]
        under = frozenset(c.uid for c in every if id(c) in in_effect and id(c) not in kept)
        return fills, applied, (stack.base_image_key, under, undone_baked)

    def _failed(self, message: str) -> None:
        if message != self._last_error:  # once, not after every stroke
            self._last_error = message
            self.status.emit(f"Cannot keep a recovery copy of the work: {message}", 10000)

    def remove(self) -> None:
        """Remove the current copy (its folder stays, locked, for the next one). Also after a
        write that was discarded in flight: it runs to its end before this removal does."""
        if self.folder is None:
            return
        folder, was_kept, self._kept = self.folder, self._kept, False
        self._runner_().submit("recovery", lambda ctx: core.discard(folder), lane="remove")
        if was_kept:
            self.removed.emit()

    def shutdown(self, clean: bool = True) -> None:
        """Stop writing; a ``clean`` close (the unsaved-changes question was answered) removes the
        copy and the folder."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        if self._runner is not None:
            self._runner.shutdown()
        if self.folder is not None and clean:
            core.discard(self.folder, keep_lock=True)
        if self._lock is not None:
            self._lock.unlock()
        if self.folder is not None and clean:
            core.discard(self.folder, keep_lock=False)

    # -- the next start -----------------------------------------------------------------------------
    def _orphans(self) -> list[tuple[Path, QLockFile]]:
        """The folders whose window is gone (their lock is free), newest first, locked by us."""
        found = []
        try:
            folders = [p for p in self.root.iterdir() if p.is_dir() and p != self.folder]
        except OSError:
            return []
        for folder in sorted(folders, key=lambda p: p.name, reverse=True):
            lock = QLockFile(str(folder / core.LOCK))
            lock.setStaleLockTime(0)
            if lock.tryLock(0):
                found.append((folder, lock))
        return found

    def offer(self) -> bool:
        """At start: ask about each copy a window that did not close cleanly left; True when one
        is being recovered (the photo is then being opened)."""
        orphans = self._orphans()
        recovering = False
        for folder, lock in orphans:
            if recovering:
                lock.unlock()  # offered at the next start
                continue
            recovering = self._offer_one(folder, lock)
        return recovering

    def _offer_one(self, folder: Path, lock: QLockFile) -> bool:
        try:
            s = core.summary(folder)
        except core.RecoveryError as exc:
            if (folder / core.MANIFEST).exists():
                dialogs.error(self.parent_widget, "Recovery copy damaged", f"{exc}; it was removed.")
            core.discard(folder, keep_lock=True)  # nothing kept (a window that had no unsaved work), or unusable
            lock.unlock()
            core.discard(folder, keep_lock=False)
            return False
        fills = f"{s.applied} applied fill{'s' if s.applied != 1 else ''}" if s.applied else "no applied fill"
        problem = s.photo.problem()
        if problem:
            answer = dialogs.choose(
                self.parent_widget,
                "Recover unsaved work",
                f"The work on {s.name} from {when(s.written)} cannot be recovered: {problem}.",
                f"It was kept in {folder}. Put the photo back as it was and start inpaint-gui again to "
                "recover it, or discard it.",
                [("later", "Keep for Later"), ("discard", "Discard")],
                escape="later",
            )
            return self._settle(answer, folder, lock)
        answer = dialogs.choose(
            self.parent_widget,
            "Recover unsaved work",
            f"Recover the work on {s.name} from {when(s.written)}?",
            f"inpaint-gui did not close cleanly. It kept the hole and don't-copy-from layers and {fills} "
            f"of {s.photo.path}.",
            [("recover", "Recover"), ("discard", "Discard"), ("later", "Not Now")],
        )
        if answer != "recover":
            return self._settle(answer, folder, lock)
        self._recover(folder, lock, s)
        return True

    def _settle(self, answer: str, folder: Path, lock: QLockFile) -> bool:
        if answer == "discard":
            core.discard(folder, keep_lock=True)
            lock.unlock()
            core.discard(folder, keep_lock=False)
        else:
            lock.unlock()
        return False

    def _recover(self, folder: Path, lock: QLockFile, s: core.Summary) -> None:
        """Read and check the copy and the photo in a job; then show them (or say what is wrong)."""

        def job(ctx):
            from inpaint_gui.core.image.io import load_photo

            recovered = core.read(folder)
            photo = load_photo(recovered.photo.path)
            core.replay(photo.image.copy(), recovered)  # every fill's "before" pixels are this photo's
            return photo, recovered

        def failed(message: str) -> None:
            lock.unlock()  # kept for the next start
            dialogs.error(self.parent_widget, "Cannot recover", f"The work on {s.name} cannot be recovered: {message}")

        self.status.emit(f"Recovering the work on {s.name}…", 0)
        self._runner_().submit(
            "recover", job, on_finished=lambda result: self._restore(folder, lock, *result), on_failed=failed
        )

    def _restore(self, folder: Path, lock: QLockFile, photo, recovered: core.Recovery) -> None:
        if self._closed:
            lock.unlock()
            return
        if not self.files.after_unsaved(lambda: self._show(folder, lock, photo, recovered)):
            lock.unlock()  # a photo opened meanwhile, its changes kept: offered again at the next start

    def _show(self, folder: Path, lock: QLockFile, photo, recovered: core.Recovery) -> None:
        self.files.show_photo(recovered.photo.path, photo)  # a new document: our own (empty) copy goes
        doc = self._doc
        if self.folder is not None:  # ours had nothing worth keeping: the recovered folder is ours now
            old, old_lock = self.folder, self._lock
            core.discard(old, keep_lock=True)
            if old_lock is not None:
                old_lock.unlock()
            core.discard(old, keep_lock=False)
        self.folder, self._lock = folder, lock
        _apply(doc, recovered)
        self._reset()
        self._stamp, self._kept = recovered.photo, True
        self._base_key = None if recovered.base is not None else _NO_BASE  # the base is rewritten on the next write
        self.status.emit(
            f"Recovered the work on {recovered.name} from {when(recovered.written)}: "
            f"{recovered.applied} applied fill{'s' if recovered.applied != 1 else ''} (Undo steps back through them)",
            10000,
        )


def _apply(doc, recovered: core.Recovery) -> None:
    """Bring ``doc`` (just opened from the photo) to the recovered pixels, layers and history."""
    if recovered.base is not None:
        x0, y0, x1, y1 = recovered.base.rect
        doc.image[y0:y1, x0:x1] = recovered.base.after
        doc.undo_stack.base_image_key = -1  # pixels of dropped fills, as in a trimmed history
        doc.image_changed.emit(recovered.base.rect)
    for fill in recovered.fills:
        cmd = command_of(fill)
        cmd.redo(doc)  # its pixels (checked by replay) and mask bits (the layers are set below)
        doc.push(cmd)
    for _ in range(len(recovered.fills) - recovered.applied):
        doc.undo()
    full = (0, 0, doc.width, doc.height)
    for layer in core.LAYERS:
        kept = getattr(recovered, layer)
        getattr(doc, layer)[:] = False if kept is None else kept
        (doc.mask_changed if layer == "mask" else doc.exclude_changed).emit(full)
    doc.history_changed.emit()
