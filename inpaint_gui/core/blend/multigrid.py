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
is followed by V(1,1) cycles (contraction about 0.15-0.3 per cycle on compact holes) until no
value changes by more than ``tol``; where they converge slowly (porous masks, shapes the
coarse levels miss) conjugate gradients preconditioned by symmetric V-cycles take over.
Everything is float32; the values stay within the boundary values' range (maximum principle).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

COARSEST_CELLS = 1024  # a level with at most this many cells is solved by sparse LU
MAX_CYCLES = 50  # V-cycles (or CG steps) before giving up; the caller then solves directly
MAX_RATE = 0.75  # plain V-cycles whose change shrinks slower than this hand over to CG
STALL_LIMIT = 4  # CG steps without progress before giving up
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
        self.m = to_phases(hole[None], np.float32)  # (4, 1, L)
        self.n = to_phases(diag[None], np.float32)
        self.n *= self.m
        self.w = np.divide(self.m, self.n, out=np.zeros_like(self.m), where=self.m > 0)
        self.u = np.zeros((4, c) + self.m.shape[2:], np.float32)  # (4, C, L)
        self.b = np.zeros((4, c) + self.m.shape[2:], np.float32)
        # red residuals (phases 0, 3) in the padded flat layout, one spare element each end
        self.rbuf = np.zeros((2, c, self.m.shape[2] + 2), np.float32)
        self.r = self.rbuf[:, :, 1 + self.lo : 1 + self.hi]
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

    def nbsum(self, p: int, out: np.ndarray, src: np.ndarray | None = None) -> np.ndarray:
        """Sum of the 4 neighbours of phase p's cells in ``src`` (default u) into ``out``."""
        (q1, o1), (q2, o2), (q3, o3), (q4, o4) = self.nb[p]
        u = self.u if src is None else src
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

    def sweep_back(self) -> None:
        """Black then red half-sweep (the adjoint of :meth:`sweep`)."""
        for p in (1, 2, 0, 3):
            self.relax(p)

    def sweep(self, zero: bool = False) -> None:
        """Red then black half-sweep; ``zero``: treat u as 0 (its old values are ignored)."""
        for p in (0, 3):
            if zero:
                np.multiply(self.inner(self.b, p), self.inner(self.w, p), out=self.inner(self.u, p))
            else:
                self.relax(p)
        for p in (1, 2):
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

    def matvec(self, src: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
        """out = A src on the hole interiors (out's padding must be 0); tmp: (C, hi-lo)."""
        for p in range(4):
            o = self.inner(out, p)
            self.nbsum(p, o, src)
            np.multiply(self.inner(self.n, p), self.inner(src, p), out=tmp)
            np.subtract(tmp, o, out=o)
            o *= self.inner(self.m, p)

    def restrict_red(self) -> np.ndarray:
        """Full weighting (the transpose of bilinear prolongation) of the red residuals.

        Returns the coarse right-hand side (C, a, b); weights (1, 3, 3, 1)^2 / 16 per axis.
        """
        s, lo, hi = self.stride, self.lo, self.hi
        ee, oo = self.rbuf[0], self.rbuf[1]  # index k of the layout is k + 1 here
        # even rows/cols: a coarse cell takes its own child (3) and the next one (1)
        tx = ee[:, 1 + lo : 1 + hi + s] * 3.0
        tx += ee[:, 2 + lo : 2 + hi + s]
        out = tx[:, :-s] * 3.0
        out += tx[:, s:]
        # odd rows/cols: its own child (3) and the previous one (1)
        tx = oo[:, 1 + lo - s : 1 + hi] * 3.0
        tx += oo[:, lo - s : hi]
        out += tx[:, s:] * 3.0
        out += tx[:, :-s]
        out *= 1.0 / 16.0
        a, _b = self.half
        return out.reshape(out.shape[0], a, s)[:, :, 1:-1]

    def restrict(self, parts: np.ndarray) -> np.ndarray:
        """Sum of per-phase interior arrays (k, C, hi-lo) -> coarse-grid (C, a, b) view."""
        total = parts.sum(axis=0)
        a, b = self.half
        return total.reshape(total.shape[0], a, b + 2)[:, :, 1:-1]


def to_phases(x: np.ndarray, dtype=None, out: np.ndarray | None = None) -> np.ndarray:
    """(C, H, W) -> zero-padded flat phase layout (4, C, (a+2)*(b+2)), a, b = ceil(H/2, W/2).

    Odd H or W is padded with zeros at the bottom/right. With ``out`` (whose padding must
    already be 0) only the cells of ``x`` are written.
    """
    c, h, w = x.shape
    a, b = (h + 1) // 2, (w + 1) // 2
    if out is None:
        out = np.zeros((4, c, (a + 2) * (b + 2)), dtype or x.dtype)
    grid = out.reshape(4, c, a + 2, b + 2)
    for p, (i, j) in enumerate(_PARITY):
        part = x[:, i::2, j::2]
        grid[p, :, 1 : 1 + part.shape[1], 1 : 1 + part.shape[2]] = part
    return out


def from_phases(ph: np.ndarray, shape: tuple[int, int], channels_last: bool = False) -> np.ndarray:
    """Flat phase layout (4, C, L) -> regular (C, H, W), cropped to ``shape``.

    With ``channels_last`` the result is a (C, H, W) view of a contiguous (H, W, C) array.
    """
    h, w = shape
    c = ph.shape[1]
    a, b = (h + 1) // 2, (w + 1) // 2
    grid = ph.reshape(4, c, a + 2, b + 2)
    if channels_last:
        out = np.empty((h, w, c), ph.dtype).transpose(2, 0, 1)
    else:
        out = np.empty((c, h, w), ph.dtype)
    for p, (i, j) in enumerate(_PARITY):
        dst = out[:, i::2, j::2]
        dst[...] = grid[p, :, 1 : 1 + dst.shape[1], 1 : 1 + dst.shape[2]]
    return out


def even(x: np.ndarray, fill) -> np.ndarray:
    """Pad a (..., H, W) array at the bottom/right to even H and W."""
    ph, pw = x.shape[-2] % 2, x.shape[-1] % 2
    if not (ph or pw):
        return x
    pad = [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(x, pad, constant_values=fill)


# --------------------------------------------------------------------------- hierarchy


def _attach_coarse(fine: _Level, hole: np.ndarray, sides) -> None:
    """Build the coarse levels below ``fine`` (2x2 -> 1) and factor the coarsest one.

    Coarse cells know the fine geometry through their hole area fraction alpha, see
    :func:`_coarse_geometry`. The area counts known pixels and the padding added to make a
    size even; padding beyond an image edge (where there are no pixels) does not count.
    """
    c = fine.u.shape[1]
    area = even(hole.astype(np.float32), 0)  # hole pixels per cell
    real_area = _even_area(np.ones(hole.shape, np.float32), sides, 1.0)  # pixels per cell
    lev, depth = fine, 0
    lev.coarse = None
    while lev.hole.size > COARSEST_CELLS and min(lev.shape) > 2:
        depth += 1
        area = _pool(area)
        real_area = _pool(real_area)
        alpha = np.divide(area, real_area, out=np.zeros_like(area), where=real_area > 0)
        ch, diag = _coarse_geometry(alpha, real_area > 0, sides, depth)
        if not ch.any():
            break  # the hole vanished at this scale: solve the current level directly
        lev.coarse = _Level(even(ch, False), even(diag, 1), c, sides)
        area, real_area = even(area, 0), _even_area(real_area, sides, 4.0**depth)
        lev = lev.coarse
    _factor(lev)


def _even_area(x: np.ndarray, sides, full: float) -> np.ndarray:
    """Pad a per-cell area to even size: ``full`` below/right of a Dirichlet side, 0 beyond an
    image edge."""
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    if ph:
        x = np.concatenate([x, np.full((1, x.shape[1]), 0.0 if sides[1] else full, x.dtype)])
    if pw:
        x = np.concatenate([x, np.full((x.shape[0], 1), 0.0 if sides[3] else full, x.dtype)], 1)
    return x


def _pool(x: np.ndarray) -> np.ndarray:
    """Sum over 2x2 blocks of an even-sized (H, W) array."""
    out = x[0::2, 0::2] + x[0::2, 1::2]
    out += x[1::2, 0::2]
    out += x[1::2, 1::2]
    return out


def _coarse_geometry(alpha: np.ndarray, real: np.ndarray, sides, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Unknown cells and diagonal of a coarse level (depth >= 1) from hole fractions (H, W).

    phi = alpha - 1/2 + 2^-(depth+1) estimates the signed distance (in cells) from a cell's
    centre to the fine Dirichlet boundary, which lies on the known pixels' centres, half a
    fine pixel outside the hole's squares; it is reliable only in cells the boundary cuts
    (0 < alpha < 1). Cells with phi > 0 are unknowns. A link I -> J to a known cell crosses
    the boundary at theta = phi_I when I is cut or J is not, 1 + phi_J when only J is cut (the
    mean when both are), and adds 1/theta to I's diagonal instead of 1 (the symmetric
    ghost-value discretisation of Gibou et al. 2002). ``real``: cells holding image pixels;
    links leaving the image (``sides``) do not exist.

    Known pixels scattered through the hole (a porous mask) would vanish from such cells and
    make them over-correct, so where at least 7 of the 9 cells around are cut, a cell with a
    known pixel stays known; the fine smoother handles such well-anchored regions by itself.
    """
    shift = 0.5 ** (depth + 1)
    phi = alpha - 0.5 + shift
    cut = (alpha > 0) & (alpha < 1)
    cuts = np.pad(cut.astype(np.int8), 1)
    around = sum(
        cuts[i : i + cut.shape[0], j : j + cut.shape[1]] for i in range(3) for j in range(3)
    )  # cut cells in the 3x3 neighbourhood
    hole = (phi > 0) & real & ~(cut & (around >= 7))
    if hole[real].all() and all(sides):
        # no Dirichlet cell would be left (one known pixel lost in a hole filling the image):
        # keep every cell that holds a known pixel known
        hole &= alpha >= 1
    h, w = phi.shape
    phi_p = np.pad(phi, 1, constant_values=-0.5 + shift)  # Dirichlet cells beyond the grid
    cut_p = np.pad(cut, 1, constant_values=False)
    hole_p = np.pad(hole, 1, constant_values=False)
    real_p = np.pad(real, 1, constant_values=False)
    own = np.where(hole, phi, 1.0)
    top, bottom, left, right = sides
    edge = (top, bottom, left, right)
    diag = np.zeros(phi.shape, np.float32)
    for k, (dy, dx) in enumerate(_OFFSETS):
        win = (slice(1 + dy, 1 + dy + h), slice(1 + dx, 1 + dx + w))
        nb, nb_cut = phi_p[win], cut_p[win]
        use_own = cut | ~nb_cut
        theta = np.where(use_own & nb_cut, 0.5 * (own + 1 + nb), np.where(use_own, own, 1 + nb))
        link = np.where(hole_p[win], 1.0, 1.0 / np.clip(theta, THETA_MIN, 1.0))
        # a neighbour that is not an image pixel: beyond an image edge there is none
        gone = ~real_p[win] if edge[k] else np.zeros_like(hole)
        diag += np.where(gone, 0.0, link)
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
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    lev.lu = spla.splu(a)


# --------------------------------------------------------------------------- cycles


def _solve_coarsest(lev: _Level) -> None:
    sol = np.zeros((lev.u.shape[1],) + lev.shape, np.float32)
    if lev.lu is not None:
        ys, xs = lev.cells
        rhs = from_phases(lev.b, lev.shape)[:, ys, xs]  # (C, n)
        sol[:, ys, xs] = lev.lu.solve(rhs.T.astype(np.float64)).T
    lev.u[...] = to_phases(sol)


def _prolong(lev: _Level, coarse: _Level, phases: tuple[int, ...], assign: bool = False) -> None:
    """u[p] += hole * bilinear(coarse u) for the given phases (``assign``: u[p] = ...)."""
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
            if assign:
                np.multiply(tmp, lev.inner(lev.m, p), out=lev.inner(lev.u, p))
            else:
                tmp *= lev.inner(lev.m, p)
                lev.inner(lev.u, p).__iadd__(tmp)


def _vcycle(lev: _Level, zero: bool = False, symmetric: bool = False) -> None:
    """One V(1,1) cycle on lev.u for lev.b (``zero``: start from u = 0, whatever u holds).

    Default: red-black smoothing before and after, the residual restricted by summing the
    2x2 children, the correction prolonged bilinearly to the black cells (the red ones are
    recomputed from them). ``symmetric``: full-weighting restriction (the transpose of the
    prolongation), red correction and black-red post-smoothing, which makes the cycle a
    symmetric positive definite preconditioner for CG however poor the coarse levels are
    (it converges slower on its own).
    """
    co = lev.coarse
    if co is None:
        _solve_coarsest(lev)
        return
    lev.sweep(zero)
    lev.red_residual()
    to_phases(lev.restrict_red() if symmetric else lev.restrict(lev.r), out=co.b)
    co.b *= co.m
    _vcycle(co, zero=True, symmetric=symmetric)
    if symmetric:
        _prolong(lev, co, (0, 3))  # the next black half-sweep recomputes black from red
        lev.sweep_back()
    else:
        _prolong(lev, co, (1, 2))  # the next red half-sweep recomputes red from black
        lev.sweep()


def _fmg(lev: _Level) -> None:
    """Full multigrid start: solve the coarse problem first, interpolate, one V-cycle."""
    co = lev.coarse
    if co is None:
        _solve_coarsest(lev)
        return
    parts = np.stack([lev.inner(lev.b, p) for p in range(4)])
    to_phases(lev.restrict(parts), out=co.b)
    co.b *= co.m
    _fmg(co)
    _prolong(lev, co, (0, 1, 2, 3), assign=True)
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
    are image edges (no neighbours beyond); d: float32 (C, H, W) (any strides), only known
    cells are read. Returns h float32 (C, H, W) (0 off the hole; a view of a contiguous
    (H, W, C) array), or None when neither plain V-cycles nor CG converged.

    A full-multigrid start is followed by plain V-cycles; if they converge slowly (a porous
    mask, a shape the coarse levels miss) CG preconditioned by symmetric V-cycles takes over
    from where they stopped. Both stop once an update changes no value by more than ``tol``
    and the error estimated to remain is below tol / 4.
    """
    c = d.shape[0]
    fine = _Level(even(hole, False), even(count, 1), c, sides)
    fine.u[...] = to_phases(d)
    fine.u *= 1 - fine.m  # Dirichlet values on known cells, 0 on the hole
    # maximum principle: h lies between the smallest and largest boundary value
    lo = fine.u.min(axis=(0, 2))[None, :, None]
    hi = fine.u.max(axis=(0, 2))[None, :, None]
    for p in range(4):
        dst = fine.inner(fine.b, p)
        fine.nbsum(p, dst)
        dst *= fine.inner(fine.m, p)
    _attach_coarse(fine, hole, sides)
    _fmg(fine)
    np.clip(fine.u, lo, hi, out=fine.u)  # a poor coarse start cannot leave the range
    if _iterate(fine, tol) or (fine.coarse is not None and _pcg(fine, tol, lo, hi)):
        return from_phases(fine.u, hole.shape, channels_last=True)
    return None


def _converged(changes: list[float], tol: float) -> bool:
    """Stop when the last update is below ``tol`` and the error left after it, estimated as
    change * r / (1 - r), is below tol / 4, with r the slower of the last contraction and
    the mean contraction over the last 4 updates (CG need not shrink every step)."""
    change = changes[-1]
    if change > tol:
        return False
    if len(changes) == 1:
        return change == 0.0
    rate = changes[-1] / changes[-2] if changes[-2] > 0 else 0.0
    window = changes[-5:]
    if len(window) > 2 and window[0] > 0:
        rate = max(rate, (window[-1] / window[0]) ** (1.0 / (len(window) - 1)))
    rate = min(rate, 0.95)
    return change * rate / (1.0 - rate) <= 0.25 * tol


def _iterate(fine: _Level, tol: float) -> bool:
    """Plain V-cycles from fine.u until converged (True), or False once they slow down
    (change shrinking by less than MAX_RATE after the first two), blow up or run out."""
    old = np.empty_like(fine.r)
    changes: list[float] = []
    for cycle in range(MAX_CYCLES):
        old[0] = fine.inner(fine.u, 1)
        old[1] = fine.inner(fine.u, 2)
        _vcycle(fine)
        extremes = []
        for k, p in enumerate((1, 2)):
            diff = np.subtract(fine.inner(fine.u, p), old[k], out=old[k])
            extremes += [diff.max(), -diff.min()]
        change = float(np.max(extremes))  # NaN propagates
        if not np.isfinite(change) or (cycle >= 2 and change > MAX_RATE * changes[-1]):
            return False
        changes.append(change)
        if _converged(changes, tol):
            return True
    return False


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-channel dot product of two (4, C, L) arrays -> (1, C, 1) float64."""
    return np.einsum("pcl,pcl->c", a, b).astype(np.float64)[None, :, None]


def _pcg(fine: _Level, tol: float, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Conjugate gradients preconditioned by one symmetric V-cycle, each channel on its own.

    Starts from fine.u (restarted from the FMG solution if it is no longer finite) and leaves
    the solution there. The flexible form of beta (Notay 2000) keeps it robust to rounding.
    """
    if not np.isfinite(fine.u).all():
        _fmg(fine)
        np.nan_to_num(fine.u, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(fine.u, lo, hi, out=fine.u)
    x = fine.u.copy()
    b = fine.b
    r = np.zeros_like(x)
    q = np.zeros_like(x)
    step = np.empty_like(x)
    tmp = np.empty_like(fine.r[0])
    fine.matvec(x, r, tmp)
    np.subtract(b, r, out=r)  # r = b - A x
    fine.b = r  # the V-cycle now preconditions the residual
    try:
        _vcycle(fine, zero=True, symmetric=True)
        p = fine.u.copy()
        changes: list[float] = []
        best = np.inf
        stalled = 0
        for _ in range(MAX_CYCLES):
            fine.matvec(p, q, tmp)
            pq = _dot(p, q)
            pq[pq == 0] = 1.0
            alpha = (_dot(p, r) / pq).astype(np.float32)
            np.multiply(p, alpha, out=step)
            top, bottom = float(step.max()), float(step.min())
            change = max(top, -bottom) if np.isfinite(top + bottom) else np.inf
            x += step
            np.multiply(q, alpha, out=step)
            r -= step
            # CG need not shrink every step: give up after STALL_LIMIT steps without progress
            stalled = 0 if change < MAX_RATE * best else stalled + 1
            best = min(best, change)
            if change == np.inf or stalled >= STALL_LIMIT:
                return False
            changes.append(change)
            if _converged(changes, tol):
                fine.u[...] = x
                return True
            _vcycle(fine, zero=True, symmetric=True)
            z = fine.u
            beta = (-_dot(z, q) / pq).astype(np.float32)
            p *= beta
            p += z
        return False
    finally:
        fine.b = b
