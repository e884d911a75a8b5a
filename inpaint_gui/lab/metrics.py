"""Image quality metrics of the papers' tables: L1 (% of range), PSNR (dB), SSIM.

SSIM follows Wang et al. (2004) as most tables compute it: a Gaussian window of 11 taps with
sigma 1.5, K1 = 0.01, K2 = 0.03, data range 255, population (not sample) covariances,
per channel, averaged; the whole-image mean leaves out the 5-pixel border. ``where`` restricts the mean to some pixels (e.g. the hole); the SSIM
map itself is always computed on the whole image, so the hole's SSIM sees its context.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # 11 taps
K1, K2, DATA_RANGE = 0.01, 0.03, 255.0


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def _mean_over(values: np.ndarray, where: np.ndarray | None) -> float:
    """Mean of (H, W[, C]) values over the pixels where ``where`` (H, W) is True."""
    if where is None:
        return float(values.mean())
    if not where.any():
        return float("nan")
    return float(values[where].mean())


def l1_percent(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean absolute difference as a percentage of the 0-255 range."""
    a, b = _pair(a, b)
    return 100.0 * _mean_over(np.abs(a - b), where) / DATA_RANGE


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images)."""
    a, b = _pair(a, b)
    mse = _mean_over((a - b) ** 2, where)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(DATA_RANGE**2 / mse))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM, float64 (H, W, C) for colour or (H, W) for grey images."""
    a, b = _pair(a, b)
    spatial = (SSIM_SIGMA, SSIM_SIGMA) + (0,) * (a.ndim - 2)

    def blur(x: np.ndarray) -> np.ndarray:
        return gaussian_filter(x, sigma=spatial, truncate=SSIM_RADIUS / SSIM_SIGMA, mode="reflect")

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (K1 * DATA_RANGE) ** 2, (K2 * DATA_RANGE) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def ssim(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean SSIM averaged over channels: over the image's valid region (the map without a
    5-pixel border, as Wang et al.'s reference code and scikit-image compute it), or over the
    pixels of ``where`` (the map is reflect-padded there, so holes at the border count too)."""
    smap = ssim_map(a, b)
    if where is None:
        r = SSIM_RADIUS
        if min(smap.shape[:2]) > 2 * r:
            smap = smap[r:-r, r:-r]
    return _mean_over(smap, where)


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """float64 (H, W): |grad| of the luminance (central differences, one-sided at the border)."""
    luma = (
        np.asarray(image, np.float64) @ np.array([0.299, 0.587, 0.114]) if image.ndim == 3 else image.astype(np.float64)
    )
    gy, gx = np.gradient(luma)
    return np.hypot(gx, gy)


def sharpness(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Mean gradient magnitude inside the hole, the fill's over the truth's: 1.0 is as sharp
    as the truth, below 1 blurrier (an enlarged low-resolution fill), above 1 noisier."""
    truth_g = float(gradient_magnitude(truth)[hole].mean()) if hole.any() else float("nan")
    if not truth_g > 0:
        return float("nan")
    return float(gradient_magnitude(result)[hole].mean()) / truth_g


def all_metrics(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """L1, PSNR and SSIM over the whole image and over the hole, and the hole's sharpness."""
    return {
        "l1": l1_percent(result, truth),
        "psnr": psnr(result, truth),
        "ssim": ssim(result, truth),
        "l1_hole": l1_percent(result, truth, hole),
        "psnr_hole": psnr(result, truth, hole),
        "ssim_hole": ssim(result, truth, hole),
        "sharpness": sharpness(result, truth, hole),
    }
