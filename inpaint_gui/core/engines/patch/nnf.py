"""Numba kernels of the exemplar fill: PatchMatch nearest-neighbour fields, patch voting, and
the pyramid's reduction.

A nearest-neighbour field (NNF) maps every *target* patch (a patch that overlaps the hole)
to a *source* patch (fully known, outside the hole and the user's exclusion) of smallest
sum of squared differences (SSD) over the (2r+1)^2 RGB pixels. Patches are named by their
centres; targets are given as lists ``ty, tx`` (int32 (N,)) in raster order, with ``tid``
(int32 (H, W)) the index of the target centred at a pixel or -1, and the field as
``nny, nnx`` (int32 (N,)) with its SSDs ``dist`` (float32 (N,)). ``valid`` (bool (H, W)) says
where a source patch may be centred.

PatchMatch (Barnes et al. 2009) improves a field in sweeps: each target in turn tries the
shifted matches of the neighbours already visited (*propagation*; forward sweeps look left
and up, backward sweeps right and down) and then random centres in windows around its best
match whose radius halves from ``radius`` down to one pixel (*random search*).
:func:`onion_layer` makes the first fill of the coarsest level: hole pixels are matched
layer by layer from the hole's edge inwards against the pixels known or filled so far
(an "onion peel", Newson et al. 2014), each taking the centre of its best source patch.

Why numba rather than numpy or torch: PatchMatch is sequential per pixel (each target uses
the matches its neighbours found a moment before) with data-dependent random access into
the image, so it does not vectorise; as array code it would be a Python loop over pixels.
Compiled loops with early-terminated SSDs run it at C speed on one core. ``nogil=True``
releases the GIL while a kernel runs, so the GUI thread stays responsive while a worker
thread fills; every kernel takes a ``[lo, hi)`` range of targets so that the caller can cut
the work into calls of a few tens of milliseconds and check for cancellation between them.

Random numbers come from a counter-based hash of (key, target index): a result depends on
the seed only, never on how the work was cut into calls.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

__all__ = [
    "match_distances",
    "mix_key",
    "onion_layer",
    "reduce2",
    "sweep",
    "vote",
]


def mix_key(*parts: int) -> np.uint64:
    """A 64-bit key for the kernels' hash from small non-negative integers (seed, level, ...)."""
    z = 0x243F6A8885A308D3
    for p in parts:
        z = (z ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * 0x100000001B3 & 0xFFFFFFFFFFFFFFFF
        z = (z ^ (z >> 29)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
    return np.uint64(z)


@njit(cache=True, nogil=True, inline="always")
def _mix(z):
    """splitmix64's finaliser: a well-mixed uint64 from a uint64."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def _uniform_int(state, lo, hi):
    """(new state, an int in [lo, hi]) from a Weyl-sequence state."""
    state = state + _GOLDEN
    span = np.uint64(hi - lo + 1)
    return state, lo + np.int64(_mix(state) % span)


@njit(cache=True, nogil=True)
def _ssd(img, ay, ax, by, bx, r, limit):
    """SSD between the patches centred at (ay, ax) and (by, bx) of img (H, W, C) float32;
    stops early (returning a value > limit) once a row ends above ``limit``."""
    nc = img.shape[2]
    s = 0.0
    for dy in range(-r, r + 1):
        ra = img[ay + dy]
        rb = img[by + dy]
        for dx in range(-r, r + 1):
            pa = ra[ax + dx]
            pb = rb[bx + dx]
            for c in range(nc):
                d = pa[c] - pb[c]
                s += d * d
        if s > limit:
            return s
    return s


@njit(cache=True, nogil=True)
def match_distances(img, ty, tx, nny, nnx, dist, lo, hi, r):
    """dist[k] = SSD(target k, its match) for k in [lo, hi) (after the image changed)."""
    for k in range(lo, hi):
        dist[k] = _ssd(img, np.int64(ty[k]), np.int64(tx[k]), np.int64(nny[k]), np.int64(nnx[k]), r, np.inf)


@njit(cache=True, nogil=True)
def _try(img, valid, y, x, cy, cx, r, best):
    """SSD of candidate centre (cy, cx) for target (y, x) if it is a valid source and could
    beat ``best``; else +inf."""
    h, w = valid.shape
    if cy < r or cy >= h - r or cx < r or cx >= w - r or not valid[cy, cx]:
        return np.inf
    return _ssd(img, y, x, cy, cx, r, best)


@njit(cache=True, nogil=True)
def sweep(img, valid, ty, tx, tid, nny, nnx, dist, lo, hi, backward, radius, key, r):
    """One PatchMatch sweep over targets [lo, hi) (visited in reverse when ``backward``).

    img: float32 (H, W, 3); valid: bool (H, W); ty, tx, nny, nnx: int32 (N,); tid: int32
    (H, W); dist: float32 (N,) current SSDs, updated with the field in place. ``radius``:
    the first random-search window half-width in pixels; ``key``: uint64 hash key.
    Returns the number of improved matches.
    """
    step = -1 if backward else 1
    first, last = (hi - 1, lo - 1) if backward else (lo, hi)
    h, w = valid.shape
    improved = 0
    for k in range(first, last, step):
        y = np.int64(ty[k])
        x = np.int64(tx[k])
        by = np.int64(nny[k])
        bx = np.int64(nnx[k])
        best = np.float64(dist[k])
        start = best
        # propagation: the neighbour visited just before, in x and in y
        j = tid[y, x - step] if 0 <= x - step < w else -1
        if j >= 0:
            cy, cx = np.int64(nny[j]), np.int64(nnx[j]) + step
            if cy != by or cx != bx:
                d = _try(img, valid, y, x, cy, cx, r, best)
                if d < best:
                    best, by, bx = d, cy, cx
        j = tid[y - step, x] if 0 <= y - step < h else -1
        if j >= 0:
            cy, cx = np.int64(nny[j]) + step, np.int64(nnx[j])
            if cy != by or cx != bx:
                d = _try(img, valid, y, x, cy, cx, r, best)
                if d < best:
                    best, by, bx = d, cy, cx
        # random search in windows of halving radius around the best match
        state = _mix(key ^ (np.uint64(k) * _GOLDEN))
        rad = radius
        while rad >= 1:
            state, cy = _uniform_int(state, max(by - rad, r), min(by + rad, h - 1 - r))
            state, cx = _uniform_int(state, max(bx - rad, r), min(bx + rad, w - 1 - r))
            if cy != by or cx != bx:
                d = _try(img, valid, y, x, cy, cx, r, best)
                if d < best:
                    best, by, bx = d, cy, cx
            rad //= 2
        if best < start:
            improved += 1
            nny[k] = by
            nnx[k] = bx
            dist[k] = best
    return improved


@njit(cache=True, nogil=True)
def vote(img, ty, tx, nny, nnx, weight, hole, acc, wsum, lo, hi, r):
    """Weighted voting for targets [lo, hi): every hole pixel of target patch k receives the
    matching pixel of its source patch with weight[k] (acc: float32 (H, W, C) sums,
    wsum: float32 (H, W) weights; both accumulate across calls)."""
    for k in range(lo, hi):
        wk = weight[k]
        if wk <= 0.0:
            continue
        y, x, sy, sx = ty[k], tx[k], nny[k], nnx[k]
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                py, px = y + dy, x + dx
                if hole[py, px]:
                    src = img[sy + dy, sx + dx]
                    a = acc[py, px]
                    for c in range(img.shape[2]):
                        a[c] += wk * src[c]
                    wsum[py, px] += wk


@njit(cache=True, nogil=True)
def onion_layer(img, filled, valid, src_y, src_x, py, px, nn_y, nn_x, lo, hi, n_random, key, r):
    """Match hole pixels [lo, hi) of one onion layer (py, px: int32 (M,)) on the pixels
    ``filled`` so far (bool (H, W)) and copy in the centres of their best source patches.

    A pixel near the image edge uses the nearest patch centre inside the image and copies
    the matching offset. Candidates: the shifted matches of filled 8-neighbours (nn_y, nn_x:
    int32 (H, W): the source pixel each filled hole pixel copied, -1 where none), ``n_random`` sources drawn from the list
    (src_y, src_x: int32 (S,)), or all of them when that is not more, then random search.
    The caller marks the layer filled after all its pixels (the result is order-free).
    """
    h, w = filled.shape
    n_src = src_y.shape[0]
    for k in range(lo, hi):
        y0, x0 = np.int64(py[k]), np.int64(px[k])
        cy0 = min(max(y0, r), h - 1 - r)  # target centre inside the image
        cx0 = min(max(x0, r), w - 1 - r)
        oy, ox = y0 - cy0, x0 - cx0
        best = np.inf
        by, bx = -1, -1
        # candidates from the filled neighbours' matches
        for ny in range(y0 - 1, y0 + 2):
            for nx in range(x0 - 1, x0 + 2):
                if 0 <= ny < h and 0 <= nx < w and filled[ny, nx] and nn_y[ny, nx] >= 0:
                    sy = np.int64(nn_y[ny, nx]) + (y0 - ny) - oy
                    sx = np.int64(nn_x[ny, nx]) + (x0 - nx) - ox
                    if r <= sy < h - r and r <= sx < w - r and valid[sy, sx]:
                        d = _masked_ssd(img, filled, cy0, cx0, sy, sx, r, best)
                        if d < best:
                            best, by, bx = d, sy, sx
        state = _mix(key ^ (np.uint64(k) * _GOLDEN))
        if n_random >= n_src:
            for i in range(n_src):
                sy, sx = np.int64(src_y[i]), np.int64(src_x[i])
                d = _masked_ssd(img, filled, cy0, cx0, sy, sx, r, best)
                if d < best:
                    best, by, bx = d, sy, sx
        else:
            for _ in range(n_random):
                state, i = _uniform_int(state, 0, n_src - 1)
                sy, sx = np.int64(src_y[i]), np.int64(src_x[i])
                d = _masked_ssd(img, filled, cy0, cx0, sy, sx, r, best)
                if d < best:
                    best, by, bx = d, sy, sx
        rad = max(h, w) // 4
        while rad >= 1 and by >= 0:
            state, sy = _uniform_int(state, max(by - rad, r), min(by + rad, h - 1 - r))
            state, sx = _uniform_int(state, max(bx - rad, r), min(bx + rad, w - 1 - r))
            if valid[sy, sx]:
                d = _masked_ssd(img, filled, cy0, cx0, sy, sx, r, best)
                if d < best:
                    best, by, bx = d, sy, sx
            rad //= 2
        if by >= 0:
            for c in range(img.shape[2]):
                img[y0, x0, c] = img[by + oy, bx + ox, c]
            nn_y[y0, x0] = by + oy  # the source pixel's own centre, for the neighbours
            nn_x[y0, x0] = bx + ox


@njit(cache=True, nogil=True)
def _masked_ssd(img, filled, ay, ax, by, bx, r, limit):
    """SSD over the pixels of patch (ay, ax) that are ``filled`` (early-terminated)."""
    s = 0.0
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if filled[ay + dy, ax + dx]:
                pa = img[ay + dy, ax + dx]
                pb = img[by + dy, bx + dx]
                for c in range(img.shape[2]):
                    d = pa[c] - pb[c]
                    s += d * d
        if s > limit:
            return s
    return s


@njit(cache=True, nogil=True)
def reduce2(img, hole, voted, out, lo, hi):
    """Rows [lo, hi) of the next pyramid level: out[i, j] filters fine pixels 2i-1 .. 2i+2
    by 2j-1 .. 2j+2 (outside the image skipped) with the binomial [1 3 3 1] x [1 3 3 1].
    Channels below ``voted`` average the known pixels only (0 where none enters), the
    others (guides, defined everywhere) all of them. img: float32 (h, w, C); hole: bool
    (h, w); out: float32 ((h + 1) // 2, (w + 1) // 2, C)."""
    h, w, nc = img.shape
    w2 = out.shape[1]
    taps = (1.0, 3.0, 3.0, 1.0)
    acc = np.empty(nc)
    for i in range(lo, hi):
        for j in range(w2):
            for c in range(nc):
                acc[c] = 0.0
            w_known = 0.0
            w_all = 0.0
            for a in range(4):
                y = 2 * i - 1 + a
                if y < 0 or y >= h:
                    continue
                for b in range(4):
                    x = 2 * j - 1 + b
                    if x < 0 or x >= w:
                        continue
                    t = taps[a] * taps[b]
                    w_all += t
                    known = not hole[y, x]
                    if known:
                        w_known += t
                    px = img[y, x]
                    for c in range(nc):
                        if c >= voted or known:
                            acc[c] += t * px[c]
            for c in range(nc):
                if c >= voted:
                    out[i, j, c] = acc[c] / w_all
                elif w_known > 0:
                    out[i, j, c] = acc[c] / w_known
                else:
                    out[i, j, c] = 0.0


@njit(cache=True, nogil=True)
def texture(grey, hole, out):
    """Texture channels of ``grey`` (float32 (h, w)): out[..., 0] (out[..., 1]) is the mean
    |horizontal| (|vertical|) difference over the pairs of known pixels that touch the 3x3
    window around each pixel (0 where there is none). out: float32 (h, w, 2)."""
    h, w = grey.shape
    tot = np.zeros((2, h, w), np.float32)  # per pixel: sum and count of its known pairs
    cnt = np.zeros((2, h, w), np.float32)
    for y in range(h):
        for x in range(w):
            if hole[y, x]:
                continue
            if x + 1 < w and not hole[y, x + 1]:
                d = abs(grey[y, x + 1] - grey[y, x])
                tot[0, y, x] += d
                tot[0, y, x + 1] += d
                cnt[0, y, x] += 1
                cnt[0, y, x + 1] += 1
            if y + 1 < h and not hole[y + 1, x]:
                d = abs(grey[y + 1, x] - grey[y, x])
                tot[1, y, x] += d
                tot[1, y + 1, x] += d
                cnt[1, y, x] += 1
                cnt[1, y + 1, x] += 1
    for c in range(2):
        for y in range(h):
            for x in range(w):
                s = 0.0
                n = 0.0
                for yy in range(max(y - 1, 0), min(y + 2, h)):
                    for xx in range(max(x - 1, 0), min(x + 2, w)):
                        s += tot[c, yy, xx]
                        n += cnt[c, yy, xx]
                out[y, x, c] = s / n if n > 0 else 0.0
