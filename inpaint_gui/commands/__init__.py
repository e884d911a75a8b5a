"""Headless subcommands of the ``inpaint-gui`` CLI: run, train, eval, bench.

Each module has ``add_parser(subparsers)`` and ``main(args) -> int``; user errors are raised as
:class:`inpaint_gui.core.errors.InpaintError` and turned into one line and exit code 2 by the CLI.
"""
