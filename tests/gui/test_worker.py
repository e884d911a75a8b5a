"""The worker thread on its own: job ids, stale signals, copies, shutdown."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import photo

pytestmark = pytest.mark.gui


@pytest.fixture
def controller(qtbot, tiny_model):
    from inpaint_gui.gui.worker import WorkerController

    c = WorkerController()
    with qtbot.waitSignal(c.model_ready, timeout=20000):
        c.load_model(tiny_model)
    yield c
    assert c.shutdown()
    assert not c.thread.isRunning()


def test_a_newer_job_silences_the_older_one(controller, qtbot):
    from inpaint_gui.gui.settings import JobSettings

    img = photo()
    mask = np.zeros((96, 128), bool)
    mask[30:50, 40:60] = True
    finished, progress = [], []
    controller.search_finished.connect(finished.append)
    controller.progress.connect(progress.append)
    slow = JobSettings(iterations=100_000, stop_patience=0, restarts=2)
    first = controller.start_search(img, mask, (20, 10, 64), slow)
    mask[30:50, 40:60] = False  # the job works on copies taken at the start
    mask[0:10, 0:10] = True
    second = controller.start_search(img, mask, (0, 0, 40), JobSettings(iterations=20, restarts=2))
    assert second != first
    qtbot.waitUntil(lambda: bool(finished), timeout=60000)
    qtbot.wait(100)
    assert [r.job_id for r in finished] == [second]  # the cancelled first job's result was dropped
    assert all(p.job_id == second for p in progress)
    assert finished[0].window == (0, 0, 40) and finished[0].mask[:10, :10].all()
    assert not controller.is_busy()


def test_cancel_returns_best_so_far(controller, qtbot):
    from inpaint_gui.gui.settings import JobSettings

    mask = np.zeros((96, 128), bool)
    mask[30:50, 40:60] = True
    controller.start_search(photo(), mask, (20, 10, 64), JobSettings(iterations=100_000, stop_patience=0, restarts=3))
    with qtbot.waitSignal(controller.search_finished, timeout=60000) as blocker:
        qtbot.wait(300)
        controller.cancel()
    r = blocker.args[0]
    assert r.cancelled and r.previews.shape == (3, 32, 32, 3) and r.best == int(np.argmin(r.total))
    assert r.history_total.shape[1] == 3
