"""Framing search: find the window in which the face prior sees the face as it was trained.

The prior was trained on face-centred crops, so a fill is only as good as the window it sees:
the hole plus half its extent of context frames a face unlike a CelebA crop, and G's eyes
land in the hole. The contextual loss already knows which framing fits; this module asks it.

1. :func:`candidate_windows`: squares over scale (side = the hole's extent times a scale)
   and position (the centre moved by a share of the side from the hole's centre), each
   holding the hole with a margin and enough known photo; windows may extend past the photo's
   border (its pixels there are unknown: neither context nor filled). Today's window (the hole
   plus half its extent on every side) and the largest square of the photo are among them.
2. :func:`prior_framings`: the face check (``facecheck.py``) ranks a fine grid of them
   (``PRIOR_SCALES`` x ``PRIOR_SHIFTS``) by how much each looks like a face framed as the prior
   was trained; those within ``PRIOR_MARGIN`` of its favourite go on (at most ``PRIOR_KEEP``,
   no near-copies). Without
   the check installed, the coarse grid (``SCALES`` x ``SHIFTS``) goes on instead.
2b. :func:`refined_framings`: the framer (``framer.py``) moves each proposal to where it sees the
   face's training framing; where the landings agree (their median) comes first, then the
   landings themselves, at most ``REFINED_KEEP`` and no near-copies. The check accepts a range of
   framings and its favourite is seldom the framing itself; the fill needs it to a few pixels.
2c. :func:`with_photo`: where the landings agree on the photo's own square (an aligned crop),
   the photo is the framing.
3. :func:`framing_search`: every framing x K restarts in ONE batched latent search. After
   each round of ``ROUNDS`` iterations the framings are ranked by their best contextual loss
   normalised per unit of weight (the mean absolute error on the weighted context, in grey
   levels, comparable across framings whatever their share of hole) and the better third is
   kept (successive halving); the last ``FINAL_KEEP`` run on under the search's own stopping
   rule and the lowest normalised loss wins. Several photos' framings can share one batch
   (evaluation).

Why both: the check knows where a face's eyes and outline sit in a training crop but not
whether the generator can explain this context; the loss knows the fit but is a poor judge
after a few iterations (on the bundled sample the best framing only pulls ahead after about
20). The check proposes, the loss decides.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter

from inpaint_gui.core.engines.gan.resample import to_model_padded
from inpaint_gui.core.engines.gan.search import Search, _numpy, context_weights, tensor_to_images
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.gan.weights import LoadedModel
from inpaint_gui.core.engines.gan.windows import Window

SCALES = (2.1, 2.6, 3.2, 4.0, 5.0)  # window side / the hole's longer extent
SHIFTS = (-0.15, 0.0, 0.15)  # window centre minus hole centre, as a share of the side (x and y)
MARGIN = 0.04  # the hole keeps at least this share of the side from the window's edge
MIN_KNOWN = 0.3  # at least this share of a window is known photo (not hole, not beyond the border)
MAX_HOLE = 0.6  # at most this share of a window is hole
ROUNDS = (32, 64)  # iterations before each successive-halving cut (then doubling)
KEEP = 1 / 3  # share of the framings each cut keeps
FINAL_KEEP = 2  # framings that run to convergence
GREY_LEVELS = 127.5  # model units [-1, 1] -> grey levels
DETAIL_SIGMA = 1.0  # the context's detail: its mean deviation from a Gaussian blur of this sigma (model pixels)
FULL_BUDGET = 300  # ROUNDS are for searches of this many iterations; shorter ones scale them down ...
MIN_ROUND = 32  # ... but never below this: the loss ranks framings poorly before (on the sample)
# The face check's framing prior: a finer grid, ranked by the check, the best few searched
PRIOR_SCALES = tuple(float(v) for v in np.geomspace(2.1, 5.0, 10).round(3))  # 10% apart
PRIOR_SHIFTS = tuple(float(v) for v in np.linspace(-0.2, 0.2, 9).round(3))  # 5% of the side apart
PRIOR_KEEP = 8  # at most this many framings go from the prior to the latent search ...
PRIOR_MARGIN = 8.0  # ... those the check rates within this of its best (logit units) ...
PRIOR_OVERLAP = 0.85  # ... and not near-copies of a better one (intersection over union)
REFINED_KEEP = 3  # the framer's landing windows searched (see framer.py) ...
REFINED_FINAL_KEEP = 1  # ... of which one runs to convergence: they are near one another (the bench's time)
PHOTO_NEAR = 0.8  # the photo's own square is the framing when the framer's consensus overlaps it this much


@dataclass(frozen=True)
class Frame:
    window: Window  # (x, y, size); may extend past the photo
    hole_share: float  # of the window's area
    known_share: float


def _shares(holes: np.ndarray, window: Window) -> tuple[float, float]:
    """(hole share, known share) of ``window``'s area; pixels beyond the photo are neither.
    ``holes``: the mask's summed-area table (int (H + 1, W + 1), see :func:`_summed`)."""
    h, w = holes.shape[0] - 1, holes.shape[1] - 1
    x, y, s = window
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + s, w), min(y + s, h)
    if x0 >= x1 or y0 >= y1:
        return 0.0, 0.0
    inside = (x1 - x0) * (y1 - y0)
    hole = int(holes[y1, x1] - holes[y0, x1] - holes[y1, x0] + holes[y0, x0])
    return hole / (s * s), (inside - hole) / (s * s)


def _summed(mask: np.ndarray) -> np.ndarray:
    """int64 (H + 1, W + 1): hole pixels above and left of each corner."""
    out = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    out[1:, 1:] = mask.cumsum(0, dtype=np.int64).cumsum(1)
    return out


def candidate_windows(
    mask: np.ndarray,
    box: tuple[int, int, int, int],
    base: Window | None = None,
    scales: Sequence[float] = SCALES,
    shifts: Sequence[float] = SHIFTS,
) -> list[Frame]:
    """The framings to try for the hole whose bounding box is ``box`` = (y0, y1, x0, x1).

    ``base`` (today's automatic window) comes first when it qualifies. Windows are at most
    as large as the photo's longer side.
    """
    h, w = mask.shape
    y0, y1, x0, x1 = box
    extent = max(y1 - y0, x1 - x0)
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    seen: set[Window] = set()
    out: list[Frame] = []
    holes = _summed(mask)

    def consider(win: Window) -> None:
        if win in seen:
            return
        seen.add(win)
        frame = framing_if_valid(holes, box, win)
        if frame is not None:
            out.append(frame)

    if base is not None:
        consider(tuple(int(v) for v in base))
    side = min(h, w)  # the largest square inside the photo, as centred on the hole as it can be
    consider((int(min(max(round(cx - side / 2), 0), w - side)), int(min(max(round(cy - side / 2), 0), h - side)), side))
    for scale in scales:
        side = int(round(extent * scale))
        if side < 8 or side > max(h, w):
            continue
        for dy in shifts:
            for dx in shifts:
                consider((int(round(cx + dx * side - side / 2)), int(round(cy + dy * side - side / 2)), side))
    return out


def framing_if_valid(holes: np.ndarray, box: tuple[int, int, int, int], win: Window) -> Frame | None:
    """``win`` as a framing of the hole whose box is ``box`` = (y0, y1, x0, x1), or None when it
    does not hold the hole with a margin, or is too much hole, or too little known photo.
    ``holes``: the mask's summed-area table (:func:`_summed`)."""
    y0, y1, x0, x1 = box
    x, y, s = win
    m = MARGIN * s
    if x0 - x < m or y0 - y < m or x + s - x1 < m or y + s - y1 < m:
        return None
    hole, known = _shares(holes, win)
    return Frame(win, hole, known) if hole <= MAX_HOLE and known >= MIN_KNOWN else None


def refined_framings(
    mask: np.ndarray,
    box: tuple[int, int, int, int],
    windows: Sequence[Window],
    keep: int = REFINED_KEEP,
    max_overlap: float = PRIOR_OVERLAP,
) -> list[Frame]:
    """The framer's landing windows (``framer.refine`` of the check's proposals, best proposal
    first) as framings: the valid ones, at most ``keep``, without near-copies of an earlier one."""
    holes = _summed(mask)
    out: list[Frame] = []
    for win in windows:
        frame = framing_if_valid(holes, box, tuple(int(v) for v in win))
        if frame is not None and all(overlap(frame.window, f.window) <= max_overlap for f in out):
            out.append(frame)
            if len(out) >= keep:
                break
    return out


def photo_framing(mask: np.ndarray, box: tuple[int, int, int, int]) -> Frame | None:
    """The largest square inside the photo, as centred on the hole (``box`` = (y0, y1, x0, x1))
    as it can be: the photo itself when it is square. None when it is no valid framing."""
    h, w = mask.shape
    y0, y1, x0, x1 = box
    side = min(h, w)
    x = int(min(max(round((x0 + x1) / 2 - side / 2), 0), w - side))
    y = int(min(max(round((y0 + y1) / 2 - side / 2), 0), h - side))
    return framing_if_valid(_summed(mask), box, (x, y, side))


def with_photo(photo: Frame | None, framings: Sequence[Frame], near: float = PHOTO_NEAR) -> list[Frame]:
    """``framings`` (the framer's, consensus first), or the photo's own square alone (``photo``,
    see :func:`photo_framing`) when the consensus overlaps it by ``near`` or more.

    An aligned crop (a CelebA-like face filling a square photo) *is* the prior's training
    framing, but the framer lands a few per cent wider (66-69 px on a 64 px face with the central
    32x32 missing) and hangs the window past the photo: the fill loses context and goes through
    an extra resampling (0.70 dB under the photo itself on val faces 1-48). Neither the framer
    nor the contextual loss tells an aligned crop from a slightly tighter one (a 92% crop: the
    same moves; the loss picked the photo for 30 of 48 aligned and 22 of 48 tighter crops), so
    the photo is preferred outright: aligned crops fill as in their training framing, and a crop
    8-15% tighter than the training framing pays 0.5-0.7 dB (docs/experiments.md).
    """
    out = list(framings)
    if photo is None or not out or overlap(out[0].window, photo.window) < near:
        return out
    return [photo]


def overlap(a: Window, b: Window) -> float:
    """Intersection over union of two square windows."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[2], b[1] + b[2]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] ** 2 + b[2] ** 2 - inter)


def prior_framings(
    frames: Sequence[Frame],
    logits: np.ndarray,
    keep: int = PRIOR_KEEP,
    margin: float = PRIOR_MARGIN,
    max_overlap: float = PRIOR_OVERLAP,
) -> list[Frame]:
    """The framings the latent search tries: of ``frames``, those the face check (``logits``:
    how much a window looks like a face framed as the prior was trained) rates within
    ``margin`` of its best, best first, at most ``keep``, leaving out near-copies (overlap
    above ``max_overlap``) of a better one.

    The check knows where a face's eyes and outline sit in a training crop; the contextual loss
    does not, and left to itself it prefers zoomed-in windows (smooth at model resolution, easy
    to fit: on val faces with a part missing it chose 72-83 px windows over the whole 128 px
    face, 1.8 dB worse) or, after a few iterations, misses the best framing altogether (on the
    bundled sample). The check proposes, the loss decides among what it proposes.
    """
    scores = np.asarray(logits, dtype=np.float64)
    if not len(frames):
        return []
    floor = scores.max() - margin
    picked: list[Frame] = []
    for i in np.argsort(-scores, kind="stable"):
        if len(picked) >= keep or scores[i] < floor:
            break
        f = frames[int(i)]
        if all(overlap(f.window, c.window) <= max_overlap for c in picked):
            picked.append(f)
    return picked


def too_large_message(mask: np.ndarray, box: tuple[int, int, int, int]) -> str:
    """The one-line error for a hole no framing can hold, naming the largest fillable hole."""
    h, w = mask.shape
    y0, y1, x0, x1 = box
    largest = int(math.sqrt(min(MAX_HOLE, 1 - MIN_KNOWN)) * min(h, w))
    return (
        f"the hole spans {x1 - x0}x{y1 - y0} px, too large for the face prior: in this {w}x{h} photo the "
        f"largest fillable hole is about {largest}x{largest} px (at most {MAX_HOLE:.0%} of the model window "
        f"may be hole and at least {MIN_KNOWN:.0%} must be known photo); paint a smaller hole or place the window by hand"
    )


@dataclass
class Problem:
    """One photo's hole and its framings (the search may take several problems at once)."""

    image: np.ndarray  # uint8 (H, W, 3)
    mask: np.ndarray  # bool (H, W): everything still missing
    frames: list[Frame]


@dataclass
class FramingStep:
    iteration: int
    iterations: int
    stage: str
    best: int  # framing index (of problem 0) currently ranked first
    total: np.ndarray  # float64 (K,) of that framing at the latest iteration
    previews: np.ndarray | None  # uint8 (K, S, S, 3) of that framing, or None
    elapsed: float
    done: bool = False


@dataclass
class FramingResult:
    """Per problem: every framing's normalised loss, and the survivors' candidates."""

    normalised: list[np.ndarray]  # float64 (F,) per problem: best normalised contextual loss per framing
    rounds: list[np.ndarray]  # int (F,) per problem: the cuts each framing survived
    survivors: list[list[int]]  # framing indices per problem, best first
    fills: list[np.ndarray]  # uint8 (F_s, K, S, S, 3) per problem, survivors' order
    total: list[np.ndarray]  # float64 (F_s, K)
    contextual: list[np.ndarray]  # float64 (F_s, K) normalised (grey levels)
    iterations: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    iterations_run: list[np.ndarray] = field(default_factory=list)
    detail: list[np.ndarray] = field(default_factory=list)  # float64 (F,): what the loss is divided by to rank


def _inputs(model: LoadedModel, problems: list[Problem]):
    smalls, holes, outs, owner = [], [], [], []
    for p_index, p in enumerate(problems):
        for f in p.frames:
            small, hole, out = to_model_padded(p.image, p.mask, f.window, model.resolution)
            smalls.append(small)
            holes.append(hole)
            outs.append(out)
            owner.append(p_index)
    return np.stack(smalls), np.stack(holes), np.stack(outs), np.asarray(owner)


def context_detail(small: np.ndarray, weights: np.ndarray, sigma: float = DETAIL_SIGMA) -> float:
    """The weighted context's own detail, in grey levels: the mean absolute deviation of the
    window (uint8 (S, S, 3) at model resolution) from its Gaussian blur, under ``weights``.

    A zoomed-in window is smooth at model resolution and easy to match, a zoomed-out one is
    detailed; dividing the normalised contextual loss by it ranks framings by how well the
    prior explains the context relative to how much there is to explain.
    """
    y = small.astype(np.float64)
    blurred = np.stack([gaussian_filter(y[..., c], sigma) for c in range(3)], axis=-1)
    total = float(weights.sum())
    return float((weights[..., None] * np.abs(y - blurred)).sum() / (3 * total)) if total > 0 else 0.0


def framing_search(
    model: LoadedModel,
    problems: list[Problem],
    settings: SearchSettings,
    cancel: threading.Event | None = None,
    preview_seconds: float = 0.2,
    rounds: Sequence[int] = ROUNDS,
    keep: float = KEEP,
    final_keep: int = FINAL_KEEP,
    relative: bool = True,
    encoder=None,
) -> Iterator[FramingStep | FramingResult]:
    """Successive halving over framings; yields progress steps for problem 0, then the result.
    ``encoder`` (optional): each framing's last restart starts at its z (a learned start)."""
    start = time.perf_counter()
    budget = settings.iterations / FULL_BUDGET  # a shorter search cuts sooner (never before MIN_ROUND)
    if budget < 1:
        rounds = [max(min(MIN_ROUND, r), int(round(r * budget))) for r in rounds]
    smalls, holes, outs, owner = _inputs(model, problems)
    search = Search(model, smalls, holes, settings, outs, encoder)
    n = len(owner)
    detail = np.ones(n)
    if relative:  # rank by the loss relative to the context's own detail (see context_detail)
        weights = [context_weights(holes[i], settings.weighting, settings.weight_window, outs[i]) for i in range(n)]
        detail = np.maximum([context_detail(smalls[i], weights[i]) for i in range(n)], 0.5)  # a flat wall is not free
    norm = np.full(n, np.inf)  # latest normalised contextual loss per framing
    survived = np.zeros(n, np.int64)
    alive = np.ones(n, bool)
    cut, next_cut = 0, (int(rounds[0]) if rounds else None)  # successive halving: the next cut's iteration
    last_preview = 0.0
    cancelled = False
    while not search.finished:
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        rows = search.running  # the rows of this step's outputs (the step may retire some)
        fake, contextual, _, total = search.step()
        norm[rows] = _numpy(contextual.min(1).values) / search.weight_sums[rows] * GREY_LEVELS
        it = search.iteration
        if next_cut is not None and it >= next_cut:
            for p in range(len(problems)):
                mine = np.flatnonzero((owner == p) & alive)
                if len(mine) <= final_keep:
                    continue
                n_keep = max(final_keep, int(math.ceil(len(mine) * keep)))
                order = mine[np.argsort(norm[mine] / detail[mine], kind="stable")]
                alive[order[n_keep:]] = False
                survived[order[:n_keep]] += 1
            search.prune(alive)
            cut += 1
            length = rounds[cut] if cut < len(rounds) else rounds[-1] * 2 ** (cut - len(rounds) + 1)
            crowded = any(((owner == p) & alive).sum() > final_keep for p in range(len(problems)))
            next_cut = it + length if crowded else None
        now = time.perf_counter()
        if now - last_preview >= preview_seconds and not search.finished:
            last_preview = now
            first = np.flatnonzero(owner == 0)
            best = int(first[np.argmin(norm[first] / detail[first])])
            where = np.flatnonzero(rows == best)
            previews = tot = None
            if len(where):
                a, k = int(where[0]), search.shape[1]
                previews = tensor_to_images(fake[a * k : (a + 1) * k])
                tot = _numpy(total[a])
            yield FramingStep(
                it,
                settings.iterations,
                _stage(alive[owner == 0]),
                best,
                tot if tot is not None else np.zeros(search.shape[1]),
                previews,
                now - start,
            )
    fake, contextual, _, total = search.final()
    b, k = search.shape
    fills = tensor_to_images(fake).reshape(b, k, *fake.shape[2:], 3)
    ctx = _numpy(contextual) / search.weight_sums[:, None] * GREY_LEVELS  # (B, K)
    tot = _numpy(total)
    best_norm = ctx[np.arange(b), tot.argmin(1)]  # normalised loss of each framing's best restart
    final = np.where(alive, best_norm, norm)
    result = FramingResult([], [], [], [], [], [], search.iteration, time.perf_counter() - start, cancelled)
    for p in range(len(problems)):
        mine = np.flatnonzero(owner == p)
        live = mine[alive[mine]]
        order = live[np.argsort(final[live] / detail[live], kind="stable")]
        result.normalised.append(final[mine])
        result.detail.append(detail[mine])
        result.rounds.append(survived[mine])
        result.survivors.append([int(i - mine[0]) for i in order])
        result.fills.append(fills[order])
        result.total.append(tot[order])
        result.contextual.append(ctx[order])
        result.iterations_run.append(search.iterations_run[mine].copy())
    yield result


def _stage(alive: np.ndarray) -> str:
    return f"framings: {int(alive.sum())} of {len(alive)} in the running"
