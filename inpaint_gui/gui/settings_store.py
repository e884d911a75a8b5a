"""The current inpainting settings, remembered between runs in QSettings (generated from the specs).

Each settings group of :func:`inpaint_gui.core.pipeline.settings_groups` ("common", then one
per engine) is one QSettings group, ``settings/<group>``, holding the settings the dock shows
(fields with a label; the others are the program's, always at their defaults here). Values are
read back with ``core.settings.from_mapping(strict=False)``, so a value stored by an older
version, or edited by hand into nonsense, falls back to its default instead of failing.

:class:`SettingsStore` is the one source of truth of the GUI: the settings dock, the engine
box of the toolbar and the jobs all read it, and every change goes through :meth:`set`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, settings_groups
from inpaint_gui.core.settings import from_mapping, specs

log = logging.getLogger(__name__)

PREFIX = "settings"
COMMON = "common"


def shown_fields(cls_or_obj: Any) -> list:
    """The settings of a class that the dock shows (and QSettings remembers)."""
    return [f for f in specs(cls_or_obj) if f.spec.label]


def read_group(qs: QSettings, group: str, cls: type) -> Any:
    """An instance of ``cls`` from QSettings group ``settings/<group>`` (defaults for anything
    missing, unreadable or out of range)."""
    qs.beginGroup(f"{PREFIX}/{group}")
    try:
        values = {}
        for f in shown_fields(cls):
            raw = qs.value(f.name, None)
            if raw is not None:
                values[f.name] = raw
    finally:
        qs.endGroup()
    return from_mapping(cls, values, strict=False)


def write_group(qs: QSettings, group: str, obj: Any) -> None:
    qs.beginGroup(f"{PREFIX}/{group}")
    try:
        for f in shown_fields(obj):
            qs.setValue(f.name, getattr(obj, f.name))
    finally:
        qs.endGroup()


def load_values(qs: QSettings, groups: Iterable[tuple[str, type]] | None = None) -> dict[str, Any]:
    return {name: read_group(qs, name, cls) for name, cls in (groups or settings_groups())}


def save_values(qs: QSettings, values: dict[str, Any]) -> None:
    for name, obj in values.items():
        write_group(qs, name, obj)
    qs.sync()


def to_settings(values: dict[str, Any]) -> InpaintSettings:
    """InpaintSettings of one settings object per group ("common" and each engine's)."""
    engines = {k: v for k, v in values.items() if k != COMMON}
    return InpaintSettings(values.get(COMMON, CommonSettings()), engines)


def to_values(settings: InpaintSettings) -> dict[str, Any]:
    return {COMMON: settings.common, **dict(settings.engines)}


def load_settings(qs: QSettings) -> InpaintSettings:
    return to_settings(load_values(qs))


def save_settings(settings: InpaintSettings, qs: QSettings) -> None:
    save_values(qs, to_values(settings))


class SettingsStore(QObject):
    """Holds the current :class:`InpaintSettings`; ``changed`` fires (and QSettings is written)
    whenever they change."""

    changed = Signal(object)  # InpaintSettings

    def __init__(self, qsettings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.qs = qsettings
        self._settings = load_settings(qsettings)

    @property
    def settings(self) -> InpaintSettings:
        return self._settings

    def set(self, settings: InpaintSettings) -> None:
        settings.validate()
        if settings == self._settings:
            return
        self._settings = settings
        save_settings(settings, self.qs)
        self.changed.emit(settings)

    def set_value(self, group: str, name: str, value: Any) -> None:
        """Change one setting (e.g. the toolbar's engine box)."""
        values = to_values(self._settings)
        values[group] = dataclasses.replace(values[group], **{name: value})
        self.set(to_settings(values))

    def reset(self) -> None:
        self.set(InpaintSettings())
