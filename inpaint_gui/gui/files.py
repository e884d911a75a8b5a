"""Opening and saving photos and masks, recent files, and the bundled sample photo.

Saving never overwrites the original photo without an explicit confirmation: Save writes
``<name>_inpainted.<ext>`` beside it unless the user chose a path with Save As.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

from inpaint_gui.gui import dialogs
from inpaint_gui.gui.document import Document

if TYPE_CHECKING:
    from inpaint_gui.gui.main_window import MainWindow

log = logging.getLogger(__name__)

MAX_RECENT = 10
SAMPLE_NAMES = ("sample.png", "sample.jpg", "sample.jpeg", "sample.webp", "astronaut.png")
_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
PHOTO_FILTER_EXTS = ("*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif *.ppm *.pgm")


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
                if (p.suffix.lower() in _IMAGE_EXTS and p.is_file() and not p.stem.endswith("_mask")
                        and not p.stem.startswith("screenshot")):
                    return p
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


class FileOps:
    """File actions of the main window."""

    def __init__(self, window: MainWindow, qsettings: QSettings):
        self.w = window
        self.qs = qsettings
        self.busy = False  # reading or writing a file

    def run_io(self, fn, what: str):
        """Run ``fn()`` in a helper thread while the window keeps repainting; return its result.

        User input is held back until it is done (so the photo cannot change meanwhile); the
        thread is always joined before returning. Exceptions of ``fn`` are re-raised here.
        """
        result: dict = {}

        def target():
            try:
                result["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed back to the GUI thread
                result["error"] = exc

        thread = threading.Thread(target=target, name="inpaint-gui-io", daemon=True)
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: loop.quit() if not thread.is_alive() else None)
        self.busy = True
        self.w.statusBar().showMessage(what)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            thread.start()
            timer.start()
            while thread.is_alive():
                loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
            thread.join()
        finally:
            timer.stop()
            QApplication.restoreOverrideCursor()
            self.busy = False
            self.w.statusBar().clearMessage()
        if "error" in result:
            raise result["error"]
        return result.get("value")

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
        self.w.rebuild_recent_menu()

    def clear_recent(self) -> None:
        self.qs.setValue("recent", [])
        self.w.rebuild_recent_menu()

    # -- open -----------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(self.w.doc.path.parent) if self.w.doc and self.w.doc.path else str(self.qs.value("last_dir", ""))
        path = dialogs.open_file(self.w, "Open photo", start, f"Images ({PHOTO_FILTER_EXTS});;All files (*)")
        if path:
            self.open_photo(path)

    def open_sample(self) -> None:
        path = sample_photo_path()
        if path is None:
            dialogs.error(self.w, "No sample photo", "The sample photo is not installed (resources/).")
            return
        self.open_photo(path, sample_mask_path(path))  # with its sample hole, ready to inpaint

    def open_photo(self, path: str | os.PathLike, mask_path: str | os.PathLike | None = None) -> bool:
        """Open a photo (and optionally its mask); the current photo stays if anything fails."""
        from inpaint_gui.core.errors import InpaintError
        from inpaint_gui.core.image.io import load_mask, load_photo

        if not self.maybe_save():
            return False
        path = Path(path)

        def read():
            photo = load_photo(path)
            mask = load_mask(mask_path, photo.image.shape) if mask_path is not None else None
            return photo, mask

        try:
            photo, mask = self.run_io(read, f"Opening {path.name}…")
        except InpaintError as exc:
            dialogs.error(self.w, "Cannot open", str(exc))
            return False
        except MemoryError:
            dialogs.error(self.w, "Cannot open", f"{path}: not enough memory to open this photo")
            return False
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            doc = Document(photo.image, mask, path=path, alpha=photo.alpha, icc_profile=photo.icc_profile,
                           exif=photo.exif, format=photo.format, dpi=getattr(photo, "dpi", None))
            self.w.set_document(doc)
        finally:
            QApplication.restoreOverrideCursor()
        self.qs.setValue("last_dir", str(path.parent))
        self.add_recent(path)
        notes = list(getattr(photo, "warnings", []) or [])
        self.w.statusBar().showMessage(
            f"Opened {path.name} ({photo.width}×{photo.height})" + (f" — note: {notes[0]}" if notes else ""), 8000)
        return True

    # -- save -----------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False if the user cancelled (or saving failed)."""
        doc = self.w.doc
        if doc is None or not doc.is_modified():
            return True
        answer = dialogs.ask_unsaved(self.w, doc.path.name if doc.path else "The photo")
        if answer == "cancel":
            return False
        if answer == "save":
            return self.save()
        return True

    def save(self) -> bool:
        doc = self.w.doc
        if doc is None:
            return False
        if doc.save_path is not None:
            target = doc.save_path
        elif doc.path is not None:
            target = default_save_path(doc.path)
            if target.exists() and not dialogs.confirm(
                    self.w, "Replace file?", f"{target.name} already exists. Replace it?", "Replace"):
                return self.save_as()
        else:
            return self.save_as()
        return self.write(target, quality=int(self.qs.value("jpeg_quality", 95)))

    def save_as(self) -> bool:
        doc = self.w.doc
        if doc is None:
            return False
        suggestion = doc.save_path or (default_save_path(doc.path) if doc.path else Path("inpainted.png"))
        path = dialogs.save_file(self.w, "Save photo as", str(suggestion),
                                 "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;TIFF (*.tif *.tiff);;BMP (*.bmp)")
        if not path:
            return False
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(".png")
        quality = int(self.qs.value("jpeg_quality", 95))
        if target.suffix.lower() in (".jpg", ".jpeg", ".webp"):
            q = dialogs.get_int(self.w, "Quality", f"{target.suffix[1:].upper()} quality (1-100):", quality, 1, 100)
            if q is None:
                return False
            quality = q
            self.qs.setValue("jpeg_quality", quality)
        return self.write(target, quality=quality)

    def write(self, target: Path, quality: int = 95) -> bool:
        """Save the photo to ``target``; the original needs an explicit confirmation."""
        from inpaint_gui.core.errors import InpaintError
        from inpaint_gui.core.image.io import save_photo

        doc = self.w.doc
        assert doc is not None
        if _same_file(target, doc.path) and not dialogs.confirm(
                self.w, "Overwrite the original?",
                f"This replaces the original photo {target.name}. The original cannot be recovered.",
                "Overwrite original"):
            return False
        image = doc.image.copy()  # what is saved, even if a finishing job changes the photo meanwhile
        key = doc.image_key()
        try:
            notes = self.run_io(lambda: save_photo(target, image, alpha=doc.alpha, icc_profile=doc.icc_profile,
                                                   exif=doc.exif, quality=quality, dpi=doc.dpi),
                                f"Saving {target.name}…")
        except (InpaintError, ValueError, OSError) as exc:
            dialogs.error(self.w, "Cannot save", str(exc))
            return False
        doc.mark_saved(target, key)
        self.w.update_title()
        msg = f"Saved {target}"
        if notes:
            msg += f" — note: {notes[0]}"
        self.w.statusBar().showMessage(msg, 8000)
        return True

    # -- masks ----------------------------------------------------------------------
    def load_mask_dialog(self) -> None:
        doc = self.w.doc
        if doc is None:
            return
        start = str(doc.path.parent) if doc.path else ""
        path = dialogs.open_file(self.w, "Load mask", start, f"Images ({PHOTO_FILTER_EXTS});;All files (*)")
        if path:
            self.load_mask(path)

    def load_mask(self, path: str | os.PathLike) -> bool:
        from inpaint_gui.core.errors import InpaintError
        from inpaint_gui.core.image.io import load_mask

        doc = self.w.doc
        if doc is None:
            return False
        try:
            mask = load_mask(path, doc.image.shape)
        except InpaintError as exc:
            dialogs.error(self.w, "Cannot load mask", str(exc))
            return False
        doc.set_mask(mask, "Load mask")
        self.w.statusBar().showMessage(f"Loaded mask {Path(path).name}: {int(mask.sum())} hole pixels", 6000)
        return True

    def save_mask_dialog(self) -> None:
        doc = self.w.doc
        if doc is None:
            return
        base = doc.path.with_name(f"{doc.path.stem}_mask.png") if doc.path else Path("mask.png")
        path = dialogs.save_file(self.w, "Save mask", str(base), "PNG (*.png)")
        if path:
            self.save_mask(path)

    def save_mask(self, path: str | os.PathLike) -> bool:
        from inpaint_gui.core.errors import InpaintError
        from inpaint_gui.core.image.io import save_mask

        doc = self.w.doc
        if doc is None:
            return False
        target = Path(path)
        if target.suffix.lower() != ".png":
            target = target.with_suffix(".png")
        if _same_file(target, doc.path) and not dialogs.confirm(
                self.w, "Overwrite the original?", f"{target.name} is the open photo. Replace it with the mask?",
                "Overwrite original"):
            return False
        try:
            save_mask(target, doc.mask)
        except (InpaintError, OSError) as exc:
            dialogs.error(self.w, "Cannot save mask", str(exc))
            return False
        self.w.statusBar().showMessage(f"Saved mask {target}", 6000)
        return True
