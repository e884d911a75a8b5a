"""``inpaint-gui eval``: the papers' experiments as one command (metrics, table, figures)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from inpaint_gui.core.errors import InpaintError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from inpaint_gui.commands.options import add_settings_options
    from inpaint_gui.lab.evaluate import METHODS
    from inpaint_gui.lab.masks import MASK_KINDS

    p = sub.add_parser("eval", help="measure inpainting quality on a folder of faces",
                       description="Corrupt images with the papers' masks, fill them with each method, and report "
                                   "L1, PSNR and SSIM (whole image and hole) with a table and figures.")
    p.add_argument("--images", type=Path, required=True, help="folder of evaluation images (sorted by name)")
    p.add_argument("--masks", default="center,random80", help=f"comma-separated, from {','.join(MASK_KINDS)}")
    p.add_argument("--irregular-masks", type=Path, default=None, help="folder of mask PNGs for 'irregular'")
    p.add_argument("--methods", default="full,paste,harmonic", help=f"comma-separated, from {','.join(METHODS)}")
    p.add_argument("--train-images", type=Path, default=None, help="training folder for the 'nn' method")
    p.add_argument("--n", type=int, default=None, help="number of images (default: all)")
    p.add_argument("--skip", type=int, default=0, help="skip the first SKIP images by name")
    p.add_argument("--size", type=int, default=None, help="image side (default: the model's resolution; e.g. 128 for the parts masks)")
    p.add_argument("--batch", type=int, default=64, help="images per batched search")
    p.add_argument("--out", type=Path, default=Path("eval-out"), help="output folder (default eval-out)")
    p.add_argument("--quiet", action="store_true")
    add_settings_options(p)
    p.set_defaults(func=main)


def _split(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        raise InpaintError(f"unknown {what} {', '.join(bad) or '(none given)'}: choose from {', '.join(allowed)}")
    return items


def main(args: argparse.Namespace) -> int:
    from inpaint_gui.commands.options import apply_threads, settings_from, settings_summary
    from inpaint_gui.core.devices import describe_device, resolve_device
    from inpaint_gui.core.engines import Engines
    from inpaint_gui.lab.evaluate import METHODS, EvalResult, evaluate, load_eval_images
    from inpaint_gui.lab.masks import MASK_KINDS, load_mask_folder

    kinds = _split(args.masks, MASK_KINDS, "mask kind")
    methods = _split(args.methods, METHODS, "method")
    settings = settings_from(args)
    apply_threads(args.threads)
    device = resolve_device(settings.common.device)
    if "irregular" in kinds and args.irregular_masks is None:
        raise InpaintError("the 'irregular' masks need --irregular-masks DIR")
    if "nn" in methods and args.train_images is None:
        raise InpaintError("the 'nn' method needs --train-images DIR")
    if "tv" in methods:
        from inpaint_gui.lab import baselines

        if not hasattr(baselines, "tv_fill"):
            raise InpaintError("the 'tv' baseline is not available in this version")
    face = settings.of("face")
    engines = Engines()
    model = engines.face.load(None if face.model == "auto" else face.model, device=device)
    size = args.size or model.config.resolution  # the images' side; windows are resized to the model's
    if size < 8:
        raise InpaintError(f"--size must be at least 8, got {size}")
    names, images = load_eval_images(args.images, size, args.n, args.skip)
    irregular = load_mask_folder(args.irregular_masks) if "irregular" in kinds else None
    train = None
    if "nn" in methods:
        from inpaint_gui.lab.dataset import default_cache_dir, load_image_set

        train = load_image_set(args.train_images, size, cache_dir=default_cache_dir()).images
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"eval: {msg}", file=sys.stderr, flush=True))
    log(f"{len(images)} images, masks {kinds}, methods {methods}, model {model.name} on {describe_device(device)}")
    result = EvalResult(names)
    t0 = time.perf_counter()
    interrupted = False
    try:
        evaluate(engines, images, names, kinds, methods, settings, seed=settings.common.seed, irregular_files=irregular,
                 train_images=train, batch=args.batch, on_progress=log, result=result)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: writing what finished")
    config = {"images": str(args.images), "n": len(images), "skip": args.skip, "size": size, "masks": kinds,
              "methods": methods, "seed": settings.common.seed, "model": model.name, "device": describe_device(device),
              "settings": settings_summary(settings),
              "seconds": round(time.perf_counter() - t0, 1), "interrupted": interrupted}
    write_outputs(args.out, result, config)
    log(f"wrote {args.out}/metrics.json, metrics.csv, table.md and figures")
    if not args.quiet:
        print((args.out / "table.md").read_text())
    return 130 if interrupted else 0


def write_outputs(out: Path, result, config: dict) -> None:
    from inpaint_gui.commands.train import save_png
    from inpaint_gui.lab.evaluate import METRIC_KEYS, figure, table_markdown

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InpaintError(f"cannot create {out}: {exc.strerror}") from None
    summary = result.summary()
    (out / "metrics.json").write_text(json.dumps({"config": config, "summary": summary, "per_image": result.rows},
                                                 indent=1, allow_nan=True) + "\n")
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["mask", "method", "image", *METRIC_KEYS])
        w.writeheader()
        w.writerows(result.rows)
    header = (f"Model `{config['model']}`, {config['n']} images of {config['size']}x{config['size']}, seed {config['seed']}, "
              f"{config['device']}; search: {config['settings']}. Mean ± standard error.\n\n")
    (out / "table.md").write_text(header + table_markdown(summary))
    for kind, columns in result.figures.items():
        if len(columns) > 2:
            save_png(out / f"figure_{kind}.png", figure(columns))
