"""Coarse-to-fine exemplar fill of a hole: PatchMatch search alternated with patch voting.

The method is Wexler, Shechtman and Irani's "space-time completion" (2007) with the
nearest-neighbour fields of PatchMatch (Barnes et al. 2009), as in Content-Aware Fill:

1. Pixels are RGB plus two *texture channels* (Newson et al. 2014): |d/dx| and |d/dy| of
   the grey image averaged over 3x3 known pixels. Averaged down the pyramid they tell, at
   every level, how textured the full-resolution pixels are. In the hole they are not
   synthesised but *guide* the fill: they hold the membrane fill of the border's values,
   so a hole in grass asks for grass-like texture instead of the flat colour that
   averaging drifts to (the main cause of smears in plain EM inpainting).
2. An image pyramid of the region is built with a mask-normalised [1 3 3 1] binomial filter
   and 2x decimation. A coarse pixel is missing only when no known pixel enters its filter,
   so the hole shrinks down the pyramid and the coarse levels hold a push-pull
   extrapolation of the surroundings; a coarse pixel is blocked (never a source) when any
   excluded or missing pixel enters it. The coarsest level is the first on which the hole's
   inscribed radius is at most ``coarse_radius`` patches (the hole is a few patches wide),
   unless it would get smaller than ``min_coarse_side`` or run out of source patches.
3. On the coarsest level the hole starts with the harmonic fill (also the answer to an
   early cancel), or optionally an onion peel (layer by layer from the edge inwards, each
   pixel copying the centre of the source patch that best matches what is known so far).
4. On every level, a few *EM steps*: PatchMatch sweeps (propagation and random search)
   improve the field that maps each patch overlapping the hole to a fully known source
   patch outside the hole and the exclusion (the E step), then every hole pixel becomes the
   weighted mean of the pixels that the overlapping patches' matches put there (the M step,
   *voting*), with weights exp(-d / 2 sigma^2) of each patch's mean squared distance d and
   sigma^2 a percentile of the distances (Wexler et al.; Newson et al.): the 75th on the
   coarse levels, a low one on the finest so that the result stays sharp.
5. The field moves to the next finer level (each match doubled, plus the pixel's parity),
   the fill is upsampled bilinearly as the starting guess, and a first vote at the finer
   level turns the inherited matches into sharp full-resolution pixels.

:func:`synthesize` is a generator: the work is cut into numba calls of a few tens of
milliseconds (see :mod:`.nnf`), each followed by a :class:`PatchStep` for progress, loss
plots and previews, and by a check of the ``cancel`` event. Pure compute: no Qt here.
Random choices depend only on ``seed``: the same inputs and seed give the same bytes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.ndimage as ndi
from PIL import Image

from inpaint_gui.core.blend.poisson import poisson_blend
from inpaint_gui.core.engines.patch import nnf
from inpaint_gui.core.engines.patch.pyramid import (
    Level,
    base_pixels,
    plan_levels,
    texture_channels,
    upsample2,
)
from inpaint_gui.core.errors import MaskError

__all__ = ["PatchSettings", "PatchStep", "synthesize", "warm_up"]

# SSD evaluations per numba call: about 10-20 ms for 7x7 patches on one core
_SSD_PER_CALL = 80_000
_PATCH_AREA_REF = 49


@dataclass(frozen=True)
class PatchSettings:
    """Parameters of :func:`synthesize` (defaults tuned on 34 CBSD68 photos, 5% blobs)."""

    patch_size: int = 7  # odd side of the square patches, in pixels
    em_steps_coarse: int = 6  # search/vote steps on the coarsest level ...
    em_steps_fine: int = 3  # ... and on the finest one (linear in between)
    sweeps: int = 2  # PatchMatch sweeps per EM step, alternating direction
    coarse_radius: float = 1.5  # coarsest level: hole's inscribed radius <= this x patch_size
    min_coarse_side: int = 24  # the coarsest level's smaller side stays at least this
    search_share: float = 1.0  # random-search radius as a share of the level's longer side
    sigma_percentile: float = 75.0  # vote weight scale: this percentile of patch distances ...
    fine_sigma_percentile: float = 10.0  # ... and on the finest level (lower: sharper)
    onion: bool = False  # start the coarsest level with an onion peel (else: harmonic only)
    onion_samples: int = 1024  # random sources per pixel in the onion peel (all if fewer)
    texture_weight: float = 3.0  # scale of the two texture channels (0: colour only)
    texture_guide: bool = True  # hole texture channels: smooth fill of the border's (else voted)

    def __post_init__(self) -> None:
        if self.patch_size < 3 or self.patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd and >= 3, got {self.patch_size}")
        if min(self.em_steps_coarse, self.em_steps_fine) < 1 or self.sweeps < 0:
            raise ValueError("em_steps_* must be >= 1 and sweeps >= 0")
        if self.coarse_radius <= 0 or self.min_coarse_side < self.patch_size:
            raise ValueError("coarse_radius must be > 0 and min_coarse_side >= patch_size")
        if not 0 < self.search_share <= 1:
            raise ValueError("search_share must be in (0, 1]")
        if not (0 < self.sigma_percentile <= 100 and 0 < self.fine_sigma_percentile <= 100):
            raise ValueError("sigma percentiles must be in (0, 100]")
        if self.onion_samples < 1 or self.texture_weight < 0:
            raise ValueError("onion_samples must be >= 1 and texture_weight >= 0")


@dataclass(frozen=True)
class PatchStep:
    """Progress of :func:`synthesize` after one unit of work.

    ``level`` counts from 0 (coarsest) to ``levels - 1`` (full resolution); ``iteration``
    of ``iterations`` are the work units done and planned (about equal in cost).
    ``energy``: mean squared RGB distance per pixel between the patches overlapping the hole
    and their matches. ``preview`` (computed on first access): a new uint8 (H, W, 3) image
    of the current fill, upsampled into the hole; the known pixels are the input's.
    The last step has ``done`` set and ``result`` (uint8 (H, W, 3)), the best fill so far if
    ``cancelled``; outside the hole it is bit-identical to the input.
    """

    level: int
    levels: int
    iteration: int
    iterations: int
    elapsed: float
    energy: float
    done: bool = False
    cancelled: bool = False
    result: np.ndarray | None = field(default=None, repr=False, compare=False)
    _fill: _Fill | None = field(default=None, repr=False, compare=False)

    @cached_property
    def preview(self) -> np.ndarray | None:
        if self.result is not None:
            return self.result.copy()
        return None if self._fill is None else self._fill.render()


class _Fill:
    """A frozen copy of one level's fill in the hole's box, rendered at full size on demand."""

    def __init__(
        self, image: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int], level_img: np.ndarray, scale: int
    ) -> None:
        self.image, self.hole, self.box, self.scale = image, hole, box, scale
        y0, y1, x0, x1 = box  # full-resolution hole box
        s = scale
        # level pixels whose bilinear footprint reaches the box (+1 on each side)
        self.ly0, self.lx0 = max(y0 // s - 1, 0), max(x0 // s - 1, 0)
        ly1 = min(-(-y1 // s) + 1, level_img.shape[0])
        lx1 = min(-(-x1 // s) + 1, level_img.shape[1])
        crop = level_img[self.ly0 : ly1, self.lx0 : lx1, :3]  # (h', w', 3) float32
        self.crop = np.clip(np.rint(crop), 0, 255).astype(np.uint8)

    def render(self) -> np.ndarray:
        y0, y1, x0, x1 = self.box
        s = self.scale
        if s == 1:
            fill = self.crop[y0 - self.ly0 : y1 - self.ly0, x0 - self.lx0 : x1 - self.lx0]
        else:
            box = (x0 / s - self.lx0, y0 / s - self.ly0, x1 / s - self.lx0, y1 / s - self.ly0)
            fill = np.asarray(
                Image.fromarray(self.crop).resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR, box=box)
            )  # (y1-y0, x1-x0, 3)
        out = self.image.copy()
        np.copyto(out[y0:y1, x0:x1], fill, where=self.hole[y0:y1, x0:x1, None])
        return out


def _em_steps(s: PatchSettings, k: int, n: int) -> int:
    """EM steps on pyramid level k (0 = full resolution) of n levels."""
    if n == 1:
        return s.em_steps_fine
    t = k / (n - 1)  # 0 at full resolution, 1 at the coarsest
    return round(s.em_steps_fine + t * (s.em_steps_coarse - s.em_steps_fine))


def _chunks(n: int, per_call: int) -> list[tuple[int, int]]:
    per_call = max(1, per_call)
    return [(lo, min(lo + per_call, n)) for lo in range(0, n, per_call)]


class _Synth:
    """State of one run; :meth:`work` yields once after every numba call."""

    def __init__(self, image, hole, exclude, s: PatchSettings, seed: int):
        self.image, self.hole, self.s, self.seed = image, hole, s, seed
        self.p, self.r = s.patch_size, s.patch_size // 2
        self.norm = (5 if s.texture_weight > 0 else 3) * self.p * self.p
        rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
        self.box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        self.levels = plan_levels(
            hole, exclude, s.patch_size, s.coarse_radius, s.min_coarse_side
        )  # fine -> coarse, masks only
        n = len(self.levels)
        self.em = [_em_steps(s, k, n) for k in range(n)]
        area = self.p * self.p
        unit = _SSD_PER_CALL * _PATCH_AREA_REF // area
        self.unit = unit
        self.per_pass = unit  # distance and vote calls: one patch per target
        self.per_onion = max(1, unit // min(s.onion_samples + 12, self.levels[-1].src_y.size + 12))
        self.planned = self._plan()
        self.fill: _Fill | None = None
        self.energy = float("nan")
        self.current = n - 1  # pyramid index being worked on

    def _per_sweep(self, lev: Level) -> int:
        """Targets per sweep call: propagation (2) and random search (log2 radius) SSDs each."""
        return max(1, self.unit // (3 + int(np.log2(max(2, self._radius(lev))))))

    def _radius(self, lev: Level) -> int:
        return max(1, int(self.s.search_share * max(lev.hole.shape)))

    def _plan(self) -> int:
        units = 2 + int(self.s.texture_weight > 0)  # building the pixels
        units += sum(len(_chunks(lev.shape[0], self._rows_per_call(k))) for k, lev in enumerate(self.levels) if k > 0)
        coarse = self.levels[-1]
        layers = ndi.distance_transform_cdt(coarse.hole, metric="chessboard")
        self.layers = [np.nonzero(layers == d) for d in range(1, int(layers.max()) + 1)]
        if not self.s.onion:
            self.layers = []
        units += 1 + sum(len(_chunks(ly[0].size, self.per_onion)) for ly in self.layers)
        for k, lev in enumerate(self.levels):
            n_dist = len(_chunks(lev.n_targets, self.per_pass))
            n_sweep = len(_chunks(lev.n_targets, self._per_sweep(lev)))
            per_em = 2 * n_dist + self.s.sweeps * n_sweep  # distances, sweeps, vote
            units += self.em[k] * per_em
            if k < len(self.levels) - 1:
                units += 2 * n_dist  # first vote with the inherited field
        return units

    def _rows_per_call(self, k: int) -> int:
        """Rows of level k per reduction call (16 taps per channel and pixel)."""
        return max(1, 40 * self.unit // (self.levels[k].shape[1] * 5))

    # ----------------------------------------------------------------- pieces of work

    def build_pixels(self):
        """Full-resolution pixels (texture channels, guides), then each coarser level."""
        s = self.s
        base = self.levels[0]
        yield  # the plan is made: a first step (and cancel check) before the pixel work
        tex = None
        if s.texture_weight > 0:
            tex = texture_channels(self.image, self.hole)  # (H, W, 2)
            yield
        base.img, voted = base_pixels(self.image, self.hole, tex, s.texture_weight, s.texture_guide)
        base.voted = voted
        yield
        for k in range(1, len(self.levels)):
            fine, lev = self.levels[k - 1], self.levels[k]
            lev.voted = voted
            lev.img = np.empty(lev.shape + (fine.img.shape[2],), np.float32)  # (h, w, C)
            for lo, hi in _chunks(lev.shape[0], self._rows_per_call(k)):
                nnf.reduce2(fine.img, fine.hole, voted, lev.img, lo, hi)
                yield
            lev.img[lev.hy, lev.hx, :voted] = 0

    def snapshot(self, k: int) -> None:
        lev = self.levels[k]
        self.fill = _Fill(self.image, self.hole, self.box, lev.img, lev.scale)

    def distances(self, lev: Level):
        for lo, hi in _chunks(lev.n_targets, self.per_pass):
            nnf.match_distances(lev.img, lev.ty, lev.tx, self.nny, self.nnx, self.dist, lo, hi, self.r)
            yield

    def sweeps(self, lev: Level, k: int, e: int):
        radius = self._radius(lev)
        for i in range(self.s.sweeps):
            key = nnf.mix_key(self.seed, k, e, i)
            backward = i % 2 == 1
            chunks = _chunks(lev.n_targets, self._per_sweep(lev))
            for lo, hi in reversed(chunks) if backward else chunks:
                nnf.sweep(
                    lev.img,
                    lev.valid,
                    lev.ty,
                    lev.tx,
                    lev.tid,
                    self.nny,
                    self.nnx,
                    self.dist,
                    lo,
                    hi,
                    backward,
                    radius,
                    key,
                    self.r,
                )
                self.energy = float(self.dist.mean()) / self.norm
                yield

    def vote(self, lev: Level, k: int):
        d = self.dist / np.float32(self.norm)  # (N,) mean squared distance per value
        self.energy = float(d.mean())
        q = self.s.fine_sigma_percentile if k == 0 else self.s.sigma_percentile
        sigma2 = float(np.percentile(d, q)) + 1e-3
        # float32 holds exp(-80); beyond it every weight would be the same tiny number
        weight = np.exp(-np.minimum(d / (2.0 * sigma2), 80.0)).astype(np.float32)  # (N,)
        acc = np.zeros(lev.img.shape, np.float32)  # (h, w, 3)
        wsum = np.zeros(lev.hole.shape, np.float32)  # (h, w)
        chunks = _chunks(lev.n_targets, self.per_pass)
        for i, (lo, hi) in enumerate(chunks):
            nnf.vote(lev.img, lev.ty, lev.tx, self.nny, self.nnx, weight, lev.hole, acc, wsum, lo, hi, self.r)
            if i == len(chunks) - 1:  # the new fill, before the step that reports it
                ws = wsum[lev.hy, lev.hx]  # (M,)
                got = ws > 0
                hy, hx = lev.hy[got], lev.hx[got]
                nv = lev.voted
                lev.img[hy, hx, :nv] = acc[hy, hx, :nv] / ws[got, None]
                self.snapshot(k)
            yield

    def em_steps(self, k: int):
        lev = self.levels[k]
        for e in range(self.em[k]):
            yield from self.distances(lev)
            yield from self.sweeps(lev, k, e)
            yield from self.vote(lev, k)

    def coarsest_init(self):
        k = len(self.levels) - 1
        lev = self.levels[k]
        self.current = k
        u8 = np.clip(np.rint(lev.img), 0, 255).astype(np.uint8)  # (h, w, C), features clipped
        u8 = np.ascontiguousarray(u8[:, :, : lev.voted])
        smooth = poisson_blend(u8, np.broadcast_to(np.float32(0), u8.shape), lev.hole, raw=True)
        lev.img[lev.hy, lev.hx, : lev.voted] = smooth[lev.hy, lev.hx]  # the fill if cancelled now
        guides = lev.img[lev.hy, lev.hx, lev.voted :].copy()  # (M, C - voted)
        self.snapshot(k)
        yield
        h, w = lev.hole.shape
        filled = ~lev.hole  # (h, w)
        pix_y = np.full((h, w), -1, np.int32)  # source pixel each filled hole pixel copied
        pix_x = np.full((h, w), -1, np.int32)
        for d, (py, px) in enumerate(self.layers):
            py, px = py.astype(np.int32), px.astype(np.int32)
            key = nnf.mix_key(self.seed, k, 1000 + d)
            for lo, hi in _chunks(py.size, self.per_onion):
                nnf.onion_layer(
                    lev.img,
                    filled,
                    lev.valid,
                    lev.src_y,
                    lev.src_x,
                    py,
                    px,
                    pix_y,
                    pix_x,
                    lo,
                    hi,
                    self.s.onion_samples,
                    key,
                    self.r,
                )
                yield
            filled[py, px] = True
        lev.img[lev.hy, lev.hx, lev.voted :] = guides  # the peel copied whole pixels
        self.snapshot(k)
        # field of the coarsest level: the onion's matches where they are valid centres
        ny, nx = self._random_sources(lev, k)
        inside = lev.hole[lev.ty, lev.tx]
        cy, cx = pix_y[lev.ty, lev.tx], pix_x[lev.ty, lev.tx]
        ok = inside & (cy >= 0)
        ok[ok] = lev.valid[cy[ok], cx[ok]]
        self.nny = np.where(ok, cy, ny).astype(np.int32)  # (N,)
        self.nnx = np.where(ok, cx, nx).astype(np.int32)
        self.dist = np.zeros(lev.n_targets, np.float32)

    def _random_sources(self, lev: Level, k: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, k, 7])
        i = rng.integers(0, lev.src_y.size, lev.n_targets)
        return lev.src_y[i], lev.src_x[i]

    def upsample(self, k: int):
        """Move from level k + 1 to the finer level k: field, starting fill, first vote."""
        fine, coarse = self.levels[k], self.levels[k + 1]
        self.current = k
        cid = coarse.tid[fine.ty // 2, fine.tx // 2]  # (N,) coarse target under each target
        has = cid >= 0
        cy = np.where(has, 2 * self.nny[np.maximum(cid, 0)] + fine.ty % 2, 0)
        cx = np.where(has, 2 * self.nnx[np.maximum(cid, 0)] + fine.tx % 2, 0)
        h, w = fine.hole.shape
        cy = np.clip(cy, 0, h - 1)
        cx = np.clip(cx, 0, w - 1)
        ok = has & fine.valid[cy, cx]
        ry, rx = self._random_sources(fine, k)
        self.nny = np.where(ok, cy, ry).astype(np.int32)
        self.nnx = np.where(ok, cx, rx).astype(np.int32)
        self.dist = np.zeros(fine.n_targets, np.float32)
        y0, y1, x0, x1 = fine.box
        nv = fine.voted
        guess = upsample2(coarse.img[:, :, :nv], fine.box)  # (y1 - y0, x1 - x0, voted)
        np.copyto(fine.img[y0:y1, x0:x1, :nv], guess, where=fine.hole[y0:y1, x0:x1, None])
        yield from self.distances(fine)
        yield from self.vote(fine, k)

    def work(self):
        yield from self.build_pixels()
        yield from self.coarsest_init()
        n = len(self.levels)
        yield from self.em_steps(n - 1)
        for k in range(n - 2, -1, -1):
            yield from self.upsample(k)
            yield from self.em_steps(k)


def _check(image, hole, exclude, settings) -> None:
    if not isinstance(settings, PatchSettings):
        raise TypeError("settings must be a PatchSettings")
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"image must be uint8 (H, W, 3), got {getattr(image, 'dtype', None)} {getattr(image, 'shape', None)}"
        )
    for name, m in (("hole", hole), ("exclude", exclude)):
        if m is None and name == "exclude":
            continue
        if not isinstance(m, np.ndarray) or m.dtype != np.bool_ or m.shape != image.shape[:2]:
            raise MaskError(
                f"{name} must be bool with shape {image.shape[:2]}, got "
                f"{getattr(m, 'dtype', None)} {getattr(m, 'shape', None)}"
            )
    if min(image.shape[:2]) < settings.patch_size:
        raise MaskError(f"the region ({image.shape[1]}x{image.shape[0]}) is smaller than a patch")


def synthesize(
    image: np.ndarray,
    hole: np.ndarray,
    settings: PatchSettings = PatchSettings(),
    *,
    seed: int = 0,
    exclude: np.ndarray | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[PatchStep]:
    """Fill ``hole`` of the region ``image`` by coarse-to-fine patch synthesis.

    image: uint8 (H, W, 3) RGB pixels of the region; hole: bool (H, W), True = missing;
    exclude: bool (H, W), True = never copy from here (optional). Yields a
    :class:`PatchStep` after every unit of work (each a few tens of ms), the last with
    ``done`` and ``result``. ``cancel`` is checked between units; once set, the last step
    carries the fill reached so far (a complete, valid fill) and ``cancelled=True``.
    Raises MaskError when no fully known patch is left to copy from.
    """
    _check(image, hole, exclude, settings)
    t0 = time.perf_counter()
    image = np.ascontiguousarray(image)
    if not hole.any():
        yield PatchStep(0, 1, 0, 0, time.perf_counter() - t0, 0.0, done=True, result=image.copy())
        return
    run = _Synth(image, hole, exclude, settings, seed)
    n = len(run.levels)
    done, cancelled = 0, False
    for _ in run.work():
        done += 1
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        yield PatchStep(n - 1 - run.current, n, done, run.planned, time.perf_counter() - t0, run.energy, _fill=run.fill)
    if run.fill is not None:
        result = run.fill.render()
    else:  # cancelled while the pyramid was being built: the membrane fill
        result = poisson_blend(image, np.broadcast_to(np.float32(0), image.shape), hole)
    yield PatchStep(
        n - 1 - run.current,
        n,
        min(done, run.planned),
        run.planned,
        time.perf_counter() - t0,
        run.energy,
        done=True,
        cancelled=cancelled,
        result=result,
    )


def warm_up() -> float:
    """Compile (first run ever, ~3 s) or load from the cache (~0.2 s) every numba kernel by
    filling a tiny image; returns the seconds taken. Call it from a worker thread at
    startup so that the first real fill starts at once."""
    t0 = time.perf_counter()
    image = np.zeros((48, 48, 3), np.uint8)
    image[:, ::3] = 200
    hole = np.zeros((48, 48), bool)
    hole[14:34, 14:34] = True
    for _ in synthesize(image, hole, PatchSettings(onion=True)):
        pass
    return time.perf_counter() - t0
