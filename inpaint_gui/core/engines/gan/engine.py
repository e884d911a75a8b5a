"""The face engine: the latent search of Yeh et al. (2017) in a DCGAN prior, as a fill engine.

Plan: one square *model window* per group of nearby holes (``image.windows.auto_windows``:
the hole plus half its extent of context on every side), or the window the user placed.
Run: the window is area-resized to the model's resolution and the latent search optimises K
restarts; every restart's G(z) is a candidate. Finish: the chosen G(z) is resized up to the
window (bicubic) and handed to the pipeline, which blends it into the hole.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from inpaint_gui.core.engines.base import Candidate, Fill, Region, Step
from inpaint_gui.core.engines.gan.search import SearchSettings, latent_search, search_batch
from inpaint_gui.core.engines.gan.weights import LoadedModel, default_model_name, load_model
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.image.preview import composite_window
from inpaint_gui.core.image.resample import from_model, to_model
from inpaint_gui.core.image.windows import Window, auto_windows, validate_window

DEFAULT_CONTEXT = 0.5  # context on each side of the hole, as a share of the hole's extent


@dataclass(frozen=True)
class FacePlan:
    window: Window  # (x, y, size): the square the model sees
    model: str  # the name of the model that fills it


def plan_windows(mask: np.ndarray, resolution: int, window: Sequence[int] | None = None,
                 context: float = DEFAULT_CONTEXT) -> list[Window]:
    """The user's window (validated) or one automatic window per group of nearby holes."""
    if window is not None:
        x, y, size = validate_window(window, mask.shape)
        if not mask[y:y + size, x:x + size].any():
            raise MaskError(f"the window {x},{y},{size} contains no hole pixel: place it over the hole")
        return [(x, y, size)]
    return auto_windows(mask, context=context, min_size=min(resolution, *mask.shape))


class FaceEngine:
    """Fills holes with a face prior. Holds the loaded models (loading is the slow part)."""

    name = "face"
    title = "Face prior (DCGAN latent search)"
    settings_type = SearchSettings

    def __init__(self, model: LoadedModel | str | Path | None = None):
        self._models: dict[str, LoadedModel] = {}
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
        return self._models[name]  # type: ignore[index]

    # -- the protocol ------------------------------------------------------------------------------
    def plan(self, image: np.ndarray, mask: np.ndarray, settings: SearchSettings, common,
             window: Sequence[int] | None = None) -> list[Region]:
        model = self.model(None if settings.model == "auto" else settings.model)
        regions = []
        for x, y, size in plan_windows(mask, model.resolution, window):
            hole = mask[y:y + size, x:x + size].copy()
            regions.append(Region(self.name, (x, y, x + size, y + size), hole, f"window {x},{y},{size}",
                                  FacePlan((x, y, size), model.name)))
        return regions

    def _search_settings(self, settings: SearchSettings, common) -> SearchSettings:
        return replace(settings, seed=common.seed, device=common.device)

    def run(self, image: np.ndarray, mask: np.ndarray, region: Region, settings: SearchSettings, common,
            cancel: threading.Event | None = None) -> Iterator[Step]:
        plan: FacePlan = region.plan
        model = self.model(plan.model)
        win = plan.window
        x, y, size = win
        if mask[y:y + size, x:x + size].all():
            raise MaskError(f"the hole covers the whole window {win}: there is nothing to condition on "
                            "(use a larger window)")
        image_small, mask_small = to_model(image, mask, win, model.resolution)
        window_hole = mask[y:y + size, x:x + size] & region.hole
        search = self._search_settings(settings, common)
        for s in latent_search(model, image_small, mask_small, search, cancel):
            step = Step(s.iteration, s.iterations, s.total, s.best, s.elapsed, thumbnails=s.previews,
                        composite=_composer(window_hole, win, s.previews[s.best]) if s.previews is not None else None,
                        stage=region.label, done=s.done, cancelled=s.cancelled,
                        info={"contextual": s.contextual, "perceptual": s.perceptual, "total": s.total})
            if s.done:
                step.candidates = [Candidate(k, f"restart {k + 1}", float(s.total[k]), s.previews[k], s.previews[k])
                                   for k in range(len(s.total))]
                step.info.update(stopped_early=s.stopped_early, model=model.name, window=list(win))
            yield step

    def finish(self, image: np.ndarray, region: Region, candidate: Candidate) -> Fill:
        x, y, size = region.plan.window
        return Fill((x, y, x + size, y + size), from_model(candidate.payload, size))

    # -- many small images at once (evaluation) ------------------------------------------------
    def fill_batch(self, images: np.ndarray, masks: np.ndarray, settings: SearchSettings,
                   common) -> tuple[list[Fill], dict]:
        """Whole-image windows of B images (uint8 (B, S, S, 3), at the model's resolution) in one
        batched search: the best restart's fill per image, and ``iterations_run`` (int (B,))."""
        result = search_batch(self.model(), images, masks, self._search_settings(settings, common))
        s = images.shape[1]
        fills = [Fill((0, 0, s, s), from_model(f, s)) for f in result.best_fills]
        return fills, {"iterations_run": result.iterations_run}


def _composer(hole: np.ndarray, window: Window, fill_small: np.ndarray):
    fill = np.array(fill_small, copy=True)  # the step's array may be reused by a later step
    return lambda max_side: composite_window(hole, window, fill, max_side)
