"""Geometric multigrid for the discrete Laplace problem on a masked grid (Poisson blending).

Problem on a rectangular box: find h on the hole cells with

    n_p h_p - sum_{q in N_p, q in hole} h_q = sum_{q in N_p, q known} d_q

where n_p = |N_p| (4 minus the image edges the pixel touches) and d holds Dirichlet values
on the known cells. All channels are solved at once.

Layout: a level's (C, 2a, 2b) grid is stored as 4 "phases" (parities of row and column:
0 = even/even, 1 = even/odd, 2 = odd/even, 3 = odd/odd), each a zero-padded (a+2, b+2) grid
flattened to (C, L). Red = phases 0 and 3, black = 1 and 2: every 4-neighbour of a cell has
the other colour, so a red-black Gauss-Seidel half-sweep is a handful of contiguous 1-D array
operations. Non-hole cells carry weight 0, so they stay 0 and the padding needs no special
case. Coarse levels (2x2 -> 1, cell-centred) keep the fine boundary's position through hole
area fractions and a symmetric ghost-value boundary treatment (Gibou et al. 2002); the
correction is restricted by summing children and prolonged bilinearly. A full-multigrid start
is followed by V(1,1) cycles until no value changes by more than ``tol``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

COARSEST_CELLS = 1024  # a level with at most this many cells is solved by sparse LU
MAX_CYCLES = 40  # V-cycles before giving up (the caller then solves directly)
THETA_MIN = 0.05  # smallest boundary distance (in cells) used on coarse levels

_OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1))
_PARITY = ((0, 0), (0, 1), (1, 0), (1, 1))


class _Level:
    """One grid: hole mask, diagonal and work buffers in the flat phase layout."""

    def __init__(self, hole: np.ndarray, diag: np.ndarray, c: int, sides: tuple[bool, ...]):
        # hole, diag: (H, W) with H, W even; sides: (top, bottom, left, right) are image edges
        self.hole = hole
        self.shape = hole.shape
        self.sides = sides
        a, b = hole.shape[0] // 2, hole.shape[1] // 2
        self.half = (a, b)
        s = b + 2  # row stride of a padded phase
        self.stride = s
        self.lo, self.hi = s, (a + 1) * s  # flat range of the interior rows (pads included)
        holef = hole.astype(np.float32)
        diag = np.where(hole, diag, 1).astype(np.float32)
        self.m = to_phases(holef[None])  # (4, 1, L)
        self.w = to_phases((holef / diag)[None])
        self.n = to_phases((holef * diag)[None])
        self.u = np.zeros((4, c) + self.m.shape[2:], np.float32)  # (4, C, L)
        self.b = np.zeros_like(self.u)
        self.r = np.empty((2, c, self.hi - self.lo), np.float32)
        self.nb = {
            0: ((2, -s), (2, 0), (1, -1), (1, 0)),
            1: ((3, -s), (3, 0), (0, 0), (0, 1)),
            2: ((0, 0), (0, s), (3, -1), (3, 0)),
            3: ((1, 0), (1, s), (2, 0), (2, 1)),
        }
        self.coarse: _Level | None = None
        self.lu = None  # sparse LU on the coarsest level
        self.cells: tuple[np.ndarray, np.ndarray] | None = None

    def inner(self, arr: np.ndarray, p: int, off: int = 0) -> np.ndarray:
        """View of phase p's interior rows of ``arr`` (4, C, L), shifted by ``off``."""
        return arr[p][:, self.lo + off : self.hi + off]

    def nbsum(self, p: int, out: np.ndarray) -> np.ndarray:
        (q1, o1), (q2, o2), (q3, o3), (q4, o4) = self.nb[p]
        u = self.u
        np.add(self.inner(u, q1, o1), self.inner(u, q2, o2), out=out)
        out += self.inner(u, q3, o3)
        out += self.inner(u, q4, o4)
        return out

    def relax(self, p: int) -> None:
        """Gauss-Seidel on phase p: u = (b + sum of neighbours) / diag on the hole, 0 elsewhere."""
        dst = self.inner(self.u, p)
        self.nbsum(p, dst)
        dst += self.inner(self.b, p)
        dst *= self.inner(self.w, p)

    def sweep(self) -> None:
        for p in (0, 3, 1, 2):
            self.relax(p)

    def red_residual(self) -> None:
        """b - A u on the red phases into self.r (the black residual is 0 after a sweep)."""
        for k, p in enumerate((0, 3)):
            r = self.r[k]
            self.nbsum(p, r)
            r += self.inner(self.b, p)
            r *= self.inner(self.w, p)
            r -= self.inner(self.u, p)
            r *= self.inner(self.n, p)

    def restrict(self, parts: np.ndarray) -> np.ndarray:
        """Sum of per-phase interior arrays (k, C, hi-lo) -> coarse-grid (C, a, b) view."""
        total = parts.sum(axis=0)
        a, b = self.half
        return total.reshape(total.shape[0], a, b + 2)[:, :, 1:-1]


def to_phases(x: np.ndarray) -> np.ndarray:
    """(C, 2a, 2b) -> zero-padded flat phase layout (4, C, (a+2)*(b+2))."""
    c, h, w = x.shape
    a, b = h // 2, w // 2
    out = np.zeros((4, c, a + 2, b + 2), x.dtype)
    for p, (i, j) in enumerate(_PARITY):
        out[p, :, 1:-1, 1:-1] = x[:, i::2, j::2]
    return out.reshape(4, c, (a + 2) * (b + 2))


def from_phases(ph: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Flat phase layout (4, C, L) -> regular (C, H, W) for an even (H, W)."""
    a, b = shape[0] // 2, shape[1] // 2
    c = ph.shape[1]
    grid = ph.reshape(4, c, a + 2, b + 2)
    out = np.empty((c,) + tuple(shape), ph.dtype)
    for p, (i, j) in enumerate(_PARITY):
        out[:, i::2, j::2] = grid[p, :, 1:-1, 1:-1]
    return out


def even(x: np.ndarray, fill) -> np.ndarray:
    """Pad a (..., H, W) array at the bottom/right to even H and W."""
    ph, pw = x.shape[-2] % 2, x.shape[-1] % 2
    if not (ph or pw):
        return x
    pad = [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(x, pad, constant_values=fill)


# --------------------------------------------------------------------------- hierarchy


def _build(hole: np.ndarray, count: np.ndarray, c: int, sides) -> _Level:
    """Fine level from a (H, W) hole and |N_p|; coarse levels by 2x2 -> 1 coarsening.

    A coarse level keeps the fine geometry through each cell's hole area fraction alpha:
    phi = alpha - 1/2 + 2^-(L+1) estimates the signed distance (in cells) from the cell centre
    to the fine Dirichlet boundary, which lies on the known pixels' centres, half a fine pixel
    outside the hole's squares. Cells with phi > 0 are unknowns; a link to a cell outside
    crosses the boundary at theta = phi_I / (phi_I - phi_J) and adds 1/theta to the diagonal.
    """
    real = hole.shape
    fine = _Level(even(hole, False), even(count, 1), c, sides)
    alpha = even(hole.astype(np.float32), 0)
    lev, depth = fine, 0
    while lev.hole.size > COARSEST_CELLS and min(lev.shape) > 2:
        a, b = lev.half
        depth += 1
        alpha = alpha.reshape(a, 2, b, 2).mean(axis=(1, 3))
        real = ((real[0] + 1) // 2, (real[1] + 1) // 2)
        ch, diag = _coarse_geometry(alpha, real, sides, depth)
        if not ch.any() or (ch[: real[0], : real[1]].all() and all(sides)):
            break  # nothing left to coarsen, or no Dirichlet boundary: solve this level
        lev.coarse = _Level(even(ch, False), even(diag, 1), c, sides)
        alpha = even(alpha, 0)
        lev = lev.coarse
    _factor(lev)
    return fine


def _coarse_geometry(alpha: np.ndarray, real, sides, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Unknown cells and diagonal of a coarse level from hole area fractions (H, W)."""
    shift = 0.5 ** (depth + 1)
    phi = alpha - 0.5 + shift
    hr, wr = real
    pad = np.pad(phi, 1, constant_values=-0.5 + shift)  # Dirichlet cells beyond the grid
    hole = phi > 0
    safe = np.where(hole, phi, 1.0)
    yy = np.arange(phi.shape[0])[:, None]
    xx = np.arange(phi.shape[1])[None, :]
    top, bottom, left, right = sides
    absent = ((yy == 0) & top, (yy == hr - 1) & bottom, (xx == 0) & left, (xx == wr - 1) & right)
    diag = np.zeros(phi.shape, np.float32)
    for (dy, dx), gone in zip(_OFFSETS, absent):
        nb = pad[1 + dy : 1 + dy + phi.shape[0], 1 + dx : 1 + dx + phi.shape[1]]
        inv_theta = np.where(nb > 0, 1.0, 1.0 - np.minimum(nb, 0.0) / safe)
        diag += np.where(gone, 0.0, np.minimum(inv_theta, 1.0 / THETA_MIN))
    return hole, diag


def _factor(lev: _Level) -> None:
    """Sparse LU of the coarsest level's system (hole cells only)."""
    h, w = lev.shape
    ys, xs = np.nonzero(lev.hole)
    n = ys.size
    lev.cells = (ys, xs)
    if n == 0:
        return
    index = np.full((h, w), -1, np.int64)
    index[ys, xs] = np.arange(n)
    diag = from_phases(lev.n, lev.shape)[0]
    rows, cols, vals = [np.arange(n)], [np.arange(n)], [diag[ys, xs].astype(np.float64)]
    for dy, dx in _OFFSETS:
        qy, qx = ys + dy, xs + dx
        ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        qi = np.full(n, -1)
        qi[ok] = index[qy[ok], qx[ok]]
        link = qi >= 0
        rows.append(np.nonzero(link)[0])
        cols.append(qi[link])
        vals.append(-np.ones(int(link.sum())))
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    lev.lu = spla.splu(a)


# --------------------------------------------------------------------------- cycles


def _solve_coarsest(lev: _Level) -> None:
    sol = np.zeros((lev.u.shape[1],) + lev.shape, np.float32)
    if lev.lu is not None:
        ys, xs = lev.cells
        rhs = from_phases(lev.b, lev.shape)[:, ys, xs]  # (C, n)
        sol[:, ys, xs] = lev.lu.solve(rhs.T.astype(np.float64)).T
    lev.u[...] = to_phases(sol)


def _prolong(lev: _Level, coarse: _Level, phases: tuple[int, ...]) -> None:
    """u[p] += hole * bilinear(coarse u) for the given phases of ``lev``."""
    a, b = lev.half
    c = lev.u.shape[1]
    s = lev.stride
    e = from_phases(coarse.u, coarse.shape)[:, :a, :b]
    flat = np.zeros((c, (a + 2) * s + 2), np.float32)  # one spare element at each end
    ep = flat[:, 1:-1].reshape(c, a + 2, s)
    np.multiply(e, 1.0 / 16.0, out=ep[:, 1:-1, 1:-1])
    top, bottom, left, right = lev.sides
    # beyond the grid: 0 on Dirichlet sides; mirrored on image edges (zero normal derivative)
    if top:
        ep[:, 0, 1:-1] = ep[:, 1, 1:-1]
    if bottom:
        ep[:, -1, 1:-1] = ep[:, -2, 1:-1]
    if left:
        ep[:, :, 0] = ep[:, :, 1]
    if right:
        ep[:, :, -1] = ep[:, :, -2]
    lo, hi = lev.lo, lev.hi
    tmp = np.empty((c, hi - lo), np.float32)
    for rowp, off in ((0, -s), (1, s)):
        want = [p for p in phases if p // 2 == rowp]
        if not want:
            continue
        # v[k] for flat index lo-1+k: 3 * own row + the coarse row above (even) / below (odd)
        v = flat[:, lo : hi + 2] * 3.0
        v += flat[:, lo + off : hi + 2 + off]
        for p in want:
            np.multiply(v[:, 1:-1], 3.0, out=tmp)
            tmp += v[:, 0:-2] if p % 2 == 0 else v[:, 2:]
            tmp *= lev.inner(lev.m, p)
            lev.inner(lev.u, p).__iadd__(tmp)


def _vcycle(lev: _Level) -> None:
    """One V(1,1) cycle on lev.u for lev.b."""
    co = lev.coarse
    if co is None:
        _solve_coarsest(lev)
        return
    lev.sweep()
    lev.red_residual()
    co.b[...] = to_phases(even(lev.restrict(lev.r), 0))
    co.b *= co.m
    co.u.fill(0)
    _vcycle(co)
    # the next red half-sweep recomputes red from black: correct the black phases only
    _prolong(lev, co, (1, 2))
    lev.sweep()


def _fmg(lev: _Level) -> None:
    """Full multigrid start: solve the coarse problem first, interpolate, one V-cycle."""
    co = lev.coarse
    if co is None:
        _solve_coarsest(lev)
        return
    parts = np.stack([lev.inner(lev.b, p) for p in range(4)])
    co.b[...] = to_phases(even(lev.restrict(parts), 0))
    co.b *= co.m
    _fmg(co)
    lev.u.fill(0)
    _prolong(lev, co, (0, 1, 2, 3))
    _vcycle(lev)


def solve_laplace(
    hole: np.ndarray,
    count: np.ndarray,
    sides: tuple[bool, bool, bool, bool],
    d: np.ndarray,
    tol: float,
) -> np.ndarray | None:
    """Harmonic h on ``hole`` with Dirichlet values ``d`` on the known cells.

    hole: bool (H, W); count: |N_p| (H, W); sides: (top, bottom, left, right) of the box that
    are image edges (no neighbours beyond); d: float32 (C, H, W), only known cells are read.
    Returns h float32 (C, H, W) (0 off the hole), or None if MAX_CYCLES V-cycles did not bring
    the per-cycle change below ``tol``.
    """
    c = d.shape[0]
    fine = _build(hole, count, c, sides)
    known = even(~hole, False)
    dk = even(d, 0) * known  # (C, H', W') Dirichlet values, 0 on the hole
    fine.u[...] = to_phases(dk)
    del dk
    for p in range(4):
        dst = fine.inner(fine.b, p)
        fine.nbsum(p, dst)
        dst *= fine.inner(fine.m, p)
    fine.u.fill(0)
    _fmg(fine)
    old = np.empty((2,) + fine.r.shape[1:], np.float32)
    for _ in range(MAX_CYCLES):
        old[0] = fine.inner(fine.u, 1)
        old[1] = fine.inner(fine.u, 2)
        _vcycle(fine)
        change = 0.0
        for k, p in enumerate((1, 2)):
            diff = np.subtract(fine.inner(fine.u, p), old[k], out=old[k])
            change = max(change, float(diff.max()), -float(diff.min()))
        if change <= tol:
            h = from_phases(fine.u, fine.shape)
            return h[:, : hole.shape[0], : hole.shape[1]]
    return None
