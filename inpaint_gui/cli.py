"""The ``inpaint-gui`` command.

    inpaint-gui [PHOTO] [--mask MASK] [--model NAME]   open the window
    inpaint-gui run IMAGE --mask MASK -o OUT            inpaint headless
    inpaint-gui train DATA_DIR --out weights/NAME       train a DCGAN prior
    inpaint-gui eval --images DIR ...                   the paper's experiments
    inpaint-gui bench                                   speed against references

User errors print one line on stderr and exit with code 2; nothing is written.
"""

from __future__ import annotations

import argparse
import sys

from inpaint_gui import __version__

SUBCOMMANDS = ("run", "train", "eval", "bench")
EXIT_USAGE = 2


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inpaint-gui", description="Open the inpainting window (see also: "
                                + ", ".join(SUBCOMMANDS) + " — run `inpaint-gui COMMAND --help`).")
    p.add_argument("photo", nargs="?", help="photo to open")
    p.add_argument("--mask", help="mask to load with the photo (non-zero = hole)")
    p.add_argument("--model", default=None, help="model name in weights/ or a model folder")
    p.add_argument("--version", action="version", version=f"inpaint-gui {__version__}")
    return p


def _command_parser() -> argparse.ArgumentParser:
    from inpaint_gui.commands import bench, evaluate, run, train

    p = argparse.ArgumentParser(prog="inpaint-gui")
    p.add_argument("--version", action="version", version=f"inpaint-gui {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for module in (run, train, evaluate, bench):
        module.add_parser(sub)
    return p


def _error(message: str) -> int:
    print(f"inpaint-gui: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from inpaint_gui.core.errors import InpaintError

    if argv and argv[0] in SUBCOMMANDS:
        args = _command_parser().parse_args(argv)
        try:
            return int(args.func(args) or 0)
        except InpaintError as exc:
            return _error(str(exc))
        except KeyboardInterrupt:
            print("inpaint-gui: interrupted", file=sys.stderr)
            return 130
    args = _gui_parser().parse_args(argv)
    try:
        from inpaint_gui.gui.app import run_app
    except ImportError as exc:
        return _error(f"the window cannot open: {exc} (headless commands: {', '.join(SUBCOMMANDS)})")
    try:
        return int(run_app(args.photo, args.mask, args.model) or 0)
    except InpaintError as exc:
        return _error(str(exc))
