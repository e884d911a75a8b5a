"""The compute jobs: load the model, plan regions, run one, preview and finish a candidate.

Each function here is a job's ``fn(ctx)`` body (see :mod:`inpaint_gui.gui.jobs`); they run on
the compute runner's thread, whose ``ctx.resources`` is the one :class:`Engines` of the app,
so a model is loaded once and stays. They only call :mod:`inpaint_gui.core.pipeline`; no Qt
here. Arguments are copies taken on the GUI thread; everything returned or reported is freshly
allocated.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inpaint_gui.core import pipeline
from inpaint_gui.core.image.preview import MAX_SIDE, Preview, composite

PREVIEW_INTERVAL = 0.1  # seconds between previews sent to the screen (about 10 per second)


@dataclass
class ModelInfo:
    engine: str  # the engine that holds it
    name: str
    resolution: int
    mean_face: np.ndarray | None  # uint8 (S, S, 3) framing guide, or None


@dataclass
class RunUpdate:
    """One engine step as the GUI sees it (copies), plus the loss history so far."""

    iteration: int
    iterations: int
    losses: np.ndarray  # float64 (K,)
    best: int
    elapsed: float
    thumbnails: np.ndarray | None  # uint8 (K, s, s, 3)
    preview: Preview | None  # the best candidate in the hole, at most MAX_SIDE on a side
    window: tuple[int, int, int] | None  # the square the engine works in now, if it takes placed windows
    stage: str
    info: dict
    history_iter: np.ndarray  # int (T,)
    history_losses: np.ndarray  # float64 (T, K)
    done: bool = False
    cancelled: bool = False
    candidates: list = field(default_factory=list)  # pipeline candidates, on the last update

    @property
    def rate(self) -> float:
        return self.iteration / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float:
        rate = self.rate
        return (self.iterations - self.iteration) / rate if rate > 0 else float("nan")


# -- settings -------------------------------------------------------------------------------
def live_settings(settings: pipeline.InpaintSettings) -> pipeline.InpaintSettings:
    """``settings`` with engines asked for a step at least every PREVIEW_INTERVAL / 2 seconds
    (engines whose settings have a ``preview_seconds`` field: the search's is 0.2 s)."""
    engines = {}
    for name, s in settings.engines.items():
        names = {f.name for f in dataclasses.fields(s)} if dataclasses.is_dataclass(s) else set()
        if "preview_seconds" in names and s.preview_seconds > PREVIEW_INTERVAL / 2:
            s = dataclasses.replace(s, preview_seconds=PREVIEW_INTERVAL / 2)
        engines[name] = s
    return dataclasses.replace(settings, engines=engines)


def set_threads() -> None:
    import torch

    from inpaint_gui.core.devices import compute_threads

    torch.set_num_threads(compute_threads(leave_for_ui=True))


# -- the jobs ---------------------------------------------------------------------------------
def load_model(ctx, spec: Any, settings: pipeline.InpaintSettings) -> ModelInfo:
    """Load the model (a name, a folder, None for the default, or a loaded model) of the engine
    whose models the settings choose (``pipeline.models_engine``) and warm up."""
    set_threads()
    engine = pipeline.models_engine(settings)
    if engine is None:
        raise ValueError("no engine has models to load")
    model = ctx.resources[engine].load(spec, device="cpu")  # a run moves it to its device
    _warm_up(ctx.resources, engine, model.resolution, settings)
    guide = getattr(model, "mean_face", None)
    guide = None if guide is None else np.array(guide, dtype=np.uint8, copy=True)
    return ModelInfo(engine, str(model.name), int(model.resolution), guide)


def _warm_up(engines, engine: str, resolution: int, settings: pipeline.InpaintSettings) -> None:
    """A few steps of the whole pipeline on a dummy photo, right after loading, in this thread.

    The first run in a process imports modules and initialises torch's kernels and autograd;
    much of that holds the GIL for tenths of a second. Doing it now keeps those pauses away
    from the GUI while a real job runs. Skipped for a GPU (its first job warms it).
    """
    from inpaint_gui.core.devices import resolve_device

    try:
        if resolve_device(settings.common.device).type != "cpu":
            return
    except Exception:
        return
    settings = dataclasses.replace(settings, common=dataclasses.replace(settings.common, engine=engine, device="cpu"))
    s = resolution
    image = np.full((2 * s, 2 * s, 3), 128, np.uint8)
    mask = np.zeros((2 * s, 2 * s), bool)
    mask[s // 2 : s, s // 2 : s] = True
    region = pipeline.plan(image, mask, settings, engines)[0]
    final = None
    for final in pipeline.run(image, mask, region, live_settings(settings), engines, _StopAfter(3)):
        if final.composite is not None:
            final.composite(MAX_SIDE)
    if final is not None and final.candidates:
        pipeline.finish(image, mask, region, final.candidates[final.best], settings, engines)


class _StopAfter(threading.Event):
    """A cancel event that reads as set from its ``polls``-th look on: a few steps of any
    engine that polls its cancel event once per step."""

    def __init__(self, polls: int):
        super().__init__()
        self._left = polls

    def is_set(self) -> bool:
        self._left -= 1
        return self._left < 0 or super().is_set()


def plan(
    ctx,
    image: np.ndarray,
    mask: np.ndarray,
    settings: pipeline.InpaintSettings,
    window: Sequence[int] | None,
    exclude: np.ndarray | None = None,
) -> list:
    """The regions; ``exclude`` ("don't copy from") travels in them to the run."""
    return pipeline.plan(image, mask, settings, ctx.resources, window, exclude=exclude)


def run(ctx, image: np.ndarray, mask: np.ndarray, region, settings: pipeline.InpaintSettings) -> RunUpdate:
    """Iterate the region's run; report about PREVIEW_INTERVAL apart; return the last step."""
    set_threads()
    hist_iter: list[int] = []
    hist_losses: list[np.ndarray] = []
    last_emit = 0.0
    final = None
    for step in pipeline.run(image, mask, region, live_settings(settings), ctx.resources, ctx.cancel):
        if hist_losses and len(step.losses) != len(hist_losses[-1]) and not step.done:
            hist_iter.clear()  # a new series (the engine chosen after a probe): the plot starts over
            hist_losses.clear()
        if not hist_losses or len(step.losses) == len(hist_losses[-1]):  # a final step may list more candidates
            hist_iter.append(int(step.iteration))
            hist_losses.append(np.array(step.losses, dtype=np.float64, copy=True))
        if step.done:
            final = step
            break
        now = time.perf_counter()
        if now - last_emit < PREVIEW_INTERVAL:
            continue
        last_emit = now
        ctx.report(_update(step, hist_iter, hist_losses))
    if final is None:
        raise RuntimeError("the engine stopped without a final step")
    update = _update(final, hist_iter, hist_losses)
    update.done = True
    update.cancelled = bool(final.cancelled)
    update.candidates = [copy.deepcopy(c) for c in final.candidates]
    return update


def _update(step, hist_iter: list[int], hist_losses: list[np.ndarray]) -> RunUpdate:
    preview = step.composite(MAX_SIDE) if step.composite is not None else None
    return RunUpdate(
        iteration=int(step.iteration),
        iterations=int(step.iterations),
        losses=np.array(step.losses, dtype=np.float64, copy=True),
        best=int(step.best),
        elapsed=float(step.elapsed),
        thumbnails=None if step.thumbnails is None else np.array(step.thumbnails, dtype=np.uint8, copy=True),
        preview=preview,
        window=None if step.window is None else tuple(int(v) for v in step.window),
        stage=str(step.stage),
        info=copy.deepcopy(step.info),
        history_iter=np.array(hist_iter, dtype=np.int64),
        history_losses=np.stack(hist_losses) if hist_losses else np.zeros((0, len(step.losses))),
    )


def candidate_preview(
    ctx, image: np.ndarray, mask: np.ndarray, region, candidate, settings: pipeline.InpaintSettings
) -> Preview:
    """The candidate pasted into the hole (what Apply would put there, before blending)."""
    pasted = dataclasses.replace(settings, common=dataclasses.replace(settings.common, blend="paste"))
    patch = pipeline.finish(image, mask, region, candidate, pasted, ctx.resources)
    x, y = patch.origin
    h, w = patch.changed.shape
    return composite(patch.changed, (x, y, x + w, y + h), patch.pixels, MAX_SIDE)


def finish(
    ctx, image: np.ndarray, mask: np.ndarray, region, candidate, settings: pipeline.InpaintSettings
) -> pipeline.Patch:
    return pipeline.finish(image, mask, region, candidate, settings, ctx.resources)
