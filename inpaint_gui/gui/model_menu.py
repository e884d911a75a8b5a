"""The Model menu: which model fills the windows (auto: the engine picks, e.g. by the window's size).

The choice is the ``model`` setting (the same as ``--model``) of the engine whose models the
settings choose (``pipeline.models_engine``: the chosen engine when it has models, else the
first that has), held by the settings store, so it is remembered and re-plans like any other
setting. The menu lists what that engine has installed each time it opens, then the action
that loads a model folder.
"""

from __future__ import annotations

import logging

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from inpaint_gui.core import pipeline

AUTO = "auto"
log = logging.getLogger(__name__)


def model_status_text(loaded: str | None, settings) -> str:
    """The status bar's model and device: ``loaded`` is the loaded model's name ("none", or
    None while loading). While the menu says auto and a shipped model is loaded, the window's
    size picks the model, and each region's label names it; a model loaded from a folder fills
    every window."""
    if loaded is None:
        return "Model: loading…"
    name = loaded
    engine = pipeline.models_engine(settings)
    if engine is not None and settings.of(engine).model == AUTO and loaded in _installed(engine):
        name = "auto (by window size)"
    device_setting = settings.common.device
    try:
        from inpaint_gui.core.devices import compute_threads, cpu_count, describe_device, resolve_device

        dev = resolve_device(device_setting)
        if dev.type == "cpu":
            n = compute_threads(leave_for_ui=True, measure=False)  # at most what a job uses
            device = f"CPU ({n} thread{'s' if n != 1 else ''} of {cpu_count()})"
        else:
            device = describe_device(dev)
    except Exception as exc:
        device = f"{device_setting} unavailable"
        log.info("device: %s", exc)
    return f"Model: {name} · {device}"


class ModelMenu(QMenu):
    def __init__(self, store, load_folder: QAction, parent: QWidget | None = None):
        super().__init__("&Model", parent)
        self.store = store
        self._load_folder = load_folder
        self._group = QActionGroup(self)
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def _engine(self) -> str | None:
        return pipeline.models_engine(self.store.settings)

    def choices(self) -> list[str]:
        """``auto``, the installed models, and the current choice if it is a folder loaded earlier."""
        engine = self._engine()
        if engine is None:
            return []
        current = self.store.settings.of(engine).model
        names = [AUTO, *_installed(engine)]
        return names if current in names else [*names, current]

    def rebuild(self) -> None:
        self.clear()
        for action in self._group.actions():
            self._group.removeAction(action)
        engine = self._engine()
        current = None if engine is None else self.store.settings.of(engine).model
        for name in self.choices():
            text = "&Auto (the engine picks, e.g. by the window's size)" if name == AUTO else name
            action = self.addAction(text)
            action.setCheckable(True)
            action.setChecked(name == current)
            action.setData(name)
            self._group.addAction(action)
            action.triggered.connect(lambda _checked=False, n=name: self.choose(n))
        self.addSeparator()
        self.addAction(self._load_folder)

    def choose(self, name: str) -> None:
        engine = self._engine()
        if engine is not None:
            self.store.set_value(engine, "model", name)


def _installed(engine: str) -> list[str]:
    from inpaint_gui.core.engines import engine_class

    return engine_class(engine).models()
