"""The face check: is this window a face, framed the way the face prior was trained?

The automatic engine choice asks it of the framings the face engine would search. A small
CNN looks at the window's known pixels at 32x32 (the hole and anything past the photo's border
zeroed, plus the hole as a fourth channel) and answers with a probability. It was trained
(``inpaint_gui.lab.train_facecheck``) on the training faces framed as the generator saw them
(jittered a little) against the same faces framed wrongly (zoomed in, shifted) and square
crops of natural photos, all with random holes; its card (``weights/facecheck/card.json``) holds
the data, the held-out confusion table and the sha256 of the weights, which load with
``weights_only=True``.

The contextual loss of a short latent search was tried first and does not separate faces from
photos (README, "Engine choice"): a smooth wall is as easy for G to explain as a cheek.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from inpaint_gui.core.engines.gan import weights
from inpaint_gui.core.engines.gan.weights import sha256_file
from inpaint_gui.core.errors import WeightsError

CHECK_NAME = "facecheck"
CARD = "card.json"
WEIGHTS_FILE = "facecheck.pt"
FACE_THRESHOLD = 0.5  # p(face) at or above this: the face engine fills the hole


@dataclass(frozen=True)
class FaceCheckConfig:
    size: int = 32  # the window is judged at size x size
    width: int = 16  # channels of the first block (doubled per block)


class ConvBlock(nn.Sequential):
    """A stride-2 3x3 convolution, BatchNorm, LeakyReLU: halves the side (the check's and the framer's)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Conv2d(c_in, c_out, 3, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.1))


class FaceCheck(nn.Module):
    def __init__(self, config: FaceCheckConfig = FaceCheckConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.stem = nn.Sequential(nn.Conv2d(4, w, 3, 1, 1), nn.LeakyReLU(0.1))
        self.blocks = nn.Sequential(ConvBlock(w, 2 * w), ConvBlock(2 * w, 4 * w), ConvBlock(4 * w, 4 * w))
        side = config.size // 8
        self.head = nn.Linear(4 * w * side * side, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, 4, S, S): RGB in [-1, 1] with the hole zeroed, then the hole (1) as a channel
        h = self.blocks(self.stem(x))  # (B, 4w, S/8, S/8)
        return self.head(h.flatten(1)).squeeze(1)  # (B,) logits


def window_pixels(image: np.ndarray, mask: np.ndarray, window: tuple[int, int, int], size: int = 32):
    """The window ``(x, y, side)`` of ``image`` at ``size`` px (area-averaged) and its hole
    there: the photo's hole plus whatever lies past the border. ``(uint8 (size, size, 3), bool
    (size, size))``."""
    x, y, s = (int(v) for v in window)
    h, w = mask.shape
    crop = np.zeros((s, s, 3), np.uint8)
    missing = np.ones((s, s), np.uint8)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + s, w), min(y + s, h)
    if x1 > x0 and y1 > y0:
        crop[y0 - y : y1 - y, x0 - x : x1 - x] = image[y0:y1, x0:x1]
        missing[y0 - y : y1 - y, x0 - x : x1 - x] = mask[y0:y1, x0:x1]
    small = np.asarray(Image.fromarray(crop).resize((size, size), Image.BOX))
    hole = np.asarray(Image.fromarray(missing * 255).resize((size, size), Image.BOX)) >= 64
    return small, hole


def windows_pixels_fast(image: np.ndarray, mask: np.ndarray, windows: list, size: int = 32):
    """:func:`window_pixels` for many windows at once, from summed-area tables: each of the
    ``size`` x ``size`` cells averages the photo pixels whose centres fall in it (cell edges
    rounded to whole pixels, where Pillow's box filter weighs partial pixels), with pixels past
    the border counting as black and missing. ``(uint8 (N, size, size, 3), bool (N, size, size))``
    in milliseconds for hundreds of windows; for ranking windows, not for the calibrated verdict."""
    h, w = mask.shape
    sat = np.zeros((h + 1, w + 1, 4), np.float64)  # photo RGB and the hole, summed
    sat[1:, 1:, :3] = image
    sat[1:, 1:, 3] = mask
    sat = sat.cumsum(0).cumsum(1)
    win = np.asarray(windows, np.float64).reshape(-1, 3)  # (N, 3): x, y, side
    steps = np.arange(size + 1) / size  # (size + 1,)
    xs = np.rint(win[:, :1] + win[:, 2:] * steps).astype(np.int64)  # (N, size + 1) cell edges
    ys = np.rint(win[:, 1:2] + win[:, 2:] * steps).astype(np.int64)
    area = np.maximum(np.diff(ys)[:, :, None] * np.diff(xs)[:, None, :], 1)  # (N, size, size)
    cx, cy = np.clip(xs, 0, w), np.clip(ys, 0, h)  # edges inside the photo
    inside = np.diff(cy)[:, :, None] * np.diff(cx)[:, None, :]  # (N, size, size) pixels in the photo
    corner = sat[cy[:, :, None], cx[:, None, :]]  # (N, size + 1, size + 1, 4)
    sums = corner[:, 1:, 1:] - corner[:, :-1, 1:] - corner[:, 1:, :-1] + corner[:, :-1, :-1]  # (N, size, size, 4)
    pixels = np.clip(np.rint(sums[..., :3] / area[..., None]), 0, 255).astype(np.uint8)
    missing = (sums[..., 3] + area - inside) / area  # hole and past the border, as a share of the cell
    return pixels, missing >= 64 / 255


def to_input(pixels: np.ndarray, holes: np.ndarray) -> torch.Tensor:
    """(B, S, S, 3) uint8 and (B, S, S) bool -> the network's (B, 4, S, S) input."""
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 127.5 - 1  # (B, 3, S, S)
    m = torch.from_numpy(np.ascontiguousarray(holes)).float()[:, None]  # (B, 1, S, S)
    return torch.cat([x * (1 - m), m], 1)


@dataclass
class LoadedCheck:
    net: FaceCheck
    card: dict

    @torch.no_grad()
    def logits(self, image: np.ndarray, mask: np.ndarray, windows: list, fast: bool = False) -> np.ndarray:
        """float64 (N,): the check's logit for each window ``(x, y, side)`` (higher: more like a
        face framed as the prior was trained). ``fast``: windows sampled from summed-area
        tables (:func:`windows_pixels_fast`), for ranking many windows."""
        if not windows:
            return np.zeros(0)
        size = self.net.config.size
        if fast:
            pixels, holes = windows_pixels_fast(image, mask, windows, size)
        else:
            parts = [window_pixels(image, mask, win, size) for win in windows]
            pixels, holes = np.stack([p for p, _ in parts]), np.stack([m for _, m in parts])
        return self.net(to_input(pixels, holes)).numpy().astype(np.float64)  # (N,)

    def probabilities(self, image: np.ndarray, mask: np.ndarray, windows: list) -> np.ndarray:
        """p(a face framed as trained) for each window ``(x, y, side)``."""
        return 1.0 / (1.0 + np.exp(-self.logits(image, mask, windows)))


def find_card_folder(name: str, what: str) -> Path:
    """The weights folder ``name`` holding a card (for the small networks shipped beside the priors)."""
    dirs = weights.weights_dirs()  # looked up on the module, so a test's (or a plugin's) weights dirs count
    for d in dirs:
        if (d / name / CARD).is_file():
            return d / name
    raise WeightsError(f"{what} ({name}/{CARD}) is not installed in any of {', '.join(str(d) for d in dirs)}")


def load_card_net(folder: Path, weights_file: str, build, what: str) -> tuple[nn.Module, dict]:
    """A small network and its card from ``folder``: the card's config, the weights' sha256
    checked against the card, loaded with ``weights_only=True``, finite. ``build(config_dict)``
    makes the network."""
    try:
        card = json.loads((folder / CARD).read_text())
        net = build(card["config"])
        expected = card["files"][weights_file]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"{folder / CARD}: not a {what} card ({exc})") from None
    path = folder / weights_file
    if not path.is_file() or sha256_file(path) != expected:
        raise WeightsError(f"{path}: missing or its sha256 does not match {CARD}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except Exception as exc:
        raise WeightsError(f"{path}: cannot load ({str(exc).splitlines()[0]})") from None
    if not all(torch.isfinite(p).all() for p in net.state_dict().values() if p.is_floating_point()):
        raise WeightsError(f"{path}: holds NaN or infinite weights")
    return net.eval(), card


def save_card_net(folder: Path, weights_file: str, net: nn.Module, card: dict, half: bool = False) -> None:
    """Write ``net``'s weights (float16 with ``half``: half the bytes; :func:`load_card_net`
    loads them into the float32 network) and its card (the config, the dtype, the sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if half and v.is_floating_point() else v for k, v in net.state_dict().items()}
    torch.save(state, folder / weights_file)
    card = {
        **card,
        "config": asdict(net.config),
        "weights_dtype": "float16" if half else "float32",
        "files": {weights_file: sha256_file(folder / weights_file)},
    }
    (folder / CARD).write_text(json.dumps(card, indent=1) + "\n")


def find_check(name: str = CHECK_NAME) -> Path:
    return find_card_folder(name, "the face check")


def load_check(folder: Path | None = None) -> LoadedCheck:
    """Load and verify the shipped face check (card, size and sha256, ``weights_only``)."""
    folder = find_check() if folder is None else Path(folder)
    net, card = load_card_net(folder, WEIGHTS_FILE, lambda c: FaceCheck(FaceCheckConfig(**c)), "face-check")
    return LoadedCheck(net, card)


def save_check(folder: Path, net: FaceCheck, card: dict) -> None:
    save_card_net(folder, WEIGHTS_FILE, net, card)
