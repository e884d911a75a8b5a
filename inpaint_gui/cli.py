"""The ``inpaint-gui`` command.

    inpaint-gui [PHOTO] [--mask MASK] [--model NAME]   open the window
    inpaint-gui run IMAGE --mask MASK -o OUT            inpaint headless
    inpaint-gui train DATA_DIR --out weights/NAME       train a DCGAN prior
    inpaint-gui eval --images DIR ...                   the paper's experiments
    inpaint-gui bench                                   speed against references

User errors, bad flags included, print one line on stderr and exit with code 2; nothing is
written. Ctrl+C prints ``inpaint-gui: interrupted`` and exits with 130; SIGTERM prints
``inpaint-gui: terminated`` and exits with 143; SIGHUP (the terminal closed) prints
``inpaint-gui: hung up`` and exits with 129 (unless it is ignored, as under ``nohup``). While
the libraries load (torch, numba, Qt: the first seconds) nothing has been written, and an
exception raised inside their C++ import code can abort the process or come back as some other
error, so a signal then ends the process at once. After that, SIGINT raises KeyboardInterrupt
and SIGTERM and SIGHUP unwind the same way (``finally`` blocks run, so a save in progress
removes its temporary file). Once the process is on its way out, another of these signals
adds nothing: a second Ctrl+C while the first unwinds ends the process at once, and once the
line is printed (the libraries' exit handlers are running) they are ignored; never a second
line or a traceback, and the exit code is the first signal's.

Only the standard library is imported at module level, so that the signal handling and the
KeyboardInterrupt guard in :func:`main` are in place before any heavy import starts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys

from inpaint_gui import __version__

SUBCOMMANDS = ("run", "train", "eval", "bench")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
_SIGHUP = getattr(signal, "SIGHUP", None)  # POSIX only
_WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", _SIGHUP: "hung up"}


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM (or SIGHUP): unwinds like ``sys.exit(143)`` (129),
    running every ``finally`` block on the way, and is not caught by ``except Exception`` or by
    handlers of KeyboardInterrupt (which report an interruption, exit 130)."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(128 + int(signum))
        self.signum = signum


# The signal the process is ending for (None until one comes), and whether its line was printed.
_ending: dict = {"signal": None, "said": False}


def _say(signum) -> None:
    """The one line a signal prints, at most once per process."""
    if not _ending["said"]:
        _ending["said"] = True
        os.write(2, f"inpaint-gui: {_WORDS.get(signum, 'terminated')}\n".encode())


def _ignore_further_signals() -> None:
    """Once the line is printed and the exit code known, the signals that would stop the process
    are ignored: the exit handlers (torch's) then run undisturbed, and a signal in the last moments
    of the interpreter, where Python's handlers are already gone (seen: killed by SIGINT, exit
    -2), changes nothing."""
    ours = (_on_sigint, _on_sigterm, _exit_now)
    for sig in (s for s in (signal.SIGINT, signal.SIGTERM, _SIGHUP) if s is not None):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            if signal.getsignal(sig) in ours:
                signal.signal(sig, signal.SIG_IGN)


def _importing(frame) -> bool:
    """The main thread is inside an import (a library loaded lazily, e.g. torch by the first
    engine that needs it): raising there can abort the process from C++ (seen: pybind11's
    terminate, exit -6)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_sigterm(signum, frame) -> None:
    if _importing(frame) or _ending["signal"] is not None:
        _exit_now(signum, frame)
    _ending["signal"] = signum
    raise Terminated(signum)


def _on_sigint(signum, frame) -> None:
    if _importing(frame) or _ending["signal"] is not None:
        _exit_now(signum, frame)
    _ending["signal"] = signum
    raise KeyboardInterrupt


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP -> :class:`Terminated`, SIGINT -> KeyboardInterrupt (unless SIGINT or
    SIGHUP is ignored: a background job, ``nohup``); any of them ends the process at once when
    it comes during an import or once the process is already ending."""
    with contextlib.suppress(ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here
        signal.signal(signal.SIGTERM, _on_sigterm)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _on_sigint)
        if _SIGHUP is not None and signal.getsignal(_SIGHUP) is not signal.SIG_IGN:
            signal.signal(_SIGHUP, _on_sigterm)


def _remove_temporaries() -> None:
    """Remove what saves in progress have written (their temporary files): for an exit that
    skips, or comes before, their own clean-up."""
    save = sys.modules.get("inpaint_gui.core.image.save")  # loaded if a save can be in progress
    if save is not None:
        save.remove_temporaries()


def _exit_now(signum, frame) -> None:
    """One line (unless the signal that ends the process printed it already) and the exit code
    of the first signal, without unwinding; a save in progress loses its temporary file."""
    first = _ending["signal"] if _ending["signal"] is not None else signum
    _ending["signal"] = first
    try:
        _remove_temporaries()
        _say(first)
    finally:
        os._exit(128 + int(first))


@contextlib.contextmanager
def exit_at_once_on_signals():
    """SIGINT, SIGTERM and SIGHUP end the process at once (one line, exit 130, 143 or 129) inside
    the block: for loading the libraries, when there is nothing to clean up and raising inside
    their import code is not safe: ``import torch`` interrupted at 40 moments aborted twice (C++
    terminate), printed a traceback once and exited 0 twice. A signal the process ignores
    (SIGINT in a background job, SIGHUP under nohup) stays ignored."""
    previous = {}
    for sig in (s for s in (signal.SIGINT, signal.SIGTERM, _SIGHUP) if s is not None):
        with contextlib.suppress(ValueError, OSError, AttributeError):  # not the main thread
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, _exit_now)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line -- ``inpaint-gui: error: ...`` -- and
    exit with code 2, like every other error. ``add_subparsers()`` makes its subparsers of
    the parser's own class, so every command's parser (``sub.add_parser(...)``) is one too."""

    def error(self, message: str) -> None:
        text = " ".join(str(message).split())
        self.exit(EXIT_USAGE, f"inpaint-gui: error: {text} (see `{self.prog} --help`)\n")


# A value made of numbers that starts with "-": -10,-10,64 or -1e-3, and -inf or -nan (which the
# option then refuses by name). argparse takes any argument starting with "-" that is not a
# plain negative number for an option.
_NEGATIVE_VALUE = re.compile(r"-((\d|\.\d)[\d.,eE+\-]*|inf|infinity|nan)", re.IGNORECASE)


def _options_taking_a_value(parser: argparse.ArgumentParser) -> set[str]:
    return {
        opt
        for action in parser._actions
        if action.option_strings and action.nargs in (None, 1)
        for opt in action.option_strings
        if opt.startswith("--")
    }


def join_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--window -10,-10,64`` -> ``--window=-10,-10,64`` for options of ``parser`` (or of the
    subcommand ``argv[0]`` names) that take one value, so that argparse does not read the
    value as an unknown option and say "expected one argument"."""
    target = parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and argv and argv[0] in action.choices:
            target = action.choices[argv[0]]
    takes_value = _options_taking_a_value(target)
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg in takes_value and i + 1 < len(argv) and _NEGATIVE_VALUE.fullmatch(argv[i + 1]):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _gui_parser() -> argparse.ArgumentParser:
    p = CliParser(
        prog="inpaint-gui",
        description="Open the inpainting window (see also: "
        + ", ".join(SUBCOMMANDS)
        + " — run `inpaint-gui COMMAND --help`).",
    )
    p.add_argument("photo", nargs="?", help="photo to open")
    p.add_argument("--mask", help="mask to load with the photo (white or opaque strokes = hole)")
    p.add_argument("--model", default=None, help="model name in weights/ or a model folder")
    p.add_argument("--version", action="version", version=f"inpaint-gui {__version__}")
    return p


def _command_parser() -> argparse.ArgumentParser:
    from inpaint_gui.commands import bench, evaluate, run, train

    p = CliParser(prog="inpaint-gui")
    p.add_argument("--version", action="version", version=f"inpaint-gui {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=CliParser)
    for module in (run, train, evaluate, bench):
        module.add_parser(sub)
    return p


def _error(message: str) -> int:
    print(f"inpaint-gui: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _main(argv: list[str]) -> int:
    from inpaint_gui.core.errors import InpaintError

    if argv and argv[0] in SUBCOMMANDS:
        with exit_at_once_on_signals():
            parser = _command_parser()  # imports the commands and with them torch, numba, scipy
        args = parser.parse_args(join_negative_values(parser, argv))
        try:
            return int(args.func(args) or 0)
        except InpaintError as exc:
            return _error(str(exc))
    parser = _gui_parser()
    args = parser.parse_args(join_negative_values(parser, argv))
    try:
        with exit_at_once_on_signals():
            from inpaint_gui.gui.app import run_app
    except ImportError as exc:
        return _error(f"the window cannot open: {exc} (headless commands: {', '.join(SUBCOMMANDS)})")
    # Qt owns the process from here: SIGTERM (and SIGHUP) end it as usual rather than raising
    # inside a slot; the window's recovery copy is what survives them.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _SIGHUP is not None and signal.getsignal(_SIGHUP) is _on_sigterm:
        signal.signal(_SIGHUP, signal.SIG_DFL)
    try:
        return int(run_app(args.photo, args.mask, args.model) or 0)
    except InpaintError as exc:
        return _error(str(exc))


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    _ending.update(signal=None, said=False)
    try:
        install_signal_handlers()
        return _main(list(sys.argv[1:] if argv is None else argv))
    except (KeyboardInterrupt, Terminated) as exc:
        first = _ending["signal"] or getattr(exc, "signum", signal.SIGINT)
        _ending["signal"] = first
        _remove_temporaries()
        _say(first)
        _ignore_further_signals()
        return 128 + int(first)
