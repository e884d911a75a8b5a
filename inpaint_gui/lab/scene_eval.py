"""Scene (photo) benchmark: object removal and scratch repair on natural photos.

For every photo of a folder (sorted by name) and every hole kind of
:mod:`inpaint_gui.lab.scene_masks`, each method fills the hole and is scored against the
original: PSNR and SSIM over the hole's bounding box (the hole and the context it must
agree with), over the whole image, and seconds per image. Methods:

- ``auto``: the app's pipeline with the automatic engine choice (what ``inpaint-gui run`` does);
- every registered engine by its name (``scene``, ``face``, and any plugin's): the same
  pipeline with that engine alone, exactly what ``inpaint-gui run --engine NAME`` ships
  (planned, run, the best candidate seated by the Poisson blend);
- ``pypatchmatch``: ``patch_match.inpaint(image, mask, patch_size=3)`` (7x7 patches), the
  reference PatchMatch inpainting, skipped with a note when the package is missing;
- ``telea``: OpenCV's fast marching method (``cv2.INPAINT_TELEA``, radius 3), skipped
  without OpenCV;
- ``harmonic``: the Laplace fill (:func:`inpaint_gui.lab.baselines.harmonic_fill`).

Benchmark-only packages are imported here and never by the app. Figures are crops around
the holes (truth | hole shown white | one column per method), magnified for viewing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint_gui.lab.metrics import psnr, ssim
from inpaint_gui.lab.scene_masks import make_scene_mask

BASELINES = ("pypatchmatch", "telea", "harmonic")


def scene_methods() -> tuple[str, ...]:
    """``auto``, every registered engine, then the baselines."""
    from inpaint_gui.core.engines import names

    return ("auto", *names(), *BASELINES)


METRICS = ("psnr_bbox", "ssim_bbox", "psnr", "ssim", "seconds")

Fill = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class SceneEval:
    """Rows (one per photo, kind and method), notes on skipped methods, figures per kind."""

    photos: list[str]
    rows: list[dict] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # method -> why it was skipped
    figures: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> uint8 (H, W, 3)

    def summary(self, indices: range | list[int] | None = None) -> list[dict]:
        """Mean (and standard error) of every metric per (kind, method) over the photos
        numbered ``indices`` (all when None), in run order."""
        keep = None if indices is None else set(indices)
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in self.rows:
            if keep is None or r["index"] in keep:
                groups.setdefault((r["kind"], r["method"]), []).append(r)
        out = []
        for (kind, method), rows in groups.items():
            entry: dict = {"kind": kind, "method": method, "n": len(rows)}
            for k in METRICS:
                vals = np.array([r[k] for r in rows], float)
                vals = vals[np.isfinite(vals)]
                entry[k] = float(vals.mean()) if vals.size else float("nan")
                entry[k + "_se"] = float(vals.std(ddof=1) / math.sqrt(vals.size)) if vals.size > 1 else 0.0
            out.append(entry)
        return out

    def table_markdown(self, indices: range | list[int] | None = None, title: str = "") -> str:
        """The summary as Markdown tables (one per kind)."""
        lines = [f"#### {title}", ""] if title else []
        entries = self.summary(indices)
        for kind in dict.fromkeys(e["kind"] for e in entries):
            lines += [
                f"{kind} (n = {next(e['n'] for e in entries if e['kind'] == kind)})",
                "",
                "| method | PSNR bbox dB | SSIM bbox | PSNR dB | SSIM | s / image |",
                "|---|---|---|---|---|---|",
            ]
            for e in (e for e in entries if e["kind"] == kind):
                lines.append(
                    f"| {e['method']} | {e['psnr_bbox']:.2f} ± {e['psnr_bbox_se']:.2f} | "
                    f"{e['ssim_bbox']:.4f} | {e['psnr']:.2f} | {e['ssim']:.4f} | {e['seconds']:.3f} |"
                )
            lines.append("")
        for method, why in self.notes.items():
            lines.append(f"- {method} skipped: {why}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- methods


def _pipeline(engine: str, engines, settings=None, seed: int = 0) -> Fill:
    """The app's own pipeline with ``engine`` (auto: the automatic choice): ``settings`` (an
    InpaintSettings; the defaults when None) with that engine and ``seed``."""
    from dataclasses import replace

    from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, inpaint

    base = settings if settings is not None else InpaintSettings(CommonSettings(device="cpu"))
    chosen = replace(base, common=replace(base.common, engine=engine, seed=seed))
    return lambda image, hole: inpaint(image, hole, chosen, engines).image


def _pypatchmatch() -> Fill:
    from patchmatch import patch_match  # benchmark only (pip install pypatchmatch)

    return lambda image, hole: patch_match.inpaint(image, hole.astype(np.uint8) * 255, patch_size=3)


def _telea() -> Fill:
    import cv2  # benchmark only (opencv-python-headless)

    return lambda image, hole: cv2.inpaint(image, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)


def _harmonic() -> Fill:
    from inpaint_gui.lab.baselines import harmonic_fill

    return harmonic_fill


def make_methods(methods: list[str], settings=None, seed: int = 0) -> tuple[dict[str, Fill], dict[str, str]]:
    """(fill function per available method, note per skipped method); ``settings``: the
    InpaintSettings the engines run with (their defaults when None)."""
    from inpaint_gui.core.engines import Engines

    engines = Engines()  # one set for every method: a model loads once
    pipeline_methods = scene_methods()[: -len(BASELINES)]
    fills: dict[str, Fill] = {}
    notes: dict[str, str] = {}
    for m in methods:
        try:
            if m in pipeline_methods:
                fills[m] = _pipeline(m, engines, settings, seed)
            elif m == "pypatchmatch":
                fills[m] = _pypatchmatch()
            elif m == "telea":
                fills[m] = _telea()
            elif m == "harmonic":
                fills[m] = _harmonic()
            else:
                raise ValueError(f"unknown method {m!r}: choose from {', '.join(scene_methods())}")
        except ImportError as exc:
            notes[m] = f"not installed ({exc.name or exc}); pip install " + (
                "pypatchmatch" if m == "pypatchmatch" else "opencv-python-headless"
            )
    return fills, notes


# --------------------------------------------------------------------------- helpers


def hole_box(hole: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (y0, y1, x0, x1) of the True pixels of ``hole``."""
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def box_mask(hole: np.ndarray) -> np.ndarray:
    y0, y1, x0, x1 = hole_box(hole)
    m = np.zeros(hole.shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def score(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """PSNR and SSIM over the hole's bounding box and over the whole image."""
    bbox = box_mask(hole)
    return {
        "psnr_bbox": psnr(result, truth, bbox),
        "ssim_bbox": ssim(result, truth, bbox),
        "psnr": psnr(result, truth),
        "ssim": ssim(result, truth),
    }


def load_photos(folder: Path, n: int | None = None) -> list[tuple[str, np.ndarray]]:
    """The photos of ``folder`` sorted by name (first ``n``): (name, uint8 (H, W, 3))."""
    from inpaint_gui.core.errors import InpaintError
    from inpaint_gui.lab.dataset import list_images

    files = list_images(Path(folder))[: n or None]
    if not files:
        raise InpaintError(f"{folder}: no photos to evaluate")
    out = []
    for p in files:
        with Image.open(p) as im:
            out.append((p.name, np.asarray(im.convert("RGB"))))
    return out


def crop_window(hole: np.ndarray, kind: str, side: int = 160) -> tuple[int, int, int, int]:
    """A square crop (y0, y1, x0, x1) to look at: the hole's box (+ context) for objects,
    a ``side`` square on the middle of the hole's pixels for strokes."""
    h, w = hole.shape
    if kind == "object":
        y0, y1, x0, x1 = hole_box(hole)
        side = max(y1 - y0, x1 - x0) + 32
        cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    else:
        ys, xs = np.nonzero(hole)
        cy, cx = int(ys[ys.size // 2]), int(xs[ys.size // 2])
    side = min(side, h, w)
    y0 = min(max(cy - side // 2, 0), h - side)
    x0 = min(max(cx - side // 2, 0), w - side)
    return y0, y0 + side, x0, x0 + side


def figure_rows(rows: list[list[np.ndarray]], cell: int = 192, pad: int = 2) -> np.ndarray:
    """Grid of crops (list of rows of uint8 images), each resized to ``cell`` x ``cell``
    with nearest neighbour (pixels stay visible), white gaps."""
    ncol = max(len(r) for r in rows)
    grid = np.full((len(rows) * (cell + pad) + pad, ncol * (cell + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            tile = np.asarray(Image.fromarray(im).resize((cell, cell), Image.Resampling.NEAREST))
            y, x = pad + i * (cell + pad), pad + j * (cell + pad)
            grid[y : y + cell, x : x + cell] = tile
    return grid


# --------------------------------------------------------------------------- the benchmark


def evaluate_scenes(
    photos_dir: Path | str,
    mask_kinds: list[str] | tuple[str, ...] = ("object", "scratches"),
    methods: list[str] | tuple[str, ...] | None = None,
    seed: int = 0,
    n: int | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    *,
    settings=None,
    figure_photos: list[int] | None = None,
    result: SceneEval | None = None,
    skip: int = 0,
) -> SceneEval:
    """Fill every photo (the first ``n`` by name) for every hole kind with every method.

    Holes come from :func:`make_scene_mask` (kind, ``seed``, photo index). ``on_progress``
    gets (done, total, message). ``figure_photos``: photo indices shown in the figures
    (default: the first six). ``result`` gathers the rows as they finish, so an interrupted
    run keeps what completed. ``skip``: leave out the first photos (their holes stay numbered
    by the photo's place in the folder). Returns a :class:`SceneEval`; use ``.summary(indices)`` for a
    subset (e.g. the held-out photos) and ``.table_markdown``.
    """
    photos = load_photos(Path(photos_dir), n)
    fills, notes = make_methods(list(methods or scene_methods()), settings, seed)
    result = result or SceneEval([name for name, _ in photos])
    result.notes.update(notes)
    shown = list(range(min(6, len(photos)))) if figure_photos is None else figure_photos
    say = on_progress or (lambda done, total, msg: None)
    tiny = np.zeros((160, 160, 3), np.uint8)
    tiny[:, ::2] = 200
    tiny_hole = np.zeros((160, 160), bool)
    tiny_hole[64:96, 64:96] = True
    for m in fills:  # compile the kernels and load the models before anything is timed
        if m not in BASELINES:
            fills[m](tiny, tiny_hole)
    total, done = len(mask_kinds) * (len(photos) - min(skip, len(photos))) * len(fills), 0
    for kind in mask_kinds:
        fig_rows: list[list[np.ndarray]] = []
        for index, (name, truth) in enumerate(photos):
            if index < skip:
                continue
            hole = make_scene_mask(kind, truth.shape[:2], seed, index)
            damaged = truth.copy()
            damaged[hole] = 0  # no method may see the missing pixels
            crop = None
            if index in shown:
                y0, y1, x0, x1 = crop_window(hole, kind)
                shown_hole = damaged.copy()
                shown_hole[hole] = 255
                crop = [truth[y0:y1, x0:x1], shown_hole[y0:y1, x0:x1]]
            for method, fill in fills.items():
                t0 = time.perf_counter()
                out = fill(damaged, hole)
                seconds = time.perf_counter() - t0
                row = {
                    "photo": name,
                    "index": index,
                    "kind": kind,
                    "method": method,
                    "seconds": seconds,
                    **score(out, truth, hole),
                    "outside_unchanged": bool(np.array_equal(out[~hole], damaged[~hole])),
                }
                result.rows.append(row)
                if crop is not None:
                    crop.append(out[y0:y1, x0:x1])
                done += 1
                say(done, total, f"{kind} {name} {method}: PSNR(bbox) {row['psnr_bbox']:.2f} dB")
            if crop is not None:
                fig_rows.append(crop)
        if fig_rows:
            result.figures[kind] = figure_rows(fig_rows)
    return result


def save_figures(result: SceneEval, out_dir: Path | str, prefix: str = "scene") -> list[Path]:
    """Write each kind's figure as ``{prefix}_{kind}.png`` (columns: truth, hole, methods)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, fig in result.figures.items():
        p = out_dir / f"{prefix}_{kind}.png"
        Image.fromarray(fig).save(p, optimize=True)
        paths.append(p)
    return paths
