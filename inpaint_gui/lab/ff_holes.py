"""Training holes for the feed-forward networks, from the ``eval`` mask kinds.

PGGAN (holes anywhere in the window): the central block, a random block of half the side, a
face part (``parts``), a rectangle of 10-40% of the area (``regular``) and an irregular NVIDIA
mask (flipped and rotated at random). The Context Encoder (holes inside a block of half the
side): the central block, a random block, a square of 16 to 64 pixels (at S = 128) at a random
place, and an irregular mask shrunk to the block; its block is planned around the hole as at
inference (``fill.plan_block``).

The holes of a batch depend only on (seed, step), so a resumed run draws the same ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inpaint_gui.core.engines.feedforward.fill import plan_block
from inpaint_gui.lab.masks import center_mask, parts_mask, regular_mask

PGGAN_MIX = {"center": 0.15, "block": 0.15, "parts": 0.25, "regular": 0.2, "irregular": 0.25}
CE_MIX = {"center": 0.2, "block": 0.2, "square": 0.4, "irregular": 0.2}


def load_irregular(files: list[Path], size: int) -> np.ndarray:
    """The masks as bool (M, size, size), nearest-neighbour resized; empty and full ones dropped."""
    out = []
    for p in files:
        with Image.open(p) as im:
            m = np.asarray(im.convert("L").resize((size, size), Image.Resampling.NEAREST)) > 127
        if m.any() and not m.all():
            out.append(m)
    return np.stack(out) if out else np.zeros((0, size, size), bool)


class HoleSampler:
    def __init__(self, arch: str, size: int, seed: int, irregular_files: list[Path] | None = None):
        self.arch, self.size, self.seed = arch, size, seed
        self.block = size // 2
        mix = dict(PGGAN_MIX if arch == "pggan" else CE_MIX)
        self.irregular = load_irregular(irregular_files or [], size if arch == "pggan" else self.block)
        if not len(self.irregular):
            mix.pop("irregular")
        self.kinds = list(mix)
        self.p = np.array([mix[k] for k in self.kinds]) / sum(mix.values())

    def sample(self, step: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Holes bool (n, S, S) and, for the Context Encoder, block corners int (n, 2) (zeros for PGGAN)."""
        rng = np.random.default_rng([self.seed, step, 24])
        holes = np.zeros((n, self.size, self.size), bool)
        corners = np.zeros((n, 2), np.int64)
        for i, kind in enumerate(rng.choice(self.kinds, size=n, p=self.p)):
            holes[i] = self._hole(str(kind), rng)
            if self.arch == "ce":
                corners[i] = plan_block(holes[i], self.block)
        return holes, corners

    def _hole(self, kind: str, rng: np.random.Generator) -> np.ndarray:
        s, b = self.size, self.block
        if kind == "center":
            return center_mask(s)
        if kind == "parts":
            return parts_mask(s, rng)
        if kind == "regular":
            return regular_mask(s, rng)
        hole = np.zeros((s, s), bool)
        y, x = (int(v) for v in rng.integers(0, s - b + 1, 2))
        if kind == "block":
            hole[y : y + b, x : x + b] = True
        elif kind == "square":
            side = int(rng.integers(b // 4, b + 1))
            y, x = (int(v) for v in rng.integers(0, s - side + 1, 2))
            hole[y : y + side, x : x + side] = True
        elif kind == "irregular":
            m = self.irregular[int(rng.integers(len(self.irregular)))]
            m = np.rot90(m, int(rng.integers(4)))
            m = m[:, ::-1] if rng.random() < 0.5 else m
            if self.arch == "pggan":
                return np.ascontiguousarray(m)
            hole[y : y + b, x : x + b] = m
        else:
            raise ValueError(f"unknown hole kind {kind!r}")
        return hole
