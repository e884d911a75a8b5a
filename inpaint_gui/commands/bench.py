"""placeholder"""
import argparse

def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench")
    p.set_defaults(func=main)

def main(args) -> int:
    from inpaint_gui.core.errors import InpaintError
    raise InpaintError("not implemented yet")
