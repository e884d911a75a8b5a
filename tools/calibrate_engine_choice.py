"""Measure the automatic engine choice on faces and on natural photos.

For faces (128x128 val crops with a central 64x64 hole) and natural photos (CBSD68: the whole
photo with an ``object`` hole, and square crops of it with a central hole), plan exactly as
``--engine auto`` does and record the face check's probability for the largest region
(``probabilities.json``); then, for thresholds, the confusion table (``confusion.json``): faces
that go to the face engine, photos that go to the scene engine. Photos are split at
``--photos-train`` (the face check trained on windows of the first ones).

    python tools/calibrate_engine_choice.py --faces ../shared/data/celeba-faces-128/val \
        --photos ../shared/data/photos-cbsd68 --n-faces 250 --out calib
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def probability_of(engines, settings, image: np.ndarray, mask: np.ndarray) -> float:
    """The face check's probability for the largest group of holes (NaN: only thin holes)."""
    from inpaint_gui.core.errors import MaskError

    face = engines["face"]
    coarse = replace(settings.of("face"), framing_prior=False)  # as auto judges: the coarse grid
    try:
        regions = face.plan(image, mask, coarse, settings.common)
    except MaskError:
        return 0.0
    if not regions:
        return float("nan")
    biggest = max(regions, key=lambda r: r.hole_pixels)
    return face.suitability(image, mask, biggest).score


SAMPLE_FACE = (175, 65, 275, 175)  # x0, y0, x1, y1: the sample's face (skin), a hole centred here is in the face
SAMPLE_HEAD = (140, 25, 310, 215)  # ... and its head with hair: a hole clear of this is not in the face


def sample_grid(engines, settings, repo: Path, side: int = 40, step: int = 32) -> dict:
    """Square holes on a grid over the bundled sample photo: the share inside its face that go to
    the face engine, and of those clear of the head, the share that go to the scene engine."""
    from PIL import Image

    image = np.asarray(Image.open(repo / "resources" / "astronaut.png").convert("RGB"))
    h, w = image.shape[:2]
    inside, outside, wrong = [], [], []
    for y in range(0, h - side + 1, step):
        for x in range(0, w - side + 1, step):
            mask = np.zeros((h, w), bool)
            mask[y : y + side, x : x + side] = True
            p = probability_of(engines, settings, image, mask)
            cx, cy = x + side / 2, y + side / 2
            fx0, fy0, fx1, fy1 = SAMPLE_FACE
            hx0, hy0, hx1, hy1 = SAMPLE_HEAD
            if fx0 <= cx < fx1 and fy0 <= cy < fy1:
                inside.append(p >= 0.5)
            elif x + side <= hx0 or x >= hx1 or y + side <= hy0 or y >= hy1:
                outside.append(p < 0.5)
                if p >= 0.5:
                    wrong.append([x, y, round(p, 3)])
    return {
        "in_face_to_face": float(np.mean(inside)),
        "in_face_n": len(inside),
        "clear_of_head_to_scene": float(np.mean(outside)),
        "clear_of_head_n": len(outside),
        "clear_of_head_called_faces": wrong,
    }


def loss_separation(engines, faces_dir: Path, photos_dir: Path, n: int) -> dict:
    """The face engine's best normalised contextual loss (``fit``, grey levels) on n faces with a
    central hole and n photos with an object hole, and how well one threshold on it separates
    them (the best share of both classified right)."""
    from PIL import Image

    from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, inpaint
    from inpaint_gui.lab.dataset import list_images
    from inpaint_gui.lab.evaluate import load_eval_images
    from inpaint_gui.lab.masks import center_mask
    from inpaint_gui.lab.scene_masks import make_scene_mask

    face_only = InpaintSettings(CommonSettings(engine="face", device="cpu"))
    fits: dict = {"faces": [], "photos": []}
    _, faces = load_eval_images(faces_dir, 128, n, 0)
    for face in faces:
        mask = center_mask(128)
        img = face.copy()
        img[mask] = 0
        fits["faces"].append(inpaint(img, mask, face_only, engines).regions[0].final.info["fit"])
    for i, path in enumerate(list_images(photos_dir)[:n]):
        photo = np.asarray(Image.open(path).convert("RGB"))
        mask = make_scene_mask("object", photo.shape[:2], 0, i)
        result = inpaint(photo, mask, face_only, engines)
        fits["photos"].append(min(r.final.info["fit"] for r in result.regions if "fit" in r.final.info))
    f, p = np.array(fits["faces"]), np.array(fits["photos"])
    best = max(((np.mean(f <= t) + np.mean(p > t)) / 2, t) for t in np.unique(np.concatenate([f, p])))
    fits["summary"] = {
        "faces_median": round(float(np.median(f)), 2),
        "photos_median": round(float(np.median(p)), 2),
        "best_threshold": round(float(best[1]), 2),
        "best_balanced_accuracy": round(float(best[0]), 3),
    }
    return fits


def confusion(probs: dict, threshold: float) -> dict:
    out = {"threshold": round(float(threshold), 3)}
    for kind, values in probs.items():
        vals = [p for p in values if np.isfinite(p)]
        right = [p >= threshold for p in vals] if kind.startswith("faces") else [p < threshold for p in vals]
        out[f"{kind}_to_{'face' if kind.startswith('faces') else 'scene'}"] = float(np.mean(right)) if vals else None
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--faces", type=Path, required=True)
    p.add_argument("--photos", type=Path, required=True)
    p.add_argument("--n-faces", type=int, default=250)
    p.add_argument("--skip-faces", type=int, default=0)
    p.add_argument("--crops", type=int, default=2, help="square crops per photo")
    p.add_argument("--photos-train", type=int, default=34, help="photos the face check trained on (reported apart)")
    p.add_argument("--out", type=Path, default=Path("calib"))
    p.add_argument("--grid-step", type=int, default=32, help="px between the 40x40 holes tried on the bundled sample")
    p.add_argument(
        "--loss",
        type=int,
        default=0,
        help="also run the face engine's framing search on the first N faces (central hole) and N photos "
        "(object hole) and record its normalised contextual loss, the criterion the issue first proposed",
    )
    args = p.parse_args(argv)

    import torch

    from inpaint_gui.core.engines import Engines
    from inpaint_gui.core.pipeline import InpaintSettings
    from inpaint_gui.lab.dataset import list_images
    from inpaint_gui.lab.evaluate import load_eval_images
    from inpaint_gui.lab.masks import center_mask
    from inpaint_gui.lab.scene_masks import make_scene_mask

    torch.set_num_threads(1)
    engines, settings = Engines(), InpaintSettings()
    probs: dict[str, list[float]] = {}
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for skip, n in ((args.skip_faces, args.n_faces), (args.skip_faces + args.n_faces, args.n_faces)):
        _, faces = load_eval_images(args.faces, 128, n, skip)
        key = f"faces_{skip + 1}-{skip + len(faces)}"
        probs[key] = []
        for face in faces:
            mask = center_mask(128)
            img = face.copy()
            img[mask] = 0
            probs[key].append(probability_of(engines, settings, img, mask))
    rng = np.random.default_rng(0)
    from PIL import Image

    for i, path in enumerate(list_images(args.photos)):
        part = "train" if i < args.photos_train else "held_out"
        photo = np.asarray(Image.open(path).convert("RGB"))
        mask = make_scene_mask("object", photo.shape[:2], 0, i)
        probs.setdefault(f"photo_objects_{part}", []).append(probability_of(engines, settings, photo, mask))
        h, w = photo.shape[:2]
        for _ in range(args.crops):
            side = int(rng.integers(128, min(h, w) + 1))
            y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crop = np.ascontiguousarray(photo[y : y + side, x : x + side])
            probs.setdefault(f"photo_crops_{part}", []).append(
                probability_of(engines, settings, crop, center_mask(side))
            )
    if args.loss:
        fits = loss_separation(engines, args.faces, args.photos, args.loss)
        (args.out / "fits.json").write_text(json.dumps(fits, indent=1))
        print(f"normalised contextual loss: {fits['summary']}", file=sys.stderr, flush=True)
    grid = sample_grid(engines, settings, Path(__file__).resolve().parents[1], step=args.grid_step)
    print(f"sample grid: {grid}", file=sys.stderr)
    (args.out / "sample_grid.json").write_text(json.dumps(grid, indent=1))
    print(f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    (args.out / "probabilities.json").write_text(json.dumps(probs))
    table = [confusion(probs, t) for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)]
    (args.out / "confusion.json").write_text(json.dumps(table, indent=1))
    for row in table:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
