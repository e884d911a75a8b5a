"""Shipped models: find, verify (sha256) and load them with their model cards.

A model lives in a folder ``weights/<name>/``::

    model.json          the model card: architecture, resolution, data and licence,
                        how it was trained, measured quality, and the sha256 of each file
    generator.pt        G's state dict (torch.save; loaded with weights_only=True)
    discriminator.pt    D's state dict
    mean_face.png       optional: the mean training image, drawn as a framing guide
    samples.png         optional: a sample grid from a fixed z

Loading is strict: every file listed must exist and match its hash, keys and shapes must match
the architecture exactly, and nothing in a file can run code (``weights_only=True``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from inpaint_gui.core.errors import WeightsError
from inpaint_gui.core.engines.gan.models import DCGANConfig, Discriminator, Generator

CARD_NAME = "model.json"
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


def available_models() -> list[str]:
    names = set()
    for d in weights_dirs():
        if d.is_dir():
            names.update(p.parent.name for p in d.glob(f"*/{CARD_NAME}"))
    return sorted(names)


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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(folder: Path) -> dict:
    path = folder / CARD_NAME
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read the model card ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(card, dict) or "architecture" not in card or "files" not in card:
        raise WeightsError(f"{path}: not a model card (needs 'architecture' and 'files')")
    return card


def _verified_file(folder: Path, card: dict, role: str, required: bool = True) -> Path | None:
    entry = card["files"].get(role)
    if entry is None:
        if required:
            raise WeightsError(f"{folder / CARD_NAME}: lists no {role} file")
        return None
    path = folder / entry["path"]
    if not path.is_file():
        raise WeightsError(f"{path}: missing (the model card lists it as the {role})")
    digest = sha256_file(path)
    if digest != entry.get("sha256"):
        raise WeightsError(f"{path}: sha256 mismatch (file is corrupt or was changed): {digest[:12]}... != {str(entry.get('sha256'))[:12]}...")
    return path


def _load_state(module: nn.Module, path: Path) -> None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, truncated zip, refused globals
        raise WeightsError(f"{path}: cannot load weights safely ({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: not a state dict of tensors")
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise WeightsError(f"{path}: keys do not match the architecture (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for key, tensor in own.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise WeightsError(f"{path}: {key} has shape {tuple(state[key].shape)}, the architecture needs {tuple(tensor.shape)}")
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)


def load_model(name_or_path: str | Path = DEFAULT_MODEL, device: torch.device | str = "cpu") -> LoadedModel:
    """Load and verify a model folder; networks are frozen and in eval mode."""
    folder = find_model(name_or_path)
    card = read_card(folder)
    try:
        config = DCGANConfig.from_dict(card["architecture"])
    except (TypeError, ValueError, KeyError) as exc:
        raise WeightsError(f"{folder / CARD_NAME}: bad architecture ({exc})") from None
    g_path = _verified_file(folder, card, "generator")
    d_path = _verified_file(folder, card, "discriminator")
    g, d = Generator(config), Discriminator(config)
    _load_state(g, g_path)
    _load_state(d, d_path)
    mean_face = None
    mf_path = _verified_file(folder, card, "mean_face", required=False)
    if mf_path is not None:
        from PIL import Image

        with Image.open(mf_path) as im:
            mean_face = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    model = LoadedModel(card.get("name", folder.name), folder, config, g, d, card, mean_face)
    freeze(model)
    return model.to(torch.device(device))


def freeze(model: LoadedModel) -> LoadedModel:
    """Eval mode (BatchNorm uses running statistics) and no gradients for the weights."""
    for net in (model.generator, model.discriminator):
        net.eval()
        net.requires_grad_(False)
    return model


def model_from_modules(generator: Generator, discriminator: Discriminator, name: str = "in-memory", mean_face: np.ndarray | None = None) -> LoadedModel:
    """Wrap networks built in memory (tests, training) as a frozen LoadedModel."""
    model = LoadedModel(name, None, generator.config, generator, discriminator, {"name": name}, mean_face)
    return freeze(model)


def save_model(folder: Path, generator: Generator, discriminator: Discriminator, card: dict,
               extra_files: dict[str, Path] | None = None, half: bool = False) -> Path:
    """Write a model folder that ``load_model`` reads: state dicts, extra files, and the card
    with the architecture and every file's sha256 filled in. ``half`` stores fp16 tensors."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for role, net in (("generator", generator), ("discriminator", discriminator)):
        state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone() for k, v in net.state_dict().items()}
        path = folder / f"{role}.pt"
        torch.save(state, path)
        files[role] = {"path": path.name}
    for role, src in (extra_files or {}).items():
        files[role] = {"path": Path(src).name}
    for entry in files.values():
        entry["sha256"] = sha256_file(folder / entry["path"])
        entry["bytes"] = (folder / entry["path"]).stat().st_size
    card = dict(card)
    card["format_version"] = FORMAT_VERSION
    card["architecture"] = {"type": "dcgan", **generator.config.to_dict()}
    card["files"] = files
    (folder / CARD_NAME).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return folder
