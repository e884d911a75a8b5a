"""The job runner on its own: ids, results, progress, failures, stale signals, cancel, shutdown."""

from __future__ import annotations

import threading
import time

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot):
    from inpaint_gui.gui.jobs import JobRunner

    made = []

    def resources():
        made.append(threading.get_ident())
        return {"made in": threading.get_ident()}

    r = JobRunner("test", resources=resources)
    r.made = made
    yield r
    assert r.shutdown()
    assert not r.worker_thread.isRunning()


def record(runner):
    seen = {"progress": [], "finished": [], "failed": []}
    runner.progress.connect(lambda i, p: seen["progress"].append((i, p)))
    runner.finished.connect(lambda i, r: seen["finished"].append((i, r)))
    runner.failed.connect(lambda i, m: seen["failed"].append((i, m)))
    return seen


def test_jobs_run_in_order_on_the_worker_thread_with_fresh_ids(runner, qtbot):
    seen = record(runner)
    main = threading.get_ident()

    def job(n):
        def fn(ctx):
            ctx.report(("half", n))
            return (n, threading.get_ident(), ctx.resources["made in"], ctx.kind)

        return fn

    ids = [runner.submit("sum", job(n)) for n in range(3)]
    assert ids == sorted(set(ids)) and runner.busy
    qtbot.waitUntil(lambda: len(seen["finished"]) == 3, timeout=5000)
    assert [i for i, _ in seen["finished"]] == ids
    results = [r for _, r in seen["finished"]]
    assert [r[0] for r in results] == [0, 1, 2]
    assert all(r[1] != main and r[1] == r[2] for r in results)  # in the worker thread, as are the resources
    assert runner.made == [results[0][1]]  # made once
    assert [p for _, p in seen["progress"]] == [("half", 0), ("half", 1), ("half", 2)]
    assert not runner.busy and not seen["failed"]
    # ids never repeat, even across runners
    from inpaint_gui.gui.jobs import JobRunner

    other = JobRunner("other")
    try:
        assert other.submit("noop", lambda ctx: None) > ids[-1]
    finally:
        assert other.shutdown()


def test_a_failure_is_one_friendly_line_and_is_logged(runner, qtbot, caplog):
    from inpaint_gui.core.errors import MaskError

    seen = record(runner)

    def boom(ctx):
        raise ValueError("bad value\nsecond line")

    def user_error(ctx):
        raise MaskError("the mask is empty: paint the hole")

    callbacks = []
    with qtbot.waitSignal(runner.failed, timeout=5000):
        runner.submit("boom", boom, on_failed=callbacks.append)
    with qtbot.waitSignal(runner.failed, timeout=5000):
        runner.submit("user", user_error)
    (_, first), (_, second) = seen["failed"]
    assert first.startswith("Unexpected error (ValueError: bad value)") and "\n" not in first
    assert callbacks == [first]
    assert second == "the mask is empty: paint the hole"
    assert any("Traceback" in r.getMessage() for r in caplog.records)  # details for the log


def test_a_newer_job_on_the_same_lane_silences_the_older_one(runner, qtbot):
    seen = record(runner)
    release = threading.Event()

    def slow(ctx):
        ctx.report("early")
        while not ctx.cancelled and not release.is_set():
            time.sleep(0.005)
        ctx.report("late")
        return "slow result"

    first = runner.submit("plan", slow, lane="plan")
    qtbot.waitUntil(lambda: bool(seen["progress"]), timeout=5000)
    second = runner.submit("plan", lambda ctx: "fresh result", lane="plan")
    assert not runner.is_live(first) and runner.is_live(second)
    qtbot.waitUntil(lambda: bool(seen["finished"]), timeout=5000)
    qtbot.wait(50)
    assert seen["finished"] == [(second, "fresh result")]  # the first job's result was dropped
    assert seen["progress"] == [(first, "early")]  # and so was its late report


def test_cancel_keeps_the_result_discard_drops_it(runner, qtbot):
    seen = record(runner)

    def until_cancelled(ctx):
        while not ctx.cancelled:
            time.sleep(0.005)
        return "best so far"

    job = runner.submit("run", until_cancelled)
    qtbot.wait(30)
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.cancel(job)
    assert blocker.args == [job, "best so far"]
    job = runner.submit("run", until_cancelled)
    runner.discard(job)
    assert not runner.busy
    qtbot.wait(100)
    assert len(seen["finished"]) == 1
    # a discarded job that has not started yet never runs
    ran = []
    blocker_job = runner.submit("run", until_cancelled)
    queued = runner.submit("queued", lambda ctx: ran.append(1))
    runner.discard(queued)
    runner.cancel(blocker_job)
    qtbot.waitUntil(lambda: len(seen["finished"]) == 2, timeout=5000)
    qtbot.wait(50)
    assert ran == []


def test_busy_changed_and_shutdown_with_a_job_running(qtbot):
    from inpaint_gui.gui.jobs import JobRunner

    r = JobRunner("busy")
    states = []
    r.busy_changed.connect(states.append)

    def forever(ctx):
        while not ctx.cancelled:
            time.sleep(0.005)

    ids = [r.submit("run", forever), r.submit("run", forever)]
    qtbot.wait(30)
    assert states == [True] and r.busy and all(r.is_live(i) for i in ids)
    t0 = time.perf_counter()
    assert r.shutdown(5000)
    assert time.perf_counter() - t0 < 2 and not r.worker_thread.isRunning()
    assert states == [True, False]
    with pytest.raises(RuntimeError):
        r.submit("late", lambda ctx: None)


def test_friendly_error_messages():
    from inpaint_gui.gui.jobs import friendly_error

    assert "CUDA" in friendly_error(RuntimeError("CUDA error: device-side assert"))
    assert "memory" in friendly_error(MemoryError()).lower()
    assert (
        friendly_error(FileNotFoundError(2, "No such file or directory", "/x/y.png"))
        == "/x/y.png: No such file or directory"
    )
