"""Context Encoder (Pathak et al. 2016) in the tutorial's design, sized for a CPU.

The generator reads the S x S window (S = 128) with the hole blanked and returns the S/2 x S/2
block that holds the hole:

    input (N, 5, S, S): RGB in [-1, 1] with the hole set to 0, the hole mask, the block mask
    encoder: five stride-2 4x4 convolutions, BatchNorm (not on the first) and LeakyReLU(0.2),
             S -> 4 (128 -> 64 -> 32 -> 16 -> 8 -> 4)
    bottleneck: a 1x1 convolution at 4x4 (the tutorial's 4000 channels; here ``bottleneck``)
    decoder: four stride-2 4x4 transposed convolutions, BatchNorm and ReLU, 4 -> S/2,
             then a 3x3 convolution to RGB and tanh

The tutorial feeds only RGB and always blanks the whole block. Here two mask channels say which
pixels are missing and where the output block lies, so one network fills a whole block (the
paper's setting) or a smaller hole inside a block (a face part) with the rest of the block as
context. The discriminator is the tutorial's patch discriminator: it sees a block (the fill
composed with the block's known pixels, or a real one) and returns a map of logits, one per
patch (8x8 at S = 128). Training: 0.999 L1 on the hole + 0.001 least-squares adversarial.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

ARCH = "ce"
SUPPORTED_RESOLUTIONS = (32, 64, 128)
IN_CHANNELS = 5  # RGB with the hole blanked, hole mask, block mask


@dataclass(frozen=True)
class CEConfig:
    resolution: int = 128  # side S of the input window; the output block is S/2
    nef: int = 32  # encoder width of the first layer; doubles per layer up to max_width
    max_width: int = 256  # widest encoder and decoder layer (the tutorial: 512)
    bottleneck: int = 512  # channels of the 1x1 bottleneck at 4x4 (the tutorial: 4000)
    ndf: int = 32  # discriminator width of the first layer

    def __post_init__(self) -> None:
        if self.resolution not in SUPPORTED_RESOLUTIONS:
            raise ValueError(f"resolution must be one of {SUPPORTED_RESOLUTIONS}, got {self.resolution}")
        for name in ("nef", "max_width", "bottleneck", "ndf"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")

    @property
    def block(self) -> int:
        return self.resolution // 2

    @property
    def n_down(self) -> int:
        """Stride-2 convolutions from S to 4."""
        return int(math.log2(self.resolution)) - 2

    def encoder_widths(self) -> list[int]:
        return [min(self.nef * 2**i, self.max_width) for i in range(self.n_down)]  # e.g. [32, 64, 128, 256, 256]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CEConfig:
        return cls(**{k: d[k] for k in ("resolution", "nef", "max_width", "bottleneck", "ndf") if k in d})


class Down(nn.Sequential):
    """(N, c_in, s, s) -> (N, c_out, s/2, s/2): 4x4 stride-2 convolution, BatchNorm, LeakyReLU."""

    def __init__(self, c_in: int, c_out: int, norm: bool = True):
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm)]
        if norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        super().__init__(*layers)


class Up(nn.Sequential):
    """(N, c_in, s, s) -> (N, c_out, 2s, 2s): 4x4 stride-2 transposed convolution, BatchNorm, ReLU."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True))


class ContextEncoder(nn.Module):
    def __init__(self, config: CEConfig):
        super().__init__()
        self.config = config
        enc = config.encoder_widths()
        dec = enc[-2::-1]  # e.g. [256, 128, 64, 32]: one fewer stage than the encoder (4 -> S/2)
        downs = [Down(IN_CHANNELS, enc[0], norm=False)]  # no BatchNorm on the input layer (Radford et al.)
        downs += [Down(c_in, c_out) for c_in, c_out in zip(enc[:-1], enc[1:])]
        self.encoder = nn.Sequential(*downs)  # (N, 5, S, S) -> (N, enc[-1], 4, 4)
        self.bottleneck = nn.Sequential(  # (N, enc[-1], 4, 4) -> (N, bottleneck, 4, 4)
            nn.Conv2d(enc[-1], config.bottleneck, 1, bias=False),
            nn.BatchNorm2d(config.bottleneck),
            nn.LeakyReLU(0.2, inplace=True),
        )
        ups = [Up(config.bottleneck, dec[0])] + [Up(c_in, c_out) for c_in, c_out in zip(dec[:-1], dec[1:])]
        self.decoder = nn.Sequential(*ups)  # (N, bottleneck, 4, 4) -> (N, dec[-1], S/2, S/2)
        self.to_rgb = nn.Sequential(nn.Conv2d(dec[-1], 3, 3, 1, 1), nn.Tanh())  # -> (N, 3, S/2, S/2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)  # (N, enc[-1], 4, 4)
        h = self.bottleneck(h)  # (N, bottleneck, 4, 4)
        h = self.decoder(h)  # (N, dec[-1], S/2, S/2)
        return self.to_rgb(h)  # (N, 3, S/2, S/2) in [-1, 1]

    def layers(self) -> nn.Sequential:
        """The network as one flat Sequential (for BatchNorm folding at inference)."""
        encoder = [m for block in self.encoder for m in block]
        decoder = [m for block in self.decoder for m in block]
        return nn.Sequential(*encoder, *self.bottleneck, *decoder, *self.to_rgb)


class PatchDiscriminator(nn.Module):
    """A block (N, 3, S/2, S/2) -> patch logits (N, S/16, S/16): > 0 means "real"."""

    def __init__(self, config: CEConfig):
        super().__init__()
        self.config = config
        n = 3  # S/2 -> S/16 (64 -> 8 at S = 128)
        widths = [config.ndf * 2**i for i in range(n)]  # e.g. [32, 64, 128]
        downs = [Down(3, widths[0], norm=False)] + [Down(a, b) for a, b in zip(widths[:-1], widths[1:])]
        self.features = nn.Sequential(*downs)  # (N, 3, S/2, S/2) -> (N, widths[-1], S/16, S/16)
        self.head = nn.Conv2d(widths[-1], 1, 3, 1, 1)  # -> (N, 1, S/16, S/16)

    def forward(self, block: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(block))[:, 0]  # (N, S/16, S/16)


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build(config: CEConfig, seed: int | None = None) -> tuple[ContextEncoder, PatchDiscriminator]:
    """A freshly initialised (generator, discriminator) pair; ``seed`` makes it reproducible."""
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        g, d = ContextEncoder(config), PatchDiscriminator(config)
        g.apply(init_weights)
        d.apply(init_weights)
    return g, d


def ce_input(image: torch.Tensor, hole: torch.Tensor, block_yx: torch.Tensor, block: int) -> torch.Tensor:
    """The generator's input from windows (N, 3, S, S) in [-1, 1], holes (N, S, S) bool (True =
    missing, inside the block) and the blocks' top-left corners (N, 2) -> (N, 5, S, S)."""
    s = image.shape[-1]
    hole_f = hole[:, None].to(image.dtype)  # (N, 1, S, S)
    rows = torch.arange(s, device=image.device)
    y, x = block_yx[:, 0, None].to(image.device), block_yx[:, 1, None].to(image.device)  # (N, 1)
    in_rows = (rows >= y) & (rows < y + block)  # (N, S)
    in_cols = (rows >= x) & (rows < x + block)  # (N, S)
    block_f = (in_rows[:, :, None] & in_cols[:, None, :])[:, None].to(image.dtype)  # (N, 1, S, S)
    return torch.cat([image * (1 - hole_f), hole_f, block_f], dim=1)  # (N, 5, S, S)


def crop_blocks(x: torch.Tensor, block_yx: torch.Tensor, block: int) -> torch.Tensor:
    """The ``block`` x ``block`` squares of (N, C, S, S) at the corners (N, 2) -> (N, C, block, block)."""
    return torch.stack([t[:, y : y + block, x : x + block] for t, (y, x) in zip(x, block_yx.tolist())])
