"""However many times the command is stopped, one line and the first signal's exit code: a second
Ctrl+C (or SIGTERM) while the first one unwinds ends the process at once, quietly, and one while
the libraries' exit handlers run is ignored (seen: a 12-line "Exception ignored in atexit
callback" traceback from torch's exit handler after ``inpaint-gui: interrupted``)."""

import subprocess
import sys
import textwrap

import pytest

from tests.cli_helpers import REPO

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
