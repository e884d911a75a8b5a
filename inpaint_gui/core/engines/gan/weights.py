"""Shipped models: find, verify (sha256) and load them with their model cards.

A model lives in a folder ``weights/<name>/``::

    model.json          the model card: architecture, resolution, data and licence,
                        how it was trained, measured quality, and the sha256 of each file
    generator.pt        G's state dict (torch.save; loaded with weights_only=True)
    discriminator.pt    D's state dict
    mean_face.png       optional: the mean training image, drawn as a framing guide
    samples.png         optional: a sample grid from a fixed z

Loading is strict: the card must match its schema (:func:`validate_card`), every file loaded
must exist and match its size and hash, keys and shapes must match the architecture exactly,
every weight must be finite, and nothing in a file can run code (``weights_only=True``).
Every problem is a :class:`WeightsError` whose one-line message names the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from inpaint_gui.core.engines import modelfiles
from inpaint_gui.core.engines.gan.models import DCGANConfig, Discriminator, Generator
from inpaint_gui.core.engines.modelfiles import CARD_NAME
from inpaint_gui.core.errors import WeightsError
from inpaint_gui.core.paths import sha256_file as sha256_file  # looked up here by other modules

FORMAT_VERSION = 1
DEFAULT_MODEL = "celeba64"
WEIGHTS_ENV = "INPAINT_GUI_WEIGHTS"


@dataclass
class LoadedModel:
    name: str
    path: Path | None
    config: DCGANConfig
    generator: Generator
    discriminator: Discriminator
    card: dict = field(default_factory=dict)
    mean_face: np.ndarray | None = None  # uint8 (S, S, 3) framing guide, if shipped

    @property
    def resolution(self) -> int:
        return self.config.resolution

    def to(self, device: torch.device) -> LoadedModel:
        """Move both networks to ``device`` (in place) and return self."""
        self.generator.to(device)
        self.discriminator.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device


def default_model_name() -> str:
    return DEFAULT_MODEL


def weights_dirs() -> list[Path]:
    """Where model names are looked up, in order: $INPAINT_GUI_WEIGHTS, the source checkout's
    ``weights/``, and ``./weights``."""
    dirs = []
    if os.environ.get(WEIGHTS_ENV):
        dirs.append(Path(os.environ[WEIGHTS_ENV]))
    dirs.append(Path(__file__).resolve().parents[4] / "weights")
    dirs.append(Path.cwd() / "weights")
    seen, unique = set(), []
    for d in dirs:
        key = d.resolve() if d.exists() else d
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def available_models(arch: str | None = None) -> list[str]:
    """The model folders in ``weights_dirs()``; with ``arch``, only those whose card names that
    architecture type (a card without one is a DCGAN prior's: "dcgan")."""
    names = set()
    for d in weights_dirs():
        if d.is_dir():
            names.update(p.parent.name for p in d.glob(f"*/{CARD_NAME}"))
    if arch is None:
        return sorted(names)

    def of_arch(name: str) -> bool:
        try:
            card = json.loads((find_model(name) / CARD_NAME).read_text(encoding="utf-8"))
            return card.get("architecture", {}).get("type", "dcgan") == arch
        except (OSError, ValueError, AttributeError, WeightsError):
            return False

    return [name for name in sorted(names) if of_arch(name)]


def find_model(name_or_path: str | Path) -> Path:
    """The folder of a model given by name (looked up in ``weights_dirs()``) or by path."""
    p = Path(name_or_path).expanduser()
    if p.is_file() and p.name == CARD_NAME:
        p = p.parent
    if p.is_dir():
        if not (p / CARD_NAME).is_file():
            raise WeightsError(f"{p} has no {CARD_NAME}: not a model folder")
        return p
    if p.parent == Path(".") and p.name:
        for d in weights_dirs():
            if (d / p.name / CARD_NAME).is_file():
                return d / p.name
    known = ", ".join(available_models()) or "none installed"
    raise WeightsError(f"unknown model {str(name_or_path)!r} (available: {known})")


_HEX = frozenset("0123456789abcdef")
_ARCH_INTS = ("resolution", "nz", "ngf", "ndf", "nc")
REQUIRED_FILES = ("generator", "discriminator")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    """How JSON would call ``value``: an object, a list, a string, a number, ..."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


def validate_card(card: object, path: Path) -> dict:
    """Check a parsed model card against its schema; return it, or raise WeightsError.

    The schema: an object with ``architecture`` (an object whose ``type``, if given, is
    "dcgan" and whose resolution, nz, ngf, ndf, nc are whole numbers the architecture
    accepts) and ``files`` (an object mapping each role -- generator and discriminator at
    least -- to an object with ``path``, a relative file name inside the model folder,
    ``sha256``, 64 hexadecimal digits, and optionally ``bytes``, the size); ``name`` a string
    and ``format_version`` a whole number no newer than this version reads, if given. The
    message names the card and the first problem.
    """

    def bad(what: str) -> WeightsError:
        return WeightsError(f"{path}: {what}")

    if not isinstance(card, dict):
        raise bad(f"not a model card (the file holds {_kind(card)}, not an object)")
    for key in ("architecture", "files"):
        if key not in card:
            raise bad(f"not a model card (needs 'architecture' and 'files'; '{key}' is missing)")
    version = card.get("format_version", FORMAT_VERSION)
    if not _is_int(version) or version < 1:
        raise bad(f"'format_version' must be a whole number, not {_kind(version)}")
    if version > FORMAT_VERSION:
        raise bad(
            f"format_version {version} is newer than this inpaint-gui reads ({FORMAT_VERSION}); update inpaint-gui"
        )
    if "name" in card and not isinstance(card["name"], str):
        raise bad(f"'name' must be a string, not {_kind(card['name'])}")
    arch = card["architecture"]
    if not isinstance(arch, dict):
        raise bad(f"'architecture' must be an object, not {_kind(arch)}")
    if arch.get("type", "dcgan") != "dcgan":
        raise bad(f"architecture type {arch.get('type')!r} is not supported (only 'dcgan')")
    for key in _ARCH_INTS:
        if key in arch and not _is_int(arch[key]):
            raise bad(f"architecture.{key} must be a whole number, not {_kind(arch[key])}")
    files = card["files"]
    if not isinstance(files, dict):
        raise bad(
            f"'files' must be an object mapping roles (generator, discriminator, ...) to files, not {_kind(files)}"
        )
    for role in REQUIRED_FILES:
        if role not in files:
            raise bad(f"lists no {role} file (files.{role} is missing)")
    for role, entry in files.items():
        where = f"files.{role}"
        if not isinstance(entry, dict):
            raise bad(f"{where} must be an object with 'path' and 'sha256', not {_kind(entry)}")
        name = entry.get("path")
        if name is None:
            raise bad(f"{where} has no 'path'")
        if not isinstance(name, str) or not name.strip():
            raise bad(f"{where}.path must be a file name, not {_kind(name) if not isinstance(name, str) else 'empty'}")
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or "\\" in name:
            raise bad(f"{where}.path {name!r} must be a file inside the model folder")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or len(digest) != 64 or not set(digest.lower()) <= _HEX:
            shown = "missing" if digest is None else repr(digest)[:20]
            raise bad(f"{where}.sha256 must be 64 hexadecimal digits ({shown})")
        size = entry.get("bytes")
        if size is not None and (not _is_int(size) or size < 0):
            raise bad(f"{where}.bytes must be a whole number of bytes, not {_kind(size)}")
    return card


def read_card(folder: Path) -> dict:
    """The parsed card of ``folder`` after :func:`validate_card`."""
    return validate_card(modelfiles.read_card_json(folder), folder / CARD_NAME)


def _load_mean_face(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except Exception as exc:  # not an image, truncated, corrupt data
        raise WeightsError(
            f"{path}: cannot read the mean face image ({exc.__class__.__name__}: {modelfiles.one_line(exc)})"
        ) from None


def load_model(name_or_path: str | Path = DEFAULT_MODEL, device: torch.device | str = "cpu") -> LoadedModel:
    """Load and verify a model folder; networks are frozen and in eval mode."""
    folder = find_model(name_or_path)
    card = read_card(folder)
    try:
        config = DCGANConfig.from_dict(card["architecture"])
    except (TypeError, ValueError, KeyError) as exc:
        raise WeightsError(f"{folder / CARD_NAME}: bad architecture ({exc})") from None
    g_path = modelfiles.verified_file(folder, card, "generator")
    d_path = modelfiles.verified_file(folder, card, "discriminator")
    g_state, d_state = modelfiles.read_state(g_path), modelfiles.read_state(d_path)
    modelfiles.check_size_fits(lambda: Generator(config), g_path)
    modelfiles.check_size_fits(lambda: Discriminator(config), d_path)
    g, d = Generator(config), Discriminator(config)
    modelfiles.load_state(g, g_state, g_path)
    modelfiles.load_state(d, d_state, d_path)
    mean_face = None
    mf_path = modelfiles.verified_file(folder, card, "mean_face", required=False)
    if mf_path is not None:
        mean_face = _load_mean_face(mf_path)
    model = LoadedModel(card.get("name", folder.name), folder, config, g, d, card, mean_face)
    freeze(model)
    return model.to(torch.device(device))


def freeze(model: LoadedModel) -> LoadedModel:
    """Eval mode (BatchNorm uses running statistics) and no gradients for the weights."""
    for net in (model.generator, model.discriminator):
        net.eval()
        net.requires_grad_(False)
    return model


def save_model(
    folder: Path,
    generator: Generator,
    discriminator: Discriminator,
    card: dict,
    extra_files: dict[str, Path] | None = None,
    half: bool = False,
) -> Path:
    """Write a model folder that ``load_model`` reads: state dicts, extra files, and the card
    with the architecture and every file's sha256 filled in. ``half`` stores fp16 tensors."""
    card = {**card, "format_version": FORMAT_VERSION, "architecture": {"type": "dcgan", **generator.config.to_dict()}}
    nets = {"generator": generator, "discriminator": discriminator}
    return modelfiles.write_folder(folder, nets, card, extra_files, half=half)
