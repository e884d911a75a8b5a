"""The face engine's settings and the Adam step sizes they imply.

``SearchSettings`` is declared once (``core.settings``): the CLI flags, the settings dock and
QSettings follow from its fields. The tuned defaults are explained in ``search.py`` and the
README ("Tuning the search").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inpaint_gui.core.settings import check, setting

PRECISIONS = ("float32", "tf32", "bfloat16")
WEIGHTINGS = ("plain", "importance")
LR_SCHEDULES = ("constant", "cosine")
LOW_BANDS = ("auto", "network", "prior", "off")
STARTS = ("auto", "encoder", "random")
CHECKERBOARDS = ("remove", "keep")
BETA2 = 0.999  # Adam's second-moment decay (torch's default)
MAX_RESTARTS = 512  # a hard cap; memory bounds it further (see ``memory.check_memory``)


@dataclass(frozen=True)
class SearchSettings:
    """The face engine's settings (see ``core.settings``: declared once for CLI, dock, QSettings)."""

    model: str = setting(
        "auto",
        "the face model: a name in weights/ or a model folder (auto: the shipped one that fits the window)",
        metavar="NAME",
    )
    framing: str = setting(
        "auto",
        "how the model window is chosen: auto (a framing search: the face check proposes windows over "
        "scale and position, the contextual loss picks) or fixed (the hole plus half its extent of context, "
        "or --window)",
        choices=("auto", "fixed"),
        label="Framing",
    )
    low_band: str = setting(
        "auto",
        "the fill's low frequencies: network (the feed-forward network's one pass of the same window, see "
        "--network), prior (celeba64's search of it, for 128x128 models), auto (the network where it can "
        "fill the hole, else the prior), off (the search's fill alone)",
        choices=LOW_BANDS,
        label="Low band",
    )
    network: str = setting(
        "auto",
        "the feed-forward network(s) shown before the search starts, kept as a candidate and giving the low "
        "band: a name in weights/ or a model folder, several joined by + (each fills the window and its "
        "mirror; the fills are averaged) (auto: pggan64 under the shipped 64 and 128 px priors, else "
        "ce128+pggan128, those installed; none: no network)",
        metavar="NAME",
        label="Network",
    )
    sharpen: float = setting(
        1.5,
        "how much more of the network's band between Gaussians of 1.5 and 3 px (at 128) the fill gets: "
        "the network's fill is soft where it is unsure of an edge; this gives its edges contrast "
        "(0: its low band as it is; only with the network's low band, see --low-band; a network may declare "
        "that its edges take a share of it: pggan64, trained on SSIM, 2/3 under the 64 px prior)",
        minimum=0.0,
        maximum=5.0,
        step=0.25,
        label="Sharpen",
    )
    checkerboard: str = setting(
        "remove",
        "the generator's checkerboard (a grid of 2 and 4 px its strided upsampling draws) in the search's "
        "detail: remove (each phase of a 4x4 pixel grid brought to its neighbourhood's mean) or keep; "
        "with a low band only (see --low-band)",
        choices=CHECKERBOARDS,
        label="Checkerboard",
    )
    start: str = setting(
        "auto",
        "where the search starts: encoder (one restart at the prior's learned start, weights/<prior>-encoder, "
        "the others at the best random draws), random (the best of init-samples x restarts random draws), "
        "auto (the encoder where the prior has one installed)",
        choices=STARTS,
        label="Start",
    )
    iterations: int = setting(
        20,
        "the most Adam steps on z an image gets (the paper runs 1500; from the prior's learned start "
        "20 fill as well as 50 from random draws, see --start)",
        minimum=0,
        maximum=1_000_000_000,
        step=100,
        label="Iterations",
    )
    restarts: int = setting(
        2, "latent vectors optimised together; the best is kept", minimum=1, maximum=MAX_RESTARTS, label="Restarts"
    )
    lam: float = setting(
        0.003,
        "λ: weight of the perceptual term log(1 - D(G(z)))",
        minimum=0.0,
        maximum=100.0,
        step=0.001,
        label="λ (perceptual)",
    )
    lr: float = setting(
        0.1,
        "learning rate of Adam on z (the start of the schedule)",
        minimum=0.0,
        exclusive_minimum=True,
        maximum=10.0,
        step=0.005,
        label="Learning rate",
    )
    beta1: float = setting(0.9, "Adam's beta1", minimum=0.0, maximum=0.999)
    lr_schedule: str = setting(
        "constant",
        "learning-rate schedule over the iterations: constant, or cosine down to lr x lr-final",
        choices=LR_SCHEDULES,
    )
    lr_final: float = setting(
        0.1,
        "the cosine schedule's last learning rate, as a fraction of lr",
        minimum=0.0,
        exclusive_minimum=True,
        maximum=1.0,
    )
    weighting: str = setting(
        "importance",
        "contextual loss weights: plain (W = M), or known pixels weighted by the share of missing pixels around them",
        choices=WEIGHTINGS,
        label="Weighting",
    )
    weight_window: int = setting(
        7,
        "side of the importance-weighting window (odd)",
        minimum=1,
        maximum=63,
        odd=True,
        step=2,
        label="Weight window",
    )
    init_samples: int = setting(
        16,
        "start from the best RESTARTS of INIT_SAMPLES x RESTARTS random z (1 = plain draws)",
        minimum=1,
        maximum=4096,
    )
    stop_patience: int = setting(
        50,
        "stop an image after this many iterations without improvement of its best "
        "loss by more than stop-tolerance (0 = never)",
        minimum=0,
        maximum=100_000,
        step=10,
        special="never",
        suffix=" iterations",
        label="Stop when flat for",
    )
    stop_tolerance: float = setting(
        0.01, "the relative improvement that counts for stop-patience", minimum=0.0, maximum=1.0
    )
    precision: str = setting(
        "float32", "float32 (strict, also on CUDA), tf32 (CUDA convolutions) or bfloat16", choices=PRECISIONS
    )
    # internal: set by the pipeline or the program, not by the user
    seed: int = 0
    device: str = "auto"  # "auto", "cpu" or "cuda"
    preview_every: int = 25  # iterations between previews ...
    preview_seconds: float = 0.2  # ... or at most this long between them
    fuse: bool = True  # BatchNorm folded into the convolutions, channels-last layout
    compile: bool = False  # torch.compile the networks (slow to start; no gain measured on CPU)
    cuda_graph: bool = True  # on CUDA, replay each step as one captured CUDA graph
    grey: bool = False  # the photo is greyscale: the contextual loss compares luminance
    framing_prior: bool = True  # the face check proposes the framings (off: the coarse grid; see framing.py)
    photo_framing: bool = True  # an aligned crop is searched in the photo itself (framing.with_photo; off: as before)

    def validate(self) -> SearchSettings:
        """``self`` if every setting is in range (SettingsError, a ValueError, otherwise)."""
        return check(self)


def lr_at(settings: SearchSettings, t: np.ndarray) -> np.ndarray:
    """The learning rate of Adam step ``t`` (1-based, float64 array)."""
    if settings.lr_schedule == "constant":
        return np.full(t.shape, settings.lr)
    f, total = settings.lr_final, max(1, settings.iterations - 1)
    return settings.lr * (f + (1 - f) * 0.5 * (1 + np.cos(np.pi * np.minimum(t - 1, total) / total)))


def adam_schedule(settings: SearchSettings, first: int, count: int) -> np.ndarray:
    """float64 (count, 2): for Adam steps t = first .. first + count - 1 (1-based), the step size
    lr_t / (1 - beta1^t) and sqrt(1 - beta2^t), as torch's Adam computes them."""
    t = np.arange(first, first + count, dtype=np.float64)
    return np.stack([lr_at(settings, t) / (1 - settings.beta1**t), np.sqrt(1 - BETA2**t)], axis=1)
