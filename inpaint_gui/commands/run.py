"""``inpaint-gui run IMAGE --mask MASK -o OUT``: inpaint a photo without the window.

``--exclude EXCLUDE_MASK`` (read by the same rule as ``--mask``) marks pixels the scene engine
never copies into the hole ("don't copy from"); it is checked with the other inputs before
any work.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

from inpaint_gui.core.errors import ImageIOError

DEFAULT_QUALITY = 95


def _path(text: str) -> Path:
    """A file or folder argument: not empty (``Path("")`` would silently mean ".")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, got an empty one")
    return Path(text)


def _output(text: str) -> Path:
    """``-o``: a file name; one ending in a separator names a folder (``Path`` would drop it)."""
    if text.endswith(("/", os.sep)) and text.strip("/" + os.sep):
        raise argparse.ArgumentTypeError(
            f"expected a file name, got {text!r}, a folder (drop the trailing {text[-1]!r})"
        )
    return _path(text)


def _output_format(path: Path) -> str:
    from inpaint_gui.core.image.save import output_format_for

    return output_format_for(path)


def _window(text: str) -> tuple[int, int, int]:
    try:
        x, y, size = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,SIZE (three integers), got {text!r}") from None
    return x, y, size


def _engines_with(capability: str) -> str:
    from inpaint_gui.core.engines import infos

    return ", ".join(name for name, info in infos().items() if getattr(info, capability)) or "none"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from inpaint_gui.commands.options import add_settings_options

    p = sub.add_parser(
        "run", help="inpaint a photo headless", description="Fill the hole of MASK in IMAGE and save the result."
    )
    p.add_argument("image", type=_path, help="the photo")
    p.add_argument(
        "--mask", type=_path, required=True, help="mask image of the same size: white or bright = hole, black = kept"
    )
    p.add_argument(
        "--exclude",
        type=_path,
        default=None,
        metavar="EXCLUDE_MASK",
        help="mask image of the same size: white or bright = never copy from here (used by the engines that "
        f"copy from the photo: {_engines_with('uses_exclude')})",
    )
    p.add_argument(
        "-o", "--output", type=_output, required=True, help="where to save the result (format from the extension)"
    )
    p.add_argument(
        "--window",
        type=_window,
        default=None,
        metavar="X,Y,SIZE",
        help="the square the model sees, for the engines that take a placed window "
        f"({_engines_with('placed_window')}; default: around each hole, with context)",
    )
    p.add_argument(
        "--quality",
        type=int,
        default=None,
        help=f"JPEG / lossy WebP quality, 1-100 (default {DEFAULT_QUALITY}; a WebP output is lossless when the "
        "photo was a lossless WebP and no quality is given)",
    )
    p.add_argument(
        "--lossless",
        action="store_true",
        help="save WebP losslessly (PNG, TIFF and BMP always are; JPEG cannot be)",
    )
    p.add_argument(
        "--candidates", type=_path, default=None, metavar="DIR", help="also write every candidate's fill here"
    )
    p.add_argument("--overwrite", action="store_true", help="allow OUT to be IMAGE or MASK itself")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_settings_options(p)
    p.set_defaults(func=main)


CANDIDATE_NAME = re.compile(r"region\d+_candidate\d+(_fill)?\.png", re.IGNORECASE)


def check_paths(args: argparse.Namespace) -> None:
    """Everything about the files that can be checked before any work (nothing is written)."""
    from inpaint_gui.core.image.io import check_output_path
    from inpaint_gui.core.image.save import new_folder_problem

    check_output_path(
        args.output,
        quality=_quality(args),
        input_path=args.image,
        mask_path=args.mask,
        exclude_path=args.exclude,
        overwrite=args.overwrite,
    )
    if args.lossless and args.quality is not None:
        raise ImageIOError("--quality is for lossy saves: pass --quality or --lossless, not both")
    if args.lossless and _output_format(args.output) == "JPEG":
        raise ImageIOError(f"cannot save {args.output} losslessly: JPEG is always lossy (use .png, .webp or .tif)")
    if args.candidates is None:
        return
    folder: Path = args.candidates
    problem = new_folder_problem(folder)
    if problem:
        raise ImageIOError(f"cannot write candidates to {folder}: {problem}")
    # The candidates' names must not land on a file this run reads or writes.
    real_folder = Path(os.path.realpath(folder))
    files = (
        ("the photo", args.image),
        ("the mask", args.mask),
        ("the exclude mask", args.exclude),
        ("the output", args.output),
    )
    for role, path in ((role, path) for role, path in files if path is not None):
        real = Path(os.path.realpath(path))
        if real.parent == real_folder and CANDIDATE_NAME.fullmatch(real.name):
            raise ImageIOError(
                f"cannot write candidates to {folder}: a candidate could overwrite {role} ({path}); "
                f"choose another folder"
            )


def _quality(args: argparse.Namespace) -> int:
    return DEFAULT_QUALITY if args.quality is None else args.quality


def save_options(args: argparse.Namespace, photo) -> dict:
    """How the result is saved: like the photo (mode, depth, metadata); WebP lossless with
    ``--lossless``, or when the photo was a lossless WebP and no ``--quality`` asks otherwise."""
    options = photo.save_options()
    options["lossless"] = args.lossless or (options["lossless"] and args.quality is None)
    return options


def main(args: argparse.Namespace) -> int:
    from inpaint_gui.commands.options import apply_threads, settings_from, settings_summary
    from inpaint_gui.commands.prechecks import check_model_path
    from inpaint_gui.core.devices import describe_compute, describe_device, resolve_device
    from inpaint_gui.core.engines import Engines
    from inpaint_gui.core.image.io import hole_share_warning, load_mask, load_photo, save_photo
    from inpaint_gui.core.pipeline import check_inputs, inpaint
    from inpaint_gui.progress import ProgressBar

    settings = settings_from(args)
    apply_threads(args.threads, defer=True)  # torch is loaded only if an engine needs it
    check_paths(args)
    # CUDA asked for without a GPU: a clear error before any work (auto and cpu need no check)
    device = resolve_device(settings.common.device) if settings.common.device.startswith("cuda") else None
    photo = load_photo(args.image)
    mask = load_mask(args.mask, photo.image.shape[:2])
    engines = Engines()
    exclude_mask = None if args.exclude is None else load_mask(args.exclude, photo.image.shape[:2])
    # the mask, the exclusion and a placed window, checked once, before any model loads
    exclude = check_inputs(photo.image, mask, settings, engines, args.window, exclude_mask)
    # a model named by --model (or the chosen engine's default) loads before any work: a missing
    # or corrupt model is an error even when auto would not need it
    preload = _models_to_load(settings)
    for _name, model in preload:
        check_model_path(model)  # a name the system cannot hold: one line, before torch loads
    for name, model in preload:
        engines[name].load(model, device=device or resolve_device(settings.common.device))

    bar = ProgressBar(1, "fill", enabled=False if args.quiet else None)
    current = {"region": -1}

    def on_step(index, region, step):
        if current["region"] != index:
            current["region"] = index
            bar.label = region.label or f"region {index + 1}"
        bar.total = step.iterations
        bar.update(step.iteration, force=step.done, loss=float(step.losses[step.best]))

    result = inpaint(
        photo.image, mask, settings, engines, window=args.window, exclude=exclude, on_step=on_step, checked=True
    )
    bar.close()
    warnings = list(photo.warnings)
    if (large := hole_share_warning(mask, args.mask.name)) is not None:
        warnings.insert(0, large)
    if exclude is not None and result.regions:
        ignoring = {r.region.engine for r in result.regions if not engines.info(r.region.engine).uses_exclude}
        if ignoring == {r.region.engine for r in result.regions}:
            which = ", ".join(sorted(ignoring))
            warnings.append(f"the {which} engine copies nothing from the photo: --exclude changed nothing")
    if result.uncovered_pixels:
        warnings.append(f"{result.uncovered_pixels} hole pixels lie outside the window and were left as they were")
    from inpaint_gui.core.devices import cpu_count
    from inpaint_gui.core.image.png import MAX_THREADS

    # A large PNG is deflated on every core: zlib's threads do not spin-wait on a busy core as
    # torch's do (the reason the compute leaves busy cores alone), they only share it.
    threads = min(cpu_count(), MAX_THREADS)
    warnings += (
        save_photo(args.output, result.image, quality=_quality(args), threads=threads, **save_options(args, photo))
        or []
    )
    if args.candidates:
        _write_candidates(args.candidates, photo.image, mask, result, settings, engines)
    for w in warnings:
        print(f"inpaint-gui: warning: {w}", file=sys.stderr)
    if args.json:
        summary = {
            "input": str(args.image),
            "output": str(args.output),
            "engine": settings.common.engine,
            "device": describe_device(device) if device is not None else describe_compute(settings.common.device),
            "seconds": round(result.seconds, 3),
            "settings": settings_summary(settings),
            "regions": [_region_summary(r) for r in result.regions],
            "uncovered_pixels": result.uncovered_pixels,
            "excluded_pixels": 0 if exclude is None else int(exclude.sum()),
            "warnings": warnings,
        }
        print(json.dumps(_json_safe(summary), indent=2, allow_nan=False))
    return 0


def _models_to_load(settings) -> list[tuple[str, str | None]]:
    """(engine, model or None for its default) to load before any work: the chosen engine's
    model when it has models, and with auto every engine whose ``model`` was named."""
    from inpaint_gui.core.pipeline import AUTO, model_engines

    out = []
    for name in model_engines():
        model = settings.of(name).model
        if settings.common.engine == name or (settings.common.engine == AUTO and model != AUTO):
            out.append((name, None if model == AUTO else model))
    return out


def _region_summary(r) -> dict:
    final = r.final
    out = {
        "engine": r.region.engine,
        "label": r.region.label,
        "rect": list(r.region.rect),
        "iterations": final.iteration,
        "chosen": r.chosen,
        "losses": [c.loss for c in final.candidates],
        "seconds": round(final.elapsed, 3),
    }
    out.update(dict(final.info.items()))
    return out


def _json_safe(value):
    """Arrays to lists rounded to 4 places, non-finite numbers to None (JSON has no NaN)."""
    import numpy as np

    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return round(float(value), 4) if math.isfinite(value) else None
    return value


def _write_candidates(folder: Path, image, mask, result, settings, engines) -> None:
    """Per region and candidate: the engine's fill (``_fill.png``) and the region of the photo
    with the candidate pasted into the hole."""
    from dataclasses import replace

    from inpaint_gui.core.image.io import save_photo
    from inpaint_gui.core.pipeline import apply_patch, finish

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageIOError(f"cannot create {folder}: {exc.strerror}") from None
    pasted = replace(settings, common=replace(settings.common, blend="paste"))
    for i, r in enumerate(result.regions):
        sl, _ = r.region.hole_in(image.shape)
        for c in r.final.candidates:
            save_photo(folder / f"region{i}_candidate{c.index}_fill.png", c.thumbnail)
            out = apply_patch(image, finish(image, mask, r.region, c, pasted, engines))
            save_photo(folder / f"region{i}_candidate{c.index}.png", out[sl])
