"""The face engine's feed-forward companion: a network's one pass before and under the search.

A Context Encoder (or PGGAN) trained on the same faces fills a window in milliseconds where the
latent search takes a second or more; their errors differ: the network's fill fits the context
closely but is soft, the prior's is sharp but its features land less well (docs/feedforward.md).
The face engine uses the network three ways:

- **first preview**: before the search's first iteration the canvas shows the network's fill of
  the first framing (the framer's consensus, or the window);
- **a candidate**: the network's fill of the chosen framing stays beside the search's;
- **the low band** (``low_band`` "network", and "auto" where the network can fill the hole): the
  search's candidates keep their detail over the network's low frequencies
  (``twoband.two_band``), in place of a second search with celeba64 (the "prior" low band).

Every function here takes windows in photo pixels that may hang past the photo (framings do);
the network sees the photo's edge repeated there (``feedforward.fill.window_input``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inpaint_gui.core.engines.feedforward.fill import predict_windows, unfillable, window_input
from inpaint_gui.core.engines.gan.resample import from_model
from inpaint_gui.core.engines.gan.twoband import BAND_SIGMA, two_band
from inpaint_gui.core.engines.gan.windows import Window

DEFAULT_NETWORK = "ce128"  # "auto": the shipped Context Encoder


@dataclass
class NetworkFill:
    """The network's fill of one window: float32 (R, R, 3) in [0, 255] at the network's
    resolution R, the window's own pixels outside the network's output."""

    window: Window
    pixels: np.ndarray
    name: str

    def at(self, resolution: int) -> np.ndarray:
        """The fill resized to ``resolution`` (a model's), float32 (S, S, 3)."""
        r = self.pixels.shape[0]
        return self.pixels if r == resolution else from_model(self.pixels, resolution)

    def thumbnail(self, resolution: int, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """uint8 (S, S, 3) at ``resolution``: the window with the network's pixels in the hole."""
        small, hole = window_input(image, mask, self.window, resolution)
        fill = self.at(resolution)
        return np.clip(np.rint(np.where(hole[..., None], fill, small)), 0, 255).astype(np.uint8)


def network_name(setting: str) -> str | None:
    """The network a ``network`` setting names: "auto" -> ``DEFAULT_NETWORK``, "none" -> None."""
    if setting == "none":
        return None
    return DEFAULT_NETWORK if setting == "auto" else setting


def network_fill(net, image: np.ndarray, mask: np.ndarray, window: Window) -> NetworkFill | None:
    """One pass of ``net`` (a feedforward ``LoadedNet``) over ``window``; None when the network
    cannot fill the hole there (the Context Encoder's block) or it holds none."""
    small, hole = window_input(image, mask, window, net.resolution)
    if not hole.any() or unfillable(net, hole) is not None:
        return None
    pixels = predict_windows(net, small[None], hole[None])[0]  # (R, R, 3)
    return NetworkFill(tuple(window), pixels, net.name)


def network_low_band(detail: np.ndarray, fill: NetworkFill) -> np.ndarray:
    """uint8 (S, S, 3): the search's ``detail`` (S, S, 3) above ``BAND_SIGMA`` (in pixels of a
    128 model, scaled to S) over the network's fill below it."""
    s = detail.shape[0]
    return two_band(detail, fill.at(s), BAND_SIGMA * s / 128)
