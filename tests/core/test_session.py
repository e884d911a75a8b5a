"""The inpainting flow without Qt (``core/session.py``): plan, run, choose, apply, re-plan, undo."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

from inpaint_gui.core.session import Action, Flow


def region(label="r1", engine="face"):
    return SimpleNamespace(engine=engine, label=label)


def result(n=2, best=1):
    return SimpleNamespace(candidates=[SimpleNamespace(label=f"c{i}") for i in range(n)], best=best)


def planned_flow(key="k1", regions=None):
    flow = Flow()
    assert flow.edited() is Action.PLAN_SOON
    flow.plan_started()
    assert flow.planned(key, regions or [region("r1"), region("r2")]) is Action.NOTHING
    return flow


def test_plan_then_inpaint_runs_the_first_region():
    flow = planned_flow()
    assert flow.region.label == "r1" and len(flow.regions) == 2 and flow.key == "k1"
    assert flow.inpaint("k1") is Action.RUN and flow.running and flow.busy


def test_a_stale_plan_is_planned_again_before_the_run():
    flow = planned_flow()
    assert flow.inpaint("k2") is Action.PLAN and flow.run_after_plan and flow.busy
    flow.plan_started()
    assert flow.planned("k2", [region("new")]) is Action.RUN and flow.region.label == "new"
    assert not flow.run_after_plan
    # a plan still pending counts as stale too
    flow = planned_flow()
    assert flow.inpaint("k1", planning=True) is Action.PLAN


def test_a_failed_or_empty_plan_is_an_error_for_a_waiting_run_only():
    flow = planned_flow()
    assert flow.plan_failed("k2", "the hole is too large") is Action.NOTHING  # no run waits: no dialog
    assert flow.region is None and flow.plan_error == "the hole is too large"
    assert flow.inpaint("k2") is Action.ERROR and flow.message == "the hole is too large"
    assert flow.inpaint("k3") is Action.PLAN
    assert flow.planned("k3", []) is Action.ERROR and "nothing to fill" in flow.message and not flow.busy


def test_edits_while_busy_or_choosing_wait_until_the_photo_is_idle():
    flow = planned_flow()
    flow.inpaint("k1")
    assert flow.edited() is Action.NOTHING and flow.dirty  # while the run goes
    assert flow.run_finished(result()) is Action.SHOW and not flow.busy
    assert flow.edited() is Action.NOTHING  # candidates wait to be chosen
    assert flow.discard() is Action.PLAN_SOON and not flow.dirty and flow.result is None


def test_choose_and_apply_record_the_fill_and_plan_the_rest():
    flow = planned_flow()
    flow.inpaint("k1")
    flow.run_finished(result(n=3, best=2))
    assert flow.chosen().label == "c2"  # the run's best until one is chosen
    assert flow.choose(5) is None and flow.choose(0).label == "c0"
    assert flow.apply().label == "c0" and flow.finishing
    assert flow.choose(1) is None and flow.apply() is None  # not while applying
    assert flow.finish_done((1, 2, 3, 4), step=7) is Action.PLAN_SOON
    assert [(a.region_label, a.candidate_label, a.rect, a.step) for a in flow.applied] == [
        ("r1", "c0", (1, 2, 3, 4), 7)
    ]
    assert flow.result is None and not flow.busy


def test_no_candidates_is_an_error_and_a_failed_run_keeps_nothing():
    flow = planned_flow()
    flow.inpaint("k1")
    assert flow.run_finished(result(n=0)) is Action.ERROR and "no candidates" in flow.message and not flow.busy
    flow.inpaint("k1")
    flow.run_failed()
    assert flow.result is None and not flow.busy


def test_cancel_stops_a_run_drops_an_apply_or_forgets_a_waiting_run():
    flow = planned_flow()
    flow.inpaint("k1")
    assert flow.cancel() is Action.CANCEL_RUN and flow.running  # the run ends with its best so far
    flow.run_finished(result())
    flow.apply()
    assert flow.cancel() is Action.DROP_FINISH and not flow.busy and flow.result is not None and not flow.applied
    assert flow.inpaint("k9") is Action.PLAN
    assert flow.cancel() is Action.NOTHING and not flow.run_after_plan and not flow.busy
    assert Flow().cancel() is Action.NOTHING


def test_undo_and_redo_of_applied_fills():
    flow = planned_flow()
    for step in (10, 11):
        flow.inpaint("k1")
        flow.run_finished(result())
        flow.apply()
        flow.finish_done((0, 0, 1, 1), step=step)
    assert [a.step for a in flow.applied] == [10, 11]
    assert flow.history({11}) is Action.PLAN_SOON and [a.step for a in flow.applied] == [10]
    assert [a.step for a in flow.undone] == [11]
    assert flow.history({11, 5}) is Action.NOTHING  # a mask step undone: no fill moved
    flow.history(set())  # redo
    assert [a.step for a in flow.applied] == [10, 11] and not flow.undone
    flow.history({10, 11})
    assert not flow.applied
    flow.inpaint("k1")
    flow.run_finished(result())
    flow.apply()
    flow.finish_done((0, 0, 1, 1), step=12)  # a new fill: the undone ones cannot come back
    assert [a.step for a in flow.applied] == [12] and not flow.undone


def test_reset_forgets_everything():
    flow = planned_flow()
    flow.inpaint("k1")
    flow.reset()
    assert flow.key is None and not flow.regions and not flow.busy and flow.result is None


def test_the_session_module_needs_no_qt():
    code = "import sys, inpaint_gui.core.session; assert not any(m.startswith('PySide6') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
