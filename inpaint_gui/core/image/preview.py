"""Screen previews of a fill inside the model window (numpy and Pillow only, no Qt).

A preview is the candidate pasted into the hole at screen-friendly resolution: an image of
side ``P = min(window size, MAX_SIDE)`` whose alpha is the hole's coverage, so the photo
shows through everywhere else. The worker builds them for live updates; the GUI builds them
when a candidate is clicked. The real result is made by the core pipeline on Apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

MAX_SIDE = 768

Window = tuple[int, int, int]


@dataclass(frozen=True)
class PreviewContext:
    window: Window
    side: int  # P
    alpha: np.ndarray  # uint32 (P, P): hole coverage 0..255 of each preview pixel


def make_context(mask: np.ndarray, window: Window, max_side: int = MAX_SIDE) -> PreviewContext:
    """Coverage of the hole inside ``window`` at preview resolution (box-filtered)."""
    x, y, size = window
    side = int(max(1, min(size, max_side)))
    crop = np.ascontiguousarray(mask[y : y + size, x : x + size]).astype(np.uint8) * np.uint8(255)
    if side != size:
        crop = np.asarray(Image.fromarray(crop, "L").resize((side, side), Image.Resampling.BOX))
    return PreviewContext(window=tuple(int(v) for v in window), side=side, alpha=crop.astype(np.uint32))  # type: ignore[arg-type]


def composite(ctx: PreviewContext, fill_small: np.ndarray) -> np.ndarray:
    """Premultiplied ARGB32 pixels (uint32 (P, P)) of ``fill_small`` (uint8 (S, S, 3)) in the hole."""
    fill = Image.fromarray(np.ascontiguousarray(fill_small, dtype=np.uint8), "RGB")
    if fill.size != (ctx.side, ctx.side):
        fill = fill.resize((ctx.side, ctx.side), Image.Resampling.BICUBIC)
    rgb = np.asarray(fill).astype(np.uint32)  # (P, P, 3)
    a = ctx.alpha
    r = rgb[..., 0] * a // 255
    g = rgb[..., 1] * a // 255
    b = rgb[..., 2] * a // 255
    return np.ascontiguousarray((a << 24) | (r << 16) | (g << 8) | b, dtype=np.uint32)
