"""Photo + mask -> regions -> candidates -> blended photo: the one pipeline of the CLI and the GUI.

1. :func:`plan` checks the mask and asks the engine for regions (a model window around each
   group of holes, or the one the user placed). An optional ``exclude`` mask (bool (H, W),
   True = never copy from here: "don't copy from") goes to the engines with the hole taken
   out of it (an excluded hole pixel is just hole); the regions carry it from then on.
2. :func:`run` runs one region through its engine, yielding progress steps; the last one
   holds the candidates.
3. :func:`finish` turns the chosen candidate into a :class:`Patch`: the engine's pixels seated
   in the hole by Poisson blending (or pasted). Every pixel outside the hole is bit-identical.
4. :func:`inpaint` does all of it for every region in order (the ``run`` command, ``eval``).

``run``, ``eval``, ``bench`` and the GUI's worker drive these functions; nothing else calls
an engine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inpaint_gui.core import auto
from inpaint_gui.core.blend.poisson import poisson_blend
from inpaint_gui.core.devices import DEVICE_CHOICES
from inpaint_gui.core.engines import Engines, infos, names, settings_types
from inpaint_gui.core.engines.base import Candidate, Fill, Region, Step
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.image.colour import is_grey, round_u8, to_grey
from inpaint_gui.core.settings import MAX_SEED, check, setting

BLENDS = ("poisson", "paste")
AUTO = "auto"


def _engine_help() -> str:
    parts = [f"{name} ({info.summary})" if info.summary else name for name, info in infos().items()]
    return "which fill engine fills the holes: auto (each hole to the engine that suits it best), " + ", ".join(parts)


@dataclass(frozen=True)
class CommonSettings:
    """What every engine shares."""

    engine: str = setting("auto", _engine_help(), choices=(AUTO, *names()), label="Engine")
    blend: str = setting(
        "poisson", "how the fill is seated: Poisson blending or a plain paste", choices=BLENDS, label="Blend"
    )
    device: str = setting(
        "auto",
        "where the work runs: auto (CUDA when there is a GPU), cpu or cuda",
        choices=DEVICE_CHOICES,
        label="Device",
    )
    seed: int = setting(0, "random seed (same seed, same result on the CPU)", minimum=0, maximum=MAX_SEED, label="Seed")


@dataclass(frozen=True)
class InpaintSettings:
    """The common settings and each engine's own (by engine name)."""

    common: CommonSettings = CommonSettings()
    engines: Mapping[str, Any] = field(default_factory=lambda: {n: t() for n, t in settings_types().items()})

    def of(self, engine: str) -> Any:
        """``engine``'s settings (its defaults when this holds none for it)."""
        if engine in self.engines:
            return self.engines[engine]
        return settings_types()[engine]()

    def validate(self) -> InpaintSettings:
        check(self.common)
        for s in self.engines.values():
            check(s)
        return self


def model_engines() -> list[str]:
    """The engines that have models to choose from (``info.models``), in registry order."""
    return [name for name, info in infos().items() if info.models]


def models_engine(settings: InpaintSettings) -> str | None:
    """The engine whose model File > Load Model and ``--model`` mean: the chosen engine when it
    has models, else the first engine that has (None: no engine has models)."""
    chosen = settings.common.engine
    if chosen in model_engines():
        return chosen
    return next(iter(model_engines()), None)


def window_engine(settings: InpaintSettings) -> str | None:
    """The engine a placed window is for: the chosen one, or with auto the first (in auto's
    order) that takes placed windows; None when that engine takes none."""
    chosen = settings.common.engine
    if chosen != AUTO:
        return chosen if infos()[chosen].placed_window else None
    taking = sorted((i.auto if i.auto is not None else 1 << 30, n) for n, i in infos().items() if i.placed_window)
    return taking[0][1] if taking else None


def settings_groups() -> list[tuple[str, type]]:
    """(group name, settings class) of everything a user can set: "common", then each engine."""
    return [("common", CommonSettings), *settings_types().items()]


@dataclass
class Patch:
    """The result of :func:`finish`: new pixels for a rectangle of the photo."""

    origin: tuple[int, int]  # (x, y) of ``pixels`` in the photo
    pixels: np.ndarray  # uint8 (h, w, 3)
    changed: np.ndarray  # bool (h, w): the hole pixels that were filled (all others equal the photo)


@dataclass
class RegionResult:
    region: Region
    final: Step  # the engine's last step: candidates, losses, info
    chosen: int  # the candidate that was blended in


@dataclass
class InpaintResult:
    image: np.ndarray  # uint8 (H, W, 3)
    regions: list[RegionResult] = field(default_factory=list)
    seconds: float = 0.0
    uncovered_pixels: int = 0  # hole pixels in no region (left as they were)
    cancelled: bool = False


def check_mask(image: np.ndarray, mask: np.ndarray) -> None:
    if mask.shape != image.shape[:2]:
        h, w = image.shape[:2]
        raise MaskError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {w}x{h}")
    if not mask.any():
        raise MaskError("the mask is empty: paint the hole (white or bright pixels mark what to fill)")
    if mask.all():
        raise MaskError("the mask covers the whole photo: there is nothing to condition on")


def check_exclude(image: np.ndarray, mask: np.ndarray, exclude: np.ndarray | None) -> np.ndarray | None:
    """The pixels never to copy from: ``exclude`` less the hole (a new bool (H, W) array), or
    None when that leaves none. Raises MaskError when it does not fit the photo."""
    if exclude is None:
        return None
    exclude = np.asarray(exclude)
    if exclude.shape != image.shape[:2]:
        h, w = image.shape[:2]
        shape = f"{exclude.shape[1]}x{exclude.shape[0]}" if exclude.ndim == 2 else f"of shape {exclude.shape}"
        raise MaskError(f'the "don\'t copy from" mask is {shape} but the photo is {w}x{h}')
    out = exclude.astype(bool) & ~mask
    return out if out.any() else None


def check_inputs(
    image: np.ndarray,
    mask: np.ndarray,
    settings: InpaintSettings,
    engines: Engines,
    window: Sequence[int] | None = None,
    exclude: np.ndarray | None = None,
) -> np.ndarray | None:
    """Everything about the inputs that can be checked before any work or model load (the
    mask, the exclusion, a placed window); the exclusion as :func:`plan` uses it."""
    check_mask(image, mask)
    exclude = check_exclude(image, mask, exclude)
    if window is not None:
        name = window_engine(settings)
        if name is None:
            raise MaskError(f"the {settings.common.engine} engine takes no placed window: leave --window out")
        engines[name].check_window(window, mask)
    return exclude


def plan(
    image: np.ndarray,
    mask: np.ndarray,
    settings: InpaintSettings,
    engines: Engines,
    window: Sequence[int] | None = None,
    *,
    exclude: np.ndarray | None = None,
    checked: bool = False,
) -> list[Region]:
    """The regions that fill ``mask``, in order (``window``: a square the user placed;
    ``exclude``: bool (H, W), pixels never to copy from, or None). ``checked``: the inputs
    already passed :func:`check_inputs` (the exclusion as it returned it)."""
    if not checked:
        exclude = check_inputs(image, mask, settings, engines, window, exclude)
    name = settings.common.engine
    if name == AUTO and window is None:
        return auto.plan(image, mask, settings, engines, exclude=exclude)
    if window is not None:
        name = window_engine(settings)  # with auto, the engine that takes placed windows
    return engines[name].plan(image, mask, settings.of(name), settings.common, window, exclude=exclude)


def run(
    image: np.ndarray,
    mask: np.ndarray,
    region: Region,
    settings: InpaintSettings,
    engines: Engines,
    cancel: threading.Event | None = None,
) -> Iterator[Step]:
    """The engine's progress steps for ``region``; ``mask`` is what is still missing."""
    yield from engines[region.engine].run(image, mask, region, settings.of(region.engine), settings.common, cancel)


def finish(
    image: np.ndarray,
    mask: np.ndarray,
    region: Region,
    candidate: Candidate,
    settings: InpaintSettings,
    engines: Engines,
) -> Patch:
    """Seat ``candidate`` in the hole pixels of ``region`` that ``mask`` still marks missing."""
    fill = engines[region.engine].finish(image, region, candidate)
    sl, hole = region.hole_in(image.shape)
    hole = hole & mask[sl]
    origin = (sl[1].start, sl[0].start)
    if hole.any():  # work on the hole's bounding box only
        rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
        hole = hole[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        origin = (origin[0] + int(cols[0]), origin[1] + int(rows[0]))
    return seat(image, hole, origin, fill, settings.common.blend)


def seat(image: np.ndarray, hole: np.ndarray, origin: tuple[int, int], fill: Fill, blend: str = "poisson") -> Patch:
    """``fill`` in ``hole`` (bool, its top-left pixel at ``origin`` in the photo).

    ``poisson``: the result's Laplacian in the hole equals the fill's, and it meets the photo
    on the hole's border (Perez et al. 2003); the fill guides the solve inside its rectangle and
    the photo guides itself on a one-pixel ring around it. ``paste``: the fill, rounded.
    """
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}")
    h, w = image.shape[:2]
    ox, oy = origin
    hh, hw = hole.shape
    fx0, fy0 = fill.rect[0], fill.rect[1]
    pixels = np.asarray(fill.pixels)
    if is_grey(image[max(oy - 1, 0) : oy + hh + 1, max(ox - 1, 0) : ox + hw + 1]):  # a greyscale photo: blend luminance
        pixels = to_grey(pixels)
    ys, xs = np.nonzero(hole)
    if len(ys) and not (
        ox + xs.min() >= fx0 and oy + ys.min() >= fy0 and ox + xs.max() < fill.rect[2] and oy + ys.max() < fill.rect[3]
    ):
        raise ValueError(f"the fill's rectangle {fill.rect} does not cover the hole")
    if blend == "paste" or not hole.any():
        crop = image[oy : oy + hh, ox : ox + hw].copy()
        values = pixels[ys + oy - fy0, xs + ox - fx0]
        crop[ys, xs] = values if values.dtype == np.uint8 else round_u8(values)
        return Patch((ox, oy), crop, hole.copy())
    y0, y1, x0, x1 = max(oy - 1, 0), min(oy + hh + 1, h), max(ox - 1, 0), min(ox + hw + 1, w)  # + 1 px ring
    target = image[y0:y1, x0:x1]
    source = target.astype(np.float32)  # outside the fill's rectangle the photo guides itself
    ry0, ry1 = max(fy0, y0), min(fill.rect[3], y1)
    rx0, rx1 = max(fx0, x0), min(fill.rect[2], x1)
    source[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] = pixels[ry0 - fy0 : ry1 - fy0, rx0 - fx0 : rx1 - fx0]
    ring_hole = np.zeros(target.shape[:2], bool)
    ring_hole[oy - y0 : oy - y0 + hh, ox - x0 : ox - x0 + hw] = hole
    return Patch((x0, y0), poisson_blend(target, source, ring_hole), ring_hole)


def apply_patch(image: np.ndarray, patch: Patch, in_place: bool = False) -> np.ndarray:
    """``image`` with ``patch``'s filled pixels: a copy, or ``image`` itself when ``in_place``."""
    out = image if in_place else image.copy()
    x, y = patch.origin
    h, w = patch.changed.shape
    view = out[y : y + h, x : x + w]
    view[patch.changed] = patch.pixels[patch.changed]
    return out


def fill_batch(
    images: np.ndarray,
    masks: np.ndarray,
    settings: InpaintSettings,
    engines: Engines,
    windows: Sequence[Sequence[int]] | None = None,
) -> tuple[list[Fill], dict]:
    """Fills for many images with one hole each (evaluation), and the engine's figures;
    ``windows``: one window per image (None: the engine plans). The engine's ``fill_batch``
    (one image after another, unless the engine batches its work)."""
    name = settings.common.engine
    if name == AUTO:
        raise ValueError("fill_batch needs one engine, not auto")
    for image, mask in zip(images, masks):
        check_mask(image, mask)
    return engines[name].fill_batch(images, masks, settings.of(name), settings.common, windows)


def seat_batch(images: np.ndarray, masks: np.ndarray, fills: list[Fill], blend: str) -> np.ndarray:
    """uint8 (B, H, W, 3): each fill of :func:`fill_batch` seated in its image's hole."""
    return np.stack([apply_patch(im, seat(im, m, (0, 0), f, blend)) for im, m, f in zip(images, masks, fills)])


def inpaint(
    image: np.ndarray,
    mask: np.ndarray,
    settings: InpaintSettings,
    engines: Engines,
    *,
    window: Sequence[int] | None = None,
    exclude: np.ndarray | None = None,
    cancel: threading.Event | None = None,
    on_step: Callable[[int, Region, Step], None] | None = None,
    checked: bool = False,
) -> InpaintResult:
    """Fill every hole of ``mask``: each region in order, its best candidate blended in.

    ``exclude`` (bool (H, W), optional): pixels never copied into the hole (see :func:`plan`).
    Pixels filled by an earlier region count as known for a later one. ``on_step(index,
    region, step)`` sees every progress step. When ``cancel`` is set the current region keeps
    its best-so-far fill and later regions are skipped (``result.cancelled``). ``checked``: the
    inputs already passed :func:`check_inputs`.
    """
    start = time.perf_counter()
    regions = plan(image, mask, settings, engines, window, exclude=exclude, checked=checked)
    covered = mask.copy()  # what no region covers
    for r in regions:
        sl, hole = r.hole_in(mask.shape)
        covered[sl] &= ~hole
    uncovered = int(np.count_nonzero(covered))
    del covered
    result = InpaintResult(image.copy(), uncovered_pixels=uncovered)
    remaining = mask.copy()
    for i, region in enumerate(regions):
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            break
        sl, hole = region.hole_in(mask.shape)
        if not (hole & remaining[sl]).any():
            continue
        final = None
        for step in run(result.image, remaining, region, settings, engines, cancel):
            if on_step is not None:
                on_step(i, region, step)
            final = step
        assert final is not None and final.done
        patch = finish(result.image, remaining, region, final.candidates[final.best], settings, engines)
        apply_patch(result.image, patch, in_place=True)
        remaining[sl] &= ~hole
        result.regions.append(RegionResult(region, final, final.best))
        if final.cancelled:
            result.cancelled = True
            break
    result.seconds = time.perf_counter() - start
    return result
