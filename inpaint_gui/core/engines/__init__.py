"""Fill engines behind one protocol (``base.Engine``); the pipeline is their only caller.

``ENGINES`` names each engine's module and class; they are imported when first asked for, so
importing this package loads no engine (and no torch).
"""

from __future__ import annotations

import importlib
from typing import Any

ENGINES = {
    "face": ("inpaint_gui.core.engines.gan.engine", "FaceEngine"),
    "scene": ("inpaint_gui.core.engines.patch.engine", "SceneEngine"),
}


# each engine's settings class, importable without the engine (the face engine's loads torch)
SETTINGS = {
    "face": ("inpaint_gui.core.engines.gan.settings", "SearchSettings"),
    "scene": ("inpaint_gui.core.engines.patch.engine", "SceneSettings"),
}


def engine_class(name: str) -> Any:
    from inpaint_gui.core.devices import apply_compute_threads

    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}: choose from {', '.join(ENGINES)}")
    module, cls = ENGINES[name]
    found = getattr(importlib.import_module(module), cls)
    apply_compute_threads()  # the thread count chosen before torch was loaded
    return found


def settings_types() -> dict[str, type]:
    """Engine name -> its settings dataclass, in ``ENGINES`` order (no engine is loaded)."""
    return {name: getattr(importlib.import_module(SETTINGS[name][0]), SETTINGS[name][1]) for name in ENGINES}


class Engines:
    """One instance of each engine, made when first used (a run, the GUI's worker thread)."""

    def __init__(self, **instances: Any):
        self._instances: dict[str, Any] = dict(instances)

    def __getitem__(self, name: str) -> Any:
        if name not in self._instances:
            self._instances[name] = engine_class(name)()
        return self._instances[name]

    @property
    def face(self) -> Any:
        return self["face"]
