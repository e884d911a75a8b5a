"""Thin holes (scratches, dust, dots): found by width, filled fast in a narrow band.

A hole component is *thin* when no pixel of it is farther than ``max_radius`` from a known
pixel (its largest Euclidean distance-transform value, i.e. half its width, is small).
Such holes need no exemplar search: across a few pixels a smooth interpolant of the
surroundings is close to the truth and continues edges that cross the scratch. The fill is
a thin plate under tension (minimising the squared Laplacian plus ``tension`` times the
squared gradient, i.e. solving Lap^2 u - t Lap u = 0 with two rings of known pixels as
boundary values), which continues slopes as well as values; ``tension=None`` gives the
harmonic (membrane) fill Lap u = 0.

Everything here works on the list of hole pixels rather than on full-photo arrays, so that
an 8000x6000 photo with a long scratch costs memory in proportion to the scratch:

- components: 8-connected labels from the pixel list (a sparse neighbour graph, or
  ``scipy.ndimage.label`` on the bounding box when the hole is dense there);
- widths: distance transforms on tiles of 128x128 pixels (plus a halo) that contain hole
  pixels; values past the halo are only known to exceed it, which is all the test needs;
- fill: one sparse linear system over all hole pixels (sparse LU), the operators assembled
  with binary search on the sorted pixel indices.

The only full-size arrays are the input, the output copy and the boolean masks.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse import csgraph

from inpaint_gui.core.errors import MaskError

__all__ = ["THIN_RADIUS", "component_radii", "fill_thin", "hole_components", "is_thin", "split_thin"]

THIN_RADIUS = 8.0  # px: strokes up to ~15 px wide, and crossings of 8 px strokes, are thin
_TILE = 128
_OFFSETS_8 = ((0, 1), (1, -1), (1, 0), (1, 1))  # half of the 8-neighbourhood (forward)


def _pixels(hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-major (y, x) int64 coordinates of the hole pixels (sorted by y * W + x)."""
    if hole.dtype != np.bool_ or hole.ndim != 2:
        raise MaskError(f"hole must be a 2-D bool array, got {hole.dtype} {hole.shape}")
    lin = np.flatnonzero(hole)  # 1-D: much faster than a 2-D nonzero on a large mask
    ys, xs = np.divmod(lin, hole.shape[1])
    return ys.astype(np.int64, copy=False), xs.astype(np.int64, copy=False)


def hole_components(hole: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """8-connected components of ``hole`` (bool (H, W)): (ys, xs, labels, count), the
    pixels in row-major order with labels 0 .. count - 1 (int64 (n,) each)."""
    ys, xs = _pixels(hole)
    n = ys.size
    if n == 0:
        return ys, xs, np.zeros(0, np.int64), 0
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    if 16 * n >= (y1 - y0) * (x1 - x0):  # dense in its box: label the box (<= 64 bytes/pixel)
        labels, count = ndi.label(hole[y0:y1, x0:x1], structure=np.ones((3, 3), bool))
        return ys, xs, labels[ys - y0, xs - x0].astype(np.int64) - 1, int(count)
    w = hole.shape[1]
    lin = ys * w + xs  # sorted
    rows, cols = [], []
    for dy, dx in _OFFSETS_8:
        ok = (xs + dx >= 0) & (xs + dx < w)
        cand = lin[ok] + dy * w + dx
        j = np.searchsorted(lin, cand)
        j[j == n] = 0
        hit = lin[j] == cand
        rows.append(np.flatnonzero(ok)[hit])
        cols.append(j[hit])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.coo_matrix((np.ones(r.size, np.int8), (r, c)), shape=(n, n)).tocsr()
    count, labels = csgraph.connected_components(graph, directed=False)
    return ys, xs, labels.astype(np.int64), int(count)


def _pixel_radii(hole: np.ndarray, ys: np.ndarray, xs: np.ndarray, cap: float) -> np.ndarray:
    """Distance to the nearest known pixel for each hole pixel, float32 (n,); exact up to
    ``cap`` (larger values are only guaranteed to be > cap). Tiles with a halo."""
    h, w = hole.shape
    halo = int(np.ceil(cap)) + 2
    ntx = -(-w // _TILE)
    tile = (ys // _TILE) * ntx + xs // _TILE
    order = np.argsort(tile, kind="stable")
    starts = np.flatnonzero(np.r_[True, tile[order][1:] != tile[order][:-1]])
    ends = np.r_[starts[1:], order.size]
    out = np.empty(ys.size, np.float32)
    for a, b in zip(starts, ends):
        idx = order[a:b]
        t = tile[idx[0]]
        ty0, tx0 = (t // ntx) * _TILE, (t % ntx) * _TILE
        cy0, cx0 = max(ty0 - halo, 0), max(tx0 - halo, 0)
        cy1, cx1 = min(ty0 + _TILE + halo, h), min(tx0 + _TILE + halo, w)
        crop = hole[cy0:cy1, cx0:cx1]
        if crop.all():  # no known pixel within the halo: only "far" is known
            out[idx] = cap + halo
            continue
        dist = ndi.distance_transform_edt(crop)
        out[idx] = dist[ys[idx] - cy0, xs[idx] - cx0]
    return out


def component_radii(hole: np.ndarray, cap: float = 4 * THIN_RADIUS):
    """(ys, xs, labels, radii): the components of :func:`hole_components` and, per
    component, its largest distance to a known pixel (float32 (count,), capped near ``cap``)."""
    ys, xs, labels, count = hole_components(hole)
    radii = np.zeros(count, np.float32)
    if count:
        np.maximum.at(radii, labels, _pixel_radii(hole, ys, xs, cap))
    return ys, xs, labels, radii


def split_thin(hole: np.ndarray, max_radius: float = THIN_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """(thin, thick): bool (H, W) masks of the components of ``hole`` whose largest distance
    to a known pixel is at most ``max_radius``, and of the others."""
    ys, xs, labels, radii = component_radii(hole, cap=max_radius)
    keep = radii[labels] <= max_radius
    thin = np.zeros(hole.shape, bool)
    thin[ys[keep], xs[keep]] = True
    thick = hole.copy()
    thick[ys[keep], xs[keep]] = False
    return thin, thick


def is_thin(hole: np.ndarray, max_radius: float = THIN_RADIUS) -> bool:
    """True when every hole pixel is within ``max_radius`` of a known pixel (all components
    thin); False for an empty hole."""
    ys, xs = _pixels(hole)
    if ys.size == 0:
        return False
    return bool(_pixel_radii(hole, ys, xs, max_radius).max() <= max_radius)


def _lookup(sorted_lin: np.ndarray, lin: np.ndarray) -> np.ndarray:
    """Positions of ``lin`` (all present) in the sorted array ``sorted_lin``."""
    return np.searchsorted(sorted_lin, lin)


def _neighbours(lin: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(index into lin, neighbour's linear index) for the 4-neighbours inside the photo."""
    h, w = shape
    ys, xs = np.divmod(lin, w)
    src, dst = [], []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ok = (ys + dy >= 0) & (ys + dy < h) & (xs + dx >= 0) & (xs + dx < w)
        src.append(np.flatnonzero(ok))
        dst.append(lin[ok] + dy * w + dx)
    return np.concatenate(src), np.concatenate(dst)


def _laplacian(rows_lin: np.ndarray, cols_lin: np.ndarray, shape) -> sp.csr_matrix:
    """The 5-point Laplacian (sum of neighbours minus degree; no flux across the photo's
    edges) for the pixels ``rows_lin``, over the sorted columns ``cols_lin``, which must
    hold every neighbour."""
    src, dst = _neighbours(rows_lin, shape)
    deg = np.bincount(src, minlength=rows_lin.size).astype(np.float64)
    r = np.r_[src, np.arange(rows_lin.size)]
    c = np.r_[_lookup(cols_lin, dst), _lookup(cols_lin, rows_lin)]
    v = np.r_[np.ones(src.size), -deg]
    return sp.csr_matrix((v, (r, c)), shape=(rows_lin.size, cols_lin.size))


def fill_thin(
    image: np.ndarray,
    hole: np.ndarray,
    *,
    tension: float | None = 1.0,
    max_radius: float | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Smooth fill of ``hole`` (meant for thin holes; see :func:`split_thin`).

    image: uint8 (H, W, 3) (or (H, W, C)), the whole photo; hole: bool (H, W), True =
    missing. Returns a new uint8 image (or ``out``, which may be ``image`` itself for an
    in-place fill), bit-identical to ``image`` outside the filled pixels.

    With ``tension`` t (default), the fill minimises sum (Laplacian u)^2 + t sum |grad u|^2
    over the pixels it touches: a thin plate under tension, whose Euler-Lagrange equation
    Lap^2 u - t Lap u = 0 is solved for the hole pixels with the two rings of known pixels
    around them as boundary values (it continues both values and slopes across a scratch;
    on the scratch benchmark it beats the membrane by about 0.3 dB). ``tension=None`` gives
    the harmonic (membrane) fill Lap u = 0 with one ring. One sparse LU (float64) for all
    pixels. With ``max_radius``, only the thin components (as :func:`split_thin` decides)
    are filled, the others are left as they are, and no full-size mask is made.
    Raises MaskError for a mis-sized mask or a hole covering the whole photo.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"image must be uint8 (H, W[, C]), got {image.dtype} {image.shape}")
    if hole.shape != image.shape[:2]:
        raise MaskError(f"hole shape {hole.shape} does not match the image {image.shape[:2]}")
    if out is None:
        out = image.copy()
    elif out is not image:
        if out.shape != image.shape or out.dtype != np.uint8:
            raise ValueError("out must be a uint8 array shaped like image")
        np.copyto(out, image)
    if max_radius is None:
        ys, xs = _pixels(hole)
    else:
        ys, xs, labels, radii = component_radii(hole, cap=max_radius)
        keep = radii[labels] <= max_radius
        ys, xs = ys[keep], xs[keep]
    if ys.size == 0:
        return out
    pix = out if out.ndim == 3 else out[:, :, None]
    shape = hole.shape
    w = shape[1]
    lin = ys * w + xs  # sorted
    ring1 = np.setdiff1d(_neighbours(lin, shape)[1], lin)  # known 4-neighbours (sorted)
    if ring1.size == 0:  # (any component short of the whole photo has a known neighbour)
        raise MaskError("the hole covers the whole photo: nothing to fill from")
    if tension is None:
        cols = np.union1d(lin, ring1)
        op = _laplacian(lin, cols, shape)  # rows: hole pixels
    else:
        inner = np.union1d(lin, ring1)  # pixels whose Laplacian sees the hole
        src, dst = _neighbours(ring1, shape)
        cols = np.union1d(inner, dst)
        lap = _laplacian(inner, cols, shape)  # (|inner|, |cols|)
        hole_rows = _lookup(inner, lin)
        # a ring pixel next to a hole pixel left unfilled (another component) has no
        # Laplacian to speak of: it drops out of the energy
        pos = np.minimum(np.searchsorted(lin, dst), lin.size - 1)
        other = hole.reshape(-1)[dst] & (lin[pos] != dst)  # unfilled hole pixels
        weight = np.ones(inner.size)
        weight[_lookup(inner, ring1[np.unique(src[other])])] = 0.0
        widen = sp.csr_matrix(  # inner-indexed columns -> cols-indexed columns
            (weight, (np.arange(inner.size), _lookup(cols, inner))), shape=(inner.size, cols.size)
        )
        lap_h = lap[hole_rows]  # (n, |cols|): nonzero only on inner pixels
        op = (lap_h @ widen.T) @ lap - float(tension) * lap_h  # rows of Lap^2 - t Lap
    op = op.tocsc()
    unknown = _lookup(cols, lin)
    is_known = np.ones(cols.size, bool)
    is_known[unknown] = False
    known = np.flatnonzero(is_known)
    ky, kx = np.divmod(cols[known], w)
    rhs = -(op[:, known] @ pix[ky, kx].astype(np.float64))  # (n, C)
    try:
        f = spla.splu(op[:, unknown].tocsc()).solve(np.asarray(rhs))  # (n, C)
    except RuntimeError:  # pragma: no cover - excluded above
        raise MaskError("a hole component has no known pixel to fill from") from None
    pix[ys, xs] = np.clip(np.rint(f), 0, 255).astype(np.uint8)
    return out
