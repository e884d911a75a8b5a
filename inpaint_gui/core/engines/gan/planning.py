"""The face engine's plan: a window per group of nearby holes, and the framings to search in it.

For each group of nearby holes (``windows.auto_windows``) the plan is either a *framing search*
(``framing.py``: windows over scale and position, proposed by the face check and moved by the
framer where they are installed; the default) or one fixed window (the hole plus half its
extent of context, or the window the user placed). The model that fills a window follows its
size (``FaceEngine.model_for``); a 128 window may take ``celeba64``'s low band (``twoband.py``).
For the automatic engine choice, :func:`face_probability` says how likely a region's context is
a face framed as the models were trained.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inpaint_gui.core.engines.base import Region
from inpaint_gui.core.engines.gan.framing import (
    FINAL_KEEP,
    PRIOR_SCALES,
    PRIOR_SHIFTS,
    REFINED_FINAL_KEEP,
    Frame,
    candidate_windows,
    photo_framing,
    prior_framings,
    refined_framings,
    too_large_message,
    with_photo,
)
from inpaint_gui.core.engines.gan.resample import known_small
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.gan.twoband import low_band_model
from inpaint_gui.core.engines.gan.windows import Window, auto_windows, check_placed_window
from inpaint_gui.core.errors import MaskError

DEFAULT_CONTEXT = 0.5  # context on each side of the hole, as a share of the hole's extent
FACE_CHECK_TOP = 3  # the face check's verdict: the mean of its best windows


@dataclass(frozen=True)
class FacePlan:
    window: Window  # (x, y, size): the fixed window, or today's automatic one when framing
    model: str  # the name of the model that fills it
    framings: tuple[Frame, ...] = ()  # the framings to search; empty: the fixed window
    checked: tuple[Window, ...] = ()  # the coarse grid the face check judges for the engine choice
    placed: bool = False  # the window is the one the user placed
    final_keep: int = FINAL_KEEP  # framings that run to convergence (REFINED_FINAL_KEEP for the framer's)
    low_band: str | None = None  # the model whose search gives the fill's low band (twoband.py), or None
    network: str | None = None  # the feed-forward network shown first and kept as a candidate (network.py)
    network_band: bool = False  # the low band from the network's pass where it can fill the hole
    encoder: str | None = None  # the prior whose learned start (encoder.py) starts the search, or None


def plan_windows(
    mask: np.ndarray, resolution: int, window: Sequence[int] | None = None, context: float = DEFAULT_CONTEXT
) -> list[Window]:
    """The user's window (validated) or one automatic window per group of nearby holes."""
    if window is not None:
        return [check_placed_window(window, mask)]
    return auto_windows(mask, context=context, min_size=min(resolution, *mask.shape))


def plan(
    engine,
    image: np.ndarray,
    mask: np.ndarray,
    settings: SearchSettings,
    window: Sequence[int] | None = None,
) -> list[Region]:
    """The face engine's regions (``engine``: the FaceEngine, for its models and framing nets)."""
    smallest = engine.model_for(settings, 0).resolution  # the smallest window side the models plan for
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
                res = engine.model_for(settings, sorted(f.window[2] for f in coarse)[len(coarse) // 2]).resolution
                coarse = [f for f in coarse if known_small(mask, f.window, res).any()]
            if not coarse:
                raise MaskError(too_large_message(mask, box))
            checked = tuple(f.window for f in coarse)
            proposed, refined = (
                _framings(engine, image, mask, box, (x, y, size), settings.photo_framing)
                if settings.framing_prior
                else (None, False)
            )
            if proposed:
                res = engine.model_for(settings, sorted(f.window[2] for f in proposed)[len(proposed) // 2]).resolution
                proposed = [f for f in proposed if known_small(mask, f.window, res).any()]
            frames = tuple(proposed or coarse)
            keep = REFINED_FINAL_KEEP if refined and proposed else FINAL_KEEP
        sides = sorted(f.window[2] for f in frames) or [size]
        model = engine.model_for(settings, sides[len(sides) // 2])  # by the median framing
        if not frames and not known_small(mask, (x, y, size), model.resolution).any():
            raise MaskError(no_context_message((x, y, size), model.resolution, mask.shape, window is not None))
        rect = _union([(x, y, size)] + [f.window for f in frames])
        region_hole = np.zeros((rect[3] - rect[1], rect[2] - rect[0]), bool)
        region_hole[y - rect[1] : y - rect[1] + size, x - rect[0] : x - rect[0] + size] = hole
        where = f"window {x},{y},{size}" if not frames else f"{len(frames)} framings around {x},{y},{size}"
        net = engine.network_for(settings, model.resolution)
        network_band = net is not None and settings.low_band in ("auto", "network")
        base = low_band_model(settings, model.resolution, engine.has_model)
        label = f"{model.name}{f' over {net if network_band else base}' if network_band or base else ''} · {where}"
        face_plan = FacePlan(
            (x, y, size),
            model.name,
            frames,
            checked,
            placed=window is not None,
            final_keep=keep,
            low_band=base,
            network=net,
            network_band=network_band,
            encoder=engine.encoder_for(settings, model),
        )
        regions.append(Region(engine.info.name, rect, region_hole, label, face_plan, window=(x, y, size)))
    return regions


def _framings(
    engine, image: np.ndarray, mask: np.ndarray, box, base: Window, photo: bool = True
) -> tuple[list[Frame] | None, bool]:
    """The framings to search, proposed by the face check over a fine grid (see
    ``framing.prior_framings``); None when the check is not installed (the coarse grid then).
    The engine keeps its last answer: the engine choice (``at_the_framing``) and the plan ask
    for the same hole in a row, and the check and framer cost a second each on one thread."""
    key = (tuple(box), tuple(base), photo, _fingerprint(image, mask, base))
    last = getattr(engine, "_proposed", None)
    if last is not None and last[0]() is image and last[1]() is mask and last[2] == key:
        return last[3]
    result = _propose(engine, image, mask, box, base, photo)
    engine._proposed = (weakref.ref(image), weakref.ref(mask), key, result)
    return result


def _propose(engine, image, mask, box, base: Window, photo: bool) -> tuple[list[Frame] | None, bool]:
    check = engine.face_check(required=False)
    if check is None:
        return None, False
    dense = candidate_windows(mask, box, base=base, scales=PRIOR_SCALES, shifts=PRIOR_SHIFTS)
    proposed = prior_framings(dense, check.logits(image, mask, [f.window for f in dense], fast=True))
    framer = engine.framer()
    if framer is None or not proposed:
        return proposed, False
    from inpaint_gui.core.engines.gan.framer import consensus

    landed = framer.refine(image, mask, [f.window for f in proposed])
    refined = refined_framings(mask, box, [consensus(landed), *landed])
    if photo:
        refined = with_photo(photo_framing(mask, box), refined)
    return (refined, True) if refined else (proposed, False)


def _fingerprint(image: np.ndarray, mask: np.ndarray, window: Window) -> str:
    """A digest of the photo and the mask inside ``window`` (a kept answer is for these pixels)."""
    x, y, size = window
    x0, y0 = max(x, 0), max(y, 0)
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(image[y0 : y + size, x0 : x + size]).tobytes())
    h.update(np.packbits(mask[y0 : y + size, x0 : x + size]).tobytes())
    return h.hexdigest()


def face_framing(engine, image: np.ndarray, mask: np.ndarray, window: Window) -> Window | None:
    """The window in which the face around the hole in ``window`` is framed as the priors were
    trained (the framer's consensus, or the photo for an aligned crop), or None when the face
    check or the framer is not installed or sees no framing. For other engines trained on the
    same crops (``engine``: a FaceEngine, for its check and framer)."""
    x, y, size = window
    box = _box(mask[y : y + size, x : x + size], (x, y))
    framings, refined = _framings(engine, image, mask, box, window)
    return framings[0].window if refined and framings else None


def face_probability(check, image: np.ndarray, mask: np.ndarray, region: Region) -> float:
    """How likely the region's context is a face framed as the models were trained: the mean of
    the face check's ``FACE_CHECK_TOP`` highest probabilities over the windows the region would
    search (its framings, or its one window). A face is seen by several nearby framings; a lone
    window that happens to fire is not enough (measured in the README, "Engine choice")."""
    face_plan: FacePlan = region.plan
    windows = list(face_plan.checked) or [face_plan.window]
    p = np.sort(check.probabilities(image, mask, windows))[::-1]
    return float(p[:FACE_CHECK_TOP].mean())


def at_the_framing(engine, check, image: np.ndarray, mask: np.ndarray, region: Region, p: float) -> float:
    """``p`` (the face check's verdict over the region's windows), or the check's probability at
    the framing the search would use (the framer's consensus) when that is lower. A close-up (the
    face fills the photo, the hole over the hairline or forehead): nearby windows look like a
    face, but where the framer would frame it, hanging far past the photo, the check sees no face
    framed as the priors were trained, and the prior paints a blotch (docs/experiments.md)."""
    face_plan: FacePlan = region.plan
    if not face_plan.checked or face_plan.placed:
        return p
    x, y, size = face_plan.window
    box = _box(mask[y : y + size, x : x + size], (x, y))
    framings, refined = _framings(engine, image, mask, box, face_plan.window)
    if not refined:
        return p
    return min(p, float(check.probabilities(image, mask, [framings[0].window])[0]))


def no_context_message(window: Window, resolution: int, shape: tuple[int, int], placed: bool) -> str:
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


def _is_tile(hole: np.ndarray, size: int, shape: tuple[int, int]) -> bool:
    """A window spanning the photo's short side around a hole longer than it (no face framing)."""
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    return size == min(shape) and max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 >= size
