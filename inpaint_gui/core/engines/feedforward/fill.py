"""One pass of a feed-forward network over 128x128 windows: (image, mask) -> filled window.

The engine wrapper (planning the window with the face framing, seating the fill with the
Poisson blend) stays thin: it hands this module windows of the network's resolution.

- PGGAN fills any hole of the window.
- The Context Encoder fills a block of half the window's side: the block is planned around the
  hole (:func:`plan_block`: centred on the hole's bounding box, moved inside the window); a hole
  whose bounding box is larger than the block cannot be filled by it (``MaskError``).
"""

from __future__ import annotations

import numpy as np
import torch

from inpaint_gui.core.engines.feedforward import ce, pggan
from inpaint_gui.core.engines.feedforward.weights import LoadedNet
from inpaint_gui.core.errors import MaskError


def plan_block(mask: np.ndarray, block: int) -> tuple[int, int] | None:
    """Top-left (y, x) of the ``block`` x ``block`` square that holds the hole of ``mask`` (S, S)
    bool, centred on its bounding box and moved inside the window; None when it does not fit."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    size = mask.shape[0]
    if not len(rows):
        return (size - block) // 2, (size - block) // 2
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if y1 - y0 > block or x1 - x0 > block:
        return None
    y = min(max((y0 + y1 - block) // 2, 0), size - block)
    x = min(max((x0 + x1 - block) // 2, 0), size - block)
    return y, x


def window_input(image: np.ndarray, mask: np.ndarray, window, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """The window (x, y, size), which may hang past the photo (a face framing), resized to
    ``resolution``: uint8 (S, S, 3) and its hole bool (S, S). Past the border the photo's edge
    pixels are repeated and count as known (the networks were trained on whole crops).

    Down-sizing is ``to_model``'s (area; a pixel is missing if any source pixel is). Up-sizing
    (a 64 px photo for a 128 network) maps each pixel to the source pixel under its centre, so a
    32 px hole stays 64 px (bilinear reads would widen it past the Context Encoder's block); the
    hole's pixels hold the known pixels' mean colour before the resize, so none bleeds in."""
    from inpaint_gui.core.engines.gan.resample import area_resize, to_model
    from inpaint_gui.core.image.colour import round_u8

    x, y, size = (int(v) for v in window)
    h, w = mask.shape
    pad = max(0, -x, -y, x + size - w, y + size - h)
    if pad:
        image = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        mask = np.pad(mask, pad, constant_values=False)
    x, y = x + pad, y + pad
    if size >= resolution:
        return to_model(image, mask, (x, y, size), resolution)
    win = image[y : y + size, x : x + size].astype(np.float64)  # (size, size, 3)
    hole_win = mask[y : y + size, x : x + size]
    mean = win[~hole_win].mean(axis=0) if (~hole_win).any() else np.full(3, 128.0)
    win[hole_win] = mean
    small = area_resize(win, resolution)  # (S, S, 3) float64
    centres = ((np.arange(resolution) + 0.5) * size / resolution).astype(np.int64)  # (S,)
    hole = hole_win[np.ix_(centres, centres)]  # (S, S)
    small[hole] = mean
    return round_u8(small), hole


def unfillable(net: LoadedNet, missing: np.ndarray) -> str | None:
    """Why ``net`` cannot fill the hole ``missing`` (S, S) bool of a window at its resolution, or
    None: the Context Encoder's hole must fit its block; any network needs known pixels."""
    if missing.all():
        return "the window is all hole: there is nothing to condition on (paint a smaller hole)"
    if net.arch == "ce" and plan_block(missing, net.config.block) is None:
        return (
            f"too large for the Context Encoder: at most {net.config.block / net.resolution:.0%} of the "
            f"window's side (use another engine or a larger window)"
        )
    return None


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (N, S, S, 3) -> float32 (N, 3, S, S) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


@torch.inference_mode()
def predict_windows(net: LoadedNet, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The network's own pixels, float32 (N, S, S, 3) in [0, 255], wherever it makes them (PGGAN:
    the whole window; the Context Encoder: its block), the window's elsewhere. Outside the hole
    they guide a Poisson blend: its seams follow the network's gradients, not the paste's jump."""
    images, masks = np.asarray(images), np.asarray(masks, bool)
    s = net.resolution
    if images.ndim != 4 or images.shape[1:] != (s, s, 3) or masks.shape != images.shape[:3]:
        raise MaskError(f"{net.name} fills {s}x{s} windows; got images {images.shape} and masks {masks.shape}")
    g = net.generator
    device = next(g.parameters()).device
    x = to_tensor(images, device)  # (N, 3, S, S), the hole's pixels are never read
    hole = torch.from_numpy(masks).to(device)  # (N, S, S)
    if net.arch == "pggan":
        out = g(pggan.pggan_input(x, hole))  # (N, 3, S, S)
    else:
        b = net.config.block
        corners = [plan_block(m, b) for m in masks]
        if any(c is None for c in corners):
            raise MaskError(f"the Context Encoder fills holes of at most {b}x{b} in a {s}x{s} window")
        block_out = g(ce.ce_input(x, hole, torch.tensor(corners, dtype=torch.long), b))  # (N, 3, b, b)
        pixels = _to_pixels(block_out)  # (N, b, b, 3)
        out = images.astype(np.float32)  # the window's own pixels outside the block, exactly
        for i, (y, x0) in enumerate(corners):
            out[i, y : y + b, x0 : x0 + b] = pixels[i]
        return out
    return _to_pixels(out)  # (N, S, S, 3)


def predict_mirrored(net: LoadedNet, images: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`predict_windows` of the windows and of their mirror images (flipped back): two
    fills, float32 (N, S, S, 3) each, in one batch. Their average is PGGAN's first candidate."""
    images, masks = np.asarray(images), np.asarray(masks, bool)
    both = predict_windows(
        net, np.concatenate([images, images[:, :, ::-1]]), np.concatenate([masks, masks[:, :, ::-1]])
    )
    n = len(images)
    return both[:n], np.ascontiguousarray(both[n:, :, ::-1])


def _to_pixels(x: torch.Tensor) -> np.ndarray:
    """float (N, 3, h, w) in [-1, 1] -> float32 (N, h, w, 3) in [0, 255]."""
    return x.float().clamp(-1, 1).add(1).mul(127.5).permute(0, 2, 3, 1).cpu().numpy()


def fill_windows(net: LoadedNet, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Windows uint8 (N, S, S, 3) with holes bool (N, S, S) (True = missing) -> uint8 (N, S, S, 3):
    the known pixels unchanged, the network's fill in the hole (pasted; the caller blends)."""
    pred = predict_windows(net, images, masks)
    masks = np.asarray(masks, bool)
    result = np.array(images, dtype=np.uint8, copy=True)
    result[masks] = np.rint(pred[masks]).astype(np.uint8)
    return result
