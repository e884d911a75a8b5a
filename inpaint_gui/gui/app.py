"""Application entry: QApplication, style, logging, the crash dialog, the main window."""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

from inpaint_gui.gui.files import sample_mask_path, sample_photo_path

__all__ = ["run_app", "install_excepthook", "sample_photo_path", "sample_mask_path", "log_path"]

log = logging.getLogger("inpaint_gui")

APP_NAME = "inpaint-gui"
ORG_NAME = "inpaint-gui"


def log_path() -> Path:
    """Where the app writes its log (the user's state/cache folder)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "inpaint-gui" / "inpaint-gui.log"


def _setup_logging() -> None:
    root = logging.getLogger("inpaint_gui")
    if any(isinstance(h, RotatingFileHandler) for h in root.handlers):
        return
    root.setLevel(logging.INFO)
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    except OSError:
        pass  # logging to a file is a convenience; never fail the app over it
    stream = logging.StreamHandler()
    stream.setLevel(logging.WARNING)
    root.addHandler(stream)


def install_excepthook(parent_getter=lambda: None):
    """Route unhandled exceptions to the log and a dialog instead of killing the app.

    Returns the previous hook. ``parent_getter`` gives the window to attach the dialog to.
    """
    previous = sys.excepthook
    showing = {"busy": False}

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unhandled exception:\n%s", text)
        if showing["busy"]:
            return
        showing["busy"] = True
        try:
            from inpaint_gui.gui import dialogs

            message = str(exc).strip().splitlines()[0] if str(exc).strip() else exc_type.__name__
            dialogs.error(parent_getter(), "Unexpected error",
                          f"Something went wrong: {exc_type.__name__}: {message}\n\n"
                          f"Your photo and mask are unchanged. Details were written to {log_path()}.",
                          details=text)
        except Exception:  # noqa: BLE001 - the hook itself must never raise
            previous(exc_type, exc, tb)
        finally:
            showing["busy"] = False

    sys.excepthook = hook
    return previous


def _style(app) -> None:
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    pal = QPalette()
    dark, mid, text = QColor(45, 45, 48), QColor(60, 60, 64), QColor(225, 225, 225)
    for role, col in ((QPalette.ColorRole.Window, dark), (QPalette.ColorRole.WindowText, text),
                      (QPalette.ColorRole.Base, QColor(32, 32, 35)), (QPalette.ColorRole.AlternateBase, mid),
                      (QPalette.ColorRole.ToolTipBase, mid), (QPalette.ColorRole.ToolTipText, text),
                      (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, mid),
                      (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.Highlight, QColor(70, 120, 200)),
                      (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))):
        pal.setColor(role, col)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(120, 120, 120))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(120, 120, 120))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(120, 120, 120))
    app.setPalette(pal)


def run_app(photo_path: str | None = None, mask_path: str | None = None, model: str | None = None) -> int:
    """Open the main window (optionally with a photo and its mask) and run until it closes.

    Returns the exit code. A photo or mask that cannot be read is reported in a dialog; the
    window still opens.
    """
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    _setup_logging()
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    _style(app)

    from inpaint_gui.gui import dialogs
    from inpaint_gui.gui.main_window import MainWindow

    window = MainWindow(model=model)
    previous = install_excepthook(lambda: window)
    window.show()
    # Ctrl+C in the terminal closes the window (asking about unsaved changes as usual); the
    # timer gives Python a chance to run its signal handler while Qt's loop is waiting.
    old_sigint = signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer()
    tick.start(250)
    tick.timeout.connect(lambda: None)
    if photo_path:
        QTimer.singleShot(0, lambda: window.open_photo(photo_path, mask_path))
    elif mask_path:
        QTimer.singleShot(0, lambda: dialogs.error(
            window, "No photo", "A mask was given without a photo; open the photo first, then Mask > Load Mask."))
    try:
        return int(app.exec())
    finally:
        tick.stop()
        signal.signal(signal.SIGINT, old_sigint)
        window.shutdown()
        sys.excepthook = previous
