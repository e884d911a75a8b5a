"""The file checks every model folder shares: the card's JSON, each weight file verified
against the card (size and sha256), a state dict read without running code
(``weights_only=True``) and loaded only with the architecture's exact keys and shapes and
finite values, and a size check that refuses a card whose architecture cannot fit its files.

The DCGAN priors (``gan/weights.py``) and the feed-forward networks
(``feedforward/weights.py``) both load through these; every problem is a :class:`WeightsError`
whose one-line message names the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn

from inpaint_gui.core.errors import WeightsError
from inpaint_gui.core.paths import sha256_file

CARD_NAME = "model.json"


def one_line(exc: BaseException) -> str:
    """The first non-empty line of ``exc``'s message, or its type when it has none."""
    for line in str(exc).splitlines():
        if line.strip():
            return " ".join(line.split())
    return type(exc).__name__


def read_card_json(folder: Path) -> object:
    """The parsed JSON of ``folder``'s card, unchecked (the caller validates its schema)."""
    path = folder / CARD_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WeightsError(f"{path}: cannot read the model card ({exc.__class__.__name__}: {one_line(exc)})") from None


def verified_file(folder: Path, card: dict, role: str, required: bool = True) -> Path | None:
    """The file the card lists for ``role``, after checking it exists, is not empty, and
    matches the card's sha256 and size (``bytes``, when the card gives it). ``None`` when the
    card lists no such file and it is not ``required``."""
    entry = card["files"].get(role)
    if entry is None:
        if required:
            raise WeightsError(f"{folder / CARD_NAME}: lists no {role} file")
        return None
    path = folder / entry["path"]
    if not path.is_file():
        raise WeightsError(f"{path}: missing (the model card lists it as the {role})")
    size = path.stat().st_size
    if size == 0:
        raise WeightsError(f"{path}: the file is empty (0 bytes); reinstall or re-export the model")
    expected = entry.get("bytes")
    digest = sha256_file(path)
    if digest != entry["sha256"].lower():
        sizes = (
            f"; it is {size:,} bytes, the model card says {expected:,}"
            if expected is not None and size != expected
            else ""
        )
        raise WeightsError(
            f"{path}: sha256 mismatch (file is corrupt, incomplete or was changed{sizes}): "
            f"{digest[:12]}... != {entry['sha256'][:12]}..."
        )
    if expected is not None and size != expected:
        raise WeightsError(
            f"{path}: the file is {size:,} bytes but the model card says {expected:,} (the card is wrong)"
        )
    return path


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, loaded with ``weights_only=True`` (nothing in it can run code)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, truncated zip, refused globals
        raise WeightsError(f"{path}: cannot load weights safely ({exc.__class__.__name__}: {one_line(exc)})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: not a state dict of tensors")
    return state


def load_state(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``state`` (read from ``path``) into ``module`` after checking its keys and shapes
    match exactly, its floating-point tensors are floating point and every value is finite."""
    own = module.state_dict()
    _check_keys_and_shapes(own, state, path)
    for key, tensor in own.items():
        if tensor.is_floating_point() and not state[key].is_floating_point():
            raise WeightsError(
                f"{path}: tensor {key} holds {str(state[key].dtype).replace('torch.', '')} values, "
                f"the architecture needs floating-point ones"
            )
    for key, tensor in state.items():
        if tensor.is_floating_point() or tensor.is_complex():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise WeightsError(
                    f"{path}: tensor {key} holds {bad:,} NaN or infinite values (of {tensor.numel():,}); "
                    f"the model is broken (training diverged?)"
                )
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)


def _check_keys_and_shapes(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor], path: Path) -> None:
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise WeightsError(
            f"{path}: keys do not match the architecture (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for key, tensor in own.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"{path}: {key} has shape {tuple(state[key].shape)}, the architecture needs {tuple(tensor.shape)}"
            )


def check_size_fits(build: Callable[[], nn.Module], path: Path) -> None:
    """WeightsError, before the network is built, when the card's architecture (``build``
    makes it) needs more values than the weight file can hold (2 bytes each at the least,
    float16): a card edited to ``ngf: 1000000000`` must not try to allocate terabytes."""
    size = path.stat().st_size
    try:
        with torch.device("meta"):  # shapes only, no memory
            values = sum(t.numel() for t in build().state_dict().values())
    except (RuntimeError, OverflowError, MemoryError):  # too large even to describe
        values = None
    if values is None or 2 * values > size:
        need = "more than can be counted" if values is None else f"{values:,}"
        raise WeightsError(
            f"{path}: the architecture in {CARD_NAME} needs more values than the file's {size:,} bytes "
            f"hold ({need} values; the model card does not match its weights)"
        )


def write_folder(
    folder: Path,
    nets: dict[str, nn.Module],
    card: dict,
    extra_files: dict[str, Path] | None = None,
    half: bool = False,
) -> Path:
    """Write a model folder: each network's state dict as ``<role>.pt`` (float16 tensors when
    ``half``), then ``card`` with ``files`` listing them and ``extra_files`` (already in
    ``folder``) with their size and sha256. Every file is written beside its place and renamed:
    a kill midway leaves no half-written file under a listed name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for role, net in nets.items():
        path = folder / f"{role}.pt"
        state = {k: _stored(v, half).detach().cpu().clone() for k, v in net.state_dict().items()}
        _replace(path, partial(torch.save, state))
        files[role] = {"path": path.name}
    for role, src in (extra_files or {}).items():
        files[role] = {"path": Path(src).name}
    for entry in files.values():
        entry["sha256"] = sha256_file(folder / entry["path"])
        entry["bytes"] = (folder / entry["path"]).stat().st_size
    text = json.dumps({**card, "files": files}, indent=2) + "\n"
    _replace(folder / CARD_NAME, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return folder


def _stored(tensor: torch.Tensor, half: bool) -> torch.Tensor:
    return tensor.half() if half and tensor.is_floating_point() else tensor


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a temporary file beside ``path``, then rename it to ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    tmp.replace(path)
