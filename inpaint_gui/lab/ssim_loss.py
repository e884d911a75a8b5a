"""SSIM as a differentiable training loss: the same measure as ``metrics.ssim`` in torch.

Zhao et al. ("Loss Functions for Image Restoration with Neural Networks", 2017) found networks
trained on L1 plus a structural term score better on SSIM *and* PSNR than on L1 alone: L1's
optimum is a median, soft where the network is unsure, and SSIM's contrast and structure terms
penalise a soft fill that the mean error does not. The feed-forward trainer adds
``ssim_weight`` x (1 - SSIM) of the composed window to its loss (``train_ff.FFSettings``).

Same constants as the metric (a Gaussian window of 11 taps, sigma 1.5, K1 0.01, K2 0.03, the
5-pixel border left out), on images in [-1, 1] (the networks' range; SSIM is computed as if
they were [0, 1], which is what the metric's constants mean for uint8 over 255).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaint_gui.lab.metrics import K1, K2, SSIM_RADIUS, SSIM_SIGMA


def _taps(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    x = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, device=device, dtype=dtype)  # (11,)
    k = torch.exp(-(x**2) / (2 * SSIM_SIGMA**2))
    return k / k.sum()


def _blur(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian, 'valid' (no padding): (N, C, H, W) -> (N, C, H - 10, W - 10)."""
    c = x.shape[1]
    x = F.conv2d(x, taps.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along W
    return F.conv2d(x, taps.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along H


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of images (N, C, H, W) in [-1, 1] over every image, channel and the valid
    region (H, W > 10): a scalar tensor, differentiable in both."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    if min(a.shape[-2:]) <= 2 * SSIM_RADIUS:
        raise ValueError(f"images of {tuple(a.shape[-2:])} are too small for SSIM's 11-tap window")
    a, b = (a + 1) / 2, (b + 1) / 2  # (N, C, H, W) in [0, 1]
    taps = _taps(a.device, a.dtype)
    mu_a, mu_b = _blur(a, taps), _blur(b, taps)
    var_a = _blur(a * a, taps) - mu_a**2
    var_b = _blur(b * b, taps) - mu_b**2
    cov = _blur(a * b, taps) - mu_a * mu_b
    c1, c2 = K1**2, K2**2
    smap = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return smap.mean()
