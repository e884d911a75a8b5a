"""However many times the command is stopped, one line and the first signal's exit code: a second
Ctrl+C (or SIGTERM) while the first one unwinds ends the process at once, quietly, and one while
the libraries' exit handlers run is ignored (seen: a 12-line "Exception ignored in atexit
callback" traceback from torch's exit handler after ``inpaint-gui: interrupted``)."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.cli_helpers import FAST, REPO, make_cli_files, spawn, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# cli.main with the command's work replaced by: the first signal, then a second one at WHEN
SCRIPT = textwrap.dedent(
    """
    import atexit, os, signal, sys, time
    from inpaint_gui import cli

    signal.signal(signal.SIGINT, signal.default_int_handler)  # a terminal's Ctrl+C, even in a background runner
    FIRST, SECOND, WHEN = signal.{first}, signal.{second}, {when!r}

    def again():
        os.kill(os.getpid(), SECOND)
        time.sleep(0.3)
        if WHEN == "unwinding":  # there it ends the process at once; in the exit handlers it is ignored
            print("still unwinding after the second signal", file=sys.stderr)

    def work(argv):
        if WHEN == "exit handlers":
            atexit.register(again)  # runs after main() has printed its line and returned
        try:
            os.kill(os.getpid(), FIRST)
            time.sleep(5)
        finally:
            if WHEN == "unwinding":
                again()
        return 0

    cli._main = work
    sys.exit(cli.main(["run"]))
    """
)


@pytest.mark.parametrize(
    "first, second, when, code, line",
    [
        ("SIGINT", "SIGINT", "exit handlers", 130, "inpaint-gui: interrupted\n"),
        ("SIGINT", "SIGINT", "unwinding", 130, "inpaint-gui: interrupted\n"),
        ("SIGTERM", "SIGINT", "exit handlers", 143, "inpaint-gui: terminated\n"),
        ("SIGINT", "SIGTERM", "unwinding", 130, "inpaint-gui: interrupted\n"),
    ],
)
def test_a_second_signal_adds_nothing(first, second, when, code, line):
    code_text = SCRIPT.format(first=first, second=second, when=when)
    r = subprocess.run([sys.executable, "-c", code_text], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert (r.returncode, r.stderr) == (code, line)


def test_two_ctrl_c_during_a_face_fill_print_one_line(tmp_path):
    """The real thing: torch loaded (its exit handlers registered), a save in progress, Ctrl+C
    twice 50 ms apart."""
    from inpaint_gui.core.image.save import TEMP_PREFIX, TEST_SAVE_DELAY_ENV

    d = make_cli_files(tmp_path / "in")
    d = d[0]
    out = tmp_path / "out"
    out.mkdir()
    proc = spawn(
        "run", d / "photo.png", "--mask", d / "mask.png", "-o", out / "o.png", "--model", d / "tiny", *FAST,
        env={TEST_SAVE_DELAY_ENV: "60"},
    )  # fmt: skip
    wait_for(lambda: any(p.name.startswith(TEMP_PREFIX) and p.suffix == ".part" for p in out.iterdir()), proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (130, "inpaint-gui: interrupted\n")
    assert list(out.iterdir()) == []
