"""Two-band fills: a 128x128 model's detail over a 64x64 model's low frequencies.

``celeba128`` draws sharper fills than ``celeba64`` enlarged (sharpness 0.83-0.87 of the
truth's against 0.77), but its faces fit the context less well: on held-out faces its PSNR is
0.04-0.38 dB lower. The errors sit in different bands: ``celeba64``'s in the detail it cannot
draw, ``celeba128``'s in where its features land. So the app searches the same window with both
and keeps ``celeba64``'s fill below ``BAND_SIGMA`` and ``celeba128``'s above it::

    fill = blur(G64(z64) enlarged) + (G128(z128) - blur(G128(z128)))

Sigma was tuned on val faces 1-48 (docs/experiments.md, "Two-band fills"): smaller sigmas lose
sharpness, larger ones PSNR and SSIM. Held out (docs/models.md, "Two-band fills"): 0.25-0.27 dB over
``celeba64``, SSIM within 0.004, sharpness 0.81-0.84.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy.ndimage import gaussian_filter

from inpaint_gui.core.engines.gan.checkerboard import SIGMA, periodic_pattern
from inpaint_gui.core.engines.gan.resample import from_model, to_model_padded
from inpaint_gui.core.engines.gan.search import search_batch

BAND_SIGMA = 2.0  # the bands' split: a Gaussian of this sigma, in pixels of the 128x128 model
PATTERN_SIGMA = SIGMA  # the checkerboard's neighbourhood at BAND_SIGMA (8 px at 128; scaled with sigma)
SHARPEN_BAND = (0.75, 1.5)  # the base's band that ``sharpen`` adds again: between these multiples of sigma
BASE_MODELS = {128: "celeba64"}  # a model resolution -> the model whose search gives its low band


def low_band_model(settings, resolution: int, installed) -> str | None:
    """The model whose search gives a ``resolution`` model's low band under ``settings`` (its
    ``low_band``: "prior", or "auto" where the network cannot fill the hole), or None: "off" or
    "network", no base model for that resolution, or it is not installed (``installed(name) -> bool``)."""
    if settings.low_band not in ("auto", "prior"):
        return None
    name = BASE_MODELS.get(int(resolution))
    return name if name is not None and installed(name) else None


def two_band(
    detail: np.ndarray,
    base: np.ndarray,
    sigma: float = BAND_SIGMA,
    sharpen: float = 0.0,
    remove_checkerboard: bool = False,
    reference: float | None = None,
) -> np.ndarray:
    """uint8 (S, S, 3): ``base``'s band below ``sigma`` plus ``detail``'s above it; both are
    (S, S, 3) in [0, 255] at the same (model) resolution (``base`` already enlarged). ``sharpen``
    adds that much more of ``base``'s band between Gaussians of ``SHARPEN_BAND`` x sigma (1.5 and
    3 px at 128): the edges ``base`` places, at more contrast (a band-pass, so it leaves the
    finest detail as it is). ``remove_checkerboard`` takes the generator's periodic pattern out
    of ``detail``'s band (``checkerboard.periodic_pattern``, measured over 4 x sigma).
    ``reference`` (default: ``sigma``) is the sigma those two scale with when the split is
    moved on its own (a network that declares its own split, ``network.py``)."""
    detail = np.asarray(detail, np.float32)
    base = np.asarray(base, np.float32)
    if detail.shape != base.shape or detail.ndim != 3 or detail.shape[2] != 3:
        raise ValueError(f"detail and base must both be (S, S, 3); got {detail.shape} and {base.shape}")

    def low(x: np.ndarray, s: float = sigma) -> np.ndarray:
        return gaussian_filter(x, (s, s, 0), mode="nearest")

    ref = sigma if reference is None else reference
    high = detail - low(detail)  # (S, S, 3): the detail's band
    if remove_checkerboard:
        high = high - periodic_pattern(high, sigma=PATTERN_SIGMA * ref / BAND_SIGMA)
    out = low(base) + high  # (S, S, 3)
    if sharpen:
        inner, outer = (k * ref for k in SHARPEN_BAND)
        out += sharpen * (low(base, inner) - low(base, outer))  # (S, S, 3)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def base_fills(model, items, resolution: int, settings, cancel: threading.Event | None = None) -> np.ndarray:
    """float32 (N, R, R, 3): ``model``'s best fill for each (image, mask, window) item, all in
    one batched search, enlarged to ``resolution`` (the detail model's) for :func:`two_band`.
    Pixels beyond a photo's border are unknown, as in the framing search."""
    smalls = [to_model_padded(image, mask, window, model.resolution) for image, mask, window in items]
    result = search_batch(
        model,
        np.stack([s[0] for s in smalls]),  # (N, s, s, 3)
        np.stack([s[1] for s in smalls]),  # (N, s, s)
        settings,
        cancel,
        outside=np.stack([s[2] for s in smalls]),  # (N, s, s)
    )
    return np.stack([from_model(f, resolution) for f in result.best_fills])  # (N, R, R, 3)
