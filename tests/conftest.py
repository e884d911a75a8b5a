"""Shared test setup: offscreen Qt, tiny random models, and a check for dangling threads.

Qt runs on the ``offscreen`` platform unless pytest is given ``--headed``; the variable is
set before any test imports Qt (the QApplication reads it when it is created).
"""

from __future__ import annotations

import os
import sys
import threading
import weakref

import pytest

if "--headed" not in sys.argv:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--headed",
        action="store_true",
        default=False,
        help="show Qt windows on the real display instead of the offscreen platform",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--headed"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # One compute thread in the test process: the tests' networks are tiny (a thread pool only
    # adds waiting), and the CLI tests' child processes use the cores meanwhile; torch threads
    # that spin-wait beside a busy process made a 1.2 s framing search take 8.8 s. The app's
    # own thread choice is tested in child processes and through --threads.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Back to one torch thread after a test that ran a command in this process (it sets its own)."""
    yield
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model():
    """A small random DCGAN (32x32, nz=16) wrapped as a LoadedModel, built once."""
    from inpaint_gui.core.engines.gan.models import DCGANConfig, build_models
    from tests.tiny import model_from_modules

    g, d = build_models(DCGANConfig(resolution=32, nz=16, ngf=8, ndf=8), seed=0)
    return model_from_modules(g, d, name="tiny")


@pytest.fixture(autouse=True)
def no_dangling_threads():
    """Fail the test if a Python thread or a QThread it started is still running at its end.

    Runs its check after pytest-qt has closed the test's widgets (their close events are
    where the app stops its worker thread).
    """
    before = set(threading.enumerate())
    qthread_cls = None
    started: list[weakref.ref] = []
    if "PySide6.QtCore" in sys.modules or _qt_importable():
        from PySide6.QtCore import QThread

        from inpaint_gui.gui import _pyside_fix

        _pyside_fix.apply()  # PySide6 6.12 on Python < 3.12 leaks None references; see the module
        qthread_cls = QThread
        original = QThread.start

        def start(self, *args, **kwargs):
            started.append(weakref.ref(self))
            return original(self, *args, **kwargs)

        QThread.start = start
    try:
        yield
    finally:
        if qthread_cls is not None:
            qthread_cls.start = original
    leaks = []
    for t in set(threading.enumerate()) - before:
        if isinstance(t, threading._DummyThread):  # a foreign (e.g. Qt) thread that ran Python: checked below
            continue
        t.join(timeout=0.5)  # a thread that is just returning gets a moment
        if t.is_alive():
            leaks.append(f"threading.Thread {t.name!r}")
    for ref in started:
        qt = ref()
        if qt is None:
            continue
        try:
            running = qt.isRunning()
        except RuntimeError:  # the C++ object is already gone
            continue
        if running:
            leaks.append(f"QThread {qt!r}")
            qt.requestInterruption()
            qt.quit()
            qt.wait(5000)  # do not let it disturb the next test
    if leaks:
        pytest.fail("threads left running after the test: " + ", ".join(leaks), pytrace=False)


def _qt_importable() -> bool:
    try:
        import PySide6.QtCore  # noqa: F401
    except ImportError:
        return False
    return True
