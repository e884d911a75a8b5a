"""Model folders of the feed-forward networks: save, find, verify and load them.

A folder ``weights/<name>/`` (e.g. ``ce128``, ``pggan128``) holds::

    model.json          the model card: architecture (``type`` "ce" or "pggan" and its widths),
                        data and licence, how it was trained, held-out quality, sha256 of each file
    generator.pt        the generator's state dict (torch.save; loaded with weights_only=True)
    discriminator.pt    the discriminator's (for continuing the training; inference skips it)
    samples.png         optional: fills of fixed validation faces

Loading is as strict as the face priors' (``gan/weights.py``, whose lookup this reuses; both
share the file checks of ``modelfiles.py``): the card must be an object with an architecture and
files, every file loaded must match its size and sha256, keys and shapes must match the
architecture, every weight must be finite, nothing in a file can run code, and a folder of
another architecture or resolution than the caller expects is refused. Every problem is a
one-line :class:`WeightsError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from inpaint_gui.core.engines import modelfiles
from inpaint_gui.core.engines.feedforward import ce, pggan
from inpaint_gui.core.engines.gan.weights import find_model
from inpaint_gui.core.engines.modelfiles import CARD_NAME
from inpaint_gui.core.errors import WeightsError

FORMAT_VERSION = 1
ARCHS = {
    "ce": (ce.CEConfig, ce.ContextEncoder, ce.PatchDiscriminator),
    "pggan": (pggan.PGGANConfig, pggan.PGGANGenerator, pggan.PGGANDiscriminator),
}
TITLES = {"ce": "a Context Encoder (ce)", "pggan": "a PGGAN (pggan)", "dcgan": "a DCGAN prior (dcgan)"}


@dataclass
class LoadedNet:
    name: str
    path: Path | None
    arch: str  # "ce" or "pggan"
    config: ce.CEConfig | pggan.PGGANConfig
    generator: nn.Module
    discriminator: nn.Module | None = None  # loaded only when asked for (to continue training)
    card: dict = field(default_factory=dict)

    @property
    def resolution(self) -> int:
        return self.config.resolution


def read_card(folder: Path) -> dict:
    """The parsed card of ``folder`` after a check of the fields loading needs."""
    path = folder / CARD_NAME
    card = modelfiles.read_card_json(folder)
    if not isinstance(card, dict) or not isinstance(card.get("architecture"), dict):
        raise WeightsError(f"{path}: not a model card (needs an 'architecture' object)")
    version = card.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise WeightsError(f"{path}: format_version {version!r} is not one this inpaint-gui reads ({FORMAT_VERSION})")
    files = card.get("files")
    if not isinstance(files, dict) or not isinstance(files.get("generator"), dict):
        raise WeightsError(f"{path}: lists no generator file (files.generator is missing)")
    for role, entry in files.items():
        name, digest = (entry.get("path"), entry.get("sha256")) if isinstance(entry, dict) else (None, None)
        if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
            raise WeightsError(f"{path}: files.{role} needs a 'path' inside the model folder")
        if not isinstance(digest, str) or len(digest) != 64 or set(digest.lower()) - set("0123456789abcdef"):
            raise WeightsError(f"{path}: files.{role}.sha256 must be 64 hexadecimal digits")
    _check_face_engine(path, card.get("face_engine", {}))
    return card


def _check_face_engine(path: Path, face: Any) -> None:
    """What the face engine reads of a network (``gan/network.py``): ``band_sigma`` and
    ``sharpen_scale``, and the same per prior resolution under ``by_prior_resolution``
    ({"128": {...}}). A one-line WeightsError names the first bad entry."""
    _check_band(path, face, "face_engine")
    per = face.get("by_prior_resolution", {})
    if not isinstance(per, dict):
        raise WeightsError(f"{path}: face_engine.by_prior_resolution must be an object")
    for key, entry in per.items():
        if not key.isdigit() or int(key) <= 0:
            raise WeightsError(f"{path}: face_engine.by_prior_resolution keys are resolutions in pixels, got {key!r}")
        _check_band(path, entry, f"face_engine.by_prior_resolution.{key}")


def _check_band(path: Path, entry: Any, where: str) -> None:
    """``entry`` is an object whose ``band_sigma`` is in (0, 8] and ``sharpen_scale`` in [0, 4]."""
    if not isinstance(entry, dict):
        raise WeightsError(f"{path}: {where} must be an object")
    split = entry.get("band_sigma", 2.0)
    if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0 < split <= 8:
        raise WeightsError(f"{path}: {where}.band_sigma must be a number in (0, 8], got {split!r}")
    scale = entry.get("sharpen_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale <= 4:
        raise WeightsError(f"{path}: {where}.sharpen_scale must be a number in [0, 4], got {scale!r}")


def _config(folder: Path, card: dict, arch: str | None, resolution: int | None):
    found = card["architecture"].get("type", "dcgan")
    where = folder / CARD_NAME
    if found not in ARCHS or (arch is not None and found != arch):
        wanted = TITLES.get(arch, "a ce or pggan network") if arch else "a ce or pggan network"
        raise WeightsError(f"{where}: this folder holds {TITLES.get(found, repr(found))}, not {wanted}")
    try:
        config = ARCHS[found][0].from_dict(card["architecture"])
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{where}: bad architecture ({modelfiles.one_line(exc)})") from None
    if resolution is not None and config.resolution != resolution:
        raise WeightsError(
            f"{where}: the network was trained at {config.resolution}x{config.resolution}, "
            f"this needs {resolution}x{resolution}"
        )
    return found, config


def build_nets(arch: str, config) -> tuple[nn.Module, nn.Module]:
    """Untrained (generator, discriminator) of ``arch`` (weights as their constructors leave them)."""
    _, g_cls, d_cls = ARCHS[arch]
    return g_cls(config), d_cls(config)


def load_net(
    name_or_path: str | Path,
    arch: str | None = None,
    resolution: int | None = None,
    device: torch.device | str = "cpu",
    discriminator: bool = False,
) -> LoadedNet:
    """Load and verify a model folder (a name in ``weights/`` or a path). ``arch`` and
    ``resolution``: what the caller needs; another is a one-line WeightsError. The networks are
    in eval mode with frozen weights unless ``discriminator`` (training continues) is asked for."""
    folder = find_model(name_or_path)
    card = read_card(folder)
    found, config = _config(folder, card, arch, resolution)
    g_path = modelfiles.verified_file(folder, card, "generator")
    d_path = modelfiles.verified_file(folder, card, "discriminator") if discriminator else None
    modelfiles.check_size_fits(lambda: build_nets(found, config)[0], g_path)  # before any allocation
    if d_path is not None:
        modelfiles.check_size_fits(lambda: build_nets(found, config)[1], d_path)
    g, d = build_nets(found, config)
    modelfiles.load_state(g, modelfiles.read_state(g_path), g_path)
    if d_path is not None:
        modelfiles.load_state(d, modelfiles.read_state(d_path), d_path)
    else:
        d = None
    if not discriminator:
        g.eval().requires_grad_(False)
    net = LoadedNet(card.get("name", folder.name), folder, found, config, g.to(device), d, card)
    if d is not None:
        d.to(device)
    return net


def save_net(
    folder: Path,
    arch: str,
    generator: nn.Module,
    discriminator: nn.Module,
    card: dict,
    extra_files: dict[str, Path] | None = None,
    half: bool = False,
) -> Path:
    """Write a folder that :func:`load_net` reads: both state dicts, the extra files (already in
    ``folder``) and the card with the architecture and every file's size and sha256. ``half``
    stores float16 tensors (loaded back as float32)."""
    architecture = {"type": arch, **generator.config.to_dict()}
    card = {**card, "format_version": FORMAT_VERSION, "architecture": architecture}
    card["weights_dtype"] = "float16" if half else "float32"
    nets = {"generator": generator, "discriminator": discriminator}
    return modelfiles.write_folder(folder, nets, card, extra_files, half=half)
