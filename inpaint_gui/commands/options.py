"""Command-line options generated from the settings schema, shared by ``run``, ``eval`` and ``bench``.

Every declared setting (``core/settings.py``) of the common settings and of each engine gets
a flag named after it (``lr_schedule`` -> ``--lr-schedule``) in a group of its own; the
value is parsed and range-checked at parse time, so a bad value is a one-line error before
any work starts. A name that several engines declare (two engines with a ``model``) gets one
flag per engine, ``--ENGINE-NAME``, and ``--NAME`` stays the first engine's (:func:`flag_plan`).
"""

from __future__ import annotations

import argparse

from inpaint_gui.core.errors import InpaintError


def _converter(field):
    from inpaint_gui.core.settings import SettingsError, check_value, parse_text

    def convert(text: str):
        try:
            return check_value(field, parse_text(field, text))
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = field.type.__name__  # argparse names the type in its messages
    return convert


def flag_plan() -> list[tuple[str, str, list]]:
    """(group, title, [(flag, dest, field)]) for every declared setting with a flag.

    A setting of the common group, or one that a single engine declares, is ``--name``. A name
    that several engines declare gets ``--ENGINE-name`` for each (``--face-iterations``,
    ``--ce-iterations``), and ``--name`` stays with the first of them in the registry's order
    (this package's engines, by their turn in ``auto``: ``--model`` is the face engine's, as it
    always was). An engine's setting named like a common one only has ``--ENGINE-name``.
    Every flag of a setting writes the same dest, ``GROUP.name``.
    """
    from inpaint_gui.core.engines import infos
    from inpaint_gui.core.pipeline import settings_groups
    from inpaint_gui.core.settings import specs

    owners: dict[str, list[str]] = {}
    for group, cls in settings_groups():
        for f in specs(cls):
            if f.spec.cli:
                owners.setdefault(f.name, []).append(group)
    titles = {name: info.title for name, info in infos().items()}
    out = []
    for group, cls in settings_groups():
        rows = []
        for f in specs(cls):
            if not f.spec.cli:
                continue
            mine = owners[f.name]
            if len(mine) > 1 and group != "common":
                rows.append((f"--{group}-{f.name.replace('_', '-')}", f"{group}.{f.name}", f))
            if mine[0] == group:
                rows.append((f.flag, f"{group}.{f.name}", f))
        title = "fill (every engine)" if group == "common" else f"{group} engine: {titles.get(group, group)}"
        out.append((group, title, rows))
    return out


def add_settings_options(p: argparse.ArgumentParser) -> None:
    """A flag for every declared setting, grouped as the common settings and each engine's
    (see :func:`flag_plan` for names that several engines declare)."""
    for _group, title, rows in flag_plan():
        g = p.add_argument_group(title)
        for flag, dest, field in rows:
            help_text = f"{field.spec.help} (default {field.default})"
            if field.type is bool:
                g.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=help_text)
                continue
            g.add_argument(
                flag,
                dest=dest,
                type=_converter(field),
                default=None,
                choices=field.spec.choices or None,
                metavar=field.spec.metavar or (None if field.spec.choices else field.name.upper()),  # not "FACE.LR"
                help=help_text,
            )
    add_thread_option(p)


def add_thread_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for the compute (default: the cores not busy with other work, measured at start)",
    )


def settings_from(args: argparse.Namespace):
    """The InpaintSettings the flags chose (the defaults where no flag was given)."""
    from inpaint_gui.core.pipeline import InpaintSettings, settings_groups
    from inpaint_gui.core.settings import from_mapping, specs

    chosen = {}
    for group, cls in settings_groups():
        values = {}
        for f in specs(cls):
            if not f.spec.cli:
                continue
            given = getattr(args, f"{group}.{f.name}", None)
            if given is not None:
                values[f.name] = given
        chosen[group] = from_mapping(cls, values)
    common = chosen.pop("common")
    return InpaintSettings(common, chosen).validate()


def apply_threads(threads: int | None, defer: bool = False) -> None:
    """Set torch's CPU thread count (``None``: the cores other work leaves free). ``defer``:
    without loading torch if nothing has yet (it is set when an engine that uses torch loads)."""
    from inpaint_gui.core.devices import compute_threads, cpu_count, set_compute_threads

    if threads is not None and (threads < 1 or threads > cpu_count()):
        raise InpaintError(
            f"--threads must be between 1 and the {cpu_count()} cores this process may use, got {threads}"
        )
    if not defer:
        import torch  # noqa: F401  (loaded now: set_compute_threads applies the count at once)
    set_compute_threads(compute_threads(leave_for_ui=False) if threads is None else threads)


def settings_summary(settings) -> dict:
    """The settings a report records: the common ones and every engine's, by name (``ENGINE.name``
    for a name that several engines declare)."""
    from collections import Counter

    from inpaint_gui.core.settings import to_dict

    out = to_dict(settings.common)
    per_engine = {name: to_dict(s) for name, s in settings.engines.items()}
    counts = Counter(key for values in per_engine.values() for key in values)
    for engine, values in per_engine.items():
        out.update({(key if counts[key] == 1 else f"{engine}.{key}"): v for key, v in values.items()})
    return out
