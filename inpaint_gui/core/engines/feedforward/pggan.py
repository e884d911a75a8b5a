"""PGGAN (Demir & Unal 2018, "Patch-Based Image Inpainting with Generative Adversarial Networks"),
sized for a CPU.

Generator, fully convolutional (any hole of the S x S window, S = 128):

    input (N, 4, S, S): RGB in [-1, 1] with the hole set to 0, and the hole mask
    stem: 5x5 convolution, BatchNorm, ReLU                               (ngf, S)
    two down-samplings: 3x3 stride-2 convolutions                        (2 ngf, S/2), (4 ngf, S/4)
    dilated residual blocks at S/4, dilation 1, 2, 4, ...: y = x + F(x),
        F = dilated 3x3 conv, BatchNorm, ReLU, 3x3 conv, BatchNorm (the dilated convolution first)
    two interpolated convolutions (resize x2, then a 3x3 convolution; no transposed convolutions)
    3x3 convolution to RGB, tanh; the output is composed with the known pixels (:func:`compose`)

Discriminator: shared early layers (three stride-2 4x4 convolutions, S -> S/8), then two heads on
the same features: a global one (more stride-2 convolutions to one logit per image) and a
PatchGAN one (a map of S/8 x S/8 logits, 16x16 at S = 128). Training: 0.995 L1 + 0.0025 global
adversarial + 0.0025 PatchGAN adversarial.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH = "pggan"
SUPPORTED_RESOLUTIONS = (32, 64, 128)
IN_CHANNELS = 4  # RGB with the hole blanked, hole mask


@dataclass(frozen=True)
class PGGANConfig:
    resolution: int = 128  # side S of the window it was trained on (it runs on any multiple of 4)
    ngf: int = 16  # generator width at full resolution; doubles at each down-sampling
    n_blocks: int = 4  # dilated residual blocks at S/4, dilations 1, 2, 4, 8, ...
    ndf: int = 16  # discriminator width of the first layer

    def __post_init__(self) -> None:
        if self.resolution not in SUPPORTED_RESOLUTIONS:
            raise ValueError(f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {self.resolution}")
        for name in ("ngf", "n_blocks", "ndf"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")

    @property
    def dilations(self) -> list[int]:
        return [2**i for i in range(self.n_blocks)]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PGGANConfig:
        return cls(**{k: d[k] for k in ("resolution", "ngf", "n_blocks", "ndf") if k in d})


class ConvBNReLU(nn.Sequential):
    """(N, c_in, s, s) -> (N, c_out, s / stride, s / stride)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)
        )


class DilatedResBlock(nn.Module):
    """(N, c, s, s) -> (N, c, s, s): x + F(x), the dilated convolution first."""

    def __init__(self, c: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, 1, dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)), inplace=True)  # (N, c, s, s)
        return x + self.bn2(self.conv2(h))  # (N, c, s, s)


class InterpConv(nn.Module):
    """(N, c_in, s, s) -> (N, c_out, 2s, 2s): nearest-neighbour resize, then 3x3 conv, BatchNorm, ReLU."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = ConvBNReLU(c_in, c_out, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class PGGANGenerator(nn.Module):
    def __init__(self, config: PGGANConfig):
        super().__init__()
        self.config = config
        c1, c2, c4 = config.ngf, 2 * config.ngf, 4 * config.ngf
        self.stem = ConvBNReLU(IN_CHANNELS, c1, 5)  # (N, 4, S, S) -> (N, c1, S, S)
        self.down = nn.Sequential(ConvBNReLU(c1, c2, 3, 2), ConvBNReLU(c2, c4, 3, 2))  # -> (N, c4, S/4, S/4)
        self.blocks = nn.Sequential(*[DilatedResBlock(c4, d) for d in config.dilations])  # same shape
        self.up = nn.Sequential(InterpConv(c4, c2), InterpConv(c2, c1))  # -> (N, c1, S, S)
        self.to_rgb = nn.Sequential(nn.Conv2d(c1, 3, 3, 1, 1), nn.Tanh())  # -> (N, 3, S, S)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)  # (N, c1, S, S)
        h = self.down(h)  # (N, c4, S/4, S/4)
        h = self.blocks(h)  # (N, c4, S/4, S/4)
        h = self.up(h)  # (N, c1, S, S)
        return self.to_rgb(h)  # (N, 3, S, S) in [-1, 1], before composition


class PGGANDiscriminator(nn.Module):
    """An image (N, 3, S, S) -> (global logits (N,), patch logits (N, S/8, S/8)); > 0 means "real"."""

    def __init__(self, config: PGGANConfig):
        super().__init__()
        self.config = config
        w = [config.ndf * 2**i for i in range(4)]  # e.g. [16, 32, 64, 128]
        self.shared = nn.Sequential(  # (N, 3, S, S) -> (N, w[2], S/8, S/8)
            nn.Conv2d(3, w[0], 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
            *_down(w[0], w[1]),
            *_down(w[1], w[2]),
        )
        self.patch = nn.Sequential(  # -> (N, 1, S/8, S/8)
            nn.Conv2d(w[2], w[2], 3, 1, 1, bias=False),
            nn.BatchNorm2d(w[2]),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(w[2], 1, 3, 1, 1),
        )
        n_global = int(math.log2(config.resolution // 8)) - 2  # S/8 -> 4 (2 at S = 128)
        widths = [w[2]] + [w[3]] * n_global
        layers = [m for a, b in zip(widths[:-1], widths[1:]) for m in _down(a, b)]
        self.global_head = nn.Sequential(*layers, nn.Conv2d(widths[-1], 1, 4, 1, 0))  # -> (N, 1, 1, 1)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.shared(image)  # (N, w[2], S/8, S/8)
        return self.global_head(h).flatten(), self.patch(h)[:, 0]  # (N,), (N, S/8, S/8)


def _down(c_in: int, c_out: int) -> list[nn.Module]:
    """(N, c_in, s, s) -> (N, c_out, s/2, s/2)."""
    return [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True)]


def init_weights(module: nn.Module) -> None:
    """Conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), biases 0; the last BatchNorm of
    each residual branch starts at scale 0, so every block starts as the identity."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
    if isinstance(module, DilatedResBlock):
        nn.init.zeros_(module.bn2.weight)


def build(config: PGGANConfig, seed: int | None = None) -> tuple[PGGANGenerator, PGGANDiscriminator]:
    """A freshly initialised (generator, discriminator) pair; ``seed`` makes it reproducible."""
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        g, d = PGGANGenerator(config), PGGANDiscriminator(config)
        g.apply(init_weights)
        d.apply(init_weights)
    return g, d


def pggan_input(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Windows (N, 3, S, S) in [-1, 1] and holes (N, S, S) bool (True = missing) -> (N, 4, S, S)."""
    hole_f = hole[:, None].to(image.dtype)  # (N, 1, S, S)
    return torch.cat([image * (1 - hole_f), hole_f], dim=1)


def compose(output: torch.Tensor, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The known pixels of ``image`` and the generator's ``output`` in the hole, (N, 3, S, S)."""
    hole_f = hole[:, None].to(image.dtype)  # (N, 1, S, S)
    return image * (1 - hole_f) + output * hole_f
