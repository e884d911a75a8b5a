"""Benchmark: :func:`poisson_blend` against a direct sparse solve and OpenCV's seamlessClone.

OpenCV (``opencv-python-headless``, the ``bench`` extra) is optional: it is imported only in
here, and its columns are None when it is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from inpaint_gui.core.blend.poisson import poisson_blend, poisson_blend_direct

__all__ = ["ellipse_mask", "run_poisson_bench", "synthetic_photo"]


def synthetic_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Deterministic uint8 (H, W, 3) test photo: smooth gradients + texture + noise."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    phase = rng.uniform(0, 2 * np.pi, 6).astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    img[..., 0] = 40 + 150 * x + 30 * np.sin(7 * y + phase[0])
    img[..., 1] = 60 + 120 * y + 25 * np.cos(5 * x + phase[1])
    img[..., 2] = 200 - 90 * x * y + 20 * np.sin(9 * (x + y) + phase[2])
    # fine texture (stripes at a few scales) and noise
    img += (12 * np.sin(width / 9.0 * x + 3 * np.sin(height / 40.0 * y + phase[3])))[..., None]
    img += (8 * np.sin(height / 5.0 * y + phase[4]) * np.cos(width / 13.0 * x + phase[5]))[..., None]
    img += rng.normal(0.0, 6.0, img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def ellipse_mask(width: int, height: int, hole_w: int, hole_h: int) -> np.ndarray:
    """bool (H, W): a filled ellipse of size (hole_w, hole_h) centred in the image."""
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    y = (np.arange(height, dtype=np.float64)[:, None] - cy) / (hole_h / 2.0)
    x = (np.arange(width, dtype=np.float64)[None, :] - cx) / (hole_w / 2.0)
    return x * x + y * y <= 1.0


def _best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _cv2_clone(cv2: Any, source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """seamlessClone with the ROI placed back where it came from (so results align)."""
    m8 = mask.astype(np.uint8) * 255
    x, y, w, h = cv2.boundingRect(m8)
    centre = (x + w // 2, y + h // 2)  # OpenCV places the ROI at centre - (w // 2, h // 2)
    # OpenCV works in BGR; the solve is per channel, so RGB in and out is the same
    return cv2.seamlessClone(source, target, m8, centre, cv2.NORMAL_CLONE)


def run_poisson_bench(
    photo_size: tuple[int, int] = (4000, 3000),
    holes: tuple[tuple[int, int], ...] = ((400, 300), (1400, 1000)),
    direct: bool = True,
    repeat: int = 1,
    direct_limit_s: float = 60.0,
    seed: int = 0,
) -> list[dict]:
    """Time poisson_blend, the direct sparse solve and cv2.seamlessClone on synthetic photos.

    photo_size and each hole are (width, height); each hole is an ellipse at the centre.
    Times the uint8 call users make (best of ``repeat``). The direct solve runs once when
    ``direct`` and its time, extrapolated from the smaller holes as n^1.5, stays under
    ``direct_limit_s``; the unrounded results are compared (max_abs_diff_vs_direct) as well
    as the uint8 ones. cv2 solves a slightly different problem (it erodes the mask and takes
    the target's gradients near the edge), so its differences are for information. Returns
    one JSON-able dict per hole.
    """
    try:
        import cv2  # optional benchmark-only dependency
    except ImportError:
        cv2 = None
    width, height = photo_size
    target = synthetic_photo(width, height, seed)
    source = synthetic_photo(width, height, seed + 1)
    results: list[dict] = []
    direct_rate = None  # seconds / n^1.5 from the last direct solve
    for hole_w, hole_h in holes:
        mask = ellipse_mask(width, height, hole_w, hole_h)
        n = int(mask.sum())
        row: dict[str, Any] = {
            "photo_size": [int(width), int(height)],
            "hole_size": [int(hole_w), int(hole_h)],
            "hole_pixels": n,
            "repeat": int(repeat),
        }
        ours_s, ours_u8 = _best_time(lambda m=mask: poisson_blend(target, source, m), repeat)
        row["ours_s"] = round(ours_s, 4)

        row["cv2_s"] = row["ours_over_cv2"] = row["max_abs_diff_vs_cv2"] = None
        row["mean_abs_diff_vs_cv2"] = None
        if cv2 is not None:
            cv_s, cv_out = _best_time(lambda m=mask: _cv2_clone(cv2, source, target, m), repeat)
            diff = np.abs(cv_out.astype(np.int16) - ours_u8)[mask]
            row["cv2_s"] = round(cv_s, 4)
            row["ours_over_cv2"] = round(ours_s / cv_s, 3)
            row["max_abs_diff_vs_cv2"] = int(diff.max()) if diff.size else 0
            row["mean_abs_diff_vs_cv2"] = round(float(diff.mean()), 3) if diff.size else 0.0

        row["direct_s"] = row["ours_over_direct"] = None
        row["max_abs_diff_vs_direct"] = row["max_abs_diff_vs_direct_uint8"] = None
        row["direct_skipped"] = None if direct else "direct=False"
        predicted = direct_rate * n**1.5 if direct_rate is not None else 0.0
        if direct and predicted <= direct_limit_s:
            t0 = time.perf_counter()
            ref = poisson_blend_direct(target, source, mask, raw=True)
            direct_s = time.perf_counter() - t0
            ours = poisson_blend(target, source, mask, raw=True)  # unrounded, for the error
            direct_rate = direct_s / max(n, 1) ** 1.5
            ref_u8 = np.clip(np.rint(ref), 0, 255).astype(np.uint8)
            row["direct_s"] = round(direct_s, 3)
            row["ours_over_direct"] = round(ours_s / direct_s, 4)
            row["max_abs_diff_vs_direct"] = float(np.abs(ours - ref).max())
            row["max_abs_diff_vs_direct_uint8"] = int(np.abs(ours_u8.astype(np.int16) - ref_u8).max())
        elif direct:
            row["direct_skipped"] = f"predicted {predicted:.0f} s > {direct_limit_s:.0f} s"
        results.append(row)
    return results


if __name__ == "__main__":  # pragma: no cover - manual run
    import json
    import sys

    for r in run_poisson_bench(direct="--no-direct" not in sys.argv, repeat=3):
        print(json.dumps(r))
