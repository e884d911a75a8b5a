"""Application entry: QApplication, style, logging, the crash dialog, the main window."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import stat
import sys
import traceback
from collections.abc import Callable, Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path

from inpaint_gui.core.errors import DisplayError
from inpaint_gui.gui.files import sample_mask_path, sample_photo_path

__all__ = ["check_display", "install_excepthook", "log_path", "run_app", "sample_mask_path", "sample_photo_path"]

log = logging.getLogger("inpaint_gui")

APP_NAME = "inpaint-gui"
ORG_NAME = "inpaint-gui"


def log_path() -> Path:
    """Where the app writes its log (the user's state/cache folder)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "inpaint-gui" / "inpaint-gui.log"


# What Qt 6's X11 platform plugin (libqxcb.so and libQt6XcbQpa.so.6 in PySide6's wheel) loads
# from the system, by soname, with the Debian/Ubuntu package that ships each one.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}

_HEADLESS = "or run `inpaint-gui run IMAGE --mask MASK -o OUT` without a window"


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_xcb_libraries(load: Callable[[str], bool] = _loadable) -> list[str]:
    """The sonames of :data:`XCB_LIBRARIES` that the dynamic loader cannot find."""
    return [soname for soname in XCB_LIBRARIES if not load(soname)]


def wayland_socket(env: Mapping[str, str]) -> Path | None:
    """Where the Wayland compositor named by ``WAYLAND_DISPLAY`` listens, if that socket exists."""
    name = env.get("WAYLAND_DISPLAY", "").strip()
    if not name:
        return None
    path = Path(name) if name.startswith("/") else Path(env.get("XDG_RUNTIME_DIR", "")) / name
    if name.startswith("/") or env.get("XDG_RUNTIME_DIR"):
        try:
            if stat.S_ISSOCK(path.stat().st_mode):
                return path
        except OSError:
            pass
    return None


def check_display(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    load: Callable[[str], bool] = _loadable,
    compositor: Callable[[Mapping[str, str]], Path | None] = wayland_socket,
) -> None:
    """Raise DisplayError (one line) where Qt would abort the process instead of opening a window.

    On Linux, when Qt will use its X11 (xcb) plugin -- QT_QPA_PLATFORM unset or "xcb", and not
    a Wayland session with a compositor listening (without one, Qt falls back to xcb) --, every
    system library the plugin needs must load; the message names the Debian/Ubuntu packages
    to install. With neither DISPLAY nor a Wayland compositor there is no display at all.
    Other platforms and other Qt plugins are left to Qt.
    """
    env = os.environ if environ is None else environ
    if (platform or sys.platform) != "linux":
        return
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    first = requested.split(";")[0].split(":")[0].strip()
    if first and first != "xcb":
        return  # offscreen, wayland, vnc, ...: not the xcb plugin
    display, wayland = env.get("DISPLAY"), env.get("WAYLAND_DISPLAY")
    wayland_first = not first and wayland and (env.get("XDG_SESSION_TYPE") == "wayland" or not display)
    if wayland_first and compositor(env) is not None:
        return  # Qt tries its Wayland plugin first here (with no compositor listening, it falls back to xcb)
    if not display:
        why = (
            f"WAYLAND_DISPLAY is {wayland!r} but no Wayland compositor listens there, and DISPLAY is not set"
            if wayland
            else "DISPLAY and WAYLAND_DISPLAY are not set"
        )
        raise DisplayError(
            f"the window cannot open: there is no display ({why}); start it from a desktop session, {_HEADLESS}"
        )
    missing = missing_xcb_libraries(load)
    if missing:
        packages = " ".join(dict.fromkeys(XCB_LIBRARIES[s] for s in missing))
        raise DisplayError(
            f"the window cannot open: Qt's X11 plugin needs system libraries that are missing "
            f"({', '.join(missing)}); install them with `sudo apt install {packages}` "
            f"(Debian/Ubuntu), {_HEADLESS}"
        )


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
            dialogs.error(
                parent_getter(),
                "Unexpected error",
                f"Something went wrong: {exc_type.__name__}: {message}\n\n"
                f"Your photo and mask are unchanged. Details were written to {log_path()}.",
                details=text,
            )
        except Exception:
            previous(exc_type, exc, tb)
        finally:
            showing["busy"] = False

    sys.excepthook = hook
    return previous


def apply_style(app) -> None:
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    pal = QPalette()
    dark, mid, text = QColor(45, 45, 48), QColor(60, 60, 64), QColor(225, 225, 225)
    for role, col in (
        (QPalette.ColorRole.Window, dark),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, QColor(32, 32, 35)),
        (QPalette.ColorRole.AlternateBase, mid),
        (QPalette.ColorRole.ToolTipBase, mid),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, mid),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Highlight, QColor(70, 120, 200)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
    ):
        pal.setColor(role, col)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(120, 120, 120))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(120, 120, 120))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(120, 120, 120))
    app.setPalette(pal)


def run_app(photo_path: str | None = None, mask_path: str | None = None, model: str | None = None) -> int:
    """Open the main window (optionally with a photo and its mask) and run until it closes.

    Returns the exit code. A photo or mask that cannot be read is reported in a dialog; the
    window still opens. Raises DisplayError when the window cannot open at all.
    """
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        check_display()  # before Qt loads its platform plugin, which aborts the process on failure
    _setup_logging()
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_style(app)

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

    def start() -> None:
        if window.recovery.offer():  # the work a crash left, recovered: it is what opens
            return
        if photo_path:
            window.open_photo(photo_path, mask_path)
        elif mask_path:
            dialogs.error(
                window, "No photo", "A mask was given without a photo; open the photo first, then Mask > Load Mask."
            )

    QTimer.singleShot(0, start)
    try:
        return int(app.exec())
    finally:
        tick.stop()
        signal.signal(signal.SIGINT, old_sigint)
        window.shutdown(clean=False)  # after a close, already done; else the recovery copy stays
        sys.excepthook = previous
