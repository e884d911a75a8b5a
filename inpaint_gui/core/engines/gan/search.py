"""The latent search of Yeh et al. (2017), as a Python generator of progress steps.

For a window y (model resolution) with known-pixel mask M (= ~mask), K restarts z_k are
optimised together with Adam to minimise, per restart,

    L(z) = || W * (G(z) - y) ||_1  +  lam * log(1 - D(G(z)))

where W = M ("plain", the paper's contextual loss) or the importance weights ("importance":
each known pixel weighted by the share of missing pixels in a window around it, 0 in the
hole), and log(1 - D) = -softplus(logit) is computed stably from D's logits. z starts from
U[-1, 1] and is clipped back into [-1, 1] after every step. The networks are frozen (eval
mode, no weight gradients): gradients flow only into z.

Time to result (all optional, see :class:`SearchSettings`): the K starting points can be the
best K of ``init_samples * K`` random draws by their initial loss; the learning rate can
follow a cosine schedule; an image stops early once its best loss has not improved by more
than ``stop_tolerance`` (relative) for ``stop_patience`` iterations.

Defaults, tuned on validation faces (``tools/tune.py``, docs/experiments.md): Adam at lr = 0.1
from the best K of 16 * K draws, K = 2 restarts, at most 50 iterations (the stopping rule, 1% in
50 iterations, only matters for longer searches). On 48 val faces a search of 50 iterations was
within 0.15 dB of 300 (64x64, central block; 128x128 parts: 0.1 dB), and 2 restarts within
0.05 dB of 4, at a sixth to a tenth of the compute (issue 23). Re-measure them for a new model.

Speed (see ``search_nets`` and ``bench``): BatchNorm folded into the convolutions,
channels-last layout, a hand-written Adam whose state can shrink when images of a batch stop,
and on CUDA each step replayed as one captured CUDA graph.

``latent_search`` yields a :class:`SearchStep` every few iterations (or seconds) with the
losses and fresh uint8 previews; stopping the iteration (or setting ``cancel``) ends the search
and the final step (``done=True``) carries the best z seen for every restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import uniform_filter

from inpaint_gui.core.devices import resolve_device
from inpaint_gui.core.engines.gan.memory import check_memory
from inpaint_gui.core.engines.gan.nets import search_nets
from inpaint_gui.core.engines.gan.settings import BETA2, SearchSettings, adam_schedule
from inpaint_gui.core.engines.gan.weights import LoadedModel, freeze
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.image.colour import LUMA

log = logging.getLogger(__name__)

EPS = 1e-8  # Adam's epsilon (torch's default)
INIT_CHUNK = 512  # rows per no-grad forward when scoring the initial draws
SCHEDULE_BLOCK = 1024  # Adam step sizes computed ahead, a block at a time
CUDA_STOP_CHECK = 16  # on CUDA, look at the stopping rule every this many iterations (a host sync)


@dataclass
class SearchStep:
    iteration: int  # iterations done so far
    iterations: int  # iterations planned (the most the search may run)
    contextual: np.ndarray  # float64 (K,) at the latest iteration
    perceptual: np.ndarray  # float64 (K,) log(1 - D(G(z))), before the factor lam
    total: np.ndarray  # float64 (K,) contextual + lam * perceptual
    best: int  # index of the restart with the lowest total so far
    previews: np.ndarray | None  # uint8 (K, S, S, 3), a fresh array, or None
    elapsed: float  # seconds since the search started
    done: bool = False  # True on the last step, which always has previews
    latents: np.ndarray | None = None  # float32 (K, nz) best z per restart, on the last step
    cancelled: bool = False  # True if the search stopped before its planned iterations
    stopped_early: bool = False  # True if the stopping rule ended it (``iteration`` < ``iterations``)


def importance_weights(mask: np.ndarray, window: int = 7) -> np.ndarray:
    """float32 (S, S): for each known pixel, the share of missing pixels in the ``window`` x
    ``window`` neighbourhood around it (outside the image counts as known); 0 in the hole."""
    missing = mask.astype(np.float64)
    share = uniform_filter(missing, size=window, mode="constant", cval=0.0)  # mean over the window
    weights = np.where(mask, 0.0, share)
    return weights.astype(np.float32)


def context_weights(mask: np.ndarray, weighting: str, window: int = 7, outside: np.ndarray | None = None) -> np.ndarray:
    """W of the contextual loss: float32 (S, S), zero in the hole and on ``outside`` pixels
    (beyond the photo's border: unknown, but no hole to weight the context around)."""
    if weighting == "plain":
        w = (~mask).astype(np.float32)
    elif weighting == "importance":
        w = importance_weights(mask, window)
    else:
        raise ValueError(f"unknown weighting {weighting!r}")
    if outside is not None:
        w[outside] = 0.0
    return w


def image_to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (S, S, 3) -> float32 (1, 3, S, S) in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return t.permute(2, 0, 1)[None].float().div(127.5).sub(1.0)


def tensor_to_images(x: torch.Tensor) -> np.ndarray:
    """float (K, 3, S, S) in [-1, 1] -> uint8 (K, S, S, 3), a freshly allocated array."""
    x = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round_().to(torch.uint8)
    return np.array(x.permute(0, 2, 3, 1).cpu().numpy(), copy=True)


def check_inputs(model: LoadedModel, image: np.ndarray, mask: np.ndarray, outside: np.ndarray | None = None) -> None:
    s = model.config.resolution
    if image.shape != (s, s, 3) or image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 ({s}, {s}, 3), got {image.dtype} {image.shape}")
    if mask.shape != (s, s) or mask.dtype != bool:
        raise ValueError(f"mask must be bool ({s}, {s}), got {mask.dtype} {mask.shape}")
    if outside is not None and (outside.shape != (s, s) or outside.dtype != bool):
        raise ValueError(f"outside must be bool ({s}, {s}), got {outside.dtype} {outside.shape}")
    if (mask if outside is None else mask | outside).all():
        raise MaskError(
            "the hole covers the whole model window: there is nothing to condition on "
            "(make the window larger than the hole)"
        )


@contextmanager
def _conv_precision(device: torch.device, precision: str):
    """On CUDA, TF32 convolutions only for ``precision="tf32"`` (strict float32 otherwise)."""
    if device.type != "cuda":
        yield
        return
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        old = conv.fp32_precision
        conv.fp32_precision = "tf32" if precision == "tf32" else "ieee"
        try:
            yield
        finally:
            conv.fp32_precision = old
    else:  # pragma: no cover - older torch
        old = torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32 = old


class Search:
    """State of one search over B images x K restarts: z, Adam, the best z seen per restart,
    and the stopping rule. Images that stop are retired (their best kept aside) and, unless
    the networks are compiled for a fixed batch, dropped from the batch that keeps running."""

    def __init__(
        self,
        model: LoadedModel,
        images: np.ndarray,
        masks: np.ndarray,
        settings: SearchSettings,
        outside: np.ndarray | None = None,
        encoder=None,
    ):
        settings.validate()
        if len(images) != len(masks) or len(images) == 0:
            raise ValueError("images and masks must be non-empty and of the same length")
        outside = [None] * len(masks) if outside is None else list(outside)
        for image, mask, out in zip(images, masks, outside):
            check_inputs(model, image, mask, out)
        self.device = device = resolve_device(settings.device)
        check_memory(model, len(images), settings)
        freeze(model)
        if model.device != device:
            model.to(device)
        self.settings = settings
        b, k, nz = len(images), settings.restarts, model.config.nz
        self.shape, self.nz, self.res = (b, k), nz, model.config.resolution
        self.nets = search_nets(
            model.generator, model.discriminator, device, settings.fuse, settings.precision, settings.compile
        )
        target = torch.cat([image_to_tensor(im, device) for im in images])  # (B, 3, S, S)
        w = np.stack(
            [context_weights(m, settings.weighting, settings.weight_window, o) for m, o in zip(masks, outside)]
        )  # (B, S, S)
        self.weight_sums = w.sum(axis=(1, 2)).astype(np.float64) * 3  # (B,): the contextual loss's total weight
        self._target = target.permute(0, 2, 3, 1)[:, None].contiguous()  # (B, 1, S, S, 3)
        self._luma = torch.tensor(LUMA, device=device) if settings.grey else None
        self._weights = torch.from_numpy(w).to(device)[:, None, :, :, None].contiguous()  # (B, 1, S, S, 1)
        start = time.perf_counter()
        z = self._initial_latents(torch.Generator(device="cpu").manual_seed(settings.seed))  # (B*K, nz)
        if encoder is not None:  # a learned start (encoder.py) in place of each image's last (worst) kept draw
            past = None if outside[0] is None else np.stack(outside)
            starts = torch.from_numpy(encoder.latents(np.stack(images), np.stack(masks), past)).to(device)  # (B, nz)
            z.view(b, k, nz)[:, -1] = starts.clamp(-1, 1)
        self.init_seconds = time.perf_counter() - start
        # results of retired images (and the starting point of all): full size, by image
        self._best_total_all = torch.full((b, k), float("inf"), device=device)
        self._best_z_all = z.clone()
        self.iterations_run = np.zeros(b, np.int64)  # per image
        self.stopped_early = np.zeros(b, bool)  # per image
        self.iteration = 0
        # the running batch: A images (rows image-major), their z, Adam moments and records
        self._images = np.arange(b)  # (A,) image index of each running block
        self._live = np.ones(b, bool)  # (A,) False once an image is retired
        self._z = z  # (A*K, nz)
        self._m, self._v = torch.zeros_like(z), torch.zeros_like(z)
        self._bt = self._best_total_all.clone()  # (A, K) best total per restart
        self._bz = z.clone()  # (A*K, nz) best z per restart
        self._tgt, self._wts = self._target, self._weights  # (A, 1, S, S, 3), (A, 1, S, S, 1)
        self._ref = torch.full((b,), float("inf"), device=device)  # (A,) best total at the last improvement
        self._since = torch.zeros(b, dtype=torch.long, device=device)  # (A,) iterations since then
        self._t = torch.zeros((), dtype=torch.long, device=device)  # row of the next step in _sched
        self._sched = torch.from_numpy(adam_schedule(settings, 1, SCHEDULE_BLOCK)).float().to(device)  # (BLOCK, 2)
        self._use_graph = device.type == "cuda" and settings.cuda_graph
        self._graph: torch.cuda.CUDAGraph | None = None
        self._graph_out: tuple | None = None
        self._warm = 0

    # -- the loss -------------------------------------------------------------------------
    def _objective(self, z: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, eager: bool = False):
        """(fake (N, 3, S, S), contextual, perceptual, total (A, N / A)) for z (N, nz) and A images;
        ``eager``: the uncompiled networks (for batch shapes met once)."""
        a, s = target.shape[0], self.res
        fake = self.nets.generate(z, eager)  # (N, 3, S, S)
        fake_hwc = fake.permute(0, 2, 3, 1).reshape(a, -1, s, s, 3)  # a view when channels-last
        if self._luma is not None:  # a greyscale photo: compare luminance (x 3, so lam keeps its meaning)
            contextual = 3 * (weights * ((fake_hwc * self._luma).sum(-1, keepdim=True) - target[..., :1])).abs().sum(
                (2, 3, 4)
            )
        else:
            contextual = (weights * (fake_hwc - target)).abs().sum((2, 3, 4))  # (A, K)
        if self.settings.lam > 0:
            perceptual = -F.softplus(self.nets.discriminate(fake, eager)).view(a, -1)  # log(1 - sigmoid(logit)), stable
        else:
            perceptual = torch.zeros_like(contextual)
        return fake, contextual, perceptual, contextual + self.settings.lam * perceptual

    @torch.no_grad()
    def _initial_latents(self, gen: torch.Generator) -> torch.Tensor:
        """(B*K, nz): image b takes the b-th block of init_samples*K draws from U[-1, 1] and keeps
        its K lowest-loss draws (all of them, in draw order, when init_samples == 1)."""
        (b, k), n = self.shape, self.settings.init_samples * self.shape[1]
        z = torch.empty(b, n, self.nz)  # (B, n, nz), filled one image at a time (no stacked copy)
        for i in range(b):
            z[i] = torch.rand(n, self.nz, generator=gen)
        z.mul_(2).sub_(1)
        if n == k:
            return z.view(b * k, self.nz).to(self.device)
        flat = z.view(b * n, self.nz)
        losses = torch.empty(b * n)
        with _conv_precision(self.device, self.settings.precision):
            for lo in range(0, b * n, INIT_CHUNK):
                rows = torch.arange(lo, min(lo + INIT_CHUNK, b * n))
                img = (rows // n).to(self.device)  # image of each row
                total = self._objective(flat[rows].to(self.device), self._target[img], self._weights[img], eager=True)[
                    3
                ]
                losses[rows] = total.view(-1).float().cpu()
        keep = torch.argsort(losses.view(b, n), dim=1, stable=True)[:, :k]  # (B, K), lowest first
        return torch.gather(z, 1, keep[..., None].expand(-1, -1, self.nz)).reshape(b * k, self.nz).to(self.device)

    # -- one step ----------------------------------------------------------------------------
    def _core(self):
        """One iteration on the running batch; every state update is in place (graph-capturable)."""
        s = self.settings
        with torch.enable_grad():
            z = self._z.detach().requires_grad_(True)
            fake, contextual, perceptual, total = self._objective(z, self._tgt, self._wts)
            (grad,) = torch.autograd.grad(total.sum(), z)  # restarts are independent: per-z gradients
        with torch.no_grad():
            total = total.detach()
            improved = total < self._bt  # (A, K)
            self._bt.copy_(torch.where(improved, total, self._bt))
            self._bz.copy_(torch.where(improved.view(-1, 1), self._z, self._bz))
            h = self._sched.index_select(0, self._t.view(1))[0]  # (2,) step size, sqrt(1 - beta2^t)
            self._t.add_(1)
            self._m.lerp_(grad, 1 - s.beta1)
            self._v.mul_(BETA2).addcmul_(grad, grad, value=1 - BETA2)
            denom = (self._v.sqrt() / h[1]).add_(EPS)
            self._z.sub_(self._m / denom * h[0]).clamp_(-1.0, 1.0)
            if s.stop_patience > 0:
                best = self._bt.min(1).values  # (A,)
                better = (best < self._ref - s.stop_tolerance * self._ref.abs()) | torch.isinf(self._ref)
                self._ref.copy_(torch.where(better, best, self._ref))
                self._since.copy_(torch.where(better, torch.zeros_like(self._since), self._since + 1))
        return fake, contextual, perceptual, total

    def _graph_core(self):
        """``_core`` as a CUDA graph: three eager warm-up steps on a side stream (they are real
        steps), then capture once and replay; falls back to eager steps if capturing fails."""
        if self._graph is not None:
            self._graph.replay()
            return self._graph_out
        if self._warm < 3:
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream):
                out = self._core()
            torch.cuda.current_stream(self.device).wait_stream(stream)
            self._warm += 1
            return out
        try:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = self._core()
        except RuntimeError as exc:  # pragma: no cover - depends on the GPU and driver
            log.warning("CUDA graph capture failed (%s); running eager steps", exc)
            self._use_graph = False
            return self._core()
        self._graph, self._graph_out = graph, out
        graph.replay()
        return out

    def step(self):
        """One Adam step on z for the running images; returns (fake (A*K, 3, S, S), contextual,
        perceptual, total (A, K)) of the z before the step (on CUDA graphs: buffers that the
        next step overwrites). Retires images that meet the stopping rule."""
        if self.iteration and self.iteration % SCHEDULE_BLOCK == 0:  # next block, in place (graph inputs)
            block = adam_schedule(self.settings, self.iteration + 1, SCHEDULE_BLOCK)
            self._sched.copy_(torch.from_numpy(block).float())
            self._t.zero_()
        with _conv_precision(self.device, self.settings.precision):
            out = self._graph_core() if self._use_graph else self._core()
        self.iteration += 1
        self.iterations_run[self._images[self._live]] += 1
        p = self.settings.stop_patience
        if p > 0 and (
            self.device.type != "cuda"
            or self.iteration % CUDA_STOP_CHECK == 0
            or self.iteration >= self.settings.iterations
        ):
            stop = (self._since >= p).cpu().numpy() & self._live
            if stop.any():
                self._retire(stop)
        return out

    @property
    def finished(self) -> bool:
        return self.iteration >= self.settings.iterations or not self._live.any()

    # -- bookkeeping ---------------------------------------------------------------------------
    def _store(self, which: np.ndarray) -> None:
        """Copy the records of running blocks ``which`` (bool (A,)) into the full-size results."""
        k = self.shape[1]
        blocks = torch.from_numpy(np.flatnonzero(which)).to(self.device)
        images = torch.from_numpy(self._images[which]).to(self.device)
        self._best_total_all[images] = self._bt[blocks]
        rows = (blocks[:, None] * k + torch.arange(k, device=self.device)).flatten()
        img_rows = (images[:, None] * k + torch.arange(k, device=self.device)).flatten()
        self._best_z_all[img_rows] = self._bz[rows]

    def prune(self, keep: np.ndarray) -> None:
        """Stop the running images where ``keep`` (bool, by image index (B,)) is False; their best
        z so far stays in the results (successive halving of framings)."""
        stop = self._live & ~keep[self._images]
        if stop.any():
            self._retire(stop, early=False)

    @property
    def running(self) -> np.ndarray:
        """Image indices (A,) of the rows of the running batch (``step``'s outputs are in this order)."""
        return self._images.copy()

    def _retire(self, stop: np.ndarray, early: bool = True) -> None:
        self._store(stop)
        self.stopped_early[self._images[stop]] = early
        self._live &= ~stop
        if self.settings.compile or not self._live.any():
            return  # a compiled batch keeps its shape: retired blocks run on, unrecorded
        keep = torch.from_numpy(np.flatnonzero(self._live)).to(self.device)
        rows = (keep[:, None] * self.shape[1] + torch.arange(self.shape[1], device=self.device)).flatten()
        self._images, self._live = self._images[self._live], self._live[self._live]
        self._z, self._m, self._v, self._bz = (t[rows].contiguous() for t in (self._z, self._m, self._v, self._bz))
        self._bt, self._ref, self._since = self._bt[keep], self._ref[keep], self._since[keep]
        self._tgt, self._wts = self._tgt[keep], self._wts[keep]
        self._graph, self._graph_out, self._warm = None, None, 0  # shapes changed: capture again

    @property
    def best_total(self) -> torch.Tensor:
        """(B, K) lowest total seen per restart."""
        out = self._best_total_all.clone()
        live = torch.from_numpy(np.flatnonzero(self._live)).to(self.device)
        out[torch.from_numpy(self._images[self._live]).to(self.device)] = self._bt[live]
        return out

    @property
    def best_z(self) -> torch.Tensor:
        """(B*K, nz) best z per restart."""
        self._store(self._live)
        return self._best_z_all.clone()

    @torch.no_grad()
    def final(self):
        """(fake (B*K, 3, S, S), contextual, perceptual, total (B, K)) of the best z per restart."""
        self._store(self._live)
        with _conv_precision(self.device, self.settings.precision):
            return self._objective(self._best_z_all, self._target, self._weights, eager=True)


def latent_search(
    model: LoadedModel,
    image: np.ndarray,
    mask: np.ndarray,
    settings: SearchSettings = SearchSettings(),
    cancel: threading.Event | None = None,
    encoder=None,
) -> Iterator[SearchStep]:
    """Optimise K latents for ``image`` (uint8 (S, S, 3)) with hole ``mask`` (bool (S, S)).

    Yields progress steps; the last one (``done=True``) holds previews and latents of the best
    z seen for each restart. Closing the generator or setting ``cancel`` stops it early.
    ``encoder`` (optional): the last restart starts at its z (a learned start).
    """
    start = time.perf_counter()
    search = Search(model, image[None], mask[None], settings, encoder=encoder)
    last_preview = time.perf_counter()
    stopped = False
    try:
        while not search.finished:
            if cancel is not None and cancel.is_set():
                stopped = True
                break
            fake, contextual, perceptual, total = search.step()
            now = time.perf_counter()
            it = search.iteration
            due = it % max(1, settings.preview_every) == 0 or now - last_preview >= settings.preview_seconds
            if due and not search.finished:
                last_preview = now
                yield SearchStep(
                    it,
                    settings.iterations,
                    _numpy(contextual[0]),
                    _numpy(perceptual[0]),
                    _numpy(total[0]),
                    int(torch.argmin(search.best_total[0])),
                    tensor_to_images(fake),
                    now - start,
                )
    except GeneratorExit:
        return  # the consumer closed us: nothing more may be yielded
    fake, contextual, perceptual, total = search.final()
    yield SearchStep(
        search.iteration,
        settings.iterations,
        _numpy(contextual[0]),
        _numpy(perceptual[0]),
        _numpy(total[0]),
        int(torch.argmin(total[0])),
        tensor_to_images(fake),
        time.perf_counter() - start,
        done=True,
        latents=search.best_z.float().cpu().numpy().copy(),
        cancelled=stopped,
        stopped_early=bool(search.stopped_early[0]),
    )


@dataclass
class BatchResult:
    fills: np.ndarray  # uint8 (B, K, S, S, 3): G(best z) of every restart
    total: np.ndarray  # float64 (B, K)
    contextual: np.ndarray  # float64 (B, K)
    best: np.ndarray  # int (B,): the restart with the lowest total, per image
    iterations: int  # the most iterations any image ran
    seconds: float
    iterations_run: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # int (B,) per image
    stopped_early: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # bool (B,) per image
    latents: np.ndarray | None = None  # float32 (B, K, nz): the best z of every restart

    @property
    def best_latents(self) -> np.ndarray:
        """float32 (B, nz): the best restart's z for each image."""
        assert self.latents is not None
        return self.latents[np.arange(len(self.best)), self.best]

    @property
    def best_fills(self) -> np.ndarray:
        """uint8 (B, S, S, 3): the best restart's fill for each image."""
        return self.fills[np.arange(len(self.best)), self.best]


def search_batch(
    model: LoadedModel,
    images: np.ndarray,
    masks: np.ndarray,
    settings: SearchSettings = SearchSettings(),
    cancel: threading.Event | None = None,
    outside: np.ndarray | None = None,
    encoder=None,
) -> BatchResult:
    """The same search for B images at once (B x K latents in one batch): for evaluation.

    images: uint8 (B, S, S, 3); masks: bool (B, S, S). Image b takes the b-th block of
    init_samples * K draws from the seeded generator, so image 0 starts exactly as
    ``latent_search`` would; every z follows its own trajectory (Adam is element-wise) and
    every image stops by its own rule, whatever the other images are. ``outside`` (bool (B, S,
    S), optional): pixels beyond the photo's border, neither context nor filled. ``encoder``
    (``encoder.LoadedEncoder``, optional): each image's last restart starts at its z (a learned start).
    """
    start = time.perf_counter()
    search = Search(model, images, masks, settings, outside, encoder)
    while not search.finished and not (cancel is not None and cancel.is_set()):
        search.step()
    fake, contextual, _, total = search.final()
    b, k = search.shape
    fills = tensor_to_images(fake).reshape(b, k, *fake.shape[2:], 3)
    return BatchResult(
        fills,
        _numpy(total),
        _numpy(contextual),
        _numpy(total).argmin(1),
        search.iteration,
        time.perf_counter() - start,
        search.iterations_run.copy(),
        search.stopped_early.copy(),
        search.best_z.float().cpu().numpy().reshape(b, k, -1),
    )


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy().copy()
