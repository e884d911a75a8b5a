"""``inpaint-gui run IMAGE --mask MASK -o OUT``: inpaint a photo without the window."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from inpaint_gui.core.errors import ImageIOError


def _window(text: str) -> tuple[int, int, int]:
    try:
        x, y, size = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,SIZE (three integers), got {text!r}") from None
    return x, y, size


def add_parser(sub: argparse._SubParsersAction) -> None:
    from inpaint_gui.commands.options import add_search_options

    p = sub.add_parser("run", help="inpaint a photo headless",
                       description="Fill the hole of MASK in IMAGE with the latent search and Poisson blending.")
    p.add_argument("image", type=Path, help="the photo")
    p.add_argument("--mask", type=Path, required=True, help="mask image of the same size: non-zero (or transparent) = hole")
    p.add_argument("-o", "--output", type=Path, required=True, help="where to save the result (format from the extension)")
    add_search_options(p)
    p.add_argument("--window", type=_window, default=None, metavar="X,Y,SIZE",
                   help="the square the model sees (default: around each hole, with context)")
    p.add_argument("--blend", choices=("poisson", "paste"), default="poisson")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default 95)")
    p.add_argument("--candidates", type=Path, default=None, metavar="DIR", help="also write every restart's fill here")
    p.add_argument("--overwrite", action="store_true", help="allow OUT to be IMAGE itself")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def _check_output(args: argparse.Namespace) -> None:
    from inpaint_gui.core.image.io import output_format_for

    out: Path = args.output
    output_format_for(out)  # unknown extension -> ImageIOError
    if out.exists() and args.image.exists() and out.resolve() == args.image.resolve() and not args.overwrite:
        raise ImageIOError(f"{out} is the input photo: refusing to overwrite it (pass --overwrite to allow)")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise ImageIOError(f"cannot write {out}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ImageIOError(f"cannot write {out}: folder {parent} is not writable")
    if out.is_dir():
        raise ImageIOError(f"cannot write {out}: it is a folder")


def main(args: argparse.Namespace) -> int:
    from inpaint_gui.commands.options import apply_threads, search_settings_from, settings_summary
    from inpaint_gui.core.devices import describe_device, resolve_device
    from inpaint_gui.core.image.io import load_mask, load_photo, save_photo
    from inpaint_gui.core.pipeline import check_mask, inpaint
    from inpaint_gui.core.engines.gan.weights import default_model_name, load_model
    from inpaint_gui.progress import ProgressBar

    settings = search_settings_from(args)
    apply_threads(args.threads)
    _check_output(args)
    device = resolve_device(args.device)  # before any heavy work: a clear error without a GPU
    photo = load_photo(args.image)
    mask = load_mask(args.mask, photo.image.shape[:2])
    check_mask(photo.image, mask)
    model = load_model(args.model or default_model_name(), device=device)

    bar = ProgressBar(settings.iterations, "search", enabled=False if args.quiet else None)
    label = {"window": -1}

    def on_step(index, window, step):
        if label["window"] != index:
            label["window"] = index
            bar.label = f"window {index + 1}"
        bar.update(step.iteration, force=step.done, loss=float(step.total[step.best]))

    result = inpaint(photo.image, mask, model, settings, blend=args.blend, window=args.window, on_step=on_step)
    bar.close()
    warnings = list(photo.warnings)
    if result.uncovered_pixels:
        warnings.append(f"{result.uncovered_pixels} hole pixels lie outside the window and were left as they were")
    warnings += save_photo(args.output, result.image, alpha=photo.alpha, icc_profile=photo.icc_profile,
                           exif=photo.exif, quality=args.quality) or []
    if args.candidates:
        _write_candidates(args.candidates, photo.image, mask, result)
    for w in warnings:
        print(f"inpaint-gui: warning: {w}", file=sys.stderr)
    if args.json:
        summary = {
            "input": str(args.image), "output": str(args.output), "model": model.name,
            "device": describe_device(device), "blend": args.blend, "seconds": round(result.seconds, 3),
            "settings": settings_summary(settings),
            "windows": [{"window": list(w.window), "iterations": w.final.iteration, "chosen": w.chosen,
                         "contextual": w.final.contextual.round(4).tolist(), "perceptual": w.final.perceptual.round(4).tolist(),
                         "total": w.final.total.round(4).tolist(), "seconds": round(w.final.elapsed, 3)} for w in result.windows],
            "uncovered_pixels": result.uncovered_pixels, "warnings": warnings,
        }
        print(json.dumps(summary, indent=2))
    return 0


def _write_candidates(folder: Path, image, mask, result) -> None:
    """Per window and restart: the model-resolution fill and the window pasted at full size."""
    from inpaint_gui.core.image.io import save_photo
    from inpaint_gui.core.pipeline import compose

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageIOError(f"cannot create {folder}: {exc.strerror}") from None
    for i, wr in enumerate(result.windows):
        x, y, size = wr.window
        for k, fill in enumerate(wr.final.previews):
            save_photo(folder / f"window{i}_restart{k}_fill.png", fill)
            window_img = compose(image, mask, wr.window, fill, "paste")[y:y + size, x:x + size]
            save_photo(folder / f"window{i}_restart{k}.png", window_img)
