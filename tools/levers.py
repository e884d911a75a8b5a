"""Measure the levers of issue 23 that were not shipped (``inpaint_gui/lab/levers.py``).

The faces' windows are the whole face (the framing the prior was trained on); one batched
search at the app's defaults gives every face's best z and fill, then each lever's variant is
applied and the result seated by the app's Poisson blend and scored against the truth, paired
with the search alone. Tune on val 1-250 only.

    python tools/levers.py bn --images ../shared/data/celeba-faces-128/val --n 48
    python tools/levers.py fit --images ../shared/data/celeba-faces-128/val --n 48 \\
        --variants 'steps=40;steps=40,lr=0.001;steps=40,feature=0'
    python tools/levers.py features --images ../shared/data/celeba-faces-128/val --n 48 --variants 'layer=2,beta=1'

``--size`` (64) and ``--mask`` (center) pick the faces' side and hole; ``--model`` the prior.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path


def _parse(text: str) -> dict:
    out = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else float(value)
    return out


def _paired(rows: list[dict], ref: list[dict], key: str) -> tuple[float, float, float]:
    d = [a[key] - b[key] for a, b in zip(rows, ref) if math.isfinite(a[key]) and math.isfinite(b[key])]
    mean = sum(d) / len(d)
    se = math.sqrt(sum((v - mean) ** 2 for v in d) / max(1, len(d) - 1) / len(d))
    return mean, se, sum(v > 0 for v in d) / len(d)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("lever", choices=("bn", "fit", "features"))
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--n", type=int, default=48)
    p.add_argument("--skip", type=int, default=0)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--mask", default="center")
    p.add_argument("--model", default=None, help="default: the shipped model of the size")
    p.add_argument("--variants", default="", help="';'-separated variants, each 'key=value,...' (the lever's keywords)")
    p.add_argument("--samples", type=int, default=16384, help="bn: z drawn for the statistics")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="write the per-face metrics here (JSON)")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from inpaint_gui.core.engines.base import Fill
    from inpaint_gui.core.engines.gan.resample import from_model, to_model
    from inpaint_gui.core.engines.gan.search import search_batch
    from inpaint_gui.core.engines.gan.settings import SearchSettings
    from inpaint_gui.core.engines.gan.weights import load_model
    from inpaint_gui.core.pipeline import apply_patch, seat
    from inpaint_gui.lab import levers
    from inpaint_gui.lab.evaluate import load_eval_images
    from inpaint_gui.lab.masks import make_mask
    from inpaint_gui.lab.metrics import all_metrics

    torch.set_num_threads(args.threads)
    model = load_model(args.model or ("celeba128" if args.size >= 96 else "celeba64"))
    res = model.resolution
    names, images = load_eval_images(args.images, args.size, args.n, args.skip)
    masks = np.stack([make_mask(args.mask, args.size, 0, args.skip + i) for i in range(len(images))])
    corrupted = images.copy()
    corrupted[masks] = 0
    window = (0, 0, args.size)
    smalls = [to_model(c, m, window, res) for c, m in zip(corrupted, masks)]
    small_images, small_masks = np.stack([s[0] for s in smalls]), np.stack([s[1] for s in smalls])
    settings = SearchSettings(device="cpu")

    def search(m):
        t = time.perf_counter()
        r = search_batch(m, small_images, small_masks, settings)
        return r, (time.perf_counter() - t) / len(images)

    def score(fills) -> list[dict]:
        out = []
        for c, m, truth, f in zip(corrupted, masks, images, fills):
            seated = apply_patch(c, seat(c, m, (0, 0), Fill((0, 0, args.size, args.size), from_model(f, args.size))))
            out.append(all_metrics(seated, truth, m))
        return out

    base, base_s = search(model)
    ref = score(base.best_fills)
    report = {"lever": args.lever, "model": model.name, "n": len(images), "first": names[0], "rows": []}

    def add(name: str, rows: list[dict], seconds: float) -> None:
        entry = {"variant": name, "seconds_per_face": round(seconds, 3)}
        for key in ("psnr", "ssim", "sharpness"):
            entry[key] = round(float(np.nanmean([r[key] for r in rows])), 4)
            if rows is not ref:
                entry[key + "_vs_search"] = [round(v, 4) for v in _paired(rows, ref, key)]
        entry["per_face_psnr"] = [round(r["psnr"], 3) for r in rows]
        report["rows"].append(entry)
        diff = "" if rows is ref else f"  PSNR {entry['psnr_vs_search'][0]:+.2f} ± {entry['psnr_vs_search'][1]:.2f} dB"
        print(
            f"{name:36s} {seconds:6.2f} s/face  PSNR {entry['psnr']:.2f}  SSIM {entry['ssim']:.4f}  "
            f"sharpness {entry['sharpness']:.3f}{diff}"
            + ("" if rows is ref else f"  SSIM {entry['ssim_vs_search'][0]:+.4f} ± {entry['ssim_vs_search'][1]:.4f}"),
            flush=True,
        )

    add("the search alone (defaults)", ref, base_s)
    if args.lever == "bn":
        state = levers.recompute_batchnorm(model, args.samples)
        again = load_model(model.path)
        again.generator.load_state_dict(state)
        r, s = search(again)
        add(f"BatchNorm statistics of {args.samples} z", score(r.best_fills), s)
    for text in args.variants.split(";") if args.lever != "bn" else []:
        kw = _parse(text)
        t = time.perf_counter()
        fills = []
        for (small, hole), z in zip(smalls, base.best_latents):
            if args.lever == "fit":
                *_, last = levers.fit_prior(model, small, hole, z, **kw)
                fills.append(last.fill)
            else:
                fills.append(levers.feature_search(model, small, hole, z, **kw)[0])
        add(f"{args.lever} {text}", score(fills), (time.perf_counter() - t) / len(images))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
