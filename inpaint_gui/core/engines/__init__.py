"""The fill engines, found through the ``inpaint_gui.engines`` entry point group.

Every engine, the built-in ones included (``pyproject.toml``), is one entry point whose name is
the engine's name and whose value is its class (``module:Class``, a subclass of
:class:`~inpaint_gui.core.engines.base.Engine`); the class carries its settings in ``info``. A
package that declares such an entry point adds an engine to the app when it is installed:
``--engine`` and the toolbar offer it, its settings become flags and a dock group, ``eval
--photos`` can score it and ``auto`` asks it (README, "Adding an engine").

The engines' modules are imported when the registry is first read (they import quickly; the
heavy parts, torch among them, load when an engine first works). An engine that cannot be
imported, or whose entry point's name is not its ``info.name``, is left out with a warning, so
a broken plugin never stops the app.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points
from typing import Any

from inpaint_gui.core.engines.base import Engine, EngineInfo

GROUP = "inpaint_gui.engines"
RESERVED = ("auto", "common")  # the automatic choice and the shared settings group
DISTRIBUTION = "inpaint-gui"  # this package's entry points are read first (a name registered twice: theirs wins)

log = logging.getLogger(__name__)


class RegistryError(RuntimeError):
    """No engine at all: the package's entry points are not installed."""


@functools.cache
def registry() -> dict[str, type[Engine]]:
    """Engine name -> its class, this package's engines first, then plugins (see :func:`_rank`)."""
    found: dict[str, type[Engine]] = {}
    points = sorted(entry_points(group=GROUP), key=lambda ep: (getattr(ep.dist, "name", "") != DISTRIBUTION, ep.name))
    for ep in points:
        if ep.name in found:
            log.warning("engine %r is registered twice; keeping the first (%s)", ep.name, found[ep.name].__module__)
            continue
        try:
            cls = ep.load()
            info = cls.info
        except Exception as exc:  # a broken plugin: the app goes on without it
            log.warning("engine %r (%s) cannot be loaded: %s", ep.name, ep.value, exc)
            continue
        problem = _problem(ep.name, cls, info)
        if problem:
            log.warning("engine %r (%s) is left out: %s", ep.name, ep.value, problem)
            continue
        found[ep.name] = cls
    found = dict(sorted(found.items(), key=lambda item: _rank(item[1])))
    if not found:
        raise RegistryError(
            f"no fill engine is registered under the {GROUP!r} entry points: install the package "
            "(pip install -e .) so that its entry points exist"
        )
    return found


def _rank(cls: Any) -> tuple:
    """The registry's order: this package's engines, then plugins; within each, by their turn in
    ``auto`` (engines auto never asks last), then by name."""
    info = cls.info
    plugin = not cls.__module__.startswith("inpaint_gui.")
    return (plugin, info.auto is None, info.auto if info.auto is not None else 0, info.name)


def _problem(name: str, cls: Any, info: Any) -> str:
    if not isinstance(cls, type) or not issubclass(cls, Engine):
        return "not a subclass of inpaint_gui.core.engines.base.Engine"
    if not isinstance(info, EngineInfo):
        return "its info is not an EngineInfo"
    if info.name != name:
        return f"the entry point is named {name!r} but the engine calls itself {info.name!r}"
    if name in RESERVED or not name.isidentifier():
        return f"{name!r} cannot be an engine's name"
    return ""


def names() -> list[str]:
    return list(registry())


def infos() -> dict[str, EngineInfo]:
    return {name: cls.info for name, cls in registry().items()}


def engine_class(name: str) -> type[Engine]:
    engines = registry()
    if name not in engines:
        raise ValueError(f"unknown engine {name!r}: choose from {', '.join(engines)}")
    return engines[name]


def settings_types() -> dict[str, type]:
    """Engine name -> its settings dataclass, in registry order."""
    return {name: info.settings for name, info in infos().items()}


class Engines:
    """One instance of each engine, made when first used (a run, the GUI's worker thread)."""

    def __init__(self, **instances: Any):
        self._instances: dict[str, Any] = dict(instances)

    def __getitem__(self, name: str) -> Any:
        if name not in self._instances:
            from inpaint_gui.core.devices import apply_compute_threads

            self._instances[name] = engine_class(name)()
            apply_compute_threads()  # the thread count chosen before torch was loaded
        return self._instances[name]

    def info(self, name: str) -> EngineInfo:
        return engine_class(name).info
