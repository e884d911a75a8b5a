"""Exact Poisson blending (Perez et al. 2003, discrete seamless cloning) on a hole.

For every hole pixel p (``mask`` True) with N_p its 4-neighbours inside the image (no
wrap-around; an edge pixel simply has fewer) the blended value f_p solves

    |N_p| f_p - sum_{q in N_p, q in hole} f_q
        = sum_{q in N_p, q not in hole} target_q + sum_{q in N_p} (source_p - source_q).

Writing f = source + h turns this into a Laplace problem for h: h is discrete-harmonic in the
hole with boundary values ``target - source`` on the known neighbours (and stays between their
extremes). Each 4-connected hole component is solved on its own bounding box (+1 px) by
:func:`inpaint_gui.core.blend.multigrid.solve_laplace` (geometric multigrid, all channels at once,
float32, with a conjugate-gradient fallback) until an update changes no value by more than
``tol`` grey levels; small or thin components, whose box would be mostly known pixels, go to
one batched sparse LU (exact) instead, and so does any component multigrid gives up on.

Pixels outside the hole are bit-identical to ``target``. A hole covering the whole image has
no boundary (the system is singular up to a constant) and raises :class:`MaskError`.
:func:`poisson_blend_direct` builds the same system literally and solves it with
``scipy.sparse.linalg.spsolve``; it is the reference for tests and benchmarks.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from inpaint_gui.core.blend.multigrid import solve_laplace
from inpaint_gui.core.errors import MaskError

Method = Literal["auto", "multigrid", "sparse"]

# cost model (seconds, measured on 2 cores): multigrid ~ 2.3e-7 * box cells + 3e-3,
# sparse LU ~ 2.3e-8 * n^1.5 for a compact hole of n pixels (less for thin ones)
_MG_PER_CELL = 2.3e-7
_MG_OVERHEAD = 3e-3
_LU_PER_N15 = 2.3e-8
_OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1))

__all__ = ["poisson_blend", "poisson_blend_direct"]


# --------------------------------------------------------------------------- validation


def _check_inputs(
    target: np.ndarray, source: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Return (target (H,W,C), source (H,W,C), mask (H,W), was_2d) or raise."""
    target = np.asarray(target)
    source = np.asarray(source)
    mask = np.asarray(mask)
    if target.dtype != np.uint8 or target.ndim not in (2, 3):
        raise ValueError(f"target must be uint8 (H, W) or (H, W, C), got {target.dtype} {target.shape}")
    was_2d = target.ndim == 2
    if was_2d:
        target = target[:, :, None]
        if source.ndim == 2:
            source = source[:, :, None]
    if source.shape != target.shape:
        raise ValueError(f"source shape {source.shape} does not match target shape {target.shape}")
    if not (np.issubdtype(source.dtype, np.floating) or np.issubdtype(source.dtype, np.integer)):
        raise ValueError(f"source must be a real numeric array, got {source.dtype}")
    if mask.dtype != np.bool_:
        raise MaskError(f"mask must be a boolean array (True = hole), got dtype {mask.dtype}")
    if mask.shape != target.shape[:2]:
        raise MaskError(f"mask shape {mask.shape} does not match the image size {target.shape[:2]}")
    if target.shape[2] == 0:
        raise ValueError("target has no channels")
    if mask.size and mask.all():
        raise MaskError("the hole covers the whole image: Poisson blending needs at least one known pixel")
    return target, source, mask, was_2d


def _neighbour_count(ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """|N_p| for image coordinates (any matching shapes): 4 minus the image edges touched."""
    h, w = shape
    return 4 - (ys == 0).astype(np.int8) - (ys == h - 1) - (xs == 0) - (xs == w - 1)


# --------------------------------------------------------------------------- direct reference


def poisson_blend_direct(target: np.ndarray, source: np.ndarray, mask: np.ndarray, *, raw: bool = False) -> np.ndarray:
    """Reference: assemble the seamless-cloning system literally and ``spsolve`` it (float64).

    Same contract as :func:`poisson_blend`; with ``raw=True`` returns the unrounded float64
    (H, W, C) result (values outside the hole are the target's).
    """
    target, source, mask, was_2d = _check_inputs(target, source, mask)
    h, w, c = target.shape
    out = target.astype(np.float64)
    ys, xs = np.nonzero(mask)
    n = ys.size
    if n:
        index = np.full((h, w), -1, np.int64)
        index[ys, xs] = np.arange(n)
        rhs = np.zeros((n, c))
        rows, cols = [np.arange(n)], [np.arange(n)]
        vals = [_neighbour_count(ys, xs, (h, w)).astype(np.float64)]
        for dy, dx in _OFFSETS:
            qy, qx = ys + dy, xs + dx
            ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
            p, qy, qx = np.nonzero(ok)[0], qy[ok], qx[ok]
            # guidance: sum_q (s_p - s_q)
            rhs[p] += source[ys[p], xs[p]].astype(np.float64) - source[qy, qx]
            qi = index[qy, qx]
            known = qi < 0
            rhs[p[known]] += target[qy[known], qx[known]]  # Dirichlet boundary
            rows.append(p[~known])
            cols.append(qi[~known])
            vals.append(-np.ones(int((~known).sum())))
        a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
        sol = spla.spsolve(a, rhs)
        out[ys, xs] = np.asarray(sol).reshape(n, c)
    return _finish(out, was_2d, raw)


def _finish(out: np.ndarray, was_2d: bool, raw: bool) -> np.ndarray:
    if not raw:
        out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out[:, :, 0] if was_2d else out


# --------------------------------------------------------------------------- public entry


def poisson_blend(
    target: np.ndarray,
    source: np.ndarray,
    mask: np.ndarray,
    *,
    method: Method = "auto",
    tol: float = 0.1,
    raw: bool = False,
) -> np.ndarray:
    """Seamlessly clone ``source`` into ``target`` inside ``mask``; returns uint8 like target.

    target: uint8 (H, W, C) or (H, W); source: same shape, any real dtype (uint8, float32,
    float64, or a broadcast view such as ``np.broadcast_to(0.0, shape)``); mask: bool (H, W),
    True = hole. Pixels outside the hole are returned bit-identical.
    ``method``: "auto" (per hole component, the cheaper of multigrid and sparse LU),
    "multigrid" or "sparse" (every component one way; for tests and benchmarks).
    ``tol``: multigrid stops once an update changes no value by more than ``tol`` grey levels
    and the estimated error left is below tol / 4 (measured errors stay below tol).
    ``raw=True`` returns the unrounded, unclipped float32 result instead of uint8.
    Raises MaskError for a non-boolean or mis-sized mask or a hole covering the whole image,
    ValueError for a bad target/source.
    """
    target, source, mask, was_2d = _check_inputs(target, source, mask)
    if method not in ("auto", "multigrid", "sparse"):
        raise ValueError(f"unknown method {method!r}")
    out = target.astype(np.float32) if raw else target.copy()
    if not mask.any():
        return out[:, :, 0] if was_2d else out
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    labels, ncomp = ndi.label(mask[y0:y1, x0:x1])  # 4-connected components
    sizes = np.bincount(labels.ravel(), minlength=ncomp + 1)
    exact = np.zeros(ncomp + 1, bool)  # components for the sparse LU
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        cells = (sl[0].stop - sl[0].start + 2) * (sl[1].stop - sl[1].start + 2)
        if method == "sparse" or (
            method == "auto" and _LU_PER_N15 * float(sizes[k]) ** 1.5 < _MG_PER_CELL * cells + _MG_OVERHEAD
        ):
            exact[k] = True
            continue
        box = (sl[0].start + y0, sl[0].stop + y0, sl[1].start + x0, sl[1].stop + x0)
        if not _blend_multigrid(target, source, labels[sl] == k, box, out, tol, raw):
            exact[k] = True  # multigrid gave up (pathological mask): solve exactly
    if exact.any():
        _blend_sparse(target, source, exact[labels], (y0, x0), out, raw)
    return out[:, :, 0] if was_2d else out


def _blend_sparse(
    target: np.ndarray,
    source: np.ndarray,
    sel: np.ndarray,
    origin: tuple[int, int],
    out: np.ndarray,
    raw: bool,
) -> None:
    """Exact solve of the h-system (f = source + h) for the hole pixels ``sel`` (a bool
    window of the image starting at ``origin``), all components in one sparse LU."""
    h, w, c = target.shape
    ys, xs = np.nonzero(sel)
    ys += origin[0]
    xs += origin[1]
    n = ys.size
    # pixel -> unknown index on the window grown by 1 px (all neighbours fall inside)
    oy, ox = origin[0] - 1, origin[1] - 1
    index = np.full((sel.shape[0] + 2, sel.shape[1] + 2), -1, np.int64)
    index[ys - oy, xs - ox] = np.arange(n)
    s_p = source[ys, xs].astype(np.float64)  # (n, C)
    rhs = np.zeros((n, c))
    rows, cols = [np.arange(n)], [np.arange(n)]
    vals = [_neighbour_count(ys, xs, (h, w)).astype(np.float64)]
    for dy, dx in _OFFSETS:
        qy, qx = ys + dy, xs + dx
        ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        p, qy, qx = np.nonzero(ok)[0], qy[ok], qx[ok]
        qi = index[qy - oy, qx - ox]
        known = qi < 0
        kq = (qy[known], qx[known])
        rhs[p[known]] += target[kq].astype(np.float64) - source[kq]  # d = t - s
        rows.append(p[~known])
        cols.append(qi[~known])
        vals.append(-np.ones(int((~known).sum())))
    if not (np.isfinite(s_p).all() and np.isfinite(rhs).all()):
        raise ValueError("source has non-finite values in or next to the hole")
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    f = s_p + spla.splu(a).solve(rhs)  # (n, C)
    out[ys, xs] = f if raw else np.clip(np.rint(f), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- multigrid


def _blend_multigrid(
    target: np.ndarray,
    source: np.ndarray,
    comp: np.ndarray,
    box: tuple[int, int, int, int],
    out: np.ndarray,
    tol: float,
    raw: bool,
) -> bool:
    """Solve one hole component (comp: bool on its bounding box) by multigrid; False if stuck."""
    hgt, wid, _c = target.shape
    y0, y1, x0, x1 = box
    # grow the box by 1 px (the Dirichlet ring) where the image allows
    by0, by1, bx0, bx1 = max(y0 - 1, 0), min(y1 + 1, hgt), max(x0 - 1, 0), min(x1 + 1, wid)
    hole = np.zeros((by1 - by0, bx1 - bx0), bool)
    hole[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0] = comp
    sides = (by0 == 0, by1 == hgt, bx0 == 0, bx1 == wid)
    yy = np.arange(by0, by1)[:, None]
    xx = np.arange(bx0, bx1)[None, :]
    count = _neighbour_count(yy, xx, (hgt, wid)).astype(np.int8)

    s = source[by0:by1, bx0:bx1].astype(np.float32)  # (H, W, C)
    if np.issubdtype(source.dtype, np.floating) and not np.isfinite(s).all():
        raise ValueError("source has non-finite values in or next to the hole")
    d = np.subtract(target[by0:by1, bx0:bx1], s)  # (H, W, C) float32
    h = solve_laplace(hole, count, sides, d.transpose(2, 0, 1), tol)
    if h is None:
        return False
    f = np.add(s, h.transpose(1, 2, 0), out=d)  # (H, W, C)
    if not raw:
        np.rint(f, out=f)
        np.clip(f, 0, 255, out=f)
        f = f.astype(np.uint8)
    np.copyto(out[by0:by1, bx0:bx1], f, where=hole[:, :, None])
    return True
