"""Model folders of the feed-forward networks: save, find, verify and load them.

A folder ``weights/<name>/`` (e.g. ``ce128``, ``pggan128``) holds::

    model.json          the model card: architecture (``type`` "ce" or "pggan" and its widths),
                        data and licence, how it was trained, held-out quality, sha256 of each file
    generator.pt        the generator's state dict (torch.save; loaded with weights_only=True)
    discriminator.pt    the discriminator's (for continuing the training; inference skips it)
    samples.png         optional: fills of fixed validation faces

Loading is as strict as the face priors' (``gan/weights.py``, whose public lookup and hashing
this reuses): the card must be an object with an architecture and files, every file loaded must
match its size and sha256, keys and shapes must match the architecture, every weight must be
finite, nothing in a file can run code, and a folder of another architecture or resolution than
the caller expects is refused. Every problem is a one-line :class:`WeightsError` naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from inpaint_gui.core.engines.feedforward import ce, pggan
from inpaint_gui.core.engines.gan.weights import CARD_NAME, find_model, sha256_file
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


def _one_line(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        if line.strip():
            return " ".join(line.split())
    return type(exc).__name__


def read_card(folder: Path) -> dict:
    """The parsed card of ``folder`` after a check of the fields loading needs."""
    path = folder / CARD_NAME
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WeightsError(f"{path}: cannot read the model card ({exc.__class__.__name__}: {_one_line(exc)})") from None
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
    return card


def _config(folder: Path, card: dict, arch: str | None, resolution: int | None):
    found = card["architecture"].get("type", "dcgan")
    where = folder / CARD_NAME
    if found not in ARCHS or (arch is not None and found != arch):
        wanted = TITLES.get(arch, "a ce or pggan network") if arch else "a ce or pggan network"
        raise WeightsError(f"{where}: this folder holds {TITLES.get(found, repr(found))}, not {wanted}")
    try:
        config = ARCHS[found][0].from_dict(card["architecture"])
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{where}: bad architecture ({_one_line(exc)})") from None
    if resolution is not None and config.resolution != resolution:
        raise WeightsError(
            f"{where}: the network was trained at {config.resolution}x{config.resolution}, "
            f"this needs {resolution}x{resolution}"
        )
    return found, config


def _verified(folder: Path, card: dict, role: str) -> Path:
    entry = card["files"].get(role)
    if entry is None:
        raise WeightsError(f"{folder / CARD_NAME}: lists no {role} file")
    path = folder / entry["path"]
    if not path.is_file():
        raise WeightsError(f"{path}: missing (the model card lists it as the {role})")
    if sha256_file(path) != entry["sha256"].lower():
        raise WeightsError(f"{path}: sha256 mismatch (the file is corrupt, incomplete or was changed)")
    if entry.get("bytes") is not None and path.stat().st_size != entry["bytes"]:
        raise WeightsError(f"{path}: the file is {path.stat().st_size:,} bytes, the model card says {entry['bytes']:,}")
    return path


def _load_into(module: nn.Module, path: Path) -> None:
    """``module``'s weights from ``path``: a state dict of finite tensors with its exact keys and shapes."""
    own = module.state_dict()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, truncated zip, refused globals
        raise WeightsError(f"{path}: cannot load weights safely ({exc.__class__.__name__}: {_one_line(exc)})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: not a state dict of tensors")
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise WeightsError(
            f"{path}: keys do not match the architecture (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for key, tensor in own.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"{path}: {key} has shape {tuple(state[key].shape)}, the architecture needs {tuple(tensor.shape)}"
            )
        if tensor.is_floating_point() and not torch.isfinite(state[key].float()).all():
            raise WeightsError(f"{path}: tensor {key} holds NaN or infinite values (training diverged?)")
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)


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
    with torch.device("meta"):  # shapes only: the size check runs before any allocation
        meta_g, meta_d = build_nets(found, config)
    g_path = _verified(folder, card, "generator")
    d_path = _verified(folder, card, "discriminator") if discriminator else None
    for meta, path in ((meta_g, g_path), (meta_d, d_path)):
        if path is not None and 2 * sum(t.numel() for t in meta.state_dict().values()) > path.stat().st_size:
            raise WeightsError(
                f"{path}: the architecture in {CARD_NAME} needs more values than the file's "
                f"{path.stat().st_size:,} bytes hold (the model card does not match its weights)"
            )
    g, d = build_nets(found, config)
    _load_into(g, g_path)
    if d_path is not None:
        _load_into(d, d_path)
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
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for role, net in (("generator", generator), ("discriminator", discriminator)):
        path = folder / f"{role}.pt"
        tmp = path.with_name(path.name + ".tmp")
        state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        torch.save({k: v.half() if half and v.is_floating_point() else v for k, v in state.items()}, tmp)
        tmp.replace(path)
        files[role] = {"path": path.name}
    for role, src in (extra_files or {}).items():
        files[role] = {"path": Path(src).name}
    for entry in files.values():
        entry["sha256"] = sha256_file(folder / entry["path"])
        entry["bytes"] = (folder / entry["path"]).stat().st_size
    card = {**card, "format_version": FORMAT_VERSION, "architecture": {"type": arch, **generator.config.to_dict()}}
    card["weights_dtype"] = "float16" if half else "float32"
    card["files"] = files
    tmp = folder / (CARD_NAME + ".tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / CARD_NAME)
    return folder
