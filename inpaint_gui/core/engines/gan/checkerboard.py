"""The generator's checkerboard: a fine periodic pattern in G(z) that no photo has.

A DCGAN upsamples with stride-2 transposed convolutions, whose kernels overlap unevenly, so its
outputs carry patterns that repeat every 2 and 4 pixels (Odena, Dumoulin & Olah, "Deconvolution
and Checkerboard Artifacts", Distill 2016). In the spectrum of the search's detail (val faces
1-40, 128 model) the diagonal 2-pixel and 4-pixel frequencies stand 690x and 96x above their
neighbours; in the truth's, 1.5x and 1.2x. The eye sees them as a grid over the skin.

:func:`periodic_pattern` estimates that pattern where it is: for each of the period x period
phases of the pixel grid, the Gaussian-weighted mean of the pixels of that phase around each
pixel, less the mean of all pixels there. Subtracting it removes the pattern (and any detail
that happens to repeat every ``period`` pixels over a whole neighbourhood: little, in a face)
and leaves the rest.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

PERIOD = 4  # the pattern's period in model pixels: covers the 2- and 4-pixel patterns
SIGMA = 8.0  # the neighbourhood the pattern is measured over, in pixels of a 128 model (4 at 64)


def periodic_pattern(x: np.ndarray, period: int = PERIOD, sigma: float = SIGMA) -> np.ndarray:
    """float32 (S, S, C): ``x``'s part (S, S, C) that repeats every ``period`` pixels, measured
    over a Gaussian neighbourhood of ``sigma`` pixels."""
    x = np.asarray(x, np.float32)
    local = gaussian_filter(x, (sigma, sigma, 0), mode="nearest")  # (S, S, C): the mean of all phases
    out = np.empty_like(x)
    s = sigma / period  # the same neighbourhood on one phase's subgrid
    for py in range(period):
        for px in range(period):
            phase = x[py::period, px::period]  # (S/period, S/period, C)
            mean = gaussian_filter(phase, (s, s, 0), mode="nearest")
            out[py::period, px::period] = mean - local[py::period, px::period]
    return out
