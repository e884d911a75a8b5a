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


def engine_class(name: str) -> Any:
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}: choose from {', '.join(ENGINES)}")
    module, cls = ENGINES[name]
    return getattr(importlib.import_module(module), cls)


def settings_types() -> dict[str, type]:
    """Engine name -> its settings dataclass, in ``ENGINES`` order."""
    return {name: engine_class(name).settings_type for name in ENGINES}


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
