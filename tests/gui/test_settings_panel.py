"""The settings dock and QSettings, both generated from the settings specs."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QGroupBox, QLineEdit, QSpinBox

from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, settings_groups
from inpaint_gui.core.settings import setting, specs
from inpaint_gui.gui.settings_panel import INT_LIMIT, SettingsForm, SettingsPanel
from inpaint_gui.gui.settings_store import SettingsStore, load_settings, load_values, save_settings, save_values

pytestmark = pytest.mark.gui


def expected_kind(field):
    if field.spec.choices:
        return QComboBox
    return {bool: QCheckBox, int: QSpinBox, float: QDoubleSpinBox, str: QLineEdit}[field.type]


def check_row(field, w):
    s = field.spec
    assert isinstance(w, expected_kind(field)), field.name
    assert w.toolTip() == s.help
    if isinstance(w, QComboBox):
        assert [w.itemData(i) for i in range(w.count())] == list(s.choices)
    elif isinstance(w, QSpinBox):
        lo = -INT_LIMIT if s.minimum is None else s.minimum + (1 if s.exclusive_minimum else 0)
        assert w.minimum() == max(-INT_LIMIT, lo)
        assert w.maximum() == (INT_LIMIT if s.maximum is None else min(INT_LIMIT, s.maximum))
        assert w.singleStep() == (s.step or 1) and w.specialValueText() == s.special and w.suffix() == s.suffix
    elif isinstance(w, QDoubleSpinBox):
        assert w.decimals() == s.decimals
        lo = s.minimum + (10.0**-s.decimals if s.exclusive_minimum else 0)
        assert w.minimum() == pytest.approx(lo) and w.maximum() == pytest.approx(s.maximum)
        if s.step:
            assert w.singleStep() == pytest.approx(s.step)


def test_every_labelled_setting_has_a_dock_row_of_the_right_kind(qtbot):
    panel = SettingsPanel(InpaintSettings())
    qtbot.addWidget(panel)
    rows = 0
    for group, cls in settings_groups():
        box = panel.form.boxes[group]
        assert isinstance(box, QGroupBox) and box.title()
        for field in specs(cls):
            if not field.spec.label:
                assert (group, field.name) not in panel.form.editors  # CLI-only or internal
                continue
            w = panel.editor(group, field.name)
            check_row(field, w)
            assert box.isAncestorOf(w)
            rows += 1
    assert rows >= 10
    assert panel.editor("face", "stop_patience").specialValueText() == "never"  # 0 reads as never stop early


def test_editing_a_row_emits_the_whole_settings(qtbot):
    panel = SettingsPanel(InpaintSettings())
    qtbot.addWidget(panel)
    seen = []
    panel.changed.connect(seen.append)
    panel.editor("face", "stop_patience").setValue(120)
    assert isinstance(seen[-1], InpaintSettings) and seen[-1].of("face").stop_patience == 120
    panel.editor("face", "lam").setValue(0.01)
    assert seen[-1].of("face").lam == pytest.approx(0.01) and seen[-1].of("face").stop_patience == 120
    panel.editor("common", "blend").setCurrentText("paste")
    assert seen[-1].common.blend == "paste"
    panel.editor("common", "seed").setValue(7)
    assert seen[-1].common.seed == 7
    panel.editor("face", "weight_window").setValue(8)  # typed in: odd sizes only
    assert seen[-1].of("face").weight_window == 9 and panel.editor("face", "weight_window").value() == 9
    seen[-1].validate()
    panel.reset_button.click()
    assert seen[-1] == InpaintSettings()


def test_settings_the_dock_does_not_show_are_kept(qtbot):
    s = InpaintSettings()
    s = replace(s, engines={**s.engines, "face": replace(s.of("face"), preview_every=1, init_samples=3)})
    panel = SettingsPanel(s)
    qtbot.addWidget(panel)
    seen = []
    panel.changed.connect(seen.append)
    panel.editor("face", "restarts").setValue(3)
    assert seen[-1].of("face").preview_every == 1 and seen[-1].of("face").init_samples == 3


def test_settings_persist_and_reload_equal(tmp_path):
    qs = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    s = InpaintSettings()
    face = replace(s.of("face"), iterations=321, restarts=3, lam=0.0125, weighting="plain", stop_patience=0)
    s = replace(s, common=replace(s.common, blend="paste", seed=12345678901), engines={**s.engines, "face": face})
    save_settings(s, qs)
    del qs
    again = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)  # values come back as text
    assert load_settings(again) == s
    again.beginGroup("settings")
    assert sorted(again.childGroups()) == sorted(name for name, _ in settings_groups())  # one group each
    again.endGroup()


def test_a_corrupt_stored_value_falls_back_to_its_default(tmp_path):
    qs = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    qs.setValue("settings/face/iterations", "lots")
    qs.setValue("settings/face/restarts", -3)  # out of range
    qs.setValue("settings/face/lam", 0.5)  # fine
    qs.setValue("settings/common/blend", "smudge")  # no such choice
    qs.setValue("settings/common/engine", ["face"])  # the wrong type entirely
    qs.setValue("settings/face/no_longer_a_setting", 3)
    qs.sync()
    s = load_settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    d = InpaintSettings()
    assert s.of("face").iterations == d.of("face").iterations and s.of("face").restarts == d.of("face").restarts
    assert s.of("face").lam == 0.5
    assert s.common == d.common


def test_the_store_is_the_one_source_of_truth(tmp_path, qtbot):
    qs = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store = SettingsStore(qs)
    seen = []
    store.changed.connect(seen.append)
    store.set_value("face", "restarts", 5)
    assert seen[-1].of("face").restarts == 5 and SettingsStore(qs).settings.of("face").restarts == 5
    store.set(store.settings)  # no change, no signal
    assert len(seen) == 1
    store.reset()
    assert store.settings == InpaintSettings() and len(seen) == 2


@dataclass(frozen=True)
class Dummy:
    """A settings class the GUI has never heard of."""

    size: int = setting(5, "patch side", minimum=3, maximum=31, odd=True, step=2, label="Patch size")
    weight: float = setting(0.25, "a weight", minimum=0.0, maximum=2.0, decimals=3, step=0.05, label="Weight")
    mode: str = setting("fast", "how", choices=("fast", "slow"), label="Mode")
    verbose: bool = setting(False, "say more", label="Verbose")
    name: str = setting("abc", "a name", label="Name")
    hidden: int = setting(1, "CLI only", minimum=0)
    internal: int = 7


def test_a_new_settings_class_needs_no_gui_change(qtbot, tmp_path):
    form = SettingsForm([("dummy", Dummy)])
    qtbot.addWidget(form)
    assert form.boxes["dummy"].title() == "Dummy engine"
    for field in specs(Dummy):
        if field.spec.label:
            check_row(field, form.editor("dummy", field.name))
    assert ("dummy", "hidden") not in form.editors and ("dummy", "internal") not in form.editors
    seen = []
    form.changed.connect(seen.append)
    form.editor("dummy", "size").setValue(9)
    form.editor("dummy", "weight").setValue(1.5)
    form.editor("dummy", "mode").setCurrentIndex(1)
    form.editor("dummy", "verbose").setChecked(True)
    editor = form.editor("dummy", "name")
    editor.setText("xyz")
    editor.editingFinished.emit()
    assert seen[-1]["dummy"] == Dummy(size=9, weight=1.5, mode="slow", verbose=True, name="xyz")
    # and QSettings, through the same specs
    qs = QSettings(str(tmp_path / "d.ini"), QSettings.Format.IniFormat)
    save_values(qs, seen[-1])
    assert load_values(qs, [("dummy", Dummy)]) == seen[-1]
    qs.setValue("settings/dummy/size", 4)  # even: not allowed
    assert load_values(qs, [("dummy", Dummy)])["dummy"].size == 5


def test_the_toolbar_engine_box_and_the_dock_share_the_engine_setting(make_window):
    w = make_window()
    field = next(f for f in specs(CommonSettings) if f.name == "engine")
    assert [w.engine_box.itemData(i) for i in range(w.engine_box.count())] == list(field.spec.choices)
    dock = w.settings_panel.editor("common", "engine")
    assert w.engine_box.currentData() == dock.currentData() == w.store.settings.common.engine
    # one source of truth: a change anywhere reaches the others through the store
    if w.engine_box.count() > 1:  # pragma: no cover - one engine today
        w.engine_box.setCurrentIndex(1)
        assert dock.currentIndex() == 1 and w.store.settings.common.engine == w.engine_box.currentData()
    seen = []
    w.store.changed.connect(seen.append)
    w.engine_box.currentIndexChanged.emit(w.engine_box.currentIndex())
    assert not seen  # the same value again: nothing changed
