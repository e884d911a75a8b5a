"""Paired differences between eval runs: the same faces, masks and metrics, two methods or models.

    python tools/compare_evals.py RUN_A/metrics.json[:METHOD] RUN_B/metrics.json[:METHOD] [--masks center,parts]

For every mask both runs measured, the mean of (A - B) over the images both hold, with its
standard error, for PSNR, SSIM and the hole's sharpness, and how often A is better. A run may
be named twice with different methods (``eval-out/metrics.json:default`` against
``eval-out/metrics.json:full``). Several metrics.json of one method (e.g. val 251-350 and
351-500) can be joined with ``+``: ``a/metrics.json+b/metrics.json:full``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

METRICS = ("psnr", "ssim", "sharpness", "psnr_hole", "ssim_hole")


def load(spec: str) -> tuple[str, dict[tuple[str, str], dict]]:
    """``paths[:method]`` -> (label, {(mask, image): row})."""
    paths, _, method = spec.partition(":")
    rows: dict[tuple[str, str], dict] = {}
    for path in paths.split("+"):
        for row in json.loads(Path(path).read_text())["per_image"]:
            if not method or row["method"] == method:
                rows[(row["mask"], row["image"])] = row
    return spec, rows


def paired(a: dict, b: dict, mask: str) -> dict:
    keys = sorted(k for k in a.keys() & b.keys() if k[0] == mask)
    out: dict = {"mask": mask, "n": len(keys)}
    for m in METRICS:
        d = [a[k][m] - b[k][m] for k in keys if m in a[k] and m in b[k]]
        d = [v for v in d if math.isfinite(v)]
        if len(d) < 2:
            continue
        mean = sum(d) / len(d)
        se = math.sqrt(sum((v - mean) ** 2 for v in d) / (len(d) - 1) / len(d))
        out[m] = (round(mean, 4), round(se, 4), round(sum(v > 0 for v in d) / len(d), 3))
        out[m + "_a"] = round(sum(a[k][m] for k in keys) / len(keys), 4)
        out[m + "_b"] = round(sum(b[k][m] for k in keys) / len(keys), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--masks", default=None, help="comma-separated (default: every mask both runs hold)")
    args = p.parse_args(argv)
    (la, a), (lb, b) = load(args.a), load(args.b)
    masks = args.masks.split(",") if args.masks else sorted({k[0] for k in a} & {k[0] for k in b})
    print(f"A = {la}\nB = {lb}\n")
    print("| mask | n | PSNR A / B dB | A − B dB (A better) | SSIM A / B | A − B | sharpness A / B | A − B |")
    print("|---|---|---|---|---|---|---|---|")
    for mask in masks:
        r = paired(a, b, mask)
        if "psnr" not in r:
            continue
        cells = [mask, str(r["n"])]
        for m, digits in (("psnr", 2), ("ssim", 3), ("sharpness", 3)):
            mean, se, better = r[m]
            cells.append(f"{r[m + '_a']:.{digits}f} / {r[m + '_b']:.{digits}f}")
            cells.append(f"{mean:+.{digits}f} ± {se:.{digits}f} ({better:.0%})")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
