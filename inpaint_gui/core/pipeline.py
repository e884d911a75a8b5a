"""Photo + mask -> candidates -> blended photo: the glue used by the CLI and the GUI.

1. Windows: squares around the hole with context (``window.auto_windows``) or the user's.
2. Each window is area-resized to the model's resolution (``window.to_model``).
3. The latent search fills it (``search.latent_search``), yielding progress steps.
4. The chosen G(z) is resized up (``window.from_model``) and Poisson-blended (or pasted) into
   the full-resolution photo inside the hole only: every other pixel is bit-identical.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.blend.poisson import poisson_blend
from inpaint_gui.core.engines.gan.search import SearchSettings, SearchStep, latent_search
from inpaint_gui.core.engines.gan.weights import LoadedModel
from inpaint_gui.core.image.windows import Window, auto_windows, uncovered, validate_window
from inpaint_gui.core.image.resample import from_model, paste, to_model

BLENDS = ("poisson", "paste")
DEFAULT_CONTEXT = 0.5  # context on each side of the hole, as a share of the hole's extent


@dataclass
class WindowResult:
    window: Window
    final: SearchStep  # the search's last step: candidates (previews), losses, latents
    image_small: np.ndarray  # uint8 (S, S, 3): what the model saw
    mask_small: np.ndarray  # bool (S, S)
    chosen: int  # the restart that was blended in


@dataclass
class InpaintResult:
    image: np.ndarray  # uint8 (H, W, 3)
    windows: list[WindowResult] = field(default_factory=list)
    seconds: float = 0.0
    uncovered_pixels: int = 0  # hole pixels outside every window (left as they were)
    cancelled: bool = False


def check_mask(image: np.ndarray, mask: np.ndarray) -> None:
    if mask.shape != image.shape[:2]:
        h, w = image.shape[:2]
        raise MaskError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {w}x{h}")
    if not mask.any():
        raise MaskError("the mask is empty: paint the hole (non-zero pixels mark what to fill)")
    if mask.all():
        raise MaskError("the mask covers the whole photo: there is nothing to condition on")


def plan_windows(mask: np.ndarray, resolution: int, window: Sequence[int] | None = None,
                 context: float = DEFAULT_CONTEXT) -> list[Window]:
    """The user's window (validated) or one automatic window per group of nearby holes."""
    if window is not None:
        x, y, size = validate_window(window, mask.shape)
        if not mask[y:y + size, x:x + size].any():
            raise MaskError(f"the window {x},{y},{size} contains no hole pixel: place it over the hole")
        return [(x, y, size)]
    return auto_windows(mask, context=context, min_size=min(resolution, *mask.shape))


def _window_mask(mask: np.ndarray, window: Window) -> np.ndarray:
    """The part of ``mask`` inside ``window``; False elsewhere."""
    x, y, size = window
    out = np.zeros_like(mask)
    out[y:y + size, x:x + size] = mask[y:y + size, x:x + size]
    return out


def compose(image: np.ndarray, mask: np.ndarray, window: Window, fill_small: np.ndarray, blend: str = "poisson") -> np.ndarray:
    """Seat a model-resolution fill (uint8 (S, S, 3)) in the hole pixels inside ``window``.

    ``poisson``: the result's Laplacian in the hole equals the upsampled fill's, and it meets
    the photo on the hole's border (Perez et al. 2003). ``paste``: the upsampled fill, rounded.
    Pixels outside the hole (or outside the window) are returned bit-identical.
    """
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}")
    x, y, size = window
    hole = _window_mask(mask, window)
    fill_full = from_model(fill_small, size)  # float32 (size, size, 3) in [0, 255]
    if blend == "paste" or not hole.any():
        return paste(image, hole, window, fill_full)
    h, w = mask.shape
    y0, y1, x0, x1 = max(y - 1, 0), min(y + size + 1, h), max(x - 1, 0), min(x + size + 1, w)  # window + 1 px ring
    target = image[y0:y1, x0:x1]
    source = target.astype(np.float32)  # outside the window the photo guides itself
    source[y - y0:y - y0 + size, x - x0:x - x0 + size] = fill_full
    out = image.copy()
    out[y0:y1, x0:x1] = poisson_blend(target, source, hole[y0:y1, x0:x1])
    return out


def inpaint(image: np.ndarray, mask: np.ndarray, model: LoadedModel, settings: SearchSettings = SearchSettings(), *,
            blend: str = "poisson", window: Sequence[int] | None = None, context: float = DEFAULT_CONTEXT,
            cancel: threading.Event | None = None,
            on_step: Callable[[int, Window, SearchStep], None] | None = None) -> InpaintResult:
    """Fill every hole of ``mask`` in ``image``: one latent search per window, then blend.

    Windows are processed in order; pixels filled by an earlier window count as known for a
    later one. ``on_step(window_index, window, step)`` sees every progress step. When
    ``cancel`` is set the current window keeps its best-so-far fill and later windows are
    skipped (``result.cancelled``).
    """
    check_mask(image, mask)
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}")
    start = time.perf_counter()
    s = model.config.resolution
    windows = plan_windows(mask, s, window, context)
    result = InpaintResult(image.copy(), uncovered_pixels=int(uncovered(mask, windows).sum()))
    remaining = mask.copy()
    for i, win in enumerate(windows):
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            break
        hole = _window_mask(remaining, win)
        if not hole.any():
            continue
        x, y, size = win
        if hole[y:y + size, x:x + size].all():
            raise MaskError(f"the hole covers the whole window {win}: there is nothing to condition on (use a larger window)")
        image_small, mask_small = to_model(result.image, remaining, win, s)
        final = None
        for step in latent_search(model, image_small, mask_small, settings, cancel):
            if on_step is not None:
                on_step(i, win, step)
            final = step
        assert final is not None and final.done
        result.image = compose(result.image, hole, win, final.previews[final.best], blend)
        result.windows.append(WindowResult(win, final, image_small, mask_small, final.best))
        remaining &= ~hole
        if final.cancelled:
            result.cancelled = True
            break
    result.seconds = time.perf_counter() - start
    return result
