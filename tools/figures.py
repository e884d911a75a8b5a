"""The README's comparison figures, made with the app's own pipeline.

    python tools/figures.py framing --out resources/framing_sample.png
        the bundled sample: its hole filled in the fixed window (the hole plus half its extent,
        celeba64: the app before the framing search) and with today's defaults (framing search,
        model by window size), crops around the face

    python tools/figures.py models --faces ../shared/data/celeba-faces-128/val --out resources/models_center.png
        8 held-out 128x128 faces (val 251-258 by name) with the central 64x64 hole: truth,
        masked, celeba64 (its 64x64 fill enlarged to 128), celeba128 alone, and the default:
        celeba128's detail over celeba64's low band; the whole face is the window for all (the
        framing the priors were trained on)

    python tools/figures.py defaults --faces ../shared/data/celeba-faces-128/val --out resources/defaults_center.png
        the same 8 faces, central 64x64 hole, every fill planned as the app plans it (framing
        search): truth, masked, the face engine's default before issue 23, the Context Encoder,
        PGGAN (when installed), and today's default (the search's detail over the network's
        low band)

    python tools/figures.py defaults64 --faces ../shared/data/celeba-faces-128/val --out resources/defaults_center64.png
        the same 8 faces at 64x64 with the central 32x32 hole (the paper's test), shown at 2x
        (nearest): truth, masked, before issue 23, the default over ce128+pggan128 only, pggan64's
        one pass, the default with pggan64's edges sharpened by the setting's whole 1.5, and today's
        default (over pggan64, 2/3 of the sharpening: its card's share)

    python tools/figures.py sample --out resources/sample_fills.png
        the bundled sample's hole: before issue 23, the network's one pass, today's default

All print the settings and seconds of every fill; the same seed gives the same figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
PAD = 4


def _settings(engine: str = "face", **face):
    from inpaint_gui.core.engines.gan.settings import SearchSettings
    from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings

    return InpaintSettings(CommonSettings(engine=engine, device="cpu"), {"face": replace(SearchSettings(), **face)})


def _engine_settings(engine: str, **options):
    """An engine of its own (``--engine``) with some of its settings."""
    from inpaint_gui.core.engines import engine_class
    from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings

    return InpaintSettings(
        CommonSettings(engine=engine, device="cpu"), {engine: engine_class(engine).info.settings(**options)}
    )


def _labelled_row(columns: list[np.ndarray], labels: list[str]) -> np.ndarray:
    """Columns side by side, white gaps, a caption strip above each."""
    h = max(c.shape[0] for c in columns)
    caption = 16
    width = sum(c.shape[1] for c in columns) + PAD * (len(columns) + 1)
    canvas = Image.new("RGB", (width, h + caption + 2 * PAD), "white")
    draw = ImageDraw.Draw(canvas)
    x = PAD
    for column, label in zip(columns, labels):
        canvas.paste(Image.fromarray(column), (x, caption + PAD))
        draw.text((x + 2, 2), label, fill=(0, 0, 0))
        x += column.shape[1] + PAD
    return np.asarray(canvas)


def _holes_shown(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    shown = image.copy()
    shown[mask] = (255, 255, 255)
    return shown


def framing(out: Path) -> None:
    from inpaint_gui.core.engines import Engines
    from inpaint_gui.core.image.io import load_mask, load_photo
    from inpaint_gui.core.pipeline import inpaint

    photo = load_photo(REPO / "resources" / "astronaut.png").image
    mask = load_mask(REPO / "resources" / "astronaut_mask.png", photo.shape[:2])
    engines = Engines()
    runs = {
        "before: fixed window, celeba64": _settings(framing="fixed", model="celeba64"),
        "now: framing search (default)": _settings(),
    }
    columns, labels = [_holes_shown(photo, mask)], ["the hole"]
    for label, settings in runs.items():
        t0 = time.perf_counter()
        result = inpaint(photo, mask, settings, engines)
        region = result.regions[0]
        info = region.final.info
        print(
            f"{label}: {time.perf_counter() - t0:.1f} s, window {info.get('chosen') or info.get('window')}, "
            f"model {info.get('model')}",
            file=sys.stderr,
        )
        columns.append(result.image)
        labels.append(label)
    ys, xs = np.nonzero(mask)
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    side = 2 * max(ys.max() - ys.min(), xs.max() - xs.min())
    y0 = int(np.clip(cy - side, 0, photo.shape[0] - 2 * side))
    x0 = int(np.clip(cx - side, 0, photo.shape[1] - 2 * side))
    crops = [c[y0 : y0 + 2 * side, x0 : x0 + 2 * side] for c in columns]
    Image.fromarray(_labelled_row(crops, labels)).save(out)


def _face_grid(
    faces: Path, out: Path, runs: dict, whole: bool, skip: int = 250, n: int = 8, size: int = 128, zoom: int = 1
) -> None:
    """Val faces ``skip + 1`` .. ``skip + n`` at ``size`` with the central hole of half the side:
    truth, masked, and one column per run (label -> settings), each fill seated with the Poisson
    blend, shown ``zoom`` times (nearest); the whole face is every fill's window when ``whole``,
    else the engine plans as the app does."""
    from inpaint_gui.core.engines import Engines
    from inpaint_gui.core.pipeline import fill_batch, seat_batch
    from inpaint_gui.lab.evaluate import load_eval_images
    from inpaint_gui.lab.masks import center_mask

    _, images = load_eval_images(faces, size, n, skip)
    masks = np.stack([center_mask(size)] * len(images))
    damaged = images.copy()
    damaged[masks] = 0
    engines = Engines()
    rows = {"truth": images, "masked": np.stack([_holes_shown(i, m) for i, m in zip(images, masks)])}
    for label, settings in runs.items():
        t0 = time.perf_counter()
        fills, _ = fill_batch(damaged, masks, settings, engines, [(0, 0, size)] * len(images) if whole else None)
        rows[label] = seat_batch(damaged, masks, fills, "poisson")
        print(f"{label}: {(time.perf_counter() - t0) / len(images):.2f} s per face", file=sys.stderr)
    big = [[np.repeat(np.repeat(f, zoom, 0), zoom, 1) for f in r] for r in rows.values()]
    columns = [np.concatenate([np.pad(f, ((0, PAD), (0, 0), (0, 0)), constant_values=255) for f in r]) for r in big]
    Image.fromarray(_labelled_row(columns, list(rows))).save(out)


def models(faces: Path, out: Path) -> None:
    prior = {"low_band": "prior", "network": "none"}  # the figure of the two priors, before the network band
    runs = {
        "celeba64 (enlarged)": _settings(model="celeba64", **prior),
        "celeba128 alone": _settings(model="celeba128", low_band="off", network="none"),
        "celeba128 over celeba64": _settings(model="celeba128", **prior),
    }
    _face_grid(faces, out, runs, whole=True)


def _previous() -> dict:
    from inpaint_gui.lab.evaluate import PREVIOUS_DEFAULTS  # eval's "previous" method: the defaults before issue 23

    return dict(PREVIOUS_DEFAULTS)


def _fill_runs():
    """(label, engine, face settings) of the defaults figures: before issue 23, the networks, each
    kept lever of issue 23 in turn (the search at 50 iterations over ce128's low band, then over
    both networks', then from the learned start at 20, then the networks' edges sharpened, then
    the generator's checkerboard removed), today's default (over pggan64's low band)."""
    from inpaint_gui.core.engines import names

    runs = [("before (issue 23)", "face", _previous()), ("ce128, one pass", "ce", {})]
    if "pggan" in names():
        from inpaint_gui.core.engines import engine_class

        if "pggan128" in engine_class("pggan").models():
            runs.append(("pggan128, one pass", "pggan", {}))
    both = {"network": "ce128+pggan128"}  # the levers before pggan64 gave the low band
    plain = {"sharpen": 0.0, "checkerboard": "keep", **both}  # the detail and the low band as the search drew them
    runs.append(("over ce128", "face", {**plain, "network": "ce128", "start": "random", "iterations": 50}))
    runs.append(("over both networks", "face", {"start": "random", "iterations": 50, **plain}))
    runs.append(("learned start", "face", plain))
    runs.append(("edges sharpened", "face", {"checkerboard": "keep", **both}))
    runs.append(("checkerboard removed", "face", both))
    runs.append(("today: over pggan64", "face", {}))
    return runs


def defaults(faces: Path, out: Path) -> None:
    _face_grid(faces, out, {label: _settings(engine, **face) for label, engine, face in _fill_runs()}, whole=False)


def defaults64(faces: Path, out: Path) -> None:
    from inpaint_gui.core.engines.feedforward.weights import load_net
    from inpaint_gui.core.engines.gan.network import declared_sharpening

    share = declared_sharpening(load_net("pggan64"), 64)  # its card's share of --sharpen under the 64 px prior
    runs = {
        "before (issue 23)": _settings("face", **_previous()),
        "over ce128+pggan128": _settings("face", network="ce128+pggan128"),
        "pggan64, one pass": _engine_settings("pggan", model="pggan64"),
        "its edges at the full 1.5": _settings("face", sharpen=1.5 / share),  # the card's share undone
        "today: default": _settings("face"),
    }
    _face_grid(faces, out, runs, whole=False, size=64, zoom=2)


def sample(out: Path) -> None:
    from inpaint_gui.core.engines import Engines
    from inpaint_gui.core.image.io import load_mask, load_photo
    from inpaint_gui.core.pipeline import inpaint

    photo = load_photo(REPO / "resources" / "astronaut.png").image
    mask = load_mask(REPO / "resources" / "astronaut_mask.png", photo.shape[:2])
    engines = Engines()
    columns, labels = [_holes_shown(photo, mask)], ["the hole"]
    for label, engine, face in _fill_runs():
        t0 = time.perf_counter()
        result = inpaint(photo, mask, _settings(engine, **face), engines)
        print(f"{label}: {time.perf_counter() - t0:.1f} s, {result.regions[0].region.label}", file=sys.stderr)
        columns.append(result.image)
        labels.append(label)
    ys, xs = np.nonzero(mask)
    side = int(max(ys.max() - ys.min(), xs.max() - xs.min())) + 60
    y0 = int(np.clip((ys.min() + ys.max() - side) // 2, 0, photo.shape[0] - side))
    x0 = int(np.clip((xs.min() + xs.max() - side) // 2, 0, photo.shape[1] - side))
    Image.fromarray(_labelled_row([c[y0 : y0 + side, x0 : x0 + side] for c in columns], labels)).save(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    f = sub.add_parser("framing")
    f.add_argument("--out", type=Path, default=REPO / "resources" / "framing_sample.png")
    m = sub.add_parser("models")
    m.add_argument("--faces", type=Path, required=True)
    m.add_argument("--out", type=Path, default=REPO / "resources" / "models_center.png")
    m.add_argument("--threads", type=int, default=None)
    f.add_argument("--threads", type=int, default=None)
    d = sub.add_parser("defaults")
    d.add_argument("--faces", type=Path, required=True)
    d.add_argument("--out", type=Path, default=REPO / "resources" / "defaults_center.png")
    d.add_argument("--threads", type=int, default=None)
    d64 = sub.add_parser("defaults64")
    d64.add_argument("--faces", type=Path, required=True)
    d64.add_argument("--out", type=Path, default=REPO / "resources" / "defaults_center64.png")
    d64.add_argument("--threads", type=int, default=None)
    s = sub.add_parser("sample")
    s.add_argument("--out", type=Path, default=REPO / "resources" / "sample_fills.png")
    s.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.what == "framing":
        framing(args.out)
    elif args.what == "defaults":
        defaults(args.faces, args.out)
    elif args.what == "defaults64":
        defaults64(args.faces, args.out)
    elif args.what == "sample":
        sample(args.out)
    else:
        models(args.faces, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
