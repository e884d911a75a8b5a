"""A learned start for the latent search: an encoder from a masked window to z (Lahiri et al.,
"Prior Guided GAN Based Semantic Inpainting", CVPR 2020).

The search starts from the best K of 16 x K random draws and needs a few hundred Adam steps;
an encoder trained with G frozen to map the window's known pixels (and its mask) to a z whose
G(z) matches them would start it next to where it ends. ``inpaint_gui.lab.train_encoder``
trains one per prior (resumable; the card holds the command, the data and the held-out fit).

The encoder sees the window at the model's resolution as the face check and the framer see
theirs: RGB in [-1, 1] with the hole (and pixels past the photo's border) zeroed, and the hole
as a fourth channel. It answers z in [-1, 1]^nz (the prior's range).

The face engine takes a prior's encoder where one is installed (``start`` "auto"; weights/
``<prior>-encoder``): the search's last restart starts at its z instead of the last of the kept
random draws (``search.Search``). Measured in docs/experiments.md ("The learned start").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from inpaint_gui.core.engines.gan.facecheck import find_card_folder, load_card_net, save_card_net

WEIGHTS_FILE = "encoder.pt"


@dataclass(frozen=True)
class EncoderConfig:
    resolution: int = 64  # the prior's side: the window is seen at this resolution
    nz: int = 100  # the prior's latent size
    width: int = 32  # channels of the first block (doubled per halving, at most 8x)


class Encoder(nn.Module):
    def __init__(self, config: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.config = config
        layers: list[nn.Module] = [nn.Conv2d(4, config.width, 3, 1, 1), nn.LeakyReLU(0.2)]
        c, side = config.width, config.resolution
        while side > 4:
            out = min(2 * c, 8 * config.width)
            layers += [nn.Conv2d(c, out, 4, 2, 1), nn.GroupNorm(8, out), nn.LeakyReLU(0.2)]
            c, side = out, side // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c * 16, config.nz)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, 4, S, S): RGB in [-1, 1] with the unknown pixels zeroed, then the hole (1) as a channel
        return torch.tanh(self.head(self.features(x).flatten(1)))  # (B, nz) in [-1, 1]


def encoder_input(images: np.ndarray, holes: np.ndarray, outside: np.ndarray | None = None) -> torch.Tensor:
    """uint8 (B, S, S, 3) windows at the model's resolution, bool (B, S, S) holes (and pixels
    past the border) -> float32 (B, 4, S, S)."""
    unknown = holes if outside is None else holes | outside
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    u = torch.from_numpy(np.ascontiguousarray(unknown))[:, None].float()
    return torch.cat([x * (1 - u), u], 1)


@dataclass
class LoadedEncoder:
    net: Encoder
    card: dict

    @torch.no_grad()
    def latents(self, images: np.ndarray, holes: np.ndarray, outside: np.ndarray | None = None) -> np.ndarray:
        """float32 (B, nz): the encoder's z for each window."""
        return self.net(encoder_input(images, holes, outside)).numpy()


def encoder_name(model_name: str) -> str:
    """The weights folder of a prior's encoder: ``<prior>-encoder``."""
    return f"{model_name}-encoder"


def load_encoder(model_name: str, folder: Path | None = None) -> LoadedEncoder:
    """The encoder of the prior ``model_name`` (card, sha256, ``weights_only``); WeightsError if
    none is installed."""
    folder = find_card_folder(encoder_name(model_name), "the encoder") if folder is None else Path(folder)
    net, card = load_card_net(folder, WEIGHTS_FILE, lambda c: Encoder(EncoderConfig(**c)), "encoder")
    return LoadedEncoder(net, card)


def save_encoder(folder: Path, net: Encoder, card: dict, half: bool = True) -> None:
    """Write an encoder and its card; float16 by default (the shipped ones: their z agree with
    float32's to 0.01 of its spread, see docs/experiments.md, "The learned start")."""
    save_card_net(Path(folder), WEIGHTS_FILE, net, card, half=half)
