"""The papers' experiments: corrupt face images, fill them with each method, measure.

Images are evaluated at the model's resolution (the paper's 64x64 setting), so a window is
the whole image. The latent-search methods run many images in one batched search
(images x restarts latents at once); results are the best restart per image, composed with
Poisson blending (``full``, ``plain``, ``importance``, ``lam0``) or pasted (``paste``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from inpaint_gui.core.engines import Engines
from inpaint_gui.core.pipeline import InpaintSettings, fill_batch, seat_batch
from inpaint_gui.lab.masks import make_mask
from inpaint_gui.lab.metrics import all_metrics

SEARCH_METHODS = ("full", "paste", "lam0", "plain", "importance", "default", "context", "previous")
BASELINE_METHODS = ("harmonic", "tv", "nn")
FEEDFORWARD_METHODS = ("ce", "pggan")  # one pass of a trained network (core/engines/feedforward)
METHODS = SEARCH_METHODS + BASELINE_METHODS + FEEDFORWARD_METHODS
METHOD_LABELS = {
    "full": "latent search + Poisson, whole-image window (ours; the oracle framing)",
    "paste": "latent search, pasted (no Poisson)",
    "default": "the app's default: framing search + Poisson",
    "previous": "the default before issue 23: no photo framing, 4 restarts, at most 300 iterations, celeba64 band",
    "context": "fixed window: the hole plus half its extent",
    "lam0": "no perceptual term (lambda = 0)",
    "plain": "plain weighting (W = M)",
    "importance": "importance weighting",
    "harmonic": "harmonic (Laplace) fill",
    "tv": "total-variation inpainting",
    "nn": "nearest training face (pasted)",
    "ce": "Context Encoder, one pass (Pathak et al.)",
    "pggan": "PGGAN, a pass averaged with its mirror's (Demir & Unal; --no-mirrored: one pass)",
}
METRIC_KEYS = ("l1", "psnr", "ssim", "l1_hole", "psnr_hole", "ssim_hole", "sharpness")


WHOLE_IMAGE = ("full", "paste", "lam0", "plain", "importance")  # the papers' setting: the window is the image
SEARCH_ENGINE = "face"  # the engine of the latent-search methods (the papers' experiments are about it)


def check_network_masks(methods, kinds) -> None:
    """The Context Encoder fills a hole inside a block of half the image's side: a one-line error
    for the mask kinds whose holes do not fit one (before any work)."""
    from inpaint_gui.core.errors import InpaintError

    if "ce" in methods and (wide := [k for k in kinds if k not in ("center", "parts")]):
        raise InpaintError(
            f"the ce method fills a hole inside a block of half the image's side: masks center and parts, "
            f"not {', '.join(wide)}"
        )


def load_networks(methods, settings: InpaintSettings, resolution: int, device) -> dict:
    """The feed-forward networks the methods among ``methods`` use (method -> loaded network):
    the ``ce`` and ``pggan`` engines' model settings (``--ce-model``, ``--pggan-model``; auto:
    the shipped ce128 and pggan128), of any resolution: as in their engines, the images are
    resized to the network's (``feedforward_outputs``)."""
    from inpaint_gui.core.engines.feedforward.weights import load_net

    def name(method: str) -> str:
        model = settings.of(method).model
        return f"{method}128" if model == "auto" else model

    return {m: load_net(name(m), arch=m, device=device) for m in ("ce", "pggan") if m in methods}


def load_search_model(engines, settings: InpaintSettings, device):
    """The search engine's model that ``settings`` name (its default for "auto"), loaded on ``device``."""
    model = settings.of(SEARCH_ENGINE).model
    return engines[SEARCH_ENGINE].load(None if model == "auto" else model, device=device)


# the face settings before issue 23 (the "previous" method): no photo framing, 4 restarts, at most 300
# iterations, celeba64's search as the low band, no feed-forward network
PREVIOUS_DEFAULTS = {
    "photo_framing": False,
    "restarts": 4,
    "iterations": 300,
    "low_band": "prior",
    "network": "none",
    "start": "random",
}


def search_variant(method: str, settings: InpaintSettings) -> InpaintSettings:
    """The settings a latent-search method uses: the face engine, a search variant, a blend,
    and the framing (``default``: the app's framing search; ``context``: today's fixed window)."""
    face = settings.of(SEARCH_ENGINE)
    common = replace(settings.common, engine=SEARCH_ENGINE, blend="paste" if method == "paste" else "poisson")
    if method == "default":
        face = replace(face, framing="auto")
    elif method == "previous":
        face = replace(face, framing="auto", **PREVIOUS_DEFAULTS)
    elif method == "context":
        face = replace(face, framing="fixed")
    elif method in ("full", "paste"):
        pass
    elif method == "lam0":
        face = replace(face, lam=0.0)
    elif method in ("plain", "importance"):
        face = replace(face, weighting=method)
    else:
        raise ValueError(method)
    return replace(settings, common=common, engines={**settings.engines, SEARCH_ENGINE: face})


def load_eval_images(folder: Path, size: int, n: int | None = None, skip: int = 0) -> tuple[list[str], np.ndarray]:
    """The images of ``folder`` sorted by name, from number ``skip`` on, at most ``n``; uint8 (N, S, S, 3)."""
    from PIL import Image

    from inpaint_gui.core.errors import InpaintError
    from inpaint_gui.lab.dataset import list_images, square_resize

    files = list_images(folder)[skip:]
    files = files[:n] if n else files
    if not files:
        raise InpaintError(f"{folder}: no images to evaluate")
    images = []
    for p in files:
        try:
            with Image.open(p) as im:
                images.append(square_resize(im, size))
        except OSError as exc:
            raise InpaintError(f"cannot read {p}: {exc}") from None
    return [p.name for p in files], np.stack(images)


def nearest_neighbour_fill(images: np.ndarray, masks: np.ndarray, train: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For each image, the training image closest on the known pixels (L2) pastes its hole."""
    n = len(images)
    y = images.reshape(n, -1).astype(np.float32)  # (N, P)
    known = np.repeat(~masks.reshape(n, -1, 1), 3, axis=2).reshape(n, -1).astype(np.float32)  # (N, P)
    best_d = np.full(n, np.inf)
    best_i = np.zeros(n, int)
    for start in range(0, len(train), chunk):
        t = train[start : start + chunk].reshape(-1, y.shape[1]).astype(np.float32)  # (T, P)
        # sum_known (t - y)^2 = (t^2) . known - 2 t . (known * y) + const(y)
        d = (t * t) @ known.T - 2.0 * t @ (known * y).T  # (T, N)
        i = d.argmin(0)
        better = d[i, np.arange(n)] < best_d
        best_d[better] = d[i, np.arange(n)][better]
        best_i[better] = start + i[better]
    out = images.copy()
    out[masks] = train[best_i][masks]
    return out


def baseline_fill(method: str, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from inpaint_gui.lab import baselines

    if method == "harmonic":
        return baselines.harmonic_fill(image, mask)
    if method == "tv":
        return baselines.tv_fill(image, mask)
    raise ValueError(method)


@dataclass
class EvalResult:
    names: list[str]
    rows: list[dict] = field(default_factory=list)  # one per (mask, method, image)
    figures: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # mask -> method -> uint8 (F, S, S, 3)
    seconds: dict[tuple[str, str], float] = field(default_factory=dict)  # (mask, method) -> seconds per image
    iterations: dict[tuple[str, str], float] = field(default_factory=dict)  # (mask, method) -> mean search iterations

    def summary(self) -> list[dict]:
        """Mean and standard error of every metric per (mask, method), in run order."""
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in self.rows:
            groups.setdefault((r["mask"], r["method"]), []).append(r)
        out = []
        for (mask, method), rows in groups.items():
            entry = {
                "mask": mask,
                "method": method,
                "n": len(rows),
                "seconds_per_image": round(self.seconds.get((mask, method), float("nan")), 4),
            }
            if (mask, method) in self.iterations:
                entry["mean_iterations"] = round(self.iterations[(mask, method)], 1)
            for k in METRIC_KEYS:
                vals = np.array([r[k] for r in rows], float)
                vals = vals[np.isfinite(vals)]
                mean = float(vals.mean()) if len(vals) else float("nan")
                se = float(vals.std(ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else 0.0
                entry[k], entry[k + "_se"] = round(mean, 4), round(se, 4)
            out.append(entry)
        return out


def evaluate(
    engines: Engines,
    images: np.ndarray,
    names: list[str],
    mask_kinds: list[str],
    methods: list[str],
    settings: InpaintSettings,
    seed: int = 0,
    irregular_files: list[Path] | None = None,
    train_images: np.ndarray | None = None,
    batch: int = 64,
    n_figure: int = 8,  # the same 8 faces as tools/figures.py (val 251-258 with --skip 250)
    on_progress: Callable[[str], None] | None = None,
    result: EvalResult | None = None,
    networks: dict | None = None,
) -> EvalResult:
    """Run every (mask kind, method) on every image; ``result`` gathers rows as they finish,
    so an interrupted run keeps what completed. ``networks``: method name ("ce", "pggan") ->
    the loaded network (``feedforward.weights.load_net``) those methods run."""
    size = images.shape[1]
    result = result or EvalResult(names)
    say = on_progress or (lambda msg: None)
    for kind in mask_kinds:
        masks = np.stack([make_mask(kind, size, seed, i, irregular_files) for i in range(len(images))])  # (N, S, S)
        corrupted = images.copy()
        corrupted[masks] = 0
        figs = result.figures.setdefault(kind, {})
        figs["original"], figs["corrupted"] = images[:n_figure], _show_holes(images[:n_figure], masks[:n_figure])
        fills_cache: dict[tuple, tuple] = {}
        for method in methods:
            t0 = time.perf_counter()
            if method in SEARCH_METHODS:
                variant = search_variant(method, settings)
                face = variant.of(SEARCH_ENGINE)
                whole = method in WHOLE_IMAGE
                key = (face, whole)
                if key not in fills_cache:  # "full" and "paste" share one search
                    fills, runs = [], []
                    for start in range(0, len(images), batch):
                        say(
                            f"{kind}: search ({method}) images {start + 1}-{min(start + batch, len(images))} of {len(images)}"
                        )
                        chunk = slice(start, start + batch)
                        windows = [(0, 0, size)] * len(images[chunk]) if whole else None
                        f, info = fill_batch(corrupted[chunk], masks[chunk], variant, engines, windows)
                        fills += f
                        runs.append(info.get("iterations_run", np.zeros(len(f))))
                    fills_cache[key] = (fills, time.perf_counter() - t0, float(np.concatenate(runs).mean()))
                fills, search_seconds, result.iterations[(kind, method)] = fills_cache[key]
                t0 = time.perf_counter() - search_seconds  # a shared search counts for every method using it
                outputs = seat_batch(corrupted, masks, fills, variant.common.blend)
            elif method in FEEDFORWARD_METHODS:
                if not networks or method not in networks:
                    raise ValueError(f"the {method} method needs its network (networks[{method!r}])")
                say(f"{kind}: {method}")
                mirrored = bool(getattr(settings.of(method), "mirrored", False))  # what --engine pggan offers first
                outputs = feedforward_outputs(
                    networks[method], corrupted, masks, settings.common.blend, batch, mirrored
                )
            elif method == "nn":
                if train_images is None:
                    raise ValueError("the nn method needs training images (--train-images)")
                outputs = nearest_neighbour_fill(corrupted, masks, train_images)
            else:
                say(f"{kind}: {method}")
                outputs = np.stack([baseline_fill(method, c, m) for c, m in zip(corrupted, masks)])
            elapsed = time.perf_counter() - t0
            result.seconds[(kind, method)] = elapsed / len(images)
            for i, (out, truth, m) in enumerate(zip(outputs, images, masks)):
                result.rows.append({"mask": kind, "method": method, "image": names[i], **all_metrics(out, truth, m)})
            figs[method] = outputs[:n_figure]
    return result


def feedforward_outputs(
    net, images: np.ndarray, masks: np.ndarray, blend: str, batch: int = 64, mirrored: bool = False
) -> np.ndarray:
    """The network's fills of whole windows (N, S, S, 3), seated in the holes by ``blend``
    (Poisson, as the search's fills are, guided by the network's own pixels around the hole
    where it makes them; or pasted). ``mirrored``: the average of each window's pass and its
    mirror image's, the first candidate of ``--engine pggan``. Images of another size than the
    network's are resized to it and its fill back, as its engine does (``window_input``)."""
    from inpaint_gui.core.engines.base import Fill
    from inpaint_gui.core.engines.feedforward.fill import predict_mirrored, predict_windows, window_input
    from inpaint_gui.core.engines.gan.resample import from_model

    size, res = images.shape[1], net.resolution
    fills = []
    for start in range(0, len(images), batch):
        part = images[start : start + batch], masks[start : start + batch]
        if res != size:  # (n, res, res, 3) and (n, res, res)
            smalls = [window_input(im, m, (0, 0, size), res) for im, m in zip(*part)]
            part = np.stack([sm[0] for sm in smalls]), np.stack([sm[1] for sm in smalls])
        chunk = sum(predict_mirrored(net, *part)) / 2 if mirrored else predict_windows(net, *part)
        fills += [Fill((0, 0, size, size), f if res == size else from_model(f, size)) for f in chunk]
    return seat_batch(images, masks, fills, blend)


def _show_holes(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    shown = images.copy()
    shown[masks] = 255
    return shown


def figure(columns: dict[str, np.ndarray], pad: int = 2) -> np.ndarray:
    """Rows = images, columns = original | corrupted | methods; uint8 (H, W, 3), white gaps."""
    cols = list(columns.values())
    n, s = cols[0].shape[:2]
    grid = np.full((n * (s + pad) + pad, len(cols) * (s + pad) + pad, 3), 255, np.uint8)
    for c, ims in enumerate(cols):
        for r, im in enumerate(ims):
            grid[pad + r * (s + pad) : pad + r * (s + pad) + s, pad + c * (s + pad) : pad + c * (s + pad) + s] = im
    return grid


def table_markdown(summary: list[dict]) -> str:
    """One table per mask kind: methods as rows, metrics (mean +- standard error) as columns."""
    lines = []
    for kind in dict.fromkeys(e["mask"] for e in summary):
        lines += [
            f"### {kind}",
            "",
            "| method | L1 % | PSNR dB | SSIM | L1 % (hole) | PSNR dB (hole) | SSIM (hole) | sharpness (hole) "
            "| s / image | iterations |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in (e for e in summary if e["mask"] == kind):
            cells = [
                f"{e[k]:.3f} ± {e[k + '_se']:.3f}"
                if k.startswith(("ssim", "sharp"))
                else f"{e[k]:.2f} ± {e[k + '_se']:.2f}"
                for k in METRIC_KEYS
            ]
            lines.append(
                f"| {METHOD_LABELS.get(e['method'], e['method'])} | "
                + " | ".join(cells)
                + f" | {e['seconds_per_image']:.3f} | {e.get('mean_iterations', '-')} |"
            )
        lines.append("")
    return "\n".join(lines)
