"""Train the framer (``core/engines/gan/framer.py``) and write ``weights/framer``.

Each training face (a 128x128 crop, framed as the priors were trained) is placed in the middle
of a canvas three times its side; outside it the canvas is either unknown (as past a photo's
border) or a natural photo (the first ``--photos-train`` of the photo folder). The face gets a
random hole (a square part, a rectangle, an irregular mask) and is seen through windows of
random framing: side 0.55-1.5x the face's, centre shifted up to 30% of the side. The target is
the move from the window to the face's framing (:func:`framing_move`). Held out: the first
``--val-n`` validation faces (the framing search's tuning faces), with their own photos.

    python -m inpaint_gui.lab.train_framer --faces ../shared/data/celeba-faces-128/train \\
        --val-faces ../shared/data/celeba-faces-128/val --photos ../shared/data/photos-cbsd68 \\
        --masks ../shared/data/nvidia-irregular-masks --out weights/framer
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from inpaint_gui.core.engines.gan.facecheck import to_input, windows_pixels_fast
from inpaint_gui.core.engines.gan.framer import Framer, FramerConfig, apply_move, framing_move, save_framer
from inpaint_gui.core.engines.gan.framing import overlap
from inpaint_gui.lab.dataset import list_images, load_rgb
from inpaint_gui.lab.train_facecheck import jitter_colours

SIZE = 64
SIDE_RANGE = (0.55, 1.5)  # window side / the face's
SHIFT_RANGE = 0.3  # window centre - face centre, as a share of the window's side (x and y)


def irregular_holes(masks_dir: Path | None, side: int) -> list[np.ndarray]:
    if masks_dir is None:
        return []
    out = []
    for p in list_images(masks_dir)[::4]:
        m = np.asarray(Image.open(p).convert("L").resize((side, side), Image.NEAREST)) >= 128
        if 0.03 <= m.mean() <= 0.5:
            out.append(m)
    return out


def random_hole(side: int, rng: np.random.Generator, irregular: list[np.ndarray]) -> np.ndarray:
    """bool (side, side): a square part of the face, a rectangle or an irregular mask."""
    kind = int(rng.integers(3 if irregular else 2))
    if kind == 2:
        return irregular[int(rng.integers(len(irregular)))]
    hole = np.zeros((side, side), bool)
    if kind == 0:
        h = w = int(rng.uniform(0.2, 0.5) * side)
        cy, cx = rng.uniform(0.3, 0.7, 2) * side
    else:
        h, w = (int(v) for v in rng.uniform(0.1, 0.55, 2) * side)
        cy, cx = rng.uniform(0.25, 0.75, 2) * side
    y0, x0 = int(np.clip(cy - h / 2, 0, side - h)), int(np.clip(cx - w / 2, 0, side - w))
    hole[y0 : y0 + h, x0 : x0 + w] = True
    return hole


def random_windows(
    n: int, side: int, centre: float, rng: np.random.Generator, sides=SIDE_RANGE, shift: float = SHIFT_RANGE
) -> np.ndarray:
    """float64 (n, 3) windows around a face of ``side`` centred at (centre, centre)."""
    s = side * np.exp(rng.uniform(*np.log(sides), n))
    c = centre + rng.uniform(-shift, shift, (n, 2)) * s[:, None]
    return np.stack([c[:, 0] - s / 2, c[:, 1] - s / 2, s], 1)


def build(
    faces: list[np.ndarray],
    photos: list[np.ndarray],
    irregular,
    per_face: int,
    rng: np.random.Generator,
    sides=SIDE_RANGE,
    shift: float = SHIFT_RANGE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pixels uint8 (N, S, S, 3), holes bool (N, S, S), moves float32 (N, 3), windows (N, 3))."""
    pix, hol, mov, wins = [], [], [], []
    for face in faces:
        side = face.shape[0]
        canvas_side = 3 * side
        if photos and rng.random() < 0.5:
            photo = photos[int(rng.integers(len(photos)))]
            crop = int(rng.uniform(0.5, 1.0) * min(photo.shape[:2]))
            y, x = int(rng.integers(photo.shape[0] - crop + 1)), int(rng.integers(photo.shape[1] - crop + 1))
            region = Image.fromarray(photo[y : y + crop, x : x + crop]).resize((canvas_side, canvas_side))
            canvas = np.array(region)
            mask = np.zeros((canvas_side, canvas_side), bool)
        else:
            canvas = np.zeros((canvas_side, canvas_side, 3), np.uint8)
            mask = np.ones((canvas_side, canvas_side), bool)  # unknown, as past a photo's border
        canvas[side : 2 * side, side : 2 * side] = face
        mask[side : 2 * side, side : 2 * side] = random_hole(side, rng, irregular)
        w = random_windows(per_face, side, 1.5 * side, rng, sides, shift)
        p, h = windows_pixels_fast(canvas, mask, w, SIZE)
        pix.append(p)
        hol.append(h)
        mov += [framing_move(v, (side, side, side)) for v in w]
        wins.append(w - np.array([side, side, 0]))  # in the face's own coordinates
    return np.concatenate(pix), np.concatenate(hol), np.asarray(mov, np.float32), np.concatenate(wins)


def augment(x: torch.Tensor, moves: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror (the x move turns round), brightness/contrast and some grey windows."""
    b = x.shape[0]
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    moves = moves.clone()
    moves[flip, 0] = -moves[flip, 0]
    return jitter_colours(x, gen), moves


@torch.no_grad()
def predict(net: Framer, pixels: np.ndarray, holes: np.ndarray, chunk: int = 1024) -> np.ndarray:
    net.eval()
    out = [net(to_input(pixels[i : i + chunk], holes[i : i + chunk])).numpy() for i in range(0, len(pixels), chunk)]
    net.train()
    return np.concatenate(out).astype(np.float64)


def held_out_report(net: Framer, held, side: int = 128) -> dict:
    """One move's error, and the overlap with the framing of the move's landing window."""
    pixels, holes, moves, windows = held
    pred = predict(net, pixels, holes)
    landed = apply_move(windows, pred)
    truth = (0.0, 0.0, float(side))
    before = np.array([overlap(tuple(w), truth) for w in windows])
    after = np.array([overlap(tuple(w), truth) for w in landed])
    return {
        "move_error_mean_abs": [round(float(v), 4) for v in np.abs(pred - moves).mean(0)],
        "overlap_before_median": round(float(np.median(before)), 3),
        "overlap_after_one_move_median": round(float(np.median(after)), 3),
        "overlap_after_one_move_over_0.9": round(float((after > 0.9).mean()), 3),
    }


def main(argv: list[str] | None = None) -> int:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--faces", type=Path, required=True)
    a.add_argument("--val-faces", type=Path, required=True)
    a.add_argument("--val-n", type=int, default=250, help="held out: the first N validation faces")
    a.add_argument("--photos", type=Path, default=None)
    a.add_argument("--photos-train", type=int, default=34, help="the first N photos train; the rest are held out")
    a.add_argument("--masks", type=Path, default=None)
    a.add_argument("--per-face", type=int, default=3)
    a.add_argument("--sides", type=float, nargs=2, default=SIDE_RANGE, help="window side / the face's, range")
    a.add_argument("--shift", type=float, default=SHIFT_RANGE, help="largest centre shift, share of the side")
    a.add_argument("--epochs", type=int, default=6)
    a.add_argument("--n-faces", type=int, default=None)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--out", type=Path, required=True)
    args = a.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    photos = load_rgb(list_images(args.photos)) if args.photos else []
    faces = load_rgb(list_images(args.faces)[: args.n_faces])
    val = load_rgb(list_images(args.val_faces)[: args.val_n])
    irregular = irregular_holes(args.masks, faces[0].shape[0])
    ranges = (tuple(args.sides), args.shift)
    train = build(faces, photos[: args.photos_train], irregular, args.per_face, rng, *ranges)
    held = build(val, photos[args.photos_train :], irregular, 4, np.random.default_rng(args.seed + 1), *ranges)
    x, y = to_input(train[0], train[1]), torch.from_numpy(train[2])
    del train
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    say(f"data: {len(y)} train windows, {len(held[2])} held out, {time.perf_counter() - t0:.0f} s")
    net = Framer(FramerConfig(size=SIZE))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    batch = min(128, len(y))
    steps = args.epochs * (len(y) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(args.seed)
    report = {}
    for epoch in range(args.epochs):
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y) - batch + 1, batch):
            idx = order[i : i + batch]
            xb, yb = augment(x[idx], y[idx], gen)
            loss = F.smooth_l1_loss(net(xb), yb, beta=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        report = held_out_report(net, held)
        say(f"epoch {epoch + 1}: loss {loss.item():.4f}, held out {report}, {time.perf_counter() - t0:.0f} s")
    card = {
        "name": "framer",
        "what": "the move from a window near a face to the face's training framing (centre shift, log side ratio)",
        "data": {
            "faces": str(args.faces),
            "faces_n": len(faces),
            "windows_per_face": args.per_face,
            "photos": str(args.photos) if args.photos else None,
            "photos_train": f"the first {args.photos_train}",
            "masks": str(args.masks) if args.masks else None,
            "framings": f"side {args.sides[0]}-{args.sides[1]}x the face's, centre shifted up to {args.shift:.0%}",
        },
        "training": {
            "epochs": args.epochs,
            "batch": batch,
            "optimizer": "AdamW, one-cycle lr 2e-3, smooth L1 (beta 0.05)",
            "seed": args.seed,
            "threads": args.threads,
            "seconds": round(time.perf_counter() - t0),
        },
        "held_out": {"faces": f"the first {len(val)} of {args.val_faces}", **report},
        "licence": "trained on CelebA crops (research use) and BSDS/CBSD68 photos (research use)",
    }
    save_framer(args.out, net, card)
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
