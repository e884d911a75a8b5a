"""The main window: actions, menus, toolbars, docks and the status bar (wiring only).

The window makes the shared pieces (the document holder, the settings store, two job runners:
``compute`` for the model, planning, runs and finishing, ``file_jobs`` for reading and
writing files) and hands them to the parts that use them (:class:`InpaintSession`,
:class:`FileOps`, :class:`EditOps`, the canvas and the panels), then connects their signals.
"""

from __future__ import annotations

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

from inpaint_gui.core import pipeline
from inpaint_gui.core.engines import Engines
from inpaint_gui.core.pipeline import CommonSettings
from inpaint_gui.core.settings import specs
from inpaint_gui.gui import dialogs
from inpaint_gui.gui.canvas import Canvas
from inpaint_gui.gui.document import Document, DocumentHolder
from inpaint_gui.gui.edit import EditOps
from inpaint_gui.gui.files import FileOps, sample_photo_path, scene_sample_path
from inpaint_gui.gui.jobs import JobRunner
from inpaint_gui.gui.model_menu import ModelMenu, model_status_text
from inpaint_gui.gui.panels import CandidatesPanel, ElidedLabel, LossPlot, WelcomePage
from inpaint_gui.gui.recovery import RecoveryKeeper
from inpaint_gui.gui.session import InpaintSession
from inpaint_gui.gui.settings_panel import SettingsPanel, editor_changed, editor_value, make_editor, set_editor_value
from inpaint_gui.gui.settings_store import COMMON, SettingsStore


class MainWindow(QMainWindow):
    """``model``: a model name or folder, a loaded model, or None for the default model."""

    def __init__(self, model: object = None, qsettings: QSettings | None = None):
        super().__init__()
        self.qs = qsettings or QSettings()
        self.setAcceptDrops(True)
        self.setWindowTitle("inpaint-gui")
        self.docs = DocumentHolder(self)
        self.store = SettingsStore(self.qs, self)
        self.compute = JobRunner("compute", resources=Engines, parent=self)
        self.file_jobs = JobRunner("files", parent=self)
        self.canvas = Canvas()
        self.welcome = WelcomePage()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.canvas)
        self.setCentralWidget(self.stack)
        self._build_docks()
        self.files = FileOps(self.docs, self.file_jobs, self.qs, self)
        self.recovery = RecoveryKeeper(self.docs, self.files, self)  # a copy of unsaved work, for after a crash
        self.edit = EditOps(self.docs, self.canvas, self.qs, self, lambda: not self.session.finishing)
        self.session = InpaintSession(
            self.docs, self.canvas, self.candidates, self.loss_plot, self.store, self.compute, self
        )
        self._build_status()
        self._build_actions()
        self._build_menus()
        self._build_toolbars()
        self._connect()
        self.opacity_slider.setValue(int(self.qs.value("overlay_opacity", 50)))
        self.canvas.set_brush_size(int(self.qs.value("brush_size", 40)))
        colour = QColor(str(self.qs.value("overlay_color", "")))
        if colour.isValid():
            self.canvas.set_overlay_color(colour)
        self.brush_spin.setValue(self.canvas.brush_size)
        self.resize(1280, 820)
        self.session.load_model(model)
        self.update_actions()
        self.update_title()

    @property
    def doc(self) -> Document | None:
        return self.docs.doc

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
        self.settings_panel = SettingsPanel(self.store.settings)
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
        self.region_label = ElidedLabel()  # the whole description in its tooltip
        self.pos_label = QLabel()
        self.zoom_label = QLabel("100%")
        self.model_label = QLabel()
        for w in (
            self.job_label,
            self.progress_bar,
            self.region_label,
            self.pos_label,
            self.zoom_label,
            self.model_label,
        ):
            sb.addPermanentWidget(w)

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
        f, c, e, s = self.files, self.canvas, self.edit, self.session
        self.act_open = self._action("&Open…", f.open_dialog, QKeySequence.StandardKey.Open, "Open a photo")
        self.act_sample = self._action("Open &sample photo", f.open_sample, None, "Open the bundled face photo")
        self.act_scene_sample = self._action(
            "Open sample photo without a &face",
            lambda: f.open_sample(scene=True),
            None,
            "Open the bundled rocket-launch photo with a mast to remove (the scene engine)",
        )
        self.act_save = self._action(
            "&Save", f.save, QKeySequence.StandardKey.Save, "Save beside the original as <name>_inpainted"
        )
        self.act_save_as = self._action("Save &As…", f.save_as, "Ctrl+Shift+S", "Save under a new name or format")
        self.act_load_mask = self._action("&Load Mask…", f.load_mask_dialog, "Ctrl+M", "Load a mask image")
        self.act_save_mask = self._action("Save Mas&k…", f.save_mask_dialog, "Ctrl+Shift+M", "Save the mask as PNG")
        self.act_model = self._action("Load &Model…", self.choose_model, None, "Load a model folder (with model.json)")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit")
        self.act_undo = self._action("&Undo", e.undo, "Ctrl+Z", "Undo")
        self.act_redo = self._action("&Redo", e.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo")
        self.act_clear = self._action("&Clear Mask", e.clear_mask, ["Ctrl+Shift+X", "Delete"], "Remove the whole hole")
        self.act_clear_exclude = self._action("Clear &Don't Copy From", e.clear_exclude, None, "Copy from anywhere")
        self.act_invert = self._action("&Invert Mask", e.invert_mask, "Ctrl+I", "Swap hole and photo")
        self.act_grow = self._action("&Grow Hole…", e.grow_mask, "Ctrl+G", "Grow (or shrink) the hole by N pixels")
        self.act_color = self._action("Overlay &Colour…", e.pick_overlay_colour, None, "Colour of the hole overlay")
        self.act_zoom_in = self._action("Zoom &In", c.zoom_in, ["Ctrl+=", "Ctrl++"], "Zoom in")
        self.act_zoom_out = self._action("Zoom &Out", c.zoom_out, "Ctrl+-", "Zoom out")
        self.act_fit = self._action("&Fit in Window", c.fit, "Ctrl+0", "Show the whole photo")
        self.act_actual = self._action("&Actual Pixels", c.zoom_actual, "Ctrl+1", "100%")
        self.act_zoom_window = self._action(
            "Zoom to Model &Window", c.zoom_to_window, "Ctrl+2", "Show the model window large"
        )
        self.act_guide = self._action("Show Face &Guide", self.toggle_guide, None, "Faint framing guide", True)
        self.act_guide.setChecked(True)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, text, key in (
            ("brush", "&Brush", "B"),
            ("eraser", "&Eraser", "E"),
            ("rect", "&Rectangle", "R"),
            ("window", "Model &Window", "W"),
            ("exclude", "&Don't Copy From", "D"),  # paints where the scene engine must not copy from
        ):
            a = self._action(
                text, lambda _checked=False, n=name: c.set_tool(n), key, f"{text.replace('&', '')} tool", True
            )
            self.tool_group.addAction(a)
            self.tool_actions[name] = a
        self.tool_actions["brush"].setChecked(True)
        self.act_bigger = self._action("Bigger Brush", c.bigger_brush, "]", "Bigger brush")
        self.act_smaller = self._action("Smaller Brush", c.smaller_brush, "[", "Smaller brush")
        self.act_inpaint = self._action(
            "&Inpaint",
            s.inpaint,
            ["Ctrl+Return", "Ctrl+Enter"],
            "Fill the hole of the framed region with the chosen engine",
        )
        self.act_cancel = self._action("&Cancel", s.cancel, "Esc", "Stop the run, keep the best candidates so far")
        self.act_apply = self._action("&Apply", s.apply, ["Return", "Enter"], "Blend the chosen candidate in")
        self.act_discard = self._action("&Discard", s.discard, None, "Drop the candidates")
        self.act_autowin = self._action(
            "Auto-place &Window", s.auto_window, "Ctrl+Shift+W", "Place the model window around the hole automatically"
        )
        self.act_lock = self._action(
            "&Lock Window", s.set_locked, "Ctrl+L", "Fill with the window as placed (placing it by hand locks it)", True
        )
        self.act_about = self._action("&About", self.about, None, "About inpaint-gui")

    def _build_menus(self) -> None:
        mb = self.menuBar()

        def menu(title: str, actions) -> QMenu:
            m = mb.addMenu(title)
            for a in actions:
                m.addSeparator() if a is None else m.addAction(a)
            return m

        m = menu("&File", (self.act_open, self.act_sample, self.act_scene_sample))
        self.recent_menu = m.addMenu("Open &Recent")
        for a in (None, self.act_save, self.act_save_as, None, self.act_quit):
            m.addSeparator() if a is None else m.addAction(a)
        menu("&Edit", (self.act_undo, self.act_redo))
        menu(
            "&Mask",
            (
                self.act_clear,
                self.act_invert,
                self.act_grow,
                self.act_clear_exclude,
                None,
                self.act_load_mask,
                self.act_save_mask,
                None,
                self.act_color,
            ),
        )
        m = menu(
            "&View",
            (
                self.act_zoom_in,
                self.act_zoom_out,
                self.act_fit,
                self.act_actual,
                self.act_zoom_window,
                None,
                self.act_guide,
                None,
            ),
        )
        m.addAction(self.candidates_dock.toggleViewAction())
        m.addAction(self.settings_dock.toggleViewAction())
        self.model_menu = mb.addMenu(ModelMenu(self.store, self.act_model, self)).menu()
        menu("&Tools", list(self.tool_actions.values()) + [None, self.act_bigger, self.act_smaller])
        menu(
            "&Inpaint",
            (
                self.act_inpaint,
                self.act_cancel,
                self.act_apply,
                self.act_discard,
                None,
                self.act_autowin,
                self.act_lock,
            ),
        )
        menu("&Help", (self.act_about,))
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
        engine = next(f for f in specs(CommonSettings) if f.name == "engine")
        self._engine_field = engine
        self.engine_box = make_editor(engine)  # the same setting as the dock's row, through the store
        set_editor_value(self.engine_box, self.store.settings.common.engine)
        tb.addWidget(QLabel(f" {engine.spec.label} "))
        tb.addWidget(self.engine_box)
        for a in (self.act_inpaint, self.act_cancel, self.act_apply, self.act_discard):
            tb.addAction(a)
        self.addToolBar(tb)
        self.toolbar = tb

    def _connect(self) -> None:
        c, s, f = self.canvas, self.session, self.files
        self.brush_slider.valueChanged.connect(c.set_brush_size)
        self.brush_spin.valueChanged.connect(c.set_brush_size)
        c.brush_size_changed.connect(self._brush_size_changed)
        self.opacity_slider.valueChanged.connect(self._opacity_changed)
        c.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.4g}%"))
        c.cursor_moved.connect(lambda p: self.pos_label.setText("" if p is None else f"{p[0]}, {p[1]}"))
        c.tool_changed.connect(lambda t: self.tool_actions[t].setChecked(True))
        self.welcome.open_button.clicked.connect(f.open_dialog)
        self.welcome.sample_button.clicked.connect(f.open_sample)
        self.apply_button.clicked.connect(s.apply)
        self.discard_button.clicked.connect(lambda: s.discard())
        # the settings: one store, edited by the dock and the toolbar's engine box
        self.settings_panel.changed.connect(self.store.set)
        editor_changed(self.engine_box).connect(
            lambda *_: self.store.set_value(COMMON, "engine", editor_value(self._engine_field, self.engine_box))
        )
        self.store.changed.connect(self._settings_changed)
        # the document: canvas first, then whoever plans for it
        self.docs.changed.connect(self._document_changed)
        # the session and the files talk back through signals
        s.status.connect(self._show_status)
        s.progress.connect(self.show_progress)
        s.progress_done.connect(self.hide_progress)
        s.error.connect(lambda title, text: dialogs.error(self, title, text))
        s.state_changed.connect(self.update_actions)
        s.model_changed.connect(lambda _m: self._update_model_label())
        s.region_changed.connect(self._region_changed)
        s.lock_changed.connect(self.act_lock.setChecked)
        f.status.connect(self._show_status)
        self.recovery.status.connect(self._show_status)
        f.busy_changed.connect(lambda _b: self.update_actions())
        f.recent_changed.connect(self.rebuild_recent_menu)

    # -- document ----------------------------------------------------------------------------
    def _document_changed(self, doc: Document | None) -> None:
        self.stack.setCurrentWidget(self.canvas if doc is not None else self.welcome)
        self.canvas.set_document(doc)
        if doc is not None:
            doc.history_changed.connect(self._history_changed)
        self.update_title()
        self.update_actions()

    def open_photo(self, path, mask_path=None) -> bool:
        return self.files.open_photo(path, mask_path)

    def _history_changed(self) -> None:
        if self.sender() is self.doc:
            self.update_title()
            self.update_actions()

    # -- small actions -------------------------------------------------------------------------
    def undo(self) -> None:
        self.edit.undo()

    def redo(self) -> None:
        self.edit.redo()

    def toggle_guide(self, on: bool) -> None:
        self.canvas.show_face_guide = bool(on)
        self.canvas.viewport().update()

    def choose_model(self) -> None:
        if self.session.busy:
            return
        path = dialogs.open_dir(self, "Load model folder", str(self.qs.value("model_dir", "")))
        if path:
            self.qs.setValue("model_dir", path)
            engine = pipeline.models_engine(self.store.settings)
            self.session.load_model(path)
            if engine is not None:  # it fills every window until the Model menu says otherwise
                self.store.set_value(engine, "model", path)

    def about(self) -> None:
        from inpaint_gui import __version__

        dialogs.info(
            self,
            "About inpaint-gui",
            f"inpaint-gui {__version__}\n\nImage inpainting: a face engine (a latent search in a DCGAN "
            "prior, Yeh et al., CVPR 2017), then Poisson blending.",
        )

    # -- status and state --------------------------------------------------------------------
    def update_title(self) -> None:
        doc = self.doc
        if doc is None:
            self.setWindowTitle("inpaint-gui")
            return
        name = doc.path.name if doc.path else "untitled"
        self.setWindowTitle(f"{name}[*] — {doc.width}×{doc.height} — inpaint-gui")
        self.setWindowModified(doc.is_modified())

    def update_actions(self) -> None:
        doc, s = self.doc, self.session
        has_doc = doc is not None
        files_free = not self.files.busy
        busy = s.busy
        for a in (self.act_open, self.act_sample, self.act_scene_sample):
            a.setEnabled(files_free)
        self.recent_menu.setEnabled(files_free and bool(self.files.recent()))
        for a in (self.act_save, self.act_save_as, self.act_load_mask, self.act_save_mask):
            a.setEnabled(has_doc and files_free)
        for a in (self.act_clear, self.act_invert, self.act_grow, self.act_autowin, self.act_lock):
            a.setEnabled(has_doc)
        self.act_clear_exclude.setEnabled(has_doc)
        self.act_undo.setEnabled(has_doc and doc.undo_stack.can_undo() and not s.finishing)
        self.act_redo.setEnabled(has_doc and doc.undo_stack.can_redo() and not s.finishing)
        if has_doc:
            self.act_undo.setText(f"&Undo {doc.undo_stack.undo_label()}".rstrip())
            self.act_redo.setText(f"&Redo {doc.undo_stack.redo_label()}".rstrip())
        self.act_inpaint.setEnabled(has_doc and not busy and s.ready)
        self.act_cancel.setEnabled(busy)
        can_apply = has_doc and s.result is not None and not busy and files_free
        self.act_apply.setEnabled(can_apply)
        self.apply_button.setEnabled(can_apply)
        self.act_discard.setEnabled(s.result is not None and not busy)
        self.discard_button.setEnabled(s.result is not None and not busy)
        self.act_model.setEnabled(not busy and not s.loading)
        has_sample = sample_photo_path() is not None
        self.act_sample.setEnabled(has_sample and files_free)
        self.act_scene_sample.setEnabled(scene_sample_path() is not None and files_free)
        self.welcome.sample_button.setEnabled(has_sample)

    def _show_status(self, text: str, ms: int) -> None:
        if text:
            self.statusBar().showMessage(text, ms)
        else:
            self.statusBar().clearMessage()

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

    def _region_changed(self, text: str, tip: str) -> None:
        self.region_label.setText(text)
        self.region_label.setToolTip("\n".join(part for part in (text, tip) if part))  # the label may be elided

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
        m.setEnabled(bool(items) and not self.files.busy)

    def _brush_size_changed(self, size: int) -> None:
        for w in (self.brush_slider, self.brush_spin):
            w.blockSignals(True)
            w.setValue(size)
            w.blockSignals(False)
        self.qs.setValue("brush_size", size)

    def _opacity_changed(self, value: int) -> None:
        self.canvas.set_overlay_opacity(value / 100)
        self.qs.setValue("overlay_opacity", value)

    def _settings_changed(self, settings) -> None:
        if self.settings_panel.settings() != settings:
            self.settings_panel.set_settings(settings)
        self.engine_box.blockSignals(True)
        set_editor_value(self.engine_box, settings.common.engine)
        self.engine_box.blockSignals(False)
        self._update_model_label()

    def _update_model_label(self) -> None:
        s = self.session
        loading = s.loading
        name = None if loading else (s.model.name if s.model is not None else "none")
        self.model_label.setText(model_status_text(name, self.store.settings))

    # -- drag and drop, closing -----------------------------------------------------------------
    def dragEnterEvent(self, e) -> None:
        if e.mimeData().hasUrls() and any(u.isLocalFile() for u in e.mimeData().urls()) and not self.files.busy:
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:
        files = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if files and not self.files.busy:
            e.acceptProposedAction()
            self.files.open_photo(files[0])

    def closeEvent(self, e: QCloseEvent) -> None:
        if not self.files.confirm_close(self.close):
            e.ignore()
            return
        self.shutdown()
        e.accept()

    def shutdown(self, clean: bool = True) -> None:
        """Stop the job threads (cancelling any job) and wait for them. ``clean``: the window was
        closed (the unsaved-changes question answered), so the recovery copy goes; otherwise it
        stays for the next start."""
        self.session.shutdown()
        self.compute.shutdown()
        self.file_jobs.shutdown()
        self.recovery.shutdown(clean)
