"""Settings declared once: the CLI flags, the settings dock, QSettings and validation follow.

A settings class is a frozen dataclass whose user-facing fields are made with :func:`setting`::

    @dataclass(frozen=True)
    class PatchSettings:
        patch_size: int = setting(7, "side of the patches compared (odd)", minimum=3, maximum=31, odd=True,
                                  label="Patch size")

The metadata (help text, range or choices, whether the dock shows it and with what label)
is read by :func:`specs`. From it, ``commands/options.py`` builds the argparse flags
(``--patch-size``), ``gui/settings_panel.py`` builds the dock rows, ``gui/settings_store.py``
reads and writes QSettings, and :func:`check` validates a value from any of them with one
rule set. A dataclass field made without :func:`setting` is internal: the program sets it,
the user never sees it. Adding a setting is one line.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from inpaint_gui.core.errors import InpaintError

META_KEY = "inpaint_gui.setting"
MAX_SEED = 2**63 - 1


class SettingsError(InpaintError, ValueError):
    """A setting's value is outside what it allows (one line, names the setting)."""


@dataclass(frozen=True)
class Spec:
    """How one setting is shown, parsed and checked."""

    help: str
    label: str = ""  # the dock's row label; empty: not shown in the dock (CLI only)
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False  # the value must be > minimum, not >= minimum
    odd: bool = False
    step: float | None = None  # the dock's spin-box step
    decimals: int = 4  # the dock's float precision
    special: str = ""  # the dock's text for the minimum value (e.g. "never" for 0)
    suffix: str = ""  # the dock's unit suffix
    cli: bool = True  # has a command-line flag
    allow_empty: bool = False  # text may be empty
    metavar: str | None = None


def setting(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field with its :class:`Spec` (see the module docstring)."""
    return dataclasses.field(default=default, metadata={META_KEY: Spec(help=help, **spec)})


@dataclass(frozen=True)
class Field:
    name: str
    type: type  # int, float, str or bool (from the default)
    default: Any
    spec: Spec

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def specs(cls_or_obj: Any) -> list[Field]:
    """The declared settings of a settings class (or instance), in declaration order."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    out = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(META_KEY)
        if spec is None:
            continue
        default = f.default
        out.append(Field(f.name, type(default), default, spec))
    return out


def _number(field: Field, value: float) -> str:
    """``value`` as the user would type it: whole numbers exactly (2**63 is not 9.22337e+18)."""
    return str(int(value)) if field.type is int else f"{value:g}"


def _describe_range(field: Field) -> str:
    s = field.spec
    lo = "" if s.minimum is None else (">" if s.exclusive_minimum else ">=") + f" {_number(field, s.minimum)}"
    hi = "" if s.maximum is None else f"<= {_number(field, s.maximum)}"
    parts = [p for p in (lo, hi) if p]
    return " and ".join(parts)


def check_value(field: Field, value: Any) -> Any:
    """``value`` converted to the field's type and checked; SettingsError otherwise."""
    name, spec = field.name, field.spec
    if field.type is bool:
        if isinstance(value, bool):
            return value
        raise SettingsError(f"{name} must be true or false, got {value!r}")
    if field.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise SettingsError(f"{name} must be a whole number, got {value!r}")
    elif field.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{name} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise SettingsError(f"{name} must be a finite number, got {value}")
    elif field.type is str:
        if not isinstance(value, str):
            raise SettingsError(f"{name} must be text, got {value!r}")
        if not value.strip() and not spec.allow_empty:
            raise SettingsError(f"{name} must not be empty")
    if spec.choices and value not in spec.choices:
        raise SettingsError(f"{name} must be one of {', '.join(map(str, spec.choices))}, got {value!r}")
    if field.type in (int, float):
        lo, hi = spec.minimum, spec.maximum
        bad = (lo is not None and (value <= lo if spec.exclusive_minimum else value < lo)) or (
            hi is not None and value > hi
        )
        if bad:
            raise SettingsError(f"{name} must be {_describe_range(field)}, got {_number(field, value)}")
        if spec.odd and value % 2 == 0:
            raise SettingsError(f"{name} must be an odd number, got {value}")
    return value


def check(obj: Any) -> Any:
    """``obj`` if every declared setting is within its spec (and ``obj.check()`` passes)."""
    for field in specs(obj):
        check_value(field, getattr(obj, field.name))
    extra = getattr(obj, "check", None)
    if callable(extra):
        extra()
    return obj


def to_dict(obj: Any) -> dict[str, Any]:
    """The declared settings of ``obj`` as a plain dict (for reports and persistence)."""
    return {f.name: getattr(obj, f.name) for f in specs(obj)}


def parse_text(field: Field, text: str) -> Any:
    """A setting's value from text (a CLI argument or a stored string); SettingsError if unreadable."""
    text = text.strip()
    try:
        if field.type is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if field.type is int:
            return int(text)
        if field.type is float:
            return float(text)
    except ValueError:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}[field.type]
        raise SettingsError(f"{field.name} must be {kind}, got {text!r}") from None
    return text


def from_mapping(cls: type, values: Mapping[str, Any], *, strict: bool = True, base: Any = None) -> Any:
    """An instance of ``cls`` from ``values`` (name -> value or text); missing names keep
    ``base``'s (or the class defaults). ``strict=False`` drops unreadable or out-of-range values
    (remembered settings from an older version) instead of raising."""
    current = base if base is not None else cls()
    chosen: dict[str, Any] = {}
    for field in specs(cls):
        if field.name not in values:
            continue
        raw = values[field.name]
        try:
            value = parse_text(field, raw) if isinstance(raw, str) and field.type is not str else raw
            chosen[field.name] = check_value(field, value)
        except SettingsError:
            if strict:
                raise
    out = dataclasses.replace(current, **chosen)
    if strict:
        return check(out)
    try:
        return check(out)
    except SettingsError:
        return current


def names(classes: Iterable[type]) -> list[str]:
    """Every declared setting name of ``classes`` (to check that no two share a flag)."""
    return [f.name for cls in classes for f in specs(cls)]
