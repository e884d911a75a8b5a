"""The face engine: the latent search of Yeh et al. (2017) in a DCGAN prior, as a fill engine.

Plan: for each group of nearby holes (``image.windows.auto_windows``) either a *framing
search* (``framing.py``: windows over scale and position, the best by the normalised
contextual loss; the default) or one fixed window (the hole plus half its extent of context,
or the window the user placed). Run: the window(s) are area-resized to the model's resolution
and the latent search optimises K restarts per window; every surviving restart's G(z) is a
candidate. Finish: the chosen G(z) is resized up to its window (bicubic) and handed to the
pipeline, which blends it into the hole.

``Step.info`` carries what reports need: the model, the window, the losses and ``fit`` (the
best contextual loss per unit of weight, in grey levels: how well a face prior fits the context
at all), and for a framing search every framing tried with its normalised loss.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from inpaint_gui.core.engines.base import Candidate, Fill, Region, Step
from inpaint_gui.core.engines.gan.framing import (
    FINAL_KEEP,
    GREY_LEVELS,
    PRIOR_SCALES,
    PRIOR_SHIFTS,
    REFINED_FINAL_KEEP,
    Frame,
    FramingResult,
    Problem,
    candidate_windows,
    framing_search,
    prior_framings,
    refined_framings,
    too_large_message,
)
from inpaint_gui.core.engines.gan.search import context_weights, latent_search, search_batch
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.gan.twoband import base_fills, low_band_model, two_band
from inpaint_gui.core.engines.gan.weights import LoadedModel, default_model_name, find_model, load_model
from inpaint_gui.core.errors import MaskError, WeightsError
from inpaint_gui.core.image.colour import is_grey
from inpaint_gui.core.image.preview import composite_window
from inpaint_gui.core.image.resample import from_model, known_small, to_model
from inpaint_gui.core.image.windows import Window, auto_windows, validate_window

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 0.5  # context on each side of the hole, as a share of the hole's extent
AUTO_MODELS = ((128, "celeba128"), (64, "celeba64"))  # model="auto": the shipped face models, largest first
FACE_CHECK_TOP = 3  # the face check's verdict: the mean of its best windows
AUTO_MIN_SHARE = 0.75  # ... a model serves windows of at least this share of its resolution (96 px for 128)


@dataclass(frozen=True)
class FacePlan:
    window: Window  # (x, y, size): the fixed window, or today's automatic one when framing
    model: str  # the name of the model that fills it
    framings: tuple[Frame, ...] = ()  # the framings to search; empty: the fixed window
    checked: tuple[Window, ...] = ()  # the coarse grid the face check judges for the engine choice
    placed: bool = False  # the window is the one the user placed
    final_keep: int = FINAL_KEEP  # framings that run to convergence (REFINED_FINAL_KEEP for the framer's)
    low_band: str | None = None  # the model whose search gives the fill's low band (twoband.py), or None


def plan_windows(
    mask: np.ndarray, resolution: int, window: Sequence[int] | None = None, context: float = DEFAULT_CONTEXT
) -> list[Window]:
    """The user's window (validated) or one automatic window per group of nearby holes."""
    if window is not None:
        x, y, size = validate_window(window, mask.shape)
        if not mask[y : y + size, x : x + size].any():
            raise MaskError(f"the window {x},{y},{size} contains no hole pixel: place it over the hole")
        return [(x, y, size)]
    return auto_windows(mask, context=context, min_size=min(resolution, *mask.shape))


def _box(hole: np.ndarray, offset: tuple[int, int]) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of ``hole``'s pixels, shifted by ``offset`` = (x, y)."""
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    return (
        int(rows[0]) + offset[1],
        int(rows[-1]) + 1 + offset[1],
        int(cols[0]) + offset[0],
        int(cols[-1]) + 1 + offset[0],
    )


def _union(windows: Sequence[Window]) -> tuple[int, int, int, int]:
    return (
        min(w[0] for w in windows),
        min(w[1] for w in windows),
        max(w[0] + w[2] for w in windows),
        max(w[1] + w[2] for w in windows),
    )


class FaceEngine:
    """Fills holes with a face prior. Holds the loaded models (loading is the slow part)."""

    name = "face"
    title = "Face prior (DCGAN latent search)"
    settings_type = SearchSettings

    def __init__(self, model: LoadedModel | str | Path | None = None):
        self._models: dict[str, LoadedModel] = {}
        self._check = None  # the face check (facecheck.py), loaded on first use
        self._framer = None  # the framer (framer.py), loaded on first use; False: not installed
        self.default: str | None = None
        if model is not None:
            self.load(model)

    # -- models ------------------------------------------------------------------------------
    def load(self, spec: LoadedModel | str | Path | None = None, device: str = "cpu") -> LoadedModel:
        """Load a model by name or folder (None: the default), or adopt a loaded one; it becomes
        the default for ``model()``."""
        if isinstance(spec, LoadedModel):
            model = spec
        else:
            requested = str(spec) if spec not in (None, "") else default_model_name()
            model = load_model(requested, device=device)
            self._models[requested] = model  # asked for by path or by name
        self._models[model.name] = model
        self.default = model.name
        return model

    def model(self, name: str | None = None) -> LoadedModel:
        """A loaded model by name (the default one when ``name`` is None)."""
        if name is None:
            if self.default is None:
                self.load(None)
            name = self.default
        if name not in self._models:
            self.load(name)
        return self._models[name]

    def model_for(self, settings: SearchSettings, side: int) -> LoadedModel:
        """The model that fills a window of ``side`` pixels: ``settings.model``, or with "auto"
        the shipped face model of the highest resolution the window is large enough for (a
        window of 96 px or more gets ``celeba128`` when it is installed); a model handed to the
        engine (tests, the GUI's model menu) is used as it is."""
        if settings.model != "auto":
            return self.model(settings.model)
        if self.default is not None and self.default not in {name for _, name in AUTO_MODELS}:
            return self.model()
        installed = [(res, name) for res, name in AUTO_MODELS if name in self._models or _installed(name)]
        for res, name in installed:
            if side >= AUTO_MIN_SHARE * res:
                return self._models[name] if name in self._models else self._adopt(name)
        return self.model(installed[-1][1]) if installed else self.model()

    def _has_model(self, name: str) -> bool:
        return name in self._models or _installed(name)

    def _adopt(self, name: str) -> LoadedModel:
        keep = self.default
        model = self.load(name)
        self.default = keep or model.name
        return model

    # -- the protocol ------------------------------------------------------------------------------
    def plan(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        settings: SearchSettings,
        common,
        window: Sequence[int] | None = None,
        *,
        exclude: np.ndarray | None = None,  # ignored: the fill comes from the prior, not the photo
    ) -> list[Region]:
        smallest = self.model_for(settings, 0).resolution  # the smallest window side the models plan for
        framing = settings.framing == "auto" and window is None
        regions = []
        for x, y, size in plan_windows(mask, smallest, window):
            hole = mask[y : y + size, x : x + size]
            frames: tuple[Frame, ...] = ()
            checked: tuple[Window, ...] = ()
            keep = FINAL_KEEP
            if framing and not _is_tile(hole, size, mask.shape):
                box = _box(hole, (x, y))
                coarse = candidate_windows(mask, box, base=(x, y, size))
                if coarse:  # a framing the model sees as all hole (scattered known pixels) cannot condition
                    res = self.model_for(settings, sorted(f.window[2] for f in coarse)[len(coarse) // 2]).resolution
                    coarse = [f for f in coarse if known_small(mask, f.window, res).any()]
                if not coarse:
                    raise MaskError(too_large_message(mask, box))
                checked = tuple(f.window for f in coarse)
                proposed, refined = (
                    self._framings(image, mask, box, (x, y, size)) if settings.framing_prior else (None, False)
                )
                if proposed:
                    res = self.model_for(settings, sorted(f.window[2] for f in proposed)[len(proposed) // 2]).resolution
                    proposed = [f for f in proposed if known_small(mask, f.window, res).any()]
                frames = tuple(proposed or coarse)
                keep = REFINED_FINAL_KEEP if refined and proposed else FINAL_KEEP
            sides = sorted(f.window[2] for f in frames) or [size]
            model = self.model_for(settings, sides[len(sides) // 2])  # by the median framing
            if not frames and not known_small(mask, (x, y, size), model.resolution).any():
                raise MaskError(_no_context_message((x, y, size), model.resolution, mask.shape, window is not None))
            rect = _union([(x, y, size)] + [f.window for f in frames])
            region_hole = np.zeros((rect[3] - rect[1], rect[2] - rect[0]), bool)
            region_hole[y - rect[1] : y - rect[1] + size, x - rect[0] : x - rect[0] + size] = hole
            where = f"window {x},{y},{size}" if not frames else f"{len(frames)} framings around {x},{y},{size}"
            base = low_band_model(settings, model.resolution, self._has_model)
            label = f"{model.name}{f' over {base}' if base else ''} · {where}"
            plan = FacePlan(
                (x, y, size), model.name, frames, checked, placed=window is not None, final_keep=keep, low_band=base
            )
            regions.append(Region(self.name, rect, region_hole, label, plan))
        return regions

    def _framings(self, image: np.ndarray, mask: np.ndarray, box, base: Window) -> tuple[list[Frame] | None, bool]:
        """The framings to search, proposed by the face check over a fine grid (see
        ``framing.prior_framings``); None when the check is not installed (the coarse grid then)."""
        check = self._face_check(required=False)
        if check is None:
            return None, False
        dense = candidate_windows(mask, box, base=base, scales=PRIOR_SCALES, shifts=PRIOR_SHIFTS)
        proposed = prior_framings(dense, check.logits(image, mask, [f.window for f in dense], fast=True))
        framer = self._load_framer()
        if framer is None or not proposed:
            return proposed, False
        from inpaint_gui.core.engines.gan.framer import consensus

        landed = framer.refine(image, mask, [f.window for f in proposed])
        refined = refined_framings(mask, box, [consensus(landed), *landed])
        return (refined, True) if refined else (proposed, False)

    def _load_framer(self):
        """The framer (framer.py), loaded on first use; None (the check's proposals are searched
        as they are) when it is missing or broken."""
        from inpaint_gui.core.engines.gan.framer import load_framer

        if self._framer is None:
            try:
                self._framer = load_framer()
            except WeightsError as exc:
                log.warning("framing without the framer: %s", exc)
                self._framer = False
        return self._framer or None

    def _face_check(self, required: bool = True):
        """The face check (loaded on first use); without ``required``, None if it is missing or broken."""
        from inpaint_gui.core.engines.gan.facecheck import load_check

        if self._check is None:
            try:
                self._check = load_check()
            except WeightsError as exc:
                if required:
                    raise
                log.warning("framing without the face check's prior: %s", exc)
                return None
        return self._check

    def _search_settings(self, settings: SearchSettings, common, image: np.ndarray | None = None) -> SearchSettings:
        grey = image is not None and is_grey(image)
        return replace(settings, seed=common.seed, device=common.device, grey=grey)

    def run(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        region: Region,
        settings: SearchSettings,
        common,
        cancel: threading.Event | None = None,
    ) -> Iterator[Step]:
        plan: FacePlan = region.plan
        model = self.model(plan.model)
        search = self._search_settings(settings, common, image[region.hole_in(image.shape)[0]])
        holes = _RegionHoles(region, mask)
        if plan.framings:
            steps = self._run_framings(image, mask, region, plan, model, search, holes, cancel)
        else:
            steps = self._run_window(image, mask, region, plan, model, search, holes, cancel)
        if plan.low_band is None:
            yield from steps
        else:
            yield from self._with_low_band(steps, image, mask, plan, model, search, holes, cancel)

    def _run_window(self, image, mask, region, plan: FacePlan, model, search, holes, cancel) -> Iterator[Step]:
        win = plan.window
        x, y, size = win
        if mask[y : y + size, x : x + size].all():
            raise MaskError(
                f"the hole covers the whole window {win}: there is nothing to condition on (use a larger window)"
            )
        image_small, mask_small = to_model(image, mask, win, model.resolution)
        weight = float(context_weights(mask_small, search.weighting, search.weight_window).sum()) * 3
        window_hole = holes.window(win)
        for s in latent_search(model, image_small, mask_small, search, cancel):
            step = Step(
                s.iteration,
                s.iterations,
                s.total,
                s.best,
                s.elapsed,
                thumbnails=s.previews,
                composite=_composer(window_hole, win, s.previews[s.best]) if s.previews is not None else None,
                stage=region.label,
                done=s.done,
                cancelled=s.cancelled,
                info={
                    "model": model.name,
                    "window": list(win),
                    "contextual": s.contextual,
                    "perceptual": s.perceptual,
                    "total": s.total,
                },
            )
            if s.done:
                step.candidates = [
                    Candidate(k, f"restart {k + 1}", float(s.total[k]), s.previews[k], (win, s.previews[k]))
                    for k in range(len(s.total))
                ]
                step.info.update(stopped_early=s.stopped_early, fit=float(s.contextual[s.best]) / weight * GREY_LEVELS)
            yield step

    def _with_low_band(self, steps, image, mask, plan: FacePlan, model, search, holes, cancel) -> Iterator[Step]:
        """``steps``, with the final candidates' low band replaced by ``plan.low_band``'s fills
        of the same windows (twoband.py); cancelled there, the final step as it was, cancelled."""
        for step in steps:
            if not step.done or step.cancelled:
                yield step
                continue
            base_model = self.model(plan.low_band)
            windows = {w: i for i, w in enumerate(dict.fromkeys(c.payload[0] for c in step.candidates))}
            yield replace(step, done=False, candidates=[], stage=f"low band: {base_model.name}")
            start = time.perf_counter()
            bases = base_fills(base_model, [(image, mask, w) for w in windows], model.resolution, search, cancel)
            elapsed = step.elapsed + time.perf_counter() - start  # the run's seconds include the low band's
            if cancel is not None and cancel.is_set():
                yield replace(step, cancelled=True, elapsed=elapsed)
                return
            candidates = []
            for c in step.candidates:
                win = c.payload[0]
                fill = two_band(c.payload[1], bases[windows[win]])  # (S, S, 3)
                candidates.append(replace(c, thumbnail=fill, payload=(win, fill)))
            best = candidates[step.best]
            yield replace(
                step,
                elapsed=elapsed,
                thumbnails=np.stack([c.thumbnail for c in candidates]),
                composite=_composer(holes.window(best.payload[0]), best.payload[0], best.payload[1]),
                candidates=candidates,
                info={**step.info, "low_band": base_model.name},
            )

    def _run_framings(self, image, mask, region, plan: FacePlan, model, search, holes, cancel) -> Iterator[Step]:
        frames = list(plan.framings)
        problem = Problem(image, mask, frames)
        run = framing_search(
            model, [problem], search, cancel, preview_seconds=search.preview_seconds, final_keep=plan.final_keep
        )
        for item in run:
            if not isinstance(item, FramingResult):
                win = frames[item.best].window
                best = int(np.argmin(item.total)) if item.previews is not None else 0
                yield Step(
                    item.iteration,
                    item.iterations,
                    item.total,
                    best,
                    item.elapsed,
                    thumbnails=item.previews,
                    composite=_composer(holes.window(win), win, item.previews[best])
                    if item.previews is not None
                    else None,
                    stage=item.stage,
                    info={"model": model.name, "window": list(win)},
                )
                continue
            yield self._framing_final(item, frames, region, model, holes)

    def _framing_final(self, result: FramingResult, frames: list[Frame], region: Region, model, holes) -> Step:
        order = result.survivors[0]
        candidates = []
        for rank, f_index in enumerate(order):
            x, y, s = frames[f_index].window
            for k in range(result.fills[0].shape[1]):
                fill = result.fills[0][rank, k]
                candidates.append(
                    Candidate(
                        len(candidates),
                        f"framing {x},{y},{s} · restart {k + 1}",
                        float(result.contextual[0][rank, k]),
                        fill,
                        ((x, y, s), fill),
                    )
                )
        k = result.fills[0].shape[1]
        best = int(np.argmin(result.total[0][0]))  # the best framing's best restart
        chosen = frames[order[0]].window
        losses = np.array([c.loss for c in candidates])
        tried = [
            {
                "window": list(f.window),
                "loss": float(result.normalised[0][i]),
                "score": float(result.normalised[0][i] / result.detail[0][i]),  # what ranked it: loss / detail
                "detail": float(result.detail[0][i]),
                "cuts": int(result.rounds[0][i]),
                "hole_share": round(f.hole_share, 3),
            }
            for i, f in enumerate(frames)
        ]
        info = {
            "model": model.name,
            "window": list(chosen),
            "fit": float(result.contextual[0][0, best]),
            "framings": tried,
            "chosen": list(chosen),
            "total": result.total[0][0],
            "iterations_per_framing": result.iterations_run[0],
        }
        return Step(
            result.iterations,
            result.iterations,
            losses,
            best,
            result.seconds,
            thumbnails=np.stack([c.thumbnail for c in candidates]),
            composite=_composer(holes.window(chosen), chosen, result.fills[0][0, best]),
            stage=region.label,
            done=True,
            cancelled=result.cancelled,
            candidates=candidates,
            info=info,
        )

    def face_probability(self, image: np.ndarray, mask: np.ndarray, region: Region) -> float:
        """How likely the region's context is a face framed as the models were trained: the
        mean of the face check's ``FACE_CHECK_TOP`` highest probabilities over the windows the
        region would search (its framings, or its one window). A face is seen by several
        nearby framings; a lone window that happens to fire is not enough (measured in the
        README, "Engine choice"). For the automatic engine choice (``core/auto.py``)."""
        plan: FacePlan = region.plan
        windows = list(plan.checked) or [plan.window]
        p = np.sort(self._face_check().probabilities(image, mask, windows))[::-1]
        return float(p[:FACE_CHECK_TOP].mean())

    def finish(self, image: np.ndarray, region: Region, candidate: Candidate) -> Fill:
        (x, y, size), fill = candidate.payload
        return Fill((x, y, x + size, y + size), from_model(fill, size))

    # -- many images at once (evaluation) -----------------------------------------------------
    def fill_batch(
        self,
        images: np.ndarray,
        masks: np.ndarray,
        settings: SearchSettings,
        common,
        windows: Sequence[Sequence[int]] | None = None,
    ) -> tuple[list[Fill], dict]:
        """One hole per image (uint8 (B, H, W, 3), bool (B, H, W)), every image's work in one
        batched search per model: fixed windows (``windows``, one per image, or the automatic
        ones) in one, framing searches (the default) in another. The best candidate's fill per image, and
        ``iterations_run`` (int (B,), the most any of the image's windows ran)."""
        search = self._search_settings(settings, common)
        plans = []
        for b, (image, mask) in enumerate(zip(images, masks)):
            (region,) = self.plan(image, mask, settings, common, None if windows is None else windows[b])
            plans.append(region.plan)
        fills: list[Fill | None] = [None] * len(images)
        found: list = [None] * len(images)  # (window, fill at the model's resolution) per image
        runs = np.zeros(len(images), np.int64)
        for name in dict.fromkeys(pl.model for pl in plans):  # one batched search per model, in plan order
            model = self.model(name)
            fixed = [b for b, pl in enumerate(plans) if pl.model == name and not pl.framings]
            if fixed:
                smalls = [to_model(images[b], masks[b], plans[b].window, model.resolution) for b in fixed]
                result = search_batch(
                    model, np.stack([sm[0] for sm in smalls]), np.stack([sm[1] for sm in smalls]), search
                )
                for i, b in enumerate(fixed):
                    found[b] = (plans[b].window, result.best_fills[i])
                    runs[b] = result.iterations_run[i]
            framed = [b for b, pl in enumerate(plans) if pl.model == name and pl.framings]
            if framed:
                problems = [Problem(images[b], masks[b], list(plans[b].framings)) for b in framed]
                keep = min(plans[b].final_keep for b in framed)
                result = list(framing_search(model, problems, search, final_keep=keep))[-1]
                for i, b in enumerate(framed):
                    best = int(np.argmin(result.total[i][0]))
                    found[b] = (plans[b].framings[result.survivors[i][0]].window, result.fills[i][0, best])
                    runs[b] = result.iterations_run[i].max()
            banded = [b for b, pl in enumerate(plans) if pl.model == name and pl.low_band]
            if banded:
                items = [(images[b], masks[b], found[b][0]) for b in banded]
                bases = base_fills(self.model(plans[banded[0]].low_band), items, model.resolution, search)
                for i, b in enumerate(banded):
                    found[b] = (found[b][0], two_band(found[b][1], bases[i]))
        for b, ((x, y, size), fill) in enumerate(found):
            fills[b] = Fill((x, y, x + size, y + size), from_model(fill, size))
        return fills, {"iterations_run": runs}


def _no_context_message(window: Window, resolution: int, shape: tuple[int, int], placed: bool) -> str:
    """The one-line error for a window the model would see as all hole."""
    x, y, size = window
    seen = f"at the model's {resolution}x{resolution} pixels, the hole covers the whole window {x},{y},{size}"
    if placed:
        return f"{seen}: there is nothing to condition on (place a larger window)"
    if size >= min(shape):
        return (
            f"{seen}, already the largest the photo allows: there is nothing to condition on "
            f"(leave more of the photo outside the hole)"
        )
    return f"{seen}: there is nothing to condition on (place a larger window by hand, or paint a smaller hole)"


def _installed(name: str) -> bool:
    try:
        find_model(name)
    except WeightsError:
        return False
    return True


def _is_tile(hole: np.ndarray, size: int, shape: tuple[int, int]) -> bool:
    """A window spanning the photo's short side around a hole longer than it (no face framing)."""
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    return size == min(shape) and max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 >= size


class _RegionHoles:
    """The region's hole pixels still missing, cut out for any window inside the region's rect."""

    def __init__(self, region: Region, mask: np.ndarray):
        x0, y0, _x1, _y1 = region.rect
        self.origin = (x0, y0)
        sl, hole = region.hole_in(mask.shape)
        self.hole = np.zeros_like(region.hole)
        self.hole[sl[0].start - y0 : sl[0].stop - y0, sl[1].start - x0 : sl[1].stop - x0] = hole & mask[sl]

    def window(self, window: Window) -> np.ndarray:
        x, y, s = window
        ox, oy = self.origin
        return self.hole[y - oy : y - oy + s, x - ox : x - ox + s]


def _composer(hole: np.ndarray, window: Window, fill_small: np.ndarray):
    fill = np.array(fill_small, copy=True)  # the step's array may be reused by a later step
    return lambda max_side: composite_window(hole, window, fill, max_side)
