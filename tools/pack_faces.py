"""Pack a folder of training faces small enough to travel with the working tree to a GPU machine.

    python tools/pack_faces.py ../shared/data/celeba-faces-128/train .device/faces.zip --max-mib 36
    python tools/pack_faces.py ../shared/data/celeba-faces-128/val .device/val48.zip --first 48 --copy

The device machine sees only the repository (tracked files plus the ignored paths a run
carries, 64 MiB in all; the tracked tree is ~22 MiB), not ``../shared``. The faces are
re-encoded as WebP (quality 90 by default: ~4 KiB a 128x128 face against ~7.5 KiB for the
JPEGs) and taken evenly spaced over the sorted folder until ``--max-mib`` is reached, so a
budget smaller than the whole set still spans all of it (``--first N``: the first N by name,
as ``eval --n N`` takes them; ``--copy``: the files' own bytes, not re-encoded). One
uncompressed zip, not thousands of files, so the transfer is about the faces' size;
``python3 -m zipfile -e FILE DIR`` unpacks it there.
See docs/gpu-training.md for the run that uses it.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from inpaint_gui.lab.dataset import list_images, square_resize


def spread_order(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix is spread evenly over the range (bit-reversal
    over the next power of two, skipping indices past the end)."""
    bits = max(1, (n - 1).bit_length())
    order = [int(format(i, f"0{bits}b")[::-1], 2) for i in range(1 << bits)]
    return [i for i in order if i < n]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path)
    p.add_argument("dest", type=Path)
    p.add_argument("--max-mib", type=float, default=36.0, help="size budget of the packed faces")
    p.add_argument("--quality", type=int, default=90, help="WebP quality (1-100)")
    p.add_argument("--size", type=int, default=128, help="faces are stored at this side")
    p.add_argument("--first", type=int, default=0, help="the first N faces by name (0: spread over all)")
    p.add_argument("--copy", action="store_true", help="store the files as they are (no re-encoding)")
    args = p.parse_args(argv)
    files = list_images(args.src)
    if not files:
        print(f"error: {args.src}: no images", file=sys.stderr)
        return 2
    budget = int(args.max_mib * 2**20)
    count = total = 0
    order = range(min(args.first, len(files))) if args.first > 0 else spread_order(len(files))
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.dest.with_name(args.dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        for i in order:
            if args.copy:
                name, data = files[i].name, files[i].read_bytes()
            else:
                with Image.open(files[i]) as im:
                    face = Image.fromarray(square_resize(im, args.size))  # as training decodes it
                buf = io.BytesIO()
                face.save(buf, "WEBP", quality=args.quality, method=6)
                name, data = files[i].stem + ".webp", buf.getvalue()
            if total + len(data) > budget:
                break
            z.writestr(f"{args.dest.stem}/{name}", data)
            count, total = count + 1, total + len(data)
    os.replace(tmp, args.dest)
    how = "as they are" if args.copy else f"WebP q{args.quality}"
    size = args.dest.stat().st_size / 2**20
    print(f"{count} of {len(files)} faces, {size:.1f} MiB ({how}) -> {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
