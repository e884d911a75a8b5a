"""Train the face check (``core/engines/gan/facecheck.py``) and write ``weights/facecheck``.

Positives: the training faces framed as the generator saw them, jittered a little (side x0.9-1.12,
shift up to 6%). Negatives: the same faces framed wrongly (a third to two thirds of the face, or
shifted by a third or more) or turned by 90, 180 or 270 degrees (skin and features, but not a
face as framed), and square windows of natural photos (any size, some past the border, half of
them with their hue rotated: no colour is a face by itself). Every window gets a random hole (a central square, a rectangle, an irregular mask) and
is seen through :func:`window_pixels`, as at inference. Held out: validation faces and the photos
from ``--photos-skip`` on.

    python -m inpaint_gui.lab.train_facecheck --faces ../shared/data/celeba-faces-128/train \\
        --val-faces ../shared/data/celeba-faces-128/val --photos ../shared/data/photos-cbsd68 \\
        --photos-train 34 --masks ../shared/data/nvidia-irregular-masks --out weights/facecheck
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

from inpaint_gui.core.engines.gan.facecheck import FaceCheck, FaceCheckConfig, save_check, to_input, window_pixels
from inpaint_gui.lab.dataset import list_images, load_rgb

SIZE = 32


def hole_bank(masks_dir: Path | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random holes at SIZE x SIZE (True = missing): squares, rectangles, irregular masks."""
    irregular = []
    if masks_dir is not None:
        for p in list_images(masks_dir)[::3]:
            m = np.asarray(Image.open(p).convert("L").resize((SIZE, SIZE), Image.BOX)) >= 128
            if 0.03 <= m.mean() <= 0.6:
                irregular.append(m)
    out = np.zeros((n, SIZE, SIZE), bool)
    for i in range(n):
        kind = rng.integers(3) if irregular else rng.integers(2)
        if kind == 2:
            out[i] = irregular[rng.integers(len(irregular))]
            continue
        if kind == 0:
            side = int(rng.uniform(0.2, 0.65) * SIZE)
            hw = (side, side)
            centre = rng.uniform(0.35, 0.65, 2) * SIZE
        else:
            hw = (int(rng.uniform(0.15, 0.7) * SIZE), int(rng.uniform(0.15, 0.7) * SIZE))
            centre = rng.uniform(0.25, 0.75, 2) * SIZE
        y0 = int(np.clip(centre[0] - hw[0] / 2, 0, SIZE - hw[0]))
        x0 = int(np.clip(centre[1] - hw[1] / 2, 0, SIZE - hw[1]))
        out[i, y0 : y0 + hw[0], x0 : x0 + hw[1]] = True
    return out


def face_windows(n: int, rng: np.random.Generator, good: bool, side: int = 128) -> list[tuple[int, int, int]]:
    wins = []
    for _ in range(n):
        if good:
            s = side * rng.uniform(0.9, 1.12)
            dx, dy = rng.uniform(-0.06, 0.06, 2) * s
            wins.append((int(round((side - s) / 2 + dx)), int(round((side - s) / 2 + dy)), max(8, int(round(s)))))
        elif rng.random() < 0.6:  # part of the face
            s = side * rng.uniform(0.3, 0.62)
            x, y = rng.uniform(0, side - s, 2)
            wins.append((int(x), int(y), int(s)))
        else:  # the face shifted by a third or more
            s = side * rng.uniform(0.9, 1.1)
            off = rng.uniform(0.33, 0.55) * s * rng.choice([-1, 1], 2) * (rng.random(2) < 0.7)
            if not off.any():
                off[0] = 0.4 * s
            wins.append((int((side - s) / 2 + off[0]), int((side - s) / 2 + off[1]), int(s)))
    return wins


def photo_window(shape: tuple[int, int], rng: np.random.Generator) -> tuple[int, int, int]:
    h, w = shape
    s = int(rng.uniform(24, min(h, w) * (1.15 if rng.random() < 0.3 else 1.0)))
    pad = max(int(0.25 * s) if rng.random() < 0.3 else 0, (s - min(h, w) + 1) // 2 + 1 if s > min(h, w) else 0)
    return int(rng.integers(-pad, w - s + pad + 1)), int(rng.integers(-pad, h - s + pad + 1)), s


def build(
    faces: list[np.ndarray], photos: list[np.ndarray], n_photo: int, holes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixels (N, S, S, 3), holes (N, S, S), labels (N,)) with a random hole on every window."""
    pix, hol, lab = [], [], []

    def add(image: np.ndarray, window, label: float) -> None:
        p, outside = window_pixels(image, np.zeros(image.shape[:2], bool), window, SIZE)
        pix.append(p)
        hol.append(outside | holes[rng.integers(len(holes))])
        lab.append(label)

    for face in faces:
        for win in face_windows(2, rng, True, face.shape[0]):
            add(face, win, 1.0)
        add(face, face_windows(1, rng, False, face.shape[0])[0], 0.0)
        turned = np.rot90(face, int(rng.integers(1, 4)))  # skin and features, but not a face as framed
        add(np.ascontiguousarray(turned), face_windows(1, rng, True, face.shape[0])[0], 0.0)
    for i in range(n_photo):
        photo = photos[i % len(photos)]
        add(photo, photo_window(photo.shape[:2], rng), 0.0)
        if rng.random() < 0.5:  # any colour, skin included, is no face by itself
            pix[-1] = hue_rotated(pix[-1], int(rng.integers(256)))
    return np.stack(pix), np.stack(hol), np.asarray(lab, np.float32)


def hue_rotated(pixels: np.ndarray, shift: int) -> np.ndarray:
    hsv = np.asarray(Image.fromarray(pixels).convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + shift) % 256
    return np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flips, brightness/contrast and some grey windows (old prints), on the network input."""
    b = x.shape[0]
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return jitter_colours(x, gen)


def jitter_colours(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Brightness/contrast and some grey windows (old prints) on the network input (B, 4, S, S)."""
    b = x.shape[0]
    rgb, m = x[:, :3], x[:, 3:]
    gain = 1 + 0.3 * (torch.rand(b, 1, 1, 1, generator=gen) - 0.5)
    bias = 0.2 * (torch.rand(b, 1, 1, 1, generator=gen) - 0.5)
    rgb = (rgb * gain + bias).clamp(-1, 1)
    grey = (torch.rand(b, generator=gen) < 0.15)[:, None, None, None]
    rgb = torch.where(grey, rgb.mean(1, keepdim=True).expand_as(rgb), rgb)
    return torch.cat([rgb * (1 - m), m], 1)


def accuracy(net: FaceCheck, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(share of positives called faces, share of negatives called not faces) at p = 0.5."""
    net.eval()
    with torch.no_grad():
        p = torch.cat([torch.sigmoid(net(x[i : i + 1024])) for i in range(0, len(x), 1024)])
    net.train()
    pos, neg = y > 0.5, y < 0.5
    return float((p[pos] >= 0.5).float().mean()), float((p[neg] < 0.5).float().mean())


def main(argv: list[str] | None = None) -> int:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--faces", type=Path, required=True)
    a.add_argument("--val-faces", type=Path, required=True)
    a.add_argument("--photos", type=Path, required=True)
    a.add_argument("--photos-train", type=int, default=34, help="the first N photos train; the rest are held out")
    a.add_argument("--masks", type=Path, default=None)
    a.add_argument("--epochs", type=int, default=8)
    a.add_argument("--n-faces", type=int, default=None)
    a.add_argument("--photo-windows", type=int, default=48000)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--out", type=Path, required=True)
    args = a.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()

    photo_paths = list_images(args.photos)
    photos = load_rgb(photo_paths)
    faces = load_rgb(list_images(args.faces)[: args.n_faces])
    val_faces = load_rgb(list_images(args.val_faces))
    holes = hole_bank(args.masks, 4000, rng)
    train = build(faces, photos[: args.photos_train], args.photo_windows, holes, rng)
    held = build(val_faces, photos[args.photos_train :], 8000, holes, np.random.default_rng(args.seed + 1))
    x, y = to_input(train[0], train[1]), torch.from_numpy(train[2])
    xv, yv = to_input(held[0], held[1]), torch.from_numpy(held[2])
    print(
        f"data: {len(y)} train ({int(y.sum())} faces), {len(yv)} held out, {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
        flush=True,
    )

    net = FaceCheck(FaceCheckConfig(size=SIZE))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = args.epochs * (len(y) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(args.seed)
    pos_weight = torch.tensor(float((y < 0.5).sum() / (y > 0.5).sum()))
    for epoch in range(args.epochs):
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y) - 127, 128):
            idx = order[i : i + 128]
            logits = net(augment(x[idx], gen))
            loss = F.binary_cross_entropy_with_logits(logits, y[idx], pos_weight=pos_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        tp, tn = accuracy(net, xv, yv)
        print(
            f"epoch {epoch + 1}: loss {loss.item():.4f}, held out: faces {tp:.4f}, not faces {tn:.4f}, "
            f"{time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    tp, tn = accuracy(net, xv, yv)
    card = {
        "name": "facecheck",
        "what": "p(a face framed as the face prior was trained) of a window with a hole, for the automatic engine choice",
        "data": {
            "faces": str(args.faces),
            "faces_n": len(faces),
            "photos": str(args.photos),
            "photos_train": f"the first {args.photos_train} of {len(photos)}",
            "photo_windows": args.photo_windows,
            "masks": str(args.masks) if args.masks else None,
        },
        "training": {
            "epochs": args.epochs,
            "batch": 128,
            "optimizer": "AdamW, one-cycle lr 2e-3",
            "seed": args.seed,
            "threads": args.threads,
            "seconds": round(time.perf_counter() - t0),
        },
        "held_out": {
            "faces_called_faces": round(tp, 4),
            "windows_called_not_faces": round(tn, 4),
            "what": "val faces (framed as trained, and framed wrongly) and windows of the held-out photos, "
            "random holes; per window at p=0.5",
        },
        "licence": "trained on CelebA crops (research use) and BSDS/CBSD68 photos (research use)",
    }
    save_check(args.out, net, card)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
