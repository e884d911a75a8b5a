"""The framer: where is the face's training framing, seen from a window near it?

The face check (``facecheck.py``) says whether a window looks like a face framed as the prior
was trained; it was trained to accept a whole range of framings (side x0.9-1.12, shifts up to
6%), so the window it likes best is seldom the framing itself. On 96 tuning val faces with a
part missing its favourite overlapped the true framing by 0.87 (median intersection over
union); fills from windows overlapping it by 0.7-0.9 were 1.2-2.1 dB under the true framing's,
above 0.9 0.5 dB. The fill needs the framing to a few pixels.

The framer is a small CNN that looks at a window's known pixels at 64x64 (as the check does:
the hole and anything past the photo's border zeroed, the hole as a fourth channel) and
regresses the move to the face's training framing: the shift of the centre, as a share of the
window's side, and the log of the side's ratio. Three moves from each of the check's proposals
(``refine``), and the landings' median (``consensus``), overlapped the true framing by 0.96.
Trained by ``inpaint_gui.lab.train_framer`` on the training faces, each framed at random (the
shipped one: side 0.8-1.25x, centre shifted up to 12%), with a random hole, and outside the
face either unknown or a natural photo; the card holds the command, its held-out accuracy and
the weights' sha256 (loaded with ``weights_only=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from inpaint_gui.core.engines.gan.facecheck import (
    ConvBlock,
    find_card_folder,
    load_card_net,
    save_card_net,
    to_input,
    windows_pixels_fast,
)

FRAMER_NAME = "framer"
WEIGHTS_FILE = "framer.pt"
REFINE_STEPS = 3  # moves from a proposal to the framing (each one from the window the last landed on)


@dataclass(frozen=True)
class FramerConfig:
    size: int = 64  # the window is seen at size x size
    width: int = 16  # channels of the first block (doubled twice)


class Framer(nn.Module):
    def __init__(self, config: FramerConfig = FramerConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.stem = nn.Sequential(nn.Conv2d(4, w, 3, 1, 1), nn.LeakyReLU(0.1))
        self.blocks = nn.Sequential(
            ConvBlock(w, 2 * w), ConvBlock(2 * w, 4 * w), ConvBlock(4 * w, 4 * w), ConvBlock(4 * w, 4 * w)
        )
        side = config.size // 16
        self.head = nn.Linear(4 * w * side * side, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, 4, S, S): RGB in [-1, 1] with the hole zeroed, then the hole (1) as a channel
        h = self.blocks(self.stem(x))  # (B, 4w, S/16, S/16)
        return self.head(h.flatten(1))  # (B, 3): centre shift x, y (share of the side), log side ratio


def framing_move(window, framing) -> np.ndarray:
    """float64 (3,): the move from ``window`` to ``framing`` (both ``(x, y, side)``) that the
    framer predicts: centre shift as a share of the window's side, log of the sides' ratio."""
    x, y, s = (float(v) for v in window)
    fx, fy, fs = (float(v) for v in framing)
    return np.array([(fx + fs / 2 - x - s / 2) / s, (fy + fs / 2 - y - s / 2) / s, np.log(fs / s)])


def apply_move(windows: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """float64 (N, 3) windows moved by (N, 3) moves (see :func:`framing_move`)."""
    s = windows[:, 2]
    cx = windows[:, 0] + s / 2 + moves[:, 0] * s
    cy = windows[:, 1] + s / 2 + moves[:, 1] * s
    side = s * np.exp(moves[:, 2])
    return np.stack([cx - side / 2, cy - side / 2, side], 1)


@dataclass
class LoadedFramer:
    net: Framer
    card: dict

    @torch.no_grad()
    def moves(self, image: np.ndarray, mask: np.ndarray, windows) -> np.ndarray:
        """float64 (N, 3): the predicted move from each window ``(x, y, side)`` to the framing."""
        win = np.asarray(windows, np.float64).reshape(-1, 3)
        if not len(win):
            return np.zeros((0, 3))
        pixels, holes = windows_pixels_fast(image, mask, win, self.net.config.size)
        return self.net(to_input(pixels, holes)).numpy().astype(np.float64)

    def refine(self, image: np.ndarray, mask: np.ndarray, windows, steps: int = REFINE_STEPS) -> list[tuple]:
        """Each window moved ``steps`` times towards the face's training framing; whole pixels."""
        win = np.asarray(windows, np.float64).reshape(-1, 3)
        limit = 2 * max(mask.shape)  # a window never grows past twice the photo
        for _ in range(steps):
            win = apply_move(win, self.moves(image, mask, win))
            win[:, 2] = np.clip(win[:, 2], 8, limit)
        return [(int(round(x)), int(round(y)), int(round(s))) for x, y, s in win]


def consensus(windows) -> tuple[int, int, int]:
    """The framing the landings agree on: their per-coordinate median (x, y, side). From the
    check's proposals of a val face with a part missing, the median overlapped the true framing
    by 0.96 (median over 96 tuning faces) where the favourite's landing did by 0.95 and the
    check's favourite by 0.87."""
    x, y, s = np.median(np.asarray(windows, np.float64).reshape(-1, 3), axis=0)
    return int(round(x)), int(round(y)), int(round(s))


def find_framer(name: str = FRAMER_NAME) -> Path:
    return find_card_folder(name, "the framer")


def load_framer(folder: Path | None = None) -> LoadedFramer:
    """Load and verify the shipped framer (card, sha256, ``weights_only``)."""
    folder = find_framer() if folder is None else Path(folder)
    net, card = load_card_net(folder, WEIGHTS_FILE, lambda c: Framer(FramerConfig(**c)), "framer")
    return LoadedFramer(net, card)


def save_framer(folder: Path, net: Framer, card: dict) -> None:
    save_card_net(folder, WEIGHTS_FILE, net, card)
