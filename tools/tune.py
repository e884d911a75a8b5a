"""Tune the latent search's defaults on validation faces (issue 6), never on the faces reported.

Runs the full pipeline (latent search + Poisson) once per setting in ``SWEEP`` on the same
faces and masks, plus the harmonic fill as a reference, and writes ``sweep.json`` (after every
setting, so an interrupted sweep keeps what finished) and ``sweep.md``.

    python tools/tune.py --images ../shared/data/celeba-faces-128/val --n 64 --masks center --out sweep
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

# Each entry changes the base settings (--base; default the app's defaults) in one respect; the paper
# tunes lr, beta1, lambda and the iterations.
SWEEP: dict[str, dict] = {
    "defaults": {},
    "lr 0.03": {"lr": 0.03},
    "lr 0.3": {"lr": 0.3},
    "beta1 0.5": {"beta1": 0.5},
    "lambda 0.01": {"lam": 0.01},
    "lambda 0.03": {"lam": 0.03},
    "lambda 0.1": {"lam": 0.1},
    "at most 500 iterations": {"iterations": 500},
    "patience 100": {"stop_patience": 100},
    "lambda 0": {"lam": 0.0},
    "2 restarts": {"restarts": 2},
    "cosine lr": {"lr_schedule": "cosine", "iterations": 500},
    "paper recipe: lr 0.01 from plain draws for 1500 iterations": {
        "lr": 0.01,
        "init_samples": 1,
        "stop_patience": 0,
        "iterations": 1500,
    },
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--n", type=int, default=64, help="faces, the first N by name (default 64)")
    p.add_argument("--masks", default="center")
    p.add_argument("--model", default=None)
    p.add_argument("--only", default=None, help="comma-separated SWEEP names to run (default: all)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--base",
        default="",
        help="settings every row starts from, e.g. restarts=4,iterations=300 (default: the app's defaults)",
    )
    p.add_argument("--out", type=Path, default=Path("sweep"))
    args = p.parse_args(argv)

    import torch

    from inpaint_gui.commands.options import apply_threads, settings_summary
    from inpaint_gui.core.devices import describe_device
    from inpaint_gui.core.engines import Engines
    from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings
    from inpaint_gui.lab.evaluate import evaluate, load_eval_images

    apply_threads(args.threads)
    engines = Engines()
    model = engines["face"].load(args.model, device="cpu")
    names, images = load_eval_images(args.images, model.config.resolution, args.n)
    kinds = args.masks.split(",")
    chosen = args.only.split(",") if args.only else list(SWEEP)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "images": str(args.images),
        "n": len(images),
        "first": names[0],
        "last": names[-1],
        "model": model.name,
        "device": describe_device(torch.device("cpu")),
        "masks": kinds,
        "rows": [],
    }

    def record(label: str, settings, result) -> None:
        for e in result.summary():
            per_image = [r for r in result.rows if r["mask"] == e["mask"] and r["method"] == e["method"]]
            report["rows"].append(
                {
                    "setting": label,
                    **({"settings": settings_summary(settings)} if settings else {}),
                    **e,
                    "per_image_psnr": [round(r["psnr"], 4) for r in per_image],
                    "per_image_ssim": [round(r["ssim"], 5) for r in per_image],
                }
            )
        (args.out / "sweep.json").write_text(json.dumps(report, indent=1) + "\n")
        (args.out / "sweep.md").write_text(table(report))

    def with_face(face) -> InpaintSettings:
        return InpaintSettings(CommonSettings(device="cpu"), {"face": face}).validate()

    base = with_face(parse_base(args.base))
    report["base"] = settings_summary(base)
    record(
        "harmonic fill (reference)", None, evaluate(engines, images, names, kinds, ["harmonic"], base, batch=args.batch)
    )
    for label in chosen:
        settings = with_face(replace(base.of("face"), **SWEEP[label]))
        t0 = time.perf_counter()
        result = evaluate(engines, images, names, kinds, ["full"], settings, batch=args.batch)
        record(label, settings, result)
        print(f"{label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(table(report))
    return 0


def parse_base(text: str):
    """ "restarts=4,lr=0.05" -> the face engine's settings with those changed (checked)."""
    from inpaint_gui.core.engines.gan.settings import SearchSettings
    from inpaint_gui.core.settings import from_mapping

    values = dict(item.partition("=")[::2] for item in filter(None, text.split(",")))
    return from_mapping(SearchSettings, values)


def paired(a: list[float], b: list[float]) -> str:
    """Mean ± standard error of a - b over the same faces."""
    import numpy as np

    d = np.asarray(a) - np.asarray(b)
    return f"{d.mean():+.2f} ± {d.std(ddof=1) / np.sqrt(len(d)):.2f}" if len(d) > 1 else "-"


def table(report: dict) -> str:
    lines = [
        f"Sweep on {report['n']} faces ({report['first']} .. {report['last']}), model `{report['model']}`, "
        f"{report['device']}; full pipeline, one setting changed at a time from `defaults` = {report.get('base')}. "
        "Mean ± standard error; the difference to the defaults is paired over the same faces.",
        "",
        "| mask | setting | PSNR dB | SSIM | PSNR vs defaults | s / image | iterations |",
        "|---|---|---|---|---|---|---|",
    ]
    defaults = {r["mask"]: r for r in report["rows"] if r["setting"] == "defaults"}
    for r in report["rows"]:
        ref = defaults.get(r["mask"])
        delta = paired(r["per_image_psnr"], ref["per_image_psnr"]) if ref is not None and r is not ref else "-"
        lines.append(
            f"| {r['mask']} | {r['setting']} | {r['psnr']:.2f} ± {r['psnr_se']:.2f} | {r['ssim']:.3f} ± {r['ssim_se']:.3f} "
            f"| {delta} | {r['seconds_per_image']:.2f} | {r.get('mean_iterations', '-')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
