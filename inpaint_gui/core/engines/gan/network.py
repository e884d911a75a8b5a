"""The face engine's feed-forward companion: the networks' pass before and under the search.

A Context Encoder and a PGGAN trained on the same faces fill a window in milliseconds where the
latent search takes a second or more; their errors differ: a network's fill fits the context
closely but is soft, the prior's is sharp but its features land less well (docs/feedforward.md).
The face engine's "network" is one network or several (``pggan64`` by default under the shipped
priors, ``ce128+pggan128`` where it is absent): each fills the window and its mirror image, and
the fill is the mean of every pass of every network that can fill the hole there (docs/feedforward.md,
"Both networks" and "A network for 64x64 photos"). The face engine uses the network's fill three ways:

- **first preview**: before the search's first iteration the canvas shows the network's fill of
  the first framing (the framer's consensus, or the window);
- **a candidate**: the network's fill of the chosen framing stays beside the search's;
- **the low band** (``low_band`` "network", and "auto" where the network can fill the hole): the
  search's candidates keep their detail over the network's low frequencies
  (``twoband.two_band``), in place of a second search with celeba64 (the "prior" low band),
  and the networks' edges at more contrast (``sharpen``: their fill is soft where they are
  unsure; giving its 1.5-3 px band back 1.5x more cost 0.07 dB on face-part and 64x64 holes and
  0.33 on 128 central ones for +0.08-0.12 of sharpness, docs/feedforward.md, "Sharpening").

Every function here takes windows in photo pixels that may hang past the photo (framings do);
the network sees the photo's edge repeated there (``feedforward.fill.window_input``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inpaint_gui.core.engines.feedforward.fill import predict_mirrored, unfillable, window_input
from inpaint_gui.core.engines.gan.resample import from_model
from inpaint_gui.core.engines.gan.twoband import BAND_SIGMA, two_band
from inpaint_gui.core.engines.gan.windows import Window

DEFAULT_NETWORKS = ("ce128", "pggan128")  # "auto" elsewhere: the Context Encoder and PGGAN, those installed
# "auto" for the windows a prior of this resolution fills (else DEFAULT_NETWORKS, and those too when
# none of these is installed): the network trained at 64 with SSIM in its loss, under both shipped
# priors (the 128 px prior's windows resized to 64 for it; docs/feedforward.md, "A network for 64x64
# photos": +0.25 dB and SSIM +0.012 over ce128+pggan128 held out on 128 central holes)
AUTO_NETWORKS = {64: ("pggan64",), 128: ("pggan64",)}
JOIN = "+"  # a network setting naming several: their fills are averaged


@dataclass
class NetworkFill:
    """The network's fill of one window: float32 (R, R, 3) in [0, 255] at the network's
    resolution R, the window's own pixels outside the network's output."""

    window: Window
    pixels: np.ndarray
    name: str
    band_sigma: float = BAND_SIGMA  # the split under the search's detail, px of a 128 model (declared_split)
    sharpen_scale: float = 1.0  # the share of the ``sharpen`` setting its edges take (declared_sharpening)

    def at(self, resolution: int) -> np.ndarray:
        """The fill resized to ``resolution`` (a model's), float32 (S, S, 3)."""
        r = self.pixels.shape[0]
        return self.pixels if r == resolution else from_model(self.pixels, resolution)

    def thumbnail(self, resolution: int, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """uint8 (S, S, 3) at ``resolution``: the window with the network's pixels in the hole."""
        small, hole = window_input(image, mask, self.window, resolution)
        fill = self.at(resolution)
        return np.clip(np.rint(np.where(hole[..., None], fill, small)), 0, 255).astype(np.uint8)


def network_names(setting: str, resolution: int | None = None) -> tuple[str, ...]:
    """The networks a ``network`` setting names: "auto" -> ``AUTO_NETWORKS`` for a prior of
    ``resolution``, else ``DEFAULT_NETWORKS``; "none" -> (); "a+b" -> ("a", "b"); anything else
    -> (itself,) (a name in weights/ or a folder)."""
    if setting == "none":
        return ()
    if setting == "auto":
        return AUTO_NETWORKS.get(resolution, DEFAULT_NETWORKS)
    return tuple(dict.fromkeys(part.strip() for part in setting.split(JOIN) if part.strip()))


def _declared(net, key: str, default: float, resolution: int | None) -> float:
    """A value the network's card declares for the face engine (``face_engine.<key>``; under a
    prior of ``resolution``, ``face_engine.by_prior_resolution["<resolution>"].<key>`` first),
    else ``default``. Loading checks the values (``feedforward.weights.read_card``)."""
    face = (getattr(net, "card", None) or {}).get("face_engine", {})
    per = {int(key): entry for key, entry in face.get("by_prior_resolution", {}).items()}  # "064" is 64
    at = per.get(resolution, {})
    return float(at.get(key, face.get(key, default)))


def declared_split(net, resolution: int | None = None) -> float:
    """The band split a network asks for under a prior of ``resolution``, in pixels of a 128
    model (``band_sigma``), else ``BAND_SIGMA``. A network trained on SSIM draws features the
    L1-trained ones leave soft, so more of its fill stays under the search's detail; how much
    depends on the prior's resolution: under the 128 px prior ``pggan64``'s fill is enlarged and
    has none of the finest detail (``pggan64``: 0.85 under the 64 px prior, 1.5 under the 128 px
    one, docs/feedforward.md, "A network for 64x64 photos")."""
    return _declared(net, "band_sigma", BAND_SIGMA, resolution)


def declared_sharpening(net, resolution: int | None = None) -> float:
    """The share of the ``sharpen`` setting a network's edges take under a prior of
    ``resolution`` (``sharpen_scale``), else 1. The setting's 1.5 gives the L1-trained networks'
    soft edges their contrast back; a network trained on SSIM draws its edges at more contrast
    already, and at its own resolution the whole amount turns its brows and eyes into dark bars
    (``pggan64``: 2/3 under the 64 px prior, all of it under the 128 px one)."""
    return _declared(net, "sharpen_scale", 1.0, resolution)


def network_fill(
    nets: Sequence, image: np.ndarray, mask: np.ndarray, window: Window, resolution: int | None = None
) -> NetworkFill | None:
    """The networks' fill of ``window``: every network in ``nets`` (feedforward ``LoadedNet``s)
    that can fill the hole there fills the window and its mirror image, and the fill is the mean
    of those passes, at the first such network's resolution; its split is the largest any of
    them declares (``declared_split``), its sharpening the mean of theirs (``declared_sharpening``,
    as the fill is the mean of theirs), both for the prior of ``resolution`` the fill goes under.
    None when none can (the Context Encoder's block) or the window holds no hole."""
    passes, names, splits, scales = [], [], [], []
    for net in nets:
        small, hole = window_input(image, mask, window, net.resolution)
        if not hole.any() or unfillable(net, hole) is not None:
            continue
        one, mirrored = predict_mirrored(net, small[None], hole[None])  # (1, R, R, 3) each
        fill = (one[0] + mirrored[0]) / 2  # (R, R, 3)
        r = passes[0].shape[0] if passes else fill.shape[0]
        passes.append(fill if fill.shape[0] == r else from_model(fill, r))
        names.append(net.name)
        splits.append(declared_split(net, resolution))
        scales.append(declared_sharpening(net, resolution))
    if not passes:
        return None
    pixels = np.mean(passes, axis=0, dtype=np.float32)  # (R, R, 3)
    return NetworkFill(tuple(window), pixels, JOIN.join(names), max(splits), float(np.mean(scales)))


def network_low_band(
    detail: np.ndarray, fill: NetworkFill, sharpen: float = 0.0, remove_checkerboard: bool = False
) -> np.ndarray:
    """uint8 (S, S, 3): the search's ``detail`` (S, S, 3) above the fill's split (``BAND_SIGMA``
    or what the network declares, in pixels of a 128 model, scaled to S) over the network's fill
    below it, its edges sharpened by ``sharpen`` times the fill's ``sharpen_scale`` and, with
    ``remove_checkerboard``, the generator's checkerboard taken out of the detail
    (``twoband.two_band``; the settings ``sharpen`` and ``checkerboard``: their bands stay where
    they are at ``BAND_SIGMA``)."""
    s = detail.shape[0]
    scale = s / 128
    return two_band(
        detail,
        fill.at(s),
        fill.band_sigma * scale,
        sharpen * fill.sharpen_scale,
        remove_checkerboard,
        reference=BAND_SIGMA * scale,
    )
