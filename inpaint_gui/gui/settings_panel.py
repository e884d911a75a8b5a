"""The Settings dock, generated from the settings specs (``core.settings``).

Every declared setting with a ``label`` gets a row, in a group box per settings group:
int -> QSpinBox (range, step, special text for the minimum, suffix), float -> QDoubleSpinBox
(range, decimals, step), choices -> QComboBox, bool -> QCheckBox, other text -> QLineEdit.
Tooltips are the settings' help. Adding a setting to a settings dataclass needs no change here.

:class:`SettingsForm` is the generic builder (any list of ``(group, settings class)``; it
emits a dict of one settings object per group); :class:`SettingsPanel` is the dock: the form
for :func:`~inpaint_gui.core.pipeline.settings_groups`, emitting the whole
:class:`~inpaint_gui.core.pipeline.InpaintSettings`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inpaint_gui.core.pipeline import InpaintSettings, settings_groups
from inpaint_gui.core.settings import Field, SettingsError, check_value
from inpaint_gui.gui.settings_store import COMMON, shown_fields, to_settings, to_values

INT_LIMIT = 2**31 - 1  # what a QSpinBox holds
FLOAT_LIMIT = 1e12


def group_title(group: str) -> str:
    """The dock's title for a settings group: "General", or the engine's title."""
    if group == COMMON:
        return "General"
    from inpaint_gui.core.engines import infos

    info = infos().get(group)
    return info.title if info is not None else f"{group.replace('_', ' ').title()} engine"


# -- one editor per setting ------------------------------------------------------------------
def make_editor(field: Field) -> QWidget:
    """The editor widget for ``field`` (range, step, choices... from its spec)."""
    s = field.spec
    if s.choices:
        w: QWidget = QComboBox()
        for c in s.choices:
            w.addItem(str(c), c)
    elif field.type is bool:
        w = QCheckBox()
    elif field.type is int:
        w = QSpinBox()
        w.setKeyboardTracking(False)  # one change when the user is done typing
        lo = -INT_LIMIT if s.minimum is None else int(s.minimum) + (1 if s.exclusive_minimum else 0)
        hi = INT_LIMIT if s.maximum is None else min(INT_LIMIT, int(s.maximum))
        w.setRange(max(-INT_LIMIT, lo), hi)
        if s.step:
            w.setSingleStep(int(s.step))
        if s.special:
            w.setSpecialValueText(s.special)
        if s.suffix:
            w.setSuffix(s.suffix)
    elif field.type is float:
        w = QDoubleSpinBox()
        w.setKeyboardTracking(False)
        w.setDecimals(s.decimals)
        lo = -FLOAT_LIMIT if s.minimum is None else float(s.minimum) + (10.0**-s.decimals if s.exclusive_minimum else 0)
        w.setRange(lo, FLOAT_LIMIT if s.maximum is None else float(s.maximum))
        if s.step:
            w.setSingleStep(float(s.step))
        if s.special:
            w.setSpecialValueText(s.special)
        if s.suffix:
            w.setSuffix(s.suffix)
    else:
        w = QLineEdit()
    w.setToolTip(s.help)
    w.setObjectName(field.name)
    return w


def editor_value(field: Field, w: QWidget) -> Any:
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, QSpinBox):
        v = int(w.value())
        if field.spec.odd and v % 2 == 0:  # typed in: the nearest odd value within range
            v = v + 1 if v + 1 <= w.maximum() else v - 1
        return v
    if isinstance(w, QDoubleSpinBox):
        return float(w.value())
    return w.text()


def set_editor_value(w: QWidget, value: Any) -> None:
    if isinstance(w, QComboBox):
        i = w.findData(value)
        w.setCurrentIndex(i if i >= 0 else w.findText(str(value)))
    elif isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
        w.setValue(value)
    else:
        w.setText(str(value))


def editor_changed(w: QWidget):
    """The editor's signal that fires when the user changes its value."""
    if isinstance(w, QComboBox):
        return w.currentIndexChanged
    if isinstance(w, QCheckBox):
        return w.toggled
    if isinstance(w, (QSpinBox, QDoubleSpinBox)):
        return w.valueChanged
    return w.editingFinished


# -- the form --------------------------------------------------------------------------------
class SettingsForm(QWidget):
    """Rows for the shown settings of ``groups``; ``changed`` fires with {group: settings}."""

    changed = Signal(object)  # dict[str, settings object]

    def __init__(
        self, groups: Iterable[tuple[str, type]], values: dict[str, Any] | None = None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.groups = list(groups)
        self.boxes: dict[str, QGroupBox] = {}
        self.editors: dict[tuple[str, str], tuple[Field, QWidget]] = {}
        self._values = {name: cls() for name, cls in self.groups}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        for group, cls in self.groups:
            fields = shown_fields(cls)
            if not fields:
                continue
            box = QGroupBox(group_title(group))
            box.setObjectName(f"group-{group}")
            form = QFormLayout(box)
            for f in fields:
                w = make_editor(f)
                form.addRow(f.spec.label, w)
                self.editors[(group, f.name)] = (f, w)
            self.boxes[group] = box
            lay.addWidget(box)
        self.reset_button = QPushButton("Reset to defaults")
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reset_button)
        lay.addLayout(row)
        lay.addStretch(1)
        self._loading = False
        self.set_values(values or self._values)
        for (group, _name), (_f, w) in self.editors.items():
            editor_changed(w).connect(lambda *_a, g=group: self._edited(g))
        self.reset_button.clicked.connect(self.reset)

    def editor(self, group: str, name: str) -> QWidget:
        return self.editors[(group, name)][1]

    def values(self) -> dict[str, Any]:
        return dict(self._values)

    def set_values(self, values: dict[str, Any], emit: bool = False) -> None:
        """Show ``values`` (settings that are not shown are kept as given)."""
        self._loading = True
        try:
            for group, obj in values.items():
                if group not in self._values:
                    continue
                self._values[group] = obj
                for f in shown_fields(obj):
                    if (group, f.name) in self.editors:
                        set_editor_value(self.editor(group, f.name), getattr(obj, f.name))
        finally:
            self._loading = False
        if emit:
            self.changed.emit(self.values())

    def reset(self) -> None:
        self.set_values({name: cls() for name, cls in self.groups}, emit=True)

    def _edited(self, group: str) -> None:
        if self._loading:
            return
        obj = self._values[group]
        chosen = {}
        for f in shown_fields(obj):
            if (group, f.name) not in self.editors:
                continue
            w = self.editor(group, f.name)
            try:
                chosen[f.name] = check_value(f, editor_value(f, w))
            except SettingsError:
                chosen[f.name] = getattr(obj, f.name)  # an editor cannot hold it: keep the last good value
        new = dataclasses.replace(obj, **chosen)
        self._values[group] = new
        self.set_values({group: new})  # shows coerced values (e.g. odd sizes)
        self.changed.emit(self.values())


class SettingsPanel(QWidget):
    """The Settings dock: every group of the pipeline; ``changed`` fires with InpaintSettings.

    Only the common settings and those of the chosen engine are shown.
    """

    changed = Signal(object)  # InpaintSettings

    def __init__(self, settings: InpaintSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.form = SettingsForm(settings_groups(), to_values(settings), self)
        self.reset_button = self.form.reset_button
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.form)
        self.form.changed.connect(self._form_changed)
        self._show_engine(settings.common.engine)

    def editor(self, group: str, name: str) -> QWidget:
        return self.form.editor(group, name)

    def settings(self) -> InpaintSettings:
        return to_settings(self.form.values())

    def set_settings(self, settings: InpaintSettings, emit: bool = False) -> None:
        self.form.set_values(to_values(settings))
        self._show_engine(settings.common.engine)
        if emit:
            self.changed.emit(self.settings())

    def _form_changed(self, values: dict) -> None:
        s = to_settings(values)
        self._show_engine(s.common.engine)
        self.changed.emit(s)

    def _show_engine(self, engine: str) -> None:
        for group, box in self.form.boxes.items():
            box.setVisible(group in (COMMON, engine))
