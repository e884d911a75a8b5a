"""Running ``inpaint-gui`` in a subprocess on small files, for the command-line tests."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.tiny import save_tiny_model

REPO = Path(__file__).resolve().parents[1]
FAST = ["--engine", "face", "--iterations", "15", "--restarts", "2", "--device", "cpu", "--quiet"]


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "inpaint_gui", *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def cli_here(*args):
    """``inpaint-gui ARGS`` run in this process (no interpreter or torch start-up, for commands
    whose process-level behaviour other tests cover): its exit code, stdout and stderr. The
    signal handlers and torch's thread count the command sets are put back afterwards."""
    import contextlib
    import io
    from types import SimpleNamespace

    import torch

    from inpaint_gui.cli import main

    signals = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    saved = {s: signal.getsignal(s) for s in signals}
    threads = torch.get_num_threads()
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        torch.set_num_threads(threads)
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def one_error_line(r, *needles):
    """Assert ``r`` (a finished ``cli`` run) failed as a user error: exit 2, one line naming ``needles``."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inpaint-gui: error:"), r.stderr
    assert "Traceback" not in r.stderr and "usage:" not in r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def make_cli_files(d):
    """A tiny model, a 80x60 photo, its mask and some broken inputs in ``d``: (d, image, bool mask)."""
    save_tiny_model(d / "tiny")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:60, :80]
    image = np.clip(np.stack([xx * 3, yy * 3, xx + yy], -1) + rng.normal(0, 4, (60, 80, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(image).save(d / "photo.png")
    mask = np.zeros((60, 80), np.uint8)
    mask[20:35, 30:50] = 255
    Image.fromarray(mask).save(d / "mask.png")
    Image.fromarray(np.zeros((60, 80), np.uint8)).save(d / "empty.png")
    Image.fromarray(mask[:50]).save(d / "small_mask.png")
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return d, image, mask > 0


_TERMINAL_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGHUP", None)) if s is not None)


def _terminal_signals_default() -> None:
    for sig in _TERMINAL_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


def spawn(*args, env=None):
    # A runner started in the background (`cmd &`) ignores SIGINT, under nohup SIGHUP too, and
    # so would the command it spawns (an ignored signal stays ignored across exec, and the CLI
    # respects that): give the command the SIGINT and SIGHUP a terminal would.
    reset = any(signal.getsignal(sig) == signal.SIG_IGN for sig in _TERMINAL_SIGNALS)
    return subprocess.Popen(
        [sys.executable, "-m", "inpaint_gui", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        preexec_fn=_terminal_signals_default if reset else None,
    )


def wait_for(condition, proc, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        if proc.poll() is not None:
            pytest.fail(f"the command ended early: {proc.communicate()}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("timed out waiting for the command")
