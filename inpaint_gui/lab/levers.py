"""Levers on the face prior that were measured and not shipped (issue 23; docs/experiments.md).

Each works on a search's result (the best z of a window) or on the model itself, and
``tools/levers.py`` measures it on validation faces against the search alone:

- :func:`recompute_batchnorm`: G's BatchNorm statistics recomputed from many z (the search runs
  G in eval mode with the running statistics of training).
- :func:`fit_prior`: after the search, tune a copy of G's weights on the known pixels, shallow
  blocks first, with a discriminator-feature loss and a small learning rate (Pan et al.,
  "Exploiting Deep Generative Prior", 2020; Roich et al., pivotal tuning, 2021). A generator of
  :class:`FitStep` like the search: previews, and ``cancel`` keeps the best so far.
- :func:`feature_search`: optimise z and an intermediate feature map of G together, the map kept
  near what the earlier layers make of z (Park et al., "Generator Surgery"; Daras et al., ILO).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from inpaint_gui.core.engines.gan.nets import fold_batchnorm
from inpaint_gui.core.engines.gan.search import context_weights, image_to_tensor, tensor_to_images
from inpaint_gui.core.engines.gan.weights import LoadedModel


@torch.no_grad()
def recompute_batchnorm(model: LoadedModel, samples: int = 16384, batch: int = 256, seed: int = 0) -> dict:
    """G's state dict with every BatchNorm's running mean and variance replaced by the
    statistics of ``samples`` z ~ U[-1, 1] (a cumulative average over batches); the model
    itself is left as it was."""
    g = model.generator
    state = {k: v.clone() for k, v in g.state_dict().items()}
    bns = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [(m.momentum, m.training) for m in bns]
    gen = torch.Generator().manual_seed(seed)
    try:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average
            m.train()
        for _ in range(max(1, samples // batch)):
            g(torch.rand(batch, model.config.nz, generator=gen) * 2 - 1)
        out = {k: v.clone() for k, v in g.state_dict().items()}
    finally:
        g.load_state_dict(state)
        for m, (momentum, training) in zip(bns, saved):
            m.momentum = momentum
            m.train(training)
    return out


@dataclass
class FitStep:
    iteration: int  # tuning steps done
    iterations: int  # tuning steps planned
    loss: float  # the known pixels' loss at the latest step
    fill: np.ndarray  # uint8 (S, S, 3): G's output at the latest step; on the last step the best one
    elapsed: float
    free: int = 0  # how many of G's first blocks are being tuned
    done: bool = False
    cancelled: bool = False


def _blocks(g: nn.Sequential) -> list[list[nn.Module]]:
    """G's (folded) layers grouped by block: each transposed convolution with what follows it."""
    blocks: list[list[nn.Module]] = []
    for mod in g:
        if isinstance(mod, nn.ConvTranspose2d) or not blocks:
            blocks.append([])
        blocks[-1].append(mod)
    return blocks


def _d_features(d: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """D's activations after each of its nonlinearities."""
    out = []
    for mod in d:
        x = mod(x)
        if isinstance(mod, nn.LeakyReLU):
            out.append(x)
    return out


def stage_schedule(steps: int, n_blocks: int, stages: int) -> list[int]:
    """For each step, how many of G's first blocks are tuned: ``stages`` equal stretches freeing
    one more block each, the block next to z first."""
    stages = max(1, min(stages, n_blocks))
    return [min(stages, 1 + (t * stages) // max(1, steps)) for t in range(steps)]


def fit_weights(mask: np.ndarray, outside: np.ndarray | None, plain: float, ring: float, window: int) -> np.ndarray:
    """float32 (S, S): every known pixel at ``plain`` plus ``ring`` times the search's importance
    weights over 0.5 (the ring around the hole, as the search sees it)."""
    known = ~mask if outside is None else ~(mask | outside)
    w = known.astype(np.float32) * plain
    if ring:
        w = w + ring * context_weights(mask, "importance", window, outside) / 0.5
    return w


def fit_prior(
    model: LoadedModel,
    image: np.ndarray,
    mask: np.ndarray,
    z: np.ndarray,
    steps: int = 40,
    lr: float = 2e-4,
    feature: float = 0.1,
    stages: int = 4,
    plain: float = 1.0,
    ring: float = 0.0,
    weight_window: int = 7,
    outside: np.ndarray | None = None,
    cancel: threading.Event | None = None,
    preview_seconds: float = 0.2,
) -> Iterator[FitStep]:
    """Tune a copy of G on ``image``'s known pixels (uint8 (S, S, 3); ``mask`` bool (S, S), True
    in the hole) from the latent ``z`` (nz,) for ``steps`` Adam steps; yields previews, and last
    the best fill by the loss (``cancel``: the best so far)."""
    start = time.perf_counter()
    g = fold_batchnorm(model.generator.main)  # private copies: the model is untouched
    d = fold_batchnorm(model.discriminator.main)
    blocks = _blocks(g)
    schedule = stage_schedule(steps, len(blocks), stages)
    w = fit_weights(mask, outside, plain, ring, weight_window)
    m = torch.from_numpy(w)[None, None]  # (1, 1, S, S)
    y = image_to_tensor(image, torch.device("cpu"))  # (1, 3, S, S)
    zt = torch.from_numpy(np.asarray(z, np.float32)).view(1, -1, 1, 1)
    n_seen = float((m > 0).sum()) * 3
    with torch.no_grad():
        target = _d_features(d, y * m)
    block_params = [[p for mod in block for p in mod.parameters()] for block in blocks]
    for ps in block_params:
        for p in ps:
            p.requires_grad_(True)
    opt = torch.optim.Adam([p for ps in block_params for p in ps], lr=lr)

    def loss_of(out: torch.Tensor) -> torch.Tensor:
        pixel = (m * (out - y)).abs().sum() / n_seen
        if feature <= 0:
            return pixel
        return pixel + feature * sum((a - b).abs().mean() for a, b in zip(_d_features(d, out * m), target))

    with torch.no_grad():
        best_out = g(zt)
        best = float(loss_of(best_out))
    done, cancelled, last_preview = 0, False, time.perf_counter()
    for t in range(steps):
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        for i, ps in enumerate(block_params):
            for p in ps:
                p.requires_grad_(i < schedule[t])
        opt.zero_grad(set_to_none=True)
        out = g(zt)
        objective = loss_of(out)
        loss = float(objective.detach())
        if loss < best:  # the weights before this step
            best, best_out = loss, out.detach()
        objective.backward()
        opt.step()
        done = t + 1
        now = time.perf_counter()
        if done < steps and now - last_preview >= preview_seconds:
            last_preview = now
            yield FitStep(done, steps, loss, tensor_to_images(out)[0], now - start, schedule[t])
    if done:  # the weights after the last step
        with torch.no_grad():
            out = g(zt)
            final = float(loss_of(out))
        if final < best:
            best, best_out = final, out
    yield FitStep(
        done,
        steps,
        best,
        tensor_to_images(best_out)[0],
        time.perf_counter() - start,
        schedule[done - 1] if done else 0,
        done=True,
        cancelled=cancelled,
    )


def _cut(g: nn.Sequential, k: int) -> tuple[nn.Sequential, nn.Sequential]:
    """G split after its ``k``-th ReLU: (the layers up to the feature map, the rest)."""
    seen = 0
    for i, mod in enumerate(g):
        if isinstance(mod, nn.ReLU):
            seen += 1
            if seen == k:
                return nn.Sequential(*list(g)[: i + 1]), nn.Sequential(*list(g)[i + 1 :])
    raise ValueError(f"G has fewer than {k} ReLUs")


def feature_search(
    model: LoadedModel,
    image: np.ndarray,
    mask: np.ndarray,
    z: np.ndarray,
    layer: int = 2,
    steps: int = 60,
    lr: float = 0.01,
    z_lr: float = 0.01,
    beta: float = 1.0,
    lam: float = 0.003,
    plain: float = 0.0,
    weight_window: int = 7,
) -> tuple[np.ndarray, float]:
    """From the search's ``z``, optimise z and G's feature map after block ``layer`` (8x8 at 2)
    together on the search's loss (importance weights, plus ``plain`` on every known pixel),
    with ``beta`` times the squared distance of the map from what the earlier layers make of z.
    (the best fill, uint8 (S, S, 3), and its loss)."""
    g1, g2 = _cut(fold_batchnorm(model.generator.main), layer)
    d = fold_batchnorm(model.discriminator.main)
    w = context_weights(mask, "importance", weight_window) + plain * (~mask)
    m = torch.from_numpy(w.astype(np.float32))[None, None]
    y = image_to_tensor(image, torch.device("cpu"))
    zt = torch.from_numpy(np.asarray(z, np.float32)).view(1, -1, 1, 1).clone().requires_grad_(True)
    with torch.no_grad():
        h = g1(zt).clone()
    h.requires_grad_(True)
    opt = torch.optim.Adam([{"params": [zt], "lr": z_lr}, {"params": [h], "lr": lr}])
    best, best_out = float("inf"), None
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        out = g2(h)
        fit = (m * (out - y)).abs().sum() - lam * F.softplus(d(out)).sum()
        if float(fit.detach()) < best:
            best, best_out = float(fit.detach()), out.detach()
        (fit + beta * ((h - g1(zt)) ** 2).sum()).backward()
        opt.step()
        with torch.no_grad():
            zt.clamp_(-1.0, 1.0)
    return tensor_to_images(best_out)[0], best
