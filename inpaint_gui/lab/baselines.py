"""Classical fills used as baselines for the learned inpainting.

- :func:`harmonic_fill`: the membrane (Laplace) fill, i.e. Poisson blending of a constant
  source; harmonic in the hole with the known pixels as boundary values.
- :func:`tv_fill`: total-variation inpainting (Chan & Shen 2001), minimising the vectorial
  TV of the image subject to the known pixels, by the primal-dual method of Chambolle & Pock
  (2011).

All take ``image`` uint8 (H, W, C) (or (H, W)) and ``mask`` bool (H, W), True = hole, and
return a new uint8 image whose pixels outside the hole are bit-identical to the input.
"""

from __future__ import annotations

import numpy as np

from inpaint_gui.core.blend.poisson import poisson_blend
from inpaint_gui.core.errors import MaskError

__all__ = ["harmonic_fill", "tv_fill"]


def harmonic_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Laplace (membrane) fill of the hole: Poisson blending with a constant source."""
    source = np.broadcast_to(np.float32(0.0), np.shape(image))
    return poisson_blend(image, source, mask)


def tv_fill(
    image: np.ndarray,
    mask: np.ndarray,
    iterations: int = 500,
    *,
    init: np.ndarray | None = None,
) -> np.ndarray:
    """TV inpainting: minimise sum_p |grad u|_p (coupled over channels) with u = image off the hole.

    Works on the hole's bounding box + 1 px (the rest of the image does not enter the energy).
    Primal-dual iterations (tau = sigma = 1/sqrt(8)) start from ``init`` (uint8 or float image;
    default: the harmonic fill). Forward differences, no flux across the box edges.
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError(f"image must be uint8 (H, W) or (H, W, C), got {img.dtype} {img.shape}")
    mask = np.asarray(mask)
    if mask.dtype != np.bool_ or mask.shape != img.shape[:2]:
        raise MaskError(f"mask must be bool with shape {img.shape[:2]}, got {mask.dtype} {mask.shape}")
    if iterations < 0:
        raise ValueError("iterations must be >= 0")
    out = img.copy()
    if not mask.any():
        return out
    start = harmonic_fill(img, mask) if init is None else np.asarray(init)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1 = max(int(rows[0]) - 1, 0), min(int(rows[-1]) + 2, mask.shape[0])
    x0, x1 = max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, mask.shape[1])
    hole = mask[y0:y1, x0:x1]
    fixed = img[y0:y1, x0:x1].astype(np.float32)
    u = start[y0:y1, x0:x1].astype(np.float32)
    if u.ndim == 2:
        u, fixed = u[..., None], fixed[..., None]
    u = np.where(hole[..., None], u, fixed)  # (h, w, C)
    u = _tv_iterate(u, hole, iterations)
    box = out[y0:y1, x0:x1]
    vals = np.clip(np.rint(u), 0, 255).astype(np.uint8)
    if box.ndim == 2:
        vals = vals[..., 0]
    box[hole] = vals[hole]
    return out


def _tv_iterate(u: np.ndarray, hole: np.ndarray, iterations: int) -> np.ndarray:
    """Chambolle-Pock on (h, w, C) float32 ``u``; only ``hole`` pixels change."""
    tau = sigma = np.float32(1.0 / np.sqrt(8.0))
    free = hole[..., None]
    px = np.zeros_like(u)  # dual variable: x and y components of the field, (h, w, C)
    py = np.zeros_like(u)
    ubar = u.copy()
    gx = np.empty_like(u)
    gy = np.empty_like(u)
    div = np.empty_like(u)
    for _ in range(iterations):
        # p <- proj_{|p| <= 1}(p + sigma * grad ubar), |.| over both components and channels
        gx[:, :-1] = ubar[:, 1:] - ubar[:, :-1]
        gx[:, -1] = 0
        gy[:-1] = ubar[1:] - ubar[:-1]
        gy[-1] = 0
        px += sigma * gx
        py += sigma * gy
        norm = np.sqrt((px * px + py * py).sum(axis=2, keepdims=True))
        np.maximum(norm, 1.0, out=norm)
        px /= norm
        py /= norm
        # u <- u + tau * div p on the hole (div = -grad^T), the known pixels stay fixed
        # (the last column of px and the last row of py stay 0)
        np.copyto(div, px)
        div[:, 1:] -= px[:, :-1]
        div += py
        div[1:] -= py[:-1]
        u_new = np.where(free, u + tau * div, u)
        np.subtract(2 * u_new, u, out=ubar)
        u = u_new
    return u
