"""The session's jobs: plan on mask edits, the locked window, and the generic engine hooks
(region frame, step windows, candidate labels, status bar), with a fake engine where needed."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from inpaint_gui.core.engines.base import Engine
from tests.gui.conftest import configure, drag, open_photo, settle, view_point, write_photo

pytestmark = pytest.mark.gui


class FakeEngine(Engine):
    """A fill engine that frames a non-square rectangle, moves its window while it runs and
    fills with one colour per candidate."""

    name = "face"  # stands in for the face engine (its settings are ignored)

    def __init__(self):
        self.windows: list = []  # the ``window`` of every plan
        self.step_delay = 0.02
        self.finish_delay = 0.0
        self.finish_error: Exception | None = None

    def load(self, spec=None, device="cpu"):
        return SimpleNamespace(name="fake-model", resolution=8, mean_face=None)

    def plan(self, image, mask, settings, common, window=None, *, exclude=None):
        from inpaint_gui.core.engines.base import Region
        from inpaint_gui.core.errors import MaskError

        self.windows.append(None if window is None else tuple(window))
        h, w = mask.shape
        if window is not None:
            x, y, s = window
            rect = (x, y, x + s, y + s)
        else:
            ys, xs = np.nonzero(mask)
            rect = (max(0, xs.min() - 6), max(0, ys.min() - 2), min(w, xs.max() + 7), min(h, ys.max() + 3))
        hole = mask[rect[1] : rect[3], rect[0] : rect[2]].copy()
        if not hole.any():
            raise MaskError("the fake region holds no hole")
        return [Region(self.name, rect, hole, f"fake {rect[0]},{rect[1]}", None)]

    def run(self, image, mask, region, settings, common, cancel=None):
        from inpaint_gui.core.engines.base import Candidate, Step

        thumbs = np.zeros((2, 8, 8, 3), np.uint8)
        for i in range(1, 6):
            if cancel is not None and cancel.is_set():
                break
            time.sleep(self.step_delay)
            yield Step(i, 5, np.array([1.0 / i, 2.0 / i]), 0, 0.01 * i, thumbnails=thumbs + i, window=(i, i, 20))
        candidates = [
            Candidate(0, "framing A · restart 1", 0.2, thumbs, payload=(10, 200, 30)),
            Candidate(1, "framing B · restart 2", 0.4, thumbs + 50, payload=(200, 10, 30)),
        ]
        yield Step(
            5,
            5,
            np.array([0.2, 0.4]),
            0,
            0.05,
            thumbnails=thumbs,
            done=True,
            candidates=candidates,
            window=(3, 3, 20),
            info={"model": "fake-model"},
        )

    def finish(self, image, region, candidate):
        from inpaint_gui.core.engines.base import Fill

        time.sleep(self.finish_delay)
        if self.finish_error is not None:
            raise self.finish_error
        x0, y0, x1, y1 = region.rect
        return Fill(region.rect, np.full((y1 - y0, x1 - x0, 3), candidate.payload, np.float32))


@pytest.fixture
def fake(monkeypatch):
    """Windows made after this get the fake engine in their compute thread."""
    import inpaint_gui.gui.main_window as main_window
    from inpaint_gui.core.engines import Engines

    engine = FakeEngine()
    monkeypatch.setattr(main_window, "Engines", lambda: Engines(face=engine))
    return engine


@pytest.fixture
def faked(fake, make_window, tmp_path, qtbot):
    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    mask = np.zeros(w.doc.mask.shape, bool)
    mask[40:50, 60:70] = True
    w.doc.set_mask(mask, "Test hole")
    w.store.set_value("common", "blend", "paste")
    settle(qtbot, w)
    return w


def run_to_candidates(qtbot, w):
    """Run and wait for the candidates; an error the session reports fails the test with its text."""
    errors = []
    w.session.error.connect(lambda title, message: errors.append(f"{title}: {message}"))
    w.session.inpaint()
    qtbot.waitUntil(lambda: w.session.result is not None or bool(errors), timeout=30000)
    assert not errors, errors
    return w.session.result


# -- planning --------------------------------------------------------------------------------------
def test_mask_edits_plan_in_a_job_debounced(make_window, tmp_path, qtbot, monkeypatch):
    import inpaint_gui.gui.compute as compute
    import inpaint_gui.gui.session as session

    calls = []
    real = compute.plan

    def plan(ctx, **kw):
        calls.append(threading.get_ident())
        return real(ctx, **kw)

    monkeypatch.setattr(compute, "plan", plan)
    monkeypatch.setattr(session, "PLAN_DELAY_MS", 400)  # generous: the machine may be busy
    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    assert w.canvas.frame is None and "No region" in w.region_label.text()
    assert "empty" in w.region_label.toolTip()
    calls.clear()
    c = w.canvas
    c.set_tool("rect")
    for k in range(3):  # three quick edits, one plan
        drag(c.viewport(), [view_point(c, 40 + k, 30), view_point(c, 60 + k, 50)])
    assert w.session.planning and w.canvas.frame is None
    settle(qtbot, w)
    assert len(calls) == 1 and calls[0] != threading.get_ident()  # off the GUI thread
    x0, y0, x1, y1 = w.canvas.frame
    assert x0 <= 40 and y0 <= 30 and x1 >= 62 and y1 >= 50 and not w.canvas.window_user_placed
    assert w.region_label.text().startswith("face · tiny")


def test_placing_the_window_locks_it_and_plans_with_it(faked, qtbot, fake):
    w = faked
    assert fake.windows[-1] is None and not w.act_lock.isChecked()
    assert w.canvas.frame == (54, 38, 76, 52)  # the engine's (non-square) region is framed
    c = w.canvas
    c.set_tool("window")
    drag(c.viewport(), [view_point(c, 50, 30), view_point(c, 90, 70)])  # draws a 40 px window by hand
    assert w.act_lock.isChecked() and w.session.locked
    settle(qtbot, w)
    assert fake.windows[-1] == (50, 30, 40) and w.canvas.frame == (50, 30, 90, 70)
    assert w.canvas.window_user_placed
    w.act_lock.trigger()  # unlock: placed automatically again
    settle(qtbot, w)
    assert fake.windows[-1] is None and w.canvas.frame == (54, 38, 76, 52) and not w.canvas.window_user_placed
    w.act_lock.trigger()  # lock what is shown now: square windows only
    assert not w.act_lock.isChecked()
    c.set_model_window((56, 36, 20))
    w.act_lock.trigger()
    settle(qtbot, w)
    assert w.act_lock.isChecked() and fake.windows[-1] == (56, 36, 20)
    w.act_autowin.trigger()
    settle(qtbot, w)
    assert not w.act_lock.isChecked() and fake.windows[-1] is None


# -- the run and the generic hooks --------------------------------------------------------------------
def test_frame_follows_the_run_and_candidates_carry_their_labels(faked, qtbot):
    w = faked
    frames = []
    w.session.update_shown.connect(lambda u: frames.append(w.canvas.frame))
    r = run_to_candidates(qtbot, w)
    assert frames[:-1] and all(f[2] - f[0] == 20 for f in frames)  # the step's window, while it runs
    assert w.canvas.frame == (3, 3, 23, 23)  # and where the final step put it
    texts = [w.candidates.item(i).text() for i in range(w.candidates.count())]
    assert "framing A · restart 1" in texts[0] and texts[0].startswith("★")
    assert w.candidates.item(1).toolTip().startswith("framing B · restart 2: loss 0.4")
    assert w.region_label.text() == "face · fake-model · fake 54,38"
    assert r.candidates[0].label == "framing A · restart 1" and w.loss_plot.totals.shape == (6, 2)


def test_preview_and_apply_of_a_chosen_candidate(faked, qtbot, dlg):
    w = faked
    run_to_candidates(qtbot, w)
    qtbot.waitUntil(lambda: 0 in w.session._previews, timeout=5000)
    w.session.choose(1)
    qtbot.waitUntil(lambda: 1 in w.session._previews, timeout=5000)  # built by a preview job
    image, rect = w.session._previews[1]
    assert rect == (60, 40, 70, 50)  # the hole's bounding box: what the fill changes
    px = image.pixelColor(65 - 60, 45 - 40)
    assert (px.red(), px.green(), px.blue(), px.alpha()) == (200, 10, 30, 255)
    before = w.doc.image.copy()
    hole = w.doc.mask.copy()
    with qtbot.waitSignal(w.doc.history_changed, timeout=5000):
        w.session.apply()
    assert (w.doc.image[hole] == (200, 10, 30)).all()
    np.testing.assert_array_equal(w.doc.image[~hole], before[~hole])
    assert not w.doc.mask.any() and w.session.result is None and not dlg.errors
    assert w.doc.undo_stack.undo_label() == "Apply fill"


def test_a_cancelled_or_failed_apply_leaves_the_photo_as_it_was(faked, qtbot, fake, dlg):
    w = faked
    run_to_candidates(qtbot, w)
    before, mask = w.doc.image.copy(), w.doc.mask.copy()
    fake.finish_delay = 0.3
    w.session.apply()
    assert w.session.finishing and not w.act_undo.isEnabled() and w.act_cancel.isEnabled()
    w.session.cancel()
    assert not w.session.finishing and w.session.result is not None and w.act_apply.isEnabled()
    qtbot.wait(400)  # the discarded finish completes in the worker and is dropped
    np.testing.assert_array_equal(w.doc.image, before)
    np.testing.assert_array_equal(w.doc.mask, mask)
    fake.finish_delay = 0.0
    fake.finish_error = RuntimeError("blend exploded")
    with qtbot.waitSignal(w.compute.failed, timeout=5000):
        w.session.apply()
    assert dlg.errors[-1][0] == "Applying failed" and "blend exploded" in dlg.errors[-1][1]
    np.testing.assert_array_equal(w.doc.image, before)
    assert w.session.result is not None and w.act_apply.isEnabled() and not w.doc.is_modified()


def test_a_run_for_a_photo_that_was_replaced_is_dropped(faked, qtbot, fake, tmp_path):
    w = faked
    fake.step_delay = 0.1
    w.session.inpaint()
    qtbot.waitUntil(lambda: w.session.running, timeout=5000)
    old_run = w.session._ids["run"]
    open_photo(qtbot, w, write_photo(tmp_path / "b.png", seed=3))
    assert not w.compute.is_live(old_run) and not w.session.running
    qtbot.wait(300)
    assert w.session.result is None and w.candidates.count() == 0 and w.canvas.preview is None


def test_settings_changes_replan(faked, qtbot, fake):
    w = faked
    n = len(fake.windows)
    configure(w, restarts=2)
    settle(qtbot, w)
    assert len(fake.windows) == n + 1


def test_a_plan_for_an_older_mask_never_moves_a_window_placed_meanwhile(make_window, tmp_path, qtbot, monkeypatch):
    import inpaint_gui.gui.compute as compute

    w = make_window()
    open_photo(qtbot, w, write_photo(tmp_path / "a.png"))
    real = compute.plan
    given = []

    def slow_plan(ctx, **kw):
        given.append(kw)
        time.sleep(0.3)
        return real(ctx, **kw)

    monkeypatch.setattr(compute, "plan", slow_plan)
    mask = np.zeros(w.doc.mask.shape, bool)
    mask[30:50, 40:60] = True
    w.doc.set_mask(mask, "Test hole")
    qtbot.waitUntil(lambda: bool(given), timeout=5000)  # an automatic plan is under way
    first = given[0]
    assert first["mask"] is not w.doc.mask and not first["image"].flags.writeable  # copies
    w.doc.mask[0, 0] = True  # (the job's copy does not see later edits)
    assert not first["mask"][0, 0]
    w.doc.mask[0, 0] = False
    w.canvas.place_model_window((20, 10, 64))  # the user places the window before it is done
    settle(qtbot, w)
    assert w.canvas.frame == (20, 10, 84, 74) and w.session.locked
    assert given[-1]["window"] == (20, 10, 64)
    assert w.session.region.rect == (20, 10, 84, 74)
