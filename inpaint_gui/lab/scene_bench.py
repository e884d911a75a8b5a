"""Speed and responsiveness of the scene fill: previews, cancellation, thin path, JIT.

- :func:`bench_interactive`: :func:`synthesize` on a 1-MP region with a 10% hole, as a
  GUI worker drives it: gaps between steps, cost of a preview, previews per second when
  every step's preview is rendered, cancel latency (an event set from another thread at
  several moments), and the same fill by pypatchmatch for scale, all in one run.
- :func:`bench_thin_large`: a 3 px scratch across an 8000x6000 photo through ``fill_thin``
  (new image; in place; after ``split_thin``), and through the exact Poisson fill of the app
  (``harmonic_fill``) as the reference, each in a fresh subprocess that reports its wall
  time and peak resident memory (``resource.getrusage``).
- :func:`bench_jit`: seconds for the first fill in a fresh process with an empty numba
  cache (compilation) and with a warm cache (loading), against the second fill.

The machine is shared, so report ratios to the references measured in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

_ENV = {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _region(photo: Path, shape: tuple[int, int], area: float, seed: int):
    from inpaint_gui.lab.scene_masks import blob_mask

    with Image.open(photo) as im:
        image = np.asarray(im.convert("RGB").resize((shape[1], shape[0]), Image.Resampling.BICUBIC))
    hole = blob_mask(shape, np.random.default_rng(seed), area=area, margin=32)
    return np.ascontiguousarray(image), hole


def bench_interactive(
    photo: Path | str,
    shape: tuple[int, int] = (816, 1224),
    area: float = 0.10,
    seed: int = 0,
    cancel_after: tuple[float, ...] = (0.05, 0.3, 1.0, 2.0),
) -> dict:
    """Responsiveness of :func:`synthesize` on one region (see the module docstring)."""
    from inpaint_gui.core.engines.patch import synthesize

    image, hole = _region(Path(photo), shape, area, seed)
    list(synthesize(image[:64, :64].copy(), np.pad(np.ones((10, 10), bool), 27)))  # load kernels
    # 1) steps only
    t0 = time.perf_counter()
    gaps, last, steps = [], t0, 0
    for _step in synthesize(image, hole, seed=seed):
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        steps += 1
    plain = time.perf_counter() - t0
    # 2) a consumer that renders every step's preview
    t0 = time.perf_counter()
    renders, shown = [], 0
    for step in synthesize(image, hole, seed=seed):
        a = time.perf_counter()
        if step.preview is not None:
            shown += 1
        renders.append(time.perf_counter() - a)
    with_previews = time.perf_counter() - t0
    # 3) cancel from another thread
    latency = []
    for delay in cancel_after:
        event, mark = threading.Event(), {}

        def fire(d=delay, e=event, m=mark):
            time.sleep(d)
            m["t"] = time.perf_counter()
            e.set()

        thread = threading.Thread(target=fire)
        thread.start()
        for _step in synthesize(image, hole, seed=seed, cancel=event):
            pass
        end = time.perf_counter()
        thread.join()
        latency.append((end - mark["t"]) * 1e3 if step.cancelled else float("nan"))
    g = np.array(gaps) * 1e3
    out = {
        "region": f"{shape[1]}x{shape[0]}",
        "hole_pixels": int(hole.sum()),
        "levels": step.levels,
        "steps": steps,
        "seconds": plain,
        "seconds_rendering_every_preview": with_previews,
        "gap_ms_median": float(np.median(g)),
        "gap_ms_p95": float(np.percentile(g, 95)),
        "gap_ms_max": float(g.max()),
        "preview_ms_median": float(np.median(renders) * 1e3),
        "preview_ms_max": float(np.max(renders) * 1e3),
        "previews_per_second": shown / with_previews,
        "cancel_after_s": list(cancel_after),
        "cancel_latency_ms": latency,
    }
    try:
        from patchmatch import patch_match

        t0 = time.perf_counter()
        patch_match.inpaint(image, hole.astype(np.uint8) * 255, patch_size=3)
        out["pypatchmatch_seconds"] = time.perf_counter() - t0
    except ImportError:
        out["pypatchmatch_seconds"] = None
    return out


_THIN_CHILD = r"""
import json, resource, sys, time
import numpy as np
from PIL import Image, ImageDraw
h, w, width, which, photo = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
from inpaint_gui.core.engines.patch.thin import THIN_RADIUS, fill_thin, split_thin
from inpaint_gui.lab.baselines import harmonic_fill
with Image.open(photo) as im:
    tile = np.asarray(im.convert("RGB"))
image = np.tile(tile, (-(-h // tile.shape[0]), -(-w // tile.shape[1]), 1))[:h, :w].copy()
canvas = Image.new("1", (w, h), 0)
ImageDraw.Draw(canvas).line([(0, int(0.1 * h)), (w - 1, int(0.85 * h))], fill=1, width=width)
hole = np.asarray(canvas, dtype=bool).copy()
del canvas
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
if which == "ours":  # thin components only, into a new image
    out = fill_thin(image, hole, max_radius=THIN_RADIUS)
elif which == "ours_in_place":
    original = image[hole].copy()
    out = fill_thin(image, hole, max_radius=THIN_RADIUS, out=image)
    image = image.copy()
    image[hole] = original
elif which == "ours_split":  # split_thin's two masks, then the fill
    thin, thick = split_thin(hole)
    assert not thick.any()
    out = fill_thin(image, thin)
else:
    out = harmonic_fill(image, hole)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
assert np.array_equal(out[~hole], image[~hole])
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "rss_before_fill_mb": before,
                  "hole_pixels": int(hole.sum())}))
"""


def bench_thin_large(
    photo: Path | str, shape: tuple[int, int] = (6000, 8000), width: int = 3, repeats: int = 3
) -> dict:
    """Seconds (median of ``repeats`` fresh subprocesses, interleaved) and peak RSS (max) of
    the thin path and of the exact Poisson fill."""
    runs: dict[str, list[dict]] = {}
    for _ in range(repeats):
        for which in ("ours", "ours_in_place", "ours_split", "poisson"):
            proc = subprocess.run(
                [sys.executable, "-c", _THIN_CHILD, str(shape[0]), str(shape[1]), str(width), which, str(photo)],
                capture_output=True,
                text=True,
                env={**os.environ, **_ENV},
                check=True,
            )
            runs.setdefault(which, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
    out: dict = {}
    for which, rs in runs.items():
        out[which] = {
            "seconds": float(np.median([r["seconds"] for r in rs])),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
            "rss_before_fill_mb": max(r["rss_before_fill_mb"] for r in rs),
            "hole_pixels": rs[0]["hole_pixels"],
        }
    out["poisson_over_ours_seconds"] = out["poisson"]["seconds"] / out["ours"]["seconds"]
    return out


_JIT_CHILD = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
from inpaint_gui.core.engines.patch import PatchSettings, synthesize
t1 = time.perf_counter()
rng = np.random.default_rng(0)
image = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
hole = np.zeros((64, 64), bool)
hole[20:44, 20:44] = True
def fill():
    a = time.perf_counter()
    for _ in synthesize(image, hole, PatchSettings(onion=True)):
        pass
    return time.perf_counter() - a
first, second = fill(), fill()
print(json.dumps({"import": t1 - t0, "first": first, "second": second}))
"""


def bench_jit() -> dict:
    """First-fill seconds with a cold numba cache, with a warm one, and a later fill."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, **_ENV, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            proc = subprocess.run(
                [sys.executable, "-c", _JIT_CHILD], capture_output=True, text=True, env=env, check=True
            )
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {"cold_cache": runs[0], "warm_cache": runs[1]}
