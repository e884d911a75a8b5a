"""DCGAN generator and discriminator (Radford et al. 2016), as used by Yeh et al. (2017).

The generator maps a latent ``z`` (N, nz) to an image (N, 3, S, S) in [-1, 1] through a
stack of stride-2 transposed convolutions that double the side each time, starting from
4x4x(8*ngf). The discriminator mirrors it with stride-2 convolutions and returns one logit
per image. ``S`` is 64 (four stages) or 128 (five stages): one more stage per doubling.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

SUPPORTED_RESOLUTIONS = (32, 64, 128)


@dataclass(frozen=True)
class DCGANConfig:
    resolution: int = 64  # side S of the square images, a power of two >= 32
    nz: int = 100  # size of the latent vector z
    ngf: int = 64  # generator width: the last hidden layer has ngf channels
    ndf: int = 64  # discriminator width: the first layer has ndf channels
    nc: int = 3  # image channels (RGB)

    def __post_init__(self) -> None:
        if self.resolution not in SUPPORTED_RESOLUTIONS:
            raise ValueError(f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {self.resolution}")
        for name in ("nz", "ngf", "ndf", "nc"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")

    @property
    def n_stages(self) -> int:
        """Number of stride-2 stages between 4x4 and S x S."""
        return int(math.log2(self.resolution)) - 2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DCGANConfig:
        known = {k: d[k] for k in ("resolution", "nz", "ngf", "ndf", "nc") if k in d}
        return cls(**known)


def _channel_ladder(width: int, n_stages: int) -> list[int]:
    """Widths from the 4x4 end outwards: width*2^(n-1), ..., width*2, width."""
    return [width * 2 ** (n_stages - 1 - i) for i in range(n_stages)]


class Generator(nn.Module):
    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = config
        widths = _channel_ladder(config.ngf, config.n_stages)  # e.g. [512, 256, 128, 64] at 64x64
        layers: list[nn.Module] = [
            # z (N, nz, 1, 1) -> (N, widths[0], 4, 4)
            nn.ConvTranspose2d(config.nz, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            # (N, c_in, s, s) -> (N, c_out, 2s, 2s)
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        # (N, ngf, S/2, S/2) -> (N, 3, S, S) in [-1, 1]
        layers += [nn.ConvTranspose2d(widths[-1], config.nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]  # (N, nz) -> (N, nz, 1, 1)
        return self.main(z)  # (N, 3, S, S)


class Discriminator(nn.Module):
    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = config
        widths = _channel_ladder(config.ndf, config.n_stages)[::-1]  # e.g. [64, 128, 256, 512]
        layers: list[nn.Module] = [
            # (N, 3, S, S) -> (N, ndf, S/2, S/2); no BatchNorm on the input layer (Radford et al.)
            nn.Conv2d(config.nc, widths[0], 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            # (N, c_in, s, s) -> (N, c_out, s/2, s/2)
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        # (N, 8*ndf, 4, 4) -> (N, 1, 1, 1)
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).flatten()  # (N,) logits: > 0 means "real"


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_models(config: DCGANConfig, seed: int | None = None) -> tuple[Generator, Discriminator]:
    """A freshly initialised (G, D) pair; ``seed`` makes the initialisation reproducible."""
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        g, d = Generator(config), Discriminator(config)
        g.apply(init_weights)
        d.apply(init_weights)
    return g, d
