"""The scene engine: exemplar-based fill for objects, smooth fill for scratches, as a fill engine.

Plan: the hole splits into *thin* parts (scratches, dust: no pixel farther than
``thin_radius`` from the photo) and *thick* ones (objects). Thin parts become tiles of at most
``THIN_TILE`` pixels a side (a scratch across a large photo never needs a large window), filled
at once by the smooth thin-plate fill of ``thin.fill_thin``. Each group of thick components
becomes one region, its bounding box grown by ``source_margin`` x its longer side: the
patches are copied from there. Thin regions come first, so a thick region never copies from
a pixel that was a hole.
Exclusion ("don't copy from", ``plan(..., exclude=)``): the excluded pixels join the
region's ``never`` mask, so no source patch holds one; they still count as known photo
around the hole (patches that overlap them must match them, and the Poisson blend meets
them). When the exclusion leaves a region fewer than ``max(patch_size ** 2, hole pixels /
SOURCE_SHARE)`` source patches, the region grows (its sides doubled, up to the whole photo)
until it has them; a hole with fewer than ``patch_size ** 2`` source patches in the whole
photo is a MaskError. Thin parts take the smooth fill, which copies nothing and reads only
the ring around the scratch, so exclusion does not change them.
Run: ``synthesis.synthesize`` once per candidate (seeds ``seed``, ``seed + 1``, ...), its
coarse-to-fine progress streamed as steps. Finish: the chosen fill over the region.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from inpaint_gui.core.engines.base import Candidate, Engine, EngineInfo, Fill, Region, Step
from inpaint_gui.core.engines.patch.pyramid import count_sources
from inpaint_gui.core.engines.patch.scene import scene_regions
from inpaint_gui.core.engines.patch.synthesis import PatchSettings, synthesize
from inpaint_gui.core.engines.patch.thin import fill_thin, split_thin
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.image.preview import composite
from inpaint_gui.core.settings import setting

THIN_TILE = 1024  # the side of the tiles a long thin hole is cut into
THUMB = 96  # candidate thumbnails, pixels on the longer side
SOURCE_SHARE = 4  # with an exclusion, a region keeps at least 1 source patch per this many hole pixels


@dataclass(frozen=True)
class SceneSettings:
    """The scene engine's settings (see ``core.settings``)."""

    patch_size: int = setting(
        7,
        "side of the square patches compared and copied (odd)",
        minimum=3,
        maximum=31,
        odd=True,
        step=2,
        label="Patch size",
    )
    seeds: int = setting(
        2,
        "fills offered to choose from, one per seed (seed, seed + 1, ...)",
        minimum=1,
        maximum=8,
        label="Fills (seeds)",
    )
    source_margin: float = setting(
        1.0,
        "where patches are copied from: the hole's box grown by this x its longer side on every side",
        minimum=0.2,
        maximum=10.0,
        step=0.25,
        decimals=2,
        label="Source margin",
    )
    thin_radius: float = setting(
        8.0,
        "parts of the hole no pixel of which is farther than this (px) from the photo "
        "take the fast smooth fill (scratches, dust); 0 = never",
        minimum=0.0,
        maximum=64.0,
        step=1.0,
        decimals=1,
        label="Thin up to (px)",
    )


@dataclass(frozen=True)
class ScenePlan:
    kind: str  # "thin" (smooth fill) or "patch" (exemplar synthesis)
    never: np.ndarray | None = None  # bool over the region: pixels that were hole or are excluded, never a source


def _with_sources(
    mask: np.ndarray, exclude: np.ndarray, box: tuple[int, int, int, int], hole: np.ndarray, p: int
) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """``box`` (y0, y1, x0, x1) and its ``hole``, the box grown until the pixels outside
    ``mask`` and ``exclude`` hold enough source patches (see the module docstring)."""
    h, w = mask.shape
    need = max(p * p, int(hole.sum()) // SOURCE_SHARE)
    y0, y1, x0, x1 = box
    while True:
        found = count_sources(mask[y0:y1, x0:x1] | exclude[y0:y1, x0:x1], p)
        if found >= need or (y0, y1, x0, x1) == (0, h, 0, w):
            break
        gy, gx = (y1 - y0 + 1) // 2, (x1 - x0 + 1) // 2
        y0, y1, x0, x1 = max(y0 - gy, 0), min(y1 + gy, h), max(x0 - gx, 0), min(x1 + gx, w)
    if found < p * p:
        rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
        raise MaskError(
            f'the "don\'t copy from" area leaves {found} patches of {p}x{p} px to copy from for the hole at '
            f"{box[2] + int(cols[0])},{box[0] + int(rows[0])} (at least {p * p} needed): exclude less"
        )
    grown = np.zeros((y1 - y0, x1 - x0), bool)
    grown[box[0] - y0 : box[1] - y0, box[2] - x0 : box[3] - x0] = hole
    return (y0, y1, x0, x1), grown


def _check_patch_fits(w: int, h: int, size: int) -> None:
    """A region narrower than a patch (a hole across a photo a few pixels wide) cannot be filled
    from patches: said when it is planned, with the size that fits, not seconds later at the fill."""
    side = min(w, h)
    if side >= size:
        return
    fits = side if side % 2 else side - 1
    what = (
        f"set the patch size to {fits} (--patch-size {fits}: odd, and no larger than {side})"
        if fits >= 3
        else "the scene engine needs a region at least 3 px wide and tall"
    )
    raise MaskError(
        f"the region ({w}x{h}) is narrower than the scene engine's {size}x{size} patches and its hole is too "
        f"thick for the smooth fill: {what}"
    )


def _tiles(thin: np.ndarray, margin: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) cores of THIN_TILE tiles over ``thin``'s bounding box that hold thin pixels."""
    rows, cols = np.flatnonzero(thin.any(1)), np.flatnonzero(thin.any(0))
    y_lo, y_hi, x_lo, x_hi = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    out = []
    for y0 in range(y_lo, y_hi, THIN_TILE):
        for x0 in range(x_lo, x_hi, THIN_TILE):
            y1, x1 = min(y0 + THIN_TILE, y_hi), min(x0 + THIN_TILE, x_hi)
            if thin[y0:y1, x0:x1].any():
                out.append((y0, y1, x0, x1))
    return out


class SceneEngine(Engine):
    """Fills any hole from the photo's own texture; no model to load."""

    info = EngineInfo(
        name="scene",
        title="Scene (exemplar patches, PatchMatch)",
        settings=SceneSettings,
        summary="copies texture from the rest of the photo (objects to remove; scratches and dust)",
        uses_exclude=True,
        auto=0,
        fallback=True,
    )

    def plan(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        settings: SceneSettings,
        common,
        window: Sequence[int] | None = None,
        *,
        exclude: np.ndarray | None = None,
    ) -> list[Region]:
        thin, thick = (
            split_thin(mask, settings.thin_radius) if settings.thin_radius > 0 else (np.zeros_like(mask), mask)
        )
        return self._thin_regions(thin, settings) + self._thick_regions(mask, thick, settings, exclude)

    def claim(self, image: np.ndarray, mask: np.ndarray, settings: SceneSettings, common) -> list[Region]:
        """The thin parts of the hole (scratches, dust): no other engine should paint into them."""
        if settings.thin_radius <= 0:
            return []
        thin, _thick = split_thin(mask, settings.thin_radius)
        return self._thin_regions(thin, settings)

    def _thin_regions(self, thin: np.ndarray, settings: SceneSettings) -> list[Region]:
        h, w = thin.shape
        regions = []
        margin = int(np.ceil(2 * settings.thin_radius)) + 2  # the known ring the smooth fill reads
        if thin.any():
            for y0, y1, x0, x1 in _tiles(thin, margin):
                ry0, ry1, rx0, rx1 = max(y0 - margin, 0), min(y1 + margin, h), max(x0 - margin, 0), min(x1 + margin, w)
                hole = np.zeros((ry1 - ry0, rx1 - rx0), bool)
                hole[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0] = thin[y0:y1, x0:x1]
                regions.append(
                    Region(self.info.name, (rx0, ry0, rx1, ry1), hole, f"scratches {x0},{y0}", ScenePlan("thin"))
                )
        return regions

    def _thick_regions(
        self, mask: np.ndarray, thick: np.ndarray, settings: SceneSettings, exclude: np.ndarray | None
    ) -> list[Region]:
        regions = []
        if thick.any():
            least = 4 * settings.patch_size
            for box in scene_regions(thick, settings.source_margin, least=least):
                hole = thick[box[0] : box[1], box[2] : box[3]].copy()
                if exclude is not None:
                    box, hole = _with_sources(mask, exclude, box, hole, settings.patch_size)
                y0, y1, x0, x1 = box
                _check_patch_fits(x1 - x0, y1 - y0, settings.patch_size)
                never = mask[y0:y1, x0:x1] & ~hole  # other holes inside: no exemplars
                if exclude is not None:
                    never |= exclude[y0:y1, x0:x1]
                regions.append(
                    Region(
                        self.info.name,
                        (x0, y0, x1, y1),
                        hole,
                        f"region {x0},{y0} {x1 - x0}x{y1 - y0}",
                        ScenePlan("patch", never if never.any() else None),
                    )
                )
        return regions

    def run(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        region: Region,
        settings: SceneSettings,
        common,
        cancel: threading.Event | None = None,
    ) -> Iterator[Step]:
        sl, hole = region.hole_in(image.shape)
        hole = hole & mask[sl]
        crop = np.ascontiguousarray(image[sl])
        rect = (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop)
        if region.plan.kind == "thin":
            start = time.perf_counter()
            fill = fill_thin(crop, hole)
            candidate = Candidate(0, "smooth fill", 0.0, _thumbnail(fill, hole), fill)
            yield Step(
                1,
                1,
                np.zeros(1),
                0,
                time.perf_counter() - start,
                thumbnails=candidate.thumbnail[None],
                composite=_composer(hole, rect, fill),
                stage=region.label,
                done=True,
                candidates=[candidate],
                info={"engine": self.info.name, "kind": "thin"},
            )
            return
        yield from self._synthesize(crop, hole, rect, region, settings, common, cancel)

    def _synthesize(self, crop, hole, rect, region, settings: SceneSettings, common, cancel) -> Iterator[Step]:
        n = settings.seeds
        patch = replace(PatchSettings(), patch_size=settings.patch_size)
        exclude = region.plan.never
        if exclude is not None:
            exclude = exclude[: crop.shape[0], : crop.shape[1]]
        losses = np.full(n, np.nan)
        done: list[Candidate] = []
        start = time.perf_counter()
        cancelled = False
        for k in range(n):
            last = None
            for step in synthesize(crop, hole, patch, seed=common.seed + k, exclude=exclude, cancel=cancel):
                last = step
                losses[k] = step.energy
                total = step.iterations * n
                if not step.done:
                    yield Step(
                        k * step.iterations + step.iteration,
                        total,
                        losses.copy(),
                        k,
                        time.perf_counter() - start,
                        thumbnails=None,
                        composite=_lazy(step, hole, rect),
                        stage=f"candidate {k + 1} of {n}: level {step.level + 1} of {step.levels}",
                        info={"engine": self.info.name, "kind": "patch"},
                    )
            assert last is not None and last.result is not None
            done.append(
                Candidate(k, f"seed {common.seed + k}", float(last.energy), _thumbnail(last.result, hole), last.result)
            )
            if last.cancelled or (cancel is not None and cancel.is_set()):
                cancelled = True
                break
        best = int(np.argmin([c.loss for c in done]))
        yield Step(
            len(done),
            n,
            np.array([c.loss for c in done]),
            best,
            time.perf_counter() - start,
            thumbnails=np.stack([c.thumbnail for c in done]),
            composite=_composer(hole, rect, done[best].payload),
            stage=region.label,
            done=True,
            cancelled=cancelled,
            candidates=done,
            info={"engine": self.info.name, "kind": "patch"},
        )

    def finish(self, image: np.ndarray, region: Region, candidate: Candidate) -> Fill:
        sl, _ = region.hole_in(image.shape)
        return Fill((sl[1].start, sl[0].start, sl[1].stop, sl[0].stop), candidate.payload.astype(np.float32))


def _thumbnail(fill: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """uint8 (t, t, 3): the fill around the hole's box, squared and scaled to THUMB."""
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    if not len(rows):
        return np.zeros((THUMB, THUMB, 3), np.uint8)
    cy, cx = (rows[0] + rows[-1]) / 2, (cols[0] + cols[-1]) / 2
    side = int(max(rows[-1] - rows[0], cols[-1] - cols[0]) * 1.5) + 8
    y0 = int(min(max(cy - side / 2, 0), max(fill.shape[0] - side, 0)))
    x0 = int(min(max(cx - side / 2, 0), max(fill.shape[1] - side, 0)))
    crop = np.ascontiguousarray(fill[y0 : y0 + side, x0 : x0 + side])
    return np.asarray(Image.fromarray(crop).resize((THUMB, THUMB), Image.Resampling.BILINEAR))


def _composer(hole: np.ndarray, rect, fill: np.ndarray):
    return lambda max_side: composite(hole, rect, fill, max_side)


def _lazy(step, hole: np.ndarray, rect):
    """A composite of a synthesis step's preview, rendered only when a screen asks for it."""

    def render(max_side: int):
        preview = step.preview
        return None if preview is None else composite(hole, rect, preview, max_side)

    return render
