"""Command-line options generated from the settings schema, shared by ``run``, ``eval`` and ``bench``.

Every declared setting (``core/settings.py``) of the common settings and of each engine gets
a flag named after it (``lr_schedule`` -> ``--lr-schedule``) in a group of its own; the
value is parsed and range-checked at parse time, so a bad value is a one-line error before
any work starts.
"""

from __future__ import annotations

import argparse

from inpaint_gui.core.errors import InpaintError

GROUP_TITLES = {"common": "fill", "face": "face engine (latent search)"}


def _converter(field):
    from inpaint_gui.core.settings import SettingsError, check_value, parse_text

    def convert(text: str):
        try:
            return check_value(field, parse_text(field, text))
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = field.type.__name__  # argparse names the type in its messages
    return convert


def add_settings_options(p: argparse.ArgumentParser) -> None:
    """A flag for every declared setting, grouped as the common settings and each engine's."""
    from inpaint_gui.core.pipeline import settings_groups
    from inpaint_gui.core.settings import specs

    for group, cls in settings_groups():
        g = p.add_argument_group(GROUP_TITLES.get(group, f"{group} engine"))
        for field in specs(cls):
            if not field.spec.cli:
                continue
            default = field.default
            help_text = f"{field.spec.help} (default {default})"
            dest = f"{group}.{field.name}"
            if field.type is bool:
                g.add_argument(
                    field.flag, dest=dest, action=argparse.BooleanOptionalAction, default=default, help=help_text
                )
                continue
            g.add_argument(
                field.flag,
                dest=dest,
                type=_converter(field),
                default=default,
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
    """The InpaintSettings the flags chose."""
    from inpaint_gui.core.pipeline import InpaintSettings, settings_groups
    from inpaint_gui.core.settings import from_mapping, specs

    chosen = {}
    for group, cls in settings_groups():
        values = {f.name: getattr(args, f"{group}.{f.name}") for f in specs(cls) if f.spec.cli}
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
    """The settings a report records: the common ones and every engine's (their names are unique)."""
    from inpaint_gui.core.settings import to_dict

    out = to_dict(settings.common)
    for engine_settings in settings.engines.values():
        out.update(to_dict(engine_settings))
    return out
