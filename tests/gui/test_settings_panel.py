"""The stopping rule in the settings dock: defaults in step with the core, carried to the search."""

from inpaint_gui.gui.panels import SettingsPanel
from inpaint_gui.gui.settings import JobSettings


def test_stop_patience_default_matches_the_core():
    from inpaint_gui.core.engines.gan.search import SearchSettings

    core, gui = SearchSettings(), JobSettings()
    assert (gui.stop_patience, gui.lr, gui.iterations, gui.restarts) == (core.stop_patience, core.lr, core.iterations,
                                                                          core.restarts)
    assert JobSettings(stop_patience=-5).validated().stop_patience == 0


def test_panel_edits_the_stopping_rule_and_the_search_gets_it(qtbot):
    panel = SettingsPanel(JobSettings())
    qtbot.addWidget(panel)
    seen = []
    panel.changed.connect(seen.append)
    assert panel.stop_patience.value() == JobSettings().stop_patience
    panel.stop_patience.setValue(0)
    assert panel.stop_patience.text() == "never"  # 0 reads as "never stop early"
    panel.stop_patience.setValue(120)
    assert seen and seen[-1].stop_patience == 120
    assert seen[-1].search_settings().stop_patience == 120
