"""The image pyramid of the exemplar fill: masks first (cheap, for planning), pixels later.

Levels go from full resolution (index 0) to the coarsest. Each is 2x smaller than the one
before, through the [1 3 3 1] binomial filter (coarse pixel i reads fine pixels 2i-1 ..
2i+2). A coarse pixel is *missing* only when no known fine pixel enters it, so holes shrink
down the pyramid and their coarse values extrapolate the surroundings (a push-pull fill);
it is *blocked* (never part of a source patch) when any missing or excluded fine pixel
enters it, so that coarse sources are made of known pixels only.

Pixels are RGB plus two texture channels (Newson et al. 2014): |d/dx| and |d/dy| of the
grey image averaged over 3x3 known pixels; averaged down the pyramid they say at every
level how textured the full-resolution pixels are. With ``texture_guide`` they are not
synthesised in the hole but hold the membrane fill of the border's values there (guides).
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from inpaint_gui.core.blend.poisson import poisson_blend
from inpaint_gui.core.errors import MaskError

__all__ = ["Level", "base_pixels", "count_sources", "plan_levels", "texture_channels", "upsample2"]


class Level:
    """One level's masks, source centres and target patches; ``img`` (float32 (h, w, C))
    is set when the level's pixels are built."""

    def __init__(self, hole: np.ndarray, blocked: np.ndarray, scale: int, p: int):
        self.hole, self.blocked, self.scale = hole, blocked, scale  # bool (h, w), bool (h, w)
        self.img: np.ndarray | None = None
        self.voted = 3  # channels the votes write (the others are guides)
        r = p // 2
        h, w = hole.shape
        # patches centred inside the image: blocked / hole pixels in each (summed-area tables)
        self.valid = np.zeros((h, w), bool)  # where a source patch may be centred
        self.valid[r : h - r, r : w - r] = _patch_sums(blocked, r) == 0
        self.src_y, self.src_x = _where(self.valid)
        near = np.zeros((h, w), bool)  # where a patch meets the hole: the targets
        near[r : h - r, r : w - r] = _patch_sums(hole, r) > 0
        self.ty, self.tx = _where(near)  # int32 (N,)
        self.tid = np.full((h, w), -1, np.int32)
        self.tid[self.ty, self.tx] = np.arange(self.ty.size, dtype=np.int32)
        self.hy, self.hx = _where(hole)  # hole pixels (M,)
        rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
        self.box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        self.radius = _inscribed_radius(hole, self.box)

    @property
    def n_targets(self) -> int:
        return int(self.ty.size)

    @property
    def shape(self) -> tuple[int, int]:
        return self.hole.shape


def _where(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-major (y, x) int32 coordinates of the True pixels (1-D nonzero: fast)."""
    lin = np.flatnonzero(mask)
    ys, xs = np.divmod(lin, mask.shape[1])
    return ys.astype(np.int32), xs.astype(np.int32)


def _patch_sums(mask: np.ndarray, r: int) -> np.ndarray:
    """int32 (h - 2r, w - 2r): True pixels in the (2r+1)^2 patch centred at each pixel
    whose patch lies inside the image."""
    h, w = mask.shape
    table = np.zeros((h + 1, w + 1), np.int32)
    np.cumsum(mask, axis=0, dtype=np.int32, out=table[1:, 1:])
    np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
    p = 2 * r + 1
    return table[p:, p:] - table[:-p, p:] - table[p:, :-p] + table[:-p, :-p]


def count_sources(blocked: np.ndarray, patch_size: int) -> int:
    """How many source patches ``blocked`` (bool (h, w): hole or excluded) leaves: the
    patch_size x patch_size squares inside the array that hold no blocked pixel."""
    h, w = blocked.shape
    if min(h, w) < patch_size:
        return 0
    return int(np.count_nonzero(_patch_sums(blocked, patch_size // 2) == 0))


def _inscribed_radius(hole: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Largest distance from a hole pixel to the nearest known pixel (EDT on the box + 1)."""
    y0, y1, x0, x1 = box
    y0, x0 = max(y0 - 1, 0), max(x0 - 1, 0)
    y1, x1 = min(y1 + 1, hole.shape[0]), min(x1 + 1, hole.shape[1])
    return float(ndi.distance_transform_edt(hole[y0:y1, x0:x1]).max())


def _any4(mask: np.ndarray) -> np.ndarray:
    """bool ((h + 1) // 2, (w + 1) // 2): True where any pixel of the 4x4 footprint
    (2i-1 .. 2i+2, outside the image False) is True."""
    for axis in (0, 1):
        n = mask.shape[axis]
        n2 = (n + 1) // 2
        pad = [(0, 0), (0, 0)]
        pad[axis] = (1, 2 * n2 - n + 2)
        m = np.pad(mask, pad)
        out = np.zeros(m.shape[:axis] + (n2,) + m.shape[axis + 1 :], bool)
        for t in range(4):
            idx = [slice(None), slice(None)]
            idx[axis] = slice(t, t + 2 * n2, 2)
            out |= m[tuple(idx)]
        mask = out
    return mask


def plan_levels(
    hole: np.ndarray, exclude: np.ndarray | None, patch_size: int, coarse_radius: float, min_coarse_side: int
) -> list[Level]:
    """The pyramid's masks. Coarser levels are added while the hole's inscribed radius is
    above ``coarse_radius`` patches, the next level keeps its smaller side at least
    ``min_coarse_side`` and enough source patches. Raises MaskError without any source."""
    blocked = hole if exclude is None else hole | exclude
    levels = [Level(hole, blocked, 1, patch_size)]
    if levels[0].src_y.size == 0:
        raise MaskError("no fully known patch outside the hole and the exclusion to copy from")
    while levels[-1].radius > coarse_radius * patch_size:
        cur = levels[-1]
        h, w = cur.shape
        if min((h + 1) // 2, (w + 1) // 2) < min_coarse_side:
            break
        small_hole = ~_any4(~cur.hole)  # no known pixel enters
        if not small_hole.any():
            break
        nxt = Level(small_hole, _any4(cur.blocked) | small_hole, cur.scale * 2, patch_size)
        if nxt.src_y.size < max(16, nxt.hy.size // 4):
            break
        levels.append(nxt)
    return levels


def texture_channels(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """|d/dx| and |d/dy| of the grey image averaged over the pairs of known pixels near
    each pixel (3x3); float32 (H, W, 2), 0 where no known pair is near."""
    from inpaint_gui.core.engines.patch.nnf import texture

    grey = image.astype(np.float32).mean(axis=2)  # (H, W)
    out = np.empty(hole.shape + (2,), np.float32)
    texture(grey, hole, out)
    return out


def base_pixels(
    image: np.ndarray, hole: np.ndarray, tex: np.ndarray | None, texture_weight: float, guide: bool
) -> tuple[np.ndarray, int]:
    """Full-resolution pixels, float32 (H, W, C), and the number of voted channels: RGB
    (0 in the hole: the input's hole pixels are never read) plus, given the texture
    channels ``tex`` (float32 (H, W, 2)), those weighted (guides filled in the hole, or voted)."""
    h, w = hole.shape
    img = np.empty((h, w, 3 if tex is None else 5), np.float32)  # (H, W, C)
    img[:, :, :3] = image
    voted = 3
    if tex is not None:
        img[:, :, 3:] = tex
        img[:, :, 3:] *= np.float32(texture_weight)
        if guide:  # the membrane fill of the border's texture, solved on the hole's box
            rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
            y0, y1 = max(rows[0] - 1, 0), min(rows[-1] + 2, h)
            x0, x1 = max(cols[0] - 1, 0), min(cols[-1] + 2, w)
            box = img[y0:y1, x0:x1, 3:]  # (bh, bw, 2) view
            sub = hole[y0:y1, x0:x1]
            if not sub.all():
                u8 = np.clip(np.rint(box / np.float32(texture_weight)), 0, 255).astype(np.uint8)
                fill = poisson_blend(u8, np.broadcast_to(np.float32(0), u8.shape), sub, raw=True)
                box[sub] = np.float32(texture_weight) * fill[sub]
        else:
            voted = 5
    img[hole, :voted] = 0
    return img, voted


def upsample2(small: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Bilinear 2x upsampling (pixel areas aligned) of float32 ``small`` (h, w, C), only the
    fine ``box`` (y0, y1, x0, x1): float32 (y1 - y0, x1 - x0, C)."""
    from PIL import Image

    y0, y1, x0, x1 = box
    sy0, sx0 = max(y0 // 2 - 1, 0), max(x0 // 2 - 1, 0)
    sy1, sx1 = min(-(-y1 // 2) + 1, small.shape[0]), min(-(-x1 // 2) + 1, small.shape[1])
    crop_box = (x0 / 2 - sx0, y0 / 2 - sy0, x1 / 2 - sx0, y1 / 2 - sy0)
    out = np.empty((y1 - y0, x1 - x0, small.shape[2]), np.float32)
    for c in range(small.shape[2]):
        band = Image.fromarray(np.ascontiguousarray(small[sy0:sy1, sx0:sx1, c]))
        out[:, :, c] = np.asarray(band.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR, box=crop_box))
    return out
