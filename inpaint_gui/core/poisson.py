"""Exact Poisson blending (Perez et al. 2003, discrete seamless cloning) on a hole.

For every hole pixel p (``mask`` True) with N_p its 4-neighbours inside the image (no
wrap-around; an edge pixel simply has fewer) the blended value f_p solves

    |N_p| f_p - sum_{q in N_p, q in hole} f_q
        = sum_{q in N_p, q not in hole} target_q + sum_{q in N_p} (source_p - source_q).

Writing f = source + h turns this into a Laplace problem for h: h is discrete-harmonic in the
hole with boundary values ``target - source`` on the known neighbours. Each 4-connected hole
component is solved on its own bounding box (+1 px):

- small components (and ``method="sparse"``) go to one batched sparse LU (exact);
- large ones to a geometric multigrid on the masked grid (red-black Gauss-Seidel on a
  2x2-phase layout, cell-centred coarsening, bilinear prolongation, full multigrid start),
  iterated until the correction is far below a grey level (default ``tol`` 0.02).

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

from .errors import MaskError

Method = Literal["auto", "multigrid", "sparse"]

_SPARSE_MAX = 4096  # components with fewer hole pixels go to the batched sparse LU
_COARSEST_CELLS = 1024  # a multigrid level with at most this many cells is solved directly
_MAX_CYCLES = 60
_THETA_MIN = 0.05  # smallest boundary fraction on coarse levels
_THETA_EPS = 0.0
_DEBUG = False
_NU = (1, 1)
_GAMMA = 1
_FINE = [None]  # V-cycles before giving up on multigrid for a component
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
        raise MaskError(
            "the hole covers the whole image: Poisson blending needs at least one known pixel"
        )
    return target, source, mask, was_2d


def _neighbour_count(ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """|N_p| for image coordinates (any matching shapes): 4 minus the image edges touched."""
    h, w = shape
    return 4 - (ys == 0).astype(np.int8) - (ys == h - 1) - (xs == 0) - (xs == w - 1)


# --------------------------------------------------------------------------- direct reference


def poisson_blend_direct(
    target: np.ndarray, source: np.ndarray, mask: np.ndarray, *, raw: bool = False
) -> np.ndarray:
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
        t = target.astype(np.float64)
        s = source.astype(np.float64)
        rhs = np.zeros((n, c))
        rows, cols = [np.arange(n)], [np.arange(n)]
        vals = [_neighbour_count(ys, xs, (h, w)).astype(np.float64)]
        for dy, dx in _OFFSETS:
            qy, qx = ys + dy, xs + dx
            ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
            p, qy, qx = np.nonzero(ok)[0], qy[ok], qx[ok]
            rhs[p] += s[ys[p], xs[p]] - s[qy, qx]  # guidance: sum_q (s_p - s_q)
            qi = index[qy, qx]
            known = qi < 0
            rhs[p[known]] += t[qy[known], qx[known]]  # Dirichlet boundary
            rows.append(p[~known])
            cols.append(qi[~known])
            vals.append(-np.ones(int((~known).sum())))
        a = sp.csc_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        )
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
    tol: float = 0.02,
    raw: bool = False,
) -> np.ndarray:
    """Seamlessly clone ``source`` into ``target`` inside ``mask``; returns uint8 like target.

    target: uint8 (H, W, C) or (H, W); source: same shape, any real dtype (uint8, float32,
    float64, or a broadcast view); mask: bool (H, W), True = hole.
    ``method``: "auto" (sparse LU for small hole components, multigrid for large ones),
    "multigrid" or "sparse" (all components one way; for tests and benchmarks).
    ``tol``: multigrid stops when a cycle changes no value by more than ``tol`` grey levels
    (the remaining error is then a small fraction of ``tol``).
    ``raw=True`` returns the unrounded, unclipped float32 result instead of uint8.
    Raises MaskError for a bad mask or a hole covering the whole image.
    """
    target, source, mask, was_2d = _check_inputs(target, source, mask)
    if method not in ("auto", "multigrid", "sparse"):
        raise ValueError(f"unknown method {method!r}")
    out = target.astype(np.float32) if raw else target.copy()
    if not mask.any():
        return out[:, :, 0] if was_2d else out
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    labels, ncomp = ndi.label(mask[y0:y1, x0:x1])
    sizes = np.bincount(labels.ravel(), minlength=ncomp + 1)
    small = np.zeros(ncomp + 1, bool)
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        big = method == "multigrid" or (method == "auto" and sizes[k] >= _SPARSE_MAX)
        if not big:
            small[k] = True
            continue
        box = (sl[0].start + y0, sl[0].stop + y0, sl[1].start + x0, sl[1].stop + x0)
        comp = labels[sl] == k
        if not _blend_multigrid(target, source, comp, box, out, tol, raw):
            small[k] = True  # multigrid did not converge (pathological mask): solve exactly
    if small.any():
        sel = np.zeros_like(mask)
        sel[y0:y1, x0:x1] = small[labels]
        _blend_sparse(target, source, sel, out, raw)
    return out[:, :, 0] if was_2d else out


def _store(out: np.ndarray, ys, xs, values: np.ndarray, raw: bool) -> None:
    """Write float values (n, C) at (ys, xs): raw float or rounded once and clipped."""
    if raw:
        out[ys, xs] = values
    else:
        out[ys, xs] = np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _blend_sparse(
    target: np.ndarray, source: np.ndarray, sel: np.ndarray, out: np.ndarray, raw: bool
) -> None:
    """Exact solve of the h-system (f = source + h) for the pixels in ``sel`` with one LU."""
    h, w, c = target.shape
    ys, xs = np.nonzero(sel)
    n = ys.size
    index = np.full((h, w), -1, np.int64)
    index[ys, xs] = np.arange(n)
    s_p = source[ys, xs].astype(np.float64)  # (n, C)
    rhs = np.zeros((n, c))
    rows, cols = [np.arange(n)], [np.arange(n)]
    vals = [_neighbour_count(ys, xs, (h, w)).astype(np.float64)]
    for dy, dx in _OFFSETS:
        qy, qx = ys + dy, xs + dx
        ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        p, qy, qx = np.nonzero(ok)[0], qy[ok], qx[ok]
        qi = index[qy, qx]
        known = qi < 0
        kq = (qy[known], qx[known])
        rhs[p[known]] += target[kq].astype(np.float64) - source[kq].astype(np.float64)
        rows.append(p[~known])
        cols.append(qi[~known])
        vals.append(-np.ones(int((~known).sum())))
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    hsol = spla.splu(a).solve(rhs)  # (n, C)
    if not np.all(np.isfinite(s_p)):
        raise ValueError("source has non-finite values inside the hole")
    _store(out, ys, xs, s_p + hsol, raw)


# --------------------------------------------------------------------------- multigrid

# Phase layout: a (C, 2a, 2b) grid is stored as 4 zero-padded arrays (C, a+2, b+2), one per
# parity of (row, column): 0 = (even, even), 1 = (even, odd), 2 = (odd, even), 3 = (odd, odd).
# Red = phases 0 and 3, black = 1 and 2; a 4-neighbour always has the other colour.
_I = (slice(None), slice(1, -1), slice(1, -1))
_S = {"c": slice(1, -1), "m": slice(0, -2), "p": slice(2, None)}
# neighbours of each phase's interior: (phase, row slice, col slice)
_NB = {
    0: ((2, "m", "c"), (2, "c", "c"), (1, "c", "m"), (1, "c", "c")),
    1: ((3, "m", "c"), (3, "c", "c"), (0, "c", "c"), (0, "c", "p")),
    2: ((0, "c", "c"), (0, "p", "c"), (3, "c", "m"), (3, "c", "c")),
    3: ((1, "c", "c"), (1, "p", "c"), (2, "c", "c"), (2, "c", "p")),
}


class _Level:
    """One grid of the hierarchy: hole mask, |N_p| and work buffers in phase layout."""

    def __init__(self, hole: np.ndarray, count: np.ndarray, c: int, sides: tuple[bool, ...]):
        # hole, count: (H, W) with H, W even; sides: (top, bottom, left, right) are image edges
        self.shape = hole.shape
        self.sides = sides
        self.hole = hole
        a, b = hole.shape[0] // 2, hole.shape[1] // 2
        self.half = (a, b)
        holef = hole.astype(np.float32)
        cnt = np.where(hole, count, 1).astype(np.float32)
        self.m = _to_phases(holef[None])  # (4, 1, a+2, b+2)
        self.w = _to_phases((holef / cnt)[None])
        self.n = _to_phases(cnt[None] * holef[None])
        self.u = np.zeros((4, c, a + 2, b + 2), np.float32)
        self.b = np.zeros_like(self.u)
        self.r = np.empty((2, c, a, b), np.float32)  # red residuals (phases 0, 3)
        self.old = np.empty((2, c, a, b), np.float32)  # black values before a cycle
        self.coarse: _Level | None = None
        self.lu = None  # set on the coarsest level
        self.cells: np.ndarray | None = None

    def nbsum(self, p: int, out: np.ndarray) -> np.ndarray:
        """Sum of the 4 neighbours of phase p's cells into ``out`` (C, a, b)."""
        (q1, r1, c1), (q2, r2, c2), (q3, r3, c3), (q4, r4, c4) = _NB[p]
        u = self.u
        np.add(u[q1][:, _S[r1], _S[c1]], u[q2][:, _S[r2], _S[c2]], out=out)
        out += u[q3][:, _S[r3], _S[c3]]
        out += u[q4][:, _S[r4], _S[c4]]
        return out

    def relax(self, p: int) -> None:
        """Gauss-Seidel update of one phase: u = (b + neighbours) / |N_p| on the hole."""
        dst = self.u[p][_I]
        self.nbsum(p, dst)
        dst += self.b[p][_I]
        dst *= self.w[p][_I]

    def sweep(self) -> None:
        for p in (0, 3, 1, 2):
            self.relax(p)

    def red_residual(self) -> None:
        """Residual b - A u on the red phases into self.r (black residual is 0 after a sweep)."""
        for k, p in enumerate((0, 3)):
            r = self.r[k]
            self.nbsum(p, r)
            r += self.b[p][_I]
            r *= self.w[p][_I]
            r -= self.u[p][_I]
            r *= self.n[p][_I]


def _to_phases(x: np.ndarray) -> np.ndarray:
    """(C, 2a, 2b) -> zero-padded phase layout (4, C, a+2, b+2)."""
    c, h, w = x.shape
    out = np.zeros((4, c, h // 2 + 2, w // 2 + 2), x.dtype)
    for p, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        out[p][_I] = x[:, i::2, j::2]
    return out


def _from_phases(ph: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Phase layout (4, C, a+2, b+2) -> regular (C, 2a, 2b) into ``out``."""
    for p, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        out[:, i::2, j::2] = ph[p][_I]
    return out


def _even(x: np.ndarray, fill) -> np.ndarray:
    """Pad a (..., H, W) array at the bottom/right to even H, W."""
    ph, pw = x.shape[-2] % 2, x.shape[-1] % 2
    if not (ph or pw):
        return x
    pad = [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(x, pad, constant_values=fill)


def _counts(real: tuple[int, int], shape: tuple[int, int], sides: tuple[bool, ...]) -> np.ndarray:
    """|N_p| on a level: 4 minus the image-edge sides a cell touches ((H, W) int8)."""
    hr, wr = real
    yy = np.arange(shape[0])[:, None]
    xx = np.arange(shape[1])[None, :]
    top, bottom, left, right = sides
    return (
        4
        - ((yy == 0) & top).astype(np.int8)
        - ((yy == hr - 1) & bottom)
        - ((xx == 0) & left)
        - ((xx == wr - 1) & right)
    ).astype(np.int8)


def _build_hierarchy(hole: np.ndarray, count: np.ndarray, c: int, sides) -> _Level:
    """Fine level from a (H, W) hole and |N_p|; coarse levels by 2x2 -> 1 coarsening.

    A coarse level keeps the fine geometry through the hole's area fraction ``alpha`` of each
    cell: phi = alpha - 1/2 + 2^-(L+1) estimates the signed distance (in cell units) from the
    cell centre to the fine Dirichlet boundary (which lies on the known pixels' centres, half
    a fine pixel outside the hole's squares). Cells with phi > 0 are unknowns; a link to a cell
    outside crosses the boundary at theta = phi_I / (phi_I - phi_J) and adds 1/theta to the
    diagonal (the symmetric ghost-value discretisation of Gibou et al. 2002).
    """
    real = hole.shape
    fine = _Level(_even(hole, False), _even(count, 1), c, sides)
    alpha = _even(hole.astype(np.float32), 0)
    lev, depth = fine, 0
    while lev.hole.size > _COARSEST_CELLS and min(lev.shape) > 2:
        a, b = lev.half
        depth += 1
        alpha = alpha.reshape(a, 2, b, 2).mean(axis=(1, 3))
        real = ((real[0] + 1) // 2, (real[1] + 1) // 2)
        ch, diag = _coarse_geometry(alpha, real, sides, depth)
        if not ch.any() or (ch[: real[0], : real[1]].all() and all(sides)):
            break  # nothing left to coarsen, or no Dirichlet boundary: solve this level
        lev.coarse = _Level(_even(ch, False), _even(diag, 1), c, sides)
        alpha = _even(alpha, 0)
        lev = lev.coarse
    _factor_coarsest(lev)
    return fine


def _coarse_geometry(alpha: np.ndarray, real, sides, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Unknown cells and diagonal of a coarse level from hole area fractions (H, W)."""
    shift = 0.5**(depth + 1)
    phi = alpha - 0.5 + shift
    hr, wr = real
    outside = -0.5 + shift  # a Dirichlet cell beyond the grid
    pad = np.pad(phi, 1, constant_values=outside)
    hole = phi > _THETA_EPS
    diag = np.zeros(phi.shape, np.float32)
    yy = np.arange(phi.shape[0])[:, None]
    xx = np.arange(phi.shape[1])[None, :]
    top, bottom, left, right = sides
    phi_i = np.where(hole, phi, 1.0)
    for (dy, dx), absent in zip(
        _OFFSETS,
        (
            (yy == 0) & top,
            (yy == hr - 1) & bottom,
            (xx == 0) & left,
            (xx == wr - 1) & right,
        ),
    ):
        nb = pad[1 + dy : 1 + dy + phi.shape[0], 1 + dx : 1 + dx + phi.shape[1]]
        inside = nb > _THETA_EPS
        link = np.where(inside, 1.0, 1.0 - np.minimum(nb, 0.0) / phi_i)  # 1/theta
        diag += np.where(absent, 0.0, np.minimum(link, 1.0 / _THETA_MIN))
    return hole, diag


def _factor_coarsest(lev: _Level) -> None:
    """Sparse LU of the coarsest level's system A u = b (hole cells only)."""
    hole = lev.hole
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    n = ys.size
    lev.cells = (ys, xs)
    if n == 0:
        return
    index = np.full((h, w), -1, np.int64)
    index[ys, xs] = np.arange(n)
    cnt = np.zeros((h, w), np.float32)
    _from_phases(lev.n, cnt[None])
    rows, cols, vals = [np.arange(n)], [np.arange(n)], [cnt[ys, xs].astype(np.float64)]
    for dy, dx in _OFFSETS:
        qy, qx = ys + dy, xs + dx
        ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        qi = np.full(n, -1)
        qi[ok] = index[qy[ok], qx[ok]]
        nb = qi >= 0
        rows.append(np.nonzero(nb)[0])
        cols.append(qi[nb])
        vals.append(-np.ones(int(nb.sum())))
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    lev.lu = spla.splu(a)


def _solve_coarsest(lev: _Level, rhs: np.ndarray, out: np.ndarray) -> None:
    """rhs, out: regular (C, H, W) float32; out = A^-1 rhs on hole cells, 0 elsewhere."""
    out.fill(0)
    if lev.lu is None:
        return
    ys, xs = lev.cells
    out[:, ys, xs] = lev.lu.solve(rhs[:, ys, xs].T.astype(np.float64)).T


def _prolong(lev: _Level, e: np.ndarray, phases: tuple[int, ...]) -> None:
    """u[p] += hole * bilinear(e) for the given phases; e: coarse correction (C, a, b)."""
    c = e.shape[0]
    a, b = lev.half
    ep = np.empty((c, a + 2, b + 2), np.float32)
    np.multiply(e, 1.0 / 16.0, out=ep[_I])
    top, bottom, left, right = lev.sides
    # outside the grid: Dirichlet sides are 0; image-edge sides mirror (zero normal derivative)
    ep[:, 0, 1:-1] = ep[:, 1, 1:-1] if top else 0
    ep[:, -1, 1:-1] = ep[:, -2, 1:-1] if bottom else 0
    ep[:, :, 0] = ep[:, :, 1] if left else 0
    ep[:, :, -1] = ep[:, :, -2] if right else 0
    tmp = np.empty((c, a, b), np.float32)
    for rowp in (0, 1):
        want = [p for p in phases if p // 2 == rowp]
        if not want:
            continue
        v = ep[:, 1:-1] * 3.0  # (C, a, b+2)
        v += ep[:, 0:-2] if rowp == 0 else ep[:, 2:]
        for p in want:
            np.multiply(v[:, :, 1:-1], 3.0, out=tmp)
            tmp += v[:, :, 0:-2] if p % 2 == 0 else v[:, :, 2:]
            tmp *= lev.m[p][_I]
            lev.u[p][_I] += tmp


def _vcycle(lev: _Level) -> None:
    """One V(1,1) cycle on lev.u for lev.b (red-black smoothing, coarse correction)."""
    if lev.coarse is None:
        c = lev.u.shape[1]
        reg = np.empty((c,) + lev.shape, np.float32)
        sol = np.empty_like(reg)
        _solve_coarsest(lev, _from_phases(lev.b, reg), sol)
        lev.u[...] = _to_phases(sol)
        return
    for _ in range(_NU[0]):
        lev.sweep()
    lev.red_residual()
    co = lev.coarse
    rc = lev.r[0] + lev.r[1]  # (C, a, b): restriction = sum of the 2x2 children
    co.b[...] = _to_phases(_even(rc, 0))
    co.b *= co.m
    co.u.fill(0)
    for _ in range(_GAMMA if co.coarse is not None and lev is not _FINE[0] else 1):
        _vcycle(co)
    ec = np.empty((co.u.shape[1],) + co.shape, np.float32)
    _from_phases(co.u, ec)
    a, b = lev.half
    # red values are recomputed from black by the next half-sweep: correct black only
    _prolong(lev, ec[:, :a, :b], (1, 2))
    for _ in range(_NU[1]):
        lev.sweep()


def _fmg(lev: _Level) -> None:
    """Full multigrid start: solve coarse first, interpolate, one V-cycle per level."""
    if lev.coarse is None:
        _vcycle(lev)
        return
    co = lev.coarse
    bc = lev.b[0][_I] + lev.b[1][_I]
    bc += lev.b[2][_I]
    bc += lev.b[3][_I]
    co.b[...] = _to_phases(_even(bc, 0))
    co.b *= co.m
    co.u.fill(0)
    _fmg(co)
    ec = np.empty((co.u.shape[1],) + co.shape, np.float32)
    _from_phases(co.u, ec)
    a, b = lev.half
    lev.u.fill(0)
    _prolong(lev, ec[:, :a, :b], (0, 1, 2, 3))
    _vcycle(lev)


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
    hgt, wid, c = target.shape
    y0, y1, x0, x1 = box
    # grow the box by 1 px (the Dirichlet ring) where the image allows
    by0, by1, bx0, bx1 = max(y0 - 1, 0), min(y1 + 1, hgt), max(x0 - 1, 0), min(x1 + 1, wid)
    hole = np.zeros((by1 - by0, bx1 - bx0), bool)
    hole[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0] = comp
    sides = (by0 == 0, by1 == hgt, bx0 == 0, bx1 == wid)
    yy = np.arange(by0, by1)[:, None]
    xx = np.arange(bx0, bx1)[None, :]
    count = _neighbour_count(yy, xx, (hgt, wid)).astype(np.int8)
    fine = _build_hierarchy(hole, count, c, sides)

    # d = target - source on known pixels (0 in the hole); b_p = sum of known neighbours' d
    s = np.ascontiguousarray(source[by0:by1, bx0:bx1].transpose(2, 0, 1), dtype=np.float32)
    if not np.all(np.isfinite(s[:, hole])):
        raise ValueError("source has non-finite values inside the hole")
    d = target[by0:by1, bx0:bx1].transpose(2, 0, 1) - s  # (C, H, W) float32
    d[:, hole] = 0
    dph = _to_phases(_even(d, 0))
    for p in range(4):
        fine.u[p] = dph[p]
    for p in range(4):
        fine.nbsum(p, fine.b[p][_I])
        fine.b[p][_I] *= fine.m[p][_I]
    fine.u.fill(0)
    del d, dph

    _fmg(fine)
    ok = False
    for _ in range(_MAX_CYCLES):
        fine.old[0] = fine.u[1][_I]
        fine.old[1] = fine.u[2][_I]
        _vcycle(fine)
        change = 0.0
        for k, p in enumerate((1, 2)):
            diff = np.subtract(fine.u[p][_I], fine.old[k], out=fine.old[k])
            change = max(change, float(diff.max()), -float(diff.min()))
        if _DEBUG: print("change", change)
        if change <= tol:
            ok = True
            break
    if not ok:
        return False
    hb = np.empty((c,) + fine.shape, np.float32)
    _from_phases(fine.u, hb)
    hh, ww = hole.shape
    hb = hb[:, :hh, :ww]
    ys, xs = np.nonzero(hole)
    vals = (s[:, ys, xs] + hb[:, ys, xs]).T  # (n, C)
    _store(out, ys + by0, xs + bx0, vals, raw)
    return True
