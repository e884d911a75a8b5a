"""The latent search of Yeh et al. (2017), as a Python generator of progress steps.

For a window y (model resolution) with known-pixel mask M (= ~mask), K restarts z_k are
optimised together with Adam to minimise, per restart,

    L(z) = || W * (G(z) - y) ||_1  +  lam * log(1 - D(G(z)))

where W = M ("plain", the paper's contextual loss) or the importance weights ("importance":
each known pixel weighted by the share of missing pixels in a window around it, 0 in the
hole), and log(1 - D) = -softplus(logit) is computed stably from D's logits. z starts from
U[-1, 1] and is clipped back into [-1, 1] after every step. The networks are frozen (eval
mode, no weight gradients): gradients flow only into z.

``latent_search`` yields a :class:`SearchStep` every few iterations (or seconds) with the
losses and fresh uint8 previews; stopping the iteration (or setting ``cancel``) ends the search
and the final step (``done=True``) carries the best z seen for every restart.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import uniform_filter

from inpaint_gui.core.devices import resolve_device
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.weights import LoadedModel, freeze

WEIGHTINGS = ("plain", "importance")


@dataclass(frozen=True)
class SearchSettings:
    iterations: int = 1500  # Adam steps on z (the paper's 1500)
    restarts: int = 8  # K latent vectors optimised together; the best is kept
    lam: float = 0.003  # weight of the perceptual term (the paper's lambda)
    lr: float = 0.01  # Adam learning rate on z
    beta1: float = 0.9  # Adam's beta1
    weighting: str = "importance"  # "plain" (W = M) or "importance"
    weight_window: int = 7  # side of the importance-weighting window (odd)
    seed: int = 0
    device: str = "auto"  # "auto", "cpu" or "cuda"
    preview_every: int = 25  # iterations between previews ...
    preview_seconds: float = 0.2  # ... or at most this long between them

    def validate(self) -> SearchSettings:
        if self.iterations < 0 or self.restarts < 1:
            raise ValueError("iterations must be >= 0 and restarts >= 1")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.weight_window < 1 or self.weight_window % 2 == 0:
            raise ValueError("weight_window must be a positive odd number")
        if self.lr <= 0 or not 0 <= self.beta1 < 1 or self.lam < 0:
            raise ValueError("lr must be > 0, beta1 in [0, 1), lam >= 0")
        return self


@dataclass
class SearchStep:
    iteration: int  # iterations done so far
    iterations: int  # iterations planned
    contextual: np.ndarray  # float64 (K,) at the latest iteration
    perceptual: np.ndarray  # float64 (K,) log(1 - D(G(z))), before the factor lam
    total: np.ndarray  # float64 (K,) contextual + lam * perceptual
    best: int  # index of the restart with the lowest total so far
    previews: np.ndarray | None  # uint8 (K, S, S, 3), a fresh array, or None
    elapsed: float  # seconds since the search started
    done: bool = False  # True on the last step, which always has previews
    latents: np.ndarray | None = None  # float32 (K, nz) best z per restart, on the last step
    cancelled: bool = False  # True if the search stopped before its planned iterations


def importance_weights(mask: np.ndarray, window: int = 7) -> np.ndarray:
    """float32 (S, S): for each known pixel, the share of missing pixels in the ``window`` x
    ``window`` neighbourhood around it (outside the image counts as known); 0 in the hole."""
    missing = mask.astype(np.float64)
    share = uniform_filter(missing, size=window, mode="constant", cval=0.0)  # mean over the window
    weights = np.where(mask, 0.0, share)
    return weights.astype(np.float32)


def context_weights(mask: np.ndarray, weighting: str, window: int = 7) -> np.ndarray:
    """W of the contextual loss: float32 (S, S), zero in the hole."""
    if weighting == "plain":
        return (~mask).astype(np.float32)
    if weighting == "importance":
        return importance_weights(mask, window)
    raise ValueError(f"unknown weighting {weighting!r}")


def image_to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (S, S, 3) -> float32 (1, 3, S, S) in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return t.permute(2, 0, 1)[None].float().div(127.5).sub(1.0)


def tensor_to_images(x: torch.Tensor) -> np.ndarray:
    """float (K, 3, S, S) in [-1, 1] -> uint8 (K, S, S, 3), a freshly allocated array."""
    x = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round_().to(torch.uint8)
    return np.array(x.permute(0, 2, 3, 1).cpu().numpy(), copy=True)


def check_inputs(model: LoadedModel, image: np.ndarray, mask: np.ndarray) -> None:
    s = model.config.resolution
    if image.shape != (s, s, 3) or image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 ({s}, {s}, 3), got {image.dtype} {image.shape}")
    if mask.shape != (s, s) or mask.dtype != bool:
        raise ValueError(f"mask must be bool ({s}, {s}), got {mask.dtype} {mask.shape}")
    if mask.all():
        raise MaskError("the hole covers the whole model window: there is nothing to condition on "
                        "(make the window larger than the hole)")


class _Objective:
    """Per-restart losses for B images x K restarts; D is skipped entirely when lam == 0."""

    def __init__(self, model: LoadedModel, target: torch.Tensor, weights: torch.Tensor, lam: float):
        self.g, self.d = model.generator, model.discriminator
        self.target = target[:, None]  # (B, 1, 3, S, S)
        self.weights = weights[:, None]  # (B, 1, 1, S, S)
        self.lam = lam

    def __call__(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        b = self.target.shape[0]
        fake = self.g(z)  # (B*K, 3, S, S), image-major
        fake_bk = fake.view(b, -1, *fake.shape[1:])  # (B, K, 3, S, S)
        contextual = (self.weights * (fake_bk - self.target)).abs().flatten(2).sum(2)  # (B, K)
        if self.lam > 0:
            perceptual = -F.softplus(self.d(fake)).view(b, -1)  # (B, K) log(1 - sigmoid(logit)), stable
        else:
            perceptual = torch.zeros_like(contextual)
        return fake, contextual, perceptual, contextual + self.lam * perceptual


class _Search:
    """State of one search over B images x K restarts: z, Adam, and the best z seen per restart."""

    def __init__(self, model: LoadedModel, images: np.ndarray, masks: np.ndarray, settings: SearchSettings):
        settings.validate()
        for image, mask in zip(images, masks):
            check_inputs(model, image, mask)
        self.device = device = resolve_device(settings.device)
        freeze(model)
        if model.device != device:
            model.to(device)
        self.settings = settings
        b, k, nz = len(images), settings.restarts, model.config.nz
        self.shape = (b, k)
        gen = torch.Generator(device="cpu").manual_seed(settings.seed)
        z = torch.stack([torch.rand(k, nz, generator=gen) for _ in range(b)]).view(b * k, nz) * 2 - 1  # U[-1, 1]
        self.z = z.to(device).requires_grad_(True)  # (B*K, nz)
        target = torch.cat([image_to_tensor(im, device) for im in images])  # (B, 3, S, S)
        w = np.stack([context_weights(m, settings.weighting, settings.weight_window) for m in masks])  # (B, S, S)
        self.objective = _Objective(model, target, torch.from_numpy(w).to(device)[:, None], settings.lam)
        self.optimizer = torch.optim.Adam([self.z], lr=settings.lr, betas=(settings.beta1, 0.999))
        self.best_total = torch.full((b, k), float("inf"), device=device)
        self.best_z = self.z.detach().clone()  # (B*K, nz)
        self.iteration = 0

    def step(self):
        """One Adam step on z; returns (fake (B*K, 3, S, S), contextual, perceptual, total (B, K)) of
        the z before the step, which is also the z recorded as best where it improved."""
        with torch.enable_grad():
            fake, contextual, perceptual, total = self.objective(self.z)
            self.optimizer.zero_grad(set_to_none=True)
            total.sum().backward()  # restarts are independent: the sum's gradient is per-z
        with torch.no_grad():
            total_d = total.detach()
            improved = total_d < self.best_total  # (B, K)
            self.best_total = torch.where(improved, total_d, self.best_total)
            flat = improved.flatten()
            self.best_z[flat] = self.z.detach()[flat]
            self.optimizer.step()
            self.z.clamp_(-1.0, 1.0)
        self.iteration += 1
        return fake, contextual, perceptual, total

    @torch.no_grad()
    def final(self):
        """(fake (B*K, 3, S, S), contextual, perceptual, total (B, K)) of the best z per restart."""
        return self.objective(self.best_z)


def latent_search(model: LoadedModel, image: np.ndarray, mask: np.ndarray, settings: SearchSettings = SearchSettings(),
                  cancel: threading.Event | None = None) -> Iterator[SearchStep]:
    """Optimise K latents for ``image`` (uint8 (S, S, 3)) with hole ``mask`` (bool (S, S)).

    Yields progress steps; the last one (``done=True``) holds previews and latents of the best
    z seen for each restart. Closing the generator or setting ``cancel`` stops it early.
    """
    search = _Search(model, image[None], mask[None], settings)
    start = last_preview = time.perf_counter()
    stopped = False
    try:
        while search.iteration < settings.iterations:
            if cancel is not None and cancel.is_set():
                stopped = True
                break
            fake, contextual, perceptual, total = search.step()
            now = time.perf_counter()
            it = search.iteration
            due = it % max(1, settings.preview_every) == 0 or now - last_preview >= settings.preview_seconds
            if due and it < settings.iterations:
                last_preview = now
                yield SearchStep(it, settings.iterations, _numpy(contextual[0]), _numpy(perceptual[0]), _numpy(total[0]),
                                 int(torch.argmin(search.best_total[0])), tensor_to_images(fake), now - start)
    except GeneratorExit:
        return  # the consumer closed us: nothing more may be yielded
    fake, contextual, perceptual, total = search.final()
    yield SearchStep(search.iteration, settings.iterations, _numpy(contextual[0]), _numpy(perceptual[0]),
                     _numpy(total[0]), int(torch.argmin(total[0])), tensor_to_images(fake), time.perf_counter() - start,
                     done=True, latents=search.best_z.float().cpu().numpy().copy(), cancelled=stopped)


@dataclass
class BatchResult:
    fills: np.ndarray  # uint8 (B, K, S, S, 3): G(best z) of every restart
    total: np.ndarray  # float64 (B, K)
    contextual: np.ndarray  # float64 (B, K)
    best: np.ndarray  # int (B,): the restart with the lowest total, per image
    iterations: int
    seconds: float

    @property
    def best_fills(self) -> np.ndarray:
        """uint8 (B, S, S, 3): the best restart's fill for each image."""
        return self.fills[np.arange(len(self.best)), self.best]


def search_batch(model: LoadedModel, images: np.ndarray, masks: np.ndarray, settings: SearchSettings = SearchSettings(),
                 cancel: threading.Event | None = None) -> BatchResult:
    """The same search for B images at once (B x K latents in one batch): for evaluation.

    images: uint8 (B, S, S, 3); masks: bool (B, S, S). Image b takes the b-th block of K draws
    from the seeded generator, so image 0 starts exactly as ``latent_search`` would; every z
    follows its own trajectory (Adam is element-wise), whatever the other images are.
    """
    start = time.perf_counter()
    search = _Search(model, images, masks, settings)
    while search.iteration < settings.iterations and not (cancel is not None and cancel.is_set()):
        search.step()
    fake, contextual, _, total = search.final()
    b, k = search.shape
    fills = tensor_to_images(fake).reshape(b, k, *fake.shape[2:], 3)
    return BatchResult(fills, _numpy(total), _numpy(contextual), _numpy(total).argmin(1), search.iteration,
                       time.perf_counter() - start)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy().copy()


def run_search(model: LoadedModel, image: np.ndarray, mask: np.ndarray, settings: SearchSettings = SearchSettings(),
               cancel: threading.Event | None = None) -> SearchStep:
    """Run the search to the end and return its final step."""
    last = None
    for last in latent_search(model, image, mask, replace(settings, preview_every=10**9, preview_seconds=float("inf")), cancel):
        pass
    assert last is not None and last.done
    return last
