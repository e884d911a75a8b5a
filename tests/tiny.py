"""Tiny randomly initialised models for tests (until and beside the shipped weights).

DCGAN's N(0, 0.02) initialisation makes an untrained G output almost the same flat grey for
every z, which is useless for testing a search; He-initialised weights give varied images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from inpaint_gui.core.engines.gan.models import DCGANConfig, build_models
from inpaint_gui.core.engines.gan.search import SearchStep, latent_search
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.gan.weights import LoadedModel, freeze, save_model


def model_from_modules(generator, discriminator, name: str = "in-memory", mean_face=None) -> LoadedModel:
    """Networks built in memory, wrapped as a frozen LoadedModel (as the loader returns them)."""
    model = LoadedModel(name, None, generator.config, generator, discriminator, {"name": name}, mean_face)
    return freeze(model)


def run_search(model, image, mask, settings: SearchSettings = SearchSettings(), cancel=None) -> SearchStep:
    """The latent search run to the end: its final step (no previews)."""
    from dataclasses import replace

    last = None
    for step in latent_search(
        model, image, mask, replace(settings, preview_every=10**9, preview_seconds=float("inf")), cancel
    ):
        last = step
    assert last is not None and last.done
    return last


def tiny_model(resolution: int = 32, nz: int = 16, width: int = 8, seed: int = 0) -> LoadedModel:
    config = DCGANConfig(resolution=resolution, nz=nz, ngf=width, ndf=width)
    g, d = build_models(config, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for net in (g, d):
            for m in net.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        last = g.main[-2]  # the final ConvTranspose2d, before tanh
        with torch.no_grad():
            g.eval()
            probe = g(torch.rand(16, nz) * 2 - 1)  # (16, 3, S, S)
            last.weight.mul_(0.6 / probe.std().clamp_min(1e-6))  # spread outputs over [-1, 1]
    return model_from_modules(g, d, name=f"tiny{resolution}")


def save_tiny_model(folder: Path) -> Path:
    """A tiny 32x32 model saved as a model folder the loader (and ``--model``) accepts."""
    m = tiny_model(resolution=32, nz=16, width=8)
    return save_model(folder, m.generator, m.discriminator, {"name": "tiny"})


def write_random_images(folder: Path, n: int, shape: tuple[int, int] = (40, 40), seed: int = 0) -> Path:
    """``n`` noise PNGs named 0.png, 1.png, ... of ``shape`` (H, W) in a new ``folder``."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (*shape, 3)).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def fix_face_check(monkeypatch, p: float) -> None:
    """Make the face engine's face check answer ``p`` for every region it judges for ``auto``."""
    from inpaint_gui.core.engines.gan import planning

    monkeypatch.setattr(planning, "face_probability", lambda check, image, mask, region: p)
    monkeypatch.setattr(planning, "at_the_framing", lambda engine, check, image, mask, region, p: p)
