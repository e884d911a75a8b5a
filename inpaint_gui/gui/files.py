"""Opening and saving photos and masks, recent files, and the bundled sample photo.

Saving never overwrites the original photo without an explicit confirmation: Save writes
``<name>_inpainted.<ext>`` beside it unless the user chose a path with Save As (and the core
writes atomically: a temporary file, then a rename).

Reading and writing run as jobs on the files runner (:mod:`inpaint_gui.gui.jobs`), one at a
time, while the window stays responsive; the actions that would conflict are disabled while
``busy``. Methods that start a job return True when it started; its outcome arrives later
(``done(kind, ok)``, a dialog on failure). Questions (unsaved changes, overwrite) are asked
first, on the GUI thread. FileOps gets the document holder, the runner, QSettings and the
widget its dialogs belong to; it talks back through signals.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QWidget

from inpaint_gui.gui import dialogs
from inpaint_gui.gui.document import Document, DocumentHolder

log = logging.getLogger(__name__)

MAX_RECENT = 10
SAMPLE_NAMES = ("sample.png", "sample.jpg", "sample.jpeg", "sample.webp", "astronaut.png")
_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
PHOTO_FILTER_EXTS = "*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif *.ppm *.pgm"


def _resource_dirs() -> list[Path]:
    here = Path(__file__).resolve()
    return [here.parents[2] / "resources", here.parents[1] / "resources"]


def sample_photo_path() -> Path | None:
    """The bundled sample photo, looked up in ``<repo>/resources/`` and ``inpaint_gui/resources/``.

    Known names first (``sample.*``, ``astronaut.png``), then any other image there that is
    not a mask or a screenshot. None if there is none.
    """
    for folder in _resource_dirs():
        for name in SAMPLE_NAMES:
            if (folder / name).is_file():
                return folder / name
    for folder in _resource_dirs():
        if folder.is_dir():
            for p in sorted(folder.iterdir()):
                if (
                    p.suffix.lower() in _IMAGE_EXTS
                    and p.is_file()
                    and not p.stem.endswith("_mask")
                    and not p.stem.startswith("screenshot")
                ):
                    return p
    return None


SCENE_SAMPLE = "rocket.jpg"  # the second sample: no face, an object to remove (scene engine)


def scene_sample_path() -> Path | None:
    """The bundled photo without a face (``resources/rocket.jpg``), or None."""
    for folder in _resource_dirs():
        if (folder / SCENE_SAMPLE).is_file():
            return folder / SCENE_SAMPLE
    return None


def sample_mask_path(photo: Path | None = None) -> Path | None:
    """``<stem>_mask.png`` beside the sample photo, if it ships one."""
    photo = photo or sample_photo_path()
    if photo is None:
        return None
    mask = photo.with_name(f"{photo.stem}_mask.png")
    return mask if mask.is_file() else None


def default_save_path(original: Path) -> Path:
    """``<stem>_inpainted<ext>`` beside the original (PNG when its format cannot be written)."""
    from inpaint_gui.core.image.io import SUPPORTED_SAVE_EXTENSIONS

    ext = original.suffix if original.suffix.lower() in SUPPORTED_SAVE_EXTENSIONS else ".png"
    return original.with_name(f"{original.stem}_inpainted{ext}")


def _same_file(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


# -- the jobs (run on the files thread) ----------------------------------------------------------
def _read_photo(ctx, path: Path, mask_path: Path | None):
    from inpaint_gui.core.errors import ImageIOError
    from inpaint_gui.core.image.io import load_mask, load_photo

    try:
        photo = load_photo(path)
        mask = load_mask(mask_path, photo.image.shape) if mask_path is not None else None
    except MemoryError:
        raise ImageIOError(f"{path}: not enough memory to open this photo") from None
    return photo, mask


def _hole_warning(mask, name: str | None) -> str | None:
    from inpaint_gui.core.image.io import hole_share_warning

    return hole_share_warning(mask, name)


def _write_photo(ctx, target: Path, image, doc_meta: dict, quality: int):
    from inpaint_gui.core.devices import compute_threads
    from inpaint_gui.core.image.io import save_photo

    threads = compute_threads(leave_for_ui=True)  # a large PNG is deflated on the cores left free
    return save_photo(target, image, quality=quality, threads=threads, **doc_meta) or []


def _read_mask(ctx, path: Path, shape):
    from inpaint_gui.core.image.io import load_mask

    return load_mask(path, shape)


def _write_mask(ctx, target: Path, mask) -> None:
    from inpaint_gui.core.image.io import save_mask

    save_mask(target, mask)


class FileOps(QObject):
    """File actions of the main window, as jobs on the files runner."""

    status = Signal(str, int)  # message, milliseconds
    busy_changed = Signal(bool)
    recent_changed = Signal()
    done = Signal(str, bool)  # "open", "save", "load-mask" or "save-mask"; whether it worked

    def __init__(self, docs: DocumentHolder, runner, qsettings: QSettings, dialog_parent: QWidget | None = None):
        super().__init__(dialog_parent)
        self.docs = docs
        self.runner = runner
        self.qs = qsettings
        self.parent_widget = dialog_parent
        self._close_pending: Callable[[], None] | None = None
        runner.busy_changed.connect(self._busy_changed)

    @property
    def busy(self) -> bool:
        """A file is being read or written."""
        return self.runner.busy

    def _busy_changed(self, busy: bool) -> None:
        self.busy_changed.emit(busy)
        if not busy and self._close_pending is not None:
            close, self._close_pending = self._close_pending, None
            QTimer.singleShot(0, close)

    def _start(self, kind: str, what: str, fn, on_finished, on_failed_title: str) -> bool:
        if self.busy:
            self.status.emit("Busy with a file; try again when it is done.", 3000)
            return False

        def finished(result):
            self.status.emit("", 0)
            on_finished(result)
            self.done.emit(kind, True)

        def failed(message: str):
            self.status.emit("", 0)
            dialogs.error(self.parent_widget, on_failed_title, message)
            self.done.emit(kind, False)

        self.runner.submit(kind, fn, on_finished=finished, on_failed=failed)
        self.status.emit(what, 0)
        return True

    # -- recent files ---------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.qs.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        items = [p] + [r for r in self.recent() if r != p]
        self.qs.setValue("recent", items[:MAX_RECENT])
        self.recent_changed.emit()

    def clear_recent(self) -> None:
        self.qs.setValue("recent", [])
        self.recent_changed.emit()

    # -- unsaved changes, closing ------------------------------------------------------
    def after_unsaved(self, proceed: Callable[[], object]) -> bool:
        """Ask about unsaved changes, then ``proceed()`` (after a save job if the user chose to
        save). False if the user cancelled (or the save could not start)."""
        doc = self.docs.doc
        if doc is None or not doc.is_modified():
            proceed()
            return True
        answer = dialogs.ask_unsaved(self.parent_widget, doc.path.name if doc.path else "The photo")
        if answer == "cancel":
            return False
        if answer == "save":
            return self.save(then=proceed)
        proceed()
        return True

    def confirm_close(self, close: Callable[[], object]) -> bool:
        """True if the window may close now. With unsaved changes the user chooses; "save"
        starts a save job that calls ``close`` once the photo is saved. While a file job runs,
        ``close`` is called when it is over."""
        if self.busy:
            self._close_pending = close
            self.status.emit("Closing once the file is written…", 0)
            return False
        doc = self.docs.doc
        if doc is None or not doc.is_modified():
            return True
        answer = dialogs.ask_unsaved(self.parent_widget, doc.path.name if doc.path else "The photo")
        if answer == "discard":
            return True
        if answer == "save":
            self.save(then=close)
        return False

    # -- open -----------------------------------------------------------------------
    def open_dialog(self) -> None:
        doc = self.docs.doc
        start = str(doc.path.parent) if doc and doc.path else str(self.qs.value("last_dir", ""))
        path = dialogs.open_file(
            self.parent_widget, "Open photo", start, f"Images ({PHOTO_FILTER_EXTS});;All files (*)"
        )
        if path:
            self.open_photo(path)

    def open_sample(self, scene: bool = False) -> None:
        """Open a bundled sample with its sample hole, ready to inpaint: the face photo, or with
        ``scene`` the photo with an object to remove."""
        path = scene_sample_path() if scene else sample_photo_path()
        if path is None:
            dialogs.error(self.parent_widget, "No sample photo", "The sample photo is not installed (resources/).")
            return
        self.open_photo(path, sample_mask_path(path))

    def open_photo(self, path: str | os.PathLike, mask_path: str | os.PathLike | None = None) -> bool:
        """Open a photo (and optionally its mask) in a job; the current photo stays if it fails."""
        if self.busy:
            self.status.emit("Busy with a file; try again when it is done.", 3000)
            return False
        path = Path(path)
        mask = Path(mask_path) if mask_path is not None else None
        return self.after_unsaved(
            lambda: self._start(
                "open",
                f"Opening {path.name}…",
                partial(_read_photo, path=path, mask_path=mask),
                partial(self._opened, path),
                "Cannot open",
            )
        )

    def show_photo(self, path: str | os.PathLike, photo, mask=None) -> None:
        """Make ``photo`` (read by another job: the recovery's) the open document, as Open does."""
        self._opened(Path(path), (photo, mask))

    def _opened(self, path: Path, result) -> None:
        photo, mask = result
        doc = Document(
            photo.image,
            mask,
            path=path,
            alpha=photo.alpha,
            icc_profile=photo.icc_profile,
            exif=photo.exif,
            format=photo.format,
            dpi=getattr(photo, "dpi", None),
            photo=photo,
        )
        self.docs.set(doc)
        self.qs.setValue("last_dir", str(path.parent))
        self.add_recent(path)
        notes = list(getattr(photo, "warnings", []) or [])
        if mask is not None and (large := _hole_warning(mask, None)) is not None:
            notes.insert(0, large)
        self.status.emit(
            f"Opened {path.name} ({photo.width}×{photo.height})" + (f" — note: {notes[0]}" if notes else ""), 8000
        )

    # -- save -----------------------------------------------------------------------
    def save(self, then: Callable[[], object] | None = None) -> bool:
        """Save beside the original as ``<name>_inpainted`` (or where Save As chose)."""
        doc = self.docs.doc
        if doc is None:
            return False
        if doc.save_path is not None:
            target = doc.save_path
        elif doc.path is not None:
            target = default_save_path(doc.path)
            if target.exists() and not dialogs.confirm(
                self.parent_widget, "Replace file?", f"{target.name} already exists. Replace it?", "Replace"
            ):
                return self.save_as(then)
        else:
            return self.save_as(then)
        return self.write(target, quality=int(self.qs.value("jpeg_quality", 95)), then=then)

    def save_as(self, then: Callable[[], object] | None = None) -> bool:
        doc = self.docs.doc
        if doc is None:
            return False
        suggestion = doc.save_path or (default_save_path(doc.path) if doc.path else Path("inpainted.png"))
        path = dialogs.save_file(
            self.parent_widget,
            "Save photo as",
            str(suggestion),
            "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;TIFF (*.tif *.tiff);;BMP (*.bmp)",
        )
        if not path:
            return False
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(".png")
        quality = int(self.qs.value("jpeg_quality", 95))
        if target.suffix.lower() in (".jpg", ".jpeg", ".webp"):
            q = dialogs.get_int(
                self.parent_widget, "Quality", f"{target.suffix[1:].upper()} quality (1-100):", quality, 1, 100
            )
            if q is None:
                return False
            quality = q
            self.qs.setValue("jpeg_quality", quality)
        return self.write(target, quality=quality, then=then)

    def write(self, target: Path, quality: int = 95, then: Callable[[], object] | None = None) -> bool:
        """Save the photo to ``target`` in a job; the original needs an explicit confirmation."""
        doc = self.docs.doc
        if doc is None:
            return False
        target = Path(target)
        if _same_file(target, doc.path) and not dialogs.confirm(
            self.parent_widget,
            "Overwrite the original?",
            f"This replaces the original photo {target.name}. The original cannot be recovered.",
            "Overwrite original",
        ):
            return False
        image = doc.image.copy()  # what is saved, even if the photo changes meanwhile
        key = doc.image_key()
        like_input = doc.photo.save_options() if doc.photo is not None else {}  # mode, depth, lossless WebP
        meta = dict(
            like_input,
            alpha=None if doc.alpha is None else doc.alpha.copy(),
            icc_profile=doc.icc_profile,
            exif=doc.exif,
            dpi=doc.dpi,
        )

        def saved(notes) -> None:
            doc.mark_saved(target, key)
            msg = f"Saved {target}" + (f" — note: {notes[0]}" if notes else "")
            self.status.emit(msg, 8000)
            if then is not None:
                then()

        return self._start(
            "save",
            f"Saving {target.name}…",
            partial(_write_photo, target=target, image=image, doc_meta=meta, quality=quality),
            saved,
            "Cannot save",
        )

    # -- masks ----------------------------------------------------------------------
    def load_mask_dialog(self) -> None:
        doc = self.docs.doc
        if doc is None:
            return
        start = str(doc.path.parent) if doc.path else ""
        path = dialogs.open_file(self.parent_widget, "Load mask", start, f"Images ({PHOTO_FILTER_EXTS});;All files (*)")
        if path:
            self.load_mask(path)

    def load_mask(self, path: str | os.PathLike) -> bool:
        doc = self.docs.doc
        if doc is None:
            return False
        path = Path(path)

        def loaded(mask) -> None:
            if self.docs.doc is not doc:
                return  # another photo was opened meanwhile
            doc.set_mask(mask, "Load mask")
            large = _hole_warning(mask, path.name)
            self.status.emit(
                f"Loaded mask {path.name}: {int(mask.sum())} hole pixels" + (f" — warning: {large}" if large else ""),
                8000,
            )

        return self._start(
            "load-mask",
            f"Loading mask {path.name}…",
            partial(_read_mask, path=path, shape=doc.image.shape),
            loaded,
            "Cannot load mask",
        )

    def save_mask_dialog(self) -> None:
        doc = self.docs.doc
        if doc is None:
            return
        base = doc.path.with_name(f"{doc.path.stem}_mask.png") if doc.path else Path("mask.png")
        path = dialogs.save_file(self.parent_widget, "Save mask", str(base), "PNG (*.png)")
        if path:
            self.save_mask(path)

    def save_mask(self, path: str | os.PathLike) -> bool:
        doc = self.docs.doc
        if doc is None:
            return False
        target = Path(path)
        if target.suffix.lower() != ".png":
            target = target.with_suffix(".png")
        if _same_file(target, doc.path) and not dialogs.confirm(
            self.parent_widget,
            "Overwrite the original?",
            f"{target.name} is the open photo. Replace it with the mask?",
            "Overwrite original",
        ):
            return False
        return self._start(
            "save-mask",
            f"Saving mask {target.name}…",
            partial(_write_mask, target=target, mask=doc.mask.copy()),
            lambda _r: self.status.emit(f"Saved mask {target}", 6000),
            "Cannot save mask",
        )
