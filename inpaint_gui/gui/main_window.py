"""The main window: actions, menus, toolbars, docks and the status bar (wiring only)."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QColor, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from inpaint_gui.gui import dialogs
from inpaint_gui.gui.canvas import Canvas
from inpaint_gui.gui.document import Document
from inpaint_gui.gui.files import FileOps, sample_photo_path
from inpaint_gui.gui.maskops import grow
from inpaint_gui.gui.panels import CandidatesPanel, LossPlot, SettingsPanel, WelcomePage
from inpaint_gui.gui.session import InpaintSession
from inpaint_gui.gui.settings import JobSettings, load_settings, save_settings
from inpaint_gui.gui.worker import WorkerController

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """``model``: a model name or folder, a LoadedModel, or None for the default model."""

    def __init__(self, model: object = None, qsettings: QSettings | None = None):
        super().__init__()
        self.qs = qsettings or QSettings()
        self.doc: Document | None = None
        self.job_settings: JobSettings = load_settings(self.qs)
        self.setAcceptDrops(True)
        self.setWindowTitle("inpaint-gui")
        self.canvas = Canvas()
        self.welcome = WelcomePage()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.canvas)
        self.setCentralWidget(self.stack)
        self.controller = WorkerController(self)
        self.files = FileOps(self, self.qs)
        self._build_docks()
        self._build_status()
        self._build_actions()
        self._build_menus()
        self._build_toolbars()
        self.session = InpaintSession(self)
        self._connect()
        opacity = self.qs.value("overlay_opacity", 50)
        self.opacity_slider.setValue(int(opacity))
        self.canvas.set_brush_size(int(self.qs.value("brush_size", 40)))
        colour = QColor(str(self.qs.value("overlay_color", "")))
        if colour.isValid():
            self.canvas.set_overlay_color(colour)
        self.brush_spin.setValue(self.canvas.brush_size)
        self.resize(1280, 820)
        self.model_label.setText("Model: loading…")
        self.controller.load_model(model)
        self.update_actions()
        self.update_title()

    # -- construction ----------------------------------------------------------------------
    def _build_docks(self) -> None:
        self.candidates = CandidatesPanel()
        self.loss_plot = LossPlot()
        self.apply_button = QPushButton("Apply")
        self.discard_button = QPushButton("Discard")
        self.apply_button.setToolTip("Blend the selected candidate into the photo (Return)")
        self.discard_button.setToolTip("Drop the candidates; the photo stays as it is")
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(4, 4, 4, 4)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.candidates)
        split.addWidget(self.loss_plot)
        split.setSizes([400, 180])
        lay.addWidget(split, 1)
        row = QHBoxLayout()
        row.addWidget(self.apply_button)
        row.addWidget(self.discard_button)
        lay.addLayout(row)
        self.candidates_dock = QDockWidget("Candidates", self)
        self.candidates_dock.setObjectName("candidates")
        self.candidates_dock.setWidget(box)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.candidates_dock)
        self.settings_panel = SettingsPanel(self.job_settings)
        self.settings_dock = QDockWidget("Settings", self)
        self.settings_dock.setObjectName("settings")
        self.settings_dock.setWidget(self.settings_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.settings_dock)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setVisible(False)
        self.job_label = QLabel()
        self.job_label.setVisible(False)
        self.pos_label = QLabel()
        self.zoom_label = QLabel("100%")
        self.model_label = QLabel()
        sb.addPermanentWidget(self.job_label)
        sb.addPermanentWidget(self.progress_bar)
        sb.addPermanentWidget(self.pos_label)
        sb.addPermanentWidget(self.zoom_label)
        sb.addPermanentWidget(self.model_label)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                a.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(f"{text.replace('&', '').rstrip('…')} ({a.shortcut().toString()})" if shortcut else tip)
        a.setCheckable(checkable)
        if checkable:
            a.triggered.connect(slot)
        else:
            a.triggered.connect(lambda _checked=False, f=slot: f())  # slots take no "checked" flag
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        f, c = self.files, self.canvas
        self.act_open = self._action("&Open…", f.open_dialog, QKeySequence.StandardKey.Open, "Open a photo")
        self.act_sample = self._action("Open &sample photo", f.open_sample, None, "Open the bundled face photo")
        self.act_save = self._action("&Save", f.save, QKeySequence.StandardKey.Save,
                                     "Save beside the original as <name>_inpainted")
        self.act_save_as = self._action("Save &As…", f.save_as, "Ctrl+Shift+S", "Save under a new name or format")
        self.act_load_mask = self._action("&Load Mask…", f.load_mask_dialog, "Ctrl+M", "Load a mask image")
        self.act_save_mask = self._action("Save Mas&k…", f.save_mask_dialog, "Ctrl+Shift+M", "Save the mask as PNG")
        self.act_model = self._action("Load &Model…", self.choose_model, None, "Load a model folder (with model.json)")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit")
        self.act_undo = self._action("&Undo", self.undo, "Ctrl+Z", "Undo")
        self.act_redo = self._action("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo")
        self.act_clear = self._action("&Clear Mask", self.clear_mask, ["Ctrl+Shift+X", "Delete"], "Remove the whole hole")
        self.act_invert = self._action("&Invert Mask", self.invert_mask, "Ctrl+I", "Swap hole and photo")
        self.act_grow = self._action("&Grow Hole…", self.grow_mask, "Ctrl+G", "Grow (or shrink) the hole by N pixels")
        self.act_color = self._action("Overlay &Colour…", self.pick_overlay_colour, None, "Colour of the hole overlay")
        self.act_zoom_in = self._action("Zoom &In", c.zoom_in, ["Ctrl+=", "Ctrl++"], "Zoom in")
        self.act_zoom_out = self._action("Zoom &Out", c.zoom_out, "Ctrl+-", "Zoom out")
        self.act_fit = self._action("&Fit in Window", c.fit, "Ctrl+0", "Show the whole photo")
        self.act_actual = self._action("&Actual Pixels", c.zoom_actual, "Ctrl+1", "100%")
        self.act_zoom_window = self._action("Zoom to Model &Window", c.zoom_to_window, "Ctrl+2",
                                            "Show the model window large")
        self.act_guide = self._action("Show Face &Guide", self.toggle_guide, None, "Faint framing guide", True)
        self.act_guide.setChecked(True)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, text, key in (("brush", "&Brush", "B"), ("eraser", "&Eraser", "E"),
                                ("rect", "&Rectangle", "R"), ("window", "Model &Window", "W")):
            a = self._action(text, lambda _checked=False, n=name: c.set_tool(n), key, f"{text.replace('&', '')} tool",
                             True)
            self.tool_group.addAction(a)
            self.tool_actions[name] = a
        self.tool_actions["brush"].setChecked(True)
        self.act_bigger = self._action("Bigger Brush", c.bigger_brush, "]", "Bigger brush")
        self.act_smaller = self._action("Smaller Brush", c.smaller_brush, "[", "Smaller brush")
        self.act_inpaint = self._action("&Inpaint", self.session_inpaint, ["Ctrl+Return", "Ctrl+Enter"],
                                        "Search the model's latent space for fills of the hole")
        self.act_cancel = self._action("&Cancel", self.session_cancel, "Esc", "Stop the search, keep the best so far")
        self.act_apply = self._action("&Apply", self.session_apply, ["Return", "Enter"], "Blend the chosen candidate in")
        self.act_discard = self._action("&Discard", self.session_discard, None, "Drop the candidates")
        self.act_autowin = self._action("Auto-place &Window", self.auto_window, "Ctrl+Shift+W",
                                        "Place the model window around the hole automatically")
        self.act_about = self._action("&About", self.about, None, "About inpaint-gui")

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.act_open, self.act_sample):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open &Recent")
        m.addSeparator()
        for a in (self.act_save, self.act_save_as):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_model)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo):
            m.addAction(a)
        m = mb.addMenu("&Mask")
        for a in (self.act_clear, self.act_invert, self.act_grow, None, self.act_load_mask, self.act_save_mask,
                  None, self.act_color):
            m.addSeparator() if a is None else m.addAction(a)
        m = mb.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual, self.act_zoom_window, None,
                  self.act_guide):
            m.addSeparator() if a is None else m.addAction(a)
        m.addSeparator()
        m.addAction(self.candidates_dock.toggleViewAction())
        m.addAction(self.settings_dock.toggleViewAction())
        m = mb.addMenu("&Tools")
        for a in list(self.tool_actions.values()) + [None, self.act_bigger, self.act_smaller]:
            m.addSeparator() if a is None else m.addAction(a)
        m = mb.addMenu("&Inpaint")
        for a in (self.act_inpaint, self.act_cancel, self.act_apply, self.act_discard, None, self.act_autowin):
            m.addSeparator() if a is None else m.addAction(a)
        mb.addMenu("&Help").addAction(self.act_about)
        self.rebuild_recent_menu()

    def _build_toolbars(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("main-toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for a in (self.act_open, self.act_save, None, self.act_undo, self.act_redo, None):
            tb.addSeparator() if a is None else tb.addAction(a)
        for a in self.tool_actions.values():
            tb.addAction(a)
        tb.addSeparator()
        tb.addWidget(QLabel(" Size "))
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(1, 400)
        self.brush_slider.setMaximumWidth(140)
        self.brush_spin = QSpinBox(minimum=1, maximum=2000, suffix=" px")
        tb.addWidget(self.brush_slider)
        tb.addWidget(self.brush_spin)
        tb.addWidget(QLabel(" Overlay "))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setMaximumWidth(100)
        self.opacity_slider.setToolTip("Opacity of the hole overlay")
        tb.addWidget(self.opacity_slider)
        tb.addSeparator()
        for a in (self.act_inpaint, self.act_cancel, self.act_apply, self.act_discard):
            tb.addAction(a)
        self.addToolBar(tb)
        self.toolbar = tb

    def _connect(self) -> None:
        c, ctl = self.canvas, self.controller
        self.brush_slider.valueChanged.connect(c.set_brush_size)
        self.brush_spin.valueChanged.connect(c.set_brush_size)
        c.brush_size_changed.connect(self._brush_size_changed)
        self.opacity_slider.valueChanged.connect(self._opacity_changed)
        c.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.4g}%"))
        c.cursor_moved.connect(lambda p: self.pos_label.setText("" if p is None else f"{p[0]}, {p[1]}"))
        c.tool_changed.connect(lambda t: self.tool_actions[t].setChecked(True))
        self.welcome.open_button.clicked.connect(self.files.open_dialog)
        self.welcome.sample_button.clicked.connect(self.files.open_sample)
        self.candidates.candidate_chosen.connect(self.session.choose)
        self.apply_button.clicked.connect(self.session_apply)
        self.discard_button.clicked.connect(self.session_discard)
        self.settings_panel.changed.connect(self._settings_changed)
        ctl.model_ready.connect(self._model_ready)
        ctl.model_error.connect(self._model_error)
        ctl.busy_changed.connect(lambda _b: self.update_actions())

    # -- document ----------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        if self.session.searching or self.session.blending:
            self.controller.cancel()
            self.session.searching = self.session.blending = False
            self.hide_progress()
        self.session.discard(quiet=True)
        self.loss_plot.clear()
        if self.doc is not None:
            self.doc.history_changed.disconnect(self._history_changed)
            self.doc.mask_changed.disconnect(self._mask_changed)
        self.doc = doc
        self.stack.setCurrentWidget(self.canvas if doc is not None else self.welcome)
        self.canvas.set_document(doc)
        if doc is not None:
            doc.history_changed.connect(self._history_changed)
            doc.mask_changed.connect(self._mask_changed)
            self.session.place_window_automatically(force=True)
        self.update_title()
        self.update_actions()

    def open_photo(self, path, mask_path=None) -> bool:
        return self.files.open_photo(path, mask_path)

    def _history_changed(self) -> None:
        self.update_title()
        self.update_actions()

    def _mask_changed(self, _rect) -> None:
        self.session.mask_changed()

    # -- edit actions ------------------------------------------------------------------------
    def undo(self) -> None:
        if self.doc is not None and not self.session.blending:
            self.canvas.tools.abort()
            self.doc.undo()

    def redo(self) -> None:
        if self.doc is not None and not self.session.blending:
            self.canvas.tools.abort()
            self.doc.redo()

    def clear_mask(self) -> None:
        if self.doc is not None:
            self.doc.set_mask(self.doc.mask & False, "Clear mask")

    def invert_mask(self) -> None:
        if self.doc is not None:
            self.doc.set_mask(~self.doc.mask, "Invert mask")

    def grow_mask(self) -> None:
        if self.doc is None:
            return
        n = dialogs.get_int(self, "Grow hole", "Grow the hole by (pixels; negative shrinks):",
                            int(self.qs.value("grow_pixels", 4)), -500, 500)
        if n is None or n == 0:
            return
        self.qs.setValue("grow_pixels", n)
        self.doc.set_mask(grow(self.doc.mask, n), f"Grow hole by {n}" if n > 0 else f"Shrink hole by {-n}")

    def pick_overlay_colour(self) -> None:
        col = dialogs.pick_color(self, "Overlay colour", self.canvas.overlay_color)
        if col is not None:
            self.canvas.set_overlay_color(col)
            self.qs.setValue("overlay_color", col.name())

    def toggle_guide(self, on: bool) -> None:
        self.canvas.show_face_guide = bool(on)
        self.canvas.viewport().update()

    def auto_window(self) -> None:
        self.session.place_window_automatically(force=True)

    def choose_model(self) -> None:
        if self.session.searching or self.session.blending:
            return
        path = dialogs.open_dir(self, "Load model folder", str(self.qs.value("model_dir", "")))
        if path:
            self.qs.setValue("model_dir", path)
            self.model_label.setText("Model: loading…")
            self.controller.load_model(path)

    def session_inpaint(self) -> None:
        self.session.inpaint()

    def session_cancel(self) -> None:
        self.session.cancel()

    def session_apply(self) -> None:
        self.session.apply()

    def session_discard(self) -> None:
        self.session.discard()

    def about(self) -> None:
        from inpaint_gui import __version__

        dialogs.info(self, "About inpaint-gui",
                     f"inpaint-gui {__version__}\n\nSemantic image inpainting with a deep generative prior "
                     "(Yeh et al., CVPR 2017): a latent search in a DCGAN, then Poisson blending.")

    # -- status and state --------------------------------------------------------------------
    def update_title(self) -> None:
        if self.doc is None:
            self.setWindowTitle("inpaint-gui")
            return
        name = self.doc.path.name if self.doc.path else "untitled"
        self.setWindowTitle(f"{name}[*] — {self.doc.width}×{self.doc.height} — inpaint-gui")
        self.setWindowModified(self.doc.is_modified())

    def update_actions(self) -> None:
        has_doc = self.doc is not None
        s = self.session
        busy = s.searching or s.blending
        for a in (self.act_save, self.act_save_as, self.act_load_mask, self.act_save_mask, self.act_clear,
                  self.act_invert, self.act_grow, self.act_autowin):
            a.setEnabled(has_doc)
        self.act_undo.setEnabled(has_doc and self.doc.undo_stack.can_undo() and not s.blending)
        self.act_redo.setEnabled(has_doc and self.doc.undo_stack.can_redo() and not s.blending)
        if has_doc:
            self.act_undo.setText(f"&Undo {self.doc.undo_stack.undo_label()}".rstrip())
            self.act_redo.setText(f"&Redo {self.doc.undo_stack.redo_label()}".rstrip())
        self.act_inpaint.setEnabled(has_doc and not busy and self.controller.model is not None)
        self.act_cancel.setEnabled(busy)
        can_apply = has_doc and s.result is not None and not busy
        self.act_apply.setEnabled(can_apply)
        self.act_discard.setEnabled(s.result is not None and not busy)
        self.apply_button.setEnabled(can_apply)
        self.discard_button.setEnabled(s.result is not None and not busy)
        has_sample = sample_photo_path() is not None
        self.act_sample.setEnabled(has_sample)
        self.welcome.sample_button.setEnabled(has_sample)

    def show_progress(self, value: int, maximum: int, text: str) -> None:
        if not self.progress_bar.isVisible():
            self.statusBar().clearMessage()
        self.progress_bar.setVisible(True)
        self.progress_bar.setRange(0, maximum)
        self.progress_bar.setValue(value)
        self.job_label.setVisible(True)
        self.job_label.setText(text)

    def hide_progress(self) -> None:
        self.progress_bar.setVisible(False)
        self.job_label.setVisible(False)

    def rebuild_recent_menu(self) -> None:
        m: QMenu = self.recent_menu
        m.clear()
        items = self.files.recent()
        for path in items:
            a = m.addAction(Path(path).name)
            a.setToolTip(path)
            a.setStatusTip(path)
            a.triggered.connect(lambda _=False, p=path: self.files.open_photo(p))
        if items:
            m.addSeparator()
            m.addAction("Clear Recent").triggered.connect(self.files.clear_recent)
        m.setEnabled(bool(items))

    def _brush_size_changed(self, size: int) -> None:
        for w in (self.brush_slider, self.brush_spin):
            w.blockSignals(True)
            w.setValue(size)
            w.blockSignals(False)
        self.qs.setValue("brush_size", size)

    def _opacity_changed(self, value: int) -> None:
        self.canvas.set_overlay_opacity(value / 100)
        self.qs.setValue("overlay_opacity", value)

    def _settings_changed(self, settings: JobSettings) -> None:
        self.job_settings = settings
        save_settings(settings, self.qs)
        self._update_device_label()

    def _model_ready(self, model, _description: str) -> None:
        self.canvas.set_face_guide(getattr(model, "mean_face", None))
        self._update_device_label()
        self.session.place_window_automatically()
        self.update_actions()

    def _model_error(self, message: str) -> None:
        self.model_label.setText("Model: none")
        self.update_actions()
        dialogs.error(self, "Cannot load the model", message)

    def _update_device_label(self) -> None:
        model = self.controller.model
        name = getattr(model, "name", None) or "none"
        try:
            from inpaint_gui.core.devices import compute_threads, cpu_count, describe_device, resolve_device

            dev = resolve_device(self.job_settings.device)
            if dev.type == "cpu":
                n = compute_threads(leave_for_ui=True)  # what a job uses (one core is left to the UI)
                device = f"CPU ({n} thread{'s' if n != 1 else ''} of {cpu_count()})"
            else:
                device = describe_device(dev)
        except Exception as exc:  # noqa: BLE001 - e.g. CUDA chosen on a machine without a GPU
            device = f"{self.job_settings.device} unavailable"
            log.info("device: %s", exc)
        self.model_label.setText(f"Model: {name} · {device}")

    # -- drag and drop, closing -----------------------------------------------------------------
    def dragEnterEvent(self, e) -> None:  # noqa: N802
        if e.mimeData().hasUrls() and any(u.isLocalFile() for u in e.mimeData().urls()):
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:  # noqa: N802
        files = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if files:
            e.acceptProposedAction()
            self.files.open_photo(files[0])

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802
        if self.files.busy or not self.files.maybe_save():
            e.ignore()
            return
        self.shutdown()
        e.accept()

    def shutdown(self) -> None:
        """Stop the worker thread (cancelling any job) and wait for it."""
        self.session.shutdown()
        self.controller.shutdown()
