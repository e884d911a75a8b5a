"""Checks ``inpaint-gui run`` makes before any work on what the other checks do not see: a
``--model`` path the system cannot hold (looking it up raised "File name too long" from inside
the lookup, a traceback, once torch had loaded).
"""

from __future__ import annotations

from inpaint_gui.core.errors import WeightsError
from inpaint_gui.core.paths import name_problem, shorten


def check_model_path(spec: str | None) -> None:
    """A model NAME or FOLDER (None: the engine's default) that is too long for the system is a
    one-line error."""
    if not spec:
        return
    problem = name_problem(spec)
    if problem:
        raise WeightsError(f"cannot load the model {shorten(spec)}: {problem}")
