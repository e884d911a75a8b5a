"""``inpaint-gui eval``: the papers' experiments as one command (metrics, table, figures)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from inpaint_gui.core.errors import InpaintError

MASKS_DEFAULT = "center,random80"
METHODS_DEFAULT = "full,paste,harmonic"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from inpaint_gui.commands.options import add_settings_options
    from inpaint_gui.lab.evaluate import METHODS
    from inpaint_gui.lab.masks import MASK_KINDS
    from inpaint_gui.lab.scene_eval import scene_methods
    from inpaint_gui.lab.scene_masks import SCENE_MASK_KINDS

    p = sub.add_parser(
        "eval",
        help="measure inpainting quality on a folder of faces or of photos",
        description="Corrupt images with the papers' masks, fill them with each method, and report "
        "L1, PSNR and SSIM (whole image and hole) with a table and figures. With --photos: "
        "natural photos with object and scratch holes (PSNR/SSIM over the hole's box and "
        "the whole photo, seconds per photo).",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--images", type=Path, help="folder of evaluation faces (sorted by name)")
    where.add_argument(
        "--photos",
        type=Path,
        help="folder of natural photos for the scene benchmark (masks "
        f"{','.join(SCENE_MASK_KINDS)}; methods {','.join(scene_methods())}; default "
        f"{SCENE_DEFAULT_METHODS})",
    )
    p.add_argument(
        "--masks",
        default=MASKS_DEFAULT,
        help=f"comma-separated, from {','.join(MASK_KINDS)} (--photos: {','.join(SCENE_MASK_KINDS)}, default both)",
    )
    p.add_argument("--irregular-masks", type=Path, default=None, help="folder of mask PNGs for 'irregular'")
    p.add_argument(
        "--methods",
        default=METHODS_DEFAULT,
        help=f"comma-separated, from {','.join(METHODS)} (--photos: from {','.join(scene_methods())})",
    )
    p.add_argument("--train-images", type=Path, default=None, help="training folder for the 'nn' method")
    p.add_argument("--n", type=int, default=None, help="number of images (default: all)")
    p.add_argument("--skip", type=int, default=0, help="skip the first SKIP images by name")
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="image side (default: the model's resolution; e.g. 128 for the parts masks)",
    )
    p.add_argument("--batch", type=int, default=64, help="images per batched search")
    p.add_argument("--out", type=Path, default=Path("eval-out"), help="output folder (default eval-out)")
    p.add_argument("--quiet", action="store_true")
    add_settings_options(p)
    p.set_defaults(func=main)


SCENE_DEFAULT_METHODS = "auto,scene,pypatchmatch,telea,harmonic"


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
    from inpaint_gui.lab.evaluate import (
        METHODS,
        SEARCH_ENGINE,
        EvalResult,
        check_network_masks,
        evaluate,
        load_eval_images,
        load_networks,
        load_search_model,
    )
    from inpaint_gui.lab.masks import MASK_KINDS, load_mask_folder

    if args.photos is not None:
        return scene_main(args)
    kinds = _split(args.masks, MASK_KINDS, "mask kind")
    methods = _split(args.methods, METHODS, "method")
    settings = settings_from(args)
    apply_threads(args.threads)
    device = resolve_device(settings.common.device)
    if "irregular" in kinds and args.irregular_masks is None:
        raise InpaintError("the 'irregular' masks need --irregular-masks DIR")
    check_network_masks(methods, kinds)
    if "nn" in methods and args.train_images is None:
        raise InpaintError("the 'nn' method needs --train-images DIR")
    if "tv" in methods:
        from inpaint_gui.lab import baselines

        if not hasattr(baselines, "tv_fill"):
            raise InpaintError("the 'tv' baseline is not available in this version")
    engines = Engines()
    model = load_search_model(engines, settings, device)
    size = args.size or model.config.resolution  # the images' side; windows are resized to the model's
    if size < 8:
        raise InpaintError(f"--size must be at least 8, got {size}")
    networks = load_networks(methods, settings, size, device)
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
        evaluate(
            engines,
            images,
            names,
            kinds,
            methods,
            settings,
            seed=settings.common.seed,
            irregular_files=irregular,
            train_images=train,
            batch=args.batch,
            on_progress=log,
            result=result,
            networks=networks,
        )
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: writing what finished")
    config = {
        "images": str(args.images),
        "n": len(images),
        "skip": args.skip,
        "size": size,
        "masks": kinds,
        "methods": methods,
        "seed": settings.common.seed,
        "model": model.name if settings.of(SEARCH_ENGINE).model != "auto" else "auto (chosen by the window's size)",
        "device": describe_device(device),
        "settings": {**settings_summary(settings), "engine": SEARCH_ENGINE},  # every search method uses it
        "networks": {m: str(net.path) for m, net in networks.items()},
        "seconds": round(time.perf_counter() - t0, 1),
        "interrupted": interrupted,
    }
    write_outputs(args.out, result, config)
    log(f"wrote {args.out}/metrics.json, metrics.csv, table.md and figures")
    if not args.quiet:
        print((args.out / "table.md").read_text())
    return 130 if interrupted else 0


def scene_main(args: argparse.Namespace) -> int:
    """``eval --photos DIR``: the scene benchmark (``lab/scene_eval.py``)."""
    from inpaint_gui.commands.options import apply_threads, settings_from
    from inpaint_gui.lab.scene_eval import SceneEval, evaluate_scenes, load_photos, save_figures, scene_methods
    from inpaint_gui.lab.scene_masks import SCENE_MASK_KINDS

    masks = "object,scratches" if args.masks == MASKS_DEFAULT else args.masks
    kinds = _split(masks, SCENE_MASK_KINDS, "scene mask kind")
    methods = _split(
        SCENE_DEFAULT_METHODS if args.methods == METHODS_DEFAULT else args.methods, scene_methods(), "scene method"
    )
    settings = settings_from(args)
    apply_threads(args.threads)
    if not args.photos.is_dir():
        raise InpaintError(f"{args.photos} is not a folder of photos")
    names = [name for name, _ in load_photos(args.photos, None)][args.skip :]
    if args.n is not None:
        names = names[: args.n]
    if not names:
        raise InpaintError(f"no photos in {args.photos}" + (f" after skipping {args.skip}" if args.skip else ""))
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"eval: {msg}", file=sys.stderr, flush=True))
    log(f"{len(names)} photos, masks {kinds}, methods {methods}")
    total_photos = args.skip + len(names)
    result = SceneEval(names)
    t0 = time.perf_counter()
    interrupted = False
    try:
        evaluate_scenes(
            args.photos,
            kinds,
            methods,
            seed=settings.common.seed,
            n=total_photos,
            settings=settings,
            on_progress=lambda done, total, msg: log(f"[{done}/{total}] {msg}"),
            figure_photos=list(range(args.skip, min(args.skip + 6, total_photos))),
            result=result,
            skip=args.skip,
        )
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: writing what finished")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InpaintError(f"cannot create {args.out}: {exc.strerror}") from None
    config = {
        "photos": str(args.photos),
        "n": len(names),
        "skip": args.skip,
        "masks": kinds,
        "methods": methods,
        "seed": settings.common.seed,
        "seconds": round(time.perf_counter() - t0, 1),
        "interrupted": interrupted,
    }
    (args.out / "metrics.json").write_text(
        json.dumps(
            {"config": config, "notes": result.notes, "summary": result.summary(), "rows": result.rows}, indent=1
        )
    )
    table = result.table_markdown(title=f"{len(names)} photos of {args.photos.name}")
    (args.out / "table.md").write_text(table + "\n")
    figures = save_figures(result, args.out)
    log(f"wrote {args.out}/metrics.json, table.md and {len(figures)} figures")
    if not args.quiet:
        print(table)
    return 130 if interrupted else 0


def write_outputs(out: Path, result, config: dict) -> None:
    from inpaint_gui.commands.train import save_png
    from inpaint_gui.lab.evaluate import METRIC_KEYS, figure, table_markdown

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InpaintError(f"cannot create {out}: {exc.strerror}") from None
    summary = result.summary()
    (out / "metrics.json").write_text(
        json.dumps({"config": config, "summary": summary, "per_image": result.rows}, indent=1, allow_nan=True) + "\n"
    )
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["mask", "method", "image", *METRIC_KEYS])
        w.writeheader()
        w.writerows(result.rows)
    header = (
        f"Model `{config['model']}`, {config['n']} images of {config['size']}x{config['size']}, seed {config['seed']}, "
        f"{config['device']}; search: {config['settings']}. Mean ± standard error.\n\n"
    )
    (out / "table.md").write_text(header + table_markdown(summary))
    for kind, columns in result.figures.items():
        if len(columns) > 2:
            save_png(out / f"figure_{kind}.png", figure(columns))
